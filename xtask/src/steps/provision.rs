//! `cargo xtask provision source-x`: the upstream Airbyte connector of a
//! connector folder, installed into a cached virtualenv from its lock file.
//!
//! `connector.json` `upstream` names the PyPI package, its Python version and
//! the lock file (every transitive dependency pinned), or, for a
//! manifest-only connector, the pinned manifest and the cdk that runs it
//! (`steps::declarative`: one venv per cdk lock). The venv lives outside
//! the worktree, shared by every worktree and CI run of the machine:
//! `$ATF_VENV_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/airbyte-to-flow/venvs`,
//! in `<package>-<version>-py<python>-<hash>` where the hash covers the
//! Python version and the lock file's bytes, so a changed lock is a new venv.
//! A stamp file written last marks a venv complete: an install that was
//! interrupted has no stamp and is redone from scratch. An exclusive file
//! lock per venv makes parallel provisioners (tests) wait for one install.
//!
//! Every command that runs a connector (`spec`, `discover`, `capture`,
//! `record-spec`, `setup`) calls [`entrypoint`] when no `--entrypoint` is
//! given. Progress goes to stderr; `provision` prints the entrypoint command
//! as its last stdout line.

use crate::ground::{fnv1a, run};
use anyhow::{bail, Context};
use clap::Args;
use codegen::upstream::{Pypi, Upstream};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Args)]
pub struct ProvisionArgs {
    /// Connector folder, e.g. `source-freshdesk`
    name: String,
    /// Reinstall even when the cached venv is complete
    #[arg(long)]
    force: bool,
    /// A manifest-only connector's files: take them from this folder, laid
    /// out like airbytehq/airbyte's `airbyte-integrations/connectors/`
    /// [default: Airbyte's registry]
    #[arg(long, value_name = "DIR", env = "ATF_UPSTREAM_MIRROR")]
    from: Option<PathBuf>,
    /// Folder holding the connector folders
    #[arg(long, value_name = "DIR", env = "ATF_CONNECTORS_DIR")]
    connectors_dir: Option<PathBuf>,
}

/// The file that marks a venv complete (written last).
pub const STAMP: &str = ".atf-complete";

/// A provisioned upstream connector.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The venv folder.
    pub venv: PathBuf,
    /// `<venv>/bin/<command>`: runs the connector (with `args`).
    pub entrypoint: PathBuf,
    /// Arguments before the connector's verb (a manifest-only connector's
    /// launcher and its pinned files).
    pub args: Vec<String>,
    /// Whether this call installed it (a cache miss).
    pub installed: bool,
}

impl Provisioned {
    /// The entrypoint as a shell-words command (`--connector-entrypoint`, `--entrypoint`).
    pub fn command(&self) -> String {
        let program = self.entrypoint.to_string_lossy();
        let words = std::iter::once(&*program).chain(self.args.iter().map(String::as_str));
        shell_words::join(words)
    }
}

pub fn provision_cmd(args: ProvisionArgs) -> anyhow::Result<()> {
    let connectors = args
        .connectors_dir
        .unwrap_or_else(crate::ground::default_connectors_dir);
    let dir = connectors.join(&args.name);
    let Some(p) = provision_from(&dir, args.from.as_deref(), args.force)? else {
        bail!(
            "connector \"{}\" names no upstream package: add \"upstream\" to {} ({{\"package\", \"version\", \"python\", \"lock\"}}), or pass --entrypoint to the commands that run it",
            args.name,
            dir.join(codegen::CONNECTOR_JSON).display()
        );
    };
    println!("{}", p.command());
    Ok(())
}

/// The entrypoint command of `dir`'s upstream connector: `given` when set,
/// else the provisioned venv's script; `None` when connector.json names no
/// upstream package (the binary then runs connector.json's `entrypoint`).
pub fn entrypoint(dir: &Path, given: Option<&str>) -> anyhow::Result<Option<String>> {
    if let Some(ep) = given {
        return Ok(Some(ep.to_string()));
    }
    Ok(provision(dir, false)?.map(|p| p.command()))
}

/// Reads `dir/connector.json` (validating the folder) and provisions its
/// upstream, if it names one.
pub fn provision(dir: &Path, force: bool) -> anyhow::Result<Option<Provisioned>> {
    provision_from(dir, None, force)
}

