//! `mockapi DIR [--scenario NAME]...`: serves the mock API of `DIR`
//! (`DIR/mock.json`, format in `mockapi::spec`) as its own process, for
//! `cargo xtask capture --mock` and `cargo xtask bench` (xtask stays free of
//! the HTTPS stack; it builds this binary the first time it needs it).
//!
//! Protocol, one JSON object per line on stdout:
//! 1. once serving: `{"url": .., "addr": .., "streams": [..], "env": [[name, value], ..]}`
//!    (`MockApi::url`, the streams `mock.json` names, `MockApi::env`);
//! 2. when stdin closes: each request the mock answered, in order
//!    (`{"method","host","path","query","status","route"}`, the query
//!    encoded), then the process exits 0.
//!
//! Errors (a bad `mock.json`, an unknown scenario) go to stderr, exit 1.
//!
//! `mockapi generate --python P --manifest M [--components C --components-sha256 H] --spec S --out DIR [--seed N]
//! [--force] [--command C]`: writes a mock derived from a manifest-only
//! connector's manifest into DIR (`mockapi::generate`), then prints its
//! report (the streams served, those skipped with the reason) as JSON.

use std::io::{BufRead, Write};
use std::path::PathBuf;

fn main() {
    if let Err(e) = serve() {
        eprintln!("mockapi: error: {e:#}");
        std::process::exit(1);
    }
}

fn generate(args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    const USAGE: &str = "usage: mockapi generate --python P --manifest M [--components C --components-sha256 H] --spec S --out DIR [--seed N] [--force] [--command C]";
    let mut args = args.peekable();
    let (mut python, mut manifest, mut spec, mut out) = (None, None, None, None);
    let (mut components, mut components_sha256) = (None, None);
    let (mut seed, mut force, mut command) = (1u64, false, String::from("mockapi generate"));
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value: {USAGE}"))
        };
        match a.as_str() {
            "--python" => python = Some(PathBuf::from(value("--python")?)),
            "--manifest" => manifest = Some(PathBuf::from(value("--manifest")?)),
            "--spec" => spec = Some(PathBuf::from(value("--spec")?)),
            "--components" => components = Some(PathBuf::from(value("--components")?)),
            "--components-sha256" => components_sha256 = Some(value("--components-sha256")?),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--seed" => {
                let v = value("--seed")?;
                seed = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--seed {v:?} is not a whole number: {USAGE}"))?
            }
            "--command" => command = value("--command")?,
            "--force" => force = true,
            other => anyhow::bail!("unexpected argument {other:?}: {USAGE}"),
        }
    }
    let need = |v: Option<PathBuf>, name: &str| {
        v.ok_or_else(|| anyhow::anyhow!("{name} is missing: {USAGE}"))
    };
    let opts = mockapi::generate::Options {
        python: need(python, "--python")?,
        manifest: need(manifest, "--manifest")?,
        components: match (components, components_sha256) {
            (Some(c), Some(h)) => Some((c, h)),
            (None, None) => None,
            _ => anyhow::bail!("--components and --components-sha256 go together: {USAGE}"),
        },
        spec: need(spec, "--spec")?,
        out: need(out, "--out")?,
        seed,
        force,
        command,
    };
    let report = mockapi::generate::generate(&opts)?;
    println!("{report}");
    Ok(())
}

fn serve() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("generate") {
        args.next();
        return generate(args);
    }
    let mut dir = None;
    let mut scenarios = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scenario" => scenarios.push(
                args.next()
                    .ok_or_else(|| anyhow::anyhow!("--scenario needs a name: --scenario NAME"))?,
            ),
            "-h" | "--help" => {
                println!("usage: mockapi DIR [--scenario NAME]...\nserves DIR/mock.json until stdin closes, then prints the requests it answered");
                return Ok(());
            }
            _ if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            other => anyhow::bail!(
                "unexpected argument {other:?}: usage: mockapi DIR [--scenario NAME]..."
            ),
        }
    }
    let dir = dir.ok_or_else(|| {
        anyhow::anyhow!("no mock folder given: usage: mockapi DIR [--scenario NAME]...")
    })?;
    let loaded = mockapi::Loaded::read(&dir)?;
    let streams = loaded.spec.streams.clone();
    let mock = mockapi::MockApi::from_loaded(loaded)?;
    for s in &scenarios {
        mock.activate(s)?;
    }
    let hello = serde_json::json!({
        "url": mock.url(),
        "addr": mock.addr().to_string(),
        "streams": streams,
        "env": mock.env(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{hello}")?;
    out.flush()?;
    // Serve until stdin closes (the parent is done, or gone).
    let mut sink = String::new();
    let stdin = std::io::stdin();
    while stdin.lock().read_line(&mut sink)? > 0 {
        sink.clear();
    }
    for r in mock.requests() {
        let line = serde_json::json!({
            "method": r.method,
            "host": r.host,
            "path": r.path,
            "query": mockapi::encode_query(&r.query),
            "status": r.status,
            "route": r.route,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
