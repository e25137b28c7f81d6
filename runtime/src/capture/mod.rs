//! `open`: the capture. Sets up its bindings and the configured catalog
//! ([`mod@setup`], [`catalog`]), writes the connector's files, runs `read`, and
//! turns its stdout into `captured` and `checkpoint` responses (the loop,
//! here, and [`translate`]).
//!
//! The hot path is one loop: read a batch of the connector's stdout, translate
//! its whole lines ([`translate`]: a large batch in two halves, the second on
//! a helper thread), write the responses in line order and flush them. So a checkpoint
//! never overtakes the records before it, and when Flow stops reading our
//! stdout we stop reading the child's (memory stays bounded by a few batch
//! buffers). Lines are parsed in place, borrowing from the batch (no per-record
//! allocation); a record whose binding needs no normalization (or whose
//! normalization changed nothing) is copied from its original bytes, never
//! re-serialized.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::connector::{self, Workdir};
use crate::flow::{self, response, Open};
use crate::ops::connector_config;
use crate::{state, Error, Options};

mod catalog;
mod setup;
pub mod translate;

use setup::{setup, Setup};
use translate::{Helper, Translator, BATCH_SIZE};

pub async fn run<R, W>(
    connector: &'static patches::Connector,
    opts: &Options,
    open: Open,
    input: &mut R,
    out: &mut BufWriter<W>,
) -> Result<(), Error>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let started = Instant::now();
    let skip_interval = open.capture.config.get("_atf_skip_interval") == Some(&Value::Bool(true));
    let config = connector_config(connector, &open.capture.config)?;

    let Setup {
        bindings,
        catalog,
        state_bindings,
    } = setup(connector, open.capture.bindings, open.range)?;

    let flow_state = open.state.unwrap_or(Value::Null);
    let resume = state::resume(&flow_state, &state_bindings, opts.force_per_stream_state);
    let connector_state = resume.connector_state;

    let dir = Workdir::new()?;
    let config_path = dir.write("config.json", &config)?;
    let catalog_path = dir.write("catalog.json", &catalog)?;
    let mut args = vec![
        "--config".as_ref(),
        config_path.as_os_str(),
        "--catalog".as_ref(),
        catalog_path.as_os_str(),
    ];
    let state_path;
    if let Some(s) = &connector_state {
        state_path = dir.write("state.json", s)?;
        args.push("--state".as_ref());
        args.push(state_path.as_os_str());
    }
    tracing::info!(
        bindings = bindings.len(),
        resumed = bindings.len() - resume.fresh.len(),
        from_the_start = resume.fresh.len(),
        "starting the capture"
    );
    let mut process = connector::spawn(connector, opts, "read", &args)?;

    flow::write_line(out, response::OPENED).await?;
    // The state's first checkpoint: STREAM states of the layout before
    // `stateKey`s moved under them, states of bindings no longer in the open
    // removed (`crate::state::resume`). It carries no documents.
    let first_checkpoint = resume.first_checkpoint.is_some();
    if let Some(patch) = &resume.first_checkpoint {
        let mut line = Vec::new();
        response::checkpoint(&mut line, patch, true);
        out.write_all(&line).await.map_err(Error::stdout)?;
    }
    out.flush().await.map_err(Error::stdout)?;

    let capture = async {
        let bindings = Arc::new(bindings);
        // Read what the connector wrote (up to about BATCH_SIZE, without
        // waiting for more than is there), translate its whole lines, write
        // and flush the result, repeat: a checkpoint goes out with the
        // records before it, and while our stdout blocks we don't read the
        // connector's (memory stays bounded by a few buffers). A large batch
        // is cut in two at a line end and a helper thread translates the
        // second half meanwhile: parsing JSON is most of the work.
        let mut helper = Helper::start(bindings.clone());
        let mut tr = Translator::default();
        let mut input: Vec<u8> = Vec::with_capacity(BATCH_SIZE + READ_SIZE);
        let (mut pending, mut records, mut checkpoints) = (false, 0u64, first_checkpoint as u64);
        let mut eof = false;
        while !eof {
            eof = fill(&mut process, &mut input, true).await?;
            let cut = if eof {
                input.len()
            } else {
                match memchr::memrchr(b'\n', &input) {
                    Some(i) => i + 1,
                    None => continue, // a long line: read on
                }
            };
            let mid = match memchr::memrchr(b'\n', &input[..cut / 2]) {
                Some(i) if cut >= SPLIT_AT && helper.lend(&input[i + 1..cut]) => i + 1,
                _ => cut,
            };
            let result = tr.lines(&bindings, &input[..mid]);
            let second = if mid < cut {
                Some(helper.wait()?)
            } else {
                None
            };
            tr.side_messages(&input[..mid], &mut process);
            result?;
            tr.account(&mut pending, &mut records, &mut checkpoints);
            out.write_all(&tr.output).await.map_err(Error::stdout)?;
            if let Some((mut t, text, result)) = second {
                t.side_messages(&text, &mut process);
                let ok = result.is_ok();
                if ok {
                    t.account(&mut pending, &mut records, &mut checkpoints);
                    out.write_all(&t.output).await.map_err(Error::stdout)?;
                }
                helper.give_back(t, text);
                result?;
            }
            out.flush().await.map_err(Error::stdout)?;
            input.drain(..cut);
            // Don't keep the room an exceptionally long line needed.
            if input.capacity() > 4 * BATCH_SIZE && input.len() < BATCH_SIZE {
                input.shrink_to(BATCH_SIZE + READ_SIZE);
            }
            tr.shrink();
        }
        out.flush().await.map_err(Error::stdout)?;
        process.finish().await?;
        if pending {
            tracing::warn!("the connector exited successfully without a final STATE after its last records; emitting an empty merge-patch checkpoint so they commit");
            flow::write_line(out, response::SYNTHETIC_CHECKPOINT).await?;
            checkpoints += 1;
        }
        out.flush().await.map_err(Error::stdout)?;
        tracing::info!(records, checkpoints, elapsed = ?started.elapsed(), "the capture finished");

        if let Some(minutes) = connector.run_interval_minutes {
            if skip_interval {
                tracing::info!("_atf_skip_interval is set: not waiting for the run interval");
            } else {
                let total = opts.interval_unit * minutes;
                let remaining = total.saturating_sub(started.elapsed());
                tracing::info!(run_interval_minutes = minutes, remaining = %humantime::format_duration(remaining), "waiting for the run interval before exiting");
                tokio::time::sleep(remaining).await;
            }
        }
        Ok::<(), Error>(())
    };

    // Keep reading stdin: Flow sends `acknowledge` requests, which we ignore.
    let drain = async {
        let mut line = Vec::new();
        loop {
            line.clear();
            match input.read_until(b'\n', &mut line).await {
                Ok(0) => std::future::pending::<()>().await,
                Ok(_) if line.iter().all(u8::is_ascii_whitespace) => {}
                Ok(_) => match serde_json::from_slice::<flow::Request>(&line) {
                    Ok(flow::Request::Acknowledge) => {}
                    Ok(_) => {
                        return Error::Request(
                            "received a request other than acknowledge during a capture: a capture is the last request of a process".into(),
                        )
                    }
                    Err(err) => return Error::Request(format!("invalid request on stdin during the capture: {err}")),
                },
                Err(err) => return Error::stdin(err),
            }
        }
    };

    let result = tokio::select! {
        biased;
        r = capture => r,
        e = drain => Err(e),
    };
    drop(process);
    drop(dir);
    result
}

/// Room reserved before each read of the connector's stdout.
const READ_SIZE: usize = 128 * 1024;

/// Batches at least this large are translated by two threads.
const SPLIT_AT: usize = 32 * 1024;

/// Append what the connector has written to `input`: wait for it when
/// `wait` (up to the idle timeout), then take what else is there without
/// waiting, up to about [`BATCH_SIZE`]. Returns true at EOF.
async fn fill(
    process: &mut connector::Process,
    input: &mut Vec<u8>,
    wait: bool,
) -> Result<bool, Error> {
    if wait && process.read_chunk(input, READ_SIZE).await? == 0 {
        return Ok(true);
    }
    while input.len() < BATCH_SIZE {
        match process.try_read_chunk(input, READ_SIZE).await? {
            Some(0) => return Ok(true),
            Some(_) => {}
            None => break,
        }
    }
    Ok(false)
}
