//! The fast path of date-time normalization for the common schema shape:
//! every `format: date-time` location is a top-level property.
//!
//! For such a binding a record is not parsed into a `serde_json::Value`: its
//! top-level fields are located in the original bytes, the few date-time
//! values are checked, and a changed value is spliced into a copy of the
//! original bytes (everything else stays byte for byte). What a value becomes
//! is decided by the normalizer's own functions: [`normalize_datetime`] for
//! strings (what [`DocNormalizer`] does at a date-time location) and
//! [`DocNormalizer::apply`] on a one-field document for numbers (whose fate
//! depends on the schema's types). A test checks both paths agree on every
//! faker record; bindings of any other shape use [`DocNormalizer::apply`] on
//! the whole document.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::normalize::{is_strict_rfc3339, normalize_datetime, DocNormalizer};

/// The top-level property names holding date-times, when that is the only
/// place the schema has them (no `$ref`, no combinators or nested
/// locations). `None` when the schema has another shape.
pub fn top_level_datetimes(schema: &Value) -> Option<Vec<String>> {
    fn walk<'a>(
        v: &'a Value,
        path: &mut Vec<&'a str>,
        found: &mut Vec<Vec<&'a str>>,
        refs: &mut bool,
    ) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    if k == "$ref" || k == "$dynamicRef" || k == "$recursiveRef" {
                        *refs = true;
                    }
                    if k == "format" && child.as_str() == Some("date-time") {
                        let mut p = path.clone();
                        p.push(k);
                        found.push(p);
                    }
                    path.push(k);
                    walk(child, path, found, refs);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for child in a {
                    path.push("[]");
                    walk(child, path, found, refs);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    let mut refs = false;
    walk(schema, &mut Vec::new(), &mut found, &mut refs);
    if refs {
        return None;
    }
    let mut names = Vec::with_capacity(found.len());
    for p in found {
        match p.as_slice() {
            ["properties", name, "format"] => names.push(name.to_string()),
            _ => return None,
        }
    }
    Some(names)
}

