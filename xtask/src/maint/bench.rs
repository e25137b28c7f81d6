//! `cargo xtask bench ARGS`: builds the `benchmark` binary (its own package,
//! see `benchmark/src/main.rs`) the first time, then runs it with ARGS.

use anyhow::bail;
use clap::Args;
use std::process::Command;

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// The benchmark's arguments (`cargo xtask bench --help` lists them)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let bin = crate::ground::tool::BENCHMARK.path()?;
    let status = Command::new(&bin).args(&args.args).status()?;
    if !status.success() {
        bail!("the benchmark failed ({status})");
    }
    Ok(())
}
