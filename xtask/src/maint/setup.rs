//! `cargo xtask setup | test`: what a fresh machine needs, and the
//! README's two commands.
//!
//! `setup` installs the pinned Airbyte connectors the tests drive into Python
//! virtualenvs under `.venvs/` (ignored by git), then provisions the upstream
//! venv of every shipped connector (`connectors/*/connector.json` `upstream`,
//! cached outside the worktree: see `provision.rs`). Each venv is installed from a
//! full `pip freeze` kept in `xtask/python/`, and is marked complete by a stamp
//! file holding the hash of that list, written last: an interrupted install has
//! no stamp and is redone from scratch, a changed pin list reinstalls.

use anyhow::{bail, Context};
use clap::Args;
use std::path::Path;
use std::process::Command;

use crate::ground::{cargo, fnv1a, run};

/// A pinned Airbyte connector installed by `setup`.
pub(crate) struct Venv {
    /// Folder name under `.venvs/`.
    pub name: &'static str,
    /// Requirements file under `xtask/python/` (a full `pip freeze`).
    requirements: &'static str,
    /// A `bin/source-faker` script to write, for packages that ship no console script.
    main_script: Option<&'static str>,
}

pub(crate) const VENVS: &[Venv] = &[
    Venv {
        name: "faker-7.2.1",
        requirements: "faker-7.2.1.txt",
        main_script: None,
    },
    Venv {
        name: "faker-4.0.0",
        requirements: "faker-4.0.0.txt",
        // airbyte-source-faker 4.0.0 ships no console script: the equivalent of its main.py.
        main_script: Some(
            "import sys\n\
             from airbyte_cdk.entrypoint import launch\n\
             from source_faker import SourceFaker\n\
             \n\
             if __name__ == \"__main__\":\n    launch(SourceFaker(), sys.argv[1:])\n",
        ),
    },
];

const STAMP: &str = ".atf-installed";

#[derive(Args)]
pub struct SetupArgs {
    /// Reinstall even when the stamp says the venv is complete
    #[arg(long)]
    pub force: bool,
    /// Python interpreter to create the venvs with
    #[arg(long, default_value = "python3", env = "ATF_PYTHON")]
    pub python: String,
}

#[derive(Args)]
pub struct TestArgs {
    /// Extra arguments passed to `cargo test` (after `--workspace`)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    cargo_args: Vec<String>,
}

/// `cargo xtask setup` with its defaults (what `test` and `demo` run first).
fn setup_defaults() -> anyhow::Result<()> {
    setup(SetupArgs {
        force: false,
        python: std::env::var("ATF_PYTHON").unwrap_or_else(|_| "python3".into()),
    })
}

pub fn setup(args: SetupArgs) -> anyhow::Result<()> {
    let root = crate::ground::workspace_root();
    for venv in VENVS {
        install(&root, venv, &args)?;
    }
    provision_shipped(&crate::ground::default_connectors_dir(), args.force)
}

/// Provisions the upstream venv of every connector folder whose
/// connector.json names an `upstream` package (cached; see `provision.rs`).
fn provision_shipped(connectors: &Path, force: bool) -> anyhow::Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(connectors)
        .with_context(|| format!("cannot list {}", connectors.display()))?
        .flatten()
        .filter(|e| e.path().join(codegen::CONNECTOR_JSON).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for (i, name) in names.iter().enumerate() {
        eprintln!("setup: [{}/{}] {name}", i + 1, names.len());
        let started = std::time::Instant::now();
        let provisioned = crate::steps::provision::provision(&connectors.join(name), force)
            .with_context(|| format!("cannot provision the upstream connector of {name}"));
        // A manifest-only connector whose pinned files are not at hand (no
        // registry, no mirror folder) is reported, not fatal: its tests skip.
        let provisioned = match provisioned {
            Err(e) if is_declarative(&connectors.join(name)) => {
                eprintln!("setup: {name}: not provisioned, its tests will skip: {e:#}");
                continue;
            }
            other => other?,
        };
        match provisioned {
            Some(p) if p.installed => eprintln!(
                "setup: {name}: installed in {:.0}s into {}",
                started.elapsed().as_secs_f64(),
                p.venv.display()
            ),
            Some(_) => {}
            None => eprintln!(
                "setup: {name}: names no upstream package (connector.json has no \"upstream\")"
            ),
        }
    }
    Ok(())
}

/// Whether `dir`'s connector.json names a manifest-only upstream.
fn is_declarative(dir: &Path) -> bool {
    crate::ground::read_json(&dir.join(codegen::CONNECTOR_JSON))
        .is_ok_and(|c| c["upstream"]["kind"] == codegen::upstream::DECLARATIVE)
}

