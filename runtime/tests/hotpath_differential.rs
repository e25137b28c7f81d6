//! The hot path (byte walk, `DocNormalizer::splice*`) against the reference
//! path (`DocNormalizer::apply` on a parsed `Value`), value for value: on
//! generated schemas, declared pointers and documents (escapes, unicode, deep
//! nesting, duplicate keys, numbers at the edges of i64/u64/f64, odd
//! whitespace), and on every record of the fixture reads.
//!
//! `cargo test -p runtime --test hotpath_differential`
//! (`PROPTEST_CASES=10000` for a longer run).

use std::borrow::Cow;

use patches::{Normalization, Normalize};
use proptest::prelude::*;
use runtime::normalize::{DocNormalizer, Fallback};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Top-level members as the line decoder hands them over: in order,
/// duplicates kept, values borrowed from the text.
fn members(text: &str) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<(Cow<'de, str>, &'de RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                out.push((k, m.next_value::<&'de RawValue>()?));
            }
            Ok(out)
        }
    }
    struct W<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    impl<'de> serde::Deserialize<'de> for W<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(V).map(W)
        }
    }
    serde_json::from_str::<W>(text).ok().map(|w| w.0)
}

/// Asserts both paths agree on `text`; returns (changed, fell back).
fn check(n: &DocNormalizer, text: &str) -> (bool, bool) {
    let Ok(mut reference) = serde_json::from_str::<Value>(text) else {
        // Not JSON: the hot path must only not panic.
        let _ = n.splice(text, &mut Vec::new());
        return (false, false);
    };
    let changed = n.apply(&mut reference);
    let mut fell_back = false;
    let mut outs = vec![];
    let mut hot = Vec::new();
    match n.splice(text, &mut hot) {
        Ok(c) => outs.push((c, hot)),
        Err(Fallback) => fell_back = true,
    }
    if let Some(fields) = members(text) {
        let mut hot = Vec::new();
        match n.splice_members(text, &fields, &mut hot) {
            Ok(c) => outs.push((c, hot)),
            Err(Fallback) => fell_back = true,
        }
    }
    for (hot_changed, hot) in outs {
        // Not compared with `changed`: with duplicate keys the hot path may
        // change an earlier occurrence the reference path dropped (the value
        // is the same; found by the fuzz target `hotpath`).
        if !hot_changed {
            assert!(hot.is_empty(), "nothing changed but output written: {text}");
        }
        let got: Value = if hot_changed {
            serde_json::from_slice(&hot).unwrap_or_else(|e| {
                panic!(
                    "hot path wrote invalid JSON ({e}): {}",
                    String::from_utf8_lossy(&hot)
                )
            })
        } else {
            serde_json::from_str(text).unwrap()
        };
        assert_eq!(got, reference, "on {text}");
    }
    (changed, fell_back)
}

const KEYS: &[&str] = &[
    "a", "b", "at", "0", "1", "é", "a/b", "~", "q\"", "", "ab", "x1", "日本",
];

const STRINGS: &[&str] = &[
    "2023-01-30 02:34:15",
    "2020-03-25T21:03:18.000+0000",
    "2021-03-02T23:00:00",
    "2012-04-10T00:14:07.596313",
    "2023-01-30",
    "2021-01-13T10:25:46.123456+00:00",
    "2021-01-13T10:25:46Z",
    "2021-03-02t23:00:00z",
    "2021-03-02 23:00:00 UTC",
    "2021-12-31T23:00:00-0200",
    "Fri, 26 May 2023 10:49:48 +0000",
    "1685098188",
    " 2023-01-30 ",
    "2023-02-29",
    "hello",
    "",
    "Zoë ☃ 𝄞",
    "a\"b\\c\n/",
    "2023-03-05T15:41:54.565000+00:00",
    "9999-12-31T23:59:59-01:00",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1685098188",
    "1685098188123",
    "1685098188.123",
    "-1.5",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1e300",
    "1.7976931348623157e308",
    "5e-324",
    "2.2250738585072014e-308",
    "32503680000",
    "32503680001",
    "1E2",
    "0.1",
];

/// A document, serialized by our own writer so that it can hold duplicate
/// keys, escapes of any character and odd whitespace.
#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    Num(&'static str),
    Str(String),
    Arr(Vec<Doc>),
    Obj(Vec<(String, Doc)>),
}

#[derive(Debug, Clone, Copy)]
struct Style {
    /// Escape every non-ASCII char as \uXXXX (surrogate pairs too).
    escape_unicode: bool,
    /// Escape `/` as `\/` and letters `a`, `t` as `\u0061`, `\u0074`.
    escape_more: bool,
    spaces: bool,
}

