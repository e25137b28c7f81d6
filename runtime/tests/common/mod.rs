//! Helpers for tests that drive the generic `airbyte-to-flow` binary with
//! fake Airbyte connectors (small shell scripts).
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_airbyte-to-flow");

/// Write an executable `/bin/sh` script named `name` into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// What one run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Every stdout line, parsed (the run asserts each is a protocol response).
    pub responses: Vec<Value>,
    pub elapsed: Duration,
}

impl Run {
    /// Responses of one kind (`captured`, `checkpoint`, ...), their bodies.
    pub fn of(&self, kind: &str) -> Vec<&Value> {
        self.responses.iter().filter_map(|r| r.get(kind)).collect()
    }
    /// The structured log lines on stderr (JSON, as stderr is not a terminal).
    pub fn logs(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {l}"))
            })
            .collect()
    }
    pub fn error_logs(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|l| l["level"] == "ERROR")
            .map(|l| l["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

const RESPONSES: &[&str] = &[
    "spec",
    "discovered",
    "validated",
    "applied",
    "opened",
    "captured",
    "checkpoint",
];

/// Run the binary with `args`, feeding `stdin` (then closing it).
pub fn run(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("AIRBYTE_ENTRYPOINT")
        .env_remove("AIRBYTE_TO_FLOW_STATE_FORMAT")
        .env_remove("AIRBYTE_TO_FLOW_IDLE_TIMEOUT")
        .env("LOG_LEVEL", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the airbyte-to-flow binary starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let responses = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("stdout line is not JSON ({e}): {l}\nstderr:\n{stderr}")
            });
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("stdout line is not an object: {l}"));
            assert_eq!(obj.len(), 1, "a response sets exactly one field: {l}");
            let key = obj.keys().next().unwrap();
            assert!(
                RESPONSES.contains(&key.as_str()),
                "stdout carries only protocol responses, got {l}"
            );
            // And each decodes as Flow's runtime decodes it.
            testkit::flow::Response::decode(l).unwrap_or_else(|e| panic!("stdout: {e}"));
            v
        })
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        responses,
        elapsed: started.elapsed(),
    }
}

/// Run the binary against the fake connector `entrypoint`.
pub fn run_with(entrypoint: &Path, stdin: &str) -> Run {
    run(
        &["--connector-entrypoint", entrypoint.to_str().unwrap()],
        &[],
        stdin,
    )
}

/// An `open` request line for bindings `(stream, syncMode, writeSchema, key)`.
pub fn open_request(
    config: Value,
    bindings: &[(&str, Value, Vec<&str>)],
    state: Option<Value>,
) -> String {
    let bindings: Vec<Value> = bindings
        .iter()
        .map(|(stream, schema, key)| {
            serde_json::json!({
                "resourceConfig": {"stream": stream, "syncMode": "incremental", "cursorField": ["updated_at"]},
                "resourcePath": [stream],
                "collection": {"name": format!("acmeCo/{stream}"), "writeSchema": schema, "key": key},
                "stateKey": stream,
            })
        })
        .collect();
    let mut open = serde_json::json!({
        "open": {"capture": {"name": "acmeCo/capture", "connectorType": "IMAGE", "config": config, "bindings": bindings},
                 "version": "v1", "range": {"keyBegin": 0, "keyEnd": 4294967295u32}},
        "$internal": "EgJIaRgB",
    });
    if let Some(s) = state {
        open["open"]["state"] = s;
    }
    format!("{open}\n")
}

/// An `open` request line for one binding of stream `s` keyed on `/id`, with
/// an empty schema: what fake connectors that print stream `s` are opened with.
pub fn open_one_stream(config: Value) -> String {
    open_request(config, &[("s", serde_json::json!({}), vec!["/id"])], None)
}

/// A stream of a fixture catalog: name, JSON schema, key pointers.
pub type Stream = (String, Value, Vec<String>);

/// The message of the last TRACE ERROR of an Airbyte output file.
pub fn last_trace_error(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
        .expect("a TRACE ERROR")["trace"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The write schemas of the streams of a fixture's discover output.
pub fn schemas_of(discover: &Path) -> Vec<Stream> {
    let text = std::fs::read_to_string(discover).unwrap();
    let catalog = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG")
        .expect("a CATALOG message");
    catalog["catalog"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let key = s["source_defined_primary_key"]
                .as_array()
                .map(|k| {
                    k.iter()
                        .map(|p| format!("/{}", p[0].as_str().unwrap()))
                        .collect()
                })
                .unwrap_or_default();
            (
                s["name"].as_str().unwrap().to_string(),
                s["json_schema"].clone(),
                key,
            )
        })
        .collect()
}

#[allow(unused_imports)]
pub use testkit::reduce;

/// The one ERROR line of a failed `spec` request.
pub fn spec_error(entrypoint: &str) -> (i32, String) {
    let r = run(
        &["--connector-entrypoint", entrypoint],
        &[],
        "{\"spec\":{}}\n",
    );
    let errors = r.error_logs();
    assert_eq!(errors.len(), 1, "one error line: {}", r.stderr);
    (r.code, errors[0].clone())
}
