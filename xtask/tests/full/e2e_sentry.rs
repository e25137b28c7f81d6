//! `source-sentry` end to end: its binary built by `cargo xtask build`, the
//! real upstream connector (manifest-only airbyte/source-sentry 0.8.14: its
//! pinned `manifest.yaml` run by airbyte-cdk 7.23.4's
//! `source-declarative-manifest`, as provisioned), and the mock of Sentry's
//! API in `connectors/source-sentry/tests/mock/` reached through the mock's
//! HTTPS proxy (`hostname` is `sentry.io`, the spec's default).
//!
//! Sentry habits the mock meets, from upstream's `manifest.yaml`:
//! - `definitions.base_requester`: `url_base` `https://{hostname}/api/0/`,
//!   `BearerAuthenticator` of `auth_token`; no `error_handler`, so the cdk's
//!   defaults: 429 is rate limited and 5xx retried, with exponential waits
//!   (1, 2, 4, 8, 16 s: `http_client_default_backoff_handler` in
//!   airbyte_cdk/sources/streams/http/rate_limiting.py; `Retry-After` is not
//!   read), five retries (`HttpClient._DEFAULT_MAX_RETRY`), then the stream
//!   fails; a 401 fails.
//! - Every stream's `paginator`: `CursorPagination` whose `cursor_value` is
//!   the `cursor` of the `Link` header's `next` link and whose
//!   `stop_condition` is its `results == "false"`, sent back as the
//!   `cursor` request parameter; records are the body itself
//!   (`DpathExtractor` with `field_path: []`). The mock's `link_cursor`
//!   pagination answers so.
//! - `streams.events`: `projects/{organization}/{project}/events/` with
//!   `full=true`; `incremental_sync` a `DatetimeBasedCursor` on
//!   `dateCreated` (`datetime_format` `%Y-%m-%dT%H:%M:%S.%fZ`, from
//!   `1900-01-01T00:00:00.0Z`), one slice to now sent as `start` and `end`
//!   (`start_time_option`, `end_time_option`); `start` is inclusive, so the
//!   boundary event comes again.
//! - `streams.issues`: `projects/{organization}/{project}/issues/`, its
//!   cursor `lastSeen` (`is_data_feed: true`: newest first) carried only in
//!   `request_parameters.query` as `lastSeen:>{start_time}`: exclusive, so
//!   only issues seen since come back.
//! - `check`: `CheckStream` of `project_detail`
//!   (`GET projects/{organization}/{project}/`).
//! - `concurrency_level`: `num_workers` (default 5): the two streams are
//!   read side by side.
//!
//! Patches this needed: `streams/events.patch.json` (Sentry's event API
//! with `full=true` gives `sdk` as an object and `errors` as objects, the
//! upstream schema says strings), `spec.patch.json` (`auth_token`'s
//! description holds an HTML link, which the form shows as text).
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::checkpoints_after_last_document;
use crate::e2e::scenario::*;
use mockapi::MockApi;
use serde_json::{json, Value};

const TOKEN: &str = "mock-sentry-auth-token-sntryu_6f1c0a9e4b7d2f8a3c5e1b9d7f0a2c4e";

fn config_with(token: &str) -> Value {
    json!({"auth_token": token, "hostname": "sentry.io", "organization": "acme", "project": "backend"})
}

/// The state and the filters carry a cursor in the manifest's
/// `datetime_format` `%Y-%m-%dT%H:%M:%S.%fZ` (microseconds always).
fn micros(v: &Value) -> Value {
    let s = v.as_str().expect("a date-time cursor");
    match s.contains('.') {
        true => Value::from(s),
        false => Value::from(format!("{}.000000Z", s.trim_end_matches('Z'))),
    }
}

