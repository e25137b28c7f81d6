//! The state layouts, on hand-written cases and on the fixtures' real reads.

use super::*;
use std::path::Path;

/// Reduces checkpoints as Flow does.
fn reduce<'a>(start: Value, updates: impl IntoIterator<Item = (&'a Value, bool)>) -> Value {
    let mut state = start;
    for (updated, merge) in updates {
        if merge {
            json_patch::merge(&mut state, updated);
        } else {
            state = updated.clone();
        }
    }
    state
}

fn reduce_cps(start: Value, cps: &[Checkpoint]) -> Value {
    reduce(start, cps.iter().map(|c| (&c.updated, c.merge_patch)))
}

fn b(namespace: Option<&str>, stream: &str, state_key: &str) -> StateBinding {
    StateBinding {
        namespace: namespace.map(str::to_string),
        stream: stream.to_string(),
        state_key: state_key.to_string(),
    }
}

fn cp(state: Value, keys: &[StateBinding]) -> Checkpoint {
    checkpoint(&state, keys).unwrap().unwrap()
}

fn stream_state(name: &str, s: Value) -> Value {
    json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": s}})
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

/// A per-stream state list sorted by stream name.
fn by_stream(mut list: Value) -> Value {
    list.as_array_mut().unwrap().sort_by_key(|e| {
        e["stream"]["stream_descriptor"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    });
    list
}

/// The bindings of a fixture catalog, each keyed as Flow keys a binding
/// that was never backfilled.
fn catalog_bindings(path: &Path) -> Vec<StateBinding> {
    let catalog: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let ns = s["stream"]["namespace"].as_str();
            let name = s["stream"]["name"].as_str().unwrap();
            let path: Vec<&str> = ns.into_iter().chain([name]).collect();
            b(ns, name, &state_key(&path, 0))
        })
        .collect()
}

#[test]
fn state_keys_are_flows() {
    // estuary/flow crates/assemble/src/lib.rs, test_state_key_escapes.
    assert_eq!(state_key(&["table"], 0), "table");
    assert_eq!(state_key(&["public", "table"], 0), "public%2Ftable");
    assert_eq!(state_key(&["public", "table"], 1), "public%2Ftable.v1");
    assert_eq!(
        state_key(&["he!lo৬", "a/part%", "_¾the-=res+."], 3),
        "he%21lo৬%2Fa%2Fpart%25%2F_¾the-=res+..v3"
    );
    let gross_url =
        "http://user:password@foo.bar.example.com:9000/hooks///baz?type=critical&test=true";
    assert_eq!(
        state_key(&["prefix", gross_url], 42),
        "prefix%2Fhttp%3A%2F%2Fuser%3Apassword%40foo.bar.example.com%3A9000%2Fhooks%2F%2F%2Fbaz%3Ftype=critical%26test=true.v42"
    );
    // The example of ../shared/protocol (a space is percent-encoded too).
    assert_eq!(
        state_key(&["a/cdc", "table baz"], 3),
        "a%2Fcdc%2Ftable%20baz.v3"
    );
    assert_eq!(state_key(&["x€"], 0), "x%E2%82%AC");
}

/// Replays a fixture read: every STATE becomes a checkpoint, Flow's
/// reduction of them is handed back, and must equal the fixture's
/// `state.json` (the last state of each stream, as `mkstate.py` wrote it).
fn round_trip(dir: &str) {
    let Some(dir) = testkit::fixture("state round trip", dir) else {
        return;
    };
    let bindings = catalog_bindings(&dir.join("catalog.json"));
    let checkpoints: Vec<Checkpoint> = read_states(&dir.join("read.jsonl"))
        .iter()
        .map(|s| cp(s.clone(), &bindings))
        .collect();
    assert!(!checkpoints.is_empty());
    assert!(checkpoints.iter().all(|c| c.merge_patch));
    let reduced = reduce_cps(json!({}), &checkpoints);
    assert_eq!(
        reduced.as_object().unwrap().keys().collect::<Vec<_>>(),
        [BINDING_STATE_KEY]
    );
    let got = resume(&reduced, &bindings, false);
    assert_eq!(got.first_checkpoint, None, "nothing to tidy");
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    // state.json lists streams in order of first appearance; we list them
    // in binding order.
    assert_eq!(
        by_stream(got.connector_state.unwrap()),
        by_stream(want),
        "{}",
        dir.display()
    );
}

#[test]
fn faker_stream_states_round_trip() {
    round_trip("faker");
}

#[test]
fn hardcoded_records_round_trip() {
    round_trip("hardcoded-records");
}

