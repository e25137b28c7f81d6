//! Zendesk's incremental exports in the mock, through `routes::Api` (no
//! sockets): the cursor-based one (`start_time` in Unix seconds filtering
//! RFC 3339 `updated_at`, then `after_url` with only `cursor`, until
//! `end_of_stream`) and the time-based one (`next_page` from `end_time`, the
//! boundary record again, `end_of_stream` on a short page).

use mockapi::routes::Api;
use mockapi::Loaded;
use serde_json::{json, Value};

const TOKEN: &str = "mock-zendesk-oauth-token-0123456789abcdef0123456789abcdef";
const HOST: &str = "acme.zendesk.com";

fn api() -> (tempfile::TempDir, Api) {
    let dir = tempfile::tempdir().unwrap();
    let spec = json!({
        "hosts": [HOST],
        "auth": {"bearer": {"token": TOKEN}},
        "routes": [
            {"name": "users", "path": "/api/v2/incremental/users/cursor.json", "data": "items.json",
             "pagination": {"style": "after_url", "records_key": "users", "default_size": 2},
             "filter": {"param": "start_time", "field": "updated_at"}},
            {"name": "organizations", "path": "/api/v2/incremental/organizations", "data": "items.json",
             "pagination": {"style": "time_export", "records_key": "organizations", "default_size": 2},
             "filter": {"param": "start_time", "field": "updated_at"}}
        ]
    });
    std::fs::write(dir.path().join("mock.json"), spec.to_string()).unwrap();
    // 2025-01-01T00:00:00Z is 1735689600; out of file order on purpose.
    let items = json!([
        {"id": 3, "updated_at": "2025-01-03T00:00:00Z"},
        {"id": 1, "updated_at": "2025-01-01T00:00:00Z"},
        {"id": 2, "updated_at": "2025-01-02T00:00:00Z"},
        {"id": 4, "updated_at": "2025-01-04T00:00:00Z"},
        {"id": 5, "updated_at": "2025-01-05T00:00:00Z"}
    ]);
    std::fs::write(dir.path().join("items.json"), items.to_string()).unwrap();
    let api = Api::new(Loaded::read(dir.path()).unwrap());
    (dir, api)
}

fn get(api: &mut Api, path: &str, query: &[(String, String)]) -> (u16, Value) {
    let answer = api.answer(
        "GET",
        HOST,
        path,
        query.to_vec(),
        vec![("authorization".into(), format!("Bearer {TOKEN}"))],
    );
    (answer.status, answer.body)
}

/// The path and query of a URL the mock gave.
fn follow(url: &Value) -> (String, Vec<(String, String)>) {
    let url = url.as_str().unwrap();
    let rest = url.strip_prefix(&format!("https://{HOST}")).unwrap();
    let (path, q) = rest.split_once('?').unwrap();
    (path.to_string(), mockapi::decode_query(q))
}

fn ids(body: &Value, key: &str) -> Vec<i64> {
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn cursor_export_filters_by_unix_seconds_then_follows_after_url() {
    let (_dir, mut api) = api();
    let path = "/api/v2/incremental/users/cursor.json";
    // 2025-01-02T00:00:00Z: inclusive, so user 2 comes.
    let (status, first) = get(
        &mut api,
        path,
        &[("start_time".into(), "1735776000".into())],
    );
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first, "users"), [2, 3], "ordered by updated_at");
    assert_eq!(first["end_of_stream"], false);
    let (p, q) = follow(&first["after_url"]);
    assert_eq!(p, path);
    assert_eq!(q.len(), 1, "only the cursor: {q:?}");
    assert_eq!(
        q[0],
        (
            "cursor".to_string(),
            first["after_cursor"].as_str().unwrap().to_string()
        )
    );
    let (_, second) = get(&mut api, &p, &q);
    assert_eq!(ids(&second, "users"), [4, 5], "the cursor keeps the filter");
    assert_eq!(second["end_of_stream"], true, "nothing left");
    // The after_url at the end polls for later records: none yet.
    let (p, q) = follow(&second["after_url"]);
    let (_, last) = get(&mut api, &p, &q);
    assert_eq!(
        (ids(&last, "users"), &last["end_of_stream"]),
        (vec![], &json!(true))
    );
    // A cursor the mock never gave: 400.
    let (status, _) = get(&mut api, path, &[("cursor".into(), "bm9wZQ".into())]);
    assert_eq!(status, 400);
}

#[test]
fn time_export_pages_from_end_time_with_the_boundary_record_again() {
    let (_dir, mut api) = api();
    let path = "/api/v2/incremental/organizations";
    let (_, first) = get(
        &mut api,
        path,
        &[("start_time".into(), "1735689600".into())],
    );
    assert_eq!(ids(&first, "organizations"), [1, 2]);
    assert_eq!(
        (&first["count"], &first["end_time"]),
        (&json!(2), &json!(1735776000))
    );
    assert_eq!(first["end_of_stream"], false);
    let (p, q) = follow(&first["next_page"]);
    assert_eq!(q, [("start_time".to_string(), "1735776000".to_string())]);
    let (_, second) = get(&mut api, &p, &q);
    assert_eq!(
        ids(&second, "organizations"),
        [2, 3],
        "the boundary record again"
    );
    let (p, q) = follow(&second["next_page"]);
    let (_, third) = get(&mut api, &p, &q);
    assert_eq!(ids(&third, "organizations"), [3, 4]);
    let (p, q) = follow(&third["next_page"]);
    let (_, fourth) = get(&mut api, &p, &q);
    assert_eq!(ids(&fourth, "organizations"), [4, 5]);
    let (p, q) = follow(&fourth["next_page"]);
    let (_, last) = get(&mut api, &p, &q);
    assert_eq!(ids(&last, "organizations"), [5]);
    assert_eq!(
        (&last["end_of_stream"], &last["end_time"]),
        (&json!(true), &json!(1736035200))
    );
}
