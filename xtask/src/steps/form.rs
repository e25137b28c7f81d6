//! Step 3 of the README, checking the config form: `cargo xtask spec`
//! prints the connector's Flow spec response (or only its config schema);
//! `cargo xtask form <name>`: a connector's config form as Estuary's dashboard
//! renders it, offline, in one self-contained HTML page; `--check`: the
//! build-time form checks (`codegen::form_check`) only.
//!
//! The page template (`form_page.html`) is generated from `form/` (JSONForms,
//! Material renderers, React, bundled by esbuild) and committed, so users need
//! neither Node nor npm: this command only puts the schemas into it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use super::session::Session;
use crate::ground::{Dirs, Hint};

/// The page template: `npm --prefix form run build` writes it.
pub const PAGE: &str = include_str!("../../../form/form_page.html");
/// Where the template takes the page's input (a JSON object).
const DATA_SLOT: &str = "__ATF_DATA__";

#[derive(Args)]
pub struct FormArgs {
    /// Connector folder, e.g. `source-freshdesk`
    name: String,
    #[command(flatten)]
    dirs: Dirs,
    /// Command running the upstream Airbyte connector, used when the connector
    /// has no spec.recorded.json (its spec is then asked from the built binary)
    #[arg(long, value_name = "CMD", env = "ATF_ENTRYPOINT")]
    entrypoint: Option<String>,
    /// Render this spec instead of the connector folder's: an Airbyte SPEC
    /// message (spec.jsonl), an Airbyte ConnectorSpecification, or a Flow spec
    /// response; Airbyte specs get the binary's schema fixes, without patches
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Where to write the page [default: target/workflow/<name>/form.html]
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Serve the page on http://127.0.0.1:PORT/ until interrupted
    #[arg(long)]
    serve: bool,
    /// Port for --serve (0: any free port)
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// Only run the form checks and print their warnings (no page)
    #[arg(long)]
    check: bool,
}

pub fn form(args: FormArgs) -> anyhow::Result<()> {
    let spec = flow_spec(&args)?;
    let warnings = codegen::form_check::check_spec(&spec);
    for w in &warnings {
        eprintln!("warning: {}: {w}", args.name);
    }
    if args.check {
        eprintln!("{}: {} form warning(s)", args.name, warnings.len());
        return Ok(());
    }
    let page = render(&args.name, &spec)?;
    let out = args.out.clone().unwrap_or_else(|| {
        crate::ground::target_dir()
            .join("workflow")
            .join(&args.name)
            .join("form.html")
    });
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&out, &page).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} (open it in a browser; it needs no network)",
        out.display()
    );
    if args.spec.is_none() {
        let hint = Hint {
            connectors_dir: args.dirs.connectors_dir.clone(),
            entrypoint: args.entrypoint.clone(),
            ..Hint::default()
        };
        eprintln!(
            "next: save the form's config.json, then discover the streams with it:\n  {}",
            hint.command("discover", &[&args.name, "--config", "config.json"])
        );
    }
    if args.serve {
        serve(&page, args.port)?;
    }
    Ok(())
}

/// The Flow spec response whose schemas the page shows.
fn flow_spec(args: &FormArgs) -> anyhow::Result<Value> {
    if let Some(file) = &args.spec {
        return spec_from_file(file);
    }
    let dir = args.dirs.connector(&args.name)?;
    let loaded = codegen::load(&dir).map_err(|p| anyhow::anyhow!("{p}"))?;
    if let Some(spec) = loaded.flow_spec {
        // The recorded spec with every spec patch applied by
        // patches::apply::flow_spec, the function the binary uses.
        return Ok(spec);
    }
    // No recording: the built binary runs the upstream connector and patches
    // its spec (`cargo xtask spec`).
    eprintln!(
        "{} has no spec.recorded.json: asking the upstream connector for its spec",
        args.name
    );
    let exe = std::env::current_exe().context("cannot find the xtask binary")?;
    let mut cmd = Command::new(exe);
    cmd.arg("spec").arg(&args.name);
    cmd.arg("--connectors-dir").arg(args.dirs.connectors());
    if let Some(e) = &args.entrypoint {
        cmd.arg("--entrypoint").arg(e);
    }
    let output = cmd.output().context("cannot run `cargo xtask spec`")?;
    if !output.status.success() {
        bail!(
            "`cargo xtask spec {}` failed: {}; record the spec with `cargo xtask record-spec {} --entrypoint CMD` or pass --entrypoint CMD",
            args.name,
            String::from_utf8_lossy(&output.stderr).trim(),
            args.name
        );
    }
    serde_json::from_slice(&output.stdout).context("`cargo xtask spec` printed no JSON")
}

