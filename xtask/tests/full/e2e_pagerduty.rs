//! `source-pagerduty` end to end: its binary built by `cargo xtask build`,
//! the real upstream connector (manifest-only airbyte/source-pagerduty
//! 0.3.0: its pinned `manifest.yaml` run by airbyte-cdk 7.23.4's
//! `source-declarative-manifest`, as provisioned; its metadata's cdk 4.5.4
//! ships no such script), and the mock of PagerDuty's REST API v2 in
//! `connectors/source-pagerduty/tests/mock/` reached through the mock's
//! HTTPS proxy (the host `api.pagerduty.com` is fixed).
//!
//! PagerDuty habits the mock meets, from upstream's `manifest.yaml`:
//! - `definitions.base_requester`: `url_base` `https://api.pagerduty.com`,
//!   an `ApiKeyAuthenticator` sending `Authorization: Token token=<token>`
//!   (`api_token`, `inject_into.field_name`); no `error_handler`, so the
//!   cdk's defaults: 429 is rate limited and 5xx retried with exponential
//!   waits (1, 2, 4, 8, 16 s: `http_client_default_backoff_handler` in
//!   airbyte_cdk/sources/streams/http/rate_limiting.py; `Retry-After` is not
//!   read), five retries, then the stream fails; a 401 fails.
//! - No stream has a `paginator` or an `incremental_sync`: one request per
//!   stream (or per parent record), every read in full. The spec's
//!   `page_size`, `cutoff_days`, `max_retries`, `exclude_services`, ... are
//!   not used by any request of the manifest.
//! - `streams.incidents`: `GET /incidents`, records under `incidents`
//!   (`DpathExtractor`).
//! - `streams.incident_logs`: a `SubstreamPartitionRouter` over incidents
//!   (`parent_key: id`), `GET /incidents/{incident_id}/log_entries`, records
//!   under `log_entries`; the cdk reads the parent through its request cache,
//!   so `/incidents` is called once for both streams. The mock has a route
//!   per incident; the failure scenario fails the route named
//!   `incident_logs` (incident Q2AB8YNC0P4D's), so which incident fails does
//!   not depend on the order the cdk's workers read them in.
//! - `check`: `CheckStream` of all six streams (incidents, incident_logs,
//!   teams, services, users, priorities): the mock serves all of them.
//!
//! Patches this needed: `streams/incidents.patch.json` (PagerDuty gives
//! `teams` as reference objects and `pending_actions` as objects, the
//! upstream schema says strings), `streams/incident_logs.patch.json`
//! (`teams` and `contexts` are objects, likewise).
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::checkpoints_after_last_document;
use crate::e2e::scenario::*;
use mockapi::MockApi;
use serde_json::{json, Value};

const TOKEN: &str = "mock-pagerduty-api-key-u+7Qx2bK9dLr4ZsW1vNe";

fn config_with(token: &str) -> Value {
    json!({"token": token})
}

