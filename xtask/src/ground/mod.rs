//! The ground floor: what every command of xtask shares and nothing else
//! builds on. The workspace and target folders, the connector folders
//! (`--connectors-dir`), JSON files, running commands and cargo, stamps'
//! content hashes, next-step hints ([`hint`]), the binary's log relay
//! ([`logs`]), pip's progress ([`progress`]), config stubs ([`stub`]) and the
//! heavy tools built on first use ([`tool`]). Modules here import nothing
//! from `steps` or `maint`.

use anyhow::{bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod hint;
pub mod logs;
pub mod progress;
pub mod stub;
pub mod tool;

pub use hint::{unknown_connector, Hint};

/// Where the connector folders are: shared by every workflow command.
#[derive(Args, Debug, Clone)]
pub struct Dirs {
    /// Folder holding the connector folders
    #[arg(long, value_name = "DIR", env = "ATF_CONNECTORS_DIR")]
    pub connectors_dir: Option<PathBuf>,
}

impl Dirs {
    pub fn connectors(&self) -> PathBuf {
        self.connectors_dir
            .clone()
            .unwrap_or_else(default_connectors_dir)
    }

    /// `<connectors>/<name>`, which must exist.
    pub fn connector(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.connectors().join(name);
        if dir.join("connector.json").is_file() {
            return Ok(dir);
        }
        Err(hint::unknown_connector(
            &self.connectors(),
            name,
            &self.hint(),
        ))
    }

    /// A hint builder repeating `--connectors-dir` when it was given.
    pub fn hint(&self) -> Hint {
        Hint {
            connectors_dir: self.connectors_dir.clone(),
            ..Hint::default()
        }
    }
}

/// A JSON file (key order kept), with an error naming it.
pub fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not valid JSON: fix its syntax and run again",
            path.display()
        )
    })
}

/// Writes pretty JSON with a trailing newline, creating parent folders.
pub fn write_json(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Cargo's target folder (`$CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `<workspace>/connectors`.
pub fn default_connectors_dir() -> PathBuf {
    workspace_root().join("connectors")
}

/// Loads and validates one connector folder; prints its warnings to stderr.
pub fn load(dir: &Path) -> anyhow::Result<codegen::Loaded> {
    let loaded = codegen::load(dir).map_err(|p| {
        anyhow::anyhow!(
            "{p}\n(each line is FILE: WHERE: PROBLEM, FILE relative to the connector folder, \
             WHERE a JSON pointer into it, line:col, or (file) for the file as a whole)"
        )
    })?;
    for w in &loaded.warnings {
        eprintln!("warning: {}: {w}", dir.display());
    }
    for w in loaded
        .flow_spec
        .iter()
        .flat_map(codegen::form_check::check_spec)
    {
        eprintln!("warning: {}: {w}", dir.display());
    }
    Ok(loaded)
}

/// Writes `content` to `path` unless it already holds it; returns whether it wrote.
pub fn write_if_changed(path: &Path, content: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// 64-bit FNV-1a: a stable content hash for stamps and cache keys (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// Runs `cmd` with inherited stdio; an error names the program and its status.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// The cargo that runs us (`$CARGO`), else `cargo` on `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
