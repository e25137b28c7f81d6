//! The capture's decoder of the connector's stdout (Airbyte message lines,
//! RECORD normalization, STATE to checkpoint) on arbitrary bytes: it must not
//! panic, every response it writes must be a JSON line, an error must say
//! something, and the fast RECORD line decoder must give exactly what the
//! serde decoder alone gives.
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
    let fast = runtime::fuzzing::translate_for_fuzzing(schema, rest, false);
    let serde = runtime::fuzzing::translate_for_fuzzing(schema, rest, true);
    // The fast RECORD line decoder changes nothing: same responses, same
    // outcome, as the serde decoder alone.
    match (&fast, &serde) {
        (Ok(a), Ok(b)) => assert!(
            a == b,
            "fast and serde decoders differ:\n{}\n{}",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        ),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("fast and serde decoders differ: {a:?} / {b:?}"),
    }
    match fast {
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
