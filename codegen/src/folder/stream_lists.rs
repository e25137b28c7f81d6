//! `selected_streams.json` and `omitted_streams.json`: which streams the
//! capture offers (lists of stream names; a stream is in at most one).

use serde_json::Value;

use super::context::{show, Ctx};
use super::names::{OMITTED_STREAMS, SELECTED_STREAMS};
use super::pointer::ptr;

/// Reads both lists: `selected` (`None`: every stream) and `omitted`.
pub(super) fn load(cx: &mut Ctx) -> (Option<Vec<String>>, Vec<String>) {
    let selected = cx
        .json(SELECTED_STREAMS)
        .and_then(|v| string_list(cx, SELECTED_STREAMS, &v));
    let omitted = cx
        .json(OMITTED_STREAMS)
        .and_then(|v| string_list(cx, OMITTED_STREAMS, &v))
        .unwrap_or_default();
    if let Some(selected) = &selected {
        for (i, s) in omitted.iter().enumerate() {
            if selected.contains(s) {
                cx.err(OMITTED_STREAMS, ptr(&[&i.to_string()]), format!("stream {s:?} is also in {SELECTED_STREAMS}; a stream is either selected or omitted, remove it from one of them"));
            }
        }
    }
    (selected, omitted)
}

/// A list of distinct, non-empty stream names.
fn string_list(cx: &mut Ctx, rel: &str, v: &Value) -> Option<Vec<String>> {
    let Some(items) = v.as_array() else {
        cx.err(
            rel,
            "(root)",
            format!(
                "expected an array of stream names, got {}; write e.g. [\"users\", \"orders\"]",
                show(v)
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) if !s.is_empty() => {
                if out.iter().any(|o: &String| o == s) {
                    cx.err(
                        rel,
                        ptr(&[&i.to_string()]),
                        format!("stream {s:?} is listed twice; list it once"),
                    );
                }
                out.push(s.to_string());
            }
            _ => cx.err(
                rel,
                ptr(&[&i.to_string()]),
                format!(
                    "expected a non-empty stream name string, got {}",
                    show(item)
                ),
            ),
        }
    }
    Some(out)
}
