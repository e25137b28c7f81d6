//! The hot path against the reference path on arbitrary documents: the first
//! byte picks a schema (and whether a `datetime_to_date` pointer is declared),
//! the rest is the document. Where the document is JSON, both paths must give
//! the same value; where it is not, the hot path must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patches::{Normalization, Normalize};
use runtime::normalize::{DocNormalizer, Fallback};
use serde_json::Value;

#[path = "schemas.rs"]
mod schemas;

const DECLARED: &[Normalize] = &[
    Normalize {
        pointer: "/created_at",
        normalization: Normalization::DatetimeToDate,
    },
    Normalize {
        pointer: "/events/0/created_at",
        normalization: Normalization::DatetimeToDate,
    },
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let schemas = schemas::schemas();
    let schema = &schemas[usize::from(pick) % schemas.len()];
    let declared = if pick & 0x80 != 0 { DECLARED } else { &[] };
    let n = DocNormalizer::new(schema, declared);
    let mut hot = Vec::new();
    let spliced = n.splice(text, &mut hot);
    let Ok(mut reference) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let changed = n.apply(&mut reference);
    match spliced {
        Err(Fallback) => {}
        Ok(hot_changed) => {
            // `changed` is not compared: with duplicate keys the hot path may
            // change an occurrence the reference path dropped (same value).
            let _ = changed;
            let got: Value = if hot_changed {
                serde_json::from_slice(&hot).expect("the hot path writes JSON")
            } else {
                serde_json::from_str(text).unwrap()
            };
            assert_eq!(got, reference, "on {text}");
        }
    }
});
