//! A validating JSON scanner over bytes: finds where a value ends and checks
//! it is JSON (RFC 8259's grammar) on the way, without building anything.
//!
//! The hot path needs it twice: the walk (`crate::normalize::walk`) skips
//! every value with nothing to change through [`Scanner::skip`], and the
//! RECORD line decoder (`crate::airbyte::record_line`) finds the line's
//! members with it. serde_json's `IgnoredAny` does the same check but,
//! measured on the faker replay (`cargo xtask bench`), it and the envelope's
//! derived parse took a third of the capture's CPU; this scanner reads
//! strings eight bytes at a time.
//!
//! It errs on the side of [`Fallback`]: whatever it does not accept goes to
//! the slow path (serde_json), which accepts or rejects it with its own
//! error. It accepts what serde_json accepts when it skips a value
//! (`IgnoredAny`, `RawValue`): any `\uXXXX` escape, unpaired surrogates
//! included, numbers of any size, nesting up to [`MAX_DEPTH`] (tested by
//! `fuzz/fuzz_targets/airbyte_lines.rs` and `runtime/tests/hotpath_differential.rs`).

/// The scanner, or a reader built on it, gave up: the value goes to the slow
/// path (serde_json), which accepts or rejects it. For the walk, the record
/// goes to the reference path ([`crate::normalize`]); for the RECORD line
/// decoder, the line goes to the serde decoder (`crate::airbyte`).
#[derive(Debug, PartialEq, Eq)]
pub struct Fallback;

/// Whether `b` ends a run of plain string content: `"`, `\\` or a control
/// character (JSON wants those escaped).
#[inline]
fn is_stop(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// A mask whose lowest set bit is in the first byte of `w` (little endian)
/// that [`is_stop`]; 0 when none is. Bytes above the first may be flagged
/// wrongly (borrows of the subtraction), never the first.
#[inline]
fn stops(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let quote = zero(w ^ (LO * u64::from(b'"')));
    let backslash = zero(w ^ (LO * u64::from(b'\\')));
    let control = w.wrapping_sub(LO * 0x20) & !w & HI;
    quote | backslash | control
}

/// serde_json's recursion limit: deeper documents are its to reject.
pub const MAX_DEPTH: u32 = 128;

pub type Step = Result<usize, Fallback>;

#[derive(Clone, Copy)]
pub struct Scanner<'a> {
    pub src: &'a [u8],
}

impl<'a> Scanner<'a> {
    pub fn new(src: &'a [u8]) -> Self {
        Scanner { src }
    }

    #[inline]
    pub fn ws(&self, mut i: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(i) {
            i += 1;
        }
        i
    }

    /// `i` past the byte `b` at `i` (after whitespace), or [`Fallback`].
    #[inline]
    pub fn expect(&self, i: usize, b: u8) -> Step {
        let i = self.ws(i);
        if self.src.get(i) == Some(&b) {
            Ok(i + 1)
        } else {
            Err(Fallback)
        }
    }

    /// The end (past the closing quote) of the string opening at `i`, and
    /// whether it holds escapes. Checks the escapes and that no control
    /// character is left unescaped.
    #[inline]
    pub fn string_end(&self, i: usize) -> Result<(usize, bool), Fallback> {
        let s = self.src;
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time (SWAR, safe code): the first `"`, `\\` or
            // control character. Measured on the faker replay: twice as fast
            // as memchr2 on its short strings, and as a table per byte.
            let mut k = j;
            loop {
                let Some(chunk) = s.get(k..k + 8) else {
                    // The last few bytes of the input: one at a time.
                    while k < s.len() && !is_stop(s[k]) {
                        k += 1;
                    }
                    if k == s.len() {
                        return Err(Fallback);
                    }
                    break;
                };
                let m = stops(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
                if m != 0 {
                    k += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                k += 8;
            }
            match s[k] {
                b'"' => return Ok((k + 1, escaped)),
                b'\\' => {}
                _ => return Err(Fallback),
            }
            escaped = true;
            j = match s.get(k + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => k + 2,
                Some(b'u') => {
                    let hex = s.get(k + 2..k + 6).ok_or(Fallback)?;
                    // Any code unit, surrogates unpaired too, as serde_json
                    // when it skips a string (its `ignore_escape`): decoding
                    // is for whoever reads the string.
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(Fallback);
                    }
                    k + 6
                }
                _ => return Err(Fallback),
            };
        }
    }

    /// The end of the number starting at `i`:
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    #[inline]
    pub fn number_end(&self, i: usize) -> Step {
        let s = self.src;
        let digits = |mut j: usize| -> Step {
            let start = j;
            while s.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == start {
                Err(Fallback)
            } else {
                Ok(j)
            }
        };
        let mut j = i;
        if s.get(j) == Some(&b'-') {
            j += 1;
        }
        j = match s.get(j) {
            Some(b'0') => j + 1,
            Some(b'1'..=b'9') => digits(j)?,
            _ => return Err(Fallback),
        };
        if s.get(j) == Some(&b'.') {
            j = digits(j + 1)?;
        }
        if let Some(b'e' | b'E') = s.get(j) {
            j += 1;
            if let Some(b'+' | b'-') = s.get(j) {
                j += 1;
            }
            j = digits(j)?;
        }
        Ok(j)
    }

