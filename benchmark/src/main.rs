//! `benchmark`, the binary `cargo xtask bench` builds and runs (its own
//! package, so xtask compiles neither it nor flate2): whole-process
//! benchmark of the binaries users run.
//!
//! Rows, each a replay of a recorded or generated Airbyte `read` output fed
//! through a binary by a fake connector that `cat`s the file, capturing every
//! stream of the replay with the write schemas its discover gives:
//! - every connector under `connectors/`, built with `cargo xtask build` (as
//!   shipped: connector profile, stripped), on its fixture's read
//!   (`read-100k.jsonl.gz`, or `read.jsonl` repeated to 100k records) with
//!   the bindings its own discover gives on the fixture's catalog (patches
//!   and declared normalizations applied, as users get them), or,
//!   for an API connector, on what its real connector wrote against its mock
//!   API (`recorded.rs`);
//! - the generic `airbyte-to-flow` binary (no patches) on the faker replay,
//!   labelled as what it is;
//! - a nested replay generated from zendesk-support's discovered `tickets` and
//!   `ticket_audits` schemas (date-times nested, in arrays of objects, some
//!   naive so that they must change), and the same records with a 10x larger
//!   schema (each property cloned nine times under other names).
//!
//! Each replay is also piped through `cat FILE | cat > /dev/null` in the same
//! run, for the ratios. Wall time and CPU time (user+system) come from `wait4`
//! (the process and its reaped children); peak RSS is the binary's own
//! `VmHWM`, sampled from `/proc` (`measure.rs`). Prints medians of
//! `--runs` runs as one table, with the ratio to a baseline saved by an
//! earlier `--save`, and, with `--compare OTHER_TARGET`, to the same
//! binaries of another build run in turn with ours in the same runs (the
//! comparison to the previous commit that noise across runs cannot fake).

use anyhow::{bail, Context};
use clap::Parser;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

mod measure;
mod recorded;
mod replay;

use crate::measure::{medians, run_binary, run_cat, Sample};
use crate::replay::{
    bench_config, decompress, discovered_streams, nested_replay, open_request, records_in,
    repeated, tenfold, REPLAY_BYTES,
};

#[derive(Parser)]
#[command(
    name = "cargo xtask bench",
    about = "Whole-process benchmark of the connector binaries `cargo xtask build` makes, against a `cat` pipeline"
)]
struct BenchArgs {
    /// Runs of each measurement (medians are reported)
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Skip building (use the binaries already built by `cargo xtask build`)
    #[arg(long)]
    no_build: bool,
    /// Use this generic binary instead of building target/connector/airbyte-to-flow
    /// (e.g. a copy of an older build, to compare in the same conditions)
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The fixtures folder (default: ../shared/fixtures/airbyte beside the workspace)
    #[arg(long, env = "ATF_FIXTURES")]
    fixtures: Option<PathBuf>,
    /// Figures of an earlier run (`--save`), to print the ratio to them
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Save this run's figures to FILE (the next run's `--baseline`)
    #[arg(long)]
    save: Option<PathBuf>,
    /// Another build's target folder (a checkout of the previous commit
    /// after `cargo xtask bench`, or a copy of its `connectors/` and
    /// `connector/airbyte-to-flow`): each row also runs that build's binary,
    /// interleaved with ours in the same runs, and prints our time over its
    /// time
    #[arg(long, value_name = "TARGET_DIR")]
    compare: Option<PathBuf>,
}

/// Targets of issue 9, for every row.
const WALL_TARGET: f64 = 2.5;
const CPU_TARGET: f64 = 3.0;
const RSS_TARGET_MB: f64 = 16.0;
const SCHEMA_SWEEP_TARGET: f64 = 1.1;

/// One row of the table.
struct Row {
    label: String,
    bin: PathBuf,
    /// The same binary of the `--compare` build.
    other: Option<PathBuf>,
    request: PathBuf,
    replay: PathBuf,
    records: u64,
}

#[derive(Default)]
struct Measured {
    samples: Vec<Sample>,
}

fn mb(kb: i64) -> f64 {
    kb as f64 / 1024.0
}

