//! `cargo xtask provision`: a connector's upstream package installed from its
//! lock file into a venv cached by the lock's hash, run for real with pip from
//! PyPI. The package is `cowsay` (tiny, pure Python, one console script): what
//! is tested is the provisioning, not an Airbyte connector.
//!
//! Every test uses its own cache (`ATF_VENV_CACHE`) so they run in parallel.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// A connectors folder holding `source-cowsay` with Python `python` and lock `lock`.
fn connectors(tmp: &Path, python: &str, lock: &str) -> PathBuf {
    let dir = tmp.join("connectors/source-cowsay");
    std::fs::create_dir_all(&dir).unwrap();
    let connector = json!({
        "base_image": "airbyte/source-cowsay:6.1",
        "entrypoint": "cowsay",
        "upstream": {
            "package": "cowsay",
            "version": "6.1",
            "python": python,
            "lock": "upstream.lock.txt",
            "command": "cowsay",
        },
    });
    std::fs::write(dir.join("connector.json"), connector.to_string()).unwrap();
    std::fs::write(dir.join("upstream.lock.txt"), lock).unwrap();
    tmp.join("connectors")
}

fn provision_cmd(connectors: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["provision", "source-cowsay", "--connectors-dir"])
        .arg(connectors)
        .env("ATF_VENV_CACHE", cache)
        .stdin(Stdio::null());
    cmd
}

/// Runs `cargo xtask provision source-cowsay`: (output, stdout's last line, stderr).
fn provision(connectors: &Path, cache: &Path) -> (Output, String, String) {
    let out = provision_cmd(connectors, cache).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stdout.lines().last().unwrap_or("").to_string();
    (out, last, stderr)
}

/// The provisioned script really runs.
fn assert_runs(entrypoint: &str) {
    let out = Command::new(entrypoint)
        .args(["-t", "moo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{entrypoint} failed: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("moo"));
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_venv_is_installed_once_and_keyed_by_the_lock_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dirs = connectors(tmp.path(), "3.11", "cowsay==6.1\n");

    let started = Instant::now();
    let (out, first, stderr) = provision(&dirs, &cache);
    let cold = started.elapsed();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("provision: source-cowsay: installing cowsay==6.1 (1 pinned packages"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[1/1] cowsay==6.1"),
        "progress per package: {stderr}"
    );
    assert!(first.starts_with(cache.to_str().unwrap()), "{first}");
    assert!(first.ends_with("/bin/cowsay"), "{first}");
    assert!(Path::new(&first)
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(".atf-complete")
        .is_file());
    assert_runs(&first);

    // Same lock: a cache hit, no pip.
    let started = Instant::now();
    let (out, again, stderr) = provision(&dirs, &cache);
    let warm = started.elapsed();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(again, first);
    assert!(stderr.contains("cowsay==6.1 cached in"), "{stderr}");
    assert!(!stderr.contains("installing"), "{stderr}");
    eprintln!("cold {cold:.1?}, cached {warm:.1?}");
    assert!(
        warm < cold,
        "a cache hit ({warm:?}) is not faster than the install ({cold:?})"
    );

    // A changed lock is another venv; the first one stays for whoever uses it.
    std::fs::write(
        dirs.join("source-cowsay/upstream.lock.txt"),
        "# relocked\ncowsay==6.1\n",
    )
    .unwrap();
    let (out, other, stderr) = provision(&dirs, &cache);
    assert!(out.status.success(), "{stderr}");
    assert_ne!(other, first, "a changed lock must not reuse the old venv");
    assert!(stderr.contains("installing cowsay==6.1"), "{stderr}");
    assert_runs(&other);
    assert!(Path::new(&first).exists());
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn an_interrupted_install_is_redone() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dirs = connectors(tmp.path(), "3.11", "cowsay==6.1\n");

    // Start an install in its own process group and kill the group (xtask,
    // python, pip) as soon as the venv folder appears: an interrupted install.
    let mut child = provision_cmd(&dirs, &cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let venv = loop {
        let found = std::fs::read_dir(&cache).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.is_dir() && p.join("pyvenv.cfg").exists())
        });
        if let Some(v) = found {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no venv appeared in {}",
            cache.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    child.wait().unwrap();
    assert!(
        !venv.join(".atf-complete").exists(),
        "the install finished before it was killed; the test proves nothing"
    );

    let (out, entrypoint, stderr) = provision(&dirs, &cache);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("removing the incomplete or stale venv first"),
        "{stderr}"
    );
    assert!(
        entrypoint.starts_with(venv.to_str().unwrap()),
        "{entrypoint}"
    );
    assert!(venv.join(".atf-complete").is_file());
    assert_runs(&entrypoint);
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn an_absent_python_version_is_named_with_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dirs = connectors(tmp.path(), "3.99", "cowsay==6.1\n");
    let (out, _, stderr) = provision(&dirs, &cache);
    assert!(!out.status.success());
    assert!(stderr.contains("python \"3.99\" not found"), "{stderr}");
    assert!(
        stderr.contains("install it with `pyenv install 3.99`"),
        "{stderr}"
    );
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_connector_without_upstream_says_what_to_add() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = connectors(tmp.path(), "3.11", "cowsay==6.1\n");
    std::fs::write(
        dirs.join("source-cowsay/connector.json"),
        json!({"base_image": "airbyte/source-cowsay:6.1", "entrypoint": "cowsay"}).to_string(),
    )
    .unwrap();
    let (out, _, stderr) = provision(&dirs, &tmp.path().join("cache"));
    assert!(!out.status.success());
    assert!(
        stderr.contains("connector \"source-cowsay\" names no upstream package: add \"upstream\""),
        "{stderr}"
    );
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn bump_re_resolves_the_lock_with_pip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("connectors/source-tabulate");
    std::fs::create_dir_all(&dir).unwrap();
    let connector = json!({
        "base_image": "airbyte/source-tabulate:0.8.10",
        "entrypoint": "tabulate",
        "labels": {"io.airbyte.version": "v1"},
        "upstream": {"package": "tabulate", "version": "0.8.10", "python": "3.11", "lock": "upstream.lock.txt", "command": "tabulate"},
    });
    std::fs::write(dir.join("connector.json"), connector.to_string()).unwrap();
    std::fs::write(dir.join("upstream.lock.txt"), "tabulate==0.8.10\n").unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bump", "source-tabulate", "0.9.0", "--connectors-dir"])
        .arg(tmp.path().join("connectors"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("re-resolving tabulate==0.9.0 with pip"),
        "{stderr}"
    );
    assert!(stderr.contains("rewrote"), "{stderr}");
    let lock = std::fs::read_to_string(dir.join("upstream.lock.txt")).unwrap();
    assert!(lock.lines().any(|l| l == "tabulate==0.9.0"), "{lock}");
    assert!(
        lock.starts_with("# The upstream connector of source-tabulate"),
        "{lock}"
    );
    let connector: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("connector.json")).unwrap())
            .unwrap();
    assert_eq!(connector["upstream"]["version"], "0.9.0");
    assert_eq!(connector["base_image"], "airbyte/source-tabulate:0.9.0");
    // What bump wrote is what codegen accepts.
    codegen::load(&dir).unwrap();
}
