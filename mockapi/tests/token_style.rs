//! Next-page tokens in the body, through `routes::Api` (no sockets):
//! Calendly's `pagination.next_page_token` sent back as `page_token` (the
//! `token` style), and ChartMogul's `entries` paged by `start-after=<uuid>`
//! (the `cursor` style with its `records_key`).

use mockapi::routes::Api;
use mockapi::Loaded;
use serde_json::{json, Value};

fn api() -> (tempfile::TempDir, Api) {
    let dir = tempfile::tempdir().unwrap();
    let spec = json!({
        "routes": [
            {"name": "events", "path": "/scheduled_events", "data": "events.json",
             "pagination": {"style": "token", "token_param": "page_token",
                            "token_path": "/pagination/next_page_token",
                            "records_key": "collection", "size_param": "count", "default_size": 2},
             "filter": {"param": "min_start_time", "until_param": "max_start_time", "field": "start_time"}},
            {"name": "activities", "path": "/v1/activities", "data": "activities.json",
             "pagination": {"style": "cursor", "cursor_param": "start-after", "id_field": "uuid",
                            "size_param": "per_page", "default_size": 2, "records_key": "entries"}}
        ]
    });
    std::fs::write(dir.path().join("mock.json"), spec.to_string()).unwrap();
    let events = json!([
        {"uri": "e/3", "start_time": "2025-03-01T10:00:00.000000Z"},
        {"uri": "e/1", "start_time": "2025-01-01T10:00:00.000000Z"},
        {"uri": "e/2", "start_time": "2025-02-01T10:00:00.000000Z"},
        {"uri": "e/4", "start_time": "2025-04-01T10:00:00.000000Z"},
        {"uri": "e/5", "start_time": "2025-05-01T10:00:00.000000Z"}
    ]);
    std::fs::write(dir.path().join("events.json"), events.to_string()).unwrap();
    let activities = json!([{"uuid": "a-1"}, {"uuid": "a-2"}, {"uuid": "a-3"}]);
    std::fs::write(dir.path().join("activities.json"), activities.to_string()).unwrap();
    let api = Api::new(Loaded::read(dir.path()).unwrap());
    (dir, api)
}

fn get(api: &mut Api, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let answer = api.answer(
        "GET",
        "api.example.com",
        path,
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        vec![],
    );
    (answer.status, answer.body)
}

fn uris<'a>(body: &'a Value, key: &str, field: &str) -> Vec<&'a str> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap())
        .collect()
}

#[test]
fn a_token_at_a_body_path_pages_over_the_filtered_records_until_it_is_null() {
    let (_dir, mut api) = api();
    let window = [
        ("min_start_time", "2025-02-01T10:00:00.000000Z"),
        ("max_start_time", "2025-04-30T00:00:00Z"),
    ];
    let (status, first) = get(&mut api, "/scheduled_events", &window);
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        uris(&first, "collection", "uri"),
        ["e/2", "e/3"],
        "ordered by start_time, the bound inclusive, a page of 2"
    );
    let token = first["pagination"]["next_page_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {first}"));
    assert!(!token.contains('2'), "the token is opaque: {token}");

    let mut next = window.to_vec();
    next.push(("page_token", token));
    let (_, last) = get(&mut api, "/scheduled_events", &next);
    assert_eq!(uris(&last, "collection", "uri"), ["e/4"]);
    assert_eq!(last["pagination"]["next_page_token"], Value::Null, "{last}");

    // The size parameter and a token the mock never gave.
    let (_, three) = get(&mut api, "/scheduled_events", &[("count", "3")]);
    assert_eq!(uris(&three, "collection", "uri"), ["e/1", "e/2", "e/3"]);
    let (status, bad) = get(&mut api, "/scheduled_events", &[("page_token", "abc")]);
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["message"].as_str().unwrap().contains("\"abc\""),
        "{bad}"
    );
}

#[test]
fn the_cursor_style_puts_its_records_under_records_key() {
    let (_dir, mut api) = api();
    let (_, first) = get(&mut api, "/v1/activities", &[]);
    assert_eq!(uris(&first, "entries", "uuid"), ["a-1", "a-2"], "{first}");
    assert_eq!(first["has_more"], true);
    assert!(first.get("data").is_none(), "{first}");
    let (_, last) = get(&mut api, "/v1/activities", &[("start-after", "a-2")]);
    assert_eq!(uris(&last, "entries", "uuid"), ["a-3"]);
    assert_eq!(last["has_more"], false);
}

#[test]
fn a_filter_without_param_only_orders() {
    let dir = tempfile::tempdir().unwrap();
    let spec = json!({
        "routes": [
            {"name": "event_types", "path": "/event_types", "data": "types.json",
             "filter": {"field": "updated_at", "order": "desc"}}
        ]
    });
    std::fs::write(dir.path().join("mock.json"), spec.to_string()).unwrap();
    let types = json!([
        {"uri": "t/1", "updated_at": "2025-01-01T10:00:00.000000Z"},
        {"uri": "t/3", "updated_at": "2025-03-01T10:00:00.000000Z"},
        {"uri": "t/2", "updated_at": "2025-02-01T10:00:00.000000Z"}
    ]);
    std::fs::write(dir.path().join("types.json"), types.to_string()).unwrap();
    let mut api = Api::new(Loaded::read(dir.path()).unwrap());
    // Whatever the query says (an empty parameter name included), nothing is
    // dropped: newest first.
    let (_, body) = get(&mut api, "/event_types", &[("", "2025-02-15T00:00:00Z")]);
    let got: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["t/3", "t/2", "t/1"]);
}
