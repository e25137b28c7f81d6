//! Step 5 of the README, `cargo xtask capture`: an `open` of the discovered
//! (or mocked) catalog against the built binary, its documents written to
//! `<work-dir>/documents.jsonl` with progress on stderr, then checked
//! against their schemas by `doccheck`, which proposes the stream patches
//! that fix what failed.

use super::session::{load_config, Connector, Session, CATALOG};
use crate::ground::{logs, read_json, write_json};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    session: Session,
    /// Endpoint config [default: the one discover used]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Stop the capture after this long, if the connector has not finished (e.g. `30s`, `5m`)
    #[arg(long = "for", value_name = "DURATION", default_value = "5m")]
    duration: humantime::Duration,
    /// Write the proposed streams/<stream>.patch.json files into the connector folder
    #[arg(long)]
    write_patches: bool,
    /// Serve the connector's mock API (tests/mock/) and point the connector at it:
    /// its config is tests/mock/config.json, its streams the ones the mock serves
    #[arg(long)]
    mock: bool,
    /// With --mock: turn on a scenario of the mock (e.g. `rate_limited`); repeatable
    #[arg(long, value_name = "NAME", requires = "mock")]
    scenario: Vec<String>,
}

pub fn capture(args: CaptureArgs) -> anyhow::Result<()> {
    let s = &args.session;
    let work = s.work_dir();
    let connector_dir = s.connector_dir()?;
    let hint = s.hint(args.config.as_deref());
    let catalog_path = work.join(CATALOG);
    let mock = if args.mock {
        Some(super::mock::MockRun::start(&connector_dir, &args.scenario)?)
    } else {
        None
    };
    if mock.is_none() && !catalog_path.exists() {
        bail!(
            "no discovered catalog at {}: run `{}` first",
            catalog_path.display(),
            hint.command("discover", &[&s.name])
        );
    }
    let catalog = match &mock {
        Some(_) => Value::Null,
        None => read_json(&catalog_path)?,
    };
    let config = match (&args.config, catalog["config"].as_str(), &mock) {
        (Some(p), _, _) => load_config(p)?,
        (None, _, Some(m)) => m.config()?,
        (None, Some(p), None) => load_config(Path::new(p))?,
        (None, None, None) => load_config(&work.join("config.json"))?,
    };
    let connector = s.build()?;

    // Discover again with this build, so document schemas reflect the current
    // patch files; the catalog file says which bindings are enabled.
    let fresh: BTreeMap<String, Value> = connector
        .discover(&config)?
        .into_iter()
        .map(|b| (b["recommendedName"].as_str().unwrap_or("").to_string(), b))
        .collect();
    let catalog = match &mock {
        Some(m) => m.catalog(&fresh),
        None => catalog,
    };
    let (bindings, mut checks) = enabled_bindings(&catalog, &fresh, &catalog_path);
    eprintln!(
        "capture: {}",
        why_these_bindings(
            bindings.len(),
            &fresh,
            &catalog,
            mock.as_ref(),
            &catalog_path,
            &connector_dir
        )
    );
    if bindings.is_empty() {
        bail!(
            "no enabled bindings in {}: enable some (\"disable\": false) or run `{}` again",
            catalog_path.display(),
            hint.command("discover", &[&s.name])
        );
    }
    let open = json!({"open": {
        "capture": {
            "name": format!("acmeCo/{}", s.name),
            "connectorType": "IMAGE",
            "config": config,
            "bindings": bindings,
        },
        "version": "local",
        "range": {"keyBegin": 0, "keyEnd": 4294967295u32, "rClockBegin": 0, "rClockEnd": 4294967295u32},
        "state": {},
    }});

    let docs_path = work.join("documents.jsonl");
    let log_path = work.join("capture.log");
    eprintln!(
        "capture: {}: {} binding(s), for at most {} (sooner when the connector finishes), documents into {}",
        s.name,
        bindings.len(),
        humantime::format_duration(Duration::from(args.duration)),
        docs_path.display()
    );
    let run = run_capture(
        &connector,
        &open,
        &mut checks,
        &docs_path,
        &log_path,
        Duration::from(args.duration),
    )?;
    // What went wrong comes first, above the summary, in one short line: a
    // capture that got an error, or nothing, is a failed capture however it
    // ended. The whole log (tracebacks included) is in the log file.
    let failure = outcome(&run.seen, run.status, run.stopped, run.total);
    if let Some(f) = &failure {
        eprintln!("error: {f}");
        eprintln!(
            "the binary's whole log (tracebacks included): {}",
            log_path.display()
        );
    }
    eprintln!(
        "captured {} ({} checkpoint(s)) into {}",
        progress(&checks, run.total, run.elapsed),
        run.checkpoints,
        docs_path.display()
    );
    if let Some(m) = mock {
        m.report()?;
    }
    for line in run.protocol_errors.iter().take(5) {
        eprintln!("warning: not a protocol message on the binary's stdout: {line}");
    }

    let violations = check_documents(
        &checks,
        &work,
        &docs_path,
        &connector_dir,
        args.write_patches,
    )?;
    if failure.is_some() {
        bail!(
            "the capture of {} failed: its cause is the first \"error:\" line above; the whole log is in {}",
            s.name,
            log_path.display()
        );
    }
    if violations {
        if args.write_patches {
            bail!(
                "documents violated their schemas; the proposed patches are written: run the capture again to check them (it rebuilds the connector)\nnext:\n  {}",
                hint.command("capture", &[&s.name])
            );
        }
        bail!(
            "documents violated their schemas: review the proposed patches above, then this writes them:\nnext:\n  {}",
            hint.command("capture", &[&s.name, "--write-patches"])
        );
    }
    eprintln!("every document matched its schema");
    let build = crate::ground::Hint {
        connectors_dir: s.dirs.connectors_dir.clone(),
        ..Default::default()
    }
    .command("build", &[&s.name, "-p"]);
    eprintln!(
        "next: ship it: commit {} (CI builds the image of every folder of the connectors folder), or push an image of your own first:\n  {build}",
        connector_dir.display()
    );
    Ok(())
}

