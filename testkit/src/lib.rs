//! Helpers shared by the workspace's tests: where things are.
//!
//! - `../shared` (corpus, fixtures) is optional: tests that need it call
//!   [`shared`] and return early when it is `None`; it prints a clear skip line.
//! - The pinned Airbyte connectors are installed by `cargo xtask setup` under
//!   `.venvs/`; [`faker`] panics with the command to run when they are missing.
//! - Shipped connectors run their upstream from the venv `cargo xtask
//!   provision` installs: [`provision`] gives its entrypoint command.
//! - [`docker`]: a private Docker engine per test (skips where none can
//!   start); [`standin`]: stand-ins for upstream Airbyte base images.
//! - [`build`]: Flow's `open` request and its bindings, and folds over what a
//!   capture answered (documents by binding, ids, the greatest cursor).

use std::path::{Path, PathBuf};

pub mod build;
pub mod docker;
pub mod flow;
pub mod standin;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives one level below the workspace root")
        .to_path_buf()
}

/// `../shared` beside the workspace (or `$ATF_SHARED`), if it exists. When it
/// does not, prints `skipped: <test>: ../shared is absent` and returns `None`.
pub fn shared(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ATF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared"));
    if dir.join("corpus").is_dir() || dir.join("fixtures").is_dir() {
        Some(dir)
    } else {
        skip(
            test,
            &format!(
                "{} is absent: the shared corpus and fixtures live there in CI; put a copy beside the workspace, or point ATF_SHARED at one",
                dir.display()
            ),
        );
        None
    }
}

/// Says that `test` skipped and why: a `skipped: <test>: <why>` line on
/// stderr (shown with `--nocapture`), and the same line appended to
/// `target/test-skips.txt` (`$CARGO_TARGET_DIR` when set), which `cargo xtask
/// test` lists after the tests, so a test log says what did not run.
pub fn skip(test: &str, why: &str) {
    let line = format!("skipped: {test}: {why}");
    eprintln!("{line}");
    let file = skips_file();
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
    {
        use std::io::Write;
        // One write with O_APPEND: lines of parallel tests do not interleave.
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}

/// The file [`skip`] appends to, under the target folder.
pub const SKIPS: &str = "test-skips.txt";

/// Where [`skip`] appends: `$ATF_TEST_SKIPS` when set (a `cargo xtask test`
/// run inside a test keeps its own list), else `target/test-skips.txt`.
pub fn skips_file() -> PathBuf {
    if let Some(f) = std::env::var_os(SKIPS_ENV) {
        return PathBuf::from(f);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join(SKIPS)
}

/// The variable naming another file for [`skip`] to append to.
pub const SKIPS_ENV: &str = "ATF_TEST_SKIPS";

/// A file or folder under `../shared/fixtures/airbyte/`, if `../shared` exists.
pub fn fixture(test: &str, rel: &str) -> Option<PathBuf> {
    shared(test).map(|s| s.join("fixtures/airbyte").join(rel))
}

/// The pinned faker versions `cargo xtask setup` installs.
pub const FAKER_LATEST: &str = "7.2.1";
/// faker 4.0.0 on airbyte-cdk 0.58.7: honours incremental state on resume.
pub const FAKER_STATEFUL: &str = "4.0.0";

/// The `source-faker` command of a pinned faker version installed by
/// `cargo xtask setup`. Panics, naming the command to run, when it is missing.
pub fn faker(version: &str) -> PathBuf {
    let exe = workspace_root()
        .join(".venvs")
        .join(format!("faker-{version}"))
        .join("bin/source-faker");
    assert!(
        exe.exists(),
        "{} is missing: run `cargo xtask setup` (installs the pinned Airbyte connectors the tests drive)",
        exe.display()
    );
    exe
}

/// Cargo's target directory (`$CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Copies a folder tree (tests copy fixture connectors into temporary folders).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The command running the upstream Airbyte connector of `connectors/<name>`,
/// installed into its cached venv by `cargo xtask provision <name>` (a no-op
/// when the cache holds it): that command's last stdout line. Panics with the
/// provisioner's own error when it fails.
pub fn provision(name: &str) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .current_dir(workspace_root())
        .args(["run", "--quiet", "-p", "xtask", "--", "provision", name])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("cannot run `cargo run -p xtask -- provision`");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "`cargo xtask provision {name}` failed ({}): its error is above",
        out.status
    );
    stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("`cargo xtask provision {name}` printed no entrypoint"))
        .to_string()
}

/// Reduces `checkpoints` (the bodies of `checkpoint` responses) into
/// `state` as Flow does: an RFC 7396 merge when `mergePatch`, else replaced.
pub fn reduce(state: &mut serde_json::Value, checkpoints: &[&serde_json::Value]) {
    for cp in checkpoints {
        let s = &cp["state"];
        if s["mergePatch"] == true {
            json_patch::merge(state, &s["updated"]);
        } else {
            *state = s["updated"].clone();
        }
    }
}

/// What a process answered to [`exchange`]: its exit status, its stdout
/// parsed as JSON lines (one message each), and its stderr.
pub struct Exchange {
    pub status: std::process::ExitStatus,
    pub messages: Vec<serde_json::Value>,
    pub stderr: String,
}

/// Spawns `cmd` (stdin, stdout and stderr piped), writes each request as one
/// line on its stdin, closes it, and waits. Panics, quoting the line, when
/// stdout carries anything but Flow capture responses (stdout is protocol
/// only), each decoded strictly by [`flow::Response::decode`].
pub fn exchange(cmd: &mut std::process::Command, requests: &[serde_json::Value]) -> Exchange {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let mut stdin = child.stdin.take().unwrap();
    for r in requests {
        writeln!(stdin, "{r}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let messages = stdout
        .lines()
        .map(|l| {
            // Every line decodes as Flow's runtime decodes it (unknown
            // fields refused): `flow::Response`.
            flow::Response::decode(l).unwrap_or_else(|e| panic!("stdout: {e}"));
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect();
    Exchange {
        status: out.status,
        messages,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
