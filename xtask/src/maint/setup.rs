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
    // testkit::skip appends a line per skipped test here (testkit::SKIPS).
    let skips = crate::ground::target_dir().join("test-skips.txt");
    let _ = std::fs::remove_file(&skips);
    // `cargo xtask test ARGS -- TEST_ARGS`: ARGS go to cargo, TEST_ARGS to
    // the test binaries.
    let (cargo_args, test_args) = match args.cargo_args.iter().position(|a| a == "--") {
        Some(i) => (&args.cargo_args[..i], &args.cargo_args[i + 1..]),
        None => (&args.cargo_args[..], &[][..]),
    };
    // Every test binary runs, so one failure does not hide the others.
    eprintln!("test: fast tier: cargo test --workspace --no-fail-fast");
    let fast = run(cargo()
        .current_dir(&root)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(cargo_args)
        .arg("--")
        .args(test_args));
    eprintln!(
        "test: full tier: cargo test -p xtask -p runtime --test full --no-fail-fast -- --ignored"
    );
    let full = run(cargo()
        .current_dir(&root)
        .args(["test", "-p", "xtask", "-p", "runtime", "--test", "full"])
        .arg("--no-fail-fast")
        .args(cargo_args)
        .args(["--", "--ignored"])
        .args(test_args));
    // What did not run here, said after the totals (a skip is never a pass).
    let mut skipped: Vec<String> = std::fs::read_to_string(&skips)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    skipped.sort();
    skipped.dedup();
    if skipped.is_empty() {
        println!("test: no test skipped");
    } else {
        println!(
            "test: {} test(s) skipped (they passed nothing):",
            skipped.len()
        );
        for line in &skipped {
            println!("  {line}");
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
