//! The format features `mockapi generate` writes (`crate::generate`): a
//! child route whose `{param}` segment accepts only its parents' ids, the
//! `sample` of the other parents' records, offset pages, and a token that
//! is the next page's whole URL. Answered through `routes::Api` without
//! sockets.

use mockapi::routes::{Answer, Api};
use mockapi::{Loaded, MockSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn api(routes: Value) -> Api {
    let spec: MockSpec = serde_json::from_value(json!({ "routes": routes })).unwrap();
    let records = (1..=5).map(|i| json!({"id": i})).collect();
    Api::new(Loaded {
        spec,
        data: BTreeMap::from([("r.json".to_string(), records)]),
        raw: BTreeMap::new(),
    })
}

fn get(api: &mut Api, path: &str, query: &[(&str, &str)]) -> Answer {
    let query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    api.answer("GET", "api.example.com", path, query, Vec::new())
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_child_route_accepts_its_parents_ids_and_samples_the_others() {
    let mut api = api(json!([{
        "name": "logs", "path": "/incidents/{incident_id}/log_entries", "data": "r.json",
        "records_key": "log_entries",
        "path_values": {"incident_id": ["a", "b"]},
        "sample": {"param": "incident_id", "full": ["a"], "records": 1}
    }]));
    let a = get(&mut api, "/incidents/a/log_entries", &[]);
    assert_eq!(ids(&a.body["log_entries"]), [1, 2, 3, 4, 5]);
    // Another parent: its last record only.
    let b = get(&mut api, "/incidents/b/log_entries", &[]);
    assert_eq!(ids(&b.body["log_entries"]), [5]);
    // Not a parent's id, or a segment more: no route.
    assert_eq!(get(&mut api, "/incidents/zz/log_entries", &[]).status, 404);
    assert_eq!(get(&mut api, "/incidents/a/b/log_entries", &[]).status, 404);
}

#[test]
fn offset_pages() {
    let mut api = api(json!([{
        "name": "r", "path": "/r", "data": "r.json",
        "pagination": {"style": "offset", "offset_param": "offset", "size_param": "limit", "default_size": 2}
    }]));
    assert_eq!(ids(&get(&mut api, "/r", &[]).body), [1, 2]);
    assert_eq!(ids(&get(&mut api, "/r", &[("offset", "2")]).body), [3, 4]);
    assert_eq!(
        ids(&get(&mut api, "/r", &[("offset", "4"), ("limit", "2")]).body),
        [5]
    );
    assert_eq!(
        ids(&get(&mut api, "/r", &[("offset", "9")]).body),
        Vec::<u64>::new()
    );
}

#[test]
fn a_token_that_is_the_next_pages_url() {
    let mut api = api(json!([{
        "name": "r", "path": "/v2/r", "data": "r.json",
        "pagination": {"style": "token", "token_param": "page_token", "token_path": "/next",
                       "records_key": "results", "size_param": "limit", "default_size": 3, "url": true}
    }]));
    let first = get(&mut api, "/v2/r", &[]);
    assert_eq!(ids(&first.body["results"]), [1, 2, 3]);
    let next = first.body["next"].as_str().unwrap();
    assert!(
        next.starts_with("https://api.example.com/v2/r?page_token="),
        "{next}"
    );
    let token = next.split("page_token=").nth(1).unwrap();
    let second = get(&mut api, "/v2/r", &[("page_token", token)]);
    assert_eq!(ids(&second.body["results"]), [4, 5]);
    assert!(second.body["next"].is_null());
}
