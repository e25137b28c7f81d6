//! `source-intercom` end to end: its binary built by `cargo xtask build`, the
//! real upstream connector (airbyte-source-intercom 0.8.3 from PyPI with
//! airbyte-cdk 4.6.2, Python 3.11, as provisioned), and the mock of
//! Intercom's API in `connectors/source-intercom/tests/mock/` reached through
//! the mock's HTTPS proxy (the host `api.intercom.io` is fixed).
//!
//! Intercom habits the mock meets, from the upstream code:
//! - `source_intercom/manifest.yaml` `requester`: `https://api.intercom.io/`
//!   with `Authorization: Bearer <access_token>` (`BearerAuthenticator`),
//!   `Intercom-Version: 2.10` (`2.9` for conversations) and
//!   `Accept: application/json`.
//! - `contacts` and `conversations` (`stream_incremental_search`): `POST
//!   /contacts/search` and `POST /conversations/search` with a JSON body
//!   (`requester_incremental_search`): `query` is `updated_at > X OR
//!   updated_at = X` where X is the prior state's `updated_at` (UNIX seconds)
//!   or the start date, `sort` by `updated_at` ascending, and `pagination`
//!   `{per_page: 150, page, starting_after}` from the answer's `pages.next`
//!   (`CursorPagination`), until `pages` has no `next`. The first request
//!   has no `pagination` at all (seen in the mock's log: its template reads
//!   `next_page_token`, empty on the first page), so the first page has the
//!   API's default size (50). Records are under
//!   `data` (contacts) or `conversations`. The cursor
//!   (`components.py` `IncrementalSingleSliceCursor`) keeps the greatest
//!   `updated_at`; a resumed read filters records `>=` the prior state, so
//!   the boundary record comes again.
//! - `companies` (`stream_semi_incremental`): `GET /companies/scroll` with
//!   `per_page=150`, then the answer's `scroll_param` until `data` is empty
//!   (the API cannot filter it); the connector keeps records `>=` the prior
//!   state itself (`record_filter`). Its cursor is the last scrolled
//!   record's `updated_at`, not the greatest: `observe` compares each record
//!   with the state the read started from. So a resumed read re-emits every
//!   record at or after that value (duplicates by key, nothing lost).
//! - `check` is `CheckStream` of `tags` (`GET /tags`).
//! - `components.py` `ErrorHandlerWithRateLimiter` (a `DefaultErrorHandler`)
//!   sleeps after every answer by its `X-RateLimit-Limit` /
//!   `X-RateLimit-Remaining` headers (1 s when they are missing, 10 ms when
//!   more than half remains: the mock sends them on every answer); it has no
//!   backoff strategy, so 429 is retried with the cdk's exponential backoff
//!   (`rate_limit_default_backoff_handler`, 1 s first) and 500 with
//!   `http_client_default_backoff_handler` (1, 2, 4, 8, 16 s, five retries,
//!   `DefaultErrorHandler.max_retries`, in airbyte_cdk/sources/streams/http/
//!   rate_limiting.py and http_client.py): `Retry-After` is not read.
//! - `android_last_seen_at` is a UNIX timestamp in Intercom's API and a
//!   `format: date-time` string in the schema: the cdk's schema
//!   normalization (`RecordSelector`, `TypeTransformer` with
//!   `DefaultSchemaNormalization`) makes it the string `"1748735580"`, and
//!   our runtime reads a digit-only string under `format: date-time` as a
//!   UNIX timestamp (runtime/src/normalize/datetime.rs): RFC 3339 comes out.
//!
//! Patches this needed: `streams/conversations.patch.json` (Intercom returns
//! `statistics.last_closed_by_id` as a string admin id, the upstream schema
//! says integer).
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use crate::e2e::{max_of, pages};
use serde_json::{json, Value};

const TOKEN: &str =
    "mock-intercom-access-token-dG9rOjJmNmE4YzFlXzlkNGJfNGU3MV9hMGMzXzViOGYyZDZlMWE5Nw==";
