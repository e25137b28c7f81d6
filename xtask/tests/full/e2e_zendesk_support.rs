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
//! One test function: the requests share one build and run in order.

use crate::e2e::*;
use serde_json::{json, Value};
use std::time::Instant;

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

fn max_updated(docs: &[Value]) -> &str {
    docs.iter()
        .filter_map(|d| d["updated_at"].as_str())
        .max()
        .unwrap()
}

fn unix(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp()
}

fn ids(docs: &[Value]) -> Vec<i64> {
    docs.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn zendesk_support_spec_discover_validate_capture_resume_and_failures() {
    let started = Instant::now();
    let t = E2e::new("source-zendesk-support");

    // spec: baked, the connector is not started; our patches made the
    // credentials a discriminated oneOf with the token secret.
    let spec = t.spec();
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

    // And its num_workers description is free of HTML (our patch).
    assert!(
        !props["num_workers"]["description"]
            .as_str()
            .unwrap()
            .contains("<a "),
        "{props}"
    );

    // discover: recommended names, keys, resource paths [stream].
    let config = config_with(TOKEN);
    t.mock.clear_requests();
    let discovered = t.discover(&config);
    assert!(t.mock.requests().is_empty(), "discover calls no API");
    let mut selected = Vec::new();
    for stream in ["users", "organizations"] {
        let b = binding(&discovered, stream);
        assert_eq!(b["recommendedName"], stream, "{b}");
        assert_eq!(b["key"], json!(["/id"]), "{b}");
        assert_eq!(b["resourcePath"], json!([stream]), "{b}");
        selected.push(b.clone());
    }

    // dies mid-read, beside the other steps (its retries wait ~10 s) on a
    // second mock: organizations answers 500 after its first page until the
    // retries run out.
    let down = t.another_mock();
    down.activate("organizations_down").unwrap();
    std::thread::scope(|scope| {
        let failing = scope.spawn(|| t.open_with(&down, &config, &selected, None));

        // validate: a good token, then a bad one (the connector's own message).
        t.mock.clear_requests();
        let ok = t.validate(&config, &selected);
        assert!(ok.ok, "validate failed:\n{}", ok.stderr);
        let paths: Vec<&Value> = ok.of("validated")[0]["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| &b["resourcePath"])
            .collect();
        assert_eq!(paths, [&json!(["users"]), &json!(["organizations"])]);
        let settings = t.mock.requests_to("account_settings");
        let call = settings.last().unwrap();
        assert_eq!(call.status, 200);
        // The mock answers 200 only to Basic `<email>/token:<api_token>`.
        assert!(call.header("authorization").unwrap().starts_with("Basic "));
        t.mock.clear_requests();
        let bad = t.validate(
            &config_with("mock-zendesk-wrong-token-000000000000000000000000000000000"),
            &selected,
        );
        assert!(!bad.ok, "a bad token validated");
        // The cdk's message for a failed request (HttpClient), with Zendesk's
        // own error body.
        assert!(
            bad.stderr.contains(
                "'GET' request to 'https://acme.zendesk.com/api/v2/account/settings.json' \
             failed with status code '401' and error message: 'Couldn't authenticate you'"
            ),
            "not the connector's message:\n{}",
            bad.stderr
        );
        let last = t.mock.requests().last().unwrap().clone();
        assert_eq!(
            (last.route.as_deref(), last.status),
            (Some("account_settings"), 401)
        );

        // capture: two streams, two pages each, a 429 survived.
        t.mock.clear_requests();
        t.mock.activate("rate_limited").unwrap();
        let first = t.open(&config, &selected, None);
        assert!(first.ok, "capture failed:\n{}", first.stderr);
        t.mock.deactivate("rate_limited");
        let docs = documents(&first, 2);
        // organizations: 60, and the boundary one again on the second page.
        assert_eq!((docs[0].len(), docs[1].len()), (60, 61));
        let users = t.mock.requests_to("users");
        assert_eq!(users[0].status, 429, "the first users call is limited");
        assert_eq!(pages(&t.mock, "users"), 2);
        assert_eq!(pages(&t.mock, "organizations"), 2);
        // The start date filters the first call; the next page is the after_url,
        // with only its cursor.
        assert_eq!(
            users[1].query,
            [("start_time".to_string(), START.to_string())]
        );
        assert_eq!(users[2].query.len(), 1, "{:?}", users[2].query);
        assert_eq!(users[2].query[0].0, "cursor");
        // organizations: the next_page starts at the first page's end_time,
        // the 50th organization's updated_at.
        let orgs = t.mock.requests_to("organizations");
        assert_eq!(orgs[0].param("start_time"), Some(START));
        let end_time = unix(docs[1][49]["updated_at"].as_str().unwrap()).to_string();
        assert_eq!(orgs[1].param("start_time"), Some(end_time.as_str()));
        assert_eq!(docs[1][49]["id"], docs[1][50]["id"], "the boundary again");
        let bad_docs = violations(&selected, &docs);
        assert!(bad_docs.is_empty(), "{}", bad_docs.join("\n"));

        // checkpoints reduce to per-stream state holding each stream's cursor:
        // the greatest updated_at, in Unix seconds (the cursor's
        // `datetime_format: "%s"`).
        let state = reduce(&json!({}), &first);
        let (u_max, o_max) = (
            unix(max_updated(&docs[0])).to_string(),
            unix(max_updated(&docs[1])).to_string(),
        );
        assert_eq!(
            state,
            json!({"bindingStateV1": {
               "users": {"updated_at": u_max}, "organizations": {"updated_at": o_max}}})
        );

        // resume: the mock sees the state's filter; only boundary and new
        // records come out.
        t.mock.clear_requests();
        t.mock.activate("new_records").unwrap();
        let second = t.open(&config, &selected, Some(&state));
        assert!(second.ok, "resumed capture failed:\n{}", second.stderr);
        t.mock.deactivate("new_records");
        assert_eq!(
            t.mock.requests_to("users")[0].param("start_time"),
            Some(u_max.as_str())
        );
        assert_eq!(
            t.mock.requests_to("organizations")[0].param("start_time"),
            Some(o_max.as_str())
        );
        let docs2 = documents(&second, 2);
        let expected = |docs: &[Value], max: &str, new: &str| -> Vec<i64> {
            let mut at_max: Vec<&Value> = docs
                .iter()
                .filter(|d| d["updated_at"].as_str().unwrap() >= max)
                .collect();
            at_max.dedup_by_key(|d| d["id"].clone());
            let file = testkit::workspace_root()
                .join("connectors/source-zendesk-support/tests/mock")
                .join(new);
            let new: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            at_max
                .into_iter()
                .chain(new.iter())
                .map(|d| d["id"].as_i64().unwrap())
                .collect()
        };
        let want_users = expected(&docs[0], max_updated(&docs[0]), "users.new.json");
        let want_orgs = expected(&docs[1], max_updated(&docs[1]), "organizations.new.json");
        assert_eq!((want_users.len(), want_orgs.len()), (4, 4));
        assert_eq!(ids(&docs2[0]), want_users);
        assert_eq!(ids(&docs2[1]), want_orgs);
        let state2 = reduce(&state, &second);
        assert_eq!(
            (
                &binding_states(&state2)["users"]["updated_at"],
                &binding_states(&state2)["organizations"]["updated_at"]
            ),
            (
                &json!(unix(max_updated(&docs2[0])).to_string()),
                &json!(unix(max_updated(&docs2[1])).to_string())
            ),
            "{state2}"
        );

        // The failure: the capture fails with the connector's reason, and
        // organizations keeps no progress.
        let failed = failing.join().unwrap();
        assert!(!failed.ok, "the capture succeeded against a failing API");
        let docs3 = documents(&failed, 2);
        assert_eq!((docs3[0].len(), docs3[1].len()), (60, 50));
        let server_errors = answers(&down, "organizations", 500);
        assert_eq!(server_errors, 6, "one call and five retries");
        assert!(
            failed.stderr.contains(
                "the following streams did not sync successfully: organizations: \
             UserDefinedBackoffException('Internal server error.')"
            ),
            "not the connector's reason:\n{}",
            failed.stderr
        );
        // users finished; organizations' cursor did not move past the start
        // date (the concurrent cursor checkpoints the slice's start only).
        let state3 = reduce(&json!({}), &failed);
        assert_eq!(
            state3,
            json!({"bindingStateV1": {"users": {"updated_at": u_max},
               "organizations": {"updated_at": START}}})
        );
        eprintln!(
            "source-zendesk-support end to end: {:.1} s, {} organizations 500s",
            started.elapsed().as_secs_f64(),
            server_errors
        );
    });
}
