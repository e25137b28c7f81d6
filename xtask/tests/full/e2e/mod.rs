//! What every end-to-end test of a shipped connector shares: the binary
//! built by `cargo xtask build`, the upstream connector provisioned by
//! `cargo xtask provision`, the connector's mock API
//! (`connectors/<name>/tests/mock/`), and Flow's requests (spec, discover,
//! validate, open) sent to the binary as Flow sends them, one process per
//! request, with the mock's environment (proxy, CA trust) inherited by the
//! Airbyte connector the binary starts.

#![allow(dead_code)]

use mockapi::MockApi;
use serde_json::{json, Value};
pub use testkit::build::{ids, json_cmp, max_of, open_binding, text_of};

pub mod scenario;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A built connector, its upstream entrypoint and its running mock.
pub struct E2e {
    pub name: String,
    pub binary: PathBuf,
    pub entrypoint: String,
    pub mock: MockApi,
    _out: tempfile::TempDir,
}

/// One run of the binary: exit status, its stdout messages, its stderr.
pub struct Run {
    pub ok: bool,
    pub messages: Vec<Value>,
    pub stderr: String,
    pub secs: f64,
}

impl Run {
    /// The bodies of the messages named `name` (e.g. `captured`).
    pub fn of(&self, name: &str) -> Vec<&Value> {
        self.messages.iter().filter_map(|m| m.get(name)).collect()
    }
}

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(testkit::workspace_root())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap()
}

/// The last line of stdout of a successful `cargo xtask <args>`.
pub fn last_line(args: &[&str]) -> String {
    let started = Instant::now();
    let out = xtask(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo xtask {args:?} failed:\n{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    eprintln!("cargo xtask {args:?}: {:.1?}", started.elapsed());
    stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("cargo xtask {args:?} printed nothing on stdout"))
        .to_string()
}

/// Whether connector `name`'s upstream can be provisioned here: a
/// manifest-only connector's pinned files come from `../shared/manifests`
/// (set as `ATF_UPSTREAM_MIRROR` unless it is set); without it the test
/// skips, saying so (`false`).
pub fn upstream_files_at_hand(test: &str, name: &str) -> bool {
    let cj: Value = serde_json::from_str(
        &std::fs::read_to_string(
            testkit::workspace_root()
                .join("connectors")
                .join(name)
                .join("connector.json"),
        )
        .unwrap(),
    )
    .unwrap();
    if cj["upstream"]["kind"] != "declarative" || std::env::var_os("ATF_UPSTREAM_MIRROR").is_some()
    {
        return true;
    }
    let Some(shared) = testkit::shared(test) else {
        return false;
    };
    // Tests of one binary share the process: the same value for each.
    std::env::set_var("ATF_UPSTREAM_MIRROR", shared.join("manifests"));
    true
}

impl E2e {
    /// Builds `name` with `cargo xtask build`, provisions its upstream
    /// connector and starts its mock. While authoring a connector,
    /// `ATF_E2E_ENTRYPOINT_<NAME>` (a venv made by hand) and
    /// `ATF_E2E_CONNECTORS_DIR` (its folder elsewhere) override both.
    pub fn new(name: &str) -> E2e {
        let out = tempfile::tempdir().unwrap();
        let mut build = vec!["build", name, "--out", out.path().to_str().unwrap()];
        // A connector folder elsewhere (while authoring it): its mock stays here.
        let dirs = std::env::var("ATF_E2E_CONNECTORS_DIR").ok();
        if let Some(d) = &dirs {
            build.extend(["--connectors-dir", d.as_str()]);
        }
        let binary = PathBuf::from(last_line(&build));
        assert!(binary.is_file(), "{} is not a file", binary.display());
        let var = format!(
            "ATF_E2E_ENTRYPOINT_{}",
            name.to_ascii_uppercase().replace('-', "_")
        );
        let entrypoint = match std::env::var(&var) {
            Ok(ep) => ep,
            Err(_) => last_line(&["provision", name]),
        };
        // (A manifest-only connector's files come from the mirror folder:
        // `upstream_files_at_hand` set it.)
        let mock_dir = testkit::workspace_root()
            .join("connectors")
            .join(name)
            .join("tests/mock");
        let mock = MockApi::start(&mock_dir).unwrap();
        E2e {
            name: name.to_string(),
            binary,
            entrypoint,
            mock,
            _out: out,
        }
    }

    /// Runs the binary on `requests` with the mock's environment.
    pub fn run(&self, entrypoint: &str, requests: &[Value]) -> Run {
        self.run_with(&self.mock, entrypoint, requests)
    }

    /// Runs the binary on `requests` against `mock` (e.g. a second mock of
    /// the same folder, so a slow failure runs beside the other steps).
    pub fn run_with(&self, mock: &MockApi, entrypoint: &str, requests: &[Value]) -> Run {
        let started = Instant::now();
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--connector-entrypoint")
            .arg(entrypoint)
            .env("LOG_LEVEL", "info");
        mock.apply_env(&mut cmd);
        let out = testkit::exchange(&mut cmd, requests);
        Run {
            ok: out.status.success(),
            messages: out.messages,
            stderr: out.stderr,
            secs: started.elapsed().as_secs_f64(),
        }
    }

    /// `spec`, answered from the baked recording: the connector is not
    /// started (its entrypoint is `/bin/false`).
    pub fn spec(&self) -> Value {
        let run = self.run(
            "/bin/false",
            &[json!({"spec": {"connectorType": "IMAGE", "config": {}}})],
        );
        assert!(run.ok, "spec failed:\n{}", run.stderr);
        run.of("spec")[0].clone()
    }

    pub fn discover(&self, config: &Value) -> Vec<Value> {
        let run = self.run(
            &self.entrypoint,
            &[json!({"discover": {"connectorType": "IMAGE", "config": config}})],
        );
        assert!(run.ok, "discover failed:\n{}", run.stderr);
        eprintln!("discover: {:.1} s", run.secs);
        run.of("discovered")[0]["bindings"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn validate(&self, config: &Value, bindings: &[Value]) -> Run {
        let bindings: Vec<Value> = bindings
            .iter()
            .map(|b| json!({"resourceConfig": b["resourceConfig"], "collection": {"name": format!("acmeCo/{}", b["recommendedName"].as_str().unwrap()), "writeSchema": b["documentSchema"], "key": b["key"]}}))
            .collect();
        self.run(
            &self.entrypoint,
            &[json!({"validate": {"name": format!("acmeCo/{}", self.name), "connectorType": "IMAGE", "config": config, "bindings": bindings}})],
        )
    }

    /// An `open` of `bindings` (discovered), from `state` when given.
    pub fn open(&self, config: &Value, bindings: &[Value], state: Option<&Value>) -> Run {
        self.open_with(&self.mock, config, bindings, state)
    }

    /// An `open` of bindings as Flow sends them ([`open_binding`]).
    pub fn open_bindings(
        &self,
        config: &Value,
        bindings: Vec<Value>,
        state: Option<&Value>,
    ) -> Run {
        let open = testkit::build::open(&self.name, config, bindings, state);
        self.run(&self.entrypoint, &[open])
    }

    /// [`E2e::open`] against `mock`.
    pub fn open_with(
        &self,
        mock: &MockApi,
        config: &Value,
        bindings: &[Value],
        state: Option<&Value>,
    ) -> Run {
        let open = open_request(&self.name, config, bindings, state);
        let run = self.run_with(mock, &self.entrypoint, &[open]);
        eprintln!(
            "capture: {:.1} s, {} document(s), {} checkpoint(s), ok {}",
            run.secs,
            run.of("captured").len(),
            run.of("checkpoint").len(),
            run.ok
        );
        run
    }
}

impl E2e {
    /// A second mock of this connector's folder, independent of `self.mock`
    /// (its own scenarios and request log).
    pub fn another_mock(&self) -> MockApi {
        let dir = testkit::workspace_root()
            .join("connectors")
            .join(&self.name)
            .join("tests/mock");
        MockApi::start(&dir).unwrap()
    }
}

/// The discovered binding of `stream`.
pub fn binding<'a>(bindings: &'a [Value], stream: &str) -> &'a Value {
    bindings
        .iter()
        .find(|b| b["resourceConfig"]["stream"] == stream)
        .unwrap_or_else(|| panic!("no discovered binding for stream \"{stream}\""))
}

/// Captured documents by binding index.
pub fn documents(run: &Run, bindings: usize) -> Vec<Vec<Value>> {
    testkit::build::documents(&run.messages, bindings)
}

/// Every document valid against its binding's write schema (formats
/// checked, as Flow does); returns the violations, one line each.
pub fn violations(bindings: &[Value], docs: &[Vec<Value>]) -> Vec<String> {
    let mut out = Vec::new();
    for (b, docs) in bindings.iter().zip(docs) {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&b["documentSchema"])
            .unwrap();
        for d in docs {
            for e in validator.iter_errors(d) {
                out.push(format!(
                    "{}: {} at {}: {e}",
                    b["recommendedName"],
                    d.get("id").unwrap_or(&Value::Null),
                    e.instance_path()
                ));
            }
        }
    }
    out
}

