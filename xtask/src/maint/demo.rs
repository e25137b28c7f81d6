//! `cargo xtask demo`: the README's quick start. The seed README's discover
//! and capture steps on the project's own `connectors/source-faker` against
//! the pinned real faker (installing only faker), or, with a connector name,
//! a capture against that connector's mock API.

use anyhow::Context;
use clap::Args;
use std::process::Command;

use super::setup::{install, SetupArgs, VENVS};
use crate::ground::run;

#[derive(Args)]
pub struct DemoArgs {
    /// A connector with a mock API (e.g. `source-freshdesk`): captures it
    /// against its mock instead of running faker
    connector: Option<String>,
    /// How many users and purchases faker generates
    #[arg(long, default_value_t = 200)]
    count: u64,
}

/// The demo: the seed README's discover and capture steps, run on the
/// project's own `connectors/source-faker` against the pinned real faker.
pub fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(name) = args.connector.as_deref().filter(|n| *n != "source-faker") {
        return demo_mock(name);
    }
    eprintln!("demo: setup: the pinned faker connector (a Python venv under .venvs/)");
    let root = crate::ground::workspace_root();
    // Only what the demo runs: faker 7.2.1 (not the older faker the tests
    // also drive, nor the shipped connectors' venvs `setup` provisions).
    install(
        &root,
        &VENVS[0],
        &SetupArgs {
            force: false,
            python: std::env::var("ATF_PYTHON").unwrap_or_else(|_| "python3".into()),
        },
    )?;
    // Cargo's target folder, like every output ($CARGO_TARGET_DIR when set).
    let work = crate::ground::target_dir().join("demo");
    std::fs::create_dir_all(&work)?;
    let faker = root
        .join(".venvs")
        .join(VENVS[0].name)
        .join("bin/source-faker");
    let config = work.join("config.json");
    let body = serde_json::json!({
        "count": args.count,
        "advanced": { "seed": 7 },
        "records_per_slice": 100,
        "parallelism": 1,
        "_atf_skip_interval": true,
    });
    std::fs::write(&config, serde_json::to_vec_pretty(&body)?)?;
    eprintln!("demo: config {}", config.display());

    let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
    let common = |cmd: &str| {
        let mut c = Command::new(&xtask);
        // A dev build of the connector: it shares what compiling xtask (and
        // later `cargo xtask test`) builds, instead of a first optimized build.
        c.env(crate::steps::build::DEV_PROFILE_ENV, "dev");
        c.arg(cmd)
            .arg("source-faker")
            .arg("--entrypoint")
            .arg(&faker)
            .arg("--work-dir")
            .arg(&work);
        c
    };
    eprintln!("demo: step 1/2: cargo xtask discover source-faker (builds the connector binary)");
    run(common("discover").arg("--config").arg(&config))?;
    eprintln!("demo: step 2/2: cargo xtask capture source-faker");
    run(common("capture").args(["--for", "2m"]))?;

    let documents = work.join("documents.jsonl");
    let text = std::fs::read_to_string(&documents)
        .with_context(|| format!("the capture wrote no {}", documents.display()))?;
    println!("first captured documents ({}):", documents.display());
    for line in text.lines().take(3) {
        println!("  {line}");
    }
    println!(
        "{} documents in all; the binary is in {}",
        text.lines().count(),
        work.join("build").display()
    );
    Ok(())
}

/// `cargo xtask demo source-x`: the real connector captured against its mock
/// API (`cargo xtask capture source-x --mock`), then its first documents.
fn demo_mock(name: &str) -> anyhow::Result<()> {
    let work = crate::ground::target_dir().join("demo").join(name);
    std::fs::create_dir_all(&work)?;
    let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
    eprintln!("demo: cargo xtask capture {name} --mock (builds the connector binary, serves its mock API)");
    run(Command::new(&xtask)
        .args(["capture", name, "--mock", "--for", "5m", "--work-dir"])
        .arg(&work))?;
    let documents = work.join("documents.jsonl");
    let text = std::fs::read_to_string(&documents)
        .with_context(|| format!("the capture wrote no {}", documents.display()))?;
    println!("first captured documents ({}):", documents.display());
    for line in text.lines().take(3) {
        println!("{line}");
    }
    Ok(())
}