#[test]
fn faker_4_stream_wins_over_legacy_data() {
    round_trip("faker/4.0.0-cdk0.58.7");
    let Some(dir) = testkit::fixture("faker_4_stream_wins", "faker/4.0.0-cdk0.58.7") else {
        return;
    };
    let bindings = catalog_bindings(&dir.join("catalog.json"));
    let first = cp(read_states(&dir.join("read.jsonl"))[0].clone(), &bindings);
    assert_eq!(first.updated, json!({"bindingStateV1": {"products": {}}}));
}

#[test]
fn a_legacy_state_file_is_verbatim_unless_per_stream_is_forced() {
    let Some(dir) = testkit::fixture("legacy_state_file", "faker/4.0.0-cdk0.58.7") else {
        return;
    };
    let legacy: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state-legacy.json")).unwrap())
            .unwrap();
    let list: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
    let bindings = catalog_bindings(&dir.join("catalog.json"));
    let verbatim = resume(&legacy, &bindings, false);
    assert_eq!(verbatim.connector_state, Some(legacy.clone()));
    assert_eq!(verbatim.first_checkpoint, None);
    // Forced: the list, and the object moved under the state keys.
    let forced = resume(&legacy, &bindings, true);
    assert_eq!(
        by_stream(forced.connector_state.clone().unwrap()),
        by_stream(list)
    );
    let moved = reduce(
        legacy.clone(),
        [(forced.first_checkpoint.as_ref().unwrap(), true)],
    );
    let keys: Vec<&String> = moved.as_object().unwrap().keys().collect();
    assert_eq!(keys, [BINDING_STATE_KEY], "{moved}");
    for b in &bindings {
        assert_eq!(moved[BINDING_STATE_KEY][&b.state_key], legacy[&b.stream]);
    }
}

#[test]
fn greenhouse_failed_read_keeps_each_streams_last_state() {
    let Some(dir) = testkit::fixture("greenhouse_failed_read", "greenhouse") else {
        return;
    };
    let bindings = catalog_bindings(&dir.join("catalog-2-streams.json"));
    let states = read_states(&dir.join("read-error.jsonl"));
    let checkpoints: Vec<Checkpoint> = states.iter().map(|s| cp(s.clone(), &bindings)).collect();
    let got = resume(&reduce_cps(json!({}), &checkpoints), &bindings, false)
        .connector_state
        .unwrap();
    // The last state of each stream.
    for e in got.as_array().unwrap() {
        let name = e["stream"]["stream_descriptor"]["name"].as_str().unwrap();
        let last = states
            .iter()
            .rfind(|s| s["stream"]["stream_descriptor"]["name"] == name)
            .unwrap();
        assert_eq!(e["stream"]["stream_state"], last["stream"]["stream_state"]);
    }
    assert_eq!(got.as_array().unwrap().len(), 2);
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
    let bindings = [b(Some("ns"), "a/b", "ns%2Fa%2Fb"), b(None, "x", "x")];
    let c = cp(
        json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "a/b", "namespace": "ns"}, "stream_state": {"c": 1}}}),
        &bindings,
    );
    assert_eq!(
        c.updated,
        json!({"bindingStateV1": {"ns%2Fa%2Fb": {"c": 1}}})
    );
    let c2 = cp(
        json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "x", "namespace": null}, "stream_state": {"c": 2}}}),
        &bindings,
    );
    let reduced = reduce_cps(json!({}), &[c, c2]);
    assert_eq!(
        resume(&reduced, &bindings, false).connector_state,
        Some(json!([
            {"type": "STREAM", "stream": {"stream_descriptor": {"name": "a/b", "namespace": "ns"}, "stream_state": {"c": 1}}},
            {"type": "STREAM", "stream": {"stream_descriptor": {"name": "x"}, "stream_state": {"c": 2}}}
        ]))
    );
}

#[test]
fn a_state_of_a_stream_no_binding_captures_is_dropped() {
    let bindings = [b(None, "users", "users")];
    assert_eq!(
        checkpoint(&stream_state("other", json!({"c": 1})), &bindings[..]),
        Ok(None)
    );
}

#[test]
fn null_stream_state_does_not_delete_the_binding_state() {
    let bindings = [b(None, "users", "users")];
    let first = cp(stream_state("users", json!({"cursor": "2024"})), &bindings);
    let null = cp(stream_state("users", Value::Null), &bindings);
    let absent = cp(
        json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}}}),
        &bindings,
    );
    assert_eq!(null.updated, json!({"bindingStateV1": {"users": {}}}));
    assert_eq!(absent, null);
    assert_eq!(
        reduce_cps(json!({}), &[first, null.clone()]),
        json!({"bindingStateV1": {"users": {"cursor": "2024"}}})
    );
    // A new binding whose first state is null is listed, with an empty state.
    assert_eq!(
        resume(&reduce_cps(json!({}), &[null]), &bindings, false).connector_state,
        Some(json!([stream_state("users", json!({}))]))
    );
}