/// `replay` without the RECORD and STATE lines of streams `open` does not
/// capture, written to `out` (`replay` itself when it has none).
fn only_streams(replay: &Path, open: &Value, out: &Path) -> anyhow::Result<PathBuf> {
    use std::io::{BufRead, Write};
    let streams: Vec<&str> = open["open"]["capture"]["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["resourceConfig"]["stream"].as_str())
        .collect();
    let mut kept = Vec::new();
    let mut dropped = 0u64;
    for line in std::io::BufReader::new(std::fs::File::open(replay)?).lines() {
        let line = line?;
        // Recorded RECORD lines start `{"type":"RECORD","record":{"stream":"x"`
        // (a full parse of 90 MB in this debug build takes seconds).
        let stream = line
            .strip_prefix(r#"{"type":"RECORD","record":{"stream":""#)
            .and_then(|rest| rest.split('"').next());
        match stream {
            Some(s) if !streams.contains(&s) => dropped += 1,
            _ => kept.push(line),
        }
    }
    if dropped == 0 {
        return Ok(replay.to_path_buf());
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    for l in &kept {
        writeln!(w, "{l}")?;
    }
    w.flush()?;
    Ok(out.to_path_buf())
}

/// `rel` under the `--compare` target folder, when it is there.
fn other_bin(compare: &Option<PathBuf>, rel: &str) -> Option<PathBuf> {
    compare
        .as_ref()
        .map(|d| d.join(rel))
        .filter(|p| p.is_file())
}

fn fake_connector(dir: &Path) -> anyhow::Result<PathBuf> {
    let fake = dir.join("fake-connector");
    std::fs::write(&fake, "#!/bin/sh\nexec cat \"$BENCH_FILE\"\n")?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755))?;
    Ok(fake)
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let root = xtask::ground::workspace_root();
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(|| root.join("../shared/fixtures/airbyte"));
    if !fixtures.is_dir() {
        bail!(
            "{} is absent: every replay comes from the shared Airbyte fixtures; pass --fixtures DIR",
            fixtures.display()
        );
    }
    let target = xtask::ground::target_dir();
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    let at = At {
        fake: fake_connector(&dir)?,
        root,
        fixtures,
        target,
        dir,
    };
    let mut notes: Vec<String> = Vec::new();
    let mut rows = connector_rows(&args, &at, &mut notes)?;
    rows.extend(generic_rows(&args, &at, &mut notes)?);
    let m = measure(&args, &at, &rows, &mut notes)?;
    report(&args, &at, &rows, &m, &notes)
}

/// Where the benchmark reads and writes.
struct At {
    root: PathBuf,
    fixtures: PathBuf,
    target: PathBuf,
    /// `target/bench`: replays, requests, the fake connector.
    dir: PathBuf,
    /// A connector that `cat`s `$BENCH_FILE`.
    fake: PathBuf,
}

/// Every connector as `cargo xtask build` makes it, on its fixture's read or
/// on what its real connector wrote against its mock API.
fn connector_rows(args: &BenchArgs, at: &At, notes: &mut Vec<String>) -> anyhow::Result<Vec<Row>> {
    let At {
        root,
        fixtures,
        target,
        dir,
        ..
    } = at;
    let mut rows: Vec<Row> = Vec::new();
    let connectors_dir = root.join("connectors");
    let mut names: Vec<String> = std::fs::read_dir(&connectors_dir)?
        .flatten()
        .filter(|e| e.path().join("connector.json").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    for name in names {
        let short = name.strip_prefix("source-").unwrap_or(&name);
        let fx = fixtures.join(short);
        let fixture_replay = if fx.join("read-100k.jsonl.gz").exists() {
            Some(decompress(
                &fx.join("read-100k.jsonl.gz"),
                &dir.join(short),
            )?)
        } else if fx.join("read.jsonl").exists() {
            std::fs::create_dir_all(dir.join(short))?;
            Some(repeated(
                &fx.join("read.jsonl"),
                &dir.join(short).join("read-x100k.jsonl"),
            )?)
        } else {
            None
        };
        let has_mock = connectors_dir
            .join(&name)
            .join("tests/mock/mock.json")
            .exists();
        if fixture_replay.is_none() && !has_mock {
            notes.push(format!(
                "{name}: no read fixture in {} and no tests/mock (skipped)",
                fx.display()
            ));
            continue;
        }
        let bin = if args.no_build {
            target.join("connectors").join(&name).join(&name)
        } else {
            xtask::steps::build::build_connector(&xtask::steps::build::BuildOptions {
                name: name.clone(),
                connectors_dir: connectors_dir.clone(),
                out: None,
            })?
        };
        if let Some(replay) = fixture_replay {
            // The bindings the binary's own discover gives on the fixture's
            // catalog (its patches applied), and the replay's lines of those
            // streams (a connector only reads the streams it was given).
            let open = crate::recorded::open_from_fixture(
                &name,
                &bin,
                &fx.join("discover.jsonl"),
                &bench_config(&connectors_dir.join(&name))?,
                &dir.join(&name),
            )?;
            let request = dir.join(format!("open-{name}.json"));
            std::fs::write(&request, format!("{open}\n"))?;
            let replay = only_streams(&replay, &open, &dir.join(&name).join("replay.jsonl"))?;
            rows.push(Row {
                label: name.clone(),
                other: other_bin(&args.compare, &format!("connectors/{name}/{name}")),
                bin,
                request,
                records: records_in(&replay)?,
                replay,
            });
            continue;
        }
        // An API connector: its real connector's output against its mock.
        match crate::recorded::recorded(
            &connectors_dir.join(&name),
            &name,
            &bin,
            &dir.join(&name),
            REPLAY_BYTES,
        ) {
            Ok(Some(r)) => rows.push(Row {
                label: format!("{name} (recorded from its mock API)"),
                other: other_bin(&args.compare, &format!("connectors/{name}/{name}")),
                bin,
                request: r.request,
                records: r.records,
                replay: r.replay,
            }),
            Ok(None) => notes.push(format!("{name}: no upstream to record (skipped)")),
            Err(e) => notes.push(format!(
                "{name}: recording against its mock failed (skipped): {e:#}"
            )),
        }
    }

    Ok(rows)
}

/// The generic binary (no patches) on the faker replay, and on the nested
/// zendesk replay with its schema and with a 10x schema.
fn generic_rows(args: &BenchArgs, at: &At, notes: &mut Vec<String>) -> anyhow::Result<Vec<Row>> {
    let At {
        root,
        fixtures,
        target,
        dir,
        ..
    } = at;
    let mut rows: Vec<Row> = Vec::new();
    // Built as connector binaries ship.
    if !args.no_build && args.binary.is_none() {
        let status = xtask::ground::cargo()
            .args([
                "build",
                "--profile",
                "connector",
                "-p",
                "runtime",
                "--bin",
                "airbyte-to-flow",
            ])
            .current_dir(root)
            .status()?;
        if !status.success() {
            bail!("cargo build --profile connector -p runtime failed");
        }
    }
    let generic = args
        .binary
        .clone()
        .unwrap_or_else(|| target.join("connector/airbyte-to-flow"));
    let faker = fixtures.join("faker");
    if faker.join("read-100k.jsonl.gz").exists() {
        let replay = decompress(&faker.join("read-100k.jsonl.gz"), &dir.join("faker"))?;
        let request = dir.join("open-generic-faker.json");
        std::fs::write(
            &request,
            open_request(
                &discovered_streams(&faker.join("discover.jsonl"))?,
                &json!({}),
                Value::clone,
            )?,
        )?;
        rows.push(Row {
            label: "generic airbyte-to-flow (no patches), faker".into(),
            bin: generic.clone(),
            other: other_bin(&args.compare, "connector/airbyte-to-flow"),
            request,
            records: records_in(&replay)?,
            replay,
        });
    } else {
        notes.push(format!(
            "{}: absent, generic faker row skipped",
            faker.join("read-100k.jsonl.gz").display()
        ));
    }
    let zendesk = fixtures.join("zendesk-support/discover.jsonl");
    if zendesk.exists() {
        let streams: Vec<Value> = discovered_streams(&zendesk)?
            .into_iter()
            .filter(|s| s["name"] == "tickets" || s["name"] == "ticket_audits")
            .collect();
        let replay = dir.join("zendesk-nested.jsonl");
        nested_replay(&streams, &replay, 100_000_000)?;
        let records = records_in(&replay)?;
        for (label, file, ten) in [
            (
                "nested zendesk tickets+ticket_audits (generic)",
                "open-nested.json",
                false,
            ),
            ("  same records, 10x schema", "open-nested-10x.json", true),
        ] {
            let request = dir.join(file);
            std::fs::write(
                &request,
                open_request(&streams, &json!({}), |s| {
                    if ten {
                        tenfold(s)
                    } else {
                        s.clone()
                    }
                })?,
            )?;
            rows.push(Row {
                label: label.into(),
                bin: generic.clone(),
                other: other_bin(&args.compare, "connector/airbyte-to-flow"),
                request,
                replay: replay.clone(),
                records,
            });
        }
    } else {
        notes.push(format!(
            "{}: absent, nested rows skipped",
            zendesk.display()
        ));
    }

    Ok(rows)
}

/// The samples of every row (ours and the `--compare` build's, in turn)
/// and of `cat` on every replay, `--runs` times.
struct Measurements {
    replays: Vec<PathBuf>,
    cat: Vec<Measured>,
    ours: Vec<Measured>,
    theirs: Vec<Measured>,
}

fn measure(
    args: &BenchArgs,
    at: &At,
    rows: &[Row],
    notes: &mut Vec<String>,
) -> anyhow::Result<Measurements> {
    let fake = &at.fake;
    let runs = args.runs.max(1);
    println!("{runs} runs of each row (medians); wall and CPU ratios are to `cat FILE | cat` in the same run");
    let mut replays: Vec<PathBuf> = rows.iter().map(|r| r.replay.clone()).collect();
    replays.sort();
    replays.dedup();
    let mut cat: Vec<Measured> = replays.iter().map(|_| Measured::default()).collect();
    let mut ours: Vec<Measured> = rows.iter().map(|_| Measured::default()).collect();
    let mut theirs: Vec<Measured> = rows.iter().map(|_| Measured::default()).collect();
    for row in rows {
        if let (Some(dir), None) = (&args.compare, &row.other) {
            notes.push(format!(
                "{}: no such binary under {} (not compared)",
                row.label,
                dir.display()
            ));
        }
    }
    // One unmeasured pass over every replay first: just written, a replay
    // may still be on its way to the disk (seen: `--runs 1` timed cat at
    // 0.34 s on a replay it reads in 0.05 s once settled).
    for r in &replays {
        run_cat(r)?;
    }
    for run in 0..runs {
        eprintln!("bench: run {}/{runs}", run + 1);
        for (i, r) in replays.iter().enumerate() {
            cat[i].samples.push(run_cat(r)?);
        }
        for (i, row) in rows.iter().enumerate() {
            // Ours and the other build's, one after the other, in turn.
            for (bin, into) in std::iter::once((&row.bin, &mut ours[i]))
                .chain(row.other.as_ref().map(|o| (o, &mut theirs[i])))
            {
                let (s, captured, _) = run_binary(bin, fake, &row.request, &row.replay)?;
                if captured != row.records {
                    bail!(
                        "{}: {} gave {captured} captured documents, expected {}",
                        row.label,
                        bin.display(),
                        row.records
                    );
                }
                into.samples.push(s);
            }
        }
    }
    Ok(Measurements {
        replays,
        cat,
        ours,
        theirs,
    })
}

/// The table, the targets, the notes; `--save`.
fn report(
    args: &BenchArgs,
    at: &At,
    rows: &[Row],
    m: &Measurements,
    notes: &[String],
) -> anyhow::Result<()> {
    let Measurements {
        replays,
        cat,
        ours,
        theirs,
    } = m;
    let dir = &at.dir;
    let baseline: Option<Value> = match &args.baseline {
        Some(p) => Some(serde_json::from_str(
            &std::fs::read_to_string(p).with_context(|| p.display().to_string())?,
        )?),
        None => None,
    };
    let mut saved = serde_json::Map::new();
    println!(
        "{:<48} {:>8} {:>8} {:>8} {:>7} {:>7} {:>8} {:>9} {:>13}",
        "row",
        "replay",
        "wall",
        "cpu",
        "wall/cat",
        "cpu/cat",
        "peak RSS",
        "vs base",
        "vs other w/c"
    );
    let mut failed = Vec::new();
    let mut previous_wall = None;
    for (i, row) in rows.iter().enumerate() {
        let m = medians(&ours[i].samples);
        let c = medians(&cat[replays.iter().position(|r| *r == row.replay).unwrap()].samples);
        let size = std::fs::metadata(&row.replay)?.len() as f64 / 1e6;
        let wall_ratio = m.wall.as_secs_f64() / c.wall.as_secs_f64();
        let cpu_ratio = m.cpu.as_secs_f64() / c.cpu.as_secs_f64().max(1e-6);
        let rss = mb(m.hwm_kb);
        let vs = baseline
            .as_ref()
            .and_then(|b| b[&row.label]["wall"].as_f64())
            .map(|w| format!("{:.2}x", m.wall.as_secs_f64() / w))
            .unwrap_or_else(|| "-".into());
        let vs_other = if theirs[i].samples.is_empty() {
            "-".to_string()
        } else {
            let o = medians(&theirs[i].samples);
            format!(
                "{:.2}x/{:.2}x",
                m.wall.as_secs_f64() / o.wall.as_secs_f64(),
                m.cpu.as_secs_f64() / o.cpu.as_secs_f64().max(1e-6)
            )
        };
        println!(
            "{:<48} {:>6.1}MB {:>7.3}s {:>7.3}s {:>7.2}x {:>6.2}x {:>6.1}MB {:>9} {:>13}",
            row.label,
            size,
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            wall_ratio,
            cpu_ratio,
            rss,
            vs,
            vs_other
        );
        saved.insert(
            row.label.clone(),
            json!({"wall": m.wall.as_secs_f64(), "cpu": m.cpu.as_secs_f64(), "rss_mb": rss}),
        );
        if wall_ratio > WALL_TARGET {
            failed.push(format!(
                "{}: wall {wall_ratio:.2}x cat > {WALL_TARGET}x",
                row.label
            ));
        }
        if cpu_ratio > CPU_TARGET {
            failed.push(format!(
                "{}: cpu {cpu_ratio:.2}x cat > {CPU_TARGET}x",
                row.label
            ));
        }
        if rss > RSS_TARGET_MB {
            failed.push(format!(
                "{}: peak RSS {rss:.1} MB > {RSS_TARGET_MB} MB",
                row.label
            ));
        }
        if row.label.contains("10x schema") {
            if let Some(small) = previous_wall {
                let sweep = m.wall.as_secs_f64() / small;
                println!("{:<48} 10x schema / small schema wall: {sweep:.2}x (target <= {SCHEMA_SWEEP_TARGET}x)", "");
                if sweep > SCHEMA_SWEEP_TARGET {
                    failed.push(format!(
                        "10x schema: {sweep:.2}x the small schema's wall > {SCHEMA_SWEEP_TARGET}x"
                    ));
                }
            }
        }
        previous_wall = Some(m.wall.as_secs_f64());
    }
    for c in replays.iter().zip(cat) {
        let m = medians(&c.1.samples);
        println!(
            "cat | cat {:<38} wall {:.3}s cpu {:.3}s",
            // The replay's folder names its row (`source-stripe/replay.jsonl`).
            c.0.strip_prefix(dir).unwrap_or(c.0).display().to_string(),
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64()
        );
    }
    println!("targets: wall <= {WALL_TARGET}x cat, cpu <= {CPU_TARGET}x cat, peak RSS (VmHWM) <= {RSS_TARGET_MB} MB, 10x schema <= {SCHEMA_SWEEP_TARGET}x");
    for n in notes {
        println!("note: {n}");
    }
    if let Some(p) = &args.save {
        std::fs::write(p, serde_json::to_string_pretty(&Value::Object(saved))?)?;
        println!(
            "saved these figures to {} (pass it as --baseline next time)",
            p.display()
        );
    }
    if failed.is_empty() {
        println!("every row within target");
    } else {
        for f in &failed {
            println!("over target: {f}");
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match bench(BenchArgs::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
