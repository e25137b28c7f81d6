//! Measurements of `cargo xtask bench`: one run of a binary capturing a
//! replay through a `cat` fake connector, or of `cat FILE | cat`, timed with
//! `wait4` (wall, CPU of the process tree) and the binary's peak RSS sampled
//! from `/proc`.

use anyhow::{bail, Context};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
    /// ru_maxrss from wait4: the max over the process tree, which on Linux
    /// includes what the parent (this xtask) had resident when it forked.
    pub max_rss_kb: i64,
    /// VmHWM of the binary itself, sampled from /proc every 5 ms (0 for cat).
    pub hwm_kb: i64,
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

pub fn median<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

pub fn medians(samples: &[Sample]) -> Sample {
    Sample {
        wall: median(samples.iter().map(|s| s.wall).collect()),
        cpu: median(samples.iter().map(|s| s.cpu).collect()),
        max_rss_kb: median(samples.iter().map(|s| s.max_rss_kb).collect()),
        hwm_kb: median(samples.iter().map(|s| s.hwm_kb).collect()),
    }
}

/// `cat FILE | cat > /dev/null`.
pub fn run_cat(file: &Path) -> anyhow::Result<Sample> {
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
pub fn run_binary(
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