pub(crate) fn install(root: &Path, venv: &Venv, args: &SetupArgs) -> anyhow::Result<()> {
    let requirements = root.join("xtask/python").join(venv.requirements);
    let pins = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let stamp_value = format!("{:016x}\n", fnv1a(pins.as_bytes()));
    let dir = root.join(".venvs").join(venv.name);
    let stamp = dir.join(STAMP);

    if !args.force && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&stamp_value) {
        eprintln!("setup: {} is installed ({})", venv.name, dir.display());
        return Ok(());
    }
    eprintln!(
        "setup: installing {} from {} into {}",
        venv.name,
        requirements.display(),
        dir.display()
    );
    remove_any(&dir)?;
    std::fs::create_dir_all(dir.parent().unwrap())?;

    run(Command::new(&args.python).args(["-m", "venv"]).arg(&dir))
        .with_context(|| format!("cannot create a virtualenv with `{}`: is Python 3.11 installed? (set --python or ATF_PYTHON)", args.python))?;
    let total = pins
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count();
    crate::ground::progress::pip_install(
        // `--no-compile`: no bytecode for every installed module up front
        // (Python writes it for what it imports); measured on faker 7.2.1's
        // 93 pins: 46 s of pip's CPU with it, 33 s without.
        Command::new(dir.join("bin/pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--no-compile",
                "-r",
            ])
            .arg(&requirements),
        &format!("setup: {}", venv.name),
        total,
    )
    .with_context(|| format!("pip could not install {}", requirements.display()))?;

    if let Some(body) = venv.main_script {
        let script = dir.join("bin/source-faker");
        let python = dir.join("bin/python");
        std::fs::write(&script, format!("#!{}\n{body}", python.display()))?;
        make_executable(&script)?;
    }
    let exe = dir.join("bin/source-faker");
    if !exe.exists() {
        bail!(
            "{} was not installed by {}",
            exe.display(),
            requirements.display()
        );
    }
    std::fs::write(&stamp, stamp_value)?;
    eprintln!("setup: {} ready: {}", venv.name, exe.display());
    Ok(())
}

/// Removes a file, symlink or directory tree at `path`, if anything is there.
fn remove_any(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)
            .with_context(|| format!("cannot remove {}", path.display())),
        Ok(_) => {
            std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))
        }
    }
}

fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

/// The file `testkit::skip` appends a line per skipped test to:
/// `$ATF_TEST_SKIPS`, else `target/test-skips.txt` (testkit::skips_file).
fn skips_file() -> std::path::PathBuf {
    std::env::var_os("ATF_TEST_SKIPS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::ground::target_dir().join("test-skips.txt"))
}

/// The form's node packages (`form/node_modules`, pinned by
/// `form/package-lock.json`), installed with `npm ci` when missing or older
/// than the lock: the browser test and the page rebuild test need them. A
/// stamp holding the lock's hash, written last, says they are complete.
/// Without npm, says which tests will skip and how to get it.
fn form_node_modules(root: &Path) -> anyhow::Result<()> {
    let form = root.join("form");
    let lock = std::fs::read(form.join("package-lock.json"))
        .with_context(|| format!("cannot read {}", form.join("package-lock.json").display()))?;
    let stamp = form.join("node_modules").join(".atf-package-lock-hash");
    let want = format!("{:016x}\n", fnv1a(&lock));
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        eprintln!("test: form/node_modules is installed (form/package-lock.json unchanged)");
        return Ok(());
    }
    let has_npm = Command::new("npm")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_npm {
        eprintln!("test: npm is not installed, so form/node_modules cannot be: the form browser test and the page rebuild test will skip (install Node.js 20 with npm, e.g. `apt-get install nodejs npm`, and run again)");
        return Ok(());
    }
    eprintln!(
        "test: installing the form's node packages (form/node_modules is {} form/package-lock.json): npm --prefix form ci",
        if form.join("node_modules").is_dir() {
            "older than"
        } else {
            "missing; pinned by"
        }
    );
    run(Command::new("npm").args([
        "--prefix",
        "form",
        "ci",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel=error",
    ])
    .current_dir(root))
    .context("`npm --prefix form ci` failed: the form browser test and the page rebuild test need form/node_modules; fix the error above and run again")?;
    std::fs::write(&stamp, want).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(())
}

/// What one tier's `cargo test` said in its `test result:` lines, summed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Totals {
    /// Adds one `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let n = |w: &[&str]| w.first().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
            match words.as_slice() {
                [.., _, "passed"] => self.passed += n(&words[words.len() - 2..]),
                [_, "failed"] => self.failed += n(&words),
                [_, "ignored"] => self.ignored += n(&words),
                _ => {}
            }
        }
    }
}

/// Runs one tier's `cargo test`, its stdout relayed line by line, and sums
/// its `test result:` lines.
fn run_tier(cmd: &mut Command) -> (anyhow::Result<()>, Totals) {
    use std::io::{BufRead, Write};
    let mut totals = Totals::default();
    let mut child = match cmd.stdout(std::process::Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return (Err(anyhow::anyhow!("cannot run {cmd:?}: {e}")), totals),
    };
    let stdout = child.stdout.take().expect("piped");
    let mut out = std::io::stdout();
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        totals.add_line(&line);
        let _ = writeln!(out, "{line}");
    }
    let result = match child.wait() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(anyhow::anyhow!("{cmd:?} failed ({s})")),
        Err(e) => Err(anyhow::anyhow!("cannot wait for {cmd:?}: {e}")),
    };
    (result, totals)
}