/// A spec file: the SPEC line of an Airbyte connector's stdout, its spec
/// object, or a Flow spec response.
pub fn spec_from_file(file: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let parsed: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let whole = serde_json::from_str::<Value>(&text).ok();
    let airbyte = parsed
        .iter()
        .find(|m| m.get("type") == Some(&json!("SPEC")))
        .and_then(|m| m.get("spec"))
        .or_else(|| {
            whole
                .as_ref()
                .filter(|v| v.get("connectionSpecification").is_some())
        })
        .cloned();
    if let Some(spec) = airbyte {
        return patches::apply::flow_spec(&spec, None, patches::OAuth2::Upstream, None)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()));
    }
    match whole {
        Some(v) if v.get("configSchema").is_some() => Ok(v),
        _ => bail!(
            "{}: no Airbyte SPEC message, ConnectorSpecification (\"connectionSpecification\") or Flow spec (\"configSchema\") found; pass the connector's `spec` output",
            file.display()
        ),
    }
}

/// The page for one connector's Flow spec.
pub fn render(name: &str, spec: &Value) -> anyhow::Result<String> {
    let config = spec
        .get("configSchema")
        .context("the spec has no \"configSchema\"")?;
    let data = json!({
        "connector": name,
        "configSchema": config,
        "resourceConfigSchema": spec.get("resourceConfigSchema"),
        // The page says OAuth sign-in is offline only when there is one.
        "oauth2": spec.get("oauth2"),
    });
    // `<` escaped so no `</script>` in a description ends the data block.
    let text = serde_json::to_string(&data)?.replace('<', "\\u003c");
    if !PAGE.contains(DATA_SLOT) {
        bail!("the page template has no {DATA_SLOT}: rebuild it with `npm --prefix form ci && npm --prefix form run build`");
    }
    Ok(PAGE.replacen(DATA_SLOT, &text, 1))
}

/// Serves `page` for every GET on 127.0.0.1 until the process is interrupted.
fn serve(page: &str, port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}: pick another with --port"))?;
    let addr = listener.local_addr()?;
    eprintln!("serving the form on http://{addr}/ (Ctrl-C to stop)");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        // Read the request head; every path gets the page.
        let mut reader = BufReader::new(&stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            page.len()
        );
        let _ = stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(page.as_bytes()));
    }
    Ok(())
}

#[derive(Args)]
pub struct SpecArgs {
    #[command(flatten)]
    session: Session,
    /// Print only the config schema (what the dashboard's form renders)
    #[arg(long)]
    config_schema: bool,
}

pub fn spec(args: SpecArgs) -> anyhow::Result<()> {
    let connector = args.session.build()?;
    let mut spec = connector.spec()?;
    if args.config_schema {
        spec = spec
            .get_mut("configSchema")
            .map(Value::take)
            .context("the spec response has no \"configSchema\"")?;
    }
    println!("{}", serde_json::to_string_pretty(&spec)?);
    let s = &args.session;
    let hint = s.hint(None);
    eprintln!(
        "next: see the config form, then discover the streams:\n  {}\n  {}",
        hint.command("form", &[&s.name]),
        hint.command("discover", &[&s.name])
    );
    Ok(())
}
