//! `source-alpha-vantage` end to end: its binary built by `cargo xtask
//! build`, the real upstream connector (Airbyte's manifest-only
//! source-alpha-vantage 0.2.5: its pinned `manifest.yaml` and
//! `components.py` run by airbyte-cdk 7.23.4, as provisioned), and the mock
//! of Alpha Vantage's API in `connectors/source-alpha-vantage/tests/mock/`
//! reached through the mock's HTTPS proxy (the host `www.alphavantage.co`
//! is fixed).
//!
//! Alpha Vantage habits the mock meets, from the upstream manifest
//! (`manifest.yaml`):
//! - Every stream is one `GET https://www.alphavantage.co/query`
//!   (`definitions.base_requester.url_base`, `streams.*.retriever.requester.path`)
//!   told apart by the query parameter `function` (`TIME_SERIES_DAILY`,
//!   `TIME_SERIES_WEEKLY_ADJUSTED`, ...); the API key is the query parameter
//!   `apikey` (`request_parameters.apikey`, no authenticator), beside
//!   `symbol`, `datatype=json`, `outputsize`, `interval` and `adjusted`.
//! - The answer is one object keyed by date (`"Time Series (Daily)":
//!   {"2025-01-02": {"1. open": ...}}`): `components.py`
//!   `ObjectDpathExtractor` (`record_selector.extractor.field_path`,
//!   `inject_key_as_field: date`) makes each value a record and puts its key
//!   in `date`. No paginator (one answer, `outputsize=compact`: the last 100
//!   points), no primary key, no incremental sync: every stream is full
//!   refresh, so the resume reads everything again (the new day included)
//!   and the mock sees no filter.
//! - `check` is `CheckStream` of `time_series_weekly` and
//!   `time_series_weekly_adjusted`.
//! - `base_requester.error_handler`: a body with `Error Message` is a FAIL
//!   "Alpha Vantage rejected the request: <message>" (the real API answers a
//!   bad key so, with status 200; the mock answers 401 with that body, and the
//!   filter matches on the body alone); `Information` is a premium endpoint
//!   (FAIL) or the rate limit (RATE_LIMITED); other errors (429, 5xx) are
//!   retried after a constant 5 s (`ConstantBackoffStrategy`, not
//!   `Retry-After`), five retries (`max_retries: 5`), then the stream fails.
//!   `api_budget` allows one call per 2 s, `concurrency_level` 1.
//!
//! Patches this needed (Flow needs a key; the upstream streams have none):
//! `streams/time_series_daily.pk.json` and
//! `streams/time_series_weekly_adjusted.pk.json` (`["date"]`, one record per
//! trading day or week), and `streams/<stream>.patch.json` declaring `date`
//! (a required `format: date` string), which the upstream schemas omit.
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::ids;
use crate::e2e::scenario::*;
use serde_json::{json, Value};

const KEY: &str = "MOCKAV7Q2K9X4T1E";

fn config_with(key: &str) -> Value {
    json!({"api_key": key, "symbol": "IBM", "interval": "5min", "adjusted": false, "outputsize": "compact"})
}

/// A full-refresh stream keyed by its `date`: read whole again on resume.
fn series(name: &'static str, resumed: usize) -> Stream {
    Stream {
        name,
        key: "/date",
        cursor: "date",
        kept: Kept::Nothing,
        filter: Filter::Unfiltered,
        resumed: Resumed::Count(resumed),
    }
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn alpha_vantage_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-alpha-vantage",
        config: config_with,
        credential: KEY,
        streams: vec![
            // 100 days (compact), then the same and one new day.
            series("time_series_daily", 101),
            // 60 weeks, then the same and one new week.
            series("time_series_weekly_adjusted", 61),
        ],
        discovered_cursor: false,
        discover_calls_api: false,
        refused: Some(Refused {
            credential: "WRONGAVKEY000000",
            message: &[
                "Alpha Vantage rejected the request: the parameter apikey is invalid or missing",
            ],
            call: (Some("time_series_weekly"), 401),
            first: true,
        }),
        rate_limited: RateLimited {
            route: "time_series_daily",
            status: 429,
            counts: &[100, 60],
            pages: &[("time_series_daily", 1), ("time_series_weekly_adjusted", 1)],
        },
        carried: Value::clone,
        state: StateShape::Mentions,
        resumed_state: ResumedState::Hooked,
        // weekly adjusted answers 500 until the five retries run out (5 s
        // apart, so beside the other steps on a second mock).
        failure: Some(Failure {
            scenario: "weekly_adjusted_down",
            stream: "time_series_weekly_adjusted",
            beside: true,
            counts: &[100, 0],
            errors: Errors::Exactly(6),
            reason: Reason::All(&["time_series_weekly_adjusted", "500"]),
            no_checkpoint_after: false,
            state: None,
        }),
        hooks: &AlphaVantage,
    });
}

