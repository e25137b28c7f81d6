//! What `spec`, `discover` and `capture` share: the connector folder they
//! name, its binary (built first, so patch changes are in effect) and the
//! upstream connector it runs, and the work folder holding the config, the
//! discovered catalog and the captured documents.

use crate::ground::{read_json, stub, Dirs, Hint};
use crate::steps::build::{build_connector, BuildOptions};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What every command that runs the connector takes.
#[derive(Args, Debug, Clone)]
pub struct Session {
    /// Connector folder, e.g. `source-freshdesk`
    pub name: String,
    /// Command running the upstream Airbyte connector installed locally
    /// (e.g. `.venvs/faker-7.2.1/bin/source-faker`); without it, the
    /// connector.json `upstream` package (installed on first use, cached),
    /// else the entrypoint of connector.json, as inside the image
    #[arg(long, value_name = "CMD", env = "ATF_ENTRYPOINT")]
    pub entrypoint: Option<String>,
    /// Folder for the config, discovered catalog and captured documents
    /// [default: target/workflow/<name>]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    #[command(flatten)]
    pub dirs: Dirs,
}

impl Session {
    pub fn work_dir(&self) -> PathBuf {
        self.work_dir.clone().unwrap_or_else(|| {
            crate::ground::target_dir()
                .join("workflow")
                .join(&self.name)
        })
    }

    /// Next-step hints repeating the flags given to this command.
    pub fn hint(&self, config: Option<&Path>) -> Hint {
        Hint {
            connectors_dir: self.dirs.connectors_dir.clone(),
            entrypoint: self.entrypoint.clone(),
            work_dir: self.work_dir.clone(),
            config: config.map(Path::to_path_buf),
        }
    }

    pub fn connector_dir(&self) -> anyhow::Result<PathBuf> {
        self.dirs.connector(&self.name)
    }

    /// Builds the connector (so patch changes are in effect) and returns its binary.
    pub fn build(&self) -> anyhow::Result<Connector> {
        self.connector_dir()?;
        let binary = build_connector(&BuildOptions {
            name: self.name.clone(),
            connectors_dir: self.dirs.connectors(),
            out: Some(self.work_dir().join("build")),
        })
        .with_context(|| format!("cannot build connector \"{}\"", self.name))?;
        // Without --entrypoint: the connector.json `upstream` package, provisioned.
        let entrypoint = crate::steps::provision::entrypoint(
            &self.connector_dir()?,
            self.entrypoint.as_deref(),
        )?;
        Ok(Connector { binary, entrypoint })
    }
}

/// A built connector binary and how to run its upstream connector.
pub struct Connector {
    pub binary: PathBuf,
    pub entrypoint: Option<String>,
}

impl Connector {
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        if let Some(ep) = &self.entrypoint {
            cmd.arg("--connector-entrypoint").arg(ep);
        }
        cmd
    }

    /// Starts the binary with piped stdin and stdout; its logs go to our
    /// stderr (`piped_stderr`: to a pipe, see [`logs::Relay`]).
    pub fn spawn(&self, piped_stderr: bool) -> anyhow::Result<Child> {
        self.command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if piped_stderr {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .with_context(|| format!("cannot run {}", self.binary.display()))
    }

    /// Sends one request, closes stdin and returns the response named `expect`.
    pub fn request(&self, request: &Value, expect: &str) -> anyhow::Result<Value> {
        let mut child = self.spawn(false)?;
        let mut stdin = child.stdin.take().expect("piped");
        writeln!(stdin, "{request}")?;
        drop(stdin);
        let output = child.wait_with_output()?;
        if !output.status.success() {
            // The request's own name (`discover`), not its response's (`discovered`).
            let op = request
                .as_object()
                .and_then(|o| o.keys().next())
                .map_or(expect, String::as_str);
            bail!(
                "the connector binary {} failed ({}) on the \"{op}\" request: its error is the last ERROR line of its log above",
                self.binary.display(),
                output.status
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        for line in stdout.lines() {
            if let Ok(Value::Object(mut msg)) = serde_json::from_str::<Value>(line) {
                if let Some(body) = msg.remove(expect) {
                    return Ok(body);
                }
            }
        }
        bail!(
            "connector binary {} gave no \"{expect}\" response; its stdout was: {}",
            self.binary.display(),
            stdout.chars().take(2000).collect::<String>()
        )
    }

    pub fn spec(&self) -> anyhow::Result<Value> {
        self.request(
            &json!({"spec": {"connectorType": "IMAGE", "config": {}}}),
            "spec",
        )
    }

    pub fn discover(&self, config: &Value) -> anyhow::Result<Vec<Value>> {
        let discovered = self.request(
            &json!({"discover": {"connectorType": "IMAGE", "config": config}}),
            "discovered",
        )?;
        Ok(discovered
            .get("bindings")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

/// The file `discover` writes: the config it used and the discovered bindings.
pub const CATALOG: &str = "catalog.json";

/// The config at `path`, refused while it still has stub placeholders.
pub fn load_config(path: &Path) -> anyhow::Result<Value> {
    let config = read_json(path)?;
    let left = stub::placeholders(&config);
    if !left.is_empty() {
        bail!(
            "config {} still has placeholders at {}: fill them in and run again",
            path.display(),
            left.join(", ")
        );
    }
    Ok(config)
}