/// The config's start date, 2025-01-01T00:00:00Z, in UNIX seconds.
const START: i64 = 1735689600;

fn config_with(token: &str) -> Value {
    json!({"start_date": "2025-01-01T00:00:00Z", "credentials": {"access_token": token}})
}

/// The `updated_at` bound of a search request's query (`> X OR = X`).
fn query_bound(r: &mockapi::Recorded) -> Value {
    let q = r.body_at("/query").unwrap_or(&Value::Null);
    assert_eq!(q["operator"], "OR", "{q}");
    let ops: Vec<(&Value, &Value)> = q["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["field"], "updated_at", "{q}");
            (&c["operator"], &c["value"])
        })
        .collect();
    assert_eq!(ops.len(), 2, "{q}");
    assert_eq!((ops[0].0, ops[1].0), (&json!(">"), &json!("=")), "{q}");
    assert_eq!(ops[0].1, ops[1].1, "{q}");
    ops[0].1.clone()
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn intercom_spec_discover_validate_capture_resume_and_failures() {
    // The searches filter on the greatest updated_at of the sorted reads;
    // the scroll (not sorted by updated_at) keeps the last scrolled
    // record's, since `IncrementalSingleSliceCursor.observe` compares each
    // record with the state the read started from, not with the cursor so
    // far. Resumed: contacts, the two at the boundary instant, then the two
    // of contacts.new.json; conversations, the boundary one, then the three
    // of conversations.new.json; companies, every one at or after the state
    // (in scroll order), then the two of companies.new.json.
    let search = |name: &'static str, new: &'static str| Stream {
        filter: Filter::Read(name, query_bound),
        ..Stream::new(
            name,
            "updated_at",
            "",
            Resumed::BoundaryThenNew(new, Len::Exactly(4)),
        )
    };
    run(&Case {
        connector: "source-intercom",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            search("contacts", "contacts.new.json"),
            Stream {
                kept: Kept::Last,
                filter: Filter::Unfiltered,
                ..Stream::new(
                    "companies",
                    "updated_at",
                    "",
                    Resumed::BoundaryThenNew("companies.new.json", Len::MoreThan(3)),
                )
            },
            search("conversations", "conversations.new.json"),
        ],
        discovered_cursor: false,
        discover_calls_api: true,
        // The cdk's message for 401 (DEFAULT_ERROR_MAPPING in
        // airbyte_cdk/sources/streams/http/error_handlers/default_error_mapping.py).
        refused: Some(Refused {
            credential: "mock-intercom-wrong-token-00000000000000000000000000000000",
            message: &["Unauthorized. Please ensure you are authenticated correctly."],
            call: (Some("tags"), 401),
            first: false,
        }),
        // companies: a scroll of 150 a page, two pages and the empty end.
        rate_limited: RateLimited {
            route: "contacts",
            status: 429,
            counts: &[155, 155, 155],
            pages: &[("contacts", 2), ("conversations", 2), ("companies", 3)],
        },
        carried: Value::clone,
        state: StateShape::Object { at: "", only: true },
        resumed_state: ResumedState::Hooked,
        // conversations answers 500 after its first page until the retries
        // run out: contacts and companies have their state, conversations
        // none.
        failure: Some(Failure {
            scenario: "conversations_down",
            stream: "conversations",
            beside: false,
            counts: &[155, 155, 50],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: conversations: \
                 AirbyteTracedException('Internal server error.')",
            ]),
            no_checkpoint_after: true,
            state: Some(FailedState::Absent),
        }),
        hooks: &Intercom,
    });
}

struct Intercom;

impl Hooks for Intercom {
    /// Our patches moved the token into a secret `credentials` object
    /// (spec.map.json maps it back).
    fn spec(&self, spec: &Value) {
        let creds = &spec["configSchema"]["properties"]["credentials"];
        assert_eq!(
            creds["properties"]["access_token"]["secret"], true,
            "{creds}"
        );
        assert!(
            spec["configSchema"]["properties"]["access_token"].is_null(),
            "{spec}"
        );
    }