/// [`provision`], a manifest-only connector's files taken from folder
/// `from` (else `$ATF_UPSTREAM_MIRROR`, else the registry).
pub fn provision_from(
    dir: &Path,
    from: Option<&Path>,
    force: bool,
) -> anyhow::Result<Option<Provisioned>> {
    let loaded = crate::ground::load(dir)?;
    match &loaded.connector.upstream {
        None => Ok(None),
        Some(Upstream::Pypi(up)) => install(&loaded.name, up, &dir.join(&up.lock), force).map(Some),
        Some(Upstream::Declarative(up)) => {
            crate::steps::declarative::provision(&loaded.name, up, from, force).map(Some)
        }
    }
}

/// Where the venvs live.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("ATF_VENV_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into())).join(".cache")
        });
    base.join("airbyte-to-flow/venvs")
}

/// The venv folder name for `up` with lock text `lock`.
pub fn venv_name(up: &Pypi, lock: &str) -> String {
    let mut key = format!("python {}\n", up.python).into_bytes();
    key.extend_from_slice(lock.as_bytes());
    format!(
        "{}-{}-py{}-{:016x}",
        up.package,
        up.version,
        up.python,
        fnv1a(&key)
    )
}

/// Installs (or finds in the cache) the venv of `up`.
pub fn install(
    name: &str,
    up: &Pypi,
    lock_path: &Path,
    force: bool,
) -> anyhow::Result<Provisioned> {
    let lock = std::fs::read_to_string(lock_path)
        .with_context(|| format!("cannot read lock file {}", lock_path.display()))?;
    let root = cache_root();
    std::fs::create_dir_all(&root).with_context(|| {
        format!(
            "cannot create the venv cache {}: set ATF_VENV_CACHE to a writable folder",
            root.display()
        )
    })?;
    let venv_name = venv_name(up, &lock);
    let venv = root.join(&venv_name);
    let entrypoint = venv.join("bin").join(up.command());
    let stamp = venv.join(STAMP);
    let stamp_text = format!("{}=={}\n{venv_name}\n", up.package, up.version);

    let lock_file_path = root.join(format!("{venv_name}.lock"));
    let lock_file = std::fs::File::create(&lock_file_path)
        .with_context(|| format!("cannot create {}", lock_file_path.display()))?;
    if lock_file.try_lock().is_err() {
        eprintln!(
            "provision: {name}: waiting for another install of {} ({})",
            venv.display(),
            lock_file_path.display()
        );
        lock_file
            .lock()
            .with_context(|| format!("cannot lock {}", lock_file_path.display()))?;
    }

    let complete = std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str());
    if complete && !force && entrypoint.exists() {
        eprintln!(
            "provision: {name}: {}=={} cached in {}",
            up.package,
            up.version,
            venv.display()
        );
        return Ok(Provisioned {
            venv,
            entrypoint,
            args: Vec::new(),
            installed: false,
        });
    }

    let python = find_python(&up.python)?;
    let pins = codegen::upstream::parse_lock(&lock)
        .map(|p| p.len())
        .unwrap_or(0);
    let started = Instant::now();
    eprintln!(
        "provision: {name}: installing {}=={} ({pins} pinned packages from {}) with {} into {}",
        up.package,
        up.version,
        lock_path.display(),
        python.display(),
        venv.display()
    );
    if venv.exists() {
        eprintln!("provision: {name}: removing the incomplete or stale venv first");
        std::fs::remove_dir_all(&venv)
            .with_context(|| format!("cannot remove {}", venv.display()))?;
    }
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv)).with_context(|| {
        format!(
            "cannot create a virtualenv with {}: is its venv module installed?",
            python.display()
        )
    })?;
    pip_install(name, &venv, lock_path, pins)?;
    if !entrypoint.exists() {
        bail!(
            "{} installed no console script {}: set connector.json /upstream/command to the script the package installs into {}",
            up.package,
            entrypoint.display(),
            venv.join("bin").display()
        );
    }
    std::fs::write(&stamp, &stamp_text)
        .with_context(|| format!("cannot write {}", stamp.display()))?;
    eprintln!(
        "provision: {name}: ready in {:.1}s: {}",
        started.elapsed().as_secs_f64(),
        entrypoint.display()
    );
    Ok(Provisioned {
        venv,
        entrypoint,
        args: Vec::new(),
        installed: true,
    })
}

