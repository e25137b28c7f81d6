//! The translation of the connector's stdout into Flow responses: whole
//! lines in, `captured` and `checkpoint` responses out, in line order
//! ([`Translator`]), on the capture's thread and on a [`Helper`] thread that
//! takes the second half of large batches ([`super::run`] reads the batches
//! and writes what comes out). The responses are framed by
//! [`crate::flow::response`].
//!
//! A RECORD line goes first to the fast decoder
//! ([`crate::airbyte::record_line`]), whatever it leaves to the serde decoder
//! ([`crate::airbyte::message`]), with the same outcome (the invariant of
//! [`crate::airbyte`]); a record is copied from its original bytes unless its
//! binding's normalization changed it.

use std::sync::Arc;

use serde_json::Value;

use crate::airbyte::{self, record_line};
use crate::connector;
use crate::flow::response;
use crate::normalize::{self, DocNormalizer, Fallback};
use crate::scan::Scanner;
use crate::{state, Error};

/// What is read of the connector's stdout before translating it.
pub const BATCH_SIZE: usize = 256 * 1024;

pub struct Binding {
    pub stream: String,
    pub namespace: Option<String>,
    pub normalizer: DocNormalizer,
    pub noop: bool,
    /// `{"captured":{"binding":N,"doc":` (binding 0 omitted, protobuf-JSON
    /// style; [`response::captured_prefix`]).
    pub prefix: Vec<u8>,
    /// No other binding has this stream name (set by [`mark_unique`]): the
    /// fast line decoder may pick it before seeing the record's namespace.
    pub unique_stream: bool,
    /// Flow's `stateKey` of the binding: the key of its state in checkpoints.
    pub state_key: String,
}

impl state::Keys for [Binding] {
    fn state_key(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        find_binding(self, 0, name, namespace).map(|i| self[i].state_key.as_str())
    }
    fn state_keys(&self) -> Vec<&str> {
        self.iter().map(|b| b.state_key.as_str()).collect()
    }
}

pub fn mark_unique(bindings: &mut [Binding]) {
    for i in 0..bindings.len() {
        let stream = &bindings[i].stream;
        let unique = bindings.iter().filter(|b| b.stream == *stream).count() == 1;
        bindings[i].unique_stream = unique;
    }
}

/// Turns the connector's lines into responses.
#[derive(Default)]
pub struct Translator {
    /// `captured` and `checkpoint` responses, in order.
    pub output: Vec<u8>,
    /// Of the last lines translated: the counts, whether the last RECORD or
    /// STATE was a RECORD (None: neither), and the lines that are neither
    /// (for [`airbyte::side_message`]).
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
    pub fn lines(&mut self, bindings: &[Binding], input: &[u8]) -> Result<(), Error> {
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
            let Some((env, text)) = airbyte::parse(line) else {
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
                    None => airbyte::raw_data(text).ok_or_else(|| {
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
                out.extend_from_slice(response::CAPTURED_END);
                self.ends_with_records = Some(true);
                self.records += 1;
            } else if env.ty == "STATE" {
                let Some(raw) = env.state else {
                    tracing::warn!(target: "connector", "the connector wrote a STATE message without a state object");
                    continue;
                };
                let msg: Value = serde_json::from_str(raw.get())
                    .map_err(|e| Error::Request(format!("STATE message is not JSON: {e}")))?;
                let Some(cp) = state::checkpoint(&msg, bindings)? else {
                    continue;
                };
                response::checkpoint(&mut self.output, &cp.updated, cp.merge_patch);
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
            out.extend_from_slice(response::CAPTURED_END);
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
    pub fn side_messages(&mut self, input: &[u8], process: &mut connector::Process) {
        for range in self.side.drain(..) {
            if let Some((env, _)) = airbyte::parse(&input[range]) {
                airbyte::side_message(&env, &mut process.last_error);
            }
        }
    }

    /// Add the counts of the lines last translated to the capture's.
    pub fn account(&self, pending: &mut bool, records: &mut u64, checkpoints: &mut u64) {
        *records += self.records;
        *checkpoints += self.checkpoints;
        if let Some(p) = self.ends_with_records {
            *pending = p;
        }
    }

    /// Don't keep the room an exceptionally long line needed.
    pub fn shrink(&mut self) {
        if self.output.capacity() > 4 * BATCH_SIZE {
            self.output.shrink_to(2 * BATCH_SIZE);
        }
    }
}

/// A translator and the lines it is given.
type Lent = (Translator, Vec<u8>);
/// ... and the outcome of translating them.
pub type Translated = (Translator, Vec<u8>, Result<(), Error>);

/// A thread translating the second half of large batches.
pub struct Helper {
    to: std::sync::mpsc::SyncSender<Lent>,
    from: std::sync::mpsc::Receiver<Translated>,
    /// Its translator and input buffer, while it has no work.
    idle: Option<Lent>,
}

impl Helper {
    pub fn start(bindings: Arc<Vec<Binding>>) -> Self {
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
    pub fn lend(&mut self, lines: &[u8]) -> bool {
        let (t, mut text) = self.idle.take().unwrap_or_default();
        text.clear();
        text.extend_from_slice(lines);
        self.to.send((t, text)).is_ok()
    }

    /// Wait for the lent lines' translation.
    pub fn wait(&mut self) -> Result<Translated, Error> {
        self.from.recv().map_err(|_| {
            Error::Request("the thread translating the connector's output stopped".into())
        })
    }

    pub fn give_back(&mut self, mut t: Translator, mut text: Vec<u8>) {
        t.shrink();
        if text.capacity() > 4 * BATCH_SIZE {
            text = Vec::new();
        }
        self.idle = Some((t, text));
    }
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
                prefix: response::captured_prefix(i),
                unique_stream: false,
                state_key: stream.to_string(),
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