/// A full-refresh stream of this case: keyed by `/id`, no filter.
fn full(name: &'static str, resumed: Resumed) -> Stream {
    Stream {
        filter: Filter::Unfiltered,
        ..Stream::new(name, "created_at", "", resumed)
    }
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn pagerduty_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-pagerduty",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            // Read in full again: the three incidents and the new one.
            full(
                "incidents",
                Resumed::Ids(
                    "id",
                    json!([
                        "Q1XWZ7RKLM3H",
                        "Q2AB8YNC0P4D",
                        "Q3JD5TQE9VFU",
                        "Q0MK2WS8HGTY"
                    ]),
                ),
            ),
            // Every incident's log entries, the new incident's too.
            full(
                "incident_logs",
                Resumed::SortedIds(json!([
                    "R0MK2NOTI",
                    "R0MK2TRIG",
                    "R1XWZACKN",
                    "R1XWZNOTI",
                    "R1XWZRESO",
                    "R1XWZTRIG",
                    "R2AB8ACKN",
                    "R2AB8NOTI",
                    "R2AB8TRIG",
                    "R3JD5NOTI",
                    "R3JD5TRIG"
                ])),
            ),
        ],
        discovered_cursor: false,
        discover_calls_api: false,
        refused: Some(Refused {
            credential: "mock-pagerduty-wrong-key-00000000000",
            message: &[
                "Stream incidents is not available",
                "HTTP Status Code: 401",
                "Authentication failed",
            ],
            call: (Some("incidents"), 401),
            first: false,
        }),
        rate_limited: RateLimited {
            route: "incidents",
            status: 429,
            counts: &[3, 9],
            pages: &[
                ("incidents", 1),
                ("incident_logs_q1", 1),
                ("incident_logs", 1),
                ("incident_logs_q3", 1),
            ],
        },
        carried: Value::clone,
        state: StateShape::FullRefresh {
            state: || json!({"__ab_no_cursor_state_message": true}),
        },
        resumed_state: ResumedState::Hooked,
        // incident Q2AB8YNC0P4D's log entries answer 500 until the retries
        // run out (31 s of backoff: beside the other steps); the other
        // incidents' entries come.
        failure: Some(Failure {
            scenario: "incident_logs_down",
            stream: "incident_logs",
            beside: true,
            counts: &[3, 6],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: incident_logs",
                "Exhausted available request attempts",
                "HTTP Status Code: 500",
            ]),
            // incidents, read beside, may finish after the last good log
            // entry: the hook says which checkpoints may follow.
            no_checkpoint_after: false,
            // The cdk checkpoints a full-refresh stream's marker even when
            // it fails: it claims no position (FullRefresh ignores the value).
            state: Some(FailedState::Start(Value::Null)),
        }),
        hooks: &PagerDuty,
    });
}

struct PagerDuty;

impl Hooks for PagerDuty {
    fn spec(&self, spec: &Value) {
        let token = &spec["configSchema"]["properties"]["token"];
        assert_eq!(token["secret"], true, "{token}");
    }

    /// The patches: teams, pending_actions and contexts are objects.
    fn discovered(&self, s: &Scene) {
        for (i, field) in [
            (0, "teams"),
            (0, "pending_actions"),
            (1, "teams"),
            (1, "contexts"),
        ] {
            let items = &s.selected[i]["documentSchema"]["properties"][field]["items"];
            assert_eq!(items["type"], json!(["null", "object"]), "{field}: {items}");
        }
    }

    /// The check reads every stream with the token header.
    fn validated(&self, s: &Scene) {
        let calls = s.t.mock.requests();
        for route in ["incidents", "teams", "services", "users", "priorities"] {
            let call = calls
                .iter()
                .find(|c| c.route.as_deref() == Some(route))
                .unwrap_or_else(|| panic!("the check did not read {route}: {calls:?}"));
            assert_eq!(call.status, 200);
            assert_eq!(
                call.header("authorization"),
                Some(format!("Token token={TOKEN}").as_str())
            );
        }
    }

    /// Each log entry belongs to the incident whose path it was read from.
    fn captured(&self, _s: &Scene, first: &Capture) {
        let incidents: Vec<&Value> = first.docs[0].iter().map(|d| &d["id"]).collect();
        for entry in &first.docs[1] {
            assert!(incidents.contains(&&entry["incident"]["id"]), "{entry}");
            assert!(
                entry["teams"][0]["id"].is_string(),
                "the patched teams came through"
            );
        }
    }

    /// Nothing is filtered: the resumed read asks what the first asked.
    fn resumed(&self, s: &Scene, first: &Capture, second: &Capture) {
        let incidents = s.t.mock.requests_to("incidents");
        assert!(incidents[0].query.is_empty(), "{:?}", incidents[0]);
        assert_eq!(second.state, first.state, "a full refresh keeps no cursor");
    }

    /// After the last good log entry, incidents' state may be checkpointed
    /// and incident_logs' only as the no-cursor marker: no position.
    fn failed(&self, _mock: &MockApi, _first: &Capture, failed: &Capture) {
        for cp in checkpoints_after_last_document(&failed.run, 1) {
            let logs = &cp["state"]["updated"]["bindingStateV1"]["incident_logs"];
            assert!(
                logs.is_null() || *logs == json!({"__ab_no_cursor_state_message": true}),
                "{cp}"
            );
        }
    }
}
