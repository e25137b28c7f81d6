//! `cargo xtask capture source-x --mock`: the connector's mock API
//! (`connectors/source-x/tests/mock/`, format in `mockapi::spec`) served on
//! loopback while the capture runs, so a developer can watch the real
//! connector run offline.
//!
//! The mock's environment (proxy, CA trust) is set on this process, so the
//! connector binary inherits it and passes it to the Airbyte connector.

use crate::steps::declarative;
use anyhow::{bail, Context};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A mock served for one command, by the `mockapi` binary (`crate::ground::tool`):
/// its first stdout line says where it serves; it stops and lists the
/// requests it answered when its stdin closes.
pub struct MockRun {
    child: Child,
    stdout: BufReader<ChildStdout>,
    dir: std::path::PathBuf,
    url: String,
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
        if !dir.join("mock.json").is_file() {
            bail!(
                "connector {} has no mock API: add tests/mock/mock.json (format: mockapi/src/spec.rs)",
                connector_dir.display()
            );
        }
        let bin = crate::ground::tool::MOCKAPI.path()?;
        let mut cmd = Command::new(&bin);
        cmd.arg(&dir);
        for s in scenarios {
            cmd.args(["--scenario", s]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut hello = String::new();
        stdout.read_line(&mut hello)?;
        if hello.is_empty() {
            let status = child.wait()?;
            bail!(
                "the mock API of {} did not start ({status}): its error is above; the format is in mockapi/src/spec.rs",
                connector_dir.display()
            );
        }
        let hello: Value = serde_json::from_str(&hello)
            .with_context(|| format!("{} answered {hello:?}, not its JSON line", bin.display()))?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let mut saved_env = Vec::new();
        for pair in hello["env"].as_array().into_iter().flatten() {
            let (k, v) = (text(&pair[0]), text(&pair[1]));
            saved_env.push((k.clone(), std::env::var_os(&k)));
            std::env::set_var(k, v);
        }
        eprintln!(
            "mock: serving {} on {} (scenarios: {})",
            dir.display(),
            text(&hello["addr"]),
            if scenarios.is_empty() {
                "none".to_string()
            } else {
                scenarios.join(", ")
            }
        );
        Ok(MockRun {
            child,
            stdout,
            dir,
            url: text(&hello["url"]),
            streams: hello["streams"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
            saved_env,
        })
    }

    /// The config of `tests/mock/config.json`, pointed at the mock.
    pub fn config(&self) -> anyhow::Result<Value> {
        let path = self.dir.join(CONFIG);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the mock config {}: add it", path.display()))?;
        let text = text.replace("{{mock_url}}", &self.url);
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

    /// Why a mock capture has `enabled` of the `discovered` bindings.
    pub fn why_these_bindings(&self, enabled: usize, discovered: usize) -> String {
        let others = discovered.saturating_sub(enabled);
        if self.streams.is_empty() {
            return format!(
                "{enabled} of the {discovered} discovered binding(s): the ones discover enables ({} names no \"streams\"); the other {others} are offered disabled (selected_streams.json does not list them)",
                self.dir.join("mock.json").display()
            );
        }
        format!(
            "{enabled} of the {discovered} discovered binding(s): the streams the mock serves (\"streams\" of {}: {}); the other {others} are left out",
            self.dir.join("mock.json").display(),
            self.streams.join(", ")
        )
    }

    /// Stops the mock and prints one line per request it answered.
    pub fn report(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        let mut lines = Vec::new();
        for line in (&mut self.stdout).lines() {
            lines.push(serde_json::from_str::<Value>(&line?)?);
        }
        eprintln!("mock: {} request(s):", lines.len());
        for r in &lines {
            let query = r["query"].as_str().unwrap_or_default();
            eprintln!(
                "  {} {}{}{} -> {} ({})",
                r["method"].as_str().unwrap_or_default(),
                r["host"].as_str().unwrap_or_default(),
                r["path"].as_str().unwrap_or_default(),
                if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                },
                r["status"],
                r["route"].as_str().unwrap_or("no route")
            );
        }
        Ok(())
    }
}

impl Drop for MockRun {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// `cargo xtask mock source-x --generate`.
#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// Connector folder, e.g. `source-sentry` (a manifest-only connector)
    pub name: String,
    /// Write tests/mock/ (routes, records, config.json) from the connector's manifest
    #[arg(long)]
    pub generate: bool,
    /// Replace an existing tests/mock/
    #[arg(long, requires = "generate")]
    pub force: bool,
    /// Seed of the generated records and credentials (the same seed writes the same files)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder laid out like airbytehq/airbyte's airbyte-integrations/connectors/ to take the
    /// pinned manifest from [default: $ATF_UPSTREAM_MIRROR, else Airbyte's registry]
    #[arg(long, value_name = "DIR")]
    pub from: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub dirs: crate::ground::Dirs,
}

pub fn mock_cmd(args: MockArgs) -> anyhow::Result<()> {
    let dir = args.dirs.connector(&args.name)?;
    let hint = args.dirs.hint();
    if !args.generate {
        bail!(
            "`cargo xtask mock` writes a mock: pass --generate (`{}`); `{}` serves it",
            hint.command("mock", &[&args.name, "--generate"]),
            hint.command("capture", &[&args.name, "--mock"]),
        );
    }
    let loaded = crate::ground::load(&dir)?;
    let Some(codegen::upstream::Upstream::Declarative(up)) = &loaded.connector.upstream else {
        bail!(
            "{} is not a manifest-only connector (connector.json `upstream` is not of kind \"declarative\"): there is no manifest to derive a mock from; write tests/mock/mock.json by hand (format: mockapi/src/spec.rs)",
            args.name
        );
    };
    let out = dir.join("tests/mock");
    if out.join("mock.json").exists() && !args.force {
        bail!(
            "{} already holds a mock: `{}` replaces it (a hand-written mock is lost)",
            out.display(),
            hint.command("mock", &[&args.name, "--generate", "--force"])
        );
    }
    eprintln!(
        "mock: provisioning {} (its cdk and pinned manifest)",
        args.name
    );
    // The cdk venv, and the pinned files fetched into the cache (checked).
    let p = declarative::provision(&loaded.name, up, args.from.as_deref(), false)?;
    let manifest = declarative::cached(declarative::File::Manifest, &up.manifest.sha256);
    let seed = args.seed.to_string();
    let regenerate = hint.command(
        "mock",
        &[&args.name, "--generate", "--force", "--seed", &seed],
    );
    let bin = crate::ground::tool::MOCKAPI.path()?;
    let mut cmd = Command::new(&bin);
    cmd.arg("generate")
        .arg("--python")
        .arg(&p.entrypoint)
        .arg("--manifest")
        .arg(&manifest)
        .arg("--spec")
        .arg(dir.join("spec.recorded.json"))
        .arg("--out")
        .arg(&out)
        .args(["--seed", &seed, "--command", &regenerate]);
    if let Some(pin) = &up.components {
        let components = declarative::cached(declarative::File::Components, &pin.sha256);
        cmd.arg("--components")
            .arg(components)
            .arg("--components-sha256")
            .arg(&pin.sha256);
    }
    if args.force {
        cmd.arg("--force");
    }
    eprintln!("mock: deriving routes and records from the manifest");
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !output.status.success() {
        bail!(
            "generating the mock of {} failed: the error is above",
            args.name
        );
    }
    let report: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{} printed no report", bin.display()))?;
    for s in report["streams"].as_array().into_iter().flatten() {
        eprintln!(
            "mock: serves {} ({} records, pagination {}{}{})",
            s["name"].as_str().unwrap_or_default(),
            s["records"],
            s["pagination"].as_str().unwrap_or_default(),
            if s["incremental"] == Value::Bool(true) {
                ", incremental"
            } else {
                ""
            },
            s["parent"]
                .as_str()
                .map(|p| format!(", child of {p}"))
                .unwrap_or_default(),
        );
    }
    let skipped = report["skipped"].as_object().cloned().unwrap_or_default();
    for (name, why) in &skipped {
        eprintln!("mock: skips {name}: {}", why.as_str().unwrap_or_default());
    }
    for (name, notes) in report["notes"].as_object().into_iter().flatten() {
        for n in notes.as_array().into_iter().flatten() {
            eprintln!("mock: note on {name}: {}", n.as_str().unwrap_or_default());
        }
    }
    for p in report["problems"].as_array().into_iter().flatten() {
        eprintln!("mock: problem: {}", p.as_str().unwrap_or_default());
    }
    for p in report["config_problems"].as_array().into_iter().flatten() {
        eprintln!("mock: config: {}", p.as_str().unwrap_or_default());
    }
    println!("{}", out.display());
    eprintln!(
        "next: capture from the mock:\n  {}",
        hint.command("capture", &[&args.name, "--mock"])
    );
    Ok(())
}
