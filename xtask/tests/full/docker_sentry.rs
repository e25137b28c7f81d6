//! The image of a manifest-only connector, source-sentry, against the mock
//! of Sentry's API, on a private Docker engine (`testkit::docker`, skipped
//! where none can start):
//!
//! - its base is a stand-in of `airbyte/source-sentry:0.8.14` made the way
//!   Airbyte makes it (`testkit::standin::SENTRY`): the
//!   `source-declarative-manifest` image's `main.py` over the pinned cdk
//!   (`cdk/airbyte-cdk-7.23.4.lock.txt`), and the connector's pinned
//!   `manifest.yaml` at `source_declarative_manifest/`, as provisioned;
//! - `cargo xtask build source-sentry` builds the image `FROM` it, with
//!   upstream's entrypoint `python /airbyte/integration_code/main.py`;
//!   `docker inspect` shows Flow's labels and the binary as entrypoint;
//! - the container driven as Flow drives it (`docker run -i --rm`, requests
//!   on stdin) on the host's network, reaching the mock's HTTPS proxy: spec
//!   with no Python able to start, discover, validate, a capture of two
//!   streams of two pages each with checkpoints, and a resume whose cursor
//!   the mock sees as the API's filter.
//!
//! The API's behaviour in detail (429s, the 500 that outlasts the retries)
//! is `e2e_sentry.rs`'s; this test is about the image.

use crate::docker::*;
use crate::e2e;
use mockapi::MockApi;
use serde_json::{json, Value};
use testkit::docker::Engine;

const TEST: &str = "docker_sentry";
const IMAGE: &str = "ghcr.io/estuary/source-sentry:local";
const TOKEN: &str = "mock-sentry-auth-token-sntryu_6f1c0a9e4b7d2f8a3c5e1b9d7f0a2c4e";

fn config() -> Value {
    json!({"auth_token": TOKEN, "hostname": "sentry.io", "organization": "acme", "project": "backend"})
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn sentry_manifest_only_image_against_the_mock_api() {
    if !e2e::upstream_files_at_hand(TEST, "source-sentry") {
        return;
    }
    let Some(engine) = Engine::start(TEST) else {
        return;
    };
    let base = testkit::standin::import(&engine, &testkit::standin::SENTRY);
    let tmp = tempfile::tempdir().unwrap();
    build_image(&engine, "source-sentry", &tmp.path().join("out"), IMAGE);
    let dockerfile = std::fs::read_to_string(tmp.path().join("out/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("FROM airbyte/source-sentry:0.8.14"),
        "{dockerfile}"
    );
    let inspect: Value = serde_json::from_str(&engine.ok(&["image", "inspect", IMAGE])).unwrap();
    let config_of = &inspect[0]["Config"];
    assert_eq!(config_of["Labels"]["FLOW_RUNTIME_PROTOCOL"], "capture");
    assert_eq!(
        config_of["Entrypoint"],
        json!(["/flow-connector/source-sentry"])
    );
    eprintln!(
        "docker: image {IMAGE}: {} bytes over its base {}",
        engine.image_size(IMAGE) - base.size,
        base.image
    );

    // spec: baked; nothing upstream can start without python on PATH.
    let run = docker_run(
        &engine,
        &["-e", "PATH=/nonexistent"],
        IMAGE,
        &[],
        &[json!({"spec": {"connectorType": "IMAGE", "config": {}}})],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.of("spec")[0]["configSchema"]["properties"]["auth_token"]["secret"],
        true
    );

    // The manifest run by the image's cdk, against the mock on the host.
    let mock_dir = testkit::workspace_root().join("connectors/source-sentry/tests/mock");
    let mock = MockApi::start(&mock_dir).unwrap();
    let opts = mock_options(&mock);
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let run = docker_run_on(
        &engine,
        "host",
        &opts,
        IMAGE,
        &[],
        &[json!({"discover": {"connectorType": "IMAGE", "config": config()}})],
    );
    assert_eq!(run.code, Some(0), "discover failed:\n{}", run.stderr);
    let discovered = run.of("discovered")[0]["bindings"]
        .as_array()
        .unwrap()
        .clone();
    let streams = ["events", "issues"];
    let selected: Vec<Value> = streams
        .iter()
        .map(|s| e2e::binding(&discovered, s).clone())
        .collect();
    let validate = json!({"validate": {"name": "acmeCo/sentry", "connectorType": "IMAGE", "config": config(),
        "bindings": selected.iter().map(|b| json!({"resourceConfig": b["resourceConfig"], "resourcePath": b["resourcePath"],
            "collection": {"name": "acmeCo/x", "key": b["key"]}})).collect::<Vec<_>>()}});
    let run = docker_run_on(&engine, "host", &opts, IMAGE, &[], &[validate]);
    assert_eq!(run.code, Some(0), "validate failed:\n{}", run.stderr);
    assert!(
        !mock.requests_to("project_detail").is_empty(),
        "validate checked the connection through the mock"
    );

    // capture: two streams, two pages each, checkpoints.
    mock.clear_requests();
    let open =
        |state: &Value| e2e::open_request("source-sentry", &config(), &selected, Some(state));
    let first = docker_run_on(&engine, "host", &opts, IMAGE, &[], &[open(&json!({}))]);
    assert_eq!(first.code, Some(0), "capture failed:\n{}", first.stderr);
    let docs = testkit::build::documents(&first.messages, 2);
    assert_eq!((docs[0].len(), docs[1].len()), (7, 6));
    for s in streams {
        assert_eq!(e2e::pages(&mock, s), 2, "{s}");
    }
    let bad = e2e::violations(&selected, &docs);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let checkpoints = first.of("checkpoint");
    assert!(!checkpoints.is_empty());

    // resume from the reduced state: the events filter carries the cursor.
    let mut state = json!({});
    testkit::reduce(&mut state, &checkpoints);
    mock.clear_requests();
    mock.activate("new_records").unwrap();
    let second = docker_run_on(&engine, "host", &opts, IMAGE, &[], &[open(&state)]);
    mock.deactivate("new_records");
    assert_eq!(second.code, Some(0), "resume failed:\n{}", second.stderr);
    let start = mock.requests_to("events")[0]
        .param("start")
        .map(str::to_string);
    assert!(
        start.as_deref().is_some_and(|s| !s.starts_with("1900")),
        "the resumed events read sends the state's cursor: {start:?}"
    );
    let docs2 = testkit::build::documents(&second.messages, 2);
    assert_eq!(docs2[0].len(), 3, "the boundary event and two new ones");
}
