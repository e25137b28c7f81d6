//! The hot path: one walk over a record's bytes along the plan.
//!
//! Only the values at the plan's locations are looked at; a member or element
//! with nothing at or below it is skipped (at the top level without even
//! scanning it: the line decoder already found each top-level value). A value
//! that changes is spliced into a copy of the original bytes; every other
//! byte is copied as it came, and a record where nothing changes is not copied
//! at all. What a value becomes is decided by [`super::reference::scalar`],
//! the very function the reference path uses.
//!
//! The walk checks that what it passes over is JSON (`crate::scan`), so a
//! line decoder may hand it a record unchecked, and never panics on any
//! input: where it cannot go on (malformed text, an escaped string it cannot
//! unescape, a property needing a merge of patterns, see [`super::plan`]) it
//! returns [`Fallback`] and the record goes to the reference path.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::Value;

use super::datetime::{date_of_datetime, is_naive, is_strict_rfc3339};
use super::plan::{Child, Declared, Node};
use super::reference::scalar;
use crate::scan::{enter, Fallback, Scanner, Step};
use patches::Normalization;

pub struct Walker<'a> {
    text: &'a str,
    src: &'a [u8],
    scan: Scanner<'a>,
    out: &'a mut Vec<u8>,
    /// `src[..copied]` is in `out` already (when `changed`).
    copied: usize,
    changed: bool,
    /// Containers around the value being walked.
    depth: u32,
}

fn active(n: &Node) -> bool {
    n.datetime || n.has_members() || n.has_elements()
}

impl<'a> Walker<'a> {
    pub fn new(text: &'a str, out: &'a mut Vec<u8>) -> Self {
        Walker {
            text,
            src: text.as_bytes(),
            scan: Scanner::new(text.as_bytes()),
            out,
            copied: 0,
            changed: false,
            depth: 0,
        }
    }

    /// Walks the value starting at `start` within `text` (a whole line, say):
    /// returns its end and whether it changed; when it did, the new value was
    /// appended to `out` (else `out` is untouched: `text[start..end]` is the
    /// value). The value is checked to be JSON on the way (`Scanner`);
    /// `depth`: the containers around it in `text`.
    pub fn value_at(
        text: &'a str,
        start: usize,
        depth: u32,
        out: &'a mut Vec<u8>,
        node: Option<&Node>,
        declared: Option<&Declared>,
    ) -> Result<(usize, bool), Fallback> {
        let mut w = Walker::new(text, out);
        w.copied = start;
        w.depth = depth;
        let end = w.value(start, node, declared)?;
        if w.changed {
            w.out.extend_from_slice(&w.src[w.copied..end]);
        }
        Ok((end, w.changed))
    }

    /// Walks the whole document `text`; true when something changed (the new
    /// document was appended to `out`), false when not (`out` untouched).
    pub fn document(
        mut self,
        node: Option<&Node>,
        declared: Option<&Declared>,
    ) -> Result<bool, Fallback> {
        let i = self.ws(0);
        self.value(i, node, declared)?;
        Ok(self.finish())
    }

