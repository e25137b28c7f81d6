//! The fast decoder of RECORD lines, the bulk of a capture's input.
//!
//! A line `{"type":"RECORD","record":{"stream":...,"data":{...},...}}` is
//! scanned once, byte by byte, checking it is JSON on the way
//! ([`crate::scan`]); the record's `data` is handed, where it starts, to a
//! callback that walks it (normalizing as it goes) and says where it ends. Nothing is allocated and no byte is looked at twice.
//!
//! Anything unusual makes it give up ([`Fallback`]), and the line goes to the
//! serde decoder ([`super::parse`]), which decides exactly as before
//! this fast path existed: `type` not first or not `RECORD`, a top-level key
//! other than `type` and `record`, a key seen twice, `stream` or `namespace`
//! with escapes, `data` before `stream` or not an object, anything after the
//! line's object. Measured on the faker replay (`cargo xtask bench`), the
//! serde decoder's derive and `RawValue` scan took a third of the CPU.

use crate::scan::{Fallback, Scanner};

/// What the line said besides its data.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordLine<'a> {
    pub stream: &'a str,
    /// `None` when absent or null.
    pub namespace: Option<&'a str>,
}

/// Scans `text`, one line; calls `data(stream, start)` at the record's
/// `data` object, which must return the object's end.
pub fn scan<'a>(
    text: &'a str,
    mut data: impl FnMut(&'a str, usize) -> Result<usize, Fallback>,
) -> Result<RecordLine<'a>, Fallback> {
    let s = Scanner::new(text.as_bytes());
    let mut i = s.expect(0, b'{')?;
    let (key, j) = member_key(text, &s, i)?;
    if key != "type" {
        return Err(Fallback);
    }
    let (ty, j) = plain_string(text, &s, s.ws(j))?;
    if ty != "RECORD" {
        return Err(Fallback);
    }
    i = s.expect(j, b',')?;
    let (key, j) = member_key(text, &s, i)?;
    if key != "record" {
        return Err(Fallback);
    }
    i = s.ws(j);
    if s.src.get(i) != Some(&b'{') {
        return Err(Fallback);
    }
    // The record's members.
    let mut stream = None;
    let mut namespace: Option<Option<&str>> = None;
    let mut seen_data = false;
    i = s.ws(i + 1);
    if s.src.get(i) != Some(&b'}') {
        loop {
            let (key, j) = member_key(text, &s, i)?;
            let j = s.ws(j);
            i = match key {
                "stream" if stream.is_none() => {
                    let (v, end) = plain_string(text, &s, j)?;
                    stream = Some(v);
                    end
                }
                "namespace" if namespace.is_none() => {
                    if s.src.get(j) == Some(&b'n') {
                        namespace = Some(None);
                        s.skip(j, 1)?
                    } else {
                        let (v, end) = plain_string(text, &s, j)?;
                        namespace = Some(Some(v));
                        end
                    }
                }
                "data" if !seen_data && s.src.get(j) == Some(&b'{') => {
                    seen_data = true;
                    data(stream.ok_or(Fallback)?, j)?
                }
                "stream" | "namespace" | "data" => return Err(Fallback),
                _ => s.skip(j, 2)?,
            };
            i = s.ws(i);
            match s.src.get(i) {
                Some(b',') => i = s.ws(i + 1),
                Some(b'}') => break,
                _ => return Err(Fallback),
            }
        }
    }
    i = s.expect(i + 1, b'}')?;
    if s.ws(i) != text.len() || !seen_data {
        return Err(Fallback);
    }
    Ok(RecordLine {
        stream: stream.ok_or(Fallback)?,
        namespace: namespace.flatten(),
    })
}

/// The key (without escapes) at `i` and the position past its colon.
#[inline]
fn member_key<'a>(text: &'a str, s: &Scanner, i: usize) -> Result<(&'a str, usize), Fallback> {
    let (k, end) = plain_string(text, s, s.ws(i))?;
    Ok((k, s.expect(end, b':')?))
}

/// The string at `i`, which must have no escapes, and its end.
#[inline]
fn plain_string<'a>(text: &'a str, s: &Scanner, i: usize) -> Result<(&'a str, usize), Fallback> {
    if s.src.get(i) != Some(&b'"') {
        return Err(Fallback);
    }
    let (end, escaped) = s.string_end(i)?;
    if escaped {
        return Err(Fallback);
    }
    Ok((text.get(i + 1..end - 1).ok_or(Fallback)?, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream, namespace and data text of a line, or None (Fallback).
    fn decode(line: &str) -> Option<(String, Option<String>, String)> {
        let mut got = None;
        let rec = scan(line, |stream, start| {
            let end = Scanner::new(line.as_bytes()).skip(start, 1)?;
            got = Some((stream.to_string(), line[start..end].to_string()));
            Ok(end)
        })
        .ok()?;
        let (stream, data) = got?;
        assert_eq!(stream, rec.stream);
        Some((stream, rec.namespace.map(str::to_string), data))
    }

    #[test]
    fn canonical_lines() {
        assert_eq!(
            decode(
                r#"{"type":"RECORD","record":{"stream":"users","data":{"id":1,"a":[{"b":"c"}]},"emitted_at":1795509344003}}"#
            ),
            Some(("users".into(), None, r#"{"id":1,"a":[{"b":"c"}]}"#.into()))
        );
        assert_eq!(
            decode(
                "{ \"type\" : \"RECORD\" , \"record\" : { \"namespace\" : \"ns\", \"stream\" : \"s\" , \"data\" : { } , \"meta\": {\"changes\": []} } }\n"
            ),
            Some(("s".into(), Some("ns".into()), "{ }".into()))
        );
        assert_eq!(
            decode(r#"{"type":"RECORD","record":{"stream":"s","namespace":null,"data":{}}}"#),
            Some(("s".into(), None, "{}".into()))
        );
    }

    /// Every line the fast path leaves to serde.
    #[test]
    fn unusual_lines_fall_back() {
        for line in [
            r#"{"record":{"stream":"s","data":{}},"type":"RECORD"}"#,
            r#"{"type":"STATE","state":{}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{}},"log":{}}"#,
            r#"{"type":"RECORD","record":{"data":{},"stream":"s"}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","stream":"t","data":{}}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{},"data":{}}}"#,
            r#"{"type":"RECORD","record":{"stream":"s\u0041","data":{}}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":[1]}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","namespace":1,"data":{}}}"#,
            r#"{"type":"RECORD","record":{"stream":"s"}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{}}} x"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":01}}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{"a":1,}}}"#,
            r#"{"type":"RECORD","record":null}"#,
            r#"{"type":"RECORD","record":{"stream":"s","data":{}}"#,
        ] {
            assert_eq!(decode(line), None, "{line}");
        }
    }
}
