//! Step 4 of the README, `cargo xtask discover`: the connector's streams as
//! Flow bindings, written with the config they came from to
//! `<work-dir>/catalog.json` (after writing a config stub on the first run).

use super::session::{load_config, Session, CATALOG};
use crate::ground::{stub, write_json};
use anyhow::Context;
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub session: Session,
    /// Endpoint config to discover with [default: <work-dir>/config.json, a stub is written there when missing]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn discover(args: DiscoverArgs) -> anyhow::Result<()> {
    let s = &args.session;
    let work = s.work_dir();
    s.connector_dir()?;
    let again = s
        .hint(args.config.as_deref())
        .command("discover", &[&s.name]);
    let config_path = match &args.config {
        Some(path) => path.clone(),
        None => {
            let path = work.join("config.json");
            if !path.exists() {
                let connector = s.build()?;
                let schema = connector
                    .spec()?
                    .get_mut("configSchema")
                    .map(Value::take)
                    .context("the spec response has no \"configSchema\"")?;
                let stub = stub::stub(&schema);
                write_json(&path, &stub.config)?;
                eprintln!("wrote a config stub to {}", path.display());
                for note in &stub.notes {
                    eprintln!("  note: {note}");
                }
                if !stub.optional.is_empty() {
                    eprintln!("  optional, left out: {}", stub.optional.join(", "));
                }
                if stub::placeholders(&stub.config).is_empty() {
                    eprintln!("every value is a default: review them, then run again:");
                } else {
                    eprintln!(
                        "fill in every \"{}...\" value (secret ones are marked), then run again:",
                        stub::PLACEHOLDER,
                    );
                }
                eprintln!("next:\n  {again}");
                println!("{}", path.display());
                return Ok(());
            }
            path
        }
    };
    let config = load_config(&config_path)?;
    let connector = s.build()?;
    let bindings = connector.discover(&config)?;
    let config_path = std::fs::canonicalize(&config_path).unwrap_or(config_path);
    let catalog_path = work.join(CATALOG);
    write_json(
        &catalog_path,
        &json!({ "config": config_path, "bindings": bindings }),
    )?;
    eprintln!("discovered {} binding(s) of {}:", bindings.len(), s.name);
    for b in &bindings {
        eprintln!(
            "  {:<30} key {}{}",
            b["recommendedName"].as_str().unwrap_or("?"),
            b["key"],
            if b["disable"].as_bool() == Some(true) {
                " (disabled)"
            } else {
                ""
            }
        );
    }
    eprintln!(
        "wrote the discovered catalog to {}\nnext:\n  {}",
        catalog_path.display(),
        s.hint(args.config.as_deref())
            .command("capture", &[&s.name])
    );
    println!("{}", catalog_path.display());
    Ok(())
}
