//! `cargo xtask setup | test | demo` (being written).
use clap::Args;

#[derive(Args)]
pub struct SetupArgs {}
#[derive(Args)]
pub struct TestArgs {}
#[derive(Args)]
pub struct DemoArgs {}

pub fn setup(_: SetupArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
pub fn test(_: TestArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
pub fn demo(_: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
