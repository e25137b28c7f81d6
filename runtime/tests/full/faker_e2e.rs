//! End to end with the real `airbyte-source-faker` (pinned, installed under
//! `.venvs/` by `cargo xtask setup`), driven through the generic binary.

use crate::common::*;
use serde_json::{json, Value};

/// spec, discover, validate and open as Flow sends them, for `faker` wrapped
/// in a script that keeps a copy of the state file it is given.
struct Faker {
    dir: tempfile::TempDir,
    entrypoint: std::path::PathBuf,
}

impl Faker {
    fn new(version: &str) -> Faker {
        let exe = testkit::faker(version);
        let dir = tempfile::tempdir().unwrap();
        let entrypoint = script(
            dir.path(),
            "faker",
            &format!(
                r#"if [ "$1" = read ] && [ "$6" = --state ]; then cp "$7" '{}/state-seen.json'; fi
exec '{}' "$@""#,
                dir.path().display(),
                exe.display()
            ),
        );
        Faker { dir, entrypoint }
    }

    fn state_seen(&self) -> Option<Value> {
        std::fs::read(self.dir.path().join("state-seen.json"))
            .ok()
            .map(|b| serde_json::from_slice(&b).unwrap())
    }

    fn discover(&self, config: &Value) -> Vec<Value> {
        let run = run_with(
            &self.entrypoint,
            &format!(
                "{}\n",
                json!({"discover": {"connectorType": "IMAGE", "config": config}})
            ),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.of("discovered")[0]["bindings"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn open(&self, config: &Value, discovered: &[Value], state: Option<&Value>) -> Run {
        let bindings: Vec<Value> = discovered
            .iter()
            .map(|b| {
                json!({
                    "resourceConfig": b["resourceConfig"],
                    "resourcePath": [b["resourceConfig"]["stream"]],
                    "collection": {"name": format!("acmeCo/{}", b["recommendedName"].as_str().unwrap()),
                                   "writeSchema": b["documentSchema"], "key": b["key"]},
                })
            })
            .collect();
        let mut open = json!({"open": {"capture": {"name": "acmeCo/faker", "config": config, "bindings": bindings}}});
        if let Some(s) = state {
            open["open"]["state"] = s.clone();
        }
        let run = run_with(&self.entrypoint, &format!("{open}\n"));
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    }
}

fn binding_of(c: &Value) -> usize {
    c.get("binding").and_then(Value::as_u64).unwrap_or(0) as usize
}

#[test]
#[ignore = "full tier (the pinned faker installed by `cargo xtask setup`): `cargo xtask test`, or `cargo test -p runtime --test full -- --ignored`"]
fn faker_latest_spec_discover_validate_capture() {
    let faker = Faker::new(testkit::FAKER_LATEST);
    let config = json!({"count": 1000, "seed": 7, "records_per_slice": 100, "parallelism": 1});

    let run = run_with(
        &faker.entrypoint,
        "{\"spec\":{\"connectorType\":\"IMAGE\",\"config\":{}}}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.of("spec")[0]["protocol"], 3032023);
    assert!(run.of("spec")[0]["configSchema"]["properties"]["count"].is_object());

    let discovered = faker.discover(&config);
    let names: Vec<&str> = discovered
        .iter()
        .map(|b| b["resourceConfig"]["stream"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["products", "purchases", "users"]);

    let validate = json!({"validate": {"config": config, "bindings": discovered.iter().map(|b| json!({"resourceConfig": b["resourceConfig"]})).collect::<Vec<_>>()}});
    let run = run_with(&faker.entrypoint, &format!("{validate}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.of("validated")[0]["bindings"].as_array().unwrap().len(),
        3
    );

    let run = faker.open(&config, &discovered, None);
    assert_eq!(run.responses[0], json!({"opened": {}}));
    let captured = run.of("captured");
    let mut per_binding = [0usize; 3];
    for c in &captured {
        let b = binding_of(c);
        per_binding[b] += 1;
        let doc = &c["doc"];
        match names[b] {
            "products" => assert!(
                doc.get("make").is_some() && doc.get("model").is_some(),
                "{doc}"
            ),
            "users" => assert!(doc.get("email").is_some(), "{doc}"),
            "purchases" => {
                assert!(doc.get("product_id").is_some(), "{doc}");
                let created = doc["created_at"].as_str().unwrap();
                assert!(
                    created.ends_with('Z') && created.len() > 20,
                    "normalized: {created}"
                );
            }
            other => panic!("unexpected stream {other}"),
        }
    }
    let count = |n: &str| per_binding[names.iter().position(|x| *x == n).unwrap()];
    assert_eq!(
        (count("products"), count("users"), count("purchases")),
        (100, 1000, 1000)
    );
    let checkpoints = run.of("checkpoint");
    assert!(checkpoints.len() >= 3, "{}", checkpoints.len());
    assert!(run.responses.last().unwrap().get("checkpoint").is_some());
}

#[test]
#[ignore = "full tier (the pinned faker installed by `cargo xtask setup`): `cargo xtask test`, or `cargo test -p runtime --test full -- --ignored`"]
fn faker_stateful_resume_resends_nothing() {
    let faker = Faker::new(testkit::FAKER_STATEFUL);
    let config = json!({"count": 1000, "seed": 7, "records_per_slice": 100, "parallelism": 1, "always_updated": false});
    let discovered = faker.discover(&config);
    assert_eq!(discovered.len(), 3);

    let first = faker.open(&config, &discovered, None);
    assert_eq!(first.of("captured").len(), 2100);
    assert!(faker.state_seen().is_none());

    // Reduce the checkpoints as Flow does, and open again with that state.
    let mut state = json!({});
    reduce(&mut state, &first.of("checkpoint"));
    let second = faker.open(&config, &discovered, Some(&state));
    assert_eq!(
        second.of("captured").len(),
        0,
        "the resumed capture re-sent records"
    );

    // The connector got the per-stream list of each stream's last state.
    let mut last: std::collections::BTreeMap<String, Value> = Default::default();
    let seen = faker.state_seen().expect("a state file on resume");
    let list = seen.as_array().expect("a per-stream list");
    assert_eq!(list.len(), 3);
    for s in list {
        assert_eq!(s["type"], "STREAM");
        let name = s["stream"]["stream_descriptor"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        last.insert(name, s["stream"]["stream_state"].clone());
    }
    for (name, st) in &last {
        assert!(st.get("updated_at").is_some(), "{name}: {st}");
    }
    // And it is what Flow persisted, nothing more: the states of the
    // reduction, one per binding under its `stateKey` (the stream's name).
    for (name, st) in &last {
        assert_eq!(&state["bindingStateV1"][name], st, "{name}");
    }
    assert!(!second.of("checkpoint").is_empty());
}
