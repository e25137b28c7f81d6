//! The mock API through real sockets and a real TLS client (rustls) that
//! trusts only the test CA: the CONNECT proxy with a certificate per host,
//! direct HTTPS, pagination, filters, 401, 429, 500 and the request log.

use mockapi::MockApi;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

const KEY: &str = "mock-test-api-key-0123456789abcdef0123456789abcdef";

fn write_spec(dir: &std::path::Path) {
    let spec = json!({
        "hosts": ["acme.example.com"],
        "auth": {"basic": {"username": KEY, "password": ""}},
        "unauthorized": {"code": "invalid_credentials"},
        "routes": [
            {"name": "items", "path": "/v2/items", "data": "items.json",
             "pagination": {"style": "page", "size_param": "per_page", "default_size": 3, "link": true},
             "filter": {"param": "updated_since", "field": "updated_at"}},
            {"name": "charges", "path": "/v1/charges", "data": "items.json",
             "pagination": {"style": "cursor", "default_size": 3},
             "filter": {"param": "created[gte]", "field": "created"}},
            {"name": "users", "path": "/v2/users", "data": "items.json",
             "pagination": {"style": "next_url", "records_key": "users", "default_size": 4}},
            {"name": "me", "path": "/v2/me", "body": {"id": 1}}
        ],
        "scenarios": {
            "limited": [{"route": "items", "status": 429, "times": 2, "retry_after": 7}],
            "down": [{"route": "me", "status": 500, "after": 1}],
            "more": [{"route": "items", "add_data": "more.json"}]
        }
    });
    std::fs::write(dir.join("mock.json"), spec.to_string()).unwrap();
    let items: Vec<Value> = (0..7)
        .map(|i| {
            json!({"id": format!("it_{i}"), "created": 1_700_000_000 + i * 10,
                   "updated_at": format!("2025-01-0{}T00:00:00Z", 1 + i)})
        })
        .collect();
    std::fs::write(dir.join("items.json"), Value::from(items).to_string()).unwrap();
    std::fs::write(
        dir.join("more.json"),
        json!([{"id": "it_new", "created": 1_800_000_000, "updated_at": "2025-02-01T00:00:00Z"}])
            .to_string(),
    )
    .unwrap();
}

fn start() -> (tempfile::TempDir, MockApi) {
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path());
    let mock = MockApi::start(dir.path()).unwrap();
    (dir, mock)
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn client_config(
    roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

fn ca_roots(mock: &MockApi) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    let pem = mock.ca_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    vec![rustls::pki_types::CertificateDer::from(der)]
}

/// One HTTPS GET, through the proxy (`via_connect`) or straight to the port,
/// verifying the server's certificate for `host` against `roots`.
fn get(
    mock: &MockApi,
    via_connect: bool,
    host: &str,
    path: &str,
    auth: Option<&str>,
    roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<Reply, String> {
    let mut tcp = TcpStream::connect(mock.addr()).unwrap();
    if via_connect {
        write!(
            tcp,
            "CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(client_config(roots), name).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: harness-test\r\n"
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer closing without close_notify after a complete response.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    })
}

fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
    )
}

fn ids(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap_or_else(|| {
            body["data"]
                .as_array()
                .or(body["users"].as_array())
                .unwrap()
        })
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[test]
fn proxy_connect_presents_a_certificate_per_host_signed_by_the_test_ca() {
    let (_dir, mock) = start();
    let roots = ca_roots(&mock);
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/me",
        Some(&basic()),
        &roots,
    )
    .unwrap();
    assert_eq!((r.status, r.body.clone()), (200, json!({"id": 1})));

    // Another host gets its own certificate (verified for that name) and a 404.
    let r = get(
        &mock,
        true,
        "other.example.org",
        "/v2/me",
        Some(&basic()),
        &roots,
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("other.example.org"));

    // A client that does not trust the test CA refuses the certificate.
    let err = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/me",
        Some(&basic()),
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );

    // Direct HTTPS: a certificate for 127.0.0.1.
    let r = get(&mock, false, "127.0.0.1", "/v2/me", Some(&basic()), &roots).unwrap();
    assert_eq!(r.status, 200);

    // The environment for connector processes points at this mock.
    let env: std::collections::BTreeMap<_, _> = mock.env().into_iter().collect();
    assert_eq!(env["HTTPS_PROXY"], mock.proxy_url());
    assert_eq!(
        std::fs::read_to_string(&env["REQUESTS_CA_BUNDLE"]).unwrap(),
        mock.ca_pem()
    );
    let site = std::path::Path::new(env["PYTHONPATH"].split(':').next().unwrap());
    assert!(std::fs::read_to_string(site.join("sitecustomize.py"))
        .unwrap()
        .contains("certifi.where = "));
}

