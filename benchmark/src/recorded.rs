//! Replays for `cargo xtask bench` of the API connectors we ship: what the
//! real upstream connector writes, recorded once against its mock API
//! (`connectors/<name>/tests/mock/`), repeated to the size of the other
//! replays.
//!
//! The recording goes through the connector's own binary, as a capture
//! does: discover (with the mock's config) gives the bindings, and an `open`
//! of them runs the provisioned upstream connector behind a wrapper that
//! copies its stdout to a file. The replay keeps its RECORD and STATE lines
//! as the connector wrote them (its key order, its number formats, its
//! date-time forms); the row's request is that same `open`, so the binary
//! normalizes them with the bindings users get.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::replay::{open_of, records_in};
use xtask::steps::mock::MockRun;

/// The replay recorded for `name` and the request of its row, or `None`
/// when it has no mock API.
pub struct Recorded {
    pub replay: PathBuf,
    pub request: PathBuf,
    pub records: u64,
}

/// Runs `bin` with `requests` on its stdin (the mock's environment is this
/// process's); returns its stdout messages, failing with its stderr.
pub(crate) fn exchange(
    bin: &Path,
    entrypoint: &str,
    requests: &[Value],
) -> anyhow::Result<Vec<Value>> {
    let mut child = Command::new(bin)
        .arg("--connector-entrypoint")
        .arg(entrypoint)
        .env("LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    {
        let mut stdin = child.stdin.take().expect("piped");
        for r in requests {
            writeln!(stdin, "{r}")?;
        }
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out
        .stdout
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect())
}

/// The `open` request of a capture of every stream `bin` offers when its
/// connector's discover says what the fixture `discover` (an Airbyte
/// CATALOG recorded from the real connector) says: the bindings users get,
/// with the connector's patches and normalizations. A fake connector in
/// `dir` prints the fixture.
pub(crate) fn open_from_fixture(
    name: &str,
    bin: &Path,
    discover: &Path,
    config: &Value,
    dir: &Path,
) -> anyhow::Result<Value> {
    std::fs::create_dir_all(dir)?;
    let fake = dir.join("discover.sh");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n# written by cargo xtask bench: {name}'s recorded discover\nexec cat {}\n",
            shell_words::quote(&discover.display().to_string())
        ),
    )?;
    let discovered = exchange(
        bin,
        &format!(
            "/bin/sh {}",
            shell_words::quote(&fake.display().to_string())
        ),
        &[json!({"discover": {"connectorType": "IMAGE", "config": config}})],
    )?;
    let bindings = discovered
        .iter()
        .find_map(|m| m["discovered"]["bindings"].as_array())
        .with_context(|| {
            format!(
                "{name}: discover of {} gave no bindings",
                discover.display()
            )
        })?;
    Ok(open_of(name, config, bindings))
}

/// Records `name`'s upstream connector against its mock, once per call, and
/// writes a replay of about `bytes` into `dir`.
pub fn recorded(
    connector_dir: &Path,
    name: &str,
    bin: &Path,
    dir: &Path,
    bytes: u64,
) -> anyhow::Result<Option<Recorded>> {
    if !connector_dir.join("tests/mock/mock.json").exists() {
        return Ok(None);
    }
    let Some(entrypoint) = xtask::steps::provision::entrypoint(connector_dir, None)? else {
        return Ok(None);
    };
    let mock = MockRun::start(connector_dir, &[])?;
    let config = mock.config()?;
    let discovered = exchange(
        bin,
        &entrypoint,
        &[json!({"discover": {"connectorType": "IMAGE", "config": config}})],
    )?;
    let fresh = discovered
        .iter()
        .find_map(|m| m["discovered"]["bindings"].as_array())
        .with_context(|| format!("{name}: discover gave no bindings"))?
        .iter()
        .map(|b| {
            (
                b["recommendedName"].as_str().unwrap_or("").to_string(),
                b.clone(),
            )
        })
        .collect();
    let bindings: Vec<Value> = mock.catalog(&fresh)["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let open = open_of(name, &config, &bindings);

    // The upstream connector behind a wrapper keeping a copy of its stdout.
    std::fs::create_dir_all(dir)?;
    let recording = dir.join("recording.jsonl");
    let wrapper = dir.join("record.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n# written by cargo xtask bench: {name}'s connector, its stdout copied\n{entrypoint} \"$@\" | tee {}\n",
            shell_words::quote(&recording.display().to_string())
        ),
    )?;
    let captured = exchange(
        bin,
        &format!(
            "/bin/sh {}",
            shell_words::quote(&wrapper.display().to_string())
        ),
        std::slice::from_ref(&open),
    )?;
    let documents = captured
        .iter()
        .filter(|m| m.get("captured").is_some())
        .count();
    if documents == 0 {
        bail!("{name}: the capture against the mock gave no documents");
    }

    // RECORD and STATE lines, repeated to about `bytes`.
    let lines: Vec<String> = BufReader::new(std::fs::File::open(&recording)?)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("\"RECORD\"") || l.contains("\"STATE\""))
        .collect();
    let once: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    let replay = dir.join("replay.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&replay)?);
    let mut written = 0;
    while written < bytes && once > 0 {
        for l in &lines {
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        written += once;
    }
    out.flush()?;
    let request = dir.join("open.json");
    std::fs::write(&request, format!("{open}\n"))?;
    let records = records_in(&replay)?;
    eprintln!(
        "bench: {name}: recorded {documents} documents from its connector against the mock, replayed {records} records ({:.1} MB)",
        written as f64 / 1e6
    );
    Ok(Some(Recorded {
        replay,
        request,
        records,
    }))
}
