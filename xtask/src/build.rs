//! `cargo xtask build | expand | record-spec`.
//!
//! OWNED BY: helper "codegen-build". The items marked CONTRACT are used by
//! other xtask modules; keep their signatures.
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BuildArgs {}
#[derive(Args)]
pub struct ExpandArgs {}
#[derive(Args)]
pub struct RecordSpecArgs {}

/// CONTRACT: what to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Connector folder name, e.g. `source-faker`.
    pub name: String,
    /// Folder holding connector folders (default: `<workspace>/connectors`).
    pub connectors_dir: PathBuf,
    /// Where the binary and image context go (default: `target/connectors/<name>`).
    pub out: Option<PathBuf>,
    /// Push the image with a personal tag after building it (needs Docker).
    pub push: bool,
}

/// CONTRACT: `<workspace>/connectors`.
pub fn default_connectors_dir() -> PathBuf {
    crate::workspace_root().join("connectors")
}

/// CONTRACT: generate, validate and compile one connector; returns the path of
/// its static binary. Progress goes to stderr.
pub fn build_connector(opts: &BuildOptions) -> anyhow::Result<PathBuf> {
    anyhow::bail!("not written yet: {opts:?}")
}

pub fn build(_: BuildArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
pub fn expand(_: ExpandArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
pub fn record_spec(_: RecordSpecArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
