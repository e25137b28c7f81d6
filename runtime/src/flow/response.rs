//! Flow's capture responses as this runtime writes them, every one of them
//! framed here: one JSON object a line, following the protobuf JSON mapping
//! (default fields omitted: binding 0's `captured` has no `binding`).
//!
//! `spec`, `discovered`, `validated` are written whole ([`write_response`]);
//! `applied`, `opened` are constant lines; `captured` and `checkpoint`, the
//! capture's output, are framed into a batch's buffer around the document or
//! state, which is copied as the connector wrote it or serialized once.

use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::Error;

/// The response to `apply` (without its newline).
pub const APPLIED: &[u8] = br#"{"applied":{}}"#;

/// The first response of a capture (without its newline).
pub const OPENED: &[u8] = br#"{"opened":{}}"#;

/// The empty merge-patch checkpoint (without its newline) a capture ends
/// with when the connector exited after records without a STATE after
/// them, so that they commit.
pub const SYNTHETIC_CHECKPOINT: &[u8] =
    br#"{"checkpoint":{"state":{"updated":{},"mergePatch":true}}}"#;

/// The start of a `captured` response of binding `binding`, up to its
/// document: `{"captured":{"binding":N,"doc":` (binding 0 omitted,
/// protobuf-JSON style). Built once per binding at open.
pub fn captured_prefix(binding: usize) -> Vec<u8> {
    if binding == 0 {
        br#"{"captured":{"doc":"#.to_vec()
    } else {
        format!(r#"{{"captured":{{"binding":{binding},"doc":"#).into_bytes()
    }
}

/// What follows a `captured` response's document: the end of the line.
pub const CAPTURED_END: &[u8] = b"}}\n";

/// Append the line of a `checkpoint` response to `out`: `updated`, a merge
/// patch when `merge_patch`.
#[inline]
pub fn checkpoint(out: &mut Vec<u8>, updated: &Value, merge_patch: bool) {
    out.extend_from_slice(br#"{"checkpoint":{"state":{"updated":"#);
    serde_json::to_writer(&mut *out, updated).expect("a Value always serializes");
    if merge_patch {
        out.extend_from_slice(br#","mergePatch":true"#);
    }
    out.extend_from_slice(b"}}}\n");
}

/// Write one response line (the bytes of one JSON object, then `\n`).
pub async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, json: &[u8]) -> Result<(), Error> {
    out.write_all(json).await.map_err(Error::stdout)?;
    out.write_all(b"\n").await.map_err(Error::stdout)
}

/// Write `{"<name>": body}` as one line.
pub async fn write_response<W: AsyncWrite + Unpin>(
    out: &mut W,
    name: &str,
    body: &Value,
) -> Result<(), Error> {
    let mut obj = serde_json::Map::with_capacity(1);
    obj.insert(name.to_string(), body.clone());
    let bytes = serde_json::to_vec(&Value::Object(obj)).expect("a Value always serializes");
    write_line(out, &bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn captured_lines_are_protobuf_json() {
        let mut line = captured_prefix(0);
        line.extend_from_slice(br#"{"id":1}"#);
        line.extend_from_slice(CAPTURED_END);
        assert_eq!(line, b"{\"captured\":{\"doc\":{\"id\":1}}}\n");
        let mut line = captured_prefix(2);
        line.extend_from_slice(br#"{"id":1}"#);
        line.extend_from_slice(CAPTURED_END);
        assert_eq!(line, b"{\"captured\":{\"binding\":2,\"doc\":{\"id\":1}}}\n");
    }

    #[test]
    fn checkpoint_lines_are_what_json_gives() {
        for merge_patch in [false, true] {
            let updated = json!({"k": {"cursor": 1}});
            let mut line = Vec::new();
            checkpoint(&mut line, &updated, merge_patch);
            let mut state = json!({"updated": updated});
            if merge_patch {
                state["mergePatch"] = json!(true);
            }
            let want = json!({"checkpoint": {"state": state}}).to_string() + "\n";
            assert_eq!(String::from_utf8(line).unwrap(), want);
        }
        let mut line = Vec::new();
        checkpoint(&mut line, &json!({}), true);
        assert_eq!(line, [SYNTHETIC_CHECKPOINT, b"\n"].concat());
    }
}
