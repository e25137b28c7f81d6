//! `cargo xtask bench`: whole-process benchmark of the generic runtime binary.
//!
//! Replays the recorded 100k-record faker read
//! (`../shared/fixtures/airbyte/faker/read-100k.jsonl.gz`, decompressed once
//! into `target/bench/`) through `airbyte-to-flow`, built with the `connector`
//! profile as connector binaries ship, with a fake connector that `cat`s the
//! file, capturing all three bindings with the write schemas discovered from
//! the faker fixture; and times in the same run the baseline
//! `cat FILE | cat > /dev/null`. Wall time and CPU time (user+system) come
//! from `wait4` (the process and its reaped children); the binary's own peak
//! RSS is its `VmHWM`, sampled from `/proc`. It also replays a 10k-record
//! prefix to show whether RSS stays flat as the record count grows. Prints
//! medians of `--runs` runs.

use anyhow::{bail, Context};
use clap::Args;
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[derive(Args)]
pub struct BenchArgs {
    /// Runs of each measurement (medians are reported)
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Skip `cargo build --profile connector` (use the binary already built)
    #[arg(long)]
    no_build: bool,
    /// Benchmark this binary instead of building target/connector/airbyte-to-flow
    /// (e.g. a copy of an older build, to compare in the same conditions)
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The fixtures folder (default: ../shared/fixtures/airbyte beside the workspace)
    #[arg(long, env = "ATF_FIXTURES")]
    fixtures: Option<PathBuf>,
}

#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    /// ru_maxrss from wait4: the max over the process tree, which on Linux
    /// includes what the parent (this xtask) had resident when it forked.
    max_rss_kb: i64,
    /// VmHWM of the binary itself, sampled from /proc every 5 ms (0 for cat).
    hwm_kb: i64,
}

/// The peak resident set (VmHWM) of `pid`, if it still runs.
fn vm_hwm(pid: u32) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Wait for `pid` with wait4: (exit status, resource usage of it and its reaped children).
fn wait4(pid: u32) -> anyhow::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on our own child.
    let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    if r < 0 {
        bail!("wait4({pid}): {}", std::io::Error::last_os_error());
    }
    Ok((status, usage))
}

fn cpu(u: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn medians(samples: &[Sample]) -> Sample {
    Sample {
        wall: median(samples.iter().map(|s| s.wall).collect()),
        cpu: median(samples.iter().map(|s| s.cpu).collect()),
        max_rss_kb: median(samples.iter().map(|s| s.max_rss_kb).collect()),
        hwm_kb: median(samples.iter().map(|s| s.hwm_kb).collect()),
    }
}

/// `cat FILE | cat > /dev/null`.
fn run_cat(file: &Path) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg("cat \"$0\" | cat > /dev/null")
        .arg(file)
        .spawn()?;
    let (status, usage) = wait4(child.id())?;
    let wall = started.elapsed();
    if status != 0 {
        bail!("the cat pipeline failed with status {status}");
    }
    Ok(Sample {
        wall,
        cpu: cpu(&usage),
        max_rss_kb: usage.ru_maxrss,
        hwm_kb: 0,
    })
}

/// The binary capturing `file` through a `cat` fake connector. Returns the
/// sample and the number of captured / checkpoint lines it wrote.
fn run_binary(
    bin: &Path,
    fake: &Path,
    request: &Path,
    file: &Path,
) -> anyhow::Result<(Sample, u64, u64)> {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("--connector-entrypoint")
        .arg(fake)
        .env("BENCH_FILE", file)
        .env("LOG_LEVEL", "warn")
        .stdin(std::fs::File::open(request)?)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().unwrap();
    // Flow reads our stdout: consume it as it comes, counting responses.
    // Like the baseline's `cat > /dev/null`, it reads large blocks and does
    // little per byte: memchr finds the line ends, only line starts are looked at.
    let reader = std::thread::spawn(move || count_responses(stdout));
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut hwm = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(h) = vm_hwm(pid) {
                    hwm = hwm.max(h);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            hwm
        })
    };
    // The reader sees EOF when the binary exits: stop sampling before reaping it.
    let (captured, checkpoints) = reader.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let hwm_kb = sampler.join().unwrap();
    let (status, usage) = wait4(pid)?;
    let wall = started.elapsed();
    if status != 0 {
        bail!("{} failed with status {status}", bin.display());
    }
    Ok((
        Sample {
            wall,
            cpu: cpu(&usage),
            max_rss_kb: usage.ru_maxrss,
            hwm_kb,
        },
        captured,
        checkpoints,
    ))
}

