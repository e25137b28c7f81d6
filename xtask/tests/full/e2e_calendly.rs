//! `source-calendly` end to end: its binary built by `cargo xtask build`, the
//! real upstream connector (the manifest-only airbyte/source-calendly 0.1.15,
//! its `manifest.yaml` pinned by sha256 and run by airbyte-cdk 6.56.1, the
//! metadata's, as `cargo xtask provision` installs it), and the mock of
//! Calendly's API in `connectors/source-calendly/tests/mock/` reached through
//! the mock's HTTPS proxy (the host `api.calendly.com` is fixed).
//!
//! Calendly habits the mock meets, from the upstream manifest
//! (`../shared/manifests/source-calendly/manifest.yaml`):
//! - `definitions.base_requester`: `url_base: https://api.calendly.com`,
//!   `BearerAuthenticator` of `config.api_key`; no `error_handler`, so the
//!   cdk's `DefaultErrorHandler` decides: 401 fails (a config error), 429
//!   and 5xx are retried five times (`max_retries: 5`) with the HTTP
//!   client's exponential backoff (1, 2, 4, 8, 16 s: the manifest names no
//!   backoff strategy, so `Retry-After` is not read), then the stream fails.
//! - Every stream but `api_user` is a child of `api_user` (`GET /users/me`,
//!   the record under `resource`) through a `SubstreamPartitionRouter`: its
//!   `current_organization` goes as the `organization` query parameter
//!   (`parent_key: current_organization`, `request_option`).
//! - Records under `collection` (`DpathExtractor`); pages by
//!   `CursorPagination`: `pagination.next_page_token` of the body sent back
//!   as `page_token`, until it is null (`stop_condition`); no page size is
//!   sent, so Calendly's default of 20 applies.
//! - `scheduled_events`: a `DatetimeBasedCursor` on `start_time`
//!   (`%Y-%m-%dT%H:%M:%S.%fZ`), one slice from `config.start_date` (or the
//!   state) to now, sent as `min_start_time` / `max_start_time`
//!   (`start_time_option`, `end_time_option`; inclusive at Calendly, so the
//!   boundary events come again); `AddFields` sets `id` to the last segment
//!   of `uri`. The cursor is when an event starts: events in the future are
//!   read once they have started, and a change to an event already read
//!   (a cancellation) is not read again. That is upstream's choice.
//! - `event_types`: `sort=updated_at:desc` and a `DatetimeBasedCursor` on
//!   `updated_at` with `is_data_feed: true` and no request option: the API
//!   cannot filter, so the connector stops paging at the first page whose
//!   last record is older than the state
//!   (`StopConditionPaginationStrategyDecorator` in airbyte_cdk/sources/
//!   declarative/requesters/paginators/strategies/stop_condition.py); that
//!   page's older records come again (no client-side filter).
//! - `check` is `CheckStream` of `event_types`, whose parent call
//!   (`/users/me`) is the first to meet a bad token.
//!
//! Patches this needed: none. The document checker found no violation on
//! the mock's records (built after Calendly's API reference), keys (`uri`)
//! are required strings, the form has no warning. `selected_streams.json`
//! offers `event_types`, `scheduled_events` and `event_invitees` enabled.
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use crate::e2e::{checkpoints_after_last_document, pages};
use mockapi::MockApi;
use serde_json::{json, Value};

const TOKEN: &str = "mock-calendly-personal-access-token-eyJraWQiOiIxY2UxZTEzNjE3ZGNmNzY2YjNjZWJjY2Y4ZGM1YmFmYThhNjVlNjg0";
/// `config.start_date` in the cursor's format (`datetime_format`).
const START: &str = "2025-01-01T00:00:00.000000Z";
const ORGANIZATION: &str = "https://api.calendly.com/organizations/EBHAAFHDCAEQTSEZ";

