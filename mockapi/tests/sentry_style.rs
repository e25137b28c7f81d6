//! Sentry's habits (source-sentry's manifest.yaml): pages chained by the
//! `Link` header's `cursor` while its `next` link says `results="true"`,
//! records as a bare array; issues filtered by `query=lastSeen:>T` (a
//! prefixed, exclusive bound) and served newest first. Answered through
//! `routes::Api` without sockets.

use mockapi::routes::{Answer, Api};
use mockapi::{Loaded, MockSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn api() -> Api {
    let spec: MockSpec = serde_json::from_value(json!({
        "routes": [{"name": "issues", "path": "/api/0/projects/acme/backend/issues/", "data": "issues.json",
                    "pagination": {"style": "link_cursor", "default_size": 2},
                    "filter": {"param": "query", "field": "lastSeen", "prefix": "lastSeen:>",
                               "exclusive": true, "order": "desc"}}]
    }))
    .unwrap();
    let records = [
        "2025-01-01T00:00:00Z",
        "2025-03-01T00:00:00Z",
        "2025-02-01T00:00:00Z",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| json!({"id": i.to_string(), "lastSeen": t}))
    .collect();
    Api::new(Loaded {
        spec,
        data: BTreeMap::from([("issues.json".to_string(), records)]),
        raw: BTreeMap::new(),
    })
}

fn get(api: &mut Api, query: &[(&str, &str)]) -> Answer {
    let query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    api.answer(
        "GET",
        "sentry.io",
        "/api/0/projects/acme/backend/issues/",
        query,
        Vec::new(),
    )
}

fn ids(answer: &Answer) -> Vec<&str> {
    answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

fn link(answer: &Answer) -> &str {
    answer
        .headers
        .iter()
        .find(|(k, _)| k == "link")
        .map(|(_, v)| v.as_str())
        .expect("a link header")
}

/// `cursor="..."` of the `rel="next"` link.
fn next_cursor(link: &str) -> (&str, &str) {
    let next = link
        .split(", ")
        .find(|l| l.contains("rel=\"next\""))
        .unwrap();
    let attr = |name: &str| {
        let at = next.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        &next[at..at + next[at..].find('"').unwrap()]
    };
    (attr("results"), attr("cursor"))
}

#[test]
fn pages_follow_the_link_cursor_until_results_say_false() {
    let mut api = api();
    let first = get(&mut api, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(ids(&first), ["1", "2"], "newest first");
    let (results, cursor) = next_cursor(link(&first));
    assert_eq!((results, cursor), ("true", "0:2:0"));
    assert!(link(&first).contains("rel=\"previous\"; results=\"false\""));
    let cursor = cursor.to_string();
    let second = get(&mut api, &[("cursor", &cursor)]);
    assert_eq!(ids(&second), ["0"]);
    assert_eq!(next_cursor(link(&second)).0, "false", "the last page");
}

#[test]
fn a_prefixed_bound_filters_exclusively_and_a_foreign_cursor_is_refused() {
    let mut api = api();
    let after = get(
        &mut api,
        &[("query", "lastSeen:>2025-02-01T00:00:00.000000Z")],
    );
    assert_eq!(ids(&after), ["1"], "the record at the bound is left out");
    let all = get(&mut api, &[("query", "is:unresolved")]);
    assert_eq!(
        ids(&all),
        ["1", "2"],
        "a value without the prefix filters nothing"
    );
    let bad = get(&mut api, &[("cursor", "1700000000:0:0")]);
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["detail"],
        Value::from("mock: cursor \"1700000000:0:0\" is not one this mock gave")
    );
}
