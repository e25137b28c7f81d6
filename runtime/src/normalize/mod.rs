//! Per-record document normalization: the hot path of a capture.
//!
//! A [`DocNormalizer`] is built once per binding when a capture opens, from the
//! binding's write schema (`collection.writeSchema`) and the stream's declared
//! normalizations (`<stream>.normalize.json`, `*` included). Building walks the
//! schema once into a plan of the locations that may need a change; applying
//! it to a record walks that plan along the record, so no schema is looked at
//! per record and the cost per record grows with the record, not the schema.
//!
//! One idea per module:
//! - [`plan`]: the plan (which locations, built from the schema and the
//!   declared pointers; the schema keywords it follows);
//! - [`walk`]: the hot path, one walk over the record's bytes splicing the
//!   changed values into a copy of the original bytes;
//! - [`reference`]: the reference path over a parsed `serde_json::Value`,
//!   and the fallback for the records the walk leaves to it;
//! - [`datetime`]: the value formats (what one value becomes).
//!
//! Invariant (tested by property tests and fuzzing, `runtime/tests/
//! hotpath_differential.rs` and `fuzz/`): the hot path's output equals the
//! reference path's, value for value.
//!
//! At a date-time location ([`normalize_datetime`]):
//! - a string that already is strict RFC 3339 ([`is_strict_rfc3339`]) is left
//!   byte for byte;
//! - other date-time strings become RFC 3339 in UTC (`Z`): naive date-times
//!   (`T`, `t` or space separator, seconds optional, fraction digits kept as
//!   given), offsets such as `+0000`, `+00:00`, `-05`, `Z`/`UTC`/`GMT`
//!   converted to UTC, a date alone becomes midnight, RFC 2822 dates, and
//!   digit-only strings of 9 or more digits are read as unix timestamps;
//! - numbers are unix timestamps: seconds, or milliseconds above 32503680000
//!   (year 3000 in seconds), fractions kept (`1685098188.123` ->
//!   `2023-05-26T10:49:48.123Z`); but a number is left alone where the schema
//!   also allows `integer` or `number` there (it is valid as it is);
//! - anything else (`hello`, booleans, objects, out-of-range dates) is left
//!   unchanged, for the schema check to report.
//!
//! Declared normalizations run after the automatic ones, at their pointers
//! (a pointer that does not resolve is skipped): `datetime_to_date` keeps the
//! leading `YYYY-MM-DD` of a string that is not already a date.

use std::borrow::Cow;

use patches::Normalize;
use serde_json::value::RawValue;
use serde_json::Value;

pub mod datetime;
pub mod plan;
pub mod reference;
pub mod walk;

/// The walk gave up: use the reference path for this record.
pub use crate::scan::Fallback;
pub use datetime::{datetime_to_date, is_strict_rfc3339, normalize_datetime, UNIX_SECONDS_MAX};

/// Normalizes the documents of one binding. Built once per binding at open.
#[derive(Debug, Clone, Default)]
pub struct DocNormalizer {
    auto: Option<plan::Node>,
    declared: Option<plan::Declared>,
}

impl DocNormalizer {
    /// Builds the normalizer of one binding from its write schema and the
    /// stream's declared normalizations. Walks the schema once.
    pub fn new(write_schema: &Value, declared: &[Normalize]) -> Self {
        DocNormalizer {
            auto: plan::Node::new(write_schema),
            declared: plan::Declared::new(declared),
        }
    }

    /// Whether there is nothing to do for this binding (documents can be
    /// passed on as they came).
    pub fn is_noop(&self) -> bool {
        self.auto.is_none() && self.declared.is_none()
    }

    /// The reference path: normalizes one parsed document in place; true
    /// when it changed.
    pub fn apply(&self, doc: &mut Value) -> bool {
        let mut changed = false;
        if let Some(n) = &self.auto {
            changed |= reference::apply_node(n, doc);
        }
        if let Some(d) = &self.declared {
            changed |= reference::apply_declared(d, doc);
        }
        changed
    }

    /// The hot path over a document's text: appends the normalized document
    /// to `out` and returns true, or returns false when nothing changes
    /// (`out` untouched: the original text is the output). [`Fallback`]
    /// when the walk cannot handle this record (`out` may hold part of it:
    /// truncate it, then use [`DocNormalizer::apply`]).
    pub fn splice(&self, text: &str, out: &mut Vec<u8>) -> Result<bool, Fallback> {
        walk::Walker::new(text, out).document(self.auto.as_ref(), self.declared.as_ref())
    }