/// Why the capture has the bindings it has, when discover gave more: which
/// file left the others out.
fn why_these_bindings(
    enabled: usize,
    fresh: &BTreeMap<String, Value>,
    catalog: &Value,
    mock: Option<&super::mock::MockRun>,
    catalog_path: &Path,
    connector_dir: &Path,
) -> String {
    let discovered = fresh.len();
    if let Some(m) = mock {
        return m.why_these_bindings(enabled, discovered);
    }
    let listed = catalog["bindings"].as_array().map_or(0, Vec::len);
    let disabled = catalog["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["disable"].as_bool() == Some(true))
        .count();
    let mut out = format!(
        "{enabled} of the {listed} binding(s) of {} are enabled",
        catalog_path.display()
    );
    if disabled > 0 {
        out.push_str(&format!("; {disabled} are \"disable\": true there"));
        let selected = connector_dir.join(codegen::SELECTED_STREAMS);
        if selected.is_file() {
            out.push_str(&format!(
                " (discover offers the streams {} does not list disabled)",
                selected.display()
            ));
        }
        out.push_str("; set \"disable\": false on one to capture it");
    }
    out
}

/// The `open` bindings of the catalog's enabled bindings that this build
/// still discovers (with the schema it discovers now), and what `doccheck`
/// needs of each; a binding no longer discovered is skipped with a warning.
fn enabled_bindings(
    catalog: &Value,
    fresh: &BTreeMap<String, Value>,
    catalog_path: &Path,
) -> (Vec<Value>, Vec<Counted>) {
    let mut bindings = Vec::new();
    let mut checks = Vec::new();
    for b in catalog["bindings"].as_array().into_iter().flatten() {
        if b["disable"].as_bool() == Some(true) {
            continue;
        }
        let name = b["recommendedName"].as_str().unwrap_or("").to_string();
        let Some(now) = fresh.get(&name) else {
            eprintln!("warning: binding \"{name}\" of {} is no longer discovered: skipped (run discover again)", catalog_path.display());
            continue;
        };
        if now["documentSchema"] != b["documentSchema"] {
            eprintln!("binding \"{name}\": document schema changed since discover (patches or upstream): using the current one");
        }
        let resource = b["resourceConfig"].clone();
        let stream = resource["stream"].as_str().unwrap_or(&name).to_string();
        let path = match &b["resourcePath"] {
            Value::Array(p) if !p.is_empty() => Value::Array(p.clone()),
            _ => json!([stream]),
        };
        checks.push(Counted {
            name: name.clone(),
            stream,
            schema: now["documentSchema"].clone(),
            documents: 0,
        });
        bindings.push(json!({
            "resourceConfig": resource,
            "resourcePath": path,
            "collection": {
                "name": format!("acmeCo/{name}"),
                "writeSchema": now["documentSchema"],
                "key": now["key"],
            },
        }));
    }
    (bindings, checks)
}

/// How a capture run ended.
struct Run {
    status: std::process::ExitStatus,
    seen: logs::Seen,
    /// We stopped it (`--for` reached).
    stopped: bool,
    total: u64,
    checkpoints: u64,
    elapsed: Duration,
    protocol_errors: Vec<String>,
}

/// Sends `open` to the binary and writes the captured documents to
/// `docs_path`, counting them per binding in `checks`, with progress on
/// stderr, until the binary exits or `limit` has passed (then SIGTERM, and
/// SIGKILL 5 s later).
fn run_capture(
    connector: &Connector,
    open: &Value,
    checks: &mut [Counted],
    docs_path: &Path,
    log_path: &Path,
    limit: Duration,
) -> anyhow::Result<Run> {
    let mut docs_out = std::io::BufWriter::new(
        std::fs::File::create(docs_path)
            .with_context(|| format!("cannot write {}", docs_path.display()))?,
    );
    let tty = std::io::stderr().is_terminal();
    let mut child = connector.spawn(true)?;
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("cannot write {}", log_path.display()))?;
    let relay = logs::Relay::start(child.stderr.take().expect("piped"), tty, Some(log));
    // The open request is the last request: closing stdin after it lets the
    // binary exit when its connector is done (it ignores EOF while capturing).
    {
        let mut stdin = child.stdin.take().expect("piped");
        writeln!(stdin, "{open}")?;
        stdin.flush()?;
    }
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let start = Instant::now();
    let deadline = start + limit;
    let mut stopped_at: Option<Instant> = None;
    let mut last_progress = start;
    let mut checkpoints = 0u64;
    let mut total = 0u64;
    let mut protocol_errors = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let mut msg: Value = match serde_json::from_str(&line) {
                    Ok(m) => m,
                    Err(_) => {
                        protocol_errors.push(line);
                        continue;
                    }
                };
                if let Some(captured) = msg.get_mut("captured") {
                    let i = captured["binding"].as_u64().unwrap_or(0) as usize;
                    let doc = captured["doc"].take();
                    let Some(check) = checks.get_mut(i) else {
                        protocol_errors.push(format!("captured for unknown binding {i}"));
                        continue;
                    };
                    check.documents += 1;
                    total += 1;
                    serde_json::to_writer(
                        &mut docs_out,
                        &json!({"binding": check.name, "doc": doc}),
                    )?;
                    docs_out.write_all(b"\n")?;
                } else if msg.get("checkpoint").is_some() {
                    checkpoints += 1;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if stopped_at.is_none() && now >= deadline {
            eprintln!(
                "\n{} reached: stopping the capture",
                humantime::format_duration(limit)
            );
            stopped_at = Some(now);
            relay.stopping();
            terminate(&child);
        }
        if let Some(at) = stopped_at {
            if now.duration_since(at) > Duration::from_secs(5) {
                let _ = child.kill();
            }
        }
        // A line redrawn twice a second on a terminal; in CI, one every 10 s.
        if tty && now.duration_since(last_progress) >= Duration::from_millis(500) {
            last_progress = now;
            eprint!("\r\x1b[K{}", progress(checks, total, start.elapsed()));
        } else if !tty && now.duration_since(last_progress) >= Duration::from_secs(10) {
            last_progress = now;
            eprintln!(
                "capture: {:.0?}: {}",
                start.elapsed(),
                progress(checks, total, start.elapsed())
            );
        }
    }
    let _ = reader.join();
    let status = child.wait()?;
    let seen = relay.finish();
    docs_out.flush()?;
    if tty {
        eprintln!();
    }
    Ok(Run {
        status,
        seen,
        stopped: stopped_at.is_some(),
        total,
        checkpoints,
        elapsed: start.elapsed(),
        protocol_errors,
    })
}

