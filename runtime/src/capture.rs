//! `open`: the capture. Writes the connector's files, runs `read`, and turns
//! its stdout into `captured` and `checkpoint` responses.
//!
//! The hot path is one loop: read a batch of the connector's stdout, translate
//! its whole lines (`crate::translate`: a large batch in two halves, the second on a helper
//! thread), write the responses in line order and flush them. So a checkpoint
//! never overtakes the records before it, and when Flow stops reading our
//! stdout we stop reading the child's (memory stays bounded by a few batch
//! buffers). Lines are parsed in place, borrowing from the batch (no per-record
//! allocation); a record whose binding needs no normalization (or whose
//! normalization changed nothing) is copied from its original bytes, never
//! re-serialized.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::connector::{self, Workdir};
use crate::normalize::DocNormalizer;
use crate::ops::connector_config;
use crate::protocol::{self, Open};
use crate::translate::{mark_unique, Binding, Helper, Translator, BATCH_SIZE};
use crate::{state, Error, Options};

/// `/a/b~1c` -> `["a", "b/c"]`.
fn pointer_tokens(ptr: &str) -> Vec<String> {
    ptr.split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

const SYNTHETIC_CHECKPOINT: &[u8] = br#"{"checkpoint":{"state":{"updated":{},"mergePatch":true}}}"#;

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

    let mut bindings = Vec::with_capacity(open.capture.bindings.len());
    let mut streams = Vec::with_capacity(open.capture.bindings.len());
    let mut state_bindings = Vec::with_capacity(open.capture.bindings.len());
    // Bindings taken by value: their schemas move into the catalog (the
    // clones took 1.5-2 ms of the 16 ms open of `cargo xtask bench`'s 10x
    // schema).
    for (i, mut b) in open.capture.bindings.into_iter().enumerate() {
        let rc = &b.resource_config;
        let stream = rc.get("stream").and_then(Value::as_str).ok_or_else(|| {
            Error::Request(format!(
                "open: /capture/bindings/{i}/resourceConfig/stream is missing or not a string: each binding names the Airbyte stream it captures"
            ))
        })?;
        let namespace = rc
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let sync_mode = rc
            .get("syncMode")
            .or_else(|| rc.get("sync_mode"))
            .and_then(Value::as_str)
            .unwrap_or("full_refresh");
        let cursor_field = rc
            .get("cursorField")
            .or_else(|| rc.get("cursor_field"))
            .cloned()
            .filter(|c| !c.is_null())
            .unwrap_or_else(|| json!([]));
        let schema = b
            .collection
            .write_schema
            .take()
            .or_else(|| b.collection.read_schema.take())
            .unwrap_or_else(|| json!({}));
        let primary_key: Vec<Vec<String>> =
            b.collection.key.iter().map(|k| pointer_tokens(k)).collect();

        let declared = connector.streams.for_stream(stream).normalizations;
        let normalizer = DocNormalizer::new(&schema, declared);
        let noop = normalizer.is_noop();
        tracing::debug!(binding = i, stream, noop, "binding");

        let mut descriptor = json!({ "name": stream });
        if let Some(ns) = namespace {
            descriptor["namespace"] = json!(ns);
        }
        let mut airbyte_stream = descriptor.clone();
        airbyte_stream["json_schema"] = schema;
        airbyte_stream["supported_sync_modes"] = json!([sync_mode]);
        // Built by moves, not `json!`: the macro copies each value it is
        // given through `to_value` (the schema twice over, half the
        // instructions of a large catalog's open, callgrind).
        let mut configured = serde_json::Map::with_capacity(5);
        configured.insert("stream".into(), airbyte_stream);
        configured.insert("sync_mode".into(), json!(sync_mode));
        configured.insert("cursor_field".into(), cursor_field);
        configured.insert("destination_sync_mode".into(), json!("append"));
        configured.insert("primary_key".into(), json!(primary_key));
        streams.push(Value::Object(configured));
        // Flow sends each binding's `stateKey`; an older Flow did not: then
        // it is derived as Flow derives it (`state::state_key`), from the
        // resource path it sent or the one our spec's pointers give.
        let state_key = if b.state_key.is_empty() {
            let path = if b.resource_path.is_empty() {
                namespace
                    .into_iter()
                    .chain([stream])
                    .map(str::to_string)
                    .collect()
            } else {
                std::mem::take(&mut b.resource_path)
            };
            state::state_key(&path, b.backfill)
        } else {
            std::mem::take(&mut b.state_key)
        };
        state_bindings.push(state::StateBinding {
            namespace: namespace.map(str::to_string),
            stream: stream.to_string(),
            state_key: state_key.clone(),
        });
        let prefix = if i == 0 {
            br#"{"captured":{"doc":"#.to_vec()
        } else {
            format!(r#"{{"captured":{{"binding":{i},"doc":"#).into_bytes()
        };
        bindings.push(Binding {
            stream: stream.to_string(),
            namespace: namespace.map(str::to_string),
            normalizer,
            noop,
            prefix,
            unique_stream: false,
            state_key,
        });
    }
    mark_unique(&mut bindings);
    let range = open.range.unwrap_or_default();
    let mut catalog = serde_json::Map::with_capacity(2);
    catalog.insert("streams".into(), Value::Array(streams));
    catalog.insert(
        "estuary.dev/range".into(),
        json!({
            "begin": format!("{:08x}", range.key_begin),
            "end": format!("{:08x}", range.key_end.unwrap_or(u32::MAX)),
        }),
    );
    let catalog = Value::Object(catalog);

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

    protocol::write_line(out, br#"{"opened":{}}"#).await?;
    // The state's first checkpoint: STREAM states of the layout before
    // `stateKey`s moved under them, states of bindings no longer in the open
    // removed (`crate::state::resume`). It carries no documents.
    let first_checkpoint = resume.first_checkpoint.is_some();
    if let Some(patch) = &resume.first_checkpoint {
        let line = json!({"checkpoint": {"state": {"updated": patch, "mergePatch": true}}});
        protocol::write_line(out, line.to_string().as_bytes()).await?;
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
            protocol::write_line(out, SYNTHETIC_CHECKPOINT).await?;
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
                Ok(_) => match serde_json::from_slice::<protocol::Request>(&line) {
                    Ok(protocol::Request::Acknowledge) => {}
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
