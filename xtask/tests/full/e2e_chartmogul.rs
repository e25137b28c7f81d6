//! `source-chartmogul` end to end: its binary built by `cargo xtask build`,
//! the real upstream connector (the manifest-only airbyte/source-chartmogul
//! 1.1.17, its `manifest.yaml` pinned by sha256 and run by airbyte-cdk
//! 7.23.4: the metadata's 6.45.7 has no lock here, `new-connector` says so),
//! and the mock of ChartMogul's API in
//! `connectors/source-chartmogul/tests/mock/` reached through the mock's
//! HTTPS proxy (the host `api.chartmogul.com` is fixed).
//!
//! ChartMogul habits the mock meets, from the upstream manifest
//! (`../shared/manifests/source-chartmogul/manifest.yaml`):
//! - Every stream's `requester`: `url_base: https://api.chartmogul.com`,
//!   `BasicHttpAuthenticator` with `config.api_key` as both username and
//!   password; no `error_handler`, so the cdk's `DefaultErrorHandler`
//!   decides: 401 fails, 429 and 5xx are retried five times with the HTTP
//!   client's exponential backoff (1, 2, 4, 8, 16 s; `Retry-After` is not
//!   read), then the stream fails.
//! - No stream is incremental: every read reads everything again.
//! - `customers` (`GET /v1/customers`): records under `entries`;
//!   `PageIncrement` from `start_from_page: 1` with `page_size: 200`, sent as
//!   `page` (from the second page on) and `per_page`; a page of fewer than
//!   200 records is the last.
//! - `activities` (`GET /v1/activities`): `start-date` is
//!   `config.start_date` (`request_parameters`), records under `entries`;
//!   `CursorPagination`: the last record's `uuid` sent as `start-after`,
//!   `per_page=200`, until `has_more` is false (`stop_condition`).
//! - `check` is `CheckStream` of `customers`.
//!
//! Patches this needed: `spec.patch.json` (the `api_key` description is an
//! HTML link, which the dashboard's form shows as literal text: the form
//! check's `html-description` warning). The document checker found no
//! violation on the mock's records (built after ChartMogul's API
//! reference). `selected_streams.json` offers `customers`, `activities`
//! and `customer_monthly_count` enabled.
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use crate::e2e::{binding_states, checkpoints_after_last_document, pages};
use mockapi::MockApi;
use serde_json::{json, Value};

const KEY: &str = "mock-chartmogul-api-key-9b3f0c1e7a2d4f6b8c0e1a3d5f7b9c2e";
const START: &str = "2024-01-01T00:00:00Z";

fn config_with(key: &str) -> Value {
    json!({"api_key": key, "start_date": START})
}

/// A full-refresh stream: no cursor, read in full each time.
fn full_refresh(name: &'static str, key: &'static str, resumed: usize) -> Stream {
    Stream {
        name,
        key,
        cursor: "",
        kept: Kept::Nothing,
        filter: Filter::Unfiltered,
        resumed: Resumed::Count(resumed),
    }
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn chartmogul_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-chartmogul",
        config: config_with,
        credential: KEY,
        streams: vec![
            // Read again in full, with the new records (3 each).
            full_refresh("customers", "/id", 233),
            full_refresh("activities", "/uuid", 263),
        ],
        discovered_cursor: false,
        discover_calls_api: false,
        refused: Some(Refused {
            credential: "mock-chartmogul-wrong-key-00000000000000000000000000",
            message: &[
                "Stream customers is not available: HTTP Status Code: 401",
                "No valid API key provided",
            ],
            call: (Some("customers"), 401),
            first: true,
        }),
        rate_limited: RateLimited {
            route: "activities",
            status: 429,
            counts: &[230, 260],
            pages: &[("customers", 2), ("activities", 2)],
        },
        carried: Value::clone,
        state: StateShape::Mentions,
        resumed_state: ResumedState::Hooked,
        // customers answers 500 after its first page until the retries run
        // out (31 s of backoff): beside the other steps.
        failure: Some(Failure {
            scenario: "customers_down",
            stream: "customers",
            beside: true,
            counts: &[200, 260],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: customers",
                "Internal server error",
            ]),
            // (the hook: only the no-cursor marker comes after)
            no_checkpoint_after: false,
            state: None,
        }),
        hooks: &ChartMogul,
    });
}

struct ChartMogul;

impl Hooks for ChartMogul {
    /// Our patch: the key's description is plain text.
    fn spec(&self, spec: &Value) {
        let key = &spec["configSchema"]["properties"]["api_key"];
        assert_eq!(key["secret"], true, "{key}");
        let description = key["description"].as_str().unwrap();
        assert!(!description.contains('<'), "{description}");
        assert!(
            description.contains("https://help.chartmogul.com/"),
            "{description}"
        );
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        let mock = &s.t.mock;
        let customers = mock.requests_to("customers");
        assert_eq!(customers[0].param("per_page"), Some("200"));
        assert_eq!(
            customers[0].param("page"),
            None,
            "the first page is implied"
        );
        assert_eq!(customers[1].param("page"), Some("2"), "PageIncrement");
        let activities: Vec<_> = mock
            .requests_to("activities")
            .into_iter()
            .filter(|r| r.status == 200)
            .collect();
        assert_eq!(activities[0].param("start-date"), Some(START));
        assert_eq!(activities[0].param("start-after"), None);
        assert_eq!(
            activities[1].param("start-after"),
            first.docs[1][199]["uuid"].as_str(),
            "the last record's uuid"
        );
        assert_eq!(activities[1].param("per_page"), Some("200"));
        // A full refresh keeps no cursor: Airbyte's marker only.
        let states = binding_states(&first.state);
        for stream in ["customers", "activities"] {
            assert_eq!(
                states[stream],
                json!({"__ab_no_cursor_state_message": true}),
                "{stream}"
            );
        }
    }

    /// A full refresh: everything again, the new records last; the start
    /// date is still the config's.
    fn resumed(&self, s: &Scene, first: &Capture, second: &Capture) {
        for (i, id) in [(0, "id"), (1, "uuid")] {
            let before: Vec<&Value> = first.docs[i].iter().map(|d| &d[id]).collect();
            let again: Vec<&Value> = second.docs[i].iter().map(|d| &d[id]).collect();
            assert_eq!(again[..before.len()], before[..], "stream {i}");
        }
        assert_eq!(second.docs[0][232]["name"], "Massive Dynamic Cloud");
        let activities = s.t.mock.requests_to("activities");
        assert_eq!(activities[0].param("start-date"), Some(START));
        assert_eq!(pages(&s.t.mock, "customers"), 2);
        assert_eq!(second.state, first.state, "nothing to carry");
    }

    /// The cdk marks both streams done, the failed one too, after its
    /// last document (its `FinalStateCursor` closes the stream either way):
    /// harmless for a full refresh, which has no cursor, so the next read
    /// of customers starts over; the capture itself fails.
    fn failed(&self, _mock: &MockApi, first: &Capture, failed: &Capture) {
        let after = checkpoints_after_last_document(&failed.run, 0);
        assert!(
            after
                .iter()
                .all(|c| c.to_string().contains("__ab_no_cursor_state_message")),
            "{after:?}"
        );
        assert_eq!(failed.state, first.state, "no cursor anywhere");
    }
}
