//! Builders and folds the tests of several crates share: Flow's `open`
//! request with its bindings as Flow's runtime sends them (`open`,
//! `open_binding`, `state_key`), and what a capture answered taken apart
//! (`documents` by binding, `ids`, `max_of` a cursor field, `json_cmp` the
//! order they use). Plain `serde_json`, nothing heavier.

use serde_json::{json, Value};
use std::cmp::Ordering;

/// Flow's `open` of the capture `acmeCo/<name>` with `bindings` as Flow
/// sends them (see [`open_binding`]), from `state` when given (else `{}`),
/// over the whole key and r-clock range.
pub fn open(name: &str, config: &Value, bindings: Vec<Value>, state: Option<&Value>) -> Value {
    json!({"open": {
        "capture": {"name": format!("acmeCo/{name}"), "connectorType": "IMAGE",
                    "config": config, "bindings": bindings},
        "version": "e2e",
        "range": {"keyBegin": 0, "keyEnd": 4294967295u32, "rClockBegin": 0, "rClockEnd": 4294967295u32},
        "state": state.cloned().unwrap_or(json!({})),
    }})
}

/// One binding of an `open`, as Flow's runtime sends it
/// (`flow.CaptureSpec.Binding`): the discovered binding `b`'s resource, its
/// resource path, its collection, its backfill counter, and the `stateKey`
/// Flow derives from them.
pub fn open_binding(b: &Value, backfill: u32) -> Value {
    let path: Vec<&str> = b["resourcePath"]
        .as_array()
        .expect("a discovered binding has a resourcePath")
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    json!({
        "resourceConfig": b["resourceConfig"],
        "resourcePath": path,
        "collection": {"name": format!("acmeCo/{}", b["recommendedName"].as_str().unwrap()),
                       "writeSchema": b["documentSchema"], "key": b["key"]},
        "backfill": backfill,
        "stateKey": state_key(&path, backfill),
    })
}

/// Flow's `stateKey` (estuary/flow `assemble::encode_state_key`) for plain
/// resource paths (letters, digits, `_` and `-` only, so only the `/`
/// between components is percent-encoded); panics on any other path.
pub fn state_key(path: &[&str], backfill: u32) -> String {
    for p in path {
        assert!(
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "resource path component {p:?} needs Flow's full encoding"
        );
    }
    let key = path.join("%2F");
    if backfill == 0 {
        key
    } else {
        format!("{key}.v{backfill}")
    }
}

/// The captured documents of `messages` (Flow capture responses) by binding
/// index, for `bindings` bindings, in the order they came.
pub fn documents(messages: &[Value], bindings: usize) -> Vec<Vec<Value>> {
    let mut out = vec![Vec::new(); bindings];
    for c in messages.iter().filter_map(|m| m.get("captured")) {
        let i = c["binding"].as_u64().unwrap_or(0) as usize;
        out[i].push(c["doc"].clone());
    }
    out
}

/// The `field` of each document (`"id"`, or another key such as an issue's
/// `number`), in order; compare with `json!([...])` or an array literal.
pub fn ids(docs: &[Value], field: &str) -> Vec<Value> {
    docs.iter().map(|d| d[field].clone()).collect()
}

/// The greatest `field` of `docs` by [`json_cmp`] (RFC 3339 strings, Unix
/// seconds), skipping documents without it; panics when none has it.
pub fn max_of<'a>(docs: &'a [Value], field: &str) -> &'a Value {
    docs.iter()
        .map(|d| &d[field])
        .filter(|v| !v.is_null())
        .max_by(|a, b| json_cmp(a, b))
        .unwrap_or_else(|| panic!("no document has {field:?}"))
}

/// The order of cursor values: numbers by value, strings by text (RFC 3339
/// in one offset sorts by time); panics on values of different kinds or of
/// any other kind.
pub fn json_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => panic!("cannot order {a} and {b}"),
    }
}

/// A JSON value as a query parameter carries it: a string's text, else its
/// JSON (a number's digits).
pub fn text_of(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds() {
        let docs = [
            json!({"id": 2, "at": "2025-01-02T00:00:00Z", "n": 10}),
            json!({"id": 1, "at": "2025-01-03T00:00:00Z", "n": 9}),
            json!({"id": 3}),
        ];
        assert_eq!(ids(&docs, "id"), [2, 1, 3]);
        assert_eq!(max_of(&docs, "at"), "2025-01-03T00:00:00Z");
        assert_eq!(max_of(&docs, "n"), 10);
        assert_eq!(text_of(&json!(10)), "10");
        assert_eq!(text_of(&json!("x")), "x");
        let messages = [
            json!({"captured": {"doc": {"id": 1}}}),
            json!({"checkpoint": {}}),
            json!({"captured": {"binding": 1, "doc": {"id": 2}}}),
        ];
        assert_eq!(
            documents(&messages, 2),
            [vec![json!({"id": 1})], vec![json!({"id": 2})]]
        );
        assert_eq!(state_key(&["a", "b"], 2), "a%2Fb.v2");
        let b = json!({"resourcePath": ["s"], "resourceConfig": {"stream": "s"},
                       "recommendedName": "s", "documentSchema": {}, "key": ["/id"]});
        let open = open("x", &json!({}), vec![open_binding(&b, 0)], None);
        assert_eq!(open["open"]["capture"]["bindings"][0]["stateKey"], "s");
        assert_eq!(open["open"]["state"], json!({}));
    }
}