/// The bound of the issues' `query=lastSeen:>T`.
fn last_seen_bound(r: &mockapi::Recorded) -> Value {
    let query = r.param("query").expect("issues carry a query");
    Value::from(
        query
            .strip_prefix("lastSeen:>")
            .unwrap_or_else(|| panic!("query \"{query}\" is not lastSeen:>T")),
    )
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn sentry_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-sentry",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            // events, newest first: two new ones and the boundary one again
            // (`start` is inclusive).
            Stream::new(
                "events",
                "dateCreated",
                "start",
                Resumed::Ids(
                    "id",
                    json!([
                        "f4aa19c9a4f9cb110b9aeea3c5d0f61c",
                        "938429be5d31dc91b0532af798e9bd21",
                        "1e1b3ec9a5e3cffbeab5ef7c43fbfe3f"
                    ]),
                ),
            ),
            // issues, newest first: a new one and one seen again since
            // (`lastSeen:>` is exclusive: the boundary issue stays out).
            Stream {
                filter: Filter::Read("issues", last_seen_bound),
                ..Stream::new(
                    "issues",
                    "lastSeen",
                    "query",
                    Resumed::Ids("id", json!(["4503219877", "4503219872"])),
                )
            },
        ],
        discovered_cursor: true,
        discover_calls_api: false,
        refused: Some(Refused {
            credential: "mock-sentry-wrong-token-00000000000000000000000000000000",
            message: &[
                "Stream project_detail is not available",
                "HTTP Status Code: 401",
                "Invalid token",
            ],
            call: (Some("project_detail"), 401),
            first: false,
        }),
        rate_limited: RateLimited {
            route: "events",
            status: 429,
            counts: &[7, 6],
            pages: &[("events", 2), ("issues", 2)],
        },
        carried: micros,
        state: StateShape::Object { at: "", only: true },
        resumed_state: ResumedState::Cursors(json!([
            "2025-07-03T16:40:05.000000Z",
            "2025-07-03T08:05:30.707000Z"
        ])),
        // issues answers 500 after its first page until the retries run out
        // (31 s of backoff: beside the other steps); events is read whole.
        failure: Some(Failure {
            scenario: "issues_down",
            stream: "issues",
            beside: true,
            counts: &[7, 5],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: issues",
                "Exhausted available request attempts",
                "HTTP Status Code: 500",
            ]),
            // the cdk checkpoints the failed slice's start after the last
            // good issue: the hook says which checkpoints may follow.
            no_checkpoint_after: false,
            // issues keeps the start it read from: no progress claimed.
            state: Some(FailedState::Start(json!("1900-01-01T00:00:00.000000Z"))),
        }),
        hooks: &Sentry,
    });
}

struct Sentry;

impl Hooks for Sentry {
    /// The token is a secret; our patch took the HTML out of its description.
    fn spec(&self, spec: &Value) {
        let token = &spec["configSchema"]["properties"]["auth_token"];
        assert_eq!(token["secret"], true, "{token}");
        let description = token["description"].as_str().unwrap();
        assert!(
            !description.contains('<') && description.contains("auth-tokens"),
            "{description}"
        );
    }

    /// The patch: `sdk` is an object, `errors` objects.
    fn discovered(&self, s: &Scene) {
        let props = &s.selected[0]["documentSchema"]["properties"];
        assert_eq!(
            props["sdk"]["type"],
            json!(["null", "object"]),
            "{}",
            props["sdk"]
        );
        assert_eq!(
            props["errors"]["items"]["type"],
            json!(["null", "object"]),
            "{}",
            props["errors"]
        );
    }

    /// The check reads `project_detail` with the bearer token.
    fn validated(&self, s: &Scene) {
        let calls = s.t.mock.requests_to("project_detail");
        let call = calls.last().expect("the check calls project_detail");
        assert_eq!(call.status, 200);
        assert_eq!(
            call.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        let events = s.t.mock.requests_to("events");
        let good: Vec<_> = events.iter().filter(|r| r.status == 200).collect();
        assert_eq!(good[0].param("full"), Some("true"));
        assert_eq!(good[0].param("start"), Some("1900-01-01T00:00:00.000000Z"));
        assert!(good[0].param("end").is_some(), "{:?}", good[0]);
        assert_eq!(good[0].param("cursor"), None);
        assert_eq!(
            good[1].param("cursor"),
            Some("0:5:0"),
            "the Link cursor followed"
        );
        let issues = s.t.mock.requests_to("issues");
        assert_eq!(
            issues[0].param("query"),
            Some("lastSeen:>1900-01-01T00:00:00.000000Z")
        );
        assert_eq!(issues[1].param("cursor"), Some("0:5:0"));
        assert!(
            first.docs[0].iter().all(|d| d["sdk"]["name"].is_string()),
            "the patched sdk came through"
        );
    }

    /// After the last good issue, the cdk checkpoints issues' state as the
    /// start it read from (and events', read beside): no issues progress.
    fn failed(&self, _mock: &MockApi, _first: &Capture, failed: &Capture) {
        for cp in checkpoints_after_last_document(&failed.run, 1) {
            let issues = &cp["state"]["updated"]["bindingStateV1"]["issues"];
            assert!(
                issues.is_null() || *issues == json!({"lastSeen": "1900-01-01T00:00:00.000000Z"}),
                "{cp}"
            );
        }
    }
}
