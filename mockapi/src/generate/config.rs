//! A config for the mock: a value for every field of the connector's
//! `connectionSpecification` that the spec asks for, and every top-level one
//! (manifests read optional fields too: `config.get('lang')`), taken from
//! the spec itself where it offers one (`const`, `default`, `examples`,
//! `enum`, the first `oneOf` option), else made for the field's type and
//! format; a `pattern` is honoured by trying well-known shapes (dates,
//! instants, words, numbers) against it. Secrets get a long fake value
//! derived from the seed, so a wrong credential is easy to make.

use serde_json::{json, Map, Value};

/// The config, and a problem for each field whose `pattern` no tried value
/// matched (the value is then the plain one; the connector may refuse it).
pub fn config(spec: &Value, seed: u64) -> (Value, Vec<String>) {
    let mut problems = Vec::new();
    let v = object(spec, "", seed, true, &mut problems);
    (v, problems)
}

/// The first non-null type a schema names.
pub fn type_of(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "",
    }
}

fn object(
    schema: &Value,
    pointer: &str,
    seed: u64,
    top: bool,
    problems: &mut Vec<String>,
) -> Value {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Map::new();
    for (key, sub) in schema["properties"].as_object().into_iter().flatten() {
        if !top && !required.contains(&key.as_str()) && sub.get("const").is_none() {
            continue;
        }
        let at = format!("{pointer}/{key}");
        if let Some(v) = value(sub, key, &at, seed, problems) {
            out.insert(key.clone(), v);
        }
    }
    Value::Object(out)
}

fn value(
    schema: &Value,
    key: &str,
    at: &str,
    seed: u64,
    problems: &mut Vec<String>,
) -> Option<Value> {
    if let Some(c) = schema.get("const") {
        return Some(c.clone());
    }
    let secret = schema["airbyte_secret"].as_bool() == Some(true);
    if !secret {
        if let Some(d) = schema.get("default").filter(|d| !d.is_null()) {
            return Some(d.clone());
        }
    }
    if let Some(e) = schema["enum"].as_array().and_then(|e| e.first()) {
        return Some(e.clone());
    }
    for options in ["oneOf", "anyOf"] {
        if let Some(first) = schema[options].as_array().and_then(|o| o.first()) {
            return if type_of(first) == "object" || first.get("properties").is_some() {
                Some(object(first, at, seed, false, problems))
            } else {
                value(first, key, at, seed, problems)
            };
        }
    }
    Some(match type_of(schema) {
        "object" => object(schema, at, seed, false, problems),
        "string" => Value::String(string(schema, key, at, seed, secret, problems)),
        "integer" => json!(number(schema).round() as i64),
        "number" => json!(number(schema)),
        "boolean" => json!(false),
        "array" => {
            let items = &schema["items"];
            let wanted =
                schema["minItems"].as_u64().unwrap_or(0) > 0 || items.get("enum").is_some();
            if wanted {
                json!([value(items, key, &format!("{at}/0"), seed, problems)?])
            } else {
                json!([])
            }
        }
        _ => return None,
    })
}

fn number(schema: &Value) -> f64 {
    match (schema["minimum"].as_f64(), schema["maximum"].as_f64()) {
        (Some(lo), Some(hi)) => (lo + hi) / 2.0,
        (Some(lo), None) => lo.max(1.0),
        (None, Some(hi)) => hi.min(1.0),
        (None, None) => 1.0,
    }
}

