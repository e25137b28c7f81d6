//! Sanitizing and discover rules over every real Airbyte catalog and spec in
//! `../shared/fixtures/airbyte/` (skipped when `../shared` is absent).

use std::path::{Path, PathBuf};

use patches::apply::{discovered_binding, flow_spec};
use patches::{Connector, OAuth2, SchemaNormalization, StreamPatches};
use serde_json::Value;

fn files_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_named(&p, name, out);
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
}

/// The messages of one type in a JSON-lines fixture (non-JSON lines skipped).
fn messages(path: &Path, ty: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == ty)
        .collect()
}

/// Every schema object of `schema` with its location, as `schema::for_each_schema` sees them.
fn schema_objects(schema: &Value) -> Vec<serde_json::Map<String, Value>> {
    let mut out = Vec::new();
    let mut copy = schema.clone();
    patches::schema::for_each_schema(&mut copy, &mut |m| out.push(m.clone()));
    out
}

#[test]
fn every_fixture_stream_sanitizes_to_a_flow_friendly_schema() {
    let Some(root) = testkit::fixture("every_fixture_stream_sanitizes", "") else {
        return;
    };
    let mut catalogs = Vec::new();
    files_named(&root, "discover.jsonl", &mut catalogs);
    assert!(catalogs.len() >= 15, "found only {catalogs:?}");
    let widen = StreamPatches {
        schema_normalizations: &[SchemaNormalization::DateToDatetime],
        ..Connector::EMPTY.streams
    };
    let (mut streams, mut enums_before, mut airbyte_types_before) = (0, 0, 0);
    for catalog in &catalogs {
        for msg in messages(catalog, "CATALOG") {
            for stream in msg["catalog"]["streams"].as_array().unwrap() {
                streams += 1;
                for obj in schema_objects(&stream["json_schema"]) {
                    enums_before += obj.contains_key("enum") as usize;
                    airbyte_types_before += obj.contains_key("airbyte_type") as usize;
                }
                for patches in [&Connector::EMPTY.streams, &widen] {
                    let where_ = format!("{} stream {}", catalog.display(), stream["name"]);
                    let b = discovered_binding(stream, patches)
                        .unwrap_or_else(|e| panic!("{where_}: {e}"))
                        .unwrap();
                    let schema = &b["documentSchema"];
                    for obj in schema_objects(schema) {
                        for kw in [
                            "enum",
                            "airbyte_type",
                            "airbyte-type",
                            "airbyte_secret",
                            "airbyte_hidden",
                        ] {
                            assert!(!obj.contains_key(kw), "{where_}: {kw} left in {obj:?}");
                        }
                        if let Some(f) = obj.get("format") {
                            let f = f.as_str().unwrap();
                            assert!(
                                patches::schema::FLOW_FORMATS.contains(&f),
                                "{where_}: format {f}"
                            );
                            if std::ptr::eq(patches, &widen) {
                                assert_ne!(f, "date", "{where_}: date not widened");
                            }
                        }
                    }
                    // Key locations are required and never null.
                    for ptr in b["key"].as_array().unwrap() {
                        let ptr = ptr.as_str().unwrap();
                        let mut at = schema;
                        for token in patches::pointer::Pointer::parse(ptr).unwrap().tokens() {
                            if at.get("properties").is_none() {
                                break; // e.g. a $ref / combination the rules leave alone
                            }
                            let required = at["required"].as_array().unwrap();
                            assert!(
                                required.iter().any(|r| r == token.as_str()),
                                "{where_}: {ptr} not required"
                            );
                            at = &at["properties"][token.as_str()];
                            if let Some(types) = at["type"].as_array() {
                                assert!(
                                    !types.iter().any(|t| t == "null"),
                                    "{where_}: {ptr} may be null"
                                );
                            } else {
                                assert_ne!(at["type"], "null", "{where_}");
                            }
                        }
                    }
                    // The result is still a valid JSON schema.
                    jsonschema::validator_for(schema)
                        .unwrap_or_else(|e| panic!("{where_}: not a valid schema: {e}"));
                }
            }
        }
    }
    // The fixtures do exercise the rules.
    assert!(streams > 300, "{streams} streams");
    assert!(
        enums_before > 50 && airbyte_types_before > 20,
        "{enums_before} {airbyte_types_before}"
    );
}

#[test]
fn every_fixture_spec_becomes_a_flow_spec() {
    let Some(root) = testkit::fixture("every_fixture_spec_becomes_a_flow_spec", "") else {
        return;
    };
    let mut specs = Vec::new();
    files_named(&root, "spec.jsonl", &mut specs);
    assert!(specs.len() >= 15, "found only {specs:?}");
    let mut secrets = 0;
    for path in &specs {
        for msg in messages(path, "SPEC") {
            let spec = flow_spec(&msg["spec"], None, OAuth2::Upstream, None)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(spec["protocol"], 3032023);
            assert_eq!(
                spec["resourcePathPointers"],
                serde_json::json!(["/namespace", "/stream"])
            );
            assert_eq!(spec["documentationUrl"], msg["spec"]["documentationUrl"]);
            // None of these connectors declares a Flow-shaped OAuth2 spec.
            assert_eq!(spec.get("oauth2"), None, "{}", path.display());
            for obj in schema_objects(&spec["configSchema"]) {
                for kw in [
                    "airbyte_secret",
                    "airbyte_hidden",
                    "pattern_descriptor",
                    "group",
                ] {
                    assert!(!obj.contains_key(kw), "{}: {kw} left", path.display());
                }
                secrets += obj.contains_key("secret") as usize;
            }
            jsonschema::validator_for(&spec["configSchema"])
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    assert!(secrets > 20, "{secrets} secrets");
}
