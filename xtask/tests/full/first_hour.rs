//! The first hour of a new user (issue 10), driven as a user would: the real
//! `xtask` binary in temporary folders, and the connector binaries it builds.
//!
//! - every `next:` hint, pasted, runs (it repeats the flags the user gave);
//! - `new-connector` on an existing folder suggests nothing it already has;
//! - a mistyped connector name gets "did you mean" and the existing names;
//! - the built binary's `--version` and `--describe` name the connector, its
//!   upstream image and version, and the project version and commit;
//! - a capture that got errors, or nothing, exits non-zero and says so first;
//! - outputs follow `CARGO_TARGET_DIR`.

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str], envs: &[(&str, &str)]) -> (Output, String, String) {
    run_xtask(args, envs, false)
}

/// `online`: Airbyte's registry and PyPI as the machine reaches them; else
/// both refuse at once, so `new-connector` writes the PyPI template
/// without pinning a package (what these tests are not about).
fn run_xtask(args: &[&str], envs: &[(&str, &str)], online: bool) -> (Output, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args)
        .env_remove("ATF_CONNECTORS_DIR")
        .env_remove("ATF_ENTRYPOINT");
    if !online {
        cmd.env_remove("ATF_UPSTREAM_MIRROR")
            .env("ATF_REGISTRY_URL", "https://127.0.0.1:9/files")
            .env("PIP_INDEX_URL", "https://127.0.0.1:9/simple")
            .env("PIP_RETRIES", "0")
            .env("PIP_TIMEOUT", "1");
    }
    let out = cmd.envs(envs.iter().copied()).output().expect("run xtask");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The commands listed under `next:` (indented lines starting with `cargo xtask`).
fn hints(stderr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_next = false;
    for line in stderr.lines() {
        if line.trim_end().ends_with("next:") {
            in_next = true;
        } else if in_next && line.starts_with("  cargo xtask ") {
            out.push(line.trim().to_string());
        } else {
            in_next = false;
        }
    }
    out
}

/// Runs a hint as pasted into a shell (`cargo xtask` is this xtask binary).
fn paste(hint: &str) -> (Output, String, String) {
    paste_on(hint, false)
}