/// The number of `captured` and `checkpoint` lines read from `r` until EOF.
fn count_responses(mut r: impl Read) -> (u64, u64) {
    const CAPTURED: &[u8] = b"{\"captured\"";
    const CHECKPOINT: &[u8] = b"{\"checkpoint\"";
    let (mut captured, mut checkpoints) = (0, 0);
    let mut classify = |head: &[u8]| {
        if head.starts_with(CAPTURED) {
            captured += 1;
        } else if head.starts_with(CHECKPOINT) {
            checkpoints += 1;
        }
    };
    let mut buf = vec![0u8; 1 << 20];
    // The start of the current line, until it is long enough to classify.
    let mut head = [0u8; CHECKPOINT.len()];
    let mut len = 0;
    let mut classified = false;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            if classified {
                match memchr::memchr(b'\n', chunk) {
                    Some(i) => {
                        chunk = &chunk[i + 1..];
                        (len, classified) = (0, false);
                    }
                    None => chunk = &[],
                }
                continue;
            }
            let take = (head.len() - len).min(chunk.len());
            if let Some(i) = memchr::memchr(b'\n', &chunk[..take]) {
                head[len..len + i].copy_from_slice(&chunk[..i]);
                classify(&head[..len + i]);
                len = 0;
                chunk = &chunk[i + 1..];
            } else {
                head[len..len + take].copy_from_slice(&chunk[..take]);
                len += take;
                chunk = &chunk[take..];
                if len == head.len() {
                    classify(&head);
                    classified = true;
                }
            }
        }
    }
    if !classified && len > 0 {
        classify(&head[..len]);
    }
    (captured, checkpoints)
}

/// Decompress the 100k read once, and write a prefix with about 10k records.
fn prepare(fixtures: &Path, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let full = dir.join("read-100k.jsonl");
    let small = dir.join("read-10k.jsonl");
    if !full.exists() {
        let gz = fixtures.join("faker/read-100k.jsonl.gz");
        eprintln!("decompressing {} into {}", gz.display(), full.display());
        let mut d = flate2::read::GzDecoder::new(
            std::fs::File::open(&gz).with_context(|| gz.display().to_string())?,
        );
        let tmp = dir.join("read-100k.jsonl.tmp");
        let mut out = BufWriter::new(std::fs::File::create(&tmp)?);
        std::io::copy(&mut d, &mut out)?;
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, &full)?;
    }
    if !small.exists() {
        let input = std::io::BufReader::new(std::fs::File::open(&full)?);
        let mut out = BufWriter::new(std::fs::File::create(&small)?);
        let mut records = 0;
        for line in input.lines() {
            let line = line?;
            writeln!(out, "{line}")?;
            if line.starts_with("{\"type\":\"RECORD\"") {
                records += 1;
            }
            if records >= 10_000 && line.starts_with("{\"type\":\"STATE\"") {
                break;
            }
        }
        out.flush()?;
    }
    Ok((full, small))
}

/// The open request: the three faker streams with the schemas discover gives.
fn open_request(fixtures: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(fixtures.join("faker/discover.jsonl"))?;
    let catalog: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG")
        .context("no CATALOG in faker/discover.jsonl")?;
    let mut bindings = Vec::new();
    for stream in catalog["catalog"]["streams"]
        .as_array()
        .context("no streams")?
    {
        let b = patches::apply::discovered_binding(stream, &patches::Connector::EMPTY.streams)?
            .context("faker stream omitted")?;
        bindings.push(json!({
            "resourceConfig": b["resourceConfig"],
            "collection": {"name": format!("bench/{}", b["recommendedName"].as_str().unwrap_or("x")),
                           "writeSchema": b["documentSchema"], "key": b["key"]},
        }));
    }
    let open = json!({"open": {"capture": {"name": "bench/faker", "config": {"count": 100000, "seed": 7}, "bindings": bindings}}});
    Ok(format!("{open}\n"))
}

