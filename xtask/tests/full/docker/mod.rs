//! What the image tests share: `cargo xtask build` against a private
//! engine, `docker run` as Flow runs a connector, Flow's reduction of
//! checkpoints.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::docker::Engine;

/// `cargo xtask build <args>` against `engine` (or no engine: `None`).
pub fn xtask_build(engine: Option<&Engine>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("build")
        .args(args)
        .current_dir(testkit::workspace_root());
    match engine {
        Some(e) => {
            e.point(&mut cmd);
        }
        None => {
            cmd.env("DOCKER_HOST", "unix:///nonexistent/atf-no-engine.sock");
        }
    }
    cmd.output().unwrap()
}

/// `cargo xtask build <name> --out <out>` against `engine`, as a user
/// builds an image: asserts it succeeded and built `image`; prints the time;
/// returns its stderr.
pub fn build_image(engine: &Engine, name: &str, out: &Path, image: &str) -> String {
    let started = Instant::now();
    let built = xtask_build(Some(engine), &[name, "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&built.stderr).into_owned();
    assert!(
        built.status.success(),
        "cargo xtask build failed:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("docker build -t {image}")),
        "{stderr}"
    );
    eprintln!(
        "docker: cargo xtask build {name} (binary and image): {:.1?}",
        started.elapsed()
    );
    stderr
}

/// What one `docker run` of the connector gave.
pub struct Run {
    pub code: Option<i32>,
    pub messages: Vec<Value>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn of(&self, key: &str) -> Vec<&Value> {
        self.messages.iter().filter_map(|m| m.get(key)).collect()
    }
}

/// `docker run -i --rm --network none <extra> IMAGE <args>`, as Flow starts a
/// connector, with `requests` on stdin.
pub fn docker_run(
    engine: &Engine,
    extra: &[&str],
    image: &str,
    args: &[&str],
    requests: &[Value],
) -> Run {
    docker_run_on(engine, "none", extra, image, args, requests)
}

/// [`docker_run`] on the network `network` (`host`: the container reaches
/// servers on the host's loopback, e.g. a mock API).
pub fn docker_run_on(
    engine: &Engine,
    network: &str,
    extra: &[&str],
    image: &str,
    args: &[&str],
    requests: &[Value],
) -> Run {
    let started = Instant::now();
    let out = testkit::exchange(
        engine
            .docker()
            .args(["run", "-i", "--rm", "--network", network])
            .args(extra)
            .arg(image)
            .args(args),
        requests,
    );
    Run {
        code: out.status.code(),
        messages: out.messages,
        stderr: out.stderr,
        elapsed: started.elapsed(),
    }
}

pub use testkit::reduce;

pub fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

/// `docker run` options giving the container the mock's environment: its
/// proxy and CA variables, and its folder mounted where they point.
pub fn mock_options(mock: &mockapi::MockApi) -> Vec<String> {
    let dir = mock.ca_file().parent().unwrap().display().to_string();
    let mut opts = vec!["-v".to_string(), format!("{dir}:{dir}:ro")];
    for (k, v) in mock.env() {
        // PYTHONPATH: the mock's folder only (the host's means nothing inside).
        let v = if k == "PYTHONPATH" { dir.clone() } else { v };
        opts.push("-e".into());
        opts.push(format!("{k}={v}"));
    }
    opts
}
