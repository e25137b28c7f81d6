//! `open`: the capture. Writes the connector's files, runs `read`, and turns
//! its stdout into `captured` and `checkpoint` responses.
//!
//! The hot path is one sequential loop over the connector's stdout lines with
//! one output buffer, so a checkpoint can never overtake the records before
//! it, and when Flow stops reading our stdout we stop reading the child's
//! (memory stays bounded by the two buffers). A record whose binding needs no
//! normalization (or whose normalization changed nothing) is copied from its
//! original bytes, never re-serialized.

use std::time::Instant;

use serde_json::{json, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::connector::{self, Workdir};
use crate::normalize::DocNormalizer;
use crate::ops::connector_config;
use crate::protocol::{self, Open};
use crate::{splice, state, Error, Options};

struct Binding {
    stream: String,
    namespace: Option<String>,
    normalizer: DocNormalizer,
    noop: bool,
    /// The top-level date-time fields, when those are all there is to normalize.
    fast: Option<Vec<String>>,
    /// `{"captured":{"binding":N,"doc":` (binding 0 omitted, protobuf-JSON style).
    prefix: Vec<u8>,
}

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
    let mut descriptors = Vec::with_capacity(open.capture.bindings.len());
    for (i, b) in open.capture.bindings.iter().enumerate() {
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
            .clone()
            .or_else(|| b.collection.read_schema.clone())
            .unwrap_or_else(|| json!({}));
        let primary_key: Vec<Vec<String>> =
            b.collection.key.iter().map(|k| pointer_tokens(k)).collect();

        let declared = connector.streams.for_stream(stream).normalizations;
        let normalizer = DocNormalizer::new(&schema, declared);
        let noop = normalizer.is_noop();
        let fast = if declared.is_empty() {
            splice::top_level_datetimes(&schema)
        } else {
            None
        };
        tracing::debug!(binding = i, stream, noop, "binding");

        let mut descriptor = json!({ "name": stream });
        if let Some(ns) = namespace {
            descriptor["namespace"] = json!(ns);
        }
        let mut airbyte_stream = descriptor.clone();
        airbyte_stream["json_schema"] = schema;
        airbyte_stream["supported_sync_modes"] = json!([sync_mode]);
        streams.push(json!({
            "stream": airbyte_stream,
            "sync_mode": sync_mode,
            "cursor_field": cursor_field,
            "destination_sync_mode": "append",
            "primary_key": primary_key,
        }));
        descriptors.push((namespace.map(str::to_string), stream.to_string()));
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
            fast,
            prefix,
        });
    }
    let range = open.range.unwrap_or_default();
    let catalog = json!({
        "streams": streams,
        "estuary.dev/range": {
            "begin": format!("{:08x}", range.key_begin),
            "end": format!("{:08x}", range.key_end.unwrap_or(u32::MAX)),
        },
    });

    let force_per_stream = opts.force_per_stream_state
        || connector
            .upstream
            .env
            .iter()
            .any(|(k, v)| *k == "AIRBYTE_TO_FLOW_STATE_FORMAT" && *v == "per_stream")
            && std::env::var_os("AIRBYTE_TO_FLOW_STATE_FORMAT").is_none();
    let flow_state = open.state.unwrap_or(Value::Null);
    let connector_state = state::connector_state(&flow_state, &descriptors, force_per_stream);

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
        resumed = connector_state.is_some(),
        "starting the capture"
    );
    let mut process = connector::spawn(connector, opts, "read", &args)?;

    protocol::write_line(out, br#"{"opened":{}}"#).await?;
    out.flush().await.map_err(Error::stdout)?;

    let capture = async {
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut scratch = Vec::with_capacity(4096);
        let mut pending = false;
        let mut last = 0usize;
        let (mut records, mut checkpoints) = (0u64, 0u64);
        while process.next_line(&mut buf).await? {
            let Some((env, text)) = connector::parse(&buf) else {
                continue;
            };
            if let Some(rec) = &env.record {
                let idx = find_binding(&bindings, last, &rec.stream, rec.namespace.as_deref())
                    .ok_or_else(|| Error::UnknownStream {
                        stream: rec.stream.to_string(),
                        namespace: rec.namespace.as_deref().map(str::to_string),
                    })?;
                last = idx;
                let b = &bindings[idx];
                let raw_text = match rec.data.raw(text) {
                    Some(r) => r,
                    None => connector::raw_data(text).ok_or_else(|| {
                        Error::Request(format!("a RECORD of stream {:?} has no data", rec.stream))
                    })?,
                };
                let raw = raw_text.as_bytes();
                out.write_all(&b.prefix).await.map_err(Error::stdout)?;
                if b.noop {
                    out.write_all(raw).await.map_err(Error::stdout)?;
                } else if let Some(names) = &b.fast {
                    if splice::normalize_into(
                        raw_text,
                        &rec.data.fields,
                        names,
                        &b.normalizer,
                        &mut scratch,
                    ) {
                        out.write_all(&scratch).await.map_err(Error::stdout)?;
                    } else {
                        out.write_all(raw).await.map_err(Error::stdout)?;
                    }
                } else {
                    let mut doc: Value = serde_json::from_slice(raw)
                        .map_err(|e| Error::Request(format!("record data is not JSON: {e}")))?;
                    if b.normalizer.apply(&mut doc) {
                        scratch.clear();
                        serde_json::to_writer(&mut scratch, &doc)
                            .expect("a Value always serializes");
                        out.write_all(&scratch).await.map_err(Error::stdout)?;
                    } else {
                        out.write_all(raw).await.map_err(Error::stdout)?;
                    }
                }
                out.write_all(b"}}\n").await.map_err(Error::stdout)?;
                pending = true;
                records += 1;
            } else if env.ty == "STATE" {
                let Some(raw) = env.state else {
                    tracing::warn!(target: "connector", "the connector wrote a STATE message without a state object");
                    continue;
                };
                let msg: Value = serde_json::from_str(raw.get())
                    .map_err(|e| Error::Request(format!("STATE message is not JSON: {e}")))?;
                let cp = state::checkpoint(&msg)?;
                scratch.clear();
                scratch.extend_from_slice(br#"{"checkpoint":{"state":{"updated":"#);
                serde_json::to_writer(&mut scratch, &cp.updated)
                    .expect("a Value always serializes");
                if cp.merge_patch {
                    scratch.extend_from_slice(br#","mergePatch":true"#);
                }
                scratch.extend_from_slice(b"}}}\n");
                out.write_all(&scratch).await.map_err(Error::stdout)?;
                out.flush().await.map_err(Error::stdout)?;
                pending = false;
                checkpoints += 1;
            } else {
                process.side_message(&env);
            }
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

#[inline]
fn find_binding(
    bindings: &[Binding],
    last: usize,
    stream: &str,
    namespace: Option<&str>,
) -> Option<usize> {
    let namespace = namespace.filter(|n| !n.is_empty());
    let exact = |b: &Binding| b.stream == stream && b.namespace.as_deref() == namespace;
    if bindings.get(last).is_some_and(exact) {
        return Some(last);
    }
    if let Some(i) = bindings.iter().position(exact) {
        return Some(i);
    }
    // One side without a namespace: match on the stream name alone.
    bindings
        .iter()
        .position(|b| b.stream == stream && (b.namespace.is_none() || namespace.is_none()))
}
