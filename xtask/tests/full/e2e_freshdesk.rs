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
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use serde_json::{json, Value};

const KEY: &str = "mock-freshdesk-api-key-4f8a1c9e2b7d6f3a0e5c8b1d9a7f2e6c";

fn config_with(key: &str) -> Value {
    json!({"api_key": key, "domain": "acme.freshdesk.com", "start_date": "2025-01-01T00:00:00Z"})
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn freshdesk_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-freshdesk",
        config: config_with,
        credential: KEY,
        streams: vec![
            // contacts: the boundary record (1104) and two new ones.
            Stream::new(
                "contacts",
                "updated_at",
                "_updated_since",
                Resumed::Ids("id", json!([1104, 1105, 1106])),
            ),
            // tickets: two at the boundary instant (5103, 5104) and three new ones.
            Stream::new(
                "tickets",
                "updated_at",
                "updated_since",
                Resumed::Ids("id", json!([5103, 5104, 5105, 5106, 5107])),
            ),
        ],
        discovered_cursor: false,
        discover_calls_api: true,
        refused: Some(Refused {
            credential: "mock-freshdesk-wrong-key-0000000000000000000000000000",
            message: &[
                "Unable to connect to stream agents",
                "failed with status code 401",
            ],
            call: (None, 401),
            first: false,
        }),
        rate_limited: RateLimited {
            route: "contacts",
            status: 429,
            counts: &[105, 105],
            pages: &[("contacts", 2), ("tickets", 2)],
        },
        carried: Value::clone,
        state: StateShape::Mentions,
        resumed_state: ResumedState::Mentions(&["2025-07-01T12:00:02Z"]),
        // tickets answers 500 after its first page until the retries run out.
        failure: Some(Failure {
            scenario: "tickets_down",
            stream: "tickets",
            beside: false,
            counts: &[105, 100],
            errors: Errors::AtLeast(2),
            reason: Reason::Any(&["500", "Internal Server Error"]),
            no_checkpoint_after: true,
            state: Some(FailedState::Absent),
        }),
        hooks: &Freshdesk,
    });
}

struct Freshdesk;

impl Hooks for Freshdesk {
    fn spec(&self, spec: &Value) {
        let props = &spec["configSchema"]["properties"];
        assert_eq!(props["api_key"]["secret"], true, "{props}");
        assert!(props["domain"].is_object(), "{props}");
    }

    fn captured(&self, s: &Scene, _first: &Capture) {
        // tickets paged by `page=N`, ordered by the cursor.
        let tickets = s.t.mock.requests_to("tickets");
        assert_eq!(tickets[1].param("page"), Some("2"));
        assert_eq!(tickets[0].param("order_by"), Some("updated_at"));
    }
}
