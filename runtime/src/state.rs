//! Airbyte state <-> Flow connector state.
//!
//! Flow persists the reduction of a capture's checkpoints: each
//! `checkpoint.state.updated` is RFC 7396-merged into the persisted state when
//! `mergePatch` is true, and replaces it otherwise. [`checkpoint`] turns one
//! Airbyte `STATE` message into such a checkpoint; [`connector_state`] turns
//! the persisted state back into what the connector reads from `--state`.
//!
//! # Layout of the persisted Flow state
//!
//! - **LEGACY** (`{"type":"LEGACY","data":{..},"merge"?:bool}`, or a state
//!   with only `data`): the checkpoint is `data` verbatim, merged when the
//!   message's `merge` (or `estuary.dev/merge`) flag is true, replacing
//!   otherwise. The persisted state is the connector's own blob, handed back
//!   verbatim.
//! - **STREAM** (`{"type":"STREAM","stream":{"stream_descriptor":..,"stream_state":..}}`):
//!   the checkpoint is the merge patch
//!   `{"_atf_state_format":"STREAM","<stream>": stream_state}`, where
//!   `<stream>` is the stream name, or `<namespace>/<name>` when the
//!   descriptor has a namespace. Streams' states accumulate side by side; the
//!   marker key tells [`connector_state`] to hand back the per-stream list
//!   `[{"type":"STREAM","stream":{"stream_descriptor":..,"stream_state":..}}, ..]`.
//!   A `data` blob or `sourceStats` sent alongside (CDK 0.x, CDK 6+) is
//!   ignored: the STREAM part wins.
//!   Merge-patch consequences, by design of the checkpoint shape: a key that
//!   a newer `stream_state` no longer has keeps its older value, and a `null`
//!   inside a `stream_state` removes that key (the connector then reads it as
//!   absent rather than null).
//!   A `stream_state` that is `null` or absent would, as a merge patch
//!   `{"<stream>": null}`, silently delete the stream's state; instead it
//!   becomes `{"<stream>": {}}`, which keeps whatever was persisted for the
//!   stream (or records an empty state for a new one), and the message is
//!   logged at warn level. Resuming from the last state Flow committed can only
//!   re-read documents, never skip them.
//! - **GLOBAL** (`{"type":"GLOBAL","global":{"shared_state":..,"stream_states":[..]}}`):
//!   the checkpoint `{"_atf_state_format":"GLOBAL","global":<global>}` replaces
//!   the persisted state (`mergePatch` false), so the shared state and every
//!   stream state survive together. Handed back as `[{"type":"GLOBAL","global":<global>}]`.
//!
//! The connector gets no `--state` file at all when the persisted state is
//! empty (`null`, `{}`, or a marker with no stream under it).
//!
//! `AIRBYTE_TO_FLOW_STATE_FORMAT=per_stream` (the runtime passes it as
//! `force_per_stream`) hands a legacy-shaped `{"<stream>": state, ..}` object
//! back as the per-stream list too, for connectors that moved from LEGACY to
//! STREAM state (CDK 6+ rejects the object form).

use patches::apply::excerpt;
use serde_json::{json, Map, Value};

/// The reserved key of the persisted state that records its layout.
pub const STATE_FORMAT_KEY: &str = "_atf_state_format";

/// One Flow checkpoint (`checkpoint.state`): `updated` and `mergePatch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub updated: Value,
    pub merge_patch: bool,
}

/// A STATE message the adapter cannot turn into a checkpoint.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StateError {
    #[error("connector STATE message: \"state\" is {got}, not an object: the connector does not follow the Airbyte protocol")]
    NotAnObject { got: String },
    #[error("connector STATE message of type {ty:?} lacks {pointer:?} (got {got}): the connector does not follow the Airbyte protocol")]
    Missing {
        ty: String,
        pointer: &'static str,
        got: String,
    },
    #[error("connector STATE message has unknown type {ty:?}: expected LEGACY, STREAM or GLOBAL")]
    UnknownType { ty: String },
}