/// A short stable hash (FNV-1a), for values that depend on the seed.
pub fn salt(seed: u64, what: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in what.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn string(
    schema: &Value,
    key: &str,
    at: &str,
    seed: u64,
    secret: bool,
    problems: &mut Vec<String>,
) -> String {
    let lower = key.to_ascii_lowercase();
    let plain = if secret {
        format!(
            "mock-{key}-{:016x}{:016x}",
            salt(seed, key),
            salt(seed ^ 1, key)
        )
    } else {
        match schema["format"].as_str() {
            Some("date-time") => "2024-01-01T00:00:00Z".into(),
            Some("date") => "2024-01-01".into(),
            Some("email") => "mock@example.com".into(),
            Some("uri") | Some("url") => format!("https://{}.mock.example", slug(key)),
            _ if lower.contains("url") => format!("https://{}.mock.example", slug(key)),
            _ if lower.contains("domain") || lower.contains("host") => {
                format!("{}.mock.example", slug(key))
            }
            _ if lower.contains("date") => "2024-01-01T00:00:00Z".into(),
            _ => format!("mock-{}", slug(key)),
        }
    };
    let Some(pattern) = schema["pattern"].as_str() else {
        return plain;
    };
    let Ok(re) = regex::Regex::new(pattern) else {
        problems.push(format!(
            "{at}: pattern {pattern:?} is not a regex this generator reads; the value is {plain:?}"
        ));
        return plain;
    };
    let mut candidates: Vec<String> = schema["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(String::from))
        .collect();
    candidates.push(plain.clone());
    candidates.extend(
        [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01T00:00:00.000000Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00",
            "2024-01",
            "01/01/2024",
            "20240101",
            "mock",
            "MOCK",
            "12345",
            "1",
        ]
        .map(String::from),
    );
    // A host ending the pattern gives its literal suffix (`\.freshdesk\.com$`).
    if let Some(suffix) = literal_suffix(pattern) {
        candidates.push(format!("mock{suffix}"));
    }
    match candidates.into_iter().find(|c| re.is_match(c)) {
        Some(c) => c,
        None => {
            problems.push(format!(
                "{at}: no value tried matches the pattern {pattern:?}; the value is {plain:?}"
            ));
            plain
        }
    }
}

/// Lowercase letters and digits, every other character a dash (ids and
/// hosts made from names).
pub fn slug(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The literal text a pattern ends with (`\.freshdesk\.com$` gives
/// `.freshdesk.com`), if any.
fn literal_suffix(pattern: &str) -> Option<String> {
    let body = pattern.strip_suffix('$')?;
    let mut out = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = chars.len();
    while i > 0 {
        let c = chars[i - 1];
        if i >= 2 && chars[i - 2] == '\\' && !c.is_ascii_alphanumeric() {
            out.push(c);
            i -= 2;
        } else if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
            i -= 1;
        } else {
            break;
        }
    }
    (!out.is_empty()).then(|| out.into_iter().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_spec() {
        let spec = json!({
            "type": "object",
            "required": ["api_key", "start_date", "domain"],
            "properties": {
                "api_key": {"type": "string", "airbyte_secret": true},
                "start_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
                "domain": {"type": "string", "pattern": "^[a-zA-Z0-9._-]*\\.freshdesk\\.com$"},
                "page_size": {"type": "integer", "default": 30},
                "region": {"type": "string", "enum": ["us", "eu"]},
                "auth": {"type": "object", "oneOf": [
                    {"type": "object", "required": ["kind", "token"], "properties": {"kind": {"const": "token"}, "token": {"type": "string", "airbyte_secret": true}}}
                ]}
            }
        });
        let (c, problems) = config(&spec, 7);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c["start_date"], "2024-01-01T00:00:00Z");
        assert_eq!(c["domain"], "mock.freshdesk.com");
        assert_eq!(c["page_size"], 30);
        assert_eq!(c["region"], "us");
        assert_eq!(c["auth"]["kind"], "token");
        assert!(c["api_key"].as_str().unwrap().len() > 32);
        assert_eq!(config(&spec, 7).0, c, "the same seed gives the same config");
        assert_ne!(config(&spec, 8).0["api_key"], c["api_key"]);
    }

    #[test]
    fn an_unmatched_pattern_is_a_problem_naming_the_field() {
        let spec = json!({"type": "object", "required": ["x"], "properties": {"x": {"type": "string", "pattern": "^zz[0-9]{3}q$"}}});
        let (_, problems) = config(&spec, 1);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("/x: no value tried matches"),
            "{problems:?}"
        );
    }
}