    /// The end of the value starting at `i` (no whitespace before it),
    /// checked, not looking for anything in it. `depth`: the containers
    /// around it.
    pub fn skip(&self, i: usize, depth: u32) -> Step {
        match self.src.get(i) {
            Some(b'"') => Ok(self.string_end(i)?.0),
            Some(b'{') => {
                let depth = enter(depth)?;
                let mut i = self.ws(i + 1);
                if self.src.get(i) == Some(&b'}') {
                    return Ok(i + 1);
                }
                loop {
                    if self.src.get(i) != Some(&b'"') {
                        return Err(Fallback);
                    }
                    i = self.string_end(i)?.0;
                    i = self.expect(i, b':')?;
                    i = self.ws(i);
                    i = self.skip(i, depth)?;
                    i = self.ws(i);
                    match self.src.get(i) {
                        Some(b',') => i = self.ws(i + 1),
                        Some(b'}') => return Ok(i + 1),
                        _ => return Err(Fallback),
                    }
                }
            }
            Some(b'[') => {
                let depth = enter(depth)?;
                let mut i = self.ws(i + 1);
                if self.src.get(i) == Some(&b']') {
                    return Ok(i + 1);
                }
                loop {
                    i = self.skip(i, depth)?;
                    i = self.ws(i);
                    match self.src.get(i) {
                        Some(b',') => i = self.ws(i + 1),
                        Some(b']') => return Ok(i + 1),
                        _ => return Err(Fallback),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number_end(i),
            Some(b't') => self.literal(i, b"true"),
            Some(b'f') => self.literal(i, b"false"),
            Some(b'n') => self.literal(i, b"null"),
            _ => Err(Fallback),
        }
    }

    fn literal(&self, i: usize, word: &[u8]) -> Step {
        if self.src.get(i..i + word.len()) == Some(word) {
            Ok(i + word.len())
        } else {
            Err(Fallback)
        }
    }
}

/// One container deeper, or [`Fallback`] past [`MAX_DEPTH`].
#[inline]
pub fn enter(depth: u32) -> Result<u32, Fallback> {
    if depth >= MAX_DEPTH {
        Err(Fallback)
    } else {
        Ok(depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(text: &str) -> Option<usize> {
        Scanner::new(text.as_bytes()).skip(0, 0).ok()
    }

    proptest::proptest! {
        /// The eight-byte search finds the first stop byte, as a byte loop.
        #[test]
        fn stops_finds_the_first(bytes in proptest::array::uniform8(proptest::prelude::any::<u8>())) {
            let first = bytes.iter().position(|&b| is_stop(b));
            let m = stops(u64::from_le_bytes(bytes));
            let got = (m != 0).then(|| (m.trailing_zeros() / 8) as usize);
            proptest::prop_assert_eq!(got, first);
        }

        /// Strings of any content and length end where serde_json says.
        #[test]
        fn strings_end_where_serde_says(text in "\"[^\"]{0,40}\"( ,)?") {
            let ours = Scanner::new(text.as_bytes()).skip(0, 0).ok();
            let serde = serde_json::Deserializer::from_str(&text)
                .into_iter::<serde::de::IgnoredAny>()
                .next()
                .and_then(|r| r.ok());
            proptest::prop_assert_eq!(ours.is_some(), serde.is_some(), "{}", text);
        }
    }

    /// What the scanner accepts serde_json accepts, and ends where it does.
    #[test]
    fn accepts_a_subset_of_serde_json() {
        for text in [
            r#"{"a":[1,-0.5e+3,true,false,null,{"b":"\"\\\/\b\f\n\r\t\u00e9"}],"c":{}}"#,
            r#"[ ]"#,
            r#"{ "a" : 1 , "b" : [ 2 , 3 ] }"#,
            "\"Zo\u{eb} \u{1F600}\"",
            "0",
            "-12.5E-7",
            r#""\ud83d\ude00 \udc00""#,
            "-1.7976931348623177e+308",
        ] {
            assert_eq!(skip(text), Some(text.len()), "{text}");
            serde_json::from_str::<serde::de::IgnoredAny>(text).unwrap();
        }
        for text in [
            "01",
            "-",
            "1.",
            "1e",
            ".5",
            "+1",
            "tru",
            "nul",
            "\"a\u{1}b\"",
            r#""\x""#,
            r#""\u12g4""#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"{1:2}"#,
            r#"[1 2]"#,
            "\"open",
            "{",
        ] {
            assert_ne!(skip(text), Some(text.len()), "{text}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(skip(&deep), None);
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(skip(&ok), Some(200));
    }
}
