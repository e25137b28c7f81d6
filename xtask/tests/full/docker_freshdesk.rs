//! The source-freshdesk image against the mock of Freshdesk's API, on a
//! private Docker engine (`testkit::docker`, skipped where none can start):
//!
//! - its base is a stand-in of `airbyte/source-freshdesk:3.1.3`
//!   (`testkit::standin::FRESHDESK`): bookworm with the Python 3.10 its
//!   pinned airbyte-cdk needs and the pinned lock installed;
//! - `cargo xtask build source-freshdesk` builds the image; `docker inspect`
//!   shows Flow's labels and the binary as entrypoint; the size over the
//!   base is reported;
//! - the container driven as Flow drives it (`docker run -i --rm`, requests
//!   on stdin) on the host's network, so the upstream connector inside
//!   reaches the mock's HTTPS proxy on 127.0.0.1 (the mock's folder, with
//!   its CA and `sitecustomize.py`, is mounted at the same path): spec with
//!   no Python able to start, discover, validate, a capture of two streams
//!   of two pages with a 429 survived and checkpoints, and a resume from the
//!   reduced state that the mock sees as the API's filters.
//!
//! The API's behaviour in detail (and the 500 that outlasts the retries) is
//! `e2e_freshdesk.rs`'s; this test is about the image.

use std::time::Instant;

use crate::docker::*;
use crate::e2e;
use mockapi::MockApi;
use serde_json::{json, Value};
use testkit::docker::Engine;

const TEST: &str = "docker_freshdesk";
const IMAGE: &str = "ghcr.io/estuary/source-freshdesk:local";
const KEY: &str = "mock-freshdesk-api-key-4f8a1c9e2b7d6f3a0e5c8b1d9a7f2e6c";

fn config() -> Value {
    json!({"api_key": KEY, "domain": "acme.freshdesk.com", "start_date": "2025-01-01T00:00:00Z"})
}

fn open_request(bindings: &[Value], state: &Value) -> Value {
    e2e::open_request("source-freshdesk", &config(), bindings, Some(state))
}

/// The documents of each of `n` bindings, in order.
fn documents(run: &Run, n: usize) -> Vec<Vec<Value>> {
    testkit::build::documents(&run.messages, n)
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn freshdesk_image_against_the_mock_api() {
    let Some(engine) = Engine::start(TEST) else {
        return;
    };
    let started = Instant::now();
    let base = testkit::standin::import(&engine, &testkit::standin::FRESHDESK);
    eprintln!("docker: stand-in {}: {:.1?}", base.image, started.elapsed());
    let tmp = tempfile::tempdir().unwrap();

    build_image(&engine, "source-freshdesk", &tmp.path().join("out"), IMAGE);
    let inspect: Value = serde_json::from_str(&engine.ok(&["image", "inspect", IMAGE])).unwrap();
    let config_of = &inspect[0]["Config"];
    let labels = &config_of["Labels"];
    assert_eq!(labels["FLOW_RUNTIME_PROTOCOL"], "capture", "{labels}");
    assert_eq!(labels["CONNECTOR_PROTOCOL"], "flow-capture", "{labels}");
    assert_eq!(
        config_of["Entrypoint"],
        json!(["/flow-connector/source-freshdesk"])
    );
    let binary_len = std::fs::metadata(tmp.path().join("out/source-freshdesk"))
        .unwrap()
        .len();
    let size = engine.image_size(IMAGE);
    let over = size - base.size;
    eprintln!(
        "docker: image {IMAGE}: {size} bytes, {over} over its base {} ({} bytes); the binary is {binary_len} bytes",
        base.image, base.size
    );
    assert!(
        over >= binary_len && over < binary_len + 1_000_000,
        "the image adds the binary and little else: {over} bytes over the base, binary {binary_len}"
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
    let spec = run.of("spec");
    assert_eq!(
        spec[0]["configSchema"]["properties"]["api_key"]["secret"],
        true
    );
    eprintln!("docker: container spec: {:.2?}", run.elapsed);

    // The upstream connector in the container, against the mock on the host.
    let mock_dir = testkit::workspace_root().join("connectors/source-freshdesk/tests/mock");
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
    eprintln!("docker: container discover: {:.2?}", run.elapsed);
    let discovered = run.of("discovered")[0]["bindings"]
        .as_array()
        .unwrap()
        .clone();
    let selected: Vec<Value> = ["contacts", "tickets"]
        .iter()
        .map(|s| e2e::binding(&discovered, s).clone())
        .collect();
    for (b, stream) in selected.iter().zip(["contacts", "tickets"]) {
        assert_eq!(b["resourcePath"], json!([stream]), "{b}");
    }
    let validate = json!({"validate": {"name": "acmeCo/freshdesk", "connectorType": "IMAGE", "config": config(),
        "bindings": selected.iter().map(|b| json!({"resourceConfig": b["resourceConfig"], "resourcePath": b["resourcePath"],
            "collection": {"name": "acmeCo/x", "key": b["key"]}})).collect::<Vec<_>>()}});
    let run = docker_run_on(&engine, "host", &opts, IMAGE, &[], &[validate]);
    assert_eq!(run.code, Some(0), "validate failed:\n{}", run.stderr);
    assert!(
        !mock.requests_to("agents").is_empty(),
        "validate checked the connection through the mock"
    );

    // capture: two streams, two pages each, a 429 survived, checkpoints.
    mock.clear_requests();
    mock.activate("rate_limited").unwrap();
    let first = docker_run_on(
        &engine,
        "host",
        &opts,
        IMAGE,
        &[],
        &[open_request(&selected, &json!({}))],
    );
    mock.deactivate("rate_limited");
    assert_eq!(first.code, Some(0), "capture failed:\n{}", first.stderr);
    eprintln!("docker: container capture: {:.2?}", first.elapsed);
    assert_eq!(first.messages[0], json!({"opened": {}}));
    let docs = documents(&first, 2);
    assert_eq!((docs[0].len(), docs[1].len()), (105, 105));
    assert_eq!(mock.requests_to("contacts")[0].status, 429);
    assert_eq!(e2e::pages(&mock, "tickets"), 2);
    let bad = e2e::violations(&selected, &docs);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let checkpoints = first.of("checkpoint");
    assert!(!checkpoints.is_empty());
    assert!(first.messages.last().unwrap().get("checkpoint").is_some());

    // resume from the reduced state: the API's filters carry the cursors.
    let mut state = json!({});
    reduce(&mut state, &checkpoints);
    mock.clear_requests();
    mock.activate("new_records").unwrap();
    let second = docker_run_on(
        &engine,
        "host",
        &opts,
        IMAGE,
        &[],
        &[open_request(&selected, &state)],
    );
    mock.deactivate("new_records");
    assert_eq!(second.code, Some(0), "resume failed:\n{}", second.stderr);
    let max = |d: &[Value]| {
        testkit::build::max_of(d, "updated_at")
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        mock.requests_to("tickets")[0].param("updated_since"),
        Some(max(&docs[1]).as_str())
    );
    let docs2 = documents(&second, 2);
    let ids = |d: &[Value]| testkit::build::ids(d, "id");
    assert_eq!(ids(&docs2[0]), [1104, 1105, 1106]);
    assert_eq!(ids(&docs2[1]), [5103, 5104, 5105, 5106, 5107]);
    eprintln!("docker: container resume: {:.2?}", second.elapsed);
}
