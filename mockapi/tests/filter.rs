//! A filter `field` starting with `/` is a JSON pointer into the record
//! (GitHub's `since` on commits compares `commit.committer.date`): records
//! are kept from the bound on (inclusive) and ordered by that nested value;
//! a record without it is dropped by a bound. Answered through `routes::Api`
//! without sockets.

use mockapi::routes::Api;
use mockapi::{Loaded, MockSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn commit(sha: &str, date: Option<&str>) -> Value {
    match date {
        Some(d) => json!({"sha": sha, "commit": {"committer": {"date": d}}}),
        None => json!({"sha": sha, "commit": {}}),
    }
}

fn api() -> Api {
    let spec: MockSpec = serde_json::from_value(json!({
        "routes": [{"name": "commits", "path": "/repos/acme/widgets/commits", "data": "commits.json",
                    "pagination": {"style": "page", "size_param": "per_page", "default_size": 30, "link": true},
                    "filter": {"param": "since", "field": "/commit/committer/date"}}]
    }))
    .unwrap();
    let records = vec![
        commit("c", Some("2025-03-01T00:00:00Z")),
        commit("a", Some("2025-01-01T00:00:00Z")),
        commit("none", None),
        commit("b", Some("2025-02-01T00:00:00Z")),
    ];
    Api::new(Loaded {
        spec,
        data: BTreeMap::from([("commits.json".to_string(), records)]),

        raw: BTreeMap::new(),
    })
}

fn shas(api: &mut Api, query: &[(&str, &str)]) -> Vec<String> {
    let query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let answer = api.answer(
        "GET",
        "127.0.0.1",
        "/repos/acme/widgets/commits",
        query,
        Vec::new(),
    );
    assert_eq!(answer.status, 200);
    answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_pointer_field_filters_and_orders_by_the_nested_value() {
    let mut api = api();
    // Ordered by the nested date; the record without one sorts first.
    assert_eq!(shas(&mut api, &[]), ["none", "a", "b", "c"]);
    // Inclusive at the bound; a record without the field is dropped.
    assert_eq!(
        shas(&mut api, &[("since", "2025-02-01T00:00:00Z")]),
        ["b", "c"]
    );
    assert_eq!(
        shas(&mut api, &[("since", "2025-03-01T00:00:01Z")]),
        Vec::<String>::new()
    );
}