/// Normalize the top-level date-time fields `names` of the document `raw`,
/// whose top-level `fields` were parsed from it (borrowing its text).
/// Returns false when nothing changes (write `raw` as it is; `out` is left
/// untouched); else the new document was appended to `out`.
pub fn normalize_into(
    raw: &str,
    fields: &[(Cow<'_, str>, &RawValue)],
    names: &[String],
    normalizer: &DocNormalizer,
    out: &mut Vec<u8>,
) -> bool {
    // Fields come in document order: copy the original bytes up to each
    // changed value, then its replacement.
    let mut at = None;
    for (k, v) in fields {
        if !names.iter().any(|n| n == k) {
            continue;
        }
        let text = v.get();
        let first = text.as_bytes().first().copied().unwrap_or(b'n');
        let new = if first == b'"' {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
                // Escaped: let serde_json unescape it.
                let Ok(value) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                normalize_datetime(&value)
            } else if is_strict_rfc3339(inner) {
                continue;
            } else {
                // What DocNormalizer does with a string at a date-time location.
                normalize_datetime(&Value::String(inner.to_string()))
            }
        } else if first == b'-' || first.is_ascii_digit() {
            // Numbers depend on the schema (left alone where it allows
            // numbers): ask the normalizer with a one-field document.
            let Ok(value) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let mut one = Value::Object(serde_json::Map::from_iter([(k.to_string(), value)]));
            if normalizer.apply(&mut one) {
                one[k.as_ref()].as_str().map(str::to_string)
            } else {
                None
            }
        } else {
            continue; // null, booleans, objects, arrays: left alone
        };
        if let Some(new) = new {
            let offset = text.as_ptr() as usize - raw.as_ptr() as usize;
            let from = at.unwrap_or(0);
            out.extend_from_slice(&raw.as_bytes()[from..offset]);
            serde_json::to_writer(&mut *out, &new).expect("a string always serializes");
            at = Some(offset + text.len());
        }
    }
    match at {
        Some(from) => {
            out.extend_from_slice(&raw.as_bytes()[from..]);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn purchases_schema() -> Value {
        json!({"type": ["null", "object"], "properties": {
            "id": {"type": "integer"},
            "created_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
            "count": {"type": ["null", "integer", "string"], "format": "date-time"},
            "nested": {"type": "object", "properties": {"a": {"type": "string"}}}
        }})
    }

    #[test]
    fn detects_the_top_level_shape_only() {
        assert_eq!(
            top_level_datetimes(&purchases_schema()),
            Some(vec!["created_at".into(), "count".into()])
        );
        assert_eq!(
            top_level_datetimes(&json!({"properties": {"a": {"type": "string"}}})),
            Some(vec![])
        );
        for other in [
            json!({"properties": {"n": {"properties": {"at": {"format": "date-time"}}}}}),
            json!({"properties": {"l": {"items": {"format": "date-time"}}}}),
            json!({"properties": {"u": {"anyOf": [{"format": "date-time"}, {"type": "null"}]}}}),
            json!({"additionalProperties": {"format": "date-time"}}),
            json!({"properties": {"r": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}}),
        ] {
            assert_eq!(top_level_datetimes(&other), None, "{other}");
        }
    }

    /// The fast path gives exactly what DocNormalizer::apply gives.
    fn same_as_full_path(schema: &Value, doc: &str) -> Option<String> {
        let normalizer = DocNormalizer::new(schema, &[]);
        let names = top_level_datetimes(schema).unwrap();
        let mut out = Vec::new();
        let data: crate::connector::Data = serde_json::from_str(doc).unwrap();
        let fast = normalize_into(doc, &data.fields, &names, &normalizer, &mut out)
            .then(|| String::from_utf8(out).unwrap());
        let mut full: Value = serde_json::from_str(doc).unwrap();
        let changed = normalizer.apply(&mut full);
        assert_eq!(fast.is_some(), changed, "{doc}");
        let fast_value: Value = serde_json::from_str(fast.as_deref().unwrap_or(doc)).unwrap();
        assert_eq!(fast_value, full, "{doc}");
        fast
    }

    #[test]
    fn splices_changed_values_and_keeps_other_bytes() {
        let s = purchases_schema();
        assert_eq!(
            same_as_full_path(
                &s,
                r#"{"id": 1, "created_at": "2014-10-12T08:08:11.908655", "x": "Zo\u00eb"}"#
            )
            .unwrap(),
            r#"{"id": 1, "created_at": "2014-10-12T08:08:11.908655Z", "x": "Zo\u00eb"}"#
        );
        assert_eq!(
            same_as_full_path(
                &s,
                r#"{"id":1,"created_at":"2021-01-13T10:25:46.123456+00:00"}"#
            ),
            None
        );
        assert_eq!(
            same_as_full_path(&s, r#"{"id":1,"created_at":null,"count":5}"#),
            None
        );
        same_as_full_path(
            &s,
            r#"{"created_at":1685098188,"id":2,"count":"2023-01-30"}"#,
        )
        .unwrap();
        same_as_full_path(&s, r#"{"created_at":"2023-01-30\u0020 02:34:15"}"#);
        same_as_full_path(&s, r#"{"created_at":"hello","nested":{"a":"2023-01-30"}}"#);
        same_as_full_path(&s, r#"{"created_at":{"not":"a date"}}"#);
    }

    #[test]
    fn agrees_with_the_full_path_on_faker_records() {
        let Some(dir) = testkit::fixture("agrees_on_faker", "faker") else {
            return;
        };
        let discover = std::fs::read_to_string(dir.join("discover.jsonl")).unwrap();
        let catalog: Value = discover
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| m["type"] == "CATALOG")
            .unwrap();
        let schemas: Vec<(String, Value)> = catalog["catalog"]["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["json_schema"].clone(),
                )
            })
            .collect();
        #[derive(serde::Deserialize)]
        struct Line<'a> {
            #[serde(borrow)]
            record: Option<Rec<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Rec<'a> {
            stream: String,
            #[serde(borrow)]
            data: &'a RawValue,
        }
        let read = std::fs::read_to_string(dir.join("read.jsonl")).unwrap();
        let mut changed = 0;
        for line in read.lines() {
            let Some(rec) = serde_json::from_str::<Line>(line).unwrap().record else {
                continue;
            };
            let schema = &schemas.iter().find(|(n, _)| *n == rec.stream).unwrap().1;
            if same_as_full_path(schema, rec.data.get()).is_some() {
                changed += 1;
            }
        }
        assert_eq!(changed, 1000, "every purchase has a naive created_at");
    }
}
