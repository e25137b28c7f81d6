//! `open`: the capture. Writes the connector's files, runs `read`, and turns
//! its stdout into `captured` and `checkpoint` responses.
//!
//! The hot path is one loop: read a batch of the connector's stdout, translate
//! its whole lines (a large batch in two halves, the second on a helper
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
use crate::normalize::scan::Scanner;
use crate::normalize::{self, DocNormalizer, Fallback};
use crate::ops::connector_config;
use crate::protocol::{self, Open};
use crate::record_line;
use crate::{state, Error, Options};

struct Binding {
    stream: String,
    namespace: Option<String>,
    normalizer: DocNormalizer,
    noop: bool,
    /// `{"captured":{"binding":N,"doc":` (binding 0 omitted, protobuf-JSON style).
    prefix: Vec<u8>,
    /// No other binding has this stream name (set by [`mark_unique`]): the
    /// fast line decoder may pick it before seeing the record's namespace.
    unique_stream: bool,
}

fn mark_unique(bindings: &mut [Binding]) {
    for i in 0..bindings.len() {
        let stream = &bindings[i].stream;
        let unique = bindings.iter().filter(|b| b.stream == *stream).count() == 1;
        bindings[i].unique_stream = unique;
    }
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
    // Bindings taken by value: their schemas move into the catalog (a clone
    // was a fifth of the open of a large catalog, `cargo xtask bench`'s 10x
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
            prefix,
            unique_stream: false,
        });
    }
    mark_unique(&mut bindings);
    let range = open.range.unwrap_or_default();
    let catalog = json!({
        "streams": streams,
        "estuary.dev/range": {
            "begin": format!("{:08x}", range.key_begin),
            "end": format!("{:08x}", range.key_end.unwrap_or(u32::MAX)),
        },
    });

    let flow_state = open.state.unwrap_or(Value::Null);
    let connector_state =
        state::connector_state(&flow_state, &descriptors, opts.force_per_stream_state);

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
        let (mut pending, mut records, mut checkpoints) = (false, 0u64, 0u64);
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

/// What is read of the connector's stdout before translating it.
const BATCH_SIZE: usize = 256 * 1024;
/// Room reserved before each read of the connector's stdout.
const READ_SIZE: usize = 128 * 1024;

/// Batches at least this large are translated by two threads.
const SPLIT_AT: usize = 32 * 1024;

/// Turns the connector's lines into responses.
#[derive(Default)]
struct Translator {
    /// `captured` and `checkpoint` responses, in order.
    output: Vec<u8>,
    /// Of the last lines translated: the counts, whether the last RECORD or
    /// STATE was a RECORD (None: neither), and the lines that are neither
    /// (for [`connector::Process::side_message`]).
    records: u64,
    checkpoints: u64,
    ends_with_records: Option<bool>,
    side: Vec<std::ops::Range<usize>>,
    /// The binding of the last record (the next is likely the same).
    last: usize,
    /// Decode every line with serde (the fuzz target's reference).
    serde_only: bool,
}

