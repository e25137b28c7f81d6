//! What Braze's and Alpha Vantage's connectors need of the mock, answered
//! through `routes::Api` without sockets: an API key as a query parameter
//! (`auth.query`), routes on one path told apart by a query parameter
//! (`route.query`), records answered as an object keyed by a field
//! (`object_by`), and 0-based page numbers (`first_page`).

use mockapi::routes::{Answer, Api};
use mockapi::{Loaded, MockSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn api(spec: Value, data: &[(&str, Vec<Value>)]) -> Api {
    let spec: MockSpec = serde_json::from_value(spec).unwrap();
    Api::new(Loaded {
        spec,
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        raw: BTreeMap::new(),
    })
}

fn get(api: &mut Api, path: &str, query: &[(&str, &str)]) -> Answer {
    let query = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    api.answer("GET", "127.0.0.1", path, query, Vec::new())
}

fn alpha_vantage() -> Api {
    api(
        json!({
            "auth": {"query": {"name": "apikey", "value": "mock-key"}},
            "unauthorized": {"Error Message": "the parameter apikey is invalid or missing"},
            "routes": [
                {"name": "daily", "path": "/query", "query": {"function": "TIME_SERIES_DAILY"},
                 "data": "daily.json", "records_key": "Time Series (Daily)", "object_by": "date"},
                {"name": "weekly", "path": "/query", "query": {"function": "TIME_SERIES_WEEKLY"},
                 "data": "weekly.json", "object_by": "date"}
            ]
        }),
        &[
            (
                "daily.json",
                vec![
                    json!({"date": "2025-01-03", "1. open": "2.0"}),
                    json!({"date": "2025-01-02", "1. open": "1.0"}),
                ],
            ),
            (
                "weekly.json",
                vec![json!({"date": "2025-01-03", "1. open": "3.0"})],
            ),
        ],
    )
}

#[test]
fn an_api_key_in_the_query_is_the_credential() {
    let mut api = alpha_vantage();
    let q = [("function", "TIME_SERIES_DAILY")];
    let answer = get(&mut api, "/query", &q);
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.body["Error Message"],
        "the parameter apikey is invalid or missing"
    );
    let wrong = get(&mut api, "/query", &[q[0], ("apikey", "other")]);
    assert_eq!(wrong.status, 401);
    assert_eq!(
        get(&mut api, "/query", &[q[0], ("apikey", "mock-key")]).status,
        200
    );
}

#[test]
fn a_query_parameter_picks_the_route_and_records_come_keyed_by_a_field() {
    let mut api = alpha_vantage();
    let daily = get(
        &mut api,
        "/query",
        &[("function", "TIME_SERIES_DAILY"), ("apikey", "mock-key")],
    );
    // In the file's order, the key field taken out of each record.
    assert_eq!(
        serde_json::to_string(&daily.body).unwrap(),
        r#"{"Time Series (Daily)":{"2025-01-03":{"1. open":"2.0"},"2025-01-02":{"1. open":"1.0"}}}"#
    );
    let weekly = get(
        &mut api,
        "/query",
        &[("apikey", "mock-key"), ("function", "TIME_SERIES_WEEKLY")],
    );
    assert_eq!(weekly.body, json!({"2025-01-03": {"1. open": "3.0"}}));
    let none = get(
        &mut api,
        "/query",
        &[("function", "GLOBAL_QUOTE"), ("apikey", "mock-key")],
    );
    assert_eq!(none.status, 404, "no route has that function");
}

fn braze() -> Api {
    let campaigns: Vec<Value> = (0..5).map(|i| json!({"id": format!("c{i}")})).collect();
    api(
        json!({
            "routes": [
                {"name": "campaigns", "path": "/campaigns/list", "data": "campaigns.json",
                 "records_key": "campaigns",
                 "pagination": {"style": "page", "first_page": 0, "size_param": "page_size", "default_size": 2}}
            ]
        }),
        &[("campaigns.json", campaigns)],
    )
}

fn ids(answer: &Answer, key: &str, field: &str) -> Vec<String> {
    assert_eq!(answer.status, 200);
    answer.body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn zero_based_pages_start_without_the_parameter() {
    let mut api = braze();
    let page =
        |api: &mut Api, q: &[(&str, &str)]| ids(&get(api, "/campaigns/list", q), "campaigns", "id");
    assert_eq!(page(&mut api, &[]), ["c0", "c1"]);
    assert_eq!(page(&mut api, &[("page", "0")]), ["c0", "c1"]);
    assert_eq!(page(&mut api, &[("page", "1")]), ["c2", "c3"]);
    assert_eq!(page(&mut api, &[("page", "2")]), ["c4"]);
    assert!(page(&mut api, &[("page", "3")]).is_empty());
}
