//! `doccheck --bindings FILE --documents FILE --connector-dir DIR [--write-patches]`:
//! checks the documents a capture wrote against their bindings' schemas, the
//! way `cargo xtask capture` reports them (xtask builds and runs this binary,
//! so it compiles no JSON Schema validator itself).
//!
//! - `--bindings`: a JSON array of `{"name", "stream", "schema"}`, one per
//!   binding (`name` as in the documents file).
//! - `--documents`: the JSON lines `{"binding": name, "doc": ..}` of the capture.
//! - stderr: each violating binding's report and its proposed (or written)
//!   `streams/<stream>.patch.json`;
//! - stdout: one JSON line `{"documents": N, "invalid": N, "violations": bool}`.
//!
//! Exit 1 with the reason on stderr when the check cannot run.

use anyhow::{bail, Context};
use doccheck::{read_documents, Binding};
use serde_json::{json, Value};
use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("doccheck: error: {e:#}");
        std::process::exit(1);
    }
}

const USAGE: &str =
    "usage: doccheck --bindings FILE --documents FILE --connector-dir DIR [--write-patches]";

fn run() -> anyhow::Result<()> {
    let (mut bindings, mut documents, mut connector_dir, mut write) = (None, None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .map(PathBuf::from)
                .with_context(|| format!("{a} needs a value: {USAGE}"))
        };
        match a.as_str() {
            "--bindings" => bindings = Some(value()?),
            "--documents" => documents = Some(value()?),
            "--connector-dir" => connector_dir = Some(value()?),
            "--write-patches" => write = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unexpected argument {other:?}: {USAGE}"),
        }
    }
    let (Some(bindings), Some(documents), Some(connector_dir)) =
        (bindings, documents, connector_dir)
    else {
        bail!("{USAGE}");
    };
    let text = std::fs::read_to_string(&bindings)
        .with_context(|| format!("cannot read {}", bindings.display()))?;
    let list: Vec<Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON array of bindings", bindings.display()))?;
    let mut checks = Vec::new();
    for b in list {
        let text = |k: &str| b[k].as_str().unwrap_or_default().to_string();
        checks.push(Binding::new(
            text("name"),
            text("stream"),
            b["schema"].clone(),
        )?);
    }
    let mut docs = read_documents(&documents)?;
    let (mut total, mut invalid) = (0u64, 0u64);
    for c in &mut checks {
        for d in docs.get(&c.name).into_iter().flatten() {
            c.check(d);
        }
        total += c.documents;
        invalid += c.invalid_documents;
    }
    let mut violations = false;
    for c in &checks {
        if !c.has_violations() {
            continue;
        }
        violations = true;
        eprint!("\n{}", c.report());
        let observed = docs.remove(&c.name).unwrap_or_default();
        let Some(p) = c.propose(&connector_dir, &observed)? else {
            continue;
        };
        let rel = p
            .file
            .strip_prefix(&connector_dir)
            .unwrap_or(&p.file)
            .display()
            .to_string();
        for path in &p.by_hand {
            eprintln!("  no automatic patch for schema location \"{path}\": edit {rel} by hand");
        }
        let pretty = serde_json::to_string_pretty(&p.content)? + "\n";
        if write {
            if let Some(parent) = p.file.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&p.file, pretty)
                .with_context(|| format!("cannot write {}", p.file.display()))?;
            eprintln!("  wrote {}", p.file.display());
        } else {
            eprintln!(
                "  proposed {rel} (accepts every observed document of stream \"{}\"):",
                p.stream
            );
            for line in pretty.lines() {
                eprintln!("    {line}");
            }
        }
    }
    println!(
        "{}",
        json!({"documents": total, "invalid": invalid, "violations": violations})
    );
    Ok(())
}
