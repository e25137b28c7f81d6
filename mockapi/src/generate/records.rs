//! Records made from a stream's JSON schema: every declared property, each
//! value of its declared type and format, the key fields unique, the cursor
//! field an instant in the cursor's own datetime format. Deterministic: a
//! record is a function of the stream, its index and the seed. Instants fall
//! in a fixed window ([`WINDOW_START`], two years), in index order, so that
//! records written later ([`Shape::instant`] of a larger index) are newer.

use super::config::{salt, slug, type_of};
use serde_json::{json, Map, Value};

/// The first instant records are given (the config's start date is
/// earlier, 2024-01-01).
pub const WINDOW_START: i64 = 1_717_200_000; // 2024-06-01T00:00:00Z
const WINDOW_SECS: i64 = 730 * 86_400;

pub struct Shape<'a> {
    pub stream: &'a str,
    pub seed: u64,
    /// Top-level fields whose values must be unique (the primary key, the
    /// field a cursor paginator reads).
    pub unique: Vec<String>,
    /// The cursor field and its datetime format (Python's strftime).
    pub cursor: Option<(String, String)>,
    /// How many indexes the window is cut into (the records and those a
    /// scenario adds later).
    pub slots: usize,
}

impl Shape<'_> {
    pub fn instant(&self, i: usize) -> i64 {
        WINDOW_START + (i as i64 + 1) * WINDOW_SECS / (self.slots as i64 + 2)
    }

    pub fn record(&self, schema: &Value, i: usize) -> Value {
        let mut r = self.value(schema, "", i, 0);
        if !r.is_object() {
            r = json!({});
        }
        let map = r.as_object_mut().expect("an object");
        for key in &self.unique {
            let v = self.unique_value(&schema["properties"][key], key, i);
            map.insert(key.clone(), v);
        }
        if let Some((field, format)) = &self.cursor {
            let v = format_instant(
                self.instant(i),
                format,
                type_of(&schema["properties"][field]),
            );
            map.insert(field.clone(), v);
        }
        r
    }

    fn unique_value(&self, schema: &Value, key: &str, i: usize) -> Value {
        if matches!(schema["format"].as_str(), Some("date-time") | Some("date")) {
            // Instants differ by index (a key that is a time: News API's
            // `publishedAt`).
            return json!(self.string(schema, key, i));
        }
        match type_of(schema) {
            "integer" | "number" => {
                json!(1000 * (salt(self.seed, self.stream) % 90 + 10) + i as u64 + 1)
            }
            _ => {
                // Dashes only: ids end up in paths and in the connectors' regexes.
                let id = format!(
                    "{}-{:x}-{}",
                    slug(self.stream),
                    salt(self.seed, self.stream) & 0xfff,
                    i + 1
                );
                if url_like(schema, key) {
                    json!(format!("https://example.com/{}/{id}", slug(self.stream)))
                } else {
                    json!(id)
                }
            }
        }
    }

    fn value(&self, schema: &Value, key: &str, i: usize, depth: usize) -> Value {
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        if let Some(e) = schema["enum"].as_array().filter(|e| !e.is_empty()) {
            let choices: Vec<&Value> = e.iter().filter(|v| !v.is_null()).collect();
            return choices
                .get(i % choices.len().max(1))
                .map_or(Value::Null, |v| (*v).clone());
        }
        for options in ["anyOf", "oneOf"] {
            if let Some(o) = schema[options].as_array() {
                if let Some(first) = o.iter().find(|s| type_of(s) != "null") {
                    return self.value(first, key, i, depth);
                }
            }
        }
        match type_of(schema) {
            "object" => {
                let mut out = Map::new();
                if depth < 6 {
                    for (k, sub) in schema["properties"].as_object().into_iter().flatten() {
                        out.insert(k.clone(), self.value(sub, k, i, depth + 1));
                    }
                }
                Value::Object(out)
            }
            "array" => match schema.get("items") {
                Some(items) if depth < 6 && items.is_object() => {
                    json!([self.value(items, key, i, depth + 1)])
                }
                _ => json!([]),
            },
            "integer" => json!((i as u64 * 7 + salt(self.seed, key) % 50) % 1000 + 1),
            "number" => json!((i as f64) * 1.5 + 0.25),
            "boolean" => json!(i.is_multiple_of(2)),
            "null" => Value::Null,
            _ => json!(self.string(schema, key, i)),
        }
    }

    fn string(&self, schema: &Value, key: &str, i: usize) -> String {
        let t = self.instant(i);
        match schema["format"].as_str() {
            Some("date-time") => format_rfc3339(t),
            Some("date") => chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%d")
                .to_string(),
            Some("time") => "12:00:00".into(),
            Some("email") => format!("user{}@example.com", i + 1),
            _ if url_like(schema, key) => {
                format!("https://example.com/{}/{}", slug(self.stream), i + 1)
            }
            Some("uuid") => format!(
                "00000000-0000-4000-8000-{:012x}",
                salt(self.seed, self.stream) % 0xffff * 0x1_0000 + i as u64
            ),
            _ => format!(
                "{} {}",
                if key.is_empty() { self.stream } else { key },
                i + 1
            ),
        }
    }
}