fn paste_on(hint: &str, online: bool) -> (Output, String, String) {
    let words = shell_words::split(hint).unwrap_or_else(|e| panic!("{hint}: {e}"));
    assert_eq!(&words[..2], ["cargo", "xtask"], "{hint}");
    let args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    eprintln!("pasting: {hint}");
    run_xtask(&args, &[], online)
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn every_next_hint_works_when_pasted_and_the_binary_says_what_it_is() {
    let faker = testkit::faker(testkit::FAKER_LATEST);
    // A folder name with a space: hints must quote it.
    let tmp = tempfile::tempdir().unwrap();
    let connectors = tmp.path().join("my connectors");
    // Not `source-faker`: the workspace's own connector builds alongside.
    let name = "source-hint-faker";
    let work = testkit::target_dir().join("workflow").join(name);
    let _ = std::fs::remove_dir_all(&work);

    let (out, _, stderr) = xtask(
        &[
            "new-connector",
            "hint-faker",
            "7.2.1",
            "--connectors-dir",
            s(&connectors),
            "--entrypoint",
            s(&faker),
        ],
        &[],
    );
    assert!(out.status.success(), "{stderr}");
    let next = hints(&stderr);
    assert_eq!(next.len(), 3, "build, spec, discover: {stderr}");
    for h in &next {
        assert!(h.contains("--connectors-dir '"), "quoted folder: {h}");
    }
    assert!(next[1].contains("--entrypoint"), "{}", next[1]);

    // build, spec --config-schema, discover (writes the config stub).
    let mut binary = None;
    let mut queue = Vec::new();
    for h in &next {
        let (out, stdout, stderr) = paste(h);
        assert!(out.status.success(), "{h}:\n{stderr}");
        if h.starts_with("cargo xtask build") {
            binary = Some(stdout.trim().to_string());
        }
        if h.starts_with("cargo xtask discover") {
            queue = hints(&stderr);
            assert_eq!(queue.len(), 1, "discover again: {stderr}");
        }
    }
    // discover again (the stub is all defaults), then the capture it suggests,
    // then whatever each capture suggests, until one passes.
    let mut passed = false;
    let mut pasted = 0;
    while let Some(h) = queue.pop() {
        pasted += 1;
        assert!(pasted < 8, "hints go round in circles: {h}");
        assert!(
            h.contains("--entrypoint") && h.contains("--connectors-dir"),
            "{h}"
        );
        let (out, _, stderr) = paste(&h);
        assert!(
            !stderr.contains("no connector \"") && !stderr.contains("can't open file"),
            "{h}:\n{stderr}"
        );
        if out.status.success() && h.starts_with("cargo xtask capture") {
            assert!(
                stderr.contains("every document matched its schema"),
                "{stderr}"
            );
            passed = true;
        }
        queue.extend(hints(&stderr));
    }
    assert!(passed, "a pasted capture passed");

    // --version and --describe of the binary `build` printed.
    let binary = binary.expect("build printed the binary's path");
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(testkit::workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let out = Command::new(&binary).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{version}");
    assert_eq!(
        version.trim(),
        format!(
            "source-hint-faker 7.2.1 (upstream airbyte/source-hint-faker 7.2.1, image airbyte/source-hint-faker:7.2.1; built by airbyte-to-flow {}, commit {commit})",
            env!("CARGO_PKG_VERSION")
        )
    );
    let out = Command::new(&binary).arg("--describe").output().unwrap();
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["name"], name);
    assert_eq!(d["upstream"]["image"], "airbyte/source-hint-faker:7.2.1");
    assert_eq!(d["built_from"]["commit"], commit.as_str());
    assert_eq!(d["built_from"]["version"], env!("CARGO_PKG_VERSION"));
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn new_connector_on_an_existing_folder_suggests_only_what_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    let (out, _, stderr) = xtask(
        &["new-connector", "faker", "7.2.1", "--connectors-dir", dirs],
        &[],
    );
    assert!(out.status.success(), "{stderr}");
    let (out, _, stderr) = xtask(
        &["new-connector", "faker", "7.2.1", "--connectors-dir", dirs],
        &[],
    );
    assert!(!out.status.success());
    assert!(stderr.contains("at upstream version \"7.2.1\""), "{stderr}");
    assert!(
        !stderr.contains("bump"),
        "no bump to the version it has: {stderr}"
    );
    assert_eq!(
        hints(&stderr),
        [format!(
            "cargo xtask build source-faker --connectors-dir {dirs}"
        )]
    );
    let (out, _, stderr) = xtask(
        &["new-connector", "faker", "7.3.0", "--connectors-dir", dirs],
        &[],
    );
    assert!(!out.status.success());
    assert_eq!(
        hints(&stderr),
        [format!(
            "cargo xtask bump source-faker 7.3.0 --connectors-dir {dirs}"
        )]
    );
    // The bump hint, pasted, bumps.
    let (out, _, stderr) = paste(&hints(&stderr)[0]);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("airbyte/source-faker:7.2.1 -> airbyte/source-faker:7.3.0"),
        "{stderr}"
    );
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_mistyped_connector_gets_did_you_mean_and_the_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    for name in ["freshdesk", "faker"] {
        let (out, _, stderr) = xtask(
            &["new-connector", name, "1.0.0", "--connectors-dir", dirs],
            &[],
        );
        assert!(out.status.success(), "{stderr}");
    }
    for cmd in ["build", "spec", "discover", "capture", "bump"] {
        let mut args = vec![cmd, "source-freshdsk", "--connectors-dir", dirs];
        if cmd == "bump" {
            args.insert(2, "1.0.1");
        }
        let (out, _, stderr) = xtask(&args, &[]);
        assert!(!out.status.success(), "{cmd}");
        assert!(
            stderr.contains("did you mean \"source-freshdesk\"?"),
            "{cmd}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "connectors in {dirs}: source-faker, source-freshdesk"
            )),
            "{cmd}: {stderr}"
        );
        assert!(!stderr.contains("(file)"), "{cmd}: {stderr}");
    }
    // The workspace's own connectors, without --connectors-dir.
    let (out, _, stderr) = xtask(&["build", "faker"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr.contains("did you mean \"source-faker\"?"),
        "{stderr}"
    );
    assert!(stderr.contains("source-faker"), "{stderr}");
}