fn config_with(token: &str) -> Value {
    json!({"api_key": token, "start_date": "2025-01-01T00:00:00Z"})
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn calendly_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-calendly",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            // scheduled events: the two at the boundary instant (a group
            // slot) and two new ones.
            Stream {
                name: "scheduled_events",
                key: "/uri",
                cursor: "start_time",
                kept: Kept::Greatest,
                filter: Filter::Param("scheduled_events", "min_start_time"),
                // (`id`, which the connector adds from `uri`.)
                resumed: Resumed::Ids(
                    "id",
                    json!([
                        "PYEMYDPNRMENHP7U",
                        "PU23WFGPTC2VNTPD",
                        "PHXTLC4PQ7H7SM5J",
                        "H3LZAHCVXQK6SMFX"
                    ]),
                ),
            },
            // event types: a data feed, unfiltered: its first page again
            // (two new ones, the boundary record, 17 older); the hook says more.
            Stream {
                name: "event_types",
                key: "/uri",
                cursor: "updated_at",
                kept: Kept::Greatest,
                filter: Filter::Unfiltered,
                resumed: Resumed::Count(20),
            },
        ],
        discovered_cursor: true,
        discover_calls_api: false,
        refused: Some(Refused {
            credential: "mock-calendly-wrong-token-000000000000000000000000000000",
            message: &[
                "Stream event_types is not available: Unauthorized",
                "The access token is invalid",
            ],
            call: (Some("users_me"), 401),
            first: true,
        }),
        rate_limited: RateLimited {
            route: "scheduled_events",
            status: 429,
            counts: &[25, 24],
            pages: &[("scheduled_events", 2), ("event_types", 2)],
        },
        carried: Value::clone,
        // One partition (the organization) per stream
        // (`ConcurrentPerPartitionCursor`).
        state: StateShape::Field {
            at: "/states/0/cursor",
        },
        resumed_state: ResumedState::Greatest,
        // scheduled_events answers 500 after its first page until the
        // retries run out (31 s of backoff): beside the other steps.
        failure: Some(Failure {
            scenario: "scheduled_events_down",
            stream: "scheduled_events",
            beside: true,
            counts: &[20, 24],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: scheduled_events",
                "Internal server error",
            ]),
            no_checkpoint_after: false,
            // (the hook: what comes after is the start)
            state: Some(FailedState::Start(json!(START))),
        }),
        hooks: &Calendly,
    });
}

struct Calendly;

impl Hooks for Calendly {
    fn spec(&self, spec: &Value) {
        let props = &spec["configSchema"]["properties"];
        assert_eq!(props["api_key"]["secret"], true, "{props}");
        assert_eq!(props["start_date"]["format"], "date-time", "{props}");
    }

    fn captured(&self, s: &Scene, _first: &Capture) {
        let mock = &s.t.mock;
        let me = mock.requests_to("users_me");
        assert_eq!(me.last().unwrap().status, 200);
        let events = mock.requests_to("scheduled_events");
        let good: Vec<_> = events.iter().filter(|r| r.status == 200).collect();
        assert_eq!(
            good[0].param("organization"),
            Some(ORGANIZATION),
            "the parent's current_organization"
        );
        assert_eq!(
            good[0].param("min_start_time"),
            Some(START),
            "the start date is the first filter, in the cursor's format"
        );
        assert!(good[0].param("max_start_time").is_some(), "{:?}", good[0]);
        assert!(good[0].param("page_token").is_none());
        assert!(good[1].param("page_token").is_some(), "the token followed");
        let types = mock.requests_to("event_types");
        assert_eq!(types[0].param("sort"), Some("updated_at:desc"));
        assert_eq!(types[0].param("organization"), Some(ORGANIZATION));
    }

    /// The checkpoints after the failing stream's last document keep its
    /// start: the 20 events of its first page are not claimed.
    fn failed(&self, _mock: &MockApi, _first: &Capture, failed: &Capture) {
        let after = checkpoints_after_last_document(&failed.run, 0);
        assert!(
            !after.is_empty(),
            "the connector checkpoints the failed stream"
        );
        for c in after {
            let updated = &c["state"]["updated"]["bindingStateV1"];
            if let Some(events) = updated.get("scheduled_events") {
                assert_eq!(
                    events.pointer("/states/0/cursor/start_time"),
                    Some(&json!(START)),
                    "{c}"
                );
            }
        }
    }

    /// The data feed stops after one page: its last record is older than
    /// the state; the new event types come first.
    fn resumed(&self, s: &Scene, first: &Capture, second: &Capture) {
        assert_eq!(pages(&s.t.mock, "event_types"), 1, "the feed stopped");
        let types = &second.docs[1];
        let newest: Vec<&Value> = types.iter().take(2).map(|d| &d["name"]).collect();
        assert_eq!(newest, [&json!("Quick Sync"), &json!("Annual Planning")]);
        assert!(
            types.iter().any(|d| d["updated_at"] == first.cursors[1]),
            "the boundary record comes again"
        );
    }
}
