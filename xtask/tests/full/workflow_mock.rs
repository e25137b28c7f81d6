//! `cargo xtask capture source-harvest --mock`: the real upstream connector
//! (provisioned) against the connector's mock API, a scenario turned on, the
//! requests listed.

use std::path::Path;
use std::process::Command;

/// Runs xtask: whether it succeeded, its stdout and stderr.
fn xtask(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env_remove("ATF_CONNECTORS_DIR")
        .env_remove("ATF_ENTRYPOINT")
        .output()
        .expect("run xtask");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stdout, stderr)
}

fn ok(args: &[&str]) -> (String, String) {
    let (success, stdout, stderr) = xtask(args);
    assert!(success, "xtask {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

fn fails(args: &[&str]) -> String {
    let (success, _, stderr) = xtask(args);
    assert!(!success, "xtask {args:?} succeeded:\n{stderr}");
    stderr
}

fn new_freshdesk(dirs: &str) {
    ok(&[
        "new-connector",
        "freshdesk",
        "3.0.2",
        "--connectors-dir",
        dirs,
    ]);
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `cargo xtask capture source-x --mock` as a user runs it: the mock API
/// served by its own binary (`mockapi`, built on first need), the real
/// upstream connector against it, every document checked by `doccheck`, and
/// the requests the mock answered listed. Also a scenario, and a connector
/// folder without a mock.
#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_mock_capture_serves_checks_and_lists_the_requests() {
    let work = tempfile::tempdir().unwrap();
    let (_, stderr) = ok(&[
        "capture",
        "source-harvest",
        "--mock",
        "--scenario",
        "rate_limited",
        "--for",
        "5m",
        "--work-dir",
        s(work.path()),
    ]);
    assert!(stderr.contains("mock: serving "), "{stderr}");
    assert!(
        stderr.contains("captured clients 55, time_entries 55 (110 documents"),
        "{stderr}"
    );
    assert!(
        stderr.contains("every document matched its schema"),
        "{stderr}"
    );
    let listed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("  GET api.harvestapp.com/v2/"))
        .collect();
    assert!(
        listed[0].ends_with("-> 429 (clients)"),
        "the scenario's first answer is listed first: {listed:?}"
    );
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert!(
        stderr.contains("mock: 5 request(s):"),
        "the count heads the list: {stderr}"
    );
    let docs = std::fs::read_to_string(work.path().join("documents.jsonl")).unwrap();
    assert_eq!(docs.lines().count(), 110);

    // A folder with no mock: the error names it and the file to add.
    let dirs = tempfile::tempdir().unwrap();
    new_freshdesk(s(dirs.path()));
    let err = fails(&[
        "capture",
        "source-freshdesk",
        "--mock",
        "--connectors-dir",
        s(dirs.path()),
        "--entrypoint",
        "/bin/false",
    ]);
    assert!(
        err.contains("has no mock API: add tests/mock/mock.json"),
        "{err}"
    );
}