    /// Like [`Walker::document`], given the top-level members of `text`
    /// (which must be an object) as the line decoder found them, borrowing
    /// from `text`: members with nothing to do are not scanned.
    pub fn members(
        mut self,
        fields: &[(Cow<'_, str>, &RawValue)],
        node: Option<&Node>,
        declared: Option<&Declared>,
    ) -> Result<bool, Fallback> {
        let base = self.src.as_ptr() as usize;
        for (k, v) in fields {
            let child = match node.map(|n| n.child(k)) {
                None | Some(Child::None) => None,
                Some(Child::One(n)) if active(n) => Some(n),
                Some(Child::One(_)) => None,
                Some(Child::Merge(_)) => return Err(Fallback),
            };
            let d = declared.and_then(|d| d.member(k));
            if child.is_none() && d.is_none() {
                continue;
            }
            let at = (v.get().as_ptr() as usize)
                .checked_sub(base)
                .filter(|at| at + v.get().len() <= self.src.len())
                .ok_or(Fallback)?;
            self.value(at, child, d)?;
        }
        Ok(self.finish())
    }

    fn finish(self) -> bool {
        if self.changed {
            self.out.extend_from_slice(&self.src[self.copied..]);
        }
        self.changed
    }

    fn replace(&mut self, start: usize, end: usize, new: &Value) {
        if !self.changed {
            self.changed = true;
        }
        self.out.extend_from_slice(&self.src[self.copied..start]);
        serde_json::to_writer(&mut *self.out, new).expect("a Value always serializes");
        self.copied = end;
    }

    /// Like [`Walker::replace`] with a string that needs no escapes.
    fn replace_str(&mut self, start: usize, end: usize, plain: &str) {
        self.changed = true;
        self.out.extend_from_slice(&self.src[self.copied..start]);
        self.out.push(b'"');
        self.out.extend_from_slice(plain.as_bytes());
        self.out.push(b'"');
        self.copied = end;
    }

    /// [`Walker::replace_str`] with `naive_utc(naive)`: `T` at byte 10,
    /// `Z` appended.
    fn replace_naive(&mut self, start: usize, end: usize, naive: &str) {
        self.changed = true;
        self.out.extend_from_slice(&self.src[self.copied..start]);
        self.out.push(b'"');
        self.out.extend_from_slice(&naive.as_bytes()[..10]);
        self.out.push(b'T');
        self.out.extend_from_slice(&naive.as_bytes()[11..]);
        self.out.extend_from_slice(b"Z\"");
        self.copied = end;
    }

    fn ws(&self, i: usize) -> usize {
        self.scan.ws(i)
    }

    fn string_end(&self, i: usize) -> Result<(usize, bool), Fallback> {
        self.scan.string_end(i)
    }

    /// The end of the value starting at `i`, checked, not looking into it.
    fn skip(&self, i: usize) -> Step {
        self.scan.skip(i, self.depth)
    }

    /// Walks the value starting at `i` with its plan nodes; returns its end.
    fn value(&mut self, i: usize, node: Option<&Node>, declared: Option<&Declared>) -> Step {
        let action = declared.and_then(|d| d.action);
        let dt = node.filter(|n| n.datetime);
        match self.src.get(i) {
            Some(b'"') => {
                let (end, escaped) = self.string_end(i)?;
                if dt.is_none() && action.is_none() {
                    return Ok(end);
                }
                let s = if escaped {
                    let raw = self.text.get(i..end).ok_or(Fallback)?;
                    serde_json::from_str::<String>(raw).map_err(|_| Fallback)?
                } else {
                    let inner = self.text.get(i + 1..end - 1).ok_or(Fallback)?;
                    if dt.is_none() && action == Some(Normalization::DatetimeToDate) {
                        // A declared `datetime_to_date` alone (faker's
                        // users/created_at): what `scalar` gives, without
                        // building values.
                        if let Some(date) = date_of_datetime(inner) {
                            self.replace_str(i, end, date);
                        }
                        return Ok(end);
                    }
                    if action.is_none() {
                        if is_strict_rfc3339(inner) {
                            // The common case: already RFC 3339, nothing to do.
                            return Ok(end);
                        }
                        if is_naive(inner) {
                            // The next most common: a naive date-time, which
                            // becomes `naive_utc(inner)` (what `scalar` gives
                            // too), written without building values.
                            self.replace_naive(i, end, inner);
                            return Ok(end);
                        }
                    }
                    inner.to_string()
                };
                if let Some(new) = scalar(dt, action, &Value::String(s)) {
                    self.replace(i, end, &new);
                }
                Ok(end)
            }
            Some(b'{') => {
                let members = node.filter(|n| n.has_members());
                let dmembers = declared.filter(|d| d.has_children());
                if members.is_none() && dmembers.is_none() {
                    return self.skip(i);
                }
                self.depth = enter(self.depth)?;
                let end = self.object(i, members, dmembers);
                self.depth -= 1;
                end
            }
            Some(b'[') => {
                let elements = node.filter(|n| n.has_elements());
                let delements = declared.filter(|d| d.has_children());
                if elements.is_none() && delements.is_none() {
                    return self.skip(i);
                }
                self.depth = enter(self.depth)?;
                let end = self.array(i, elements, delements);
                self.depth -= 1;
                end
            }
            Some(b'-' | b'0'..=b'9') => {
                let end = self.scan.number_end(i)?;
                let converts = dt.is_some_and(|n| !n.numbers_allowed);
                if !converts && action.is_none() {
                    return Ok(end);
                }
                let text = self.text.get(i..end).ok_or(Fallback)?;
                let v: Value = serde_json::from_str(text).map_err(|_| Fallback)?;
                if let Some(new) = scalar(dt, action, &v) {
                    self.replace(i, end, &new);
                }
                Ok(end)
            }
            Some(_) => self.skip(i),
            None => Err(Fallback),
        }
    }

    fn object(&mut self, i: usize, node: Option<&Node>, declared: Option<&Declared>) -> Step {
        let mut i = self.ws(i + 1);
        if self.src.get(i) == Some(&b'}') {
            return Ok(i + 1);
        }
        loop {
            if self.src.get(i) != Some(&b'"') {
                return Err(Fallback);
            }
            let (kend, escaped) = self.string_end(i)?;
            let key: Cow<str> = if escaped {
                let raw = self.text.get(i..kend).ok_or(Fallback)?;
                Cow::Owned(serde_json::from_str::<String>(raw).map_err(|_| Fallback)?)
            } else {
                Cow::Borrowed(self.text.get(i + 1..kend - 1).ok_or(Fallback)?)
            };
            i = self.ws(kend);
            if self.src.get(i) != Some(&b':') {
                return Err(Fallback);
            }
            i = self.ws(i + 1);
            let child = match node.map(|n| n.child(&key)) {
                None | Some(Child::None) => None,
                Some(Child::One(n)) if active(n) => Some(n),
                Some(Child::One(_)) => None,
                Some(Child::Merge(_)) => return Err(Fallback),
            };
            let d = declared.and_then(|d| d.member(&key));
            i = if child.is_none() && d.is_none() {
                self.skip(i)?
            } else {
                self.value(i, child, d)?
            };
            i = self.ws(i);
            match self.src.get(i) {
                Some(b',') => i = self.ws(i + 1),
                Some(b'}') => return Ok(i + 1),
                _ => return Err(Fallback),
            }
        }
    }

    fn array(&mut self, i: usize, node: Option<&Node>, declared: Option<&Declared>) -> Step {
        let mut i = self.ws(i + 1);
        if self.src.get(i) == Some(&b']') {
            return Ok(i + 1);
        }
        let mut index = 0;
        loop {
            let child = node.and_then(|n| n.element(index)).filter(|n| active(n));
            let d = declared.and_then(|d| d.element(index));
            i = if child.is_none() && d.is_none() {
                self.skip(i)?
            } else {
                self.value(i, child, d)?
            };
            index += 1;
            i = self.ws(i);
            match self.src.get(i) {
                Some(b',') => i = self.ws(i + 1),
                Some(b']') => return Ok(i + 1),
                _ => return Err(Fallback),
            }
        }
    }
}