struct AlphaVantage;

/// The query every stream's request carries (`request_parameters`).
fn assert_query(call: &mockapi::Recorded, function: &str) {
    for (name, want) in [
        ("function", function),
        ("apikey", KEY),
        ("symbol", "IBM"),
        ("datatype", "json"),
        ("outputsize", "compact"),
        ("interval", "5min"),
        ("adjusted", "false"),
    ] {
        assert_eq!(call.param(name), Some(want), "{name} of {call:?}");
    }
}

impl Hooks for AlphaVantage {
    /// The API key is a secret of the form.
    fn spec(&self, spec: &Value) {
        let key = &spec["configSchema"]["properties"]["api_key"];
        assert_eq!(key["secret"], true, "{key}");
        assert_eq!(
            spec["configSchema"]["required"],
            json!(["api_key", "symbol"])
        );
    }

    /// The patches: `date` is declared, required, a date.
    fn discovered(&self, s: &Scene) {
        for b in s.selected {
            let schema = &b["documentSchema"];
            assert_eq!(b["resourceConfig"]["syncMode"], "full_refresh", "{b}");
            assert_eq!(schema["required"], json!(["date"]), "{schema}");
            assert_eq!(
                schema["properties"]["date"],
                json!({"type": "string", "format": "date", "description": schema["properties"]["date"]["description"]})
            );
        }
    }

    /// The check reads the two weekly series, the key in the query.
    fn validated(&self, s: &Scene) {
        let calls = s.t.mock.requests();
        let routes: Vec<Option<&str>> = calls.iter().map(|c| c.route.as_deref()).collect();
        assert_eq!(
            routes,
            [
                Some("time_series_weekly"),
                Some("time_series_weekly_adjusted")
            ]
        );
        assert_query(&calls[0], "TIME_SERIES_WEEKLY");
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        first.assert_full_refresh(&["time_series_daily", "time_series_weekly_adjusted"]);
        let t = s.t;
        let daily = t.mock.requests_to("time_series_daily");
        // The 429, then the same call again (retried, not skipped).
        assert_eq!(daily.len(), 2, "{daily:?}");
        assert_eq!(daily[0].query, daily[1].query);
        assert_query(&daily[1], "TIME_SERIES_DAILY");
        assert_query(
            &t.mock.requests_to("time_series_weekly_adjusted")[0],
            "TIME_SERIES_WEEKLY_ADJUSTED",
        );
        // Each record is a value of the object, its key in `date`, in the
        // answer's order (newest first).
        let d = &first.docs[0];
        assert_eq!(d[0]["date"], "2026-12-03");
        assert_eq!(d[99]["date"], "2026-07-17");
        assert_eq!(d[0]["1. open"], "180.0000");
        assert_eq!(first.docs[1][0]["7. dividend amount"], "1.6700");
    }

    /// The failed stream claims no position: any state it has is the cdk's
    /// full-refresh marker; the daily series finished.
    fn failed(&self, _mock: &mockapi::MockApi, _first: &Capture, failed: &Capture) {
        let marker = json!({"__ab_no_cursor_state_message": true});
        let states = crate::e2e::binding_states(&failed.state);
        assert_eq!(states["time_series_daily"], marker, "{}", failed.state);
        if let Some(weekly) = states.get("time_series_weekly_adjusted") {
            assert_eq!(weekly, &marker, "{}", failed.state);
        }
    }

    /// Full refresh: the same requests, every record again and the new day.
    fn resumed(&self, s: &Scene, first: &Capture, second: &Capture) {
        for (i, (route, new)) in [
            ("time_series_daily", "2026-12-04"),
            ("time_series_weekly_adjusted", "2026-12-04"),
        ]
        .into_iter()
        .enumerate()
        {
            let calls = s.t.mock.requests_to(route);
            assert_eq!(calls.len(), 1, "{calls:?}");
            let dates = ids(&second.docs[i], "date");
            assert_eq!(dates.last(), Some(&json!(new)), "{route}");
            assert_eq!(&dates[..dates.len() - 1], &ids(&first.docs[i], "date")[..]);
        }
    }
}
