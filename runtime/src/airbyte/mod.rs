//! Airbyte's wire format: the messages an Airbyte connector writes on stdout,
//! one JSON object a line (`{"type": "RECORD", "record": {...}}`, `STATE`,
//! `LOG`, `TRACE`, `CONTROL`, `SPEC`, `CATALOG`, `CONNECTION_STATUS`).
//!
//! Two decoders, side by side:
//! - [`message`]: the serde decoder ([`parse`] into an [`Envelope`], the
//!   record's `data` located in the line by [`message::Data::raw`] or
//!   [`raw_data`]).
//!   It decodes every kind of message and is the reference: what it makes of
//!   a line is what the line means.
//! - [`record_line`]: the fast decoder of RECORD lines, the bulk of a
//!   capture's input: one byte scan of `{"type":"RECORD","record":{...}}`
//!   ([`crate::scan`]), handing the `data` object, where it starts, to the
//!   binding's walk. Anything unusual (key order, duplicates, escapes in the
//!   stream name, extra top-level keys) makes it give up, and the line goes
//!   to the serde decoder.
//!
//! Invariant: the fast decoder changes nothing. A capture's responses and
//! errors are the same as with the serde decoder alone, line for line
//! (`crate::capture::translate` runs them in this order, and
//! `translate_for_fuzzing` with `serde_only` runs the serde decoder alone:
//! `fuzz/fuzz_targets/airbyte_lines.rs` compares the two on arbitrary bytes,
//! `runtime/tests/hotpath_differential.rs` on every fixture read).
//!
//! The messages that are neither records nor states nor the answer a command
//! waits for become log events ([`side`]).

pub mod message;
pub mod record_line;
pub mod side;

pub use message::{parse, raw_data, Envelope};
pub use side::side_message;
