//! The connector developer's workflow: one `cargo xtask` command per step of
//! the seed README (see docs/adding-a-connector.md).
//!
//! - `new-connector`, `bump`: the connector folder ([`template`]).
//! - `spec`, `discover`, `capture`: drive the built connector binary with Flow
//!   capture requests ([`run`]), check captured documents ([`check`]).
//! - `ci-matrix`, `pull`: CI and upstream code ([`ci`], [`pull`]).
//!
//! Files a developer works with locally (the config, the discovered catalog,
//! the captured documents) live in a work folder, by default
//! `target/workflow/<connector>/` (ignored by git, like all of `target/`).

use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};

mod ci;
mod hint;
mod logs;
mod mock;
pub use mock::MockRun;
mod pull;
mod run;
mod stub;
mod template;

pub use ci::{ci_matrix, CiMatrixArgs};
pub(crate) use hint::{unknown_connector, Hint};
pub use pull::{pull, PullArgs};
pub use run::{capture, discover, spec, CaptureArgs, DiscoverArgs, SpecArgs};
pub use stub::stub;
pub use template::{bump, new_connector, BumpArgs, NewConnectorArgs};

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
            .unwrap_or_else(crate::build::default_connectors_dir)
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

/// The connector's `connector.json` as JSON (key order kept).
pub(crate) fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
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
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Cargo's target folder (`$CARGO_TARGET_DIR` or `<workspace>/target`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}
