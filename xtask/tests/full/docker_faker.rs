//! The source-faker image for real, on a private Docker engine
//! (`testkit::docker`, skipped where none can start) FROM a stand-in of
//! `airbyte/source-faker:7.2.1` (`testkit::standin`):
//!
//! - `cargo xtask build source-faker` builds the image on that engine;
//!   `docker inspect` shows Flow's labels and the entrypoint; the size over
//!   the base is reported;
//! - the container driven as Flow drives it (`docker run -i --rm --network
//!   none`, requests on stdin): spec with no Python able to start, discover,
//!   validate, a capture with checkpoints, a resume from the reduced state;
//!   the connector's exit code comes out of `docker run`; SIGTERM to
//!   `docker run` stops the capture with 143 (runtime/tests/lifecycle.rs);
//! - `cargo xtask build -p --registry --tag` pushes to a local
//!   `docker-registry` on 127.0.0.1, the image is pulled back and answers
//!   spec; a push that cannot go through, or `-p` with no engine, fails.
//!
//! One test function: the steps share one engine, stopped when it ends.

use crate::docker::*;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::docker::Engine;

const TEST: &str = "docker_faker";
const IMAGE: &str = "ghcr.io/estuary/source-faker:local";

fn config(count: u64) -> Value {
    json!({"count": count, "advanced": {"seed": 7}, "records_per_slice": 100, "_atf_skip_interval": true})
}

fn spec_request() -> Value {
    json!({"spec": {"connectorType": "IMAGE", "config": {}}})
}

fn open_request(users: &Value, count: u64, state: Value) -> Value {
    json!({"open": {
        "capture": {
            "name": "acmeCo/faker",
            "connectorType": "IMAGE",
            "config": config(count),
            "bindings": [{
                "resourceConfig": users["resourceConfig"],
                "resourcePath": ["users"],
                "collection": {"name": "acmeCo/users", "key": ["/id"], "writeSchema": users["documentSchema"]},
            }],
        },
        "range": {"keyBegin": 0, "keyEnd": 4294967295u32},
        "state": state,
    }})
}