#[test]
fn a_bumped_binding_starts_over_and_a_removed_one_is_forgotten() {
    let state = json!({"bindingStateV1": {
        "users": {"cursor": 1}, "products": {"cursor": 2}, "gone": {"cursor": 3}}});
    // users bumped (users.v1), products resumed, gone removed.
    let bindings = [
        b(None, "users", "users.v1"),
        b(None, "products", "products"),
    ];
    let r = resume(&state, &bindings, false);
    assert_eq!(
        r.connector_state,
        Some(json!([stream_state("products", json!({"cursor": 2}))]))
    );
    assert_eq!(r.fresh, [0]);
    let first = r.first_checkpoint.unwrap();
    assert_eq!(
        first,
        json!({"bindingStateV1": {"users": null, "gone": null}})
    );
    let after = reduce(state, [(&first, true)]);
    assert_eq!(
        after,
        json!({"bindingStateV1": {"products": {"cursor": 2}}})
    );
    // Nothing to tidy the next time.
    assert_eq!(resume(&after, &bindings, false).first_checkpoint, None);
    // A binding added again later is read in full.
    let again = [b(None, "products", "products"), b(None, "gone", "gone")];
    assert_eq!(resume(&after, &again, false).fresh, [1]);
}

#[test]
fn the_stream_layout_before_state_keys_moves_under_them_once() {
    let old = json!({"_atf_state_format": "STREAM", "users": {"cursor": 1},
                     "ns/orders": {"cursor": 2}, "gone": {"cursor": 3}});
    let bindings = [
        b(None, "users", "users"),
        b(Some("ns"), "orders", "ns%2Forders"),
        b(None, "new", "new"),
    ];
    let r = resume(&old, &bindings, false);
    assert_eq!(
        r.connector_state,
        Some(json!([
            stream_state("users", json!({"cursor": 1})),
            {"type": "STREAM", "stream": {"stream_descriptor": {"name": "orders", "namespace": "ns"}, "stream_state": {"cursor": 2}}},
        ]))
    );
    assert_eq!(r.fresh, [2]);
    let after = reduce(old, [(r.first_checkpoint.as_ref().unwrap(), true)]);
    assert_eq!(
        after,
        json!({"bindingStateV1": {"users": {"cursor": 1}, "ns%2Forders": {"cursor": 2}}})
    );
    // Resumed from the new layout: the same state file, nothing to move.
    let again = resume(&after, &bindings, false);
    assert_eq!(again.connector_state, r.connector_state);
    assert_eq!(again.first_checkpoint, None);
}

#[test]
fn global_state_is_kept_per_binding_and_a_bumped_stream_reset() {
    let bindings = [b(None, "a", "a"), b(None, "b", "b")];
    let g1 = json!({"shared_state": {"lsn": 1}, "stream_states": [
        {"stream_descriptor": {"name": "a"}, "stream_state": {"x": 1}},
        {"stream_descriptor": {"name": "b"}, "stream_state": {"y": 1}}
    ]});
    let g2 = json!({"shared_state": {"lsn": 2}, "stream_states": [
        {"stream_descriptor": {"name": "a"}, "stream_state": {"x": 2}},
        {"stream_descriptor": {"name": "b"}, "stream_state": {"y": 1}},
        {"stream_descriptor": {"name": "unbound"}, "stream_state": {"z": 1}}
    ]});
    let cps: Vec<Checkpoint> = [&g1, &g2]
        .iter()
        .map(|g| cp(json!({"type": "GLOBAL", "global": g}), &bindings))
        .collect();
    assert!(cps.iter().all(|c| !c.merge_patch));
    // A STREAM layout persisted before is replaced, not merged into.
    let stream = cp(stream_state("a", json!({})), &bindings);
    let reduced = reduce_cps(json!({}), &[stream, cps[0].clone(), cps[1].clone()]);
    assert_eq!(
        reduced,
        json!({"_atf_state_format": "GLOBAL", "global": {"shared_state": {"lsn": 2}},
               "bindingStateV1": {"a": {"x": 2}, "b": {"y": 1}}})
    );
    for force in [false, true] {
        let r = resume(&reduced, &bindings, force);
        assert_eq!(
            r.connector_state,
            Some(
                json!([{"type": "GLOBAL", "global": {"shared_state": {"lsn": 2}, "stream_states": [
                {"stream_descriptor": {"name": "a"}, "stream_state": {"x": 2}},
                {"stream_descriptor": {"name": "b"}, "stream_state": {"y": 1}}]}}])
            )
        );
    }
    // b bumped: its stream state left out, the shared state kept.
    let bumped = [b(None, "a", "a"), b(None, "b", "b.v1")];
    let r = resume(&reduced, &bumped, false);
    assert_eq!(
        r.connector_state,
        Some(
            json!([{"type": "GLOBAL", "global": {"shared_state": {"lsn": 2}, "stream_states": [
            {"stream_descriptor": {"name": "a"}, "stream_state": {"x": 2}}]}}])
        )
    );
    assert_eq!(r.fresh, [1]);
    // The layout before state keys is handed back whole.
    let old = json!({"_atf_state_format": "GLOBAL", "global": g1});
    assert_eq!(
        resume(&old, &bumped, false).connector_state,
        Some(json!([{"type": "GLOBAL", "global": g1}]))
    );
}