fn write_str(s: &str, st: Style, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '/' if st.escape_more => out.push_str("\\/"),
            'a' | 't' if st.escape_more => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if st.escape_unicode && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_doc(d: &Doc, st: Style, out: &mut String) {
    let sp = if st.spaces { " \n\t" } else { "" };
    match d {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Num(n) => out.push_str(n),
        Doc::Str(s) => write_str(s, st, out),
        Doc::Arr(items) => {
            out.push('[');
            out.push_str(sp);
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(sp);
                }
                write_doc(it, st, out);
                out.push_str(sp);
            }
            out.push(']');
        }
        Doc::Obj(members) => {
            out.push('{');
            out.push_str(sp);
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(sp);
                }
                write_str(k, st, out);
                out.push_str(sp);
                out.push(':');
                out.push_str(sp);
                write_doc(v, st, out);
                out.push_str(sp);
            }
            out.push('}');
        }
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-z0-9é\"\\\\/~]{0,4}",
    ]
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        1 => Just(Doc::Null),
        1 => any::<bool>().prop_map(Doc::Bool),
        3 => proptest::sample::select(NUMBERS).prop_map(Doc::Num),
        5 => proptest::sample::select(STRINGS).prop_map(|s| Doc::Str(s.to_string())),
        1 => "\\PC{0,12}".prop_map(Doc::Str),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Doc::Arr),
            // Duplicate keys come from the small key pool.
            proptest::collection::vec((key(), inner), 0..6).prop_map(Doc::Obj),
        ]
    })
}

fn schema() -> impl Strategy<Value = Value> {
    let types = proptest::sample::select(vec![
        json!("string"),
        json!(["null", "string"]),
        json!(["string", "integer"]),
        json!("number"),
        json!("integer"),
        json!("object"),
        json!("array"),
        json!(["null", "object"]),
    ]);
    let leaf = prop_oneof![
        3 => (types.clone(), any::<bool>()).prop_map(|(t, _)| json!({"type": t, "format": "date-time"})),
        1 => types.clone().prop_map(|t| json!({"type": t})),
        1 => Just(json!({"format": "date-time"})),
        1 => Just(json!({"$ref": "#/$defs/stamp"})),
        1 => Just(json!({"$ref": "#/$defs/node"})),
        1 => Just(json!(true)),
    ];
    leaf.prop_recursive(5, 48, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec((key(), inner.clone()), 0..5)
                .prop_map(|ps| json!({"type": "object", "properties": serde_json::Map::from_iter(ps)})),
            (proptest::collection::vec((key(), inner.clone()), 0..3), inner.clone())
                .prop_map(|(ps, ap)| json!({"properties": serde_json::Map::from_iter(ps), "additionalProperties": ap})),
            (proptest::sample::select(vec!["^a", "b$", "[0-9]", "é", "^$", "(unclosed"]), inner.clone(), inner.clone())
                .prop_map(|(p, s, s2)| json!({"patternProperties": {p: s, "^x": s2}})),
            inner.clone().prop_map(|s| json!({"type": "array", "items": s})),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|ss| json!({"items": ss})),
            (proptest::collection::vec(inner.clone(), 0..3), inner.clone())
                .prop_map(|(ss, s)| json!({"prefixItems": ss, "items": s})),
            (proptest::sample::select(vec!["anyOf", "oneOf", "allOf"]), proptest::collection::vec(inner.clone(), 1..3))
                .prop_map(|(kw, ss)| json!({kw: ss})),
            (inner.clone(), inner).prop_map(|(a, b)| json!({"if": true, "then": a, "else": b})),
        ]
    })
    .prop_map(|mut s| {
        if let Value::Object(m) = &mut s {
            m.insert(
                "$defs".into(),
                json!({
                    "stamp": {"type": ["null", "string"], "format": "date-time"},
                    "node": {"type": "object", "properties": {
                        "at": {"format": "date-time"},
                        "a": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                    }}
                }),
            );
        }
        s
    })
}

const POINTERS: &[&str] = &[
    "", "/a", "/b", "/a/0", "/a/b", "/0", "/0/a", "/a~1b", "/~0", "/é", "/a/00", "/a/1", "a", "/",
];

fn declared() -> impl Strategy<Value = Vec<Normalize>> {
    proptest::collection::vec(proptest::sample::select(POINTERS), 0..3).prop_map(|ps| {
        ps.into_iter()
            .map(|pointer| Normalize {
                pointer,
                normalization: Normalization::DatetimeToDate,
            })
            .collect()
    })
}