/// A URL by its format, or by its name (`uri`, `href`, `self_url`, ...):
/// APIs give URLs there whatever the schema says, and manifests parse them
/// (Calendly's ids are the last segment of `uri`).
fn url_like(schema: &Value, key: &str) -> bool {
    matches!(schema["format"].as_str(), Some("uri") | Some("url"))
        || ["uri", "url", "href", "link"]
            .iter()
            .any(|w| key == *w || key.ends_with(&format!("_{w}")))
}

pub fn format_rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An instant in a cdk `datetime_format` (Python's strftime, with the
/// cdk's `%s`, `%ms` and `%s_as_float`); a number where the schema says so.
pub fn format_instant(t: i64, format: &str, schema_type: &str) -> Value {
    let text = match format {
        "%s" => t.to_string(),
        "%ms" => (t * 1000).to_string(),
        "%s_as_float" => format!("{t}.0"),
        _ => {
            let chrono_format = format.replace("%f", "%6f");
            chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format(&chrono_format)
                .to_string()
        }
    };
    match schema_type {
        "integer" => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(text)),
        "number" => text
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::String(text)),
        _ => Value::String(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_typed_unique_and_ordered_by_their_cursor() {
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "updated_at": {"type": ["null", "string"], "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "owner": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
            "state": {"type": "string", "enum": ["open", "closed"]}
        }});
        let shape = Shape {
            stream: "tickets",
            seed: 1,
            unique: vec!["id".into()],
            cursor: Some(("updated_at".into(), "%Y-%m-%dT%H:%M:%S.%fZ".into())),
            slots: 10,
        };
        let a = shape.record(&schema, 0);
        let b = shape.record(&schema, 1);
        assert_ne!(a["id"], b["id"]);
        assert!(a["id"].is_u64());
        assert!(a["updated_at"].as_str().unwrap() < b["updated_at"].as_str().unwrap());
        assert!(
            a["updated_at"].as_str().unwrap().ends_with(".000000Z"),
            "{a}"
        );
        assert_eq!(a["tags"].as_array().unwrap().len(), 1);
        assert_eq!(a["owner"]["email"], "user1@example.com");
        assert_eq!(a["state"], "open");
        assert_eq!(shape.record(&schema, 0), a, "deterministic");
    }

    #[test]
    fn the_cdks_epoch_formats() {
        assert_eq!(format_instant(10, "%s", "integer"), json!(10));
        assert_eq!(format_instant(10, "%ms", "string"), json!("10000"));
        assert_eq!(format_instant(0, "%Y-%m-%d", "string"), json!("1970-01-01"));
    }
}
