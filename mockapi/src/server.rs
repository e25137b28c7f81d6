//! The listener: one loopback port that is both an HTTPS server (a TLS
//! handshake first: the connector was pointed at `https://127.0.0.1:<port>`)
//! and an HTTPS forward proxy (`CONNECT host:443` first, as `requests` sends
//! through `HTTPS_PROXY`: the mock answers 200 and then terminates TLS itself
//! with a certificate for `host` from the test CA).

use crate::routes::Api;
use crate::tls::Ca;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub(crate) struct Shared {
    pub api: Mutex<Api>,
    pub ca: Ca,
}

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(tcp, shared).await {
                        eprintln!("mockapi: connection failed: {e:#}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
}

async fn connection(mut tcp: TcpStream, shared: Arc<Shared>) -> anyhow::Result<()> {
    let mut first = [0u8; 1];
    if tcp.peek(&mut first).await? == 0 {
        return Ok(());
    }
    // 0x16: a TLS handshake record (RFC 8446 5.1): a direct HTTPS request.
    let connect_host = if first[0] == 0x16 {
        None
    } else {
        let head = read_head(&mut tcp).await?;
        let line = head.lines().next().unwrap_or("");
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("CONNECT"), Some(target)) => {
                let host = target
                    .rsplit_once(':')
                    .map_or(target, |(h, _)| h)
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string();
                tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await?;
                Some(host)
            }
            _ => {
                tcp.write_all(
                    b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await?;
                anyhow::bail!("mockapi serves HTTPS and CONNECT only, not \"{line}\"");
            }
        }
    };
    let config = shared
        .ca
        .config_for(connect_host.as_deref().unwrap_or("127.0.0.1"))?;
    let tls = TlsAcceptor::from(config).accept(tcp).await?;
    let service = service_fn(move |req| {
        let shared = shared.clone();
        let host = connect_host.clone();
        async move { Ok::<_, Infallible>(handle(req, host, &shared).await) }
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await?;
    Ok(())
}

/// Reads a request head (up to the blank line) byte by byte, so nothing of
/// the TLS handshake after it is consumed.
async fn read_head(tcp: &mut TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            anyhow::bail!("request head longer than 16 KiB");
        }
        let b = tcp.read_u8().await?;
        head.push(b);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    connect_host: Option<String>,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let host = connect_host.unwrap_or_else(|| {
        let h = headers
            .iter()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.as_str())
            .unwrap_or("127.0.0.1");
        h.rsplit_once(':').map_or(h, |(h, _)| h).to_string()
    });
    let query = decode_query(req.uri().query().unwrap_or(""));
    let (parts, body) = req.into_parts();
    // The body as JSON (a search's query), else as a string, else none.
    let body = match body.collect().await.map(|b| b.to_bytes()) {
        Ok(b) if !b.is_empty() => Some(
            serde_json::from_slice(&b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned())),
        ),
        _ => None,
    };
    let answer = shared.api.lock().unwrap().answer_with_body(
        parts.method.as_str(),
        &host,
        parts.uri.path(),
        query,
        headers,
        body,
    );
    let (content_type, bytes) = match answer.raw {
        Some(raw) => ("application/octet-stream", raw),
        None => (
            "application/json",
            serde_json::to_vec(&answer.body).unwrap_or_default(),
        ),
    };
    let mut resp = Response::builder()
        .status(answer.status)
        .header("content-type", content_type);
    for (k, v) in &answer.headers {
        resp = resp.header(k.as_str(), v.as_str());
    }
    resp.body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// `a=1&b=x%20y` as decoded pairs (`+` is a space, as in forms).
pub fn decode_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The inverse of [`decode_query`]: unreserved characters (RFC 3986 2.3) as
/// they are, everything else percent-encoded.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|c| match c {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (c as char).to_string()
                }
                c => format!("%{c:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