#[test]
fn every_request_is_recorded_with_host_path_query_and_headers() {
    let (_dir, mock) = start();
    let roots = ca_roots(&mock);
    get(
        &mock,
        true,
        "acme.example.com",
        "/v2/items?per_page=2&updated_since=2025-01-03T00%3A00%3A00Z",
        Some(&basic()),
        &roots,
    )
    .unwrap();
    get(
        &mock,
        true,
        "acme.example.com",
        "/nowhere",
        Some(&basic()),
        &roots,
    )
    .unwrap();
    let log = mock.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].host, "acme.example.com");
    assert_eq!(log[0].path, "/v2/items");
    assert_eq!(log[0].param("updated_since"), Some("2025-01-03T00:00:00Z"));
    assert_eq!(log[0].param("per_page"), Some("2"));
    assert_eq!(log[0].header("User-Agent"), Some("harness-test"));
    assert_eq!(log[0].route.as_deref(), Some("items"));
    assert_eq!(log[0].status, 200);
    assert_eq!((log[1].route.clone(), log[1].status), (None, 404));
    assert_eq!(mock.requests_to("items").len(), 1);
    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[test]
fn page_pagination_with_link_headers_and_an_inclusive_filter() {
    let (_dir, mock) = start();
    let roots = ca_roots(&mock);
    let a = Some(basic());
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/items",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_0", "it_1", "it_2"]);
    let next = r.header("link").unwrap();
    assert_eq!(
        next,
        "<https://acme.example.com/v2/items?page=2>; rel=\"next\""
    );
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/items?page=3",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_6"]);
    assert_eq!(r.header("link"), None, "no next link on the last page");

    // Inclusive: the record at the bound comes again.
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/items?updated_since=2025-01-06T00:00:00Z&per_page=10",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_5", "it_6"]);

    // A scenario adds records that appear later.
    mock.activate("more").unwrap();
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/items?updated_since=2025-01-07T00:00:00Z",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_6", "it_new"]);
}

#[test]
fn cursor_and_next_url_pagination() {
    let (_dir, mock) = start();
    let roots = ca_roots(&mock);
    let a = Some(basic());
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v1/charges",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_0", "it_1", "it_2"]);
    assert_eq!(
        (r.body["object"].clone(), r.body["has_more"].clone()),
        (json!("list"), json!(true))
    );
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v1/charges?starting_after=it_5&limit=5",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_6"]);
    assert_eq!(r.body["has_more"], false);
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v1/charges?created%5Bgte%5D=1700000050",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_5", "it_6"], "numeric, inclusive");

    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/users",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_0", "it_1", "it_2", "it_3"]);
    assert_eq!(r.body["next_page"], 2);
    assert_eq!(r.body["total_pages"], 2);
    assert_eq!(
        r.body["links"]["next"],
        "https://acme.example.com/v2/users?page=2"
    );
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/users?page=2",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(ids(&r.body), ["it_4", "it_5", "it_6"]);
    assert_eq!(
        (r.body["next_page"].clone(), r.body["links"]["next"].clone()),
        (Value::Null, Value::Null)
    );
}

#[test]
fn a_bad_credential_gets_401_with_the_spec_body() {
    let (_dir, mock) = start();
    let roots = ca_roots(&mock);
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/me",
        Some("Basic d3Jvbmc6"),
        &roots,
    )
    .unwrap();
    assert_eq!(
        (r.status, r.body),
        (401, json!({"code": "invalid_credentials"}))
    );
    let r = get(&mock, true, "acme.example.com", "/v2/me", None, &roots).unwrap();
    assert_eq!(r.status, 401);
}

#[test]
fn rate_limits_and_server_errors_follow_their_scenarios() {
    let (_dir, mock) = start();
    let roots = ca_roots(&mock);
    let a = Some(basic());
    mock.activate("limited").unwrap();
    for _ in 0..2 {
        let r = get(
            &mock,
            true,
            "acme.example.com",
            "/v2/items",
            a.as_deref(),
            &roots,
        )
        .unwrap();
        assert_eq!((r.status, r.header("retry-after")), (429, Some("7")));
    }
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/items",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(r.status, 200, "only the first 2 calls are limited");

    mock.activate("down").unwrap();
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/me",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(r.status, 200, "the first call is good (after: 1)");
    for _ in 0..3 {
        let r = get(
            &mock,
            true,
            "acme.example.com",
            "/v2/me",
            a.as_deref(),
            &roots,
        )
        .unwrap();
        assert_eq!(r.status, 500);
    }
    mock.deactivate("down");
    let r = get(
        &mock,
        true,
        "acme.example.com",
        "/v2/me",
        a.as_deref(),
        &roots,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(mock
        .activate("nope")
        .unwrap_err()
        .to_string()
        .contains("\"nope\""));
}