/// The key of a stream in the persisted STREAM layout.
pub fn stream_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The checkpoint of one Airbyte STATE message (`state` is the object inside
/// the message's `"state"`). See the module docs for the layout.
pub fn checkpoint(state: &Value) -> Result<Checkpoint, StateError> {
    let Value::Object(obj) = state else {
        return Err(StateError::NotAnObject {
            got: excerpt(state),
        });
    };
    let ty = match obj.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        _ => None,
    };
    let ty = match ty {
        Some(t) => t,
        None if obj.contains_key("stream") => "STREAM",
        None if obj.contains_key("global") => "GLOBAL",
        None => "LEGACY",
    };
    let missing = |pointer: &'static str| StateError::Missing {
        ty: ty.to_string(),
        pointer,
        got: excerpt(state),
    };
    match ty {
        "STREAM" => {
            let stream = obj
                .get("stream")
                .filter(|s| s.is_object())
                .ok_or_else(|| missing("/stream"))?;
            let name = stream
                .pointer("/stream_descriptor/name")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("/stream/stream_descriptor/name"))?;
            let namespace = stream
                .pointer("/stream_descriptor/namespace")
                .and_then(Value::as_str);
            let key = stream_key(namespace, name);
            let stream_state = match stream.get("stream_state") {
                None | Some(Value::Null) => {
                    tracing::warn!(
                        stream = %key,
                        "connector sent a STATE with a null stream_state: keeping the stream's previous state"
                    );
                    Value::Object(Map::new())
                }
                Some(v) => v.clone(),
            };
            let mut updated = Map::new();
            updated.insert(STATE_FORMAT_KEY.into(), Value::String("STREAM".into()));
            updated.insert(key, stream_state);
            Ok(Checkpoint {
                updated: Value::Object(updated),
                merge_patch: true,
            })
        }
        "GLOBAL" => {
            let global = obj
                .get("global")
                .filter(|g| g.is_object())
                .ok_or_else(|| missing("/global"))?;
            Ok(Checkpoint {
                updated: json!({ STATE_FORMAT_KEY: "GLOBAL", "global": global }),
                merge_patch: false,
            })
        }
        "LEGACY" => {
            let data = obj.get("data").ok_or_else(|| missing("/data"))?;
            let merge = obj
                .get("merge")
                .or_else(|| obj.get("estuary.dev/merge"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(Checkpoint {
                updated: data.clone(),
                merge_patch: merge,
            })
        }
        other => Err(StateError::UnknownType {
            ty: other.to_string(),
        }),
    }
}

/// The `--state` file content for the connector from the state Flow persisted
/// (`open.state`), or `None` when there is no state (then the connector gets no
/// `--state` argument at all). `catalog_streams` are the configured streams as
/// `(namespace, name)`, used to recover stream descriptors from state keys
/// (a key not among them is split at its first `/` into namespace and name
/// when it has one). See the module docs for the layout.
pub fn connector_state(
    flow_state: &Value,
    catalog_streams: &[(Option<String>, String)],
    force_per_stream: bool,
) -> Option<Value> {
    let obj = match flow_state {
        Value::Null => return None,
        Value::Object(obj) if obj.is_empty() => return None,
        Value::Object(obj) => obj,
        other => return Some(other.clone()),
    };
    match obj.get(STATE_FORMAT_KEY).and_then(Value::as_str) {
        Some("GLOBAL") => {
            let global = obj.get("global")?;
            Some(json!([{ "type": "GLOBAL", "global": global }]))
        }
        Some("STREAM") => per_stream(obj, catalog_streams),
        _ if force_per_stream => per_stream(obj, catalog_streams),
        _ => Some(flow_state.clone()),
    }
}