impl Translator {
    /// Translate whole lines (the last may lack its newline) into `output`
    /// (cleared first).
    fn lines(&mut self, bindings: &[Binding], input: &[u8]) -> Result<(), Error> {
        self.output.clear();
        self.side.clear();
        (self.records, self.checkpoints, self.ends_with_records) = (0, 0, None);
        let mut start = 0;
        while start < input.len() {
            let end = memchr::memchr(b'\n', &input[start..]).map_or(input.len(), |i| start + i + 1);
            let line = &input[start..end];
            let range = start..end;
            start = end;
            if !self.serde_only && self.fast_record(bindings, line) {
                continue;
            }
            let Some((env, text)) = connector::parse(line) else {
                continue;
            };
            if let Some(rec) = &env.record {
                let idx = find_binding(bindings, self.last, &rec.stream, rec.namespace.as_deref())
                    .ok_or_else(|| Error::UnknownStream {
                        stream: rec.stream.to_string(),
                        namespace: rec.namespace.as_deref().map(str::to_string),
                    })?;
                self.last = idx;
                let b = &bindings[idx];
                let object = rec.data.raw(text);
                let raw_text = match object {
                    Some(r) => r,
                    None => connector::raw_data(text).ok_or_else(|| {
                        Error::Request(format!("a RECORD of stream {:?} has no data", rec.stream))
                    })?,
                };
                let raw = raw_text.as_bytes();
                let out = &mut self.output;
                out.extend_from_slice(&b.prefix);
                if b.noop {
                    out.extend_from_slice(raw);
                } else {
                    // The hot path (normalize::walk), or the reference path
                    // for the records the plan leaves to it.
                    let len = out.len();
                    let spliced = if object.is_some() {
                        b.normalizer.splice_members(raw_text, &rec.data.fields, out)
                    } else {
                        b.normalizer.splice(raw_text, out)
                    };
                    let changed = match spliced {
                        Ok(changed) => changed,
                        Err(normalize::Fallback) => {
                            out.truncate(len);
                            b.normalizer.reference_text(raw_text, out).map_err(|e| {
                                Error::Request(format!(
                                    "a RECORD of stream {:?} has data that is not JSON: {e}",
                                    rec.stream
                                ))
                            })?
                        }
                    };
                    if !changed {
                        out.extend_from_slice(raw);
                    }
                }
                out.extend_from_slice(b"}}\n");
                self.ends_with_records = Some(true);
                self.records += 1;
            } else if env.ty == "STATE" {
                let Some(raw) = env.state else {
                    tracing::warn!(target: "connector", "the connector wrote a STATE message without a state object");
                    continue;
                };
                let msg: Value = serde_json::from_str(raw.get())
                    .map_err(|e| Error::Request(format!("STATE message is not JSON: {e}")))?;
                let cp = state::checkpoint(&msg)?;
                let out = &mut self.output;
                out.extend_from_slice(br#"{"checkpoint":{"state":{"updated":"#);
                serde_json::to_writer(&mut *out, &cp.updated).expect("a Value always serializes");
                if cp.merge_patch {
                    out.extend_from_slice(br#","mergePatch":true"#);
                }
                out.extend_from_slice(b"}}}\n");
                self.ends_with_records = Some(false);
                self.checkpoints += 1;
            } else {
                self.side.push(range);
            }
        }
        Ok(())
    }

    /// Translates `line` when it is a RECORD line the fast decoder takes
    /// ([`record_line`]); false (nothing written) when the line is left to
    /// the serde decoder. Same output as that decoder's path for the lines
    /// it takes (`fuzz/fuzz_targets/airbyte_lines.rs` compares them).
    fn fast_record(&mut self, bindings: &[Binding], line: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(line) else {
            return false;
        };
        let len = self.output.len();
        let out = &mut self.output;
        let last = self.last;
        let mut picked = None;
        let scanned = record_line::scan(text, |stream, start| {
            // Picked by name before the namespace may be known: checked below.
            let idx = if bindings.get(last).is_some_and(|b| b.stream == stream) {
                last
            } else {
                bindings
                    .iter()
                    .position(|b| b.stream == stream)
                    .ok_or(Fallback)?
            };
            let b = &bindings[idx];
            if !b.unique_stream {
                return Err(Fallback);
            }
            picked = Some(idx);
            out.extend_from_slice(&b.prefix);
            // The data object sits within the line's and the record's.
            let (end, changed) = if b.noop {
                (Scanner::new(text.as_bytes()).skip(start, 2)?, false)
            } else {
                b.normalizer.splice_at(text, start, 2, out)?
            };
            if !changed {
                out.extend_from_slice(&text.as_bytes()[start..end]);
            }
            out.extend_from_slice(b"}}\n");
            Ok(end)
        });
        match (scanned, picked) {
            (Ok(rec), Some(idx))
                if find_binding(bindings, idx, rec.stream, rec.namespace) == Some(idx) =>
            {
                self.last = idx;
                self.ends_with_records = Some(true);
                self.records += 1;
                true
            }
            _ => {
                self.output.truncate(len);
                false
            }
        }
    }

    /// Log the side messages of the lines last translated, `input`.
    fn side_messages(&mut self, input: &[u8], process: &mut connector::Process) {
        for range in self.side.drain(..) {
            if let Some((env, _)) = connector::parse(&input[range]) {
                process.side_message(&env);
            }
        }
    }

    /// Add the counts of the lines last translated to the capture's.
    fn account(&self, pending: &mut bool, records: &mut u64, checkpoints: &mut u64) {
        *records += self.records;
        *checkpoints += self.checkpoints;
        if let Some(p) = self.ends_with_records {
            *pending = p;
        }
    }

    /// Don't keep the room an exceptionally long line needed.
    fn shrink(&mut self) {
        if self.output.capacity() > 4 * BATCH_SIZE {
            self.output.shrink_to(2 * BATCH_SIZE);
        }
    }
}

/// A translator and the lines it is given.
type Lent = (Translator, Vec<u8>);
/// ... and the outcome of translating them.
type Translated = (Translator, Vec<u8>, Result<(), Error>);

/// A thread translating the second half of large batches.
struct Helper {
    to: std::sync::mpsc::SyncSender<Lent>,
    from: std::sync::mpsc::Receiver<Translated>,
    /// Its translator and input buffer, while it has no work.
    idle: Option<Lent>,
}

impl Helper {
    fn start(bindings: Arc<Vec<Binding>>) -> Self {
        let (to, work) = std::sync::mpsc::sync_channel::<Lent>(1);
        let (done, from) = std::sync::mpsc::sync_channel(1);
        // It ends when `to` is dropped.
        let spawned = std::thread::Builder::new()
            .name("translate".into())
            .spawn(move || {
                while let Ok((mut t, text)) = work.recv() {
                    let result = t.lines(&bindings, &text);
                    if done.send((t, text, result)).is_err() {
                        break;
                    }
                }
            });
        if let Err(err) = spawned {
            // Then `lend` says so and we translate everything ourselves.
            tracing::warn!("could not start a translating thread: {err}");
        }
        Helper {
            to,
            from,
            idle: Some(Default::default()),
        }
    }

    /// Start translating a copy of `lines` on the helper thread; false when
    /// it is not running (then translate them here).
    fn lend(&mut self, lines: &[u8]) -> bool {
        let (t, mut text) = self.idle.take().unwrap_or_default();
        text.clear();
        text.extend_from_slice(lines);
        self.to.send((t, text)).is_ok()
    }

    /// Wait for the lent lines' translation.
    fn wait(&mut self) -> Result<Translated, Error> {
        self.from.recv().map_err(|_| {
            Error::Request("the thread translating the connector's output stopped".into())
        })
    }

    fn give_back(&mut self, mut t: Translator, mut text: Vec<u8>) {
        t.shrink();
        if text.capacity() > 4 * BATCH_SIZE {
            text = Vec::new();
        }
        self.idle = Some((t, text));
    }
}

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

/// The capture's decoder of the connector's stdout, on arbitrary bytes, for
/// the fuzz target `airbyte_lines` (`fuzz/`): bindings `a` (no namespace) and
/// `b` (namespace `ns`), normalized by `schema`. Returns the responses written,
/// or the error that would end the capture. `serde_only`: without the fast
/// RECORD line decoder (the reference it is compared with).
#[doc(hidden)]
pub fn translate_for_fuzzing(
    schema: &Value,
    input: &[u8],
    serde_only: bool,
) -> Result<Vec<u8>, Error> {
    let bindings: Vec<Binding> = [("a", None), ("b", Some("ns"))]
        .into_iter()
        .enumerate()
        .map(|(i, (stream, namespace))| {
            let normalizer = DocNormalizer::new(schema, &[]);
            Binding {
                stream: stream.to_string(),
                namespace: namespace.map(str::to_string),
                noop: normalizer.is_noop(),
                normalizer,
                prefix: format!(r#"{{"captured":{{"binding":{i},"doc":"#).into_bytes(),
                unique_stream: false,
            }
        })
        .collect();
    let mut bindings = bindings;
    mark_unique(&mut bindings);
    let mut t = Translator {
        serde_only,
        ..Translator::default()
    };
    t.lines(&bindings, input)?;
    Ok(t.output)
}