fn fmt(s: &Sample) -> String {
    let hwm = if s.hwm_kb > 0 {
        format!("  VmHWM {:>5.1} MB", s.hwm_kb as f64 / 1024.0)
    } else {
        String::new()
    };
    format!(
        "wall {:>7.3}s  cpu {:>7.3}s  ru_maxrss {:>5.1} MB{hwm}",
        s.wall.as_secs_f64(),
        s.cpu.as_secs_f64(),
        s.max_rss_kb as f64 / 1024.0
    )
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let fixtures = args
        .fixtures
        .unwrap_or_else(|| root.join("../shared/fixtures/airbyte"));
    if !fixtures.join("faker/read-100k.jsonl.gz").exists() {
        bail!(
            "{} is missing: pass --fixtures DIR (the shared Airbyte fixtures)",
            fixtures.join("faker/read-100k.jsonl.gz").display()
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    if !args.no_build && args.binary.is_none() {
        eprintln!("bench: compiling airbyte-to-flow with the connector profile (cargo build --profile connector -p runtime)");
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "build",
                // What connector binaries ship with (see the root Cargo.toml).
                "--profile",
                "connector",
                "-p",
                "runtime",
                "--bin",
                "airbyte-to-flow",
            ])
            .current_dir(&root)
            .status()?;
        if !status.success() {
            bail!("cargo build --profile connector -p runtime failed");
        }
    }
    let bin = args
        .binary
        .unwrap_or_else(|| target.join("connector/airbyte-to-flow"));
    let dir = target.join("bench");
    let (full, small) = prepare(&fixtures, &dir)?;
    let request = dir.join("open.json");
    std::fs::write(&request, open_request(&fixtures)?)?;
    let fake = dir.join("fake-connector");
    std::fs::write(&fake, "#!/bin/sh\nexec cat \"$BENCH_FILE\"\n")?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755))?;
    }
    let runs = args.runs.max(1);
    let bytes = std::fs::metadata(&full)?.len();
    println!("binary: {}", bin.display());
    println!(
        "input:  {} ({:.1} MB), {runs} runs each, medians",
        full.display(),
        bytes as f64 / 1e6
    );

    let (mut cat, mut ours, mut ours_small) = (Vec::new(), Vec::new(), Vec::new());
    let mut counts = (0, 0);
    for i in 0..runs {
        eprintln!(
            "bench: run {}/{runs}: cat, 100k records, 10k records",
            i + 1
        );
        cat.push(run_cat(&full)?);
        let (s, c, k) = run_binary(&bin, &fake, &request, &full)?;
        ours.push(s);
        counts = (c, k);
        ours_small.push(run_binary(&bin, &fake, &request, &small)?.0);
    }
    let (cat, ours, small) = (medians(&cat), medians(&ours), medians(&ours_small));
    println!("cat | cat            {}", fmt(&cat));
    println!(
        "airbyte-to-flow 100k {}  ({} captured, {} checkpoints)",
        fmt(&ours),
        counts.0,
        counts.1
    );
    println!("airbyte-to-flow 10k  {}", fmt(&small));
    let ratio = ours.wall.as_secs_f64() / cat.wall.as_secs_f64();
    println!(
        "ratio to cat: wall {ratio:.2}x (target <= 4x), cpu {:.2}x",
        ours.cpu.as_secs_f64() / cat.cpu.as_secs_f64().max(1e-6)
    );
    println!(
        "records/s: {:.0}; peak RSS (VmHWM) {:.1} MB at 100k vs {:.1} MB at 10k (target <= 8 MB, flat)",
        counts.0 as f64 / ours.wall.as_secs_f64(),
        ours.hwm_kb as f64 / 1024.0,
        small.hwm_kb as f64 / 1024.0
    );
    println!("(ru_maxrss is from wait4 and includes this xtask's own RSS at fork; VmHWM is the binary's own peak)");
    if counts.0 != 200_100 {
        bail!("expected 200100 captured documents, got {}", counts.0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out a few bytes per read, so lines span reads.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn counts_responses_whatever_the_read_sizes() {
        let text = b"{\"opened\":{}}\n{\"captured\":{\"doc\":{}}}\n{\"captured\":{\"binding\":1,\"doc\":{\"a\":1}}}\n{\"checkpoint\":{\"state\":{}}}\n\n{\"c\":1}\n{\"captured\":{\"doc\":{}}}";
        for step in [1, 2, 3, 5, 13, 1 << 20] {
            assert_eq!(
                count_responses(Trickle(text, step)),
                (3, 1),
                "reads of {step}"
            );
        }
    }
}
