//! `cargo xtask build | expand | record-spec` (being written).
use clap::Args;

#[derive(Args)]
pub struct BuildArgs {}
#[derive(Args)]
pub struct ExpandArgs {}
#[derive(Args)]
pub struct RecordSpecArgs {}

pub fn build(_: BuildArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
pub fn expand(_: ExpandArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
pub fn record_spec(_: RecordSpecArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
