//! Intercom's search style (`POST /contacts/search`): the body's query
//! evaluated, sorted, paged by `starting_after`; the spec's fixed headers on
//! every answer; and, through a real socket, the POST body recorded.

use base64::Engine;
use mockapi::routes::Api;
use mockapi::{Loaded, MockApi, MockSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

const TOKEN: &str = "mock-test-intercom-token-0123456789abcdef0123456789";

fn spec() -> Value {
    json!({
        "hosts": ["api.intercom.io"],
        "auth": {"bearer": {"token": TOKEN}},
        "headers": {"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "9990"},
        "routes": [{"name": "contacts", "method": "POST", "path": "/contacts/search",
                    "data": "contacts.json",
                    "pagination": {"style": "search", "default_size": 3}}]
    })
}

/// Seven contacts; `c3` and `c4` share the instant 1003.
fn contacts() -> Vec<Value> {
    [1000, 1001, 1002, 1003, 1003, 1005, 1006]
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| json!({"id": format!("c{i}"), "updated_at": t, "role": if i % 2 == 0 {"user"} else {"lead"}}))
        .collect()
}

fn api() -> Api {
    let spec: MockSpec = serde_json::from_value(spec()).unwrap();
    let data = BTreeMap::from([("contacts.json".to_string(), contacts())]);
    Api::new(Loaded {
        spec,
        data,
        raw: BTreeMap::new(),
    })
}

fn search(api: &mut Api, body: Value) -> (u16, Vec<(String, String)>, Value) {
    let headers = vec![("authorization".into(), format!("Bearer {TOKEN}"))];
    let a = api.answer_with_body(
        "POST",
        "api.intercom.io",
        "/contacts/search",
        Vec::new(),
        headers,
        Some(body),
    );
    (a.status, a.headers, a.body)
}

fn ids(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

/// What the upstream connector sends: `updated_at > X OR updated_at = X`.
fn since(x: i64) -> Value {
    json!({"operator": "OR", "value": [
        {"field": "updated_at", "operator": ">", "value": x},
        {"field": "updated_at", "operator": "=", "value": x}]})
}

#[test]
fn the_query_filters_the_sort_orders_and_starting_after_pages() {
    let mut api = api();
    let sort = json!({"field": "updated_at", "order": "ascending"});
    // First page: no pagination in the body, the default size.
    let (status, headers, body) = search(&mut api, json!({"query": since(1003), "sort": sort}));
    assert_eq!(status, 200, "{body}");
    // Ties keep the data file's order (the file lists c4 before c3).
    assert_eq!(ids(&body), ["c4", "c3", "c5"], "boundary instant included");
    assert_eq!(body["type"], "list");
    assert_eq!(body["total_count"], 4);
    assert_eq!(body["pages"]["total_pages"], 2);
    assert_eq!(body["pages"]["next"]["page"], 2);
    assert!(headers.contains(&("x-ratelimit-remaining".into(), "9990".into())));
    // The cursor is Intercom-like: base64 of [sort value, id, page].
    let next = body["pages"]["next"]["starting_after"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(next)
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&raw).unwrap(),
        json!([1005, "c5", 2])
    );
    let (_, _, body) = search(
        &mut api,
        json!({"query": since(1003), "sort": sort,
               "pagination": {"per_page": 150, "page": 2, "starting_after": next}}),
    );
    assert_eq!(ids(&body), ["c6"]);
    assert!(body["pages"].get("next").is_none(), "{body}");
    assert_eq!(body["pages"]["page"], 2);

    // AND, IN, descending order; `>` alone excludes the boundary.
    let (_, _, body) = search(
        &mut api,
        json!({"query": {"operator": "AND", "value": [
                  {"field": "updated_at", "operator": ">", "value": 1002},
                  {"field": "role", "operator": "IN", "value": ["user"]}]},
               "sort": {"field": "updated_at", "order": "descending"}}),
    );
    assert_eq!(ids(&body), ["c6", "c4"]);

    // Not Intercom's: a 400 naming the problem.
    let (status, _, body) = search(
        &mut api,
        json!({"query": {"field": "updated_at", "operator": ">=", "value": 1}}),
    );
    assert_eq!(status, 400);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("\">=\""));
    let (status, _, _) = search(
        &mut api,
        json!({"pagination": {"starting_after": "bm90IGEgY3Vyc29y"}}),
    );
    assert_eq!(status, 400);
}

#[test]
fn a_post_body_is_recorded_through_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mock.json"), spec().to_string()).unwrap();
    std::fs::write(
        dir.path().join("contacts.json"),
        Value::from(contacts()).to_string(),
    )
    .unwrap();
    let mock = MockApi::start(dir.path()).unwrap();

    // A TLS client that trusts only the test CA, straight to the port.
    let pem = mock.ca_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.into()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tcp = std::net::TcpStream::connect(mock.addr()).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let body = json!({"query": since(1005)}).to_string();
    write!(
        tls,
        "POST /contacts/search HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => panic!("{e}"),
    }
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("x-ratelimit-limit: 10000"),
        "{text}"
    );
    let (_, answer) = text.split_once("\r\n\r\n").unwrap();
    let answer: Value = serde_json::from_str(answer).unwrap();
    assert_eq!(ids(&answer), ["c6", "c5"]);

    let log = mock.requests_to("contacts");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].body_at("/query/value/0/value"), Some(&json!(1005)));
    assert_eq!(log[0].body, Some(json!({"query": since(1005)})));
}

#[test]
fn a_scroll_hands_back_its_param_until_the_data_runs_out() {
    let spec: MockSpec = serde_json::from_value(json!({
        "routes": [{"name": "companies", "path": "/companies/scroll", "data": "companies.json",
                    "pagination": {"style": "scroll", "default_size": 3}}]
    }))
    .unwrap();
    let data = BTreeMap::from([("companies.json".to_string(), contacts())]);
    let mut api = Api::new(Loaded {
        spec,
        data,
        raw: BTreeMap::new(),
    });
    let mut get = |query: Vec<(String, String)>| {
        let a = api.answer(
            "GET",
            "api.intercom.io",
            "/companies/scroll",
            query,
            Vec::new(),
        );
        (a.status, a.body)
    };
    let mut seen = Vec::new();
    let mut query = vec![("per_page".to_string(), "4".to_string())];
    let mut answers = 0;
    loop {
        let (status, body) = get(query.clone());
        assert_eq!(status, 200, "{body}");
        answers += 1;
        let page = ids(&body);
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|s| s.to_string()));
        let param = body["scroll_param"].as_str().unwrap().to_string();
        query = vec![
            ("per_page".into(), "4".into()),
            ("scroll_param".into(), param),
        ];
    }
    // Pages of 4 and 3, then the empty answer that ends the scroll.
    assert_eq!(answers, 3);
    assert_eq!(seen, ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]);
    let (status, body) = get(vec![("scroll_param".into(), "expired".into())]);
    assert_eq!(status, 404, "{body}");
    // Without per_page: the default size.
    assert_eq!(ids(&get(Vec::new()).1).len(), 3);
}