/// A fake Airbyte connector for capture outcomes the real ones cannot be made
/// to show offline: `$MODE` says what its `read` does.
const FAKE: &str = r#"#!/bin/sh
case "$1" in
spec) echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object","properties":{}}}}' ;;
discover) echo '{"type":"CATALOG","catalog":{"streams":[{"name":"agents","json_schema":{"type":"object","properties":{"id":{"type":"integer"}}},"supported_sync_modes":["full_refresh"],"source_defined_primary_key":[["id"]]}]}}' ;;
read)
  case "$MODE" in
  errors)
    # What a connector whose every request fails prints: retries, then gives up on the stream.
    echo '{"type":"LOG","log":{"level":"ERROR","message":"Max retries exceeded with url: /api/v2/agents (NameResolutionError)"}}'
    echo '{"type":"LOG","log":{"level":"ERROR","message":"second failure"}}'
    exec sleep 60 ;;
  trace)
    echo '{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"Config validation error: api_key is wrong","failure_type":"config_error"}}}'
    exit 0 ;;
  nothing) exit 0 ;;
  records)
    echo '{"type":"RECORD","record":{"stream":"agents","data":{"id":1},"emitted_at":1}}'
    echo '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"agents"},"stream_state":{"id":1}}}}'
    exec sleep 60 ;;
  esac ;;
