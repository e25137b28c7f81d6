//! `cargo xtask fuzz [TARGET] [--for 10m]`: runs the cargo-fuzz targets of
//! `fuzz/` (its own workspace), one after the other when no target is named.
//!
//! Installs the pinned cargo-fuzz when `cargo fuzz` is missing or another
//! version (into `target/tools/`, so a cached target folder keeps it), seeds
//! each target's corpus from real connector output
//! (`../shared/fixtures/airbyte`, when present) and runs libFuzzer for the
//! given time with `RUSTC_BOOTSTRAP=1` (cargo-fuzz needs nightly flags; this
//! lets a stable toolchain take them). Crashes land in `fuzz/artifacts/TARGET/`;
//! each one found becomes a regression test in `runtime/tests/`.

use anyhow::{bail, Context};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The cargo-fuzz version installed when missing.
const CARGO_FUZZ_VERSION: &str = "0.13.1";
/// Every target of `fuzz/Cargo.toml`.
const TARGETS: &[&str] = &["hotpath", "airbyte_lines", "flow_request"];

#[derive(Args)]
pub struct FuzzArgs {
    /// The target to run: hotpath, airbyte_lines or flow_request (all, one
    /// after the other, when omitted)
    target: Option<String>,
    /// How long to run each target (e.g. 30s, 10m)
    #[arg(long = "for", default_value = "1m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Stop each target after this many inputs, too (libFuzzer's -runs): with
    /// --seed, a run that explores the same inputs every time, as CI wants
    #[arg(long)]
    runs: Option<u64>,
    /// libFuzzer's random seed (default: a new one each run)
    #[arg(long)]
    seed: Option<u32>,
    /// The fixtures folder seeding the corpora (default: ../shared/fixtures/airbyte)
    #[arg(long, env = "ATF_FIXTURES")]
    fixtures: Option<PathBuf>,
}

pub fn fuzz(args: FuzzArgs) -> anyhow::Result<()> {
    let root = crate::ground::workspace_root();
    let targets: Vec<&str> = match &args.target {
        Some(t) if TARGETS.contains(&t.as_str()) => vec![t.as_str()],
        Some(t) => bail!(
            "unknown fuzz target {t:?}: choose one of {} (or none for all)",
            TARGETS.join(", ")
        ),
        None => TARGETS.to_vec(),
    };
    let target_dir = crate::ground::target_dir();
    let path = ensure_cargo_fuzz(&target_dir)?;
    let fixtures = args
        .fixtures
        .unwrap_or_else(|| root.join("../shared/fixtures/airbyte"));
    if !fixtures.is_dir() {
        eprintln!(
            "fuzz: {} is absent: corpora start from the built-in seeds only",
            fixtures.display()
        );
    }
    for target in targets {
        let corpus = target_dir.join("fuzz/corpus").join(target);
        let seeds = seed(target, &fixtures, &corpus)?;
        eprintln!(
            "fuzz: {target}: {seeds} seeds in {}, running for {}",
            corpus.display(),
            humantime::format_duration(args.duration)
        );
        let log = target_dir.join("fuzz/logs").join(format!("{target}.log"));
        std::fs::create_dir_all(log.parent().unwrap())?;
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let cargo_fuzz = |verb: &str| {
            let mut c = crate::ground::cargo();
            c.current_dir(root.join("fuzz"))
                .env("PATH", &path)
                .env("RUSTC_BOOTSTRAP", "1")
                // Beside the workspace's own build, so a cached target folder keeps it.
                .env("CARGO_TARGET_DIR", target_dir.join("fuzz/build"))
                // Safe Rust: the targets look for panics and differences, which
                // AddressSanitizer would not find better, at half the speed.
                .args(["fuzz", verb, "--sanitizer", "none", target]);
            c
        };
        // Built first with cargo's own progress on the terminal; the run's
        // output goes to the log.
        let built = cargo_fuzz("build")
            .status()
            .context("running cargo fuzz build")?;
        if !built.success() {
            bail!("cargo fuzz build {target} failed ({built})");
        }
        let started = Instant::now();
        let status = cargo_fuzz("run")
            .arg(&corpus)
            .arg("--")
            .arg(format!(
                "-max_total_time={}",
                args.duration.as_secs().max(1)
            ))
            .arg(format!(
                "-artifact_prefix={}/",
                root.join("fuzz/artifacts").join(target).display()
            ))
            .arg("-print_final_stats=1")
            .args(args.runs.map(|n| format!("-runs={n}")))
            .args(args.seed.map(|n| format!("-seed={n}")))
            // libFuzzer writes a status line per new input (thousands): they go
            // to a log file; its final stats are shown, and its tail on failure.
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .status()
            .context("running cargo fuzz")?;
        std::fs::create_dir_all(root.join("fuzz/artifacts").join(target)).ok();
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig @ (libc::SIGTERM | libc::SIGINT | libc::SIGKILL)) = status.signal() {
                // Stopped from outside (Ctrl-C, kill): no input to report.
                bail!(
                    "fuzz target {target} was stopped by signal {sig} after {:.0?}, before its time was up: not a crash, nothing was found until then (log: {})",
                    started.elapsed(),
                    log.display()
                );
            }
        }
        if !status.success() {
            let lines: Vec<&str> = log_text.lines().collect();
            for line in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("  {line}");
            }
            bail!(
                "fuzz target {target} failed after {:.0?} ({status}): the input is in fuzz/artifacts/{target}/ and the whole log in {}; make it a regression test in runtime/tests/",
                started.elapsed(),
                log.display()
            );
        }
        for line in log_text.lines().filter(|l| l.starts_with("stat::")) {
            eprintln!("  {line}");
        }
        eprintln!(
            "fuzz: {target}: no crash in {:.0?} (log: {})",
            started.elapsed(),
            log.display()
        );
    }
    Ok(())
}