/// Flow's `open` of the capture `acmeCo/<name>` with `bindings` (as
/// discovered, never backfilled), from `state` when given.
pub fn open_request(
    name: &str,
    config: &Value,
    bindings: &[Value],
    state: Option<&Value>,
) -> Value {
    let bindings: Vec<Value> = bindings.iter().map(|b| open_binding(b, 0)).collect();
    testkit::build::open(name, config, bindings, state)
}

/// Reduces the run's checkpoints as Flow does (RFC 7396 merge when
/// `mergePatch`, else replace), starting from `state`.
pub fn reduce(state: &Value, run: &Run) -> Value {
    let mut state = state.clone();
    testkit::reduce(&mut state, &run.of("checkpoint"));
    state
}

/// The per-binding states of a reduced Flow state (`{"bindingStateV1":
/// {"<stateKey>": state}}`, `runtime/src/state`), asserting that nothing
/// else is at its top level. A stream's state key is its name here (its
/// resource path, never backfilled).
pub fn binding_states(state: &Value) -> &Value {
    let top: Vec<&String> = state.as_object().expect("a state object").keys().collect();
    assert_eq!(top, ["bindingStateV1"], "{state}");
    &state["bindingStateV1"]
}

/// Pages the mock served for `route` (answers with status 200).
pub fn pages(mock: &MockApi, route: &str) -> usize {
    answers(mock, route, 200)
}

/// The mock's answers to `route` with `status`.
pub fn answers(mock: &MockApi, route: &str, status: u16) -> usize {
    mock.requests_to(route)
        .iter()
        .filter(|r| r.status == status)
        .count()
}

/// The checkpoints that came after the last document of `binding` (a
/// capture that failed mid-read of that binding must claim no progress past
/// it). Binding 0 is the one without `binding` (Flow's JSON omits zeros).
pub fn checkpoints_after_last_document(run: &Run, binding: u64) -> Vec<&Value> {
    let last = run
        .messages
        .iter()
        .rposition(|m| {
            m.get("captured")
                .is_some_and(|c| c["binding"].as_u64().unwrap_or(0) == binding)
        })
        .unwrap_or_else(|| panic!("no document of binding {binding}"));
    run.messages[last..]
        .iter()
        .filter_map(|m| m.get("checkpoint"))
        .collect()
}
