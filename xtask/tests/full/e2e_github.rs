//! `source-github` end to end: its binary built by `cargo xtask build`, the
//! real upstream connector (airbyte-source-github 2.7.1 from PyPI on Python
//! 3.11 with airbyte-cdk 7.39.1, as provisioned), and the mock of GitHub's
//! REST API in `connectors/source-github/tests/mock/` reached through the
//! mock's HTTPS proxy at the default `api_url` (`https://api.github.com/`),
//! configured for one repository, `acme/widgets`.
//!
//! GitHub habits the mock meets, from the upstream code (all streams are
//! declarative since 2.7.0: `source_github/manifest.yaml`, with
//! `source_github/source.py` and `components.py`):
//! - `requester_base`: `Authorization: token <personal_access_token>`
//!   (`RateLimitedMultipleTokenAuthenticator`, `auth_method: token`), which
//!   first seeds its quota from `GET /rate_limit` (`quota_status_source`).
//! - Repository resolution (`repository_partition_router`): an explicit
//!   `org/repo` is `GET /repos/acme/widgets` (`repository_stats`), giving the
//!   partition and its `default_branch`.
//! - `issues`: `GET /repos/{repo}/issues?per_page=10&state=all&sort=updated
//!   &direction=asc&since=<cursor>` (`large_stream_page_size` is 10;
//!   `server_side_since_cursor`: `since` is the start date, or the state's
//!   `updated_at`, inclusive at GitHub, so the boundary issue comes again).
//! - `commits`: `GET /repos/{repo}/branches` (`repository_branches_resolver`),
//!   then per branch (`CommitsBranchPartitionRouter`: the configured
//!   `branches`, else the default branch) `GET /repos/{repo}/commits
//!   ?per_page=100&sha=<branch>&since=<cursor>`; the cursor is `created_at`,
//!   copied from `commit.author.date` (an `AddFields`), state per branch.
//! - Pages: `page_link_paginator` follows the `Link: <...>; rel="next"` URL
//!   until there is none.
//! - `check` (`SourceGithub.check_connection`) resolves the repositories with
//!   the same routers; a 401 (first from `/rate_limit`) becomes "GitHub
//!   authentication failed (HTTP 401)..." (`user_friendly_error_message`).
//! - Errors (`rate_limit_backoff_strategies`, `skip_inaccessible_error_handler`):
//!   any response with `Retry-After` is RATE_LIMITED and waits that long
//!   (`WaitTimeFromHeader`); without it a 5xx waits the 60 s floor of
//!   `WaitUntilTimeFromHeader`, so the mock's 403, 429 and 500
//!   carry `Retry-After: 1`. Five retries (`DefaultErrorHandler.max_retries`,
//!   airbyte_cdk/sources/streams/http/http_client.py), then the stream fails;
//!   `continue_sync_on_stream_failure` lets the other streams finish first,
//!   then the read fails with "the following streams did not sync
//!   successfully". A 500 with `Retry-After` is reported as "GitHub rate
//!   limit hit" (the filter cannot see the status).
//! - Rate limiting: the test's is GitHub's secondary limit, 403 with
//!   `Retry-After` (scenario `rate_limited`). A 429 is survived the same way
//!   (scenario `rate_limited_429`, `cargo xtask capture source-github --mock
//!   --scenario rate_limited_429`) but stalls every stream for up to a
//!   minute: the manifest's `api_budget` (`HTTPAPIBudget`, 900 calls a
//!   minute) reads a 429 without a `ratelimit-remaining` header as "no calls
//!   left" (`HttpAPIBudget.get_calls_left_from_response` in
//!   airbyte_cdk/sources/streams/call_rate.py), and GitHub sends
//!   `X-RateLimit-Remaining` instead; measured 72.8 s against 11.2 s for the
//!   same capture, so the test leaves it out.
//! - State (`ConcurrentPerPartitionCursor`): per stream, a cursor per
//!   partition (repository; branch for commits) and a global one.
//!
//! Patches this needed: none for the streams (every captured issue and
//! commit is valid against the upstream schemas); `spec.patch.json` gained a
//! `start_date` description without HTML.
//!
//! One test function: the requests share one build and run in order; the
//! steps are the common scenario (`e2e/scenario.rs`), this file its case.

use crate::e2e::scenario::*;
use crate::e2e::{binding_states, checkpoints_after_last_document};
use mockapi::MockApi;
use serde_json::{json, Value};

const TOKEN: &str = "ghp_mockGithubPersonalAccessToken7c3e9a1f5b2d8e4c6a0f9b1d";