    /// [`DocNormalizer::splice`] given the top-level members of the object
    /// `text`, borrowed from it, as the line decoder found them.
    pub fn splice_members(
        &self,
        text: &str,
        members: &[(Cow<'_, str>, &RawValue)],
        out: &mut Vec<u8>,
    ) -> Result<bool, Fallback> {
        walk::Walker::new(text, out).members(members, self.auto.as_ref(), self.declared.as_ref())
    }

    /// [`DocNormalizer::splice`] of the value starting at `start` in `text`
    /// (a whole line), within `depth` containers: its end, and whether it
    /// changed (then the new value was appended to `out`). Checks the value
    /// is JSON on the way.
    pub fn splice_at(
        &self,
        text: &str,
        start: usize,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), Fallback> {
        walk::Walker::value_at(
            text,
            start,
            depth,
            out,
            self.auto.as_ref(),
            self.declared.as_ref(),
        )
    }

    /// The whole normalization of one document's text, into `out`: the hot
    /// path, or the reference path where the hot path falls back. Appends
    /// nothing when nothing changes. Errors when the text is not JSON.
    pub fn normalize_text(&self, text: &str, out: &mut Vec<u8>) -> Result<bool, serde_json::Error> {
        let len = out.len();
        match self.splice(text, out) {
            Ok(changed) => Ok(changed),
            Err(Fallback) => {
                out.truncate(len);
                self.reference_text(text, out)
            }
        }
    }

    /// The reference path over a document's text: parse, apply, serialize
    /// when changed.
    pub fn reference_text(&self, text: &str, out: &mut Vec<u8>) -> Result<bool, serde_json::Error> {
        let mut doc: Value = serde_json::from_str(text)?;
        if self.apply(&mut doc) {
            serde_json::to_writer(&mut *out, &doc)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patches::Normalization;
    use serde_json::json;

    /// Both paths on `doc`; asserts they agree and returns the result.
    fn both(n: &DocNormalizer, doc: &mut Value) -> bool {
        let text = doc.to_string();
        let mut hot = Vec::new();
        let hot_changed = n.splice(&text, &mut hot).expect("no fallback");
        let changed = n.apply(doc);
        assert_eq!(hot_changed, changed, "{text}");
        let hot: Value = if hot_changed {
            serde_json::from_slice(&hot).unwrap()
        } else {
            serde_json::from_str(&text).unwrap()
        };
        assert_eq!(&hot, doc, "{text}");
        changed
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "$defs": {"stamp": {"type": ["null", "string"], "format": "date-time"}},
            "properties": {
                "created": {"type": "string", "format": "date-time"},
                "nullable": {"type": ["null", "string"], "format": "date-time"},
                "nested": {"type": ["null", "object"], "properties": {"x": {"type": ["string", "null"], "format": "date-time"}}},
                "arr": {"type": "array", "items": {"type": "object", "properties": {"ms": {"type": "string", "format": "date-time"}}}},
                "stamps": {"type": "array", "items": {"format": "date-time"}},
                "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "string", "format": "date-time"}]},
                "either": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]},
                "one": {"oneOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
                "ref": {"$ref": "#/$defs/stamp"},
                "bag": {"type": "object", "properties": {"keep": {"type": "string"}}, "additionalProperties": {"type": "string", "format": "date-time"}},
                "plain": {"type": "string"},
                "date": {"type": "string", "format": "date"}
            }
        })
    }

    #[test]
    fn normalizes_every_kind_of_location() {
        let n = DocNormalizer::new(&schema(), &[]);
        assert!(!n.is_noop());
        let mut doc = json!({
            "created": "2023-01-30 02:34:15",
            "nullable": null,
            "nested": {"x": "2019-03-18T16:40:23+0000"},
            "arr": [{"ms": 1685098188123_i64}, {"ms": "2021-01-13T10:25:46Z"}],
            "stamps": ["2023-01-30", 1685098188],
            "tuple": ["2023-01-30", "2023-01-30"],
            "either": 1685098188,
            "one": "2021-03-02T23:00:00",
            "ref": "2021-03-02",
            "bag": {"keep": "2023-01-30", "a": "2023-01-30"},
            "plain": "2023-01-30 02:34:15",
            "date": "2023-01-30",
            "unknown": "2023-01-30 02:34:15"
        });
        assert!(both(&n, &mut doc));
        assert_eq!(
            doc,
            json!({
                "created": "2023-01-30T02:34:15Z",
                "nullable": null,
                "nested": {"x": "2019-03-18T16:40:23Z"},
                "arr": [{"ms": "2023-05-26T10:49:48.123Z"}, {"ms": "2021-01-13T10:25:46Z"}],
                "stamps": ["2023-01-30T00:00:00Z", "2023-05-26T10:49:48Z"],
                "tuple": ["2023-01-30", "2023-01-30T00:00:00Z"],
                "either": 1685098188,
                "one": "2021-03-02T23:00:00Z",
                "ref": "2021-03-02T00:00:00Z",
                "bag": {"keep": "2023-01-30", "a": "2023-01-30T00:00:00Z"},
                "plain": "2023-01-30 02:34:15",
                "date": "2023-01-30",
                "unknown": "2023-01-30 02:34:15"
            })
        );
        // A second pass changes nothing.
        assert!(!both(&n, &mut doc));
    }

    #[test]
    fn strict_values_stay_byte_for_byte() {
        let n = DocNormalizer::new(&schema(), &[]);
        let text = r#"{"created":"2021-01-13T10:25:46.123456+00:00","nested":{"x":null},"arr":[]}"#;
        let mut doc: Value = serde_json::from_str(text).unwrap();
        assert!(!both(&n, &mut doc));
        assert_eq!(doc.to_string(), text);
    }

    #[test]
    fn schemas_without_date_times_are_noops() {
        let n = DocNormalizer::new(
            &json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"items": {"format": "date"}}}}),
            &[],
        );
        assert!(n.is_noop());
        assert!(DocNormalizer::new(&json!(true), &[]).is_noop());
        let mut doc = json!({"a": "2023-01-30 02:34:15"});
        assert!(!both(&n, &mut doc));
    }

    #[test]
    fn recursive_refs_end() {
        let s = json!({
            "$defs": {"node": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
            }}},
            "$ref": "#/$defs/node"
        });
        let n = DocNormalizer::new(&s, &[]);
        let mut doc =
            json!({"at": "2023-01-30", "children": [{"at": "2023-01-31", "children": []}]});
        assert!(both(&n, &mut doc));
        // Two levels of the recursion are expanded, not more.
        assert_eq!(
            doc,
            json!({"at": "2023-01-30T00:00:00Z", "children": [{"at": "2023-01-31T00:00:00Z", "children": []}]})
        );
        let mut deep = json!({"children": [{"children": [{"at": "2023-01-30"}]}]});
        assert!(!both(&n, &mut deep));
    }

    #[test]
    fn declared_datetime_to_date() {
        let declared = [
            Normalize {
                pointer: "/properties/hs_ts",
                normalization: Normalization::DatetimeToDate,
            },
            Normalize {
                pointer: "/missing/x",
                normalization: Normalization::DatetimeToDate,
            },
            Normalize {
                pointer: "/created",
                normalization: Normalization::DatetimeToDate,
            },
        ];
        let n = DocNormalizer::new(&schema(), &declared);
        let mut doc = json!({"properties": {"hs_ts": "2023-03-05T15:41:54.565000+00:00"}, "created": 1685098188});
        assert!(both(&n, &mut doc));
        assert_eq!(
            doc,
            json!({"properties": {"hs_ts": "2023-03-05"}, "created": "2023-05-26"})
        );
        for same in ["2023-03-05", "hello", "2023-3-5T00:00:00"] {
            let mut doc = json!({"properties": {"hs_ts": same}});
            assert!(!both(&n, &mut doc), "{same}");
            assert_eq!(doc["properties"]["hs_ts"], same);
        }
        let only_declared = DocNormalizer::new(&json!({}), &declared[..1]);
        assert!(!only_declared.is_noop());
    }

    /// Every record of every fixture read, normalized with the binding built
    /// from the fixture's own discover, has only valid date-times (with
    /// format validation on), while before normalization some do not.
    #[test]
    fn fixture_reads_have_valid_date_times_after_normalization() {
        let Some(root) = testkit::fixture("fixture_reads_have_valid_date_times", "") else {
            return;
        };
        let dirs = [
            "faker",
            "faker/4.0.0-cdk0.58.7",
            "file/csv-parse-dates",
            "file/csv",
            "file/jsonl",
            "hardcoded-records",
            "smoke-test/custom",
            "smoke-test/default",
            "smoke-test/namespace",
        ];
        let lines = |p: std::path::PathBuf| -> Vec<Value> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        let bad_datetimes = |v: &jsonschema::Validator, doc: &Value| {
            v.iter_errors(doc)
                .filter(|e| e.to_string().contains("\"date-time\""))
                .count()
        };
        let (mut records, mut before, mut changed) = (0, 0, 0);
        for dir in dirs {
            let dir = root.join(dir);
            let mut bindings = std::collections::HashMap::new();
            for m in lines(dir.join("discover.jsonl")) {
                if m["type"] != "CATALOG" {
                    continue;
                }
                for stream in m["catalog"]["streams"].as_array().unwrap() {
                    let b = patches::apply::discovered_binding(
                        stream,
                        &patches::Connector::EMPTY.streams,
                    )
                    .unwrap()
                    .unwrap();
                    let schema = &b["documentSchema"];
                    let validator = jsonschema::options()
                        .should_validate_formats(true)
                        .build(schema)
                        .unwrap();
                    bindings.insert(
                        stream["name"].as_str().unwrap().to_string(),
                        (DocNormalizer::new(schema, &[]), validator),
                    );
                }
            }
            for m in lines(dir.join("read.jsonl")) {
                if m["type"] != "RECORD" {
                    continue;
                }
                let (n, v) = &bindings[m["record"]["stream"].as_str().unwrap()];
                let mut doc = m["record"]["data"].clone();
                records += 1;
                before += bad_datetimes(v, &doc);
                changed += n.apply(&mut doc) as usize;
                assert_eq!(bad_datetimes(v, &doc), 0, "{}: {doc}", dir.display());
            }
        }
        assert!(records > 3000, "{records}");
        assert!(before >= 1000 && changed >= 1000, "{before} {changed}");
    }
}
