//! `mockapi generate`: a mock API derived from a manifest-only connector's
//! `manifest.yaml`, in the format of [`crate::spec`], so that
//! `cargo xtask capture source-x --mock` runs with no hand-written file.
//!
//! 1. [`config::config`] makes the connector's config from its spec.
//! 2. `plan.py`, run by the Python of the connector's pinned airbyte-cdk,
//!    reads the manifest as the cdk does and evaluates its interpolations
//!    with that config: per stream the request (host, path, fixed query
//!    parameters), the authenticator, the record selector's path, the
//!    paginator, the incremental cursor, the parent stream, the schema.
//! 3. [`build`] turns that plan into routes: records made from each schema
//!    ([`records`]), enough for two pages where the stream pages, child
//!    routes that accept exactly their parents' ids, the cursor's filter
//!    where the cursor is sent as a query parameter, the authenticator's
//!    credential required; and scenarios: `rate_limited` (one 429 with
//!    `Retry-After`), `<stream>_down` (500 after one good call),
//!    `new_records` (newer records for every incremental stream).
//!
//! What the plan cannot serve (custom code, an unknown paginator, a body
//! request) is skipped per stream with its reason, in the report and in
//! `mock.json`'s `generated`; the other streams are served.

mod build;
pub mod config;
pub mod records;

pub use build::{build, Mock};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const PLAN_PY: &str = include_str!("plan.py");

pub struct Options {
    /// The Python of the connector's pinned cdk venv.
    pub python: PathBuf,
    pub manifest: PathBuf,
    /// Its `components.py` and the pinned sha256, if any (the cdk's
    /// discover imports it only when the file has that hash).
    pub components: Option<(PathBuf, String)>,
    /// The connector's spec: `spec.recorded.json`, an Airbyte spec, or its
    /// `connectionSpecification`.
    pub spec: PathBuf,
    pub seed: u64,
    pub out: PathBuf,
    pub force: bool,
    /// The command a user runs to regenerate it (recorded in `mock.json`).
    pub command: String,
}

/// Writes the mock folder `opts.out` (whole or not at all) and returns the
/// report: the streams served, those skipped with their reasons.
pub fn generate(opts: &Options) -> anyhow::Result<Value> {
    if opts.out.join("mock.json").exists() && !opts.force {
        bail!(
            "{} already holds a mock (mock.json): pass --force to replace it with a generated one",
            opts.out.display()
        );
    }
    let text = std::fs::read_to_string(&opts.spec)
        .with_context(|| format!("cannot read the connector's spec {}", opts.spec.display()))?;
    let spec: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", opts.spec.display()))?;
    let connection = spec
        .pointer("/spec/connectionSpecification")
        .or_else(|| spec.get("connectionSpecification"))
        .unwrap_or(&spec);
    let (config, config_problems) = config::config(connection, opts.seed);

    let work = tempfile::tempdir()?;
    let config_path = work.path().join("config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    let plan_py = work.path().join("plan.py");
    std::fs::write(&plan_py, PLAN_PY)?;
    let mut cmd = std::process::Command::new(&opts.python);
    cmd.arg(&plan_py).arg(&opts.manifest).arg(&config_path);
    if let Some((c, sha256)) = &opts.components {
        cmd.arg(c).arg(sha256);
    }
    // The cdk's discover must not reach the network (a dynamic schema would
    // call the real API): every request goes to a proxy that refuses.
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {}", opts.python.display()))?;
    if !out.status.success() {
        bail!(
            "reading the manifest {} with {} failed ({}): {}",
            opts.manifest.display(),
            opts.python.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let plan: Value = serde_json::from_slice(&out.stdout).context("plan.py printed no JSON")?;

    let mut mock = build(&plan, opts.seed);
    mock.spec["generated"] = json!({
        "command": opts.command,
        "seed": opts.seed,
        "skipped": mock.skipped,
        "notes": mock.notes,
        "config": config_problems,
        "problems": plan["problems"],
    });

    // Written beside the target, then moved into place.
    let parent = opts.out.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".mock-generate")
        .tempdir_in(parent)?;
    let dir = staging.path();
    let pretty = |v: &Value| -> anyhow::Result<Vec<u8>> {
        let mut b = serde_json::to_vec_pretty(v)?;
        b.push(b'\n');
        Ok(b)
    };
    std::fs::write(dir.join("mock.json"), pretty(&mock.spec)?)?;
    std::fs::write(dir.join("config.json"), pretty(&config)?)?;
    for (file, records) in &mock.files {
        std::fs::write(dir.join(file), pretty(&Value::Array(records.clone()))?)?;
    }
    crate::Loaded::read(dir)
        .context("the generated mock does not load (a bug in mockapi generate)")?;
    if opts.out.exists() {
        std::fs::remove_dir_all(&opts.out)
            .with_context(|| format!("cannot replace {}", opts.out.display()))?;
    }
    let kept = staging.keep();
    std::fs::rename(&kept, &opts.out)
        .with_context(|| format!("cannot move the generated mock to {}", opts.out.display()))?;
    Ok(json!({
        "dir": opts.out,
        "streams": mock.served,
        "skipped": mock.skipped,
        "notes": mock.notes,
        "config_problems": config_problems,
        "problems": plan["problems"],
    }))
}
