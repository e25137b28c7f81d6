//! `source-zendesk-support` end to end: its binary built by `cargo xtask
//! build`, the real upstream connector (airbyte-source-zendesk-support 4.9.1
//! from PyPI with airbyte-cdk 6.61.6, Python 3.11, as provisioned), and the
//! mock of Zendesk's API in `connectors/source-zendesk-support/tests/mock/`
//! reached through the mock's HTTPS proxy (the host is
//! `<subdomain>.zendesk.com`, here `acme.zendesk.com`).
//!
//! Zendesk habits the mock meets, from the upstream code:
//! - `source_zendesk_support/manifest.yaml` `retriever.requester`:
//!   `https://{subdomain}.zendesk.com/api/v2/`, with a
//!   `SelectiveAuthenticator` on `credentials.credentials`: `api_token` is
//!   Basic `<email>/token:<api_token>` (the test's), `oauth2.0` a Bearer.
//! - `users` (`users_stream`): the cursor-based incremental export, `GET
//!   incremental/users/cursor.json?start_time=<unix seconds>` (the
//!   `cursor_incremental_sync` `DatetimeBasedCursor`, `cursor_filter:
//!   start_time`, from the start date or the state), then the answer's
//!   `after_url` (`after_url_paginator`, a `RequestPath` token; with
//!   `ignore_stream_slicer_parameters_on_paginated_requests` the later
//!   pages carry only the URL's `cursor`) until `end_of_stream`. The cursor
//!   field is `updated_at` (RFC 3339 in the records).
//! - `organizations` (`organizations_stream`): the time-based incremental
//!   export, `GET incremental/organizations?start_time=<unix seconds>`,
//!   then the answer's `next_page` URL (`end_of_stream_paginator`) until
//!   `end_of_stream`. Zendesk's `next_page` starts at the page's `end_time`
//!   (its last record's instant), so the boundary organization comes again
//!   on the next page: a duplicate by key, as the real API sends.
//! - Neither request sends a page size: Zendesk's pages are 1000 records;
//!   the mock's are 50 (`default_size` in mock.json) to keep data small.
//! - `check` (`source.py` `SourceZendeskSupport.check_connection`, not the
//!   manifest's `CheckStream`): `GET account/settings.json` and
//!   `settings.active_features.organization_access_enabled` must be true.
//! - `streams()` (`check_enterprise_streams`) means to read one
//!   `ticket_forms` record to decide whether the Enterprise streams exist,
//!   but with cdk 6.61.6 it fails before any request ("'DefaultStream'
//!   object has no attribute 'stream_slices'", logged as a warning): the
//!   Enterprise streams are never offered, and discover calls no API (the
//!   test asserts it).
//! - Errors (`retriever.requester.error_handler`): 403 and 404 fail the
//!   stream; anything retryable waits `Retry-After` (`WaitTimeFromHeader`),
//!   so the mock's 429 and 500 carry `Retry-After: 1`; five retries
//!   (`DefaultErrorHandler.max_retries`, airbyte_cdk/sources/streams/http/
//!   http_client.py), then the stream fails; the concurrent read lets the
//!   other streams finish, then fails with "the following streams did not
//!   sync successfully".
//! - State (concurrent `DatetimeBasedCursor`, `datetime_format: "%s"`): per
//!   stream `{"updated_at": "<unix seconds>"}`, a string; a resumed read
//!   sends it as `start_time`, inclusive at Zendesk, so the boundary records
//!   come again.
//! - `validate` with a bad token: the 401 of `account/settings.json` comes
//!   back as the cdk's "'GET' request to ... failed with status code '401'
//!   and error message: 'Couldn't authenticate you'" (Zendesk's body).
//!
//! Patches this needed: none for these streams (every captured user and
//! organization is valid against the upstream schemas); `spec.patch.json`
//! gained a `num_workers` description without HTML (the build's form
//! warning).
//!
//! One test function: the requests share one build and run in order
//! (the capture that dies mid-read beside them, on a second mock, since its
//! retries wait ~10 s); the steps are the common scenario
//! (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use serde_json::{json, Value};

const EMAIL: &str = "agent@acme.example.com";
const TOKEN: &str = "mock-zendesk-api-token-Zk3q8R2vT6wY1uP9sD4fG7hJ0kL5mN8bV2cX6zA3";
/// The config's start date, 2025-01-01T00:00:00Z, in UNIX seconds.
const START: &str = "1735689600";

