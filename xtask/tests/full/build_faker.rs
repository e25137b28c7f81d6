//! `cargo xtask build source-faker`, then the binary driven end to end against
//! the real faker connector (7.2.1): spec and apply served with the connector
//! not started, `--describe`, discover with patched schemas, keys and disabled
//! streams, a capture with normalizations. Then a rebuild after editing one
//! patch file, and a corpus connector built with `--connectors-dir`.
//!
//! One test function: the builds share one cargo target and run in order.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

struct Built {
    binary: PathBuf,
    stderr: String,
}

/// `cargo xtask build <args>`: the binary path is the last line of stdout.
fn build(args: &[&str]) -> Built {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("build")
        .args(args)
        .current_dir(testkit::workspace_root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "cargo xtask build {args:?} failed:\n{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let binary = PathBuf::from(stdout.lines().last().expect("a binary path on stdout"));
    assert!(binary.is_file(), "{} is not a file", binary.display());
    eprintln!("cargo xtask build {args:?}: {:.1?}", started.elapsed());
    Built { binary, stderr }
}

/// Runs `binary args` with `requests` on stdin; returns (exit ok, stdout messages).
fn run(binary: &Path, args: &[&str], requests: &[Value]) -> (bool, Vec<Value>, String) {
    let out = testkit::exchange(Command::new(binary).args(args), requests);
    (out.status.success(), out.messages, out.stderr)
}

/// Runs the xtask binary with `args`.
fn xtask(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

fn config() -> Value {
    json!({"count": 10, "advanced": {"seed": 7}, "_atf_skip_interval": true})
}

fn spec_response(binary: &Path) -> Value {
    let (ok, msgs, stderr) = run(
        binary,
        &["--connector-entrypoint", "/bin/false"],
        &[json!({"spec": {"connectorType": "IMAGE", "config": {}}})],
    );
    assert!(ok, "{stderr}");
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    msgs[0]["spec"].clone()
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn build_source_faker_and_drive_it_against_the_real_faker() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let built = build(&["source-faker", "--out", out.to_str().unwrap()]);
    assert_eq!(built.binary, out.join("source-faker"));
    assert!(built.stderr.contains("static"), "{}", built.stderr);
    assert!(
        built.stderr.contains("skipped `docker build`") || built.stderr.contains("docker build -t"),
        "{}",
        built.stderr
    );
    let dockerfile = std::fs::read_to_string(out.join("Dockerfile")).unwrap();
    for line in [
        "FROM airbyte/source-faker:7.2.1",
        "COPY source-faker /flow-connector/source-faker",
        "LABEL \"FLOW_RUNTIME_PROTOCOL\"=\"capture\"",
        "LABEL \"CONNECTOR_PROTOCOL\"=\"flow-capture\"",
        "LABEL \"FLOW_RUNTIME_CODEC\"=\"json\"",
        "ENTRYPOINT [\"/flow-connector/source-faker\"]",
    ] {
        assert!(
            dockerfile.lines().any(|l| l == line),
            "{line:?} not in:\n{dockerfile}"
        );
    }
    if let Ok(file) = Command::new("file").arg(&built.binary).output() {
        let desc = String::from_utf8_lossy(&file.stdout);
        assert!(desc.contains("static"), "not static: {desc}");
    }

    // The binary alone, copied to another folder: nothing is read from connectors/.
    let alone = tmp.path().join("alone/connector");
    std::fs::create_dir_all(alone.parent().unwrap()).unwrap();
    std::fs::copy(&built.binary, &alone).unwrap();

    // spec: baked, the connector is not started (/bin/false would fail).
    let spec = spec_response(&alone);
    assert_eq!(spec["protocol"], 3032023);
    let props = &spec["configSchema"]["properties"];
    assert_eq!(props["count"]["default"], 100, "spec.patch.json applied");
    assert!(props.get("seed").is_none(), "spec.patch.json removed seed");
    assert_eq!(props["advanced"]["properties"]["seed"]["type"], "integer");
    assert_eq!(
        spec["documentationUrl"],
        "https://docs.airbyte.com/integrations/sources/faker#reference"
    );
    assert!(
        spec.get("oauth2").is_none(),
        "the oauth2 placeholder means no OAuth"
    );
    assert_eq!(
        spec["resourcePathPointers"],
        json!(["/namespace", "/stream"])
    );

    // apply: no connector either.
    let (ok, msgs, stderr) = run(
        &alone,
        &["--connector-entrypoint", "/bin/false"],
        &[
            json!({"apply": {"capture": {"name": "acmeCo/faker", "connectorType": "IMAGE", "config": config(), "bindings": []}, "version": "v1"}}),
        ],
    );
    assert!(ok, "{stderr}");
    assert!(msgs[0].get("applied").is_some(), "{msgs:?}");

    // --describe: what is baked, as JSON, without reading stdin.
    let describe = Command::new(&alone)
        .arg("--describe")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(describe.status.success());
    let d: Value = serde_json::from_slice(&describe.stdout).unwrap();
    assert_eq!(d["name"], "source-faker");
    assert_eq!(d["upstream"]["image"], "airbyte/source-faker:7.2.1");
    assert_eq!(d["spec"]["recorded"]["upstream_version"], "7.2.1");
    // Baked JSON texts are printed as JSON values, not escaped strings.
    assert_eq!(
        d["spec"]["recorded"]["response"]["configSchema"]["type"], "object",
        "{d}"
    );
    assert!(d["spec"]["config_patch"].is_object(), "{d}");
    assert_eq!(d["run_interval_minutes"], 5);
    assert_eq!(d["streams"]["omitted"], json!(["products"]));

    // discover against the real faker.
    let faker = testkit::faker(testkit::FAKER_LATEST);
    let faker = faker.to_str().unwrap();
    let (ok, msgs, stderr) = run(
        &alone,
        &["--connector-entrypoint", faker],
        &[json!({"discover": {"connectorType": "IMAGE", "config": config()}})],
    );
    assert!(ok, "{stderr}");
    let bindings = msgs[0]["discovered"]["bindings"]
        .as_array()
        .unwrap()
        .clone();
    let by_name = |n: &str| bindings.iter().find(|b| b["recommendedName"] == n).cloned();
    assert!(
        by_name("products").is_none(),
        "omitted_streams.json: products is not offered"
    );
    let users = by_name("users").expect("users is offered");
    let purchases = by_name("purchases").expect("purchases is offered");
    assert_ne!(users["disable"], true, "users is selected");
    assert_eq!(
        purchases["disable"], true,
        "purchases is not in selected_streams.json"
    );
    assert_eq!(
        purchases["key"],
        json!(["/user_id", "/id"]),
        "purchases.pk.json"
    );
    assert_eq!(users["key"], json!(["/id"]), "source-defined key");
    let created = &users["documentSchema"]["properties"]["created_at"];
    assert_eq!(
        created["pattern"], "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "users.patch.json"
    );
    assert!(
        created.get("format").is_none(),
        "users.patch.json removed the format"
    );
    assert!(
        purchases["documentSchema"]["properties"]["updated_at"]["description"]
            .as_str()
            .unwrap()
            .contains("streams/*.patch.json"),
        "the wildcard patch applies to streams without their own file"
    );
    assert!(
        users["documentSchema"]["properties"]["updated_at"]
            .get("description")
            .is_none(),
        "the wildcard patch does not apply to users, which has its own"
    );

    // A short capture of users.
    let open = json!({"open": {
        "capture": {
            "name": "acmeCo/faker",
            "connectorType": "IMAGE",
            "config": config(),
            "bindings": [{
                "resourceConfig": users["resourceConfig"],
                "resourcePath": ["users"],
                "collection": {"name": "acmeCo/users", "key": ["/id"]},
            }],
        },
        "range": {"keyBegin": 0, "keyEnd": 4294967295u32},
        "state": {},
    }});
    let (ok, msgs, stderr) = run(&alone, &["--connector-entrypoint", faker], &[open]);
    assert!(ok, "{stderr}");
    assert!(msgs[0].get("opened").is_some(), "{:?}", msgs.first());
    let docs: Vec<&Value> = msgs
        .iter()
        .filter_map(|m| m.get("captured"))
        .map(|c| &c["doc"])
        .collect();
    assert_eq!(docs.len(), 10, "count: 10 users");
    for doc in &docs {
        let created = doc["created_at"].as_str().unwrap();
        assert!(
            created.len() == 10 && created.as_bytes()[4] == b'-' && created.as_bytes()[7] == b'-',
            "users.normalize.json keeps the date: {created}"
        );
        let updated = doc["updated_at"].as_str().unwrap();
        assert!(
            updated.ends_with('Z') || updated.ends_with("+00:00"),
            "RFC 3339 updated_at: {updated}"
        );
    }
    assert!(
        msgs.iter().any(|m| m.get("checkpoint").is_some()),
        "a checkpoint commits the records"
    );

    // Rebuild after editing one patch file: the new binary has the change.
    let connectors = tmp.path().join("connectors");
    testkit::copy_dir(
        &testkit::workspace_root().join("connectors/source-faker"),
        &connectors.join("source-faker"),
    );
    std::fs::write(
        connectors.join("source-faker/documentation_url.patch.json"),
        r#"{"documentation_url": "https://example.com/edited"}"#,
    )
    .unwrap();
    let rebuilt = build(&[
        "source-faker",
        "--connectors-dir",
        connectors.to_str().unwrap(),
        "--out",
        tmp.path().join("out2").to_str().unwrap(),
    ]);
    assert_eq!(
        spec_response(&rebuilt.binary)["documentationUrl"],
        "https://example.com/edited"
    );
    // The first binary is untouched.
    assert_eq!(
        spec_response(&built.binary)["documentationUrl"],
        "https://docs.airbyte.com/integrations/sources/faker#reference"
    );

    // A corpus connector builds as it is, warning about its mis-named file.
    if let Some(shared) = testkit::shared("build_source_faker_and_drive_it_against_the_real_faker")
    {
        let jira = build(&[
            "source-jira",
            "--connectors-dir",
            shared.join("corpus").to_str().unwrap(),
            "--out",
            tmp.path().join("jira").to_str().unwrap(),
        ]);
        assert!(
            jira.stderr
                .contains("streams/project_types.json: unknown file name, ignored"),
            "{}",
            jira.stderr
        );
        let d = Command::new(&jira.binary)
            .arg("--describe")
            .output()
            .unwrap();
        let d: Value = serde_json::from_slice(&d.stdout).unwrap();
        assert_eq!(d["name"], "source-jira");
        assert_eq!(d["spec"]["oauth2"], "Disabled");
    }
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_bad_connector_fails_the_build_with_every_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("source-bad");
    std::fs::create_dir_all(dir.join("streams")).unwrap();
    std::fs::write(
        dir.join("connector.json"),
        r#"{"base_image": "airbyte/source-bad:1.0.0", "entrypoint": "python main.py", "env": {}, "has_code": false, "labels": {}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("run_interval_minutes.json"), "0").unwrap();
    std::fs::write(dir.join("streams/users.pach.json"), "{}").unwrap();
    let out = xtask(&[
        "build".as_ref(),
        "source-bad".as_ref(),
        "--connectors-dir".as_ref(),
        tmp.path().as_os_str(),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no binary path on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 problem(s) in"), "{stderr}");
    assert!(
        stderr.contains("  run_interval_minutes.json: (root): expected a positive integer"),
        "{stderr}"
    );
    assert!(stderr.contains("  streams/users.pach.json: (file): unknown file name; did you mean `streams/users.patch.json`?"), "{stderr}");
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn expand_prints_the_generated_code() {
    let out = xtask(&["expand".as_ref(), "source-faker".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap();
    assert!(code.starts_with("// @generated by codegen from connectors/source-faker/"));
    assert!(code.contains("pub static CONNECTOR: ::patches::Connector = ::patches::Connector {"));
    assert!(code.contains("name: \"purchases\""));
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn record_spec_reproduces_the_committed_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let root = testkit::workspace_root();
    testkit::copy_dir(
        &root.join("connectors/source-faker"),
        &tmp.path().join("source-faker"),
    );
    let recorded = tmp.path().join("source-faker/spec.recorded.json");
    std::fs::remove_file(&recorded).unwrap();
    let faker = testkit::faker(testkit::FAKER_LATEST);
    let out = xtask(&[
        "record-spec".as_ref(),
        "source-faker".as_ref(),
        "--connectors-dir".as_ref(),
        tmp.path().as_os_str(),
        "--entrypoint".as_ref(),
        faker.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new: Value = serde_json::from_str(&std::fs::read_to_string(&recorded).unwrap()).unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("connectors/source-faker/spec.recorded.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(new["upstream_image"], "airbyte/source-faker:7.2.1");
    assert_eq!(new, committed, "re-run `cargo xtask record-spec source-faker --entrypoint .venvs/faker-7.2.1/bin/source-faker`");

    // A connector that cannot print a spec fails with the reason.
    let out = xtask(&[
        "record-spec".as_ref(),
        "source-faker".as_ref(),
        "--connectors-dir".as_ref(),
        tmp.path().as_os_str(),
        "--entrypoint".as_ref(),
        "/bin/false".as_ref(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("printed no SPEC message"), "{stderr}");
}