/// The documents against their schemas: `doccheck` (its own binary, so
/// xtask compiles no JSON Schema validator) prints its reports and
/// proposed patches on stderr (and writes them with `write_patches`);
/// returns whether any document violated its schema.
fn check_documents(
    checks: &[Counted],
    work: &Path,
    docs_path: &Path,
    connector_dir: &Path,
    write_patches: bool,
) -> anyhow::Result<bool> {
    let check_path = work.join("check-bindings.json");
    let list: Vec<Value> = checks
        .iter()
        .map(|c| json!({"name": c.name, "stream": c.stream, "schema": c.schema}))
        .collect();
    write_json(&check_path, &Value::Array(list))?;
    let mut doccheck = Command::new(crate::ground::tool::DOCCHECK.path()?);
    doccheck
        .arg("--bindings")
        .arg(&check_path)
        .arg("--documents")
        .arg(docs_path)
        .arg("--connector-dir")
        .arg(connector_dir);
    if write_patches {
        doccheck.arg("--write-patches");
    }
    let out = doccheck
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run doccheck")?;
    if !out.status.success() {
        bail!(
            "checking the documents failed ({}): its error is above",
            out.status
        );
    }
    let verdict: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "doccheck answered {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    Ok(verdict["violations"] == true)
}

/// Why a capture failed, if it did, in one line of under 300 characters:
/// the binary's non-zero exit (unless we stopped it), errors it logged (the
/// connector's LOG ERROR and TRACE ERROR messages become ERROR events), or no
/// documents at all. An HTTP failure behind the errors comes first.
fn outcome(
    seen: &logs::Seen,
    status: std::process::ExitStatus,
    stopped: bool,
    total: u64,
) -> Option<String> {
    // The cause: the HTTP failure an error names, else the first line of
    // the binary's last word (the connector's reason), else of the first error.
    let cause = seen.http.as_ref().map(ToString::to_string).or_else(|| {
        seen.final_error
            .as_deref()
            .or(seen.first_error.as_deref())
            .map(|m| format!("{:?}", logs::clip(m.lines().next().unwrap_or(""), 160)))
    });
    let failed = !stopped && !status.success();
    if failed || seen.errors > 0 {
        let what = if failed {
            format!("the connector binary failed ({status})")
        } else {
            "the connector reported errors".to_string()
        };
        return Some(match cause {
            Some(cause) => format!(
                "{cause} ({what}; {} error(s), {total} document(s))",
                seen.errors
            ),
            None => format!("{what} after {total} document(s): its log is above"),
        });
    }
    if total == 0 {
        return Some(match &seen.last_warning {
            Some(w) => format!(
                "no documents were captured; the connector's last warning: {:?}",
                logs::clip(w.lines().next().unwrap_or(""), 200)
            ),
            None => "no documents were captured and the connector said nothing about why: check the config (does it select any data?) and the enabled bindings of catalog.json".to_string(),
        });
    }
    None
}

/// A binding being captured: what `doccheck` needs of it, and its count.
struct Counted {
    name: String,
    stream: String,
    schema: Value,
    documents: u64,
}

/// `users 50, purchases 120 (170 documents, 85/s)`.
fn progress(checks: &[Counted], total: u64, elapsed: Duration) -> String {
    let per: Vec<String> = checks
        .iter()
        .map(|c| format!("{} {}", c.name, c.documents))
        .collect();
    let rate = total as f64 / elapsed.as_secs_f64().max(0.001);
    format!("{} ({total} documents, {rate:.0}/s)", per.join(", "))
}

/// Asks the binary to stop (SIGTERM), so it can stop its connector process.
fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
}
