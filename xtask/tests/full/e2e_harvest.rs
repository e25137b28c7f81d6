//! `source-harvest` end to end: its binary built by `cargo xtask build`, the
//! real upstream connector (airbyte-source-harvest 1.0.19 from PyPI with its
//! pinned airbyte-cdk 0.80.0, as provisioned), and the mock of Harvest's API
//! in `connectors/source-harvest/tests/mock/` reached through the mock's
//! HTTPS proxy (the host `api.harvestapp.com` is fixed).
//!
//! Harvest habits the mock meets, from the upstream code:
//! - `source_harvest/manifest.yaml`: every stream calls
//!   `https://api.harvestapp.com/v2/<stream>` (`url_base` + `path`) with
//!   `per_page=50`, `Authorization: Bearer <api_token>` (`BearerAuthenticator`
//!   of the `Token` credentials) and `Harvest-Account-Id: <account_id>`
//!   (`request_headers`); records under the stream's key (`DpathExtractor`);
//!   the next page is the body's `links.next` URL (`CursorPagination` into
//!   `RequestPath`), until it is null.
//! - Incremental streams (`clients`, `time_entries`, ...): a
//!   `DatetimeBasedCursor` on `updated_at`, one slice from the start date (or
//!   the state) to now, sent as `updated_since` (inclusive at Harvest, so the
//!   boundary record comes again); the state is the greatest `updated_at`.
//! - `check` is `CheckStream` of `company` (`GET /v2/company`), which has no
//!   error handler of its own: a 401 fails the check.
//! - `composite_error_handler`: 429 and 5xx are retried after `Retry-After`
//!   (`WaitTimeFromHeader`), five retries (`DefaultErrorHandler.max_retries`
//!   in airbyte_cdk/sources/declarative/requesters/error_handlers/
//!   default_error_handler.py), then the stream fails; 401/403/404 of a
//!   stream are ignored (`action: IGNORE`), so a bad credential shows only
//!   in `check`.
//! - `source_harvest/run.py` migrates a config without `credentials.auth_type`
//!   (`config_migrations.py`); our config names `Token`, so it does not.
//!
//! Patches this needed: `streams/time_entries.patch.json` (Harvest returns
//! `external_reference` as an object, the upstream schema says string).
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use serde_json::{json, Value};

const TOKEN: &str = "mock-harvest-personal-access-token-3c9e1f7a5b2d8e4c6a0f9b1d7e3c5a8f";
const ACCOUNT: &str = "1960341";

fn config_with(token: &str) -> Value {
    json!({
        "account_id": ACCOUNT,
        "replication_start_date": "2025-01-01T00:00:00Z",
        "credentials": {"auth_type": "Token", "api_token": token},
    })
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn harvest_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-harvest",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            // clients: the boundary record (5735754) and two new ones.
            Stream::new(
                "clients",
                "updated_at",
                "updated_since",
                Resumed::Ids("id", json!([5735754, 5735755, 5735756])),
            ),
            // time entries: two at the boundary instant and three new ones.
            Stream::new(
                "time_entries",
                "updated_at",
                "updated_since",
                Resumed::Ids(
                    "id",
                    json!([636709353, 636709354, 636709355, 636709356, 636709357]),
                ),
            ),
        ],
        discovered_cursor: false,
        discover_calls_api: true,
        refused: Some(Refused {
            credential: "mock-harvest-wrong-token-000000000000000000000000000000",
            message: &[
                "Unable to connect to stream company",
                "failed with status code 401",
            ],
            call: (Some("company"), 401),
            first: false,
        }),
        rate_limited: RateLimited {
            route: "clients",
            status: 429,
            counts: &[55, 55],
            pages: &[("clients", 2), ("time_entries", 2)],
        },
        carried: Value::clone,
        state: StateShape::Object { at: "", only: true },
        resumed_state: ResumedState::Cursors(json!([
            "2025-07-01T12:00:01Z",
            "2025-07-01T12:00:02Z"
        ])),
        // time_entries answers 500 after its first page until the retries
        // run out: clients has its state, time_entries none.
        failure: Some(Failure {
            scenario: "time_entries_down",
            stream: "time_entries",
            beside: false,
            counts: &[55, 50],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: time_entries",
                "Response Code: 500",
            ]),
            no_checkpoint_after: true,
            state: Some(FailedState::Absent),
        }),
        hooks: &Harvest,
    });
}

struct Harvest;

impl Hooks for Harvest {
    /// Our patches made the token a secret and the credentials a
    /// discriminated oneOf.
    fn spec(&self, spec: &Value) {
        let creds = &spec["configSchema"]["properties"]["credentials"];
        assert_eq!(
            creds["discriminator"]["propertyName"], "auth_type",
            "{creds}"
        );
        let token = creds["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["properties"]["auth_type"]["const"] == "Token")
            .unwrap_or_else(|| panic!("no Token option: {creds}"));
        assert_eq!(token["properties"]["api_token"]["secret"], true, "{token}");
    }

    /// The patch: external_reference is an object.
    fn discovered(&self, s: &Scene) {
        let ext = &s.selected[1]["documentSchema"]["properties"]["external_reference"];
        assert_eq!(ext["type"], json!(["null", "object"]), "{ext}");
    }

    /// The check's call carries the account header; OAuth (what the
    /// dashboard's sign-in fills): the connector trades the refresh token at
    /// id.getharvest.com for the access token it sends.
    fn validated(&self, s: &Scene) {
        let t = s.t;
        let company = t.mock.requests_to("company");
        let call = company.last().unwrap();
        assert_eq!(call.status, 200);
        assert_eq!(call.header("harvest-account-id"), Some(ACCOUNT));
        t.mock.clear_requests();
        let oauth = json!({
            "account_id": ACCOUNT,
            "replication_start_date": "2025-01-01T00:00:00Z",
            "credentials": {"auth_type": "Client", "client_id": "mock-harvest-client-id-5e2a9c71",
                            "client_secret": "mock-harvest-client-secret-8b4f0d6e2a9c1e7f3b5d",
                            "refresh_token": "mock-harvest-refresh-token-7d1e9c3b5a2f8e6d4c0b9a7f1e3d5c8b"},
        });
        let ok = t.validate(&oauth, s.selected);
        assert!(ok.ok, "validate with OAuth failed:\n{}", ok.stderr);
        let calls: Vec<(Option<String>, String, u16)> = t
            .mock
            .requests()
            .into_iter()
            .map(|r| (r.route, r.host, r.status))
            .collect();
        assert_eq!(
            calls[..2],
            [
                (Some("oauth_token".into()), "id.getharvest.com".into(), 200),
                (Some("company".into()), "api.harvestapp.com".into(), 200)
            ]
        );
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        let entries = s.t.mock.requests_to("time_entries");
        assert_eq!(entries[0].param("per_page"), Some("50"));
        assert_eq!(
            entries[0].param("updated_since"),
            Some("2025-01-01T00:00:00Z"),
            "the start date is the first filter"
        );
        assert_eq!(entries[1].param("page"), Some("2"), "links.next followed");
        assert!(
            first.docs[1]
                .iter()
                .any(|d| d["external_reference"].is_object()),
            "the patched field came through"
        );
    }
}