/// Whether a process on this machine runs upstream's main.py (containers'
/// processes are the host's).
fn upstream_processes() -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains("/airbyte/integration_code/main.py") {
                found.push(format!("{}: {cmd}", e.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn faker_image_built_run_and_pushed_on_a_private_engine() {
    let Some(engine) = Engine::start(TEST) else {
        return;
    };
    let base = testkit::standin::import(&engine, &testkit::standin::FAKER);
    let tmp = tempfile::tempdir().unwrap();

    let stderr = build_image(&engine, "source-faker", &tmp.path().join("out"), IMAGE);
    for line in stderr.lines().filter(|l| l.contains("image built in")) {
        eprintln!("docker: {line}");
    }
    let binary_len = std::fs::metadata(tmp.path().join("out/source-faker"))
        .unwrap()
        .len();

    // docker inspect: Flow's labels, upstream's, and the binary as entrypoint.
    let inspect: Value = serde_json::from_str(&engine.ok(&["image", "inspect", IMAGE])).unwrap();
    let config_of = &inspect[0]["Config"];
    let labels = &config_of["Labels"];
    assert_eq!(labels["FLOW_RUNTIME_PROTOCOL"], "capture", "{labels}");
    assert_eq!(labels["CONNECTOR_PROTOCOL"], "flow-capture", "{labels}");
    assert_eq!(labels["FLOW_RUNTIME_CODEC"], "json", "{labels}");
    assert_eq!(
        labels["io.airbyte.name"], "airbyte/source-faker",
        "{labels}"
    );
    assert_eq!(labels["io.airbyte.version"], "7.2.1", "{labels}");
    assert_eq!(
        config_of["Entrypoint"],
        json!(["/flow-connector/source-faker"])
    );
    let size = engine.image_size(IMAGE);
    let over = size - base.size;
    eprintln!(
        "docker: image {IMAGE}: {} bytes, {} over its base {} ({} bytes); the binary is {binary_len} bytes",
        size, over, base.image, base.size
    );
    assert!(
        over >= binary_len && over < binary_len + 1_000_000,
        "the image adds the binary and little else: {over} bytes over the base, binary {binary_len}"
    );

    // spec: answered from what is baked; with no `python` on PATH nothing
    // upstream can start, and discover shows that it would have been needed.
    let no_python = ["-e", "PATH=/nonexistent"];
    let mut times = Vec::new();
    for _ in 0..3 {
        let run = docker_run(&engine, &no_python, IMAGE, &[], &[spec_request()]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let spec = run.of("spec");
        assert_eq!(spec.len(), 1, "{:?}", run.messages);
        assert_eq!(spec[0]["protocol"], 3032023);
        assert_eq!(
            spec[0]["configSchema"]["properties"]["count"]["default"],
            100
        );
        times.push(run.elapsed);
    }
    eprintln!(
        "docker: container spec: median {:.2?} of {times:.2?}",
        median(times.clone())
    );
    let run = docker_run(
        &engine,
        &no_python,
        IMAGE,
        &[],
        &[json!({"discover": {"connectorType": "IMAGE", "config": config(10)}})],
    );
    assert_ne!(
        run.code,
        Some(0),
        "discover needs upstream's python: {:?}",
        run.messages
    );

    // discover and validate with upstream's faker in the container.
    let started = Instant::now();
    let run = docker_run(
        &engine,
        &[],
        IMAGE,
        &[],
        &[json!({"discover": {"connectorType": "IMAGE", "config": config(10)}})],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    eprintln!("docker: container discover: {:.2?}", started.elapsed());
    let bindings = run.of("discovered")[0]["bindings"]
        .as_array()
        .unwrap()
        .clone();
    let users = bindings
        .iter()
        .find(|b| b["recommendedName"] == "users")
        .expect("users is offered")
        .clone();
    assert_eq!(users["key"], json!(["/id"]));
    assert!(
        bindings.iter().all(|b| b["recommendedName"] != "products"),
        "omitted_streams.json"
    );
    let validate = json!({"validate": {"name": "acmeCo/faker", "connectorType": "IMAGE", "config": config(10),
        "bindings": [{"resourceConfig": users["resourceConfig"], "resourcePath": ["users"], "collection": {"name": "acmeCo/users", "key": ["/id"]}}]}});
    let run = docker_run(&engine, &[], IMAGE, &[], &[validate]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.of("validated")[0]["bindings"][0]["resourcePath"],
        json!(["users"])
    );

    // A capture with checkpoints, then a resume from the reduced state. The
    // connector entrypoint is wrapped to keep the state file it is given.
    let seen = tmp.path().join("seen");
    std::fs::create_dir_all(&seen).unwrap();
    std::fs::write(
        seen.join("wrap.sh"),
        "if [ \"$1\" = read ] && [ \"$6\" = --state ]; then cp \"$7\" /seen/state.json; fi\n\
         exec python /airbyte/integration_code/main.py \"$@\"\n",
    )
    .unwrap();
    let volume = format!("{}:/seen", seen.display());
    let wrapped = ["-v", volume.as_str()];
    let wrap_args = ["--connector-entrypoint", "/bin/sh /seen/wrap.sh"];
    let started = Instant::now();
    let first = docker_run(
        &engine,
        &wrapped,
        IMAGE,
        &wrap_args,
        &[open_request(&users, 250, json!({}))],
    );
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let capture_time = started.elapsed();
    assert_eq!(first.messages[0], json!({"opened": {}}));
    assert_eq!(first.of("captured").len(), 250, "count: 250 users");
    let checkpoints = first.of("checkpoint");
    assert!(checkpoints.len() >= 2, "{} checkpoints", checkpoints.len());
    assert!(
        first.messages.last().unwrap().get("checkpoint").is_some(),
        "a checkpoint commits the last documents"
    );
    assert!(
        !seen.join("state.json").exists(),
        "no state on the first run"
    );
    eprintln!(
        "docker: container capture of 250 users: {capture_time:.2?}, {} checkpoints",
        checkpoints.len()
    );

    let mut state = json!({});
    reduce(&mut state, &checkpoints);
    let second = docker_run(
        &engine,
        &wrapped,
        IMAGE,
        &wrap_args,
        &[open_request(&users, 250, state.clone())],
    );
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let given: Value = serde_json::from_slice(
        &std::fs::read(seen.join("state.json")).expect("a state file on resume"),
    )
    .unwrap();
    let list = given.as_array().expect("a per-stream state list");
    assert_eq!(list.len(), 1, "{given}");
    assert_eq!(list[0]["stream"]["stream_descriptor"]["name"], "users");
    assert_eq!(
        list[0]["stream"]["stream_state"], state["bindingStateV1"]["users"],
        "what Flow persisted: {state}"
    );
    assert!(!second.of("checkpoint").is_empty());
    eprintln!(
        "docker: resumed capture: {} documents in {:.2?}",
        second.of("captured").len(),
        second.elapsed
    );

    // The connector's exit code comes out of `docker run` (lifecycle.rs: exit 5 gives 5).
    let run = docker_run(
        &engine,
        &[],
        IMAGE,
        &["--connector-entrypoint", "/bin/sh -c 'exit 5'"],
        &[open_request(&users, 10, json!({}))],
    );
    assert_eq!(run.code, Some(5), "{}", run.stderr);

    // SIGTERM to `docker run` (proxied to the container): the runtime kills
    // faker and exits 143, as lifecycle.rs says of the bare binary.
    sigterm_stops_a_capture(&engine, &users);

    push_pull_and_failures(&engine, tmp.path());
}

fn sigterm_stops_a_capture(engine: &Engine, users: &Value) {
    let mut open = open_request(users, 1_000_000, json!({}));
    open["open"]["capture"]["config"]["_atf_skip_interval"] = json!(false);
    let mut child: Child = engine
        .docker()
        .args(["run", "-i", "--rm", "--network", "none", IMAGE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{open}").unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines.next().expect("the capture sends documents").unwrap();
        if line.contains("\"captured\"") {
            break;
        }
        assert!(Instant::now() < deadline, "no document within 60 s");
    }
    assert!(
        !upstream_processes().is_empty(),
        "faker runs in the container"
    );
    let drain = std::thread::spawn(move || lines.count());
    let signalled = Instant::now();
    // SAFETY: our own child, not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let stopped_in = signalled.elapsed();
    drain.join().unwrap();
    drop(stdin);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(
        stopped_in < Duration::from_secs(8),
        "SIGTERM took {stopped_in:?} (docker's 10 s kill?)"
    );
    eprintln!("docker: SIGTERM to docker run: exit 143 in {stopped_in:.2?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !upstream_processes().is_empty() || !engine.ok(&["ps", "-aq"]).is_empty() {
        assert!(
            Instant::now() < deadline,
            "after SIGTERM: processes {:?}, containers {:?}",
            upstream_processes(),
            engine.ok(&["ps", "-a"])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `docker-registry` on 127.0.0.1 with its config and storage in a temporary
/// folder; stopped by PID on drop.
struct Registry {
    child: Child,
    addr: String,
}

impl Registry {
    fn start(dir: &Path) -> Option<Registry> {
        if Command::new("docker-registry")
            .arg("--version")
            .output()
            .is_err()
        {
            testkit::skip(TEST, "push: `docker-registry` is not installed (Debian's `docker-registry`; `.ci/run` installs it)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
                dir.join("storage").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("registry.log")).unwrap())
            .spawn()
            .unwrap();
        let registry = Registry { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {}: {}",
                registry.addr,
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn push_pull_and_failures(engine: &Engine, tmp: &Path) {
    let out_dir = tmp.join("out");
    let out_dir = out_dir.to_str().unwrap();

    // `-p` without an engine fails and says why.
    let out = xtask_build(None, &["source-faker", "--out", out_dir, "-p"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "-p without an engine succeeded:\n{stderr}"
    );
    assert!(stderr.contains("no Docker engine answers"), "{stderr}");

    // A registry that does not answer: non-zero, with the engine's words.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = format!("127.0.0.1:{closed}/estuary");
    let out = xtask_build(
        Some(engine),
        &[
            "source-faker",
            "--out",
            out_dir,
            "-p",
            "--registry",
            &registry,
            "--tag",
            "t",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a push to a closed port succeeded:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("push of \"{registry}/source-faker:t\" failed")),
        "{stderr}"
    );

    let reg_dir = tmp.join("registry");
    std::fs::create_dir_all(&reg_dir).unwrap();
    let Some(registry) = Registry::start(&reg_dir) else {
        return;
    };
    let repo = format!("{}/estuary", registry.addr);
    let started = Instant::now();
    let out = xtask_build(
        Some(engine),
        &[
            "source-faker",
            "--out",
            out_dir,
            "-p",
            "--registry",
            &repo,
            "--tag",
            "atf-test",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "push to {repo} failed:\n{stderr}");
    let pushed = format!("{repo}/source-faker:atf-test");
    assert!(stderr.contains(&format!("pushed {pushed}")), "{stderr}");
    eprintln!(
        "docker: cargo xtask build -p to {repo}: {:.1?}",
        started.elapsed()
    );

    // Without a local copy, pull it back and run spec from it.
    let id = engine.ok(&["image", "inspect", "-f", "{{.Id}}", &pushed]);
    engine.ok(&["rmi", "-f", &id]);
    assert!(!engine.output(&["image", "inspect", &id]).status.success());
    engine.ok(&["pull", &pushed]);
    let run = docker_run(engine, &[], &pushed, &[], &[spec_request()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.of("spec")[0]["protocol"], 3032023);

    // The default tag is the personal one.
    let out = xtask_build(
        Some(engine),
        &["source-faker", "--out", out_dir, "-p", "--registry", &repo],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let user = std::env::var("CODESPACE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            format!(
                "{}-airbyte",
                std::env::var("USER").unwrap_or_else(|_| "local".into())
            )
        });
    assert!(
        stderr.contains(&format!("pushed {repo}/source-faker:{user}")),
        "{stderr}"
    );
}