fn config_with(token: &str) -> Value {
    json!({
        "credentials": {"option_title": "PAT Credentials", "personal_access_token": token},
        "repositories": ["acme/widgets"],
        "start_date": "2025-01-01T00:00:00Z",
        "api_url": "https://api.github.com/",
    })
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn github_spec_discover_validate_capture_resume_and_failures() {
    run(&Case {
        connector: "source-github",
        config: config_with,
        credential: TOKEN,
        streams: vec![
            // the boundary issue and two new ones.
            Stream::new(
                "issues",
                "updated_at",
                "since",
                Resumed::Ids("number", json!([12, 13, 14])),
            ),
            // the boundary commit and two new ones.
            Stream {
                key: "/sha",
                ..Stream::new("commits", "created_at", "since", Resumed::Count(3))
            },
        ],
        discovered_cursor: false,
        discover_calls_api: true,
        // The authenticator seeds its quota first: that is the refused call.
        refused: Some(Refused {
            credential: "ghp_mockWrongToken000000000000000000000000000000",
            message: &["GitHub authentication failed (HTTP 401)"],
            call: (Some("rate_limit"), 401),
            first: true,
        }),
        // GitHub's secondary limit: 403 with `Retry-After`.
        rate_limited: RateLimited {
            route: "issues",
            status: 403,
            counts: &[12, 105],
            pages: &[("issues", 2), ("commits", 2)],
        },
        carried: Value::clone,
        state: StateShape::Object {
            at: "/state",
            only: false,
        },
        resumed_state: ResumedState::Cursors(json!([
            "2025-06-01T10:00:01Z",
            "2025-06-02T09:00:01Z"
        ])),
        // commits answers 500 after its first page until the retries run out.
        failure: Some(Failure {
            scenario: "commits_down",
            stream: "commits",
            beside: false,
            counts: &[12, 100],
            errors: Errors::Exactly(6),
            reason: Reason::All(&[
                "the following streams did not sync successfully: commits",
                "Exhausted available request attempts",
            ]),
            no_checkpoint_after: false,
            state: None,
        }),
        hooks: &Github,
    });
}

struct Github;

impl Hooks for Github {
    /// Our patches made the token a secret, dropped the deprecated
    /// `repository`, and keep the start date's description free of HTML.
    fn spec(&self, spec: &Value) {
        let props = &spec["configSchema"]["properties"];
        assert!(props.get("repository").is_none(), "{props}");
        let pat = props["credentials"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["title"] == "Personal Access Token")
            .unwrap_or_else(|| panic!("no PAT option: {props}"));
        assert_eq!(
            pat["properties"]["personal_access_token"]["secret"], true,
            "{pat}"
        );
        assert!(
            !props["start_date"]["description"]
                .as_str()
                .unwrap()
                .contains("<a "),
            "{props}"
        );
    }

    fn validated(&self, s: &Scene) {
        let repo = s.t.mock.requests_to("repository");
        let call = repo.last().unwrap();
        assert_eq!(call.status, 200);
        assert_eq!(
            call.header("authorization"),
            Some(format!("token {TOKEN}").as_str())
        );
    }

    fn captured(&self, s: &Scene, first: &Capture) {
        let mock = &s.t.mock;
        let issues = mock.requests_to("issues");
        assert_eq!(issues[1].param("per_page"), Some("10"));
        assert_eq!(issues[1].param("state"), Some("all"));
        assert_eq!(
            issues[1].param("since"),
            Some("2025-01-01T00:00:00Z"),
            "the start date is the first filter"
        );
        assert_eq!(issues[2].param("page"), Some("2"), "the Link URL followed");
        let commits = mock.requests_to("commits");
        assert_eq!(commits[0].param("sha"), Some("main"), "the default branch");
        assert_eq!(commits[0].param("since"), Some("2025-01-01T00:00:00Z"));
        assert_eq!(commits[1].param("page"), Some("2"));
        let docs = &first.docs;
        assert!(docs[0].iter().all(|d| d["repository"] == "acme/widgets"));
        assert!(docs[1].iter().all(|d| d["branch"] == "main"));

        // The cursors, per partition (repository; branch for commits) too.
        let (i_max, c_max) = (&first.cursors[0], &first.cursors[1]);
        assert_eq!(
            (i_max, c_max),
            (
                &json!("2025-03-13T09:17:00Z"),
                &json!("2025-03-04T18:15:00Z")
            )
        );
        let state = &first.state;
        let states = binding_states(state);
        assert_eq!(
            states["issues"]["states"],
            json!([{"partition": {"repository": "acme/widgets"}, "cursor": {"updated_at": i_max}}]),
            "{state}"
        );
        assert_eq!(
            states["commits"]["states"],
            json!([{"partition": {"branch": "main", "parent_slice": {"repository": "acme/widgets"}},
                    "cursor": {"created_at": c_max}}]),
            "{state}"
        );
    }

    fn resumed(&self, _s: &Scene, first: &Capture, second: &Capture) {
        assert_eq!(
            second.docs[1][0]["created_at"], first.cursors[1],
            "the boundary commit comes first"
        );
    }

    /// Issues finish while commits fail, so their checkpoints may come
    /// later; the connector does checkpoint commits after the failure, but
    /// with the partition's starting cursor (the start date), so no progress
    /// past the last good commit is committed and a resume reads commits
    /// again.
    fn failed(&self, _mock: &MockApi, first: &Capture, failed: &Capture) {
        let start = json!([{"partition": {"branch": "main", "parent_slice": {"repository": "acme/widgets"}},
                            "cursor": {"created_at": "2025-01-01T00:00:00Z"}}]);
        let later = checkpoints_after_last_document(&failed.run, 1);
        for c in &later {
            let commits = &c["state"]["updated"]["bindingStateV1"]["commits"];
            assert!(
                commits.is_null() || commits["states"] == start,
                "a checkpoint after the last good commit moves commits on: {c}"
            );
        }
        let state3 = &failed.state;
        assert_eq!(
            binding_states(state3)["issues"]["state"],
            json!({"updated_at": first.cursors[0]}),
            "{state3}"
        );
        assert_eq!(
            binding_states(state3)["commits"]["states"],
            start,
            "{state3}"
        );
        assert!(
            !state3
                .to_string()
                .contains(first.cursors[1].as_str().unwrap()),
            "no commit cursor progress after a failed read: {state3}"
        );
    }
}
