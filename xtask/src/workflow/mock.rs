//! `cargo xtask capture source-x --mock`: the connector's mock API
//! (`connectors/source-x/tests/mock/`, format in `mockapi::spec`) served on
//! loopback while the capture runs, so a developer can watch the real
//! connector run offline.
//!
//! The mock's environment (proxy, CA trust) is set on this process, so the
//! connector binary inherits it and passes it to the Airbyte connector.

use anyhow::Context;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A mock served for one command.
pub struct MockRun {
    mock: mockapi::MockApi,
    dir: std::path::PathBuf,
    streams: Vec<String>,
    /// The variables the mock set on this process and what they were
    /// before, put back on drop: a later provision (pip) or cargo of the
    /// same process (`cargo xtask bench` records several connectors) must
    /// not go through a proxy that is gone.
    saved_env: Vec<(String, Option<std::ffi::OsString>)>,
}

/// The file beside `mock.json` holding the config that points the connector
/// at the mock; `{{mock_url}}` in a string becomes the mock's base URL.
const CONFIG: &str = "config.json";

impl MockRun {
    pub fn start(connector_dir: &Path, scenarios: &[String]) -> anyhow::Result<MockRun> {
        let dir = connector_dir.join("tests/mock");
        let loaded = mockapi::Loaded::read(&dir).with_context(|| {
            format!(
                "connector {} has no usable mock API: add tests/mock/mock.json (format: mockapi/src/spec.rs)",
                connector_dir.display()
            )
        })?;
        let streams = loaded.spec.streams.clone();
        let mock = mockapi::MockApi::from_loaded(loaded)?;
        for s in scenarios {
            mock.activate(s)?;
        }
        let mut saved_env = Vec::new();
        for (k, v) in mock.env() {
            saved_env.push((k.to_string(), std::env::var_os(&k)));
            std::env::set_var(k, v);
        }
        eprintln!(
            "mock: serving {} on {} (scenarios: {})",
            dir.display(),
            mock.addr(),
            if scenarios.is_empty() {
                "none".to_string()
            } else {
                scenarios.join(", ")
            }
        );
        Ok(MockRun {
            mock,
            dir,
            streams,
            saved_env,
        })
    }

    /// The config of `tests/mock/config.json`, pointed at the mock.
    pub fn config(&self) -> anyhow::Result<Value> {
        let path = self.dir.join(CONFIG);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the mock config {}: add it", path.display()))?;
        let text = text.replace("{{mock_url}}", &self.mock.url());
        serde_json::from_str(&text)
            .with_context(|| format!("mock config {} is not JSON: fix it", path.display()))
    }

    /// A catalog of the discovered bindings of the streams the mock serves
    /// (`streams` of mock.json; every enabled binding when it names none).
    pub fn catalog(&self, fresh: &BTreeMap<String, Value>) -> Value {
        let bindings: Vec<Value> = fresh
            .values()
            .filter(|b| {
                let stream = b["resourceConfig"]["stream"].as_str().unwrap_or("");
                if self.streams.is_empty() {
                    b["disable"].as_bool() != Some(true)
                } else {
                    self.streams.iter().any(|s| s == stream)
                }
            })
            .map(|b| {
                let mut b = b.clone();
                b["disable"] = Value::Bool(false);
                b
            })
            .collect();
        serde_json::json!({ "bindings": bindings })
    }

    /// One line per request the mock answered.
    pub fn report(&self) {
        let log = self.mock.requests();
        eprintln!("mock: {} request(s):", log.len());
        for r in &log {
            let query = mockapi::encode_query(&r.query);
            eprintln!(
                "  {} {}{}{} -> {} ({})",
                r.method,
                r.host,
                r.path,
                if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                },
                r.status,
                r.route.as_deref().unwrap_or("no route")
            );
        }
    }
}

impl Drop for MockRun {
    fn drop(&mut self) {
        for (k, old) in self.saved_env.drain(..).rev() {
            match old {
                Some(v) => std::env::set_var(&k, v),
                None => std::env::remove_var(&k),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo xtask bench` records one connector after another in one
    /// process: a provision (pip) after the first mock went through its dead
    /// proxy and CA file until the variables were put back on drop.
    #[test]
    fn the_mock_environment_is_put_back_on_drop() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let before = std::env::var_os("HTTPS_PROXY");
        let mock = MockRun::start(&root.join("connectors/source-freshdesk"), &[]).unwrap();
        let during = std::env::var_os("HTTPS_PROXY");
        assert!(
            during.is_some() && during != before,
            "the mock sets its proxy"
        );
        drop(mock);
        assert_eq!(std::env::var_os("HTTPS_PROXY"), before);
    }
}