fn config_with(token: &str) -> Value {
    json!({
        "subdomain": "acme",
        "start_date": "2025-01-01T00:00:00Z",
        "credentials": {"credentials": "api_token", "email": EMAIL, "api_token": token},
    })
}

fn unix(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp()
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn zendesk_support_spec_discover_validate_capture_resume_and_failures() {
    // Resumed: the records at the state's cursor (the boundary once), then
    // those of users.new.json and organizations.new.json.
    let stream = |name: &'static str, new: &'static str| {
        Stream::new(
            name,
            "updated_at",
            "start_time",
            Resumed::BoundaryOnceThenNew(new, Len::Exactly(4)),
        )
    };
    run(&Case {
        connector: "source-zendesk-support",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            stream("users", "users.new.json"),
            stream("organizations", "organizations.new.json"),
        ],
        discovered_cursor: false,
        // The Enterprise check fails before any request (see above).
        discover_calls_api: false,
        // The cdk's message for a failed request (HttpClient), with
        // Zendesk's own error body.
        refused: Some(Refused {
            credential: "mock-zendesk-wrong-token-000000000000000000000000000000000",
            message: &["'GET' request to 'https://acme.zendesk.com/api/v2/account/settings.json' \
                        failed with status code '401' and error message: 'Couldn't authenticate you'"],
            call: (Some("account_settings"), 401),
            first: false,
        }),
        // organizations: 60, and the boundary one again on the second page.
        rate_limited: RateLimited {
            route: "users",
            status: 429,
            counts: &[60, 61],
            pages: &[("users", 2), ("organizations", 2)],
        },
        // The state and the filter: the greatest updated_at in Unix seconds
        // (the cursor's `datetime_format: "%s"`), a string.
        carried: |v| json!(unix(v.as_str().unwrap()).to_string()),
        state: StateShape::Object { at: "", only: true },
        resumed_state: ResumedState::Greatest,
        // organizations answers 500 after its first page until the retries
        // run out: users finished; organizations' cursor did not move past
        // the start date (the concurrent cursor checkpoints the slice's
        // start only).
        failure: Some(Failure {
            scenario: "organizations_down",
            stream: "organizations",
            beside: true,
            counts: &[60, 50],
            errors: Errors::Exactly(6),
            reason: Reason::All(&["the following streams did not sync successfully: organizations: \
                                   UserDefinedBackoffException('Internal server error.')"]),
            no_checkpoint_after: false,
            state: Some(FailedState::Start(json!(START))),
        }),
        hooks: &Zendesk,
    });
}

struct Zendesk;

impl Hooks for Zendesk {
    /// Our patches made the credentials a discriminated oneOf with the token
    /// secret, and num_workers' description free of HTML.
    fn spec(&self, spec: &Value) {
        let props = &spec["configSchema"]["properties"];
        assert!(props.get("ignore_pagination").is_none(), "{props}");
        let token_option = props["credentials"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["title"] == "API Token")
            .unwrap_or_else(|| panic!("no API Token option: {props}"));
        assert_eq!(
            token_option["properties"]["api_token"]["secret"], true,
            "{token_option}"
        );
        assert!(
            !props["num_workers"]["description"]
                .as_str()
                .unwrap()
                .contains("<a "),
            "{props}"
        );
    }

    /// The mock answers 200 only to Basic `<email>/token:<api_token>`.
    fn validated(&self, s: &Scene) {
        let settings = s.t.mock.requests_to("account_settings");
        let call = settings.last().unwrap();
        assert_eq!(call.status, 200);
        assert!(call.header("authorization").unwrap().starts_with("Basic "));
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        let mock = &s.t.mock;
        let docs = &first.docs;
        // The start date filters the first call; the next page is the
        // after_url, with only its cursor.
        let users = mock.requests_to("users");
        assert_eq!(
            users[1].query,
            [("start_time".to_string(), START.to_string())]
        );
        assert_eq!(users[2].query.len(), 1, "{:?}", users[2].query);
        assert_eq!(users[2].query[0].0, "cursor");
        // organizations: the next_page starts at the first page's end_time,
        // the 50th organization's updated_at.
        let orgs = mock.requests_to("organizations");
        assert_eq!(orgs[0].param("start_time"), Some(START));
        let end_time = unix(docs[1][49]["updated_at"].as_str().unwrap()).to_string();
        assert_eq!(orgs[1].param("start_time"), Some(end_time.as_str()));
        assert_eq!(docs[1][49]["id"], docs[1][50]["id"], "the boundary again");
    }
}
