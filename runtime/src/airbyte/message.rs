//! The serde decoder of Airbyte message lines: every line of the connector's
//! stdout the fast RECORD decoder ([`super::record_line`]) leaves to it, and
//! every line of the short commands (spec, discover, check). It is the
//! reference: it decides what a line means (see [`super`] for the invariant
//! the fast decoder keeps).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// One Airbyte message line, its sub-objects left unparsed.
#[derive(Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    #[serde(borrow, default)]
    pub record: Option<Record<'a>>,
    #[serde(borrow, default)]
    pub state: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub log: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub trace: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub control: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub spec: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub catalog: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        rename = "connectionStatus",
        alias = "connection_status"
    )]
    pub connection_status: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub struct Record<'a> {
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub data: Data<'a>,
}

/// A record's `data`, scanned once: its top-level fields, borrowed from the
/// line. [`Data::raw`] recovers the object's original text from them.
pub struct Data<'a> {
    pub fields: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// `data` is not an object (then [`Data::raw`] is None).
    not_object: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Data<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Data<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Data<'de>, A::Error> {
                let mut fields = Vec::with_capacity(16);
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    fields.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Data {
                    fields,
                    not_object: false,
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Data<'de>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Data::other())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_str<E>(self, _: &str) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
            fn visit_unit<E>(self) -> Result<Data<'de>, E> {
                Ok(Data::other())
            }
        }
        d.deserialize_any(V)
    }
}

/// An object key borrowed from the line when it has no escapes (serde's own
/// `Cow<str>` always allocates).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'a> Data<'a> {
    fn other() -> Self {
        Data {
            fields: Vec::new(),
            not_object: true,
        }
    }

    /// The original text of the `data` object within `line` (the text it was
    /// parsed from), or None when it cannot be located from its fields (not
    /// an object, or a first key with escapes): then re-parse with
    /// [`raw_data`].
    #[inline]
    pub fn raw(&self, line: &'a str) -> Option<&'a str> {
        if self.not_object {
            return None;
        }
        let (Some((Cow::Borrowed(first), _)), Some((_, last))) =
            (self.fields.first(), self.fields.last())
        else {
            return if self.fields.is_empty() {
                Some("{}")
            } else {
                None
            };
        };
        let base = line.as_ptr() as usize;
        let bytes = line.as_bytes();
        // The key's text starts after its opening quote; `{` precedes it, maybe after whitespace.
        let mut start = (first.as_ptr() as usize)
            .checked_sub(base)?
            .checked_sub(1)?;
        loop {
            start = start.checked_sub(1)?;
            match bytes[start] {
                b'{' => break,
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ => return None,
            }
        }
        let mut end = (last.get().as_ptr() as usize - base) + last.get().len();
        loop {
            match bytes.get(end)? {
                b'}' => break,
                b' ' | b'\t' | b'\n' | b'\r' => end += 1,
                _ => return None,
            }
        }
        Some(&line[start..=end])
    }
}

/// The `data` text of a RECORD line, the slow way (see [`Data::raw`]).
pub fn raw_data(line: &str) -> Option<&str> {
    #[derive(Deserialize)]
    struct L<'a> {
        #[serde(borrow)]
        record: R<'a>,
    }
    #[derive(Deserialize)]
    struct R<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    serde_json::from_str::<L>(line)
        .ok()
        .map(|l| l.record.data.get())
}

/// Parse a stdout line into the message and the line's text; a line that is
/// not an Airbyte message is logged as a warning and gives None.
pub fn parse(line: &[u8]) -> Option<(Envelope<'_>, &str)> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return None;
    }
    // Validate UTF-8 once for the whole line, then parse from &str (serde_json
    // then does not validate each borrowed string again).
    let parsed = match std::str::from_utf8(trimmed) {
        Ok(text) => serde_json::from_str::<Envelope>(text).map(|e| (e, text)),
        Err(err) => Err(serde_json::Error::io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            err,
        ))),
    };
    match parsed {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            let text = String::from_utf8_lossy(trimmed);
            let text: String = text.chars().take(2000).collect();
            tracing::warn!(target: "connector", error = %err, "the connector wrote a line that is not an Airbyte message: {text}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_of(line: &str) -> Option<String> {
        let (env, text) = parse(line.as_bytes()).unwrap();
        let rec = env.record.unwrap();
        Some(
            rec.data
                .raw(text)
                .map(str::to_string)
                .unwrap_or_else(|| raw_data(text).unwrap().to_string()),
        )
    }

    #[test]
    fn data_text_is_recovered_byte_for_byte() {
        for (line, data) in [
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":{"id":1,"a":[1,{"b":2}]},"emitted_at":1}}"#,
                r#"{"id":1,"a":[1,{"b":2}]}"#,
            ),
            (
                r#"{"type": "RECORD", "record": {"stream": "s", "data": { "id": 1, "n": "Zo\u00eb" }, "emitted_at": 1}}"#,
                r#"{ "id": 1, "n": "Zo\u00eb" }"#,
            ),
            (
                r#"{"type":"RECORD","record":{"data":{"k\u0065y":1,"x":{}},"stream":"s"}}"#,
                r#"{"k\u0065y":1,"x":{}}"#,
            ),
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":{}}}"#,
                "{}",
            ),
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":[1, 2]}}"#,
                "[1, 2]",
            ),
            (
                r#"{"type":"RECORD","record":{"stream":"s","data":"text"}}"#,
                r#""text""#,
            ),
        ] {
            assert_eq!(data_of(line).unwrap(), data, "{line}");
        }
    }

    #[test]
    fn plain_keys_are_borrowed_so_data_is_found_in_one_parse() {
        let line = r#"{"type":"RECORD","record":{"stream":"s","data":{"id":1,"a":"x"}}}"#;
        let (env, text) = parse(line.as_bytes()).unwrap();
        let rec = env.record.unwrap();
        assert!(matches!(rec.data.fields[0].0, Cow::Borrowed("id")));
        assert_eq!(rec.data.raw(text), Some(r#"{"id":1,"a":"x"}"#));
    }

    #[test]
    fn lines_that_are_not_messages_are_none() {
        assert!(parse(b"Traceback (most recent call last):").is_none());
        assert!(parse(b"   \n").is_none());
        assert!(parse(b"{\"type\":\"LOG\",\"log\":{\"message\":\"\xff\"}}").is_none());
    }
}