fn per_stream(obj: &Map<String, Value>, catalog: &[(Option<String>, String)]) -> Option<Value> {
    let list: Vec<Value> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != STATE_FORMAT_KEY)
        .map(|(key, stream_state)| {
            let known = catalog
                .iter()
                .find(|(ns, name)| stream_key(ns.as_deref(), name) == *key);
            let (namespace, name) = match known {
                Some((ns, name)) => (ns.clone(), name.clone()),
                None => match key.split_once('/') {
                    Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                    None => (None, key.clone()),
                },
            };
            let mut descriptor = Map::new();
            descriptor.insert("name".into(), Value::String(name));
            if let Some(ns) = namespace {
                descriptor.insert("namespace".into(), Value::String(ns));
            }
            json!({
                "type": "STREAM",
                "stream": {"stream_descriptor": descriptor, "stream_state": stream_state}
            })
        })
        .collect();
    if list.is_empty() {
        None
    } else {
        Some(Value::Array(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Reduces checkpoints as Flow does.
    fn reduce<'a>(checkpoints: impl IntoIterator<Item = &'a Checkpoint>) -> Value {
        let mut state = json!({});
        for c in checkpoints {
            if c.merge_patch {
                json_patch::merge(&mut state, &c.updated);
            } else {
                state = c.updated.clone();
            }
        }
        state
    }

    fn read_states(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["type"] == "STATE")
            .map(|m| m["state"].clone())
            .collect()
    }

    fn catalog_streams(path: &Path) -> Vec<(Option<String>, String)> {
        let catalog: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        catalog["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["stream"]["namespace"].as_str().map(str::to_string),
                    s["stream"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Replays a fixture read: every STATE becomes a checkpoint, Flow's
    /// reduction of them is handed back, and must equal the fixture's
    /// `state.json` (the last state of each stream, as `mkstate.py` wrote it).
    fn round_trip(dir: &str, force_per_stream: bool) {
        let Some(dir) = testkit::fixture("state round trip", dir) else {
            return;
        };
        let states = read_states(&dir.join("read.jsonl"));
        assert!(!states.is_empty());
        let checkpoints: Vec<Checkpoint> = states.iter().map(|s| checkpoint(s).unwrap()).collect();
        assert!(checkpoints.iter().all(|c| c.merge_patch));
        let reduced = reduce(&checkpoints);
        let got = connector_state(
            &reduced,
            &catalog_streams(&dir.join("catalog.json")),
            force_per_stream,
        )
        .unwrap();
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap())
                .unwrap();
        assert_eq!(got, want, "{}", dir.display());
    }

    #[test]
    fn faker_stream_states_round_trip() {
        round_trip("faker", false);
    }

    #[test]
    fn faker_4_stream_wins_over_legacy_data() {
        round_trip("faker/4.0.0-cdk0.58.7", false);
        let Some(dir) = testkit::fixture("faker_4_stream_wins", "faker/4.0.0-cdk0.58.7") else {
            return;
        };
        let first = checkpoint(&read_states(&dir.join("read.jsonl"))[0]).unwrap();
        assert_eq!(
            first.updated,
            json!({"_atf_state_format": "STREAM", "products": {}})
        );
    }

    #[test]
    fn hardcoded_records_round_trip() {
        round_trip("hardcoded-records", false);
        round_trip("hardcoded-records", true);
    }

    #[test]
    fn legacy_state_file_is_verbatim_unless_per_stream_is_forced() {
        let Some(dir) = testkit::fixture("legacy_state_file", "faker/4.0.0-cdk0.58.7") else {
            return;
        };
        let legacy: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("state-legacy.json")).unwrap())
                .unwrap();
        let list: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap())
                .unwrap();
        let streams = catalog_streams(&dir.join("catalog.json"));
        assert_eq!(
            connector_state(&legacy, &streams, false),
            Some(legacy.clone())
        );
        assert_eq!(connector_state(&legacy, &streams, true), Some(list));
    }

    #[test]
    fn greenhouse_failed_read_keeps_each_streams_last_state() {
        let Some(dir) = testkit::fixture("greenhouse_failed_read", "greenhouse") else {
            return;
        };
        let states = read_states(&dir.join("read-error.jsonl"));
        let checkpoints: Vec<Checkpoint> = states.iter().map(|s| checkpoint(s).unwrap()).collect();
        let got = connector_state(
            &reduce(&checkpoints),
            &catalog_streams(&dir.join("catalog-2-streams.json")),
            false,
        )
        .unwrap();
        // The last state of each stream, in order of first appearance (what mkstate.py does).
        let mut want: Vec<(String, Value)> = Vec::new();
        for s in &states {
            let name = s["stream"]["stream_descriptor"]["name"]
                .as_str()
                .unwrap()
                .to_string();
            let entry = json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": s["stream"]["stream_state"]}});
            match want.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = entry,
                None => want.push((name, entry)),
            }
        }
        assert_eq!(want.len(), 2);
        assert_eq!(
            got,
            Value::Array(want.into_iter().map(|(_, e)| e).collect())
        );
        let users = got
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["stream"]["stream_descriptor"]["name"] == "users")
            .unwrap();
        assert_eq!(
            users["stream"]["stream_state"],
            json!({"updated_at": "1970-01-01T00:00:00.000Z"})
        );
    }

    #[test]
    fn namespaced_streams_keep_their_descriptor() {
        let c = checkpoint(&json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "a/b", "namespace": "ns"}, "stream_state": {"c": 1}}})).unwrap();
        assert_eq!(
            c.updated,
            json!({"_atf_state_format": "STREAM", "ns/a/b": {"c": 1}})
        );
        let c2 = checkpoint(&json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "x", "namespace": null}, "stream_state": {"c": 2}}})).unwrap();
        let reduced = reduce([&c, &c2]);
        let with_catalog = connector_state(
            &reduced,
            &[(Some("ns".into()), "a/b".into()), (None, "x".into())],
            false,
        );
        assert_eq!(
            with_catalog,
            Some(json!([
                {"type": "STREAM", "stream": {"stream_descriptor": {"name": "a/b", "namespace": "ns"}, "stream_state": {"c": 1}}},
                {"type": "STREAM", "stream": {"stream_descriptor": {"name": "x"}, "stream_state": {"c": 2}}}
            ]))
        );
        // Without the catalog the key is split at its first "/".
        let without = connector_state(&reduced, &[], false).unwrap();
        assert_eq!(
            without[0]["stream"]["stream_descriptor"],
            json!({"name": "a/b", "namespace": "ns"})
        );
    }

    #[test]
    fn null_stream_state_does_not_delete_the_stream() {
        let first = checkpoint(&json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"cursor": "2024"}}})).unwrap();
        let null = checkpoint(&json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": null}})).unwrap();
        let absent = checkpoint(
            &json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}}}),
        )
        .unwrap();
        assert_eq!(
            null.updated,
            json!({"_atf_state_format": "STREAM", "users": {}})
        );
        assert_eq!(absent, null);
        let reduced = reduce([&first, &null]);
        assert_eq!(
            reduced,
            json!({"_atf_state_format": "STREAM", "users": {"cursor": "2024"}})
        );
        // A new stream whose first state is null is still listed, with an empty state.
        let reduced = reduce([&null]);
        assert_eq!(
            connector_state(&reduced, &[], false),
            Some(
                json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {}}}])
            )
        );
    }

    #[test]
    fn global_state_survives_whole() {
        let g1 = json!({"shared_state": {"lsn": 1}, "stream_states": [
            {"stream_descriptor": {"name": "a"}, "stream_state": {"x": 1}},
            {"stream_descriptor": {"name": "b"}, "stream_state": {"y": 1}}
        ]});
        let g2 = json!({"shared_state": {"lsn": 2}, "stream_states": [
            {"stream_descriptor": {"name": "a"}, "stream_state": {"x": 2}}
        ]});
        let cps: Vec<Checkpoint> = [&g1, &g2]
            .iter()
            .map(|g| checkpoint(&json!({"type": "GLOBAL", "global": g})).unwrap())
            .collect();
        assert!(cps.iter().all(|c| !c.merge_patch));
        // A STREAM layout persisted before is replaced, not merged into.
        let stream = checkpoint(&json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "old"}, "stream_state": {}}})).unwrap();
        let reduced = reduce([&stream, &cps[0], &cps[1]]);
        assert_eq!(
            reduced,
            json!({"_atf_state_format": "GLOBAL", "global": g2})
        );
        for force in [false, true] {
            assert_eq!(
                connector_state(&reduced, &[], force),
                Some(json!([{"type": "GLOBAL", "global": g2}]))
            );
        }
    }

    #[test]
    fn legacy_data_keeps_its_merge_flag() {
        let c =
            checkpoint(&json!({"type": "LEGACY", "data": {"users": {"cursor": 1}}, "merge": true}))
                .unwrap();
        assert_eq!(
            c,
            Checkpoint {
                updated: json!({"users": {"cursor": 1}}),
                merge_patch: true
            }
        );
        let c2 =
            checkpoint(&json!({"data": {"products": {"cursor": 2}}, "estuary.dev/merge": true}))
                .unwrap();
        assert!(c2.merge_patch);
        let replace = checkpoint(&json!({"data": {"all": 3}})).unwrap();
        assert!(!replace.merge_patch);
        let reduced = reduce([&c, &c2]);
        assert_eq!(
            reduced,
            json!({"users": {"cursor": 1}, "products": {"cursor": 2}})
        );
        assert_eq!(connector_state(&reduced, &[], false), Some(reduced.clone()));
        assert_eq!(reduce([&c, &c2, &replace]), json!({"all": 3}));
    }

    #[test]
    fn empty_state_means_no_state_file() {
        for empty in [
            json!(null),
            json!({}),
            json!({"_atf_state_format": "STREAM"}),
        ] {
            assert_eq!(connector_state(&empty, &[], false), None, "{empty}");
            assert_eq!(connector_state(&empty, &[], true), None, "{empty}");
        }
        // A list (already the per-stream form) is passed through.
        let list = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"}}}]);
        assert_eq!(connector_state(&list, &[], false), Some(list.clone()));
    }

    #[test]
    fn malformed_states_are_errors() {
        assert_eq!(
            checkpoint(&json!("x")).unwrap_err().to_string(),
            "connector STATE message: \"state\" is \"x\", not an object: the connector does not follow the Airbyte protocol"
        );
        assert_eq!(
            checkpoint(&json!({"type": "STREAM", "stream": {"stream_state": {}}})).unwrap_err().to_string(),
            "connector STATE message of type \"STREAM\" lacks \"/stream/stream_descriptor/name\" (got {\"type\":\"STREAM\",\"stream\":{\"stream_state\":{}}}): the connector does not follow the Airbyte protocol"
        );
        assert!(matches!(
            checkpoint(&json!({"type": "GLOBAL"})),
            Err(StateError::Missing {
                pointer: "/global",
                ..
            })
        ));
        assert!(matches!(
            checkpoint(&json!({})),
            Err(StateError::Missing {
                pointer: "/data",
                ..
            })
        ));
        assert_eq!(
            checkpoint(&json!({"type": "PER_SHARD"})).unwrap_err().to_string(),
            "connector STATE message has unknown type \"PER_SHARD\": expected LEGACY, STREAM or GLOBAL"
        );
    }
}