esac
"#;

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_capture_that_got_errors_or_nothing_fails_and_says_so_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = tmp.path().join("connectors");
    let (out, _, stderr) = xtask(
        &[
            "new-connector",
            "outcome",
            "1.0.0",
            "--connectors-dir",
            s(&dirs),
        ],
        &[],
    );
    assert!(out.status.success(), "{stderr}");
    let fake = tmp.path().join("fake-connector");
    std::fs::write(&fake, FAKE).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let work = tmp.path().join("work");
    let common = [
        "source-outcome",
        "--connectors-dir",
        s(&dirs),
        "--entrypoint",
        s(&fake),
        "--work-dir",
        s(&work),
    ];
    let run = |cmd: &str, mode: &str| {
        let args: Vec<&str> = [&[cmd][..], &common, &["--for", "3s"]].concat();
        let args = if cmd == "capture" {
            &args[..]
        } else {
            &args[..args.len() - 2]
        };
        xtask(args, &[("MODE", mode)])
    };
    for _ in 0..2 {
        // the stub (no properties), then the catalog
        let (out, _, stderr) = run("discover", "");
        assert!(out.status.success(), "{stderr}");
    }

    // Errors from the connector, stopped at --for: a failure, said first.
    let (out, _, stderr) = run("capture", "errors");
    assert!(!out.status.success(), "{stderr}");
    let first = stderr
        .find("error: \"Max retries exceeded with url: /api/v2/agents (NameResolutionError)\" (the connector reported errors; 2 error(s), 0 document(s))")
        .unwrap_or_else(|| panic!("{stderr}"));
    let summary = stderr.find("captured agents 0").unwrap();
    assert!(
        first < summary,
        "the error comes above the summary: {stderr}"
    );
    assert!(!stderr.contains("every document matched"), "{stderr}");

    // A TRACE error, then exit 0.
    let (out, _, stderr) = run("capture", "trace");
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: \"Config validation error: api_key is wrong\" ("),
        "{stderr}"
    );

    // Nothing at all, and no word why.
    let (out, _, stderr) = run("capture", "nothing");
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr
            .contains("error: no documents were captured and the connector said nothing about why"),
        "{stderr}"
    );

    // Documents and no error, stopped at --for: a success (our own stop is no error).
    let (out, _, stderr) = run("capture", "records");
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("captured agents 1"), "{stderr}");
    assert!(
        stderr.contains("every document matched its schema"),
        "{stderr}"
    );
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn outputs_follow_cargo_target_dir() {
    // The workspace's target folder under another name: cargo reuses its
    // builds, and every path printed must be under the name given.
    let tmp = tempfile::tempdir().unwrap();
    let alias = tmp.path().join("my-target");
    std::os::unix::fs::symlink(testkit::target_dir(), &alias).unwrap();
    let (out, stdout, stderr) = xtask(
        &["demo", "--count", "20"],
        &[("CARGO_TARGET_DIR", s(&alias))],
    );
    assert!(out.status.success(), "{stderr}");
    let demo = alias.join("demo");
    assert!(
        stdout.contains(&format!(
            "first captured documents ({}/documents.jsonl)",
            demo.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("the binary is in {}/build", demo.display())),
        "{stdout}"
    );
    assert!(
        !stderr.contains(&format!(
            "{}/",
            testkit::target_dir().join("demo").display()
        )),
        "{stderr}"
    );
}

/// Issue 20: a fresh `new-connector`'s `next:` commands run when pasted,
/// with no `--entrypoint`, for both kinds: a PyPI connector (its package,
/// named by its metadata.yaml, pinned from PyPI, then provisioned by the
/// pasted commands) and, with `../shared`, a manifest-only one.
#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn a_fresh_new_connectors_next_commands_run_pasted_for_both_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let connectors = tmp.path().join("my connectors");
    // The metadata.yaml of a PyPI connector (a folder laid out like
    // airbytehq/airbyte's): not `source-faker`, whose shipped folder builds
    // alongside, but faker's package.
    let mirror = tmp.path().join("mirror");
    std::fs::create_dir_all(mirror.join("source-hint-pypi")).unwrap();
    std::fs::write(
        mirror.join("source-hint-pypi/metadata.yaml"),
        "data:\n  dockerImageTag: 7.2.1\n  license: MIT\n  tags:\n    - language:python\n  remoteRegistries:\n    pypi:\n      enabled: true\n      packageName: airbyte-source-faker\n",
    )
    .unwrap();
    let mut cases = vec![(
        "hint-pypi",
        "7.2.1",
        mirror.clone(),
        "airbyte-source-faker==7.2.1 pinned",
    )];
    match testkit::shared("a_fresh_new_connectors_next_commands_run_pasted (manifest-only part)") {
        Some(shared) => cases.push((
            "pokeapi",
            "0.3.0",
            shared.join("manifests"),
            "says manifest-only",
        )),
        None => eprintln!("the manifest-only part skips: ../shared is absent"),
    }
    for (name, version, from, said) in cases {
        let work = testkit::target_dir()
            .join("workflow")
            .join(format!("source-{name}"));
        let _ = std::fs::remove_dir_all(&work);
        let (out, _, stderr) = run_xtask(
            &[
                "new-connector",
                name,
                version,
                "--from",
                s(&from),
                "--connectors-dir",
                s(&connectors),
            ],
            &[],
            true,
        );
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains(said), "{stderr}");
        let next = hints(&stderr);
        assert_eq!(next.len(), 3, "build, spec, discover: {stderr}");
        for h in &next {
            assert!(!h.contains("--entrypoint"), "{h}");
            let (out, stdout, stderr) = paste_on(h, true);
            assert!(out.status.success(), "{h}:\n{stderr}");
            if h.starts_with("cargo xtask spec") {
                let schema: Value = serde_json::from_str(&stdout).unwrap();
                assert_eq!(schema["type"], "object", "{stdout}");
            }
            if h.starts_with("cargo xtask discover") {
                assert!(stderr.contains("wrote a config stub"), "{stderr}");
            }
        }
    }
}
