//! `auth: {"all": [...]}`: a request passes only with every credential of the
//! list (Harvest sends a bearer token and its `Harvest-Account-Id` header),
//! answered through `routes::Api` without sockets.

use mockapi::routes::Api;
use mockapi::{Loaded, MockSpec};
use serde_json::json;
use std::collections::BTreeMap;

const TOKEN: &str = "mock-test-token-0123456789abcdef0123456789abcdef";

fn api() -> Api {
    let spec: MockSpec = serde_json::from_value(json!({
        "hosts": ["api.example.com"],
        "auth": {"all": [
            {"bearer": {"token": TOKEN}},
            {"header": {"name": "Harvest-Account-Id", "value": "1960341"}}
        ]},
        "unauthorized": {"error": "invalid_token"},
        "routes": [{"name": "company", "path": "/v2/company", "body": {"name": "Acme"}}]
    }))
    .unwrap();
    Api::new(Loaded {
        spec,
        data: BTreeMap::new(),

        raw: BTreeMap::new(),
    })
}

fn status(api: &mut Api, headers: &[(&str, &str)]) -> u16 {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    api.answer("GET", "api.example.com", "/v2/company", Vec::new(), headers)
        .status
}

#[test]
fn all_credentials_of_the_list_are_required() {
    let mut api = api();
    let bearer = format!("Bearer {TOKEN}");
    let both = [
        ("authorization", bearer.as_str()),
        ("harvest-account-id", "1960341"),
    ];
    // The spec's mixed-case header name matches the server's lowercase one.
    assert_eq!(status(&mut api, &both), 200);
    assert_eq!(status(&mut api, &both[..1]), 401, "no account header");
    assert_eq!(status(&mut api, &both[1..]), 401, "no token");
    assert_eq!(
        status(
            &mut api,
            &[("authorization", &bearer), ("harvest-account-id", "1")]
        ),
        401,
        "a wrong account"
    );
    assert_eq!(
        status(
            &mut api,
            &[
                ("authorization", "Bearer wrong"),
                ("harvest-account-id", "1960341")
            ]
        ),
        401,
        "a wrong token"
    );
}

#[test]
fn the_all_form_is_read_from_mock_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mock.json"),
        json!({"auth": {"all": [{"bearer": {"token": "t"}}, {"header": {"name": "X-A", "value": "1"}}]},
               "routes": [{"name": "me", "path": "/me", "body": {}}]})
        .to_string(),
    )
    .unwrap();
    let loaded = Loaded::read(dir.path()).unwrap();
    assert!(matches!(
        loaded.spec.auth,
        Some(mockapi::spec::Auth::All(ref a)) if a.len() == 2
    ));
}