fn style() -> impl Strategy<Value = Style> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(escape_unicode, escape_more, spaces)| Style {
            escape_unicode,
            escape_more,
            spaces,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn hot_path_equals_reference(schema in schema(), declared in declared(), doc in doc(), style in style()) {
        let n = DocNormalizer::new(&schema, &declared);
        let mut text = String::new();
        write_doc(&doc, style, &mut text);
        check(&n, &text);
    }

    /// Documents shaped by the schema's own keys are where changes happen.
    #[test]
    fn hot_path_equals_reference_on_keyed_documents(declared in declared(), doc in doc(), style in style(), depth in 0usize..140) {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "array", "items": {"type": "object", "properties": {"at": {"format": "date-time"}, "b": {"format": "date-time", "type": ["string", "integer"]}}}},
                "b": {"type": ["null", "string"], "format": "date-time"},
                "0": {"anyOf": [{"type": "null"}, {"format": "date-time"}]},
            },
            "additionalProperties": {"type": "object", "additionalProperties": {"format": "date-time"}},
        });
        let n = DocNormalizer::new(&schema, &declared);
        let mut text = String::new();
        write_doc(&doc, style, &mut text);
        check(&n, &text);
        // Deeply nested (past serde_json's recursion limit of 128 too).
        let deep = format!("{{\"a\":{}{}{}}}", "[".repeat(depth), text, "]".repeat(depth));
        check(&n, &deep);
        let deep = format!("{}{}{}", "{\"c\":".repeat(depth), text, "}".repeat(depth));
        check(&n, &deep);
    }

    /// Arbitrary text never panics the walk, and agrees when it is JSON.
    #[test]
    fn any_text(text in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,40}") {
        let n = DocNormalizer::new(&json!({"properties": {"a": {"format": "date-time"}}, "additionalProperties": {"items": {"format": "date-time"}}}), &[]);
        check(&n, &text);
    }
}

