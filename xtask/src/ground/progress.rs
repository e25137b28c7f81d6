//! Progress of long steps on stderr: a line redrawn in place on a terminal,
//! plain lines (at most one every few seconds) in CI logs.

use anyhow::{bail, Context};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Shows `label: message` as a step advances.
pub struct Progress {
    label: String,
    tty: bool,
    last: Option<Instant>,
}

impl Progress {
    pub fn new(label: impl Into<String>) -> Progress {
        Progress {
            label: label.into(),
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Shows `message` (throttled: every call on a terminal, one line per
    /// 5 s otherwise; `force` always prints, for steps worth a line).
    pub fn show(&mut self, message: &str, force: bool) {
        let now = Instant::now();
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K{}: {message}", self.label);
            let _ = err.flush();
        } else if force || self.last.is_none_or(|t| now - t >= Duration::from_secs(5)) {
            let _ = writeln!(err, "{}: {message}", self.label);
        } else {
            return;
        }
        self.last = Some(now);
    }

    /// Ends the in-place line on a terminal.
    pub fn done(&mut self, message: &str) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
        eprintln!("{}: {message}", self.label);
    }
}

/// Runs `pip install ...` (without `--quiet`), showing which of the `total`
/// pinned packages it is at. pip's own stdout is shown only when it fails.
pub fn pip_install(cmd: &mut Command, label: &str, total: usize) -> anyhow::Result<()> {
    let mut p = Progress::new(label);
    p.show(&format!("pip: 0/{total} packages"), true);
    let started = Instant::now();
    let mut child = cmd
        .arg("--progress-bar")
        .arg("off")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let mut seen = 0usize;
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let Ok(line) = line else { break };
        if let Some(what) = line.strip_prefix("Collecting ") {
            let what = what.split(" (").next().unwrap_or(what);
            // Only the pinned lines of the list count: pip also collects
            // build requirements of source packages (faker 7.2.1's list
            // makes it collect `setuptools<81.0.0,>=80.9.0`, 94 of 93).
            if what.contains("==") {
                seen += 1;
            }
            p.show(
                &format!("pip: {seen}/{total} packages, downloading {what}"),
                false,
            );
        } else if line.starts_with("Installing collected packages") {
            p.show(
                &format!(
                    "pip: {seen}/{total} packages downloaded in {:.0?}; installing them",
                    started.elapsed()
                ),
                true,
            );
        }
        tail.push(line);
        if tail.len() > 30 {
            tail.remove(0);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        p.done("pip failed; its last lines:");
        for line in &tail {
            eprintln!("  {line}");
        }
        bail!("{:?} failed with {status}", cmd.get_program());
    }
    p.done(&format!(
        "pip: {total} packages installed in {:.0?}",
        started.elapsed()
    ));
    Ok(())
}