/// The tests `target/test-skips.txt` names (`skipped: <test>: <why>`),
/// each with its reasons, sorted.
fn skipped_tests(text: &str) -> Vec<(String, Vec<String>)> {
    let mut by_test: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in text.lines() {
        let body = line.strip_prefix("skipped: ").unwrap_or(line);
        let test = body.split_once(": ").map_or(body, |(t, _)| t);
        // A test's own name, without what part of it skipped.
        let name = test.split(" (").next().unwrap_or(test).to_string();
        let reasons = by_test.entry(name).or_default();
        if !reasons.iter().any(|r| r == body) {
            reasons.push(body.to_string());
        }
    }
    by_test.into_iter().collect()
}

pub fn test(args: TestArgs) -> anyhow::Result<()> {
    let root = crate::ground::workspace_root();
    // The shipped manifest-only connectors' pinned files: from the shared
    // test data when it is beside the project (CI), for setup and the tests.
    let manifests = root.join("../shared/manifests");
    if std::env::var_os("ATF_UPSTREAM_MIRROR").is_none() && manifests.is_dir() {
        eprintln!(
            "test: manifest-only connectors' files from {} (ATF_UPSTREAM_MIRROR)",
            manifests.display()
        );
        std::env::set_var("ATF_UPSTREAM_MIRROR", &manifests);
    }
    setup_defaults()?;
    form_node_modules(&root)?;
    // testkit::skip appends a line per skipped test here.
    let skips = skips_file();
    let _ = std::fs::remove_file(&skips);
    // `cargo xtask test ARGS -- TEST_ARGS`: ARGS go to cargo, TEST_ARGS to
    // the test binaries.
    let (cargo_args, test_args) = match args.cargo_args.iter().position(|a| a == "--") {
        Some(i) => (&args.cargo_args[..i], &args.cargo_args[i + 1..]),
        None => (&args.cargo_args[..], &[][..]),
    };
    // Every test binary runs, so one failure does not hide the others.
    eprintln!("test: fast tier: cargo test --workspace --no-fail-fast");
    let (fast, fast_totals) = run_tier(
        cargo()
            .current_dir(&root)
            .args(["test", "--workspace", "--no-fail-fast"])
            .args(cargo_args)
            .arg("--")
            .args(test_args),
    );
    eprintln!(
        "test: full tier: cargo test -p xtask -p runtime --test full --no-fail-fast -- --ignored"
    );
    let (full, full_totals) = run_tier(
        cargo()
            .current_dir(&root)
            .args(["test", "-p", "xtask", "-p", "runtime", "--test", "full"])
            .arg("--no-fail-fast")
            .args(cargo_args)
            .args(["--", "--ignored"])
            .args(test_args),
    );
    // What did not run here, said after the totals (a skip is never a pass:
    // a skipped test returns early and cargo counts it as passed).
    let skipped = skipped_tests(&std::fs::read_to_string(&skips).unwrap_or_default());
    let passed = fast_totals.passed + full_totals.passed;
    let failed = fast_totals.failed + full_totals.failed;
    println!(
        "test: fast tier: {} passed, {} failed, {} ignored (the full tier's); full tier: {} passed, {} failed, {} ignored",
        fast_totals.passed,
        fast_totals.failed,
        fast_totals.ignored,
        full_totals.passed,
        full_totals.failed,
        full_totals.ignored
    );
    println!(
        "test: {passed} passed, {failed} failed, {} skipped (counted as passed by cargo: they checked nothing, or only part)",
        skipped.len()
    );
    if skipped.is_empty() {
        println!("test: no test skipped");
    } else {
        println!(
            "test: {} test(s) skipped, each with why and how to run it ({}):",
            skipped.len(),
            skips.display()
        );
        for (_, reasons) in &skipped {
            for r in reasons {
                println!("  {r}");
            }
        }
    }
    match (fast, full) {
        (Ok(()), Ok(())) => Ok(()),
        (fast, full) => bail!(
            "tests failed: fast tier {}, full tier {}; each failure is above its tier's summary",
            fast.map_or("failed", |_| "passed"),
            full.map_or("failed", |_| "passed"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_result_lines_are_summed() {
        let mut t = Totals::default();
        t.add_line("test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 1.20s");
        t.add_line("test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.01s");
        t.add_line("running 3 tests");
        assert_eq!(
            t,
            Totals {
                passed: 13,
                failed: 2,
                ignored: 3
            }
        );
    }

    #[test]
    fn skips_are_counted_per_test() {
        let s = skipped_tests(
            "skipped: a: ../shared is absent\nskipped: b (fixture specs): ../shared is absent\nskipped: a: ../shared is absent\nskipped: b: no chromium\n",
        );
        let names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(s[1].1.len(), 2);
    }
}
