//! A mock of a connector's web API, for tests and `cargo xtask capture --mock`.
//!
//! [`MockApi::start`] reads a mock spec (`mock.json` and its data files, the
//! format is in [`spec`]), makes a test CA, and serves on one loopback port
//! both HTTPS (for connectors that take a base URL) and an HTTPS forward proxy
//! (`CONNECT`, for connectors with fixed hosts), terminating TLS with a
//! certificate for each host signed by the CA. Every request is recorded
//! ([`MockApi::requests`]). [`MockApi::env`] is the environment that makes a
//! Python Airbyte connector use the proxy and trust the CA; a process given it
//! passes it to its children (the connector binary passes its environment to
//! the Airbyte connector it runs).

mod export;
pub mod generate;
pub mod routes;
mod search;
mod server;
pub mod spec;
mod tls;

pub use routes::Recorded;
pub use server::{decode_query, encode_query};
pub use spec::{Loaded, MockSpec};

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A running mock; stops when dropped.
pub struct MockApi {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `sitecustomize.py`, imported by Python at start-up (site.py) before the
/// connector imports `requests`. airbyte-cdk sends with `Session.send()`,
/// which ignores `REQUESTS_CA_BUNDLE`; `requests` takes its default bundle
/// from `certifi.where()` (requests/utils.py `DEFAULT_CA_BUNDLE_PATH`,
/// requests/certs.py), so pointing that at the test CA is what every cdk
/// version honours.
const SITECUSTOMIZE: &str = r#"# written by mockapi: trust the mock API's test CA
import os

_bundle = os.environ.get("ATF_MOCK_CA_BUNDLE")
if _bundle:
    try:
        import certifi
        import certifi.core

        certifi.where = lambda: _bundle
        certifi.core.where = lambda: _bundle
    except ImportError:
        pass
"#;

impl MockApi {
    /// Starts the mock of the spec in `dir` (`dir/mock.json`).
    pub fn start(dir: &Path) -> anyhow::Result<MockApi> {
        MockApi::from_loaded(Loaded::read(dir)?)
    }

    pub fn from_loaded(loaded: Loaded) -> anyhow::Result<MockApi> {
        let ca = tls::Ca::new()?;
        let dir = tempfile::Builder::new().prefix("mockapi-").tempdir()?;
        std::fs::write(dir.path().join("ca.pem"), ca.pem())?;
        std::fs::write(dir.path().join("sitecustomize.py"), SITECUSTOMIZE)?;
        let shared = Arc::new(server::Shared {
            api: std::sync::Mutex::new(routes::Api::new(loaded)),
            ca,
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("cannot listen on a loopback port")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mockapi")
            .enable_all()
            .build()?;
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("mockapi".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => server::serve(l, s, rx).await,
                        Err(e) => eprintln!("mockapi: cannot serve: {e}"),
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(MockApi {
            addr,
            shared,
            dir,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>`: the base URL for connectors that take one.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>`: the proxy URL.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The test CA certificate (PEM file).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The test CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.shared.ca.pem()
    }

    /// The environment a connector process needs to reach this mock and
    /// trust its CA: the proxy (both spellings, since `requests` reads the
    /// lowercase one first), an empty `NO_PROXY`, the CA bundle for
    /// `requests`, OpenSSL and our `sitecustomize.py`, and `PYTHONPATH`
    /// with that file's folder first.
    pub fn env(&self) -> Vec<(String, String)> {
        let proxy = self.proxy_url();
        let ca = self.ca_file().display().to_string();
        let mut pythonpath = self.dir.path().display().to_string();
        if let Some(old) = std::env::var_os("PYTHONPATH") {
            if !old.is_empty() {
                pythonpath = format!("{pythonpath}:{}", old.to_string_lossy());
            }
        }
        [
            ("HTTPS_PROXY", proxy.clone()),
            ("https_proxy", proxy.clone()),
            ("HTTP_PROXY", proxy.clone()),
            ("http_proxy", proxy),
            ("NO_PROXY", String::new()),
            ("no_proxy", String::new()),
            ("REQUESTS_CA_BUNDLE", ca.clone()),
            ("SSL_CERT_FILE", ca.clone()),
            ("CURL_CA_BUNDLE", ca.clone()),
            ("ATF_MOCK_CA_BUNDLE", ca),
            ("PYTHONPATH", pythonpath),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Sets [`MockApi::env`] on a command.
    pub fn apply_env(&self, cmd: &mut std::process::Command) {
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.api.lock().unwrap().log.clone()
    }

    /// The requests so far that matched route `name`.
    pub fn requests_to(&self, route: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.route.as_deref() == Some(route))
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared.api.lock().unwrap().log.clear();
    }

    /// Turns on a scenario of the spec (its counters start at zero).
    pub fn activate(&self, scenario: &str) -> anyhow::Result<()> {
        self.shared.api.lock().unwrap().activate(scenario)
    }

    pub fn deactivate(&self, scenario: &str) {
        self.shared.api.lock().unwrap().deactivate(scenario)
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