#[test]
fn escapes_duplicates_and_edge_numbers() {
    let n = DocNormalizer::new(
        &json!({"properties": {
            "a": {"format": "date-time"},
            "n": {"type": "integer", "format": "date-time"},
            "l": {"items": {"properties": {"at": {"format": "date-time"}}}},
        }}),
        &[Normalize {
            pointer: "/l/1/d",
            normalization: Normalization::DatetimeToDate,
        }],
    );
    for (text, changes) in [
        (r#"{"a":"2023-01-30 02:34:15","a":"2023-01-31"}"#, true),
        (r#"{"\u0061":"2023-01-30"}"#, true),
        (r#"{"a":"2023\u002d01-30T00:00:00Z"}"#, false),
        // Two spaces: not a date-time form, left alone by both paths.
        (r#"{"a":"2023-01-30\u0020 02:34:15"}"#, false),
        (r#"{"a":"2023-01-30\u002002:34:15"}"#, true),
        (r#"{"a":9223372036854775807}"#, false),
        (r#"{"a":1685098188.5,"n":1685098188}"#, true),
        (r#"{"a":18446744073709551616}"#, false),
        (r#"{"a":-9223372036854775808}"#, false),
        (
            r#"{"l":[{"at":1},{"d":"2023-03-05T15:41:54Z","at":"2023-01-30"}]}"#,
            true,
        ),
        (r#" { "l" : [ { } , { "d" : "2023-03-05" } ] } "#, false),
        (r#"{"x":"\ud83d\ude00","a":"2023-01-30"}"#, true),
    ] {
        let (changed, fell_back) = check(&n, text);
        assert_eq!(changed, changes, "{text}");
        assert!(!fell_back, "{text}");
    }
}

/// Found by `cargo xtask fuzz hotpath` (fuzz/artifacts/hotpath/crash-cfea9b7b…):
/// duplicate keys, the first occurrence not a date, the last one neither.
#[test]
fn fuzz_crash_duplicate_keys_under_patterns() {
    let schema = json!({"$defs": {"node": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
           "$ref": "#/$defs/node",
           "patternProperties": {"^x": {"format": "date-time"}, "_at$": {"type": ["integer", "string"], "format": "date-time"}},
           "additionalProperties": {"oneOf": [{"type": "array", "items": {"format": "date-time"}}, {"type": "integer"}]}});
    let n = DocNormalizer::new(&schema, &[]);
    let text = r#"{"id":94,"make":"Ni","year":2011,"price":40893,"created_at":"4042-02-28T2;ssan","model":"Xterra","year":2005,"price":41532,"created_at":"2021-09-#> 09:00:49+00:00","updated_at":"2026-11-24T08:37:31+00:00"}"#;
    check(&n, text);
}

#[test]
fn patterns_that_overlap_fall_back_and_agree() {
    let n = DocNormalizer::new(
        &json!({"patternProperties": {"^a": {"format": "date-time"}, "b$": {"type": "integer", "format": "date-time"}}}),
        &[],
    );
    assert_eq!(
        check(&n, r#"{"ab":1685098188,"a":1685098188}"#),
        (true, true)
    );
    assert_eq!(
        check(&n, r#"{"a":1685098188,"b":1685098188}"#),
        (true, false)
    );
}

/// Every record of every fixture read, with the binding built from the
/// fixture's own discover (and the 10x larger schema of the bench sweep).
#[test]
fn fixture_reads() {
    let Some(root) = testkit::fixture("fixture_reads", "") else {
        return;
    };
    let mut records = 0;
    let mut changed = 0;
    for dir in [
        "faker",
        "faker/4.0.0-cdk0.58.7",
        "file/csv-parse-dates",
        "file/csv",
        "file/jsonl",
        "hardcoded-records",
        "smoke-test/custom",
        "smoke-test/default",
        "smoke-test/namespace",
    ] {
        let dir = root.join(dir);
        let lines = |f: &str| -> Vec<Value> {
            std::fs::read_to_string(dir.join(f))
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        let mut schemas = std::collections::HashMap::new();
        for m in lines("discover.jsonl") {
            for s in m["catalog"]["streams"].as_array().into_iter().flatten() {
                schemas.insert(
                    s["name"].as_str().unwrap().to_string(),
                    s["json_schema"].clone(),
                );
            }
        }
        for m in lines("read.jsonl") {
            if m["type"] != "RECORD" {
                continue;
            }
            let schema = &schemas[m["record"]["stream"].as_str().unwrap()];
            let n = DocNormalizer::new(schema, &[]);
            let (c, fell_back) = check(&n, &m["record"]["data"].to_string());
            assert!(!fell_back);
            records += 1;
            changed += c as usize;
        }
    }
    println!("{records} records, {changed} changed");
    assert!(records > 3000 && changed >= 1000, "{records} {changed}");
}

/// Found by `cargo xtask fuzz airbyte_lines` (in CI): a number beyond f64 is
/// valid JSON (RFC 8259 leaves ranges to the reader) that `Value` refuses.
/// The capture copies it as the connector wrote it, whether the binding is
/// planned or not; the response stays one JSON line.
#[test]
fn fuzz_crash_number_beyond_f64_is_copied_as_written() {
    let line = br#"{"type":"RECORD","record":{"stream":"a","data":{"id":3,"float_value":-1.7976931348623177e+308,"created_at":"2024-01-02 03:04:05"},"emitted_at":1}}
"#;
    assert!(serde_json::from_slice::<Value>(line).is_err());
    for schema in [
        json!({"type": "object"}),
        json!({"properties": {"created_at": {"type": "string", "format": "date-time"}}}),
    ] {
        let out = runtime::fuzzing::translate_for_fuzzing(&schema, line, false).unwrap();
        let serde = runtime::fuzzing::translate_for_fuzzing(&schema, line, true).unwrap();
        assert_eq!(out, serde);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.contains(r#""float_value":-1.7976931348623177e+308"#),
            "{out}"
        );
        serde_json::from_str::<serde::de::IgnoredAny>(&out).unwrap();
    }
}

/// The fast RECORD line decoder against the serde decoder alone, on every
/// line of every fixture read (streams renamed to the fuzzing binding `a`),
/// with a schema that makes every top-level string a date-time and with none.
#[test]
fn fast_line_decoder_matches_serde_on_fixture_reads() {
    let Some(root) = testkit::fixture("fast_line_decoder_matches_serde_on_fixture_reads", "")
    else {
        return;
    };
    let mut input = Vec::new();
    let mut files = 0;
    for entry in walk(&root) {
        if !entry.ends_with("read.jsonl") && !entry.ends_with("read-resumed.jsonl") {
            continue;
        }
        files += 1;
        for line in std::fs::read_to_string(&entry).unwrap().lines() {
            let Ok(mut msg) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if msg["type"] == "RECORD" {
                msg["record"]["stream"] = json!("a");
                if let Some(r) = msg["record"].as_object_mut() {
                    r.remove("namespace");
                }
            }
            input.extend_from_slice(serde_json::to_string(&msg).unwrap().as_bytes());
            input.push(b'\n');
        }
    }
    assert!(files > 0, "no read fixtures under {}", root.display());
    for schema in [
        json!({"type": "object"}),
        json!({"additionalProperties": {"format": "date-time"}}),
    ] {
        let fast = runtime::fuzzing::translate_for_fuzzing(&schema, &input, false).unwrap();
        let serde = runtime::fuzzing::translate_for_fuzzing(&schema, &input, true).unwrap();
        assert!(
            fast == serde,
            "the fast decoder differs on the fixture reads"
        );
        assert!(!fast.is_empty());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
