//! A config stub from a connector's (patched) config schema: what the seed's
//! first `flowctl raw discover` writes for the developer to fill in.
//!
//! Properties with a `default` get it; required properties without one get a
//! placeholder string `<fill in: ...>` (marked `secret` for
//! `airbyte_secret`/`secret` fields); optional properties without a default
//! are left out and listed. A `oneOf` of objects takes its first option.

use patches::pointer::escape;
use serde_json::{json, Map, Value};

/// The prefix of every placeholder; [`placeholders`] finds them again.
pub const PLACEHOLDER: &str = "<fill in: ";

pub struct Stub {
    pub config: Value,
    /// Optional properties left out, as JSON pointers with their titles.
    pub optional: Vec<String>,
    /// Notes on choices made (first `oneOf` option taken).
    pub notes: Vec<String>,
}

pub fn stub(schema: &Value) -> Stub {
    let mut s = Stub {
        config: Value::Null,
        optional: Vec::new(),
        notes: Vec::new(),
    };
    s.config = object(schema, "", &mut s);
    s
}

fn object(schema: &Value, ptr: &str, s: &mut Stub) -> Value {
    let mut out = Map::new();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    // Airbyte orders form fields with `order`; keep that order in the stub.
    let mut props: Vec<(&String, &Value)> = props.iter().collect();
    props.sort_by_key(|(_, p)| p.get("order").and_then(Value::as_i64).unwrap_or(i64::MAX));
    for (key, prop) in props {
        let child = format!("{ptr}/{}", escape(key));
        if let Some(c) = prop.get("const") {
            out.insert(key.clone(), c.clone());
        } else if let Some(d) = prop.get("default") {
            out.insert(key.clone(), d.clone());
        } else if required.contains(&key.as_str()) {
            out.insert(key.clone(), value(key, prop, &child, s));
        } else {
            let title = prop.get("title").and_then(Value::as_str).unwrap_or(key);
            s.optional.push(format!("{child} ({title})"));
        }
    }
    Value::Object(out)
}

fn value(key: &str, prop: &Value, ptr: &str, s: &mut Stub) -> Value {
    let options = prop
        .get("oneOf")
        .or_else(|| prop.get("anyOf"))
        .and_then(Value::as_array);
    if let Some(first) = options.and_then(|o| o.first()) {
        let titles: Vec<&str> = options
            .into_iter()
            .flatten()
            .map(|o| o.get("title").and_then(Value::as_str).unwrap_or("?"))
            .collect();
        s.notes.push(format!(
            "{ptr}: took the first of {} options ({}); see the config schema for the others",
            titles.len(),
            titles.join(", ")
        ));
        if first.get("properties").is_some() {
            return object(first, ptr, s);
        }
        return value(key, first, ptr, s);
    }
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let ty = types
        .iter()
        .copied()
        .find(|t| *t != "null")
        .unwrap_or("string");
    match ty {
        "object" if prop.get("properties").is_some() => object(prop, ptr, s),
        "object" => json!({}),
        "array" => json!([]),
        _ => {
            let title = prop.get("title").and_then(Value::as_str).unwrap_or(key);
            let secret = prop.get("airbyte_secret").and_then(Value::as_bool) == Some(true)
                || prop.get("secret").and_then(Value::as_bool) == Some(true);
            let secret = if secret { ", secret" } else { "" };
            Value::String(format!("{PLACEHOLDER}{title} ({ty}{secret})>"))
        }
    }
}

/// JSON pointers of the placeholders still in `config`.
pub fn placeholders(config: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(config, String::new(), &mut found);
    found
}

fn walk(v: &Value, ptr: String, found: &mut Vec<String>) {
    match v {
        Value::String(s) if s.starts_with(PLACEHOLDER) => found.push(ptr),
        Value::Object(m) => {
            for (k, v) in m {
                walk(v, format!("{ptr}/{}", escape(k)), found)
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                walk(v, format!("{ptr}/{i}"), found)
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_has_defaults_placeholders_and_secrets() {
        let schema = json!({
            "type": "object",
            "required": ["domain", "api_key", "credentials"],
            "properties": {
                "api_key": {"type": "string", "title": "API Key", "airbyte_secret": true, "order": 1},
                "domain": {"type": "string", "title": "Domain", "order": 0},
                "page_size": {"type": "integer", "default": 100},
                "start_date": {"type": "string", "title": "Start date"},
                "credentials": {"oneOf": [
                    {"title": "OAuth", "type": "object", "required": ["auth_type", "token"],
                     "properties": {"auth_type": {"const": "oauth"}, "token": {"type": "string", "secret": true}}},
                    {"title": "Key", "type": "object", "properties": {}}
                ]}
            }
        });
        let s = stub(&schema);
        assert_eq!(
            s.config,
            json!({
                "domain": "<fill in: Domain (string)>",
                "api_key": "<fill in: API Key (string, secret)>",
                "page_size": 100,
                "credentials": {"auth_type": "oauth", "token": "<fill in: token (string, secret)>"}
            })
        );
        assert_eq!(s.optional, vec!["/start_date (Start date)"]);
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
        assert_eq!(
            placeholders(&s.config),
            vec!["/domain", "/api_key", "/credentials/token"]
        );
    }

    #[test]
    fn pointers_escape_names() {
        let schema = json!({
            "type": "object",
            "required": ["a/b"],
            "properties": {"a/b": {"type": "string"}, "m~n": {"type": "string"}}
        });
        let s = stub(&schema);
        assert_eq!(s.optional, vec!["/m~0n (m~n)"]);
        assert_eq!(placeholders(&s.config), vec!["/a~1b"]);
    }
}