/// The PATH to run `cargo fuzz` with: the one installed, when it is the
/// pinned version; else the pinned version is installed into `target/tools/`.
fn ensure_cargo_fuzz(target_dir: &Path) -> anyhow::Result<std::ffi::OsString> {
    let tools = target_dir.join("tools");
    let mut paths = vec![tools.join("bin")];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(paths)?;
    let version = Command::new("cargo")
        .args(["fuzz", "--version"])
        .env("PATH", &path)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if version.as_deref() == Some(&format!("cargo-fuzz {CARGO_FUZZ_VERSION}")) {
        return Ok(path);
    }
    eprintln!(
        "fuzz: installing cargo-fuzz {CARGO_FUZZ_VERSION} into {} (found: {}); takes a few minutes",
        tools.display(),
        version.as_deref().unwrap_or("none")
    );
    let status = crate::ground::cargo()
        .args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
            "--root",
        ])
        .arg(&tools)
        .status()
        .context("running cargo install cargo-fuzz")?;
    if !status.success() {
        bail!(
            "cargo install cargo-fuzz --version {CARGO_FUZZ_VERSION} failed: see its output above"
        );
    }
    Ok(path)
}

/// Writes the seeds of `target` into `corpus` (file names are content
/// hashes, so seeding twice adds nothing); returns how many there are.
fn seed(target: &str, fixtures: &Path, corpus: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(corpus).with_context(|| corpus.display().to_string())?;
    let reads = read_files(fixtures);
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    match target {
        "hotpath" => {
            // The first byte picks the schema (fuzz_targets/schemas.rs).
            let mut i = 0u8;
            for text in &reads {
                for line in text.lines().take(200) {
                    let Ok(m) = serde_json::from_str::<Value>(line) else {
                        continue;
                    };
                    if m["type"] == "RECORD" {
                        let mut s = vec![i];
                        s.extend_from_slice(m["record"]["data"].to_string().as_bytes());
                        seeds.push(s);
                        i = i.wrapping_add(1);
                    }
                }
            }
            for doc in [
                r#"{"created_at":"2023-01-30 02:34:15","events":[{"created_at":"2021-03-02T23:00:00","value":{"at":1685098188}}]}"#,
                r#"{"x1":"2023-01-30","a_at":1685098188123,"children":[{"at":"2023-01-30"}],"z":["2023-01-30"]}"#,
            ] {
                for pick in 0..8u8 {
                    let mut s = vec![pick | (pick << 5)];
                    s.extend_from_slice(doc.as_bytes());
                    seeds.push(s);
                }
            }
        }
        "airbyte_lines" => {
            for text in &reads {
                let lines: Vec<&str> = text.lines().take(400).collect();
                for (i, chunk) in lines.chunks(8).enumerate() {
                    // Fixture streams are renamed to the target's bindings `a` and `b`.
                    let mut s = vec![i as u8];
                    for l in chunk {
                        let mut m: Value = match serde_json::from_str(l) {
                            Ok(m) => m,
                            Err(_) => continue,
                        };
                        if m["type"] == "RECORD" {
                            m["record"]["stream"] =
                                json!(if i.is_multiple_of(2) { "a" } else { "b" });
                            if !i.is_multiple_of(2) {
                                m["record"]["namespace"] = json!("ns");
                            }
                        }
                        s.extend_from_slice(m.to_string().as_bytes());
                        s.push(b'\n');
                    }
                    seeds.push(s);
                }
            }
            seeds.push(b"\x00{\"type\":\"RECORD\",\"record\":{\"stream\":\"a\",\"data\":{\"created_at\":\"2023-01-30\"},\"emitted_at\":1}}\n{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"a\"},\"stream_state\":{\"c\":1}}}}\n".to_vec());
        }
        "flow_request" => {
            for r in [
                json!({"spec": {"connectorType": "IMAGE", "config": {}}}),
                json!({"discover": {"connectorType": "IMAGE", "config": {"a": 1}}}),
                json!({"validate": {"name": "t/c", "connectorType": "IMAGE", "config": {},
                    "bindings": [{"resourceConfig": {"stream": "s", "namespace": null}, "collection": {"name": "t/s"}, "resourcePath": ["s"]}]}}),
                json!({"apply": {"capture": {"name": "t/c"}}}),
                json!({"open": {"capture": {"name": "t/c", "config": {}, "bindings": [{"resourceConfig": {"stream": "s"},
                    "collection": {"name": "t/s", "key": ["/id"], "writeSchema": {"type": "object"}}}]},
                    "range": {"keyBegin": 0, "keyEnd": 4294967295u32}, "stateJson": "{}"}}),
                json!({"acknowledge": {"checkpoints": 1}}),
            ] {
                seeds.push(format!("{r}\n").into_bytes());
            }
        }
        _ => bail!("no seeds for fuzz target {target:?}"),
    }
    for s in &seeds {
        std::fs::write(corpus.join(format!("seed-{:016x}", fnv(s))), s)?;
    }
    Ok(seeds.len())
}

/// The `read*.jsonl` outputs of every fixture folder (real connector output).
fn read_files(fixtures: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![fixtures.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with("read") && name.ends_with(".jsonl") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// FNV-1a: a stable name for a seed.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