#[test]
fn legacy_data_keeps_its_merge_flag_and_records_its_bindings() {
    let bindings = [b(None, "users", "users"), b(None, "products", "products")];
    let c = cp(
        json!({"type": "LEGACY", "data": {"users": {"cursor": 1}}, "merge": true}),
        &bindings,
    );
    assert_eq!(
        c,
        Checkpoint {
            updated: json!({"users": {"cursor": 1}, "_atf_state_keys": {"users": true, "products": true}}),
            merge_patch: true
        }
    );
    let c2 = cp(
        json!({"data": {"products": {"cursor": 2}}, "estuary.dev/merge": true}),
        &bindings,
    );
    assert!(c2.merge_patch);
    let replace = cp(json!({"data": {"all": 3}}), &bindings);
    assert!(!replace.merge_patch);
    let reduced = reduce_cps(json!({}), &[c.clone(), c2.clone()]);
    let blob = json!({"users": {"cursor": 1}, "products": {"cursor": 2}});
    let r = resume(&reduced, &bindings, false);
    assert_eq!(r.connector_state, Some(blob.clone()));
    assert_eq!((r.first_checkpoint, r.fresh), (None, vec![]));
    assert_eq!(
        reduce_cps(json!({}), &[c.clone(), c2.clone(), replace]),
        json!({"all": 3, "_atf_state_keys": {"users": true, "products": true}})
    );
    // users bumped, products removed: still verbatim (warned), the stale
    // record removed.
    let bumped = [b(None, "users", "users.v1")];
    let r = resume(&reduced, &bumped, false);
    assert_eq!(r.connector_state, Some(blob.clone()));
    assert_eq!(
        r.first_checkpoint,
        Some(json!({"_atf_state_keys": {"users": null, "products": null}}))
    );
    // Per stream (forced): the bumped stream is left out.
    let r = resume(&reduced, &bumped, true);
    assert_eq!(r.connector_state, None);
    assert_eq!(r.fresh, [0]);
    let r = resume(&reduced, &bindings, true);
    assert_eq!(
        r.connector_state,
        Some(json!([
            stream_state("users", json!({"cursor": 1})),
            stream_state("products", json!({"cursor": 2}))
        ]))
    );
    // A LEGACY state of before (no record) is verbatim.
    assert_eq!(
        resume(&blob, &bumped, false).connector_state,
        Some(blob.clone())
    );
}

#[test]
fn empty_state_means_no_state_file() {
    let bindings = [b(None, "a", "a")];
    for empty in [
        json!(null),
        json!({}),
        json!({"_atf_state_format": "STREAM"}),
        json!({"bindingStateV1": {}}),
    ] {
        for force in [false, true] {
            let r = resume(&empty, &bindings, force);
            assert_eq!(r.connector_state, None, "{empty}");
            assert_eq!(r.fresh, [0], "{empty}");
        }
    }
    // A list (already the per-stream form) is passed through.
    let list = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"}}}]);
    assert_eq!(
        resume(&list, &bindings, false).connector_state,
        Some(list.clone())
    );
}

#[test]
fn malformed_states_are_errors() {
    let k: &[StateBinding] = &[b(None, "a", "a")];
    assert_eq!(
        checkpoint(&json!("x"), k).unwrap_err().to_string(),
        "connector STATE message: \"state\" is \"x\", not an object: the connector does not follow the Airbyte protocol"
    );
    assert_eq!(
        checkpoint(&json!({"type": "STREAM", "stream": {"stream_state": {}}}), k).unwrap_err().to_string(),
        "connector STATE message of type \"STREAM\" lacks \"/stream/stream_descriptor/name\" (got {\"type\":\"STREAM\",\"stream\":{\"stream_state\":{}}}): the connector does not follow the Airbyte protocol"
    );
    assert!(matches!(
        checkpoint(&json!({"type": "GLOBAL"}), k),
        Err(StateError::Missing {
            pointer: "/global",
            ..
        })
    ));
    assert!(matches!(
        checkpoint(&json!({}), k),
        Err(StateError::Missing {
            pointer: "/data",
            ..
        })
    ));
    assert_eq!(
        checkpoint(&json!({"type": "PER_SHARD"}), k)
            .unwrap_err()
            .to_string(),
        "connector STATE message has unknown type \"PER_SHARD\": expected LEGACY, STREAM or GLOBAL"
    );
}
