//! The capture's decoder of the connector's stdout (Airbyte message lines,
//! RECORD normalization, STATE to checkpoint) on arbitrary bytes: it must not
//! panic, every response it writes must be a JSON line, and an error must
//! say something.
//!
//! "JSON" is RFC 8259's grammar, checked with `IgnoredAny`: a number beyond
//! f64 (`-1.7976931348623177e+308`, found by this target) is valid JSON that
//! the connector wrote and the capture copies as written (serde_json's `Value`
//! would refuse it as out of range; RFC 8259 section 6 leaves ranges to the
//! reader).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "schemas.rs"]
mod schemas;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let schemas = schemas::schemas();
    let schema = &schemas[usize::from(pick) % schemas.len()];
    match runtime::fuzzing::translate_for_fuzzing(schema, rest) {
        Ok(out) => {
            for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                serde_json::from_slice::<serde::de::IgnoredAny>(line).unwrap_or_else(|e| {
                    panic!(
                        "response is not JSON ({e}): {}",
                        String::from_utf8_lossy(line)
                    )
                });
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
