//! `cargo xtask bench` (being written).
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {}

pub fn bench(_: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