    /// The patch: last_closed_by_id is a string.
    fn discovered(&self, s: &Scene) {
        let closed_by = &s.selected[2]["documentSchema"]["properties"]["statistics"]["properties"]
            ["last_closed_by_id"];
        assert_eq!(closed_by["type"], json!(["null", "string"]), "{closed_by}");
    }

    fn validated(&self, s: &Scene) {
        let tags = s.t.mock.requests_to("tags");
        let call = tags.last().unwrap();
        assert_eq!(call.status, 200);
        assert_eq!(call.header("intercom-version"), Some("2.10"));
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        let mock = &s.t.mock;
        let contacts = mock.requests_to("contacts");
        // companies: a scroll of 150 a page, handed back until data is empty.
        let scroll = mock.requests_to("companies");
        assert_eq!(pages(mock, "companies"), 3, "two pages and the empty end");
        assert!(scroll.iter().all(|r| r.param("per_page") == Some("150")));
        assert_eq!(scroll[0].param("scroll_param"), None);
        assert!(scroll[1..]
            .iter()
            .all(|r| r.param("scroll_param").is_some()));
        let convs = mock.requests_to("conversations");
        for (r, version) in [(&contacts[1], "2.10"), (&convs[0], "2.9")] {
            assert_eq!(r.method, "POST");
            assert_eq!(r.header("intercom-version"), Some(version));
            assert_eq!(r.body_at("/pagination"), None, "the first page asks none");
            assert_eq!(
                r.body_at("/sort"),
                Some(&json!({"field": "updated_at", "order": "ascending"}))
            );
            assert_eq!(query_bound(r), json!(START), "the start date filters");
        }
        // The second page: the first answer's pages.next cursor, the same query.
        for r in [&contacts[2], &convs[1]] {
            let p = r.body_at("/pagination").unwrap();
            assert_eq!(
                (&p["per_page"], &p["page"]),
                (&json!(150), &json!(2)),
                "{p}"
            );
            assert!(
                p["starting_after"].as_str().is_some_and(|s| s.len() > 8),
                "{p}"
            );
            assert_eq!(query_bound(r), json!(START));
        }
        let docs = &first.docs;
        assert!(
            docs[2]
                .iter()
                .any(|d| d["statistics"]["last_closed_by_id"].is_string()),
            "the patched field came through"
        );
        assert!(
            docs[0]
                .iter()
                .any(|d| d["android_last_seen_at"] == "2025-05-31T23:53:00Z"),
            "the timestamp comes out as RFC 3339"
        );
        let co_last = first.cursors[1].as_i64().unwrap();
        assert!(
            co_last < max_of(&docs[1], "updated_at").as_i64().unwrap(),
            "the data is not sorted"
        );
    }

    fn resumed(&self, s: &Scene, first: &Capture, second: &Capture) {
        // The scroll has no filter: the connector filters what comes back.
        let scroll = s.t.mock.requests_to("companies");
        assert!(
            scroll
                .iter()
                .flat_map(|r| &r.query)
                .all(|(k, _)| k == "per_page" || k == "scroll_param"),
            "{scroll:?}"
        );
        // The upstream cursor keeps its prior state beside the new cursor
        // (`IncrementalSingleSliceCursor.set_initial_state` copies the state
        // into `prior_state`, and runs twice: nested once more).
        let c = |i: usize| first.cursors[i].as_i64().unwrap();
        let (c_max, co_last, v_max) = (c(0), c(1), c(2));
        let prior = |v: i64| json!({"updated_at": v, "prior_state": {"updated_at": v}});
        assert_eq!(
            second.state,
            json!({"bindingStateV1": {
                   "contacts": {"updated_at": c_max + 3601, "prior_state": prior(c_max)},
                   "companies": {"updated_at": second.docs[1].last().unwrap()["updated_at"],
                                 "prior_state": prior(co_last)},
                   "conversations": {"updated_at": v_max + 7202, "prior_state": prior(v_max)}}})
        );
    }
}
