//! `source-freshdesk` end to end: its binary built by `cargo xtask build`,
//! the real upstream connector (airbyte-source-freshdesk from PyPI, as
//! provisioned), and the mock of Freshdesk's API in
//! `connectors/source-freshdesk/tests/mock/` reached through the mock's HTTPS
//! proxy (the domain must match `*.freshdesk.com`).
//!
//! Freshdesk habits the mock meets (source_freshdesk/manifest.yaml): pages of
//! 100; contacts paged by the `Link` header and filtered by `_updated_since`,
//! tickets paged by `page=N` after a full page and filtered by
//! `updated_since` (both inclusive); 401 is a FAIL with the connector's own
//! message; 429 and 500 wait `Retry-After` (WaitTimeFromHeader), five retries.
//!
//! One test function: the requests share one build and run in order.

use crate::e2e::*;
use serde_json::{json, Value};
use std::time::Instant;

const KEY: &str = "mock-freshdesk-api-key-4f8a1c9e2b7d6f3a0e5c8b1d9a7f2e6c";

fn config_with(key: &str) -> Value {
    json!({"api_key": key, "domain": "acme.freshdesk.com", "start_date": "2025-01-01T00:00:00Z"})
}

fn max_updated(docs: &[Value]) -> &str {
    docs.iter()
        .filter_map(|d| d["updated_at"].as_str())
        .max()
        .unwrap()
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn freshdesk_spec_discover_validate_capture_resume_and_failures() {
    let started = Instant::now();
    let t = E2e::new("source-freshdesk");

    // spec: baked, the connector is not started.
    let spec = t.spec();
    let props = &spec["configSchema"]["properties"];
    assert_eq!(props["api_key"]["secret"], true, "{props}");
    assert!(props["domain"].is_object(), "{props}");

    // discover: recommended names, keys, resource paths [stream].
    let config = config_with(KEY);
    let discovered = t.discover(&config);
    let mut selected = Vec::new();
    for stream in ["contacts", "tickets"] {
        let b = binding(&discovered, stream);
        assert_eq!(b["recommendedName"], stream, "{b}");
        assert_eq!(b["key"], json!(["/id"]), "{b}");
        assert_eq!(b["resourcePath"], json!([stream]), "{b}");
        selected.push(b.clone());
    }

    // validate: a good key, then a bad one (the connector's own message).
    let ok = t.validate(&config, &selected);
    assert!(ok.ok, "validate failed:\n{}", ok.stderr);
    let paths: Vec<&Value> = ok.of("validated")[0]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["resourcePath"])
        .collect();
    assert_eq!(paths, [&json!(["contacts"]), &json!(["tickets"])]);
    let bad = t.validate(
        &config_with("mock-freshdesk-wrong-key-0000000000000000000000000000"),
        &selected,
    );
    assert!(!bad.ok, "a bad key validated");
    assert!(
        bad.stderr.contains("Unable to connect to stream agents")
            && bad.stderr.contains("failed with status code 401"),
        "not the connector's message:\n{}",
        bad.stderr
    );
    assert_eq!(t.mock.requests().last().unwrap().status, 401);

    // capture: two streams, two pages each, a 429 survived.
    t.mock.clear_requests();
    t.mock.activate("rate_limited").unwrap();
    let first = t.open(&config, &selected, None);
    assert!(first.ok, "capture failed:\n{}", first.stderr);
    t.mock.deactivate("rate_limited");
    let docs = documents(&first, 2);
    assert_eq!((docs[0].len(), docs[1].len()), (105, 105));
    let contacts = t.mock.requests_to("contacts");
    assert_eq!(
        contacts[0].status, 429,
        "the first contacts call is limited"
    );
    assert_eq!(pages(&t.mock, "contacts"), 2);
    assert_eq!(pages(&t.mock, "tickets"), 2);
    let tickets = t.mock.requests_to("tickets");
    assert_eq!(tickets[1].param("page"), Some("2"));
    assert_eq!(tickets[0].param("order_by"), Some("updated_at"));
    let bad_docs = violations(&selected, &docs);
    assert!(bad_docs.is_empty(), "{}", bad_docs.join("\n"));

    // checkpoints reduce to per-stream state holding each stream's cursor.
    let state = reduce(&json!({}), &first);
    let state_text = state.to_string();
    let (c_max, t_max) = (max_updated(&docs[0]), max_updated(&docs[1]));
    assert!(
        state_text.contains(c_max) && state_text.contains(t_max),
        "{state}"
    );

    // resume: the mock sees the state's filters; only boundary and new
    // records come out.
    t.mock.clear_requests();
    t.mock.activate("new_records").unwrap();
    let second = t.open(&config, &selected, Some(&state));
    assert!(second.ok, "resumed capture failed:\n{}", second.stderr);
    t.mock.deactivate("new_records");
    assert_eq!(
        t.mock.requests_to("contacts")[0].param("_updated_since"),
        Some(c_max)
    );
    assert_eq!(
        t.mock.requests_to("tickets")[0].param("updated_since"),
        Some(t_max)
    );
    let docs2 = documents(&second, 2);
    let ids = |d: &[Value]| {
        d.iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    // contacts: the boundary record (1104) and two new ones;
    // tickets: two at the boundary instant (5103, 5104) and three new ones.
    assert_eq!(ids(&docs2[0]), [1104, 1105, 1106]);
    assert_eq!(ids(&docs2[1]), [5103, 5104, 5105, 5106, 5107]);
    let state2 = reduce(&state, &second);
    assert!(
        state2.to_string().contains("2025-07-01T12:00:02Z"),
        "{state2}"
    );

    // dies mid-read: tickets answers 500 after its first page until the
    // retries run out; the capture fails with the connector's reason, and no
    // checkpoint comes after the last good record.
    t.mock.clear_requests();
    t.mock.activate("tickets_down").unwrap();
    let failed = t.open(&config, &selected, None);
    t.mock.deactivate("tickets_down");
    assert!(!failed.ok, "the capture succeeded against a failing API");
    let docs3 = documents(&failed, 2);
    assert_eq!((docs3[0].len(), docs3[1].len()), (105, 100));
    assert!(
        checkpoints_after_last_document(&failed, 1).is_empty(),
        "a checkpoint after the last good ticket"
    );
    assert!(
        !reduce(&json!({}), &failed).to_string().contains("tickets"),
        "tickets has no state after a failed read"
    );
    let server_errors = answers(&t.mock, "tickets", 500);
    assert!(server_errors >= 2, "{server_errors} 500 answers");
    assert!(
        failed.stderr.contains("500") || failed.stderr.contains("Internal Server Error"),
        "not the connector's reason:\n{}",
        failed.stderr
    );
    eprintln!(
        "source-freshdesk end to end: {:.1} s, {} tickets 500s",
        started.elapsed().as_secs_f64(),
        server_errors
    );
}