/// `pip install --no-deps -r LOCK`: exactly the lock, nothing resolved.
/// pip's "Collecting" lines become `[i/N]` progress lines on stderr.
fn pip_install(name: &str, venv: &Path, lock: &Path, total: usize) -> anyhow::Result<()> {
    let mut cmd = Command::new(venv.join("bin/pip"));
    cmd.args([
        "install",
        "--no-deps",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "-r",
    ])
    .arg(lock)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", venv.join("bin/pip").display()))?;
    let stdout = child.stdout.take().expect("piped");
    let mut n = 0;
    let mut last = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(what) = line.strip_prefix("Collecting ") {
            n += 1;
            // `Collecting a==1 (from -r LOCK (line 3))`: only the pin.
            let pin = what.split(" (from ").next().unwrap_or(what);
            eprintln!("provision: {name}: [{n}/{total}] {}", pin.trim());
        } else if line.starts_with("Installing collected packages") {
            eprintln!("provision: {name}: installing {n} packages");
        }
        last.push(line);
        if last.len() > 20 {
            last.remove(0);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "pip could not install {} ({status}); its last output:\n{}",
            lock.display(),
            last.join("\n")
        );
    }
    Ok(())
}

/// The Python interpreter of version `MAJOR.MINOR`: the newest pyenv
/// `$PYENV_ROOT/versions/MAJOR.MINOR.*` (default root `~/.pyenv`), else
/// `pythonMAJOR.MINOR` on PATH.
pub fn find_python(version: &str) -> anyhow::Result<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".pyenv")
        });
    let versions = root.join("versions");
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir(&versions) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(patch) = name
                .strip_prefix(version)
                .and_then(|r| r.strip_prefix('.'))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            let exe = e.path().join("bin/python3");
            if exe.exists() && best.as_ref().is_none_or(|(b, _)| patch > *b) {
                best = Some((patch, exe));
            }
        }
    }
    if let Some((_, exe)) = best {
        return Ok(exe);
    }
    let exe = format!("python{version}");
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let candidate = dir.join(&exe);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "python {version:?} not found: looked for {}/{version}.*/bin/python3 and {exe} on PATH; install it with `pyenv install {version}` (or your system's {exe} package with its venv module), or set PYENV_ROOT",
        versions.display()
    )
}

/// Re-resolves `up.package==version` (with `up.pins`) with pip in a temporary
/// venv and rewrites the lock file `lock_path` from `pip freeze`.
pub fn relock(name: &str, up: &Pypi, version: &str, lock_path: &Path) -> anyhow::Result<()> {
    relock_as(
        name,
        up,
        version,
        lock_path,
        &format!("cargo xtask bump {name} VERSION"),
    )
}

/// [`relock`], the lock's header naming `regenerate` as the command that
/// writes it again.
pub fn relock_as(
    name: &str,
    up: &Pypi,
    version: &str,
    lock_path: &Path,
    regenerate: &str,
) -> anyhow::Result<()> {
    let python = find_python(&up.python)?;
    let tmp = std::env::temp_dir().join(format!("atf-relock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = relock_in(&tmp, &python, name, up, version, lock_path, regenerate);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn relock_in(
    tmp: &Path,
    python: &Path,
    name: &str,
    up: &Pypi,
    version: &str,
    lock_path: &Path,
    regenerate: &str,
) -> anyhow::Result<()> {
    let requirement = format!("{}=={version}", up.package);
    let pins = if up.pins.is_empty() {
        String::new()
    } else {
        format!(" {}", up.pins.join(" "))
    };
    eprintln!(
        "{name}: re-resolving {requirement}{pins} with pip and {} in a temporary venv",
        python.display()
    );
    let started = Instant::now();
    run(Command::new(python).args(["-m", "venv"]).arg(tmp))?;
    run(Command::new(tmp.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .arg(&requirement)
        .args(&up.pins))
    .with_context(|| format!("pip could not resolve {requirement}{pins}"))?;
    let out = Command::new(tmp.join("bin/pip"))
        .args(["freeze", "--disable-pip-version-check"])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("pip freeze failed ({})", out.status);
    }
    let freeze = String::from_utf8(out.stdout).context("pip freeze printed non-UTF-8")?;
    let pyver = Command::new(python).arg("--version").output()?;
    let pyver = String::from_utf8_lossy(&pyver.stdout).trim().to_string();
    let mut text = format!(
        "# The upstream connector of {name}, every dependency pinned: `pip freeze` after\n\
         # `pip install {requirement}{pins}` ({pyver}).\n\
         # Regenerate with `{regenerate}`; do not edit by hand.\n"
    );
    text.push_str(&freeze);
    codegen::upstream::parse_lock(&text).map_err(|(line, e)| {
        anyhow::anyhow!("pip freeze gave a lock this project cannot read (line {line}: {e})")
    })?;
    std::fs::write(lock_path, &text)
        .with_context(|| format!("cannot write {}", lock_path.display()))?;
    eprintln!(
        "{name}: rewrote {} ({} pins) in {:.0}s",
        lock_path.display(),
        freeze.lines().count(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
