//! Per-record document normalization: the hot path of a capture.
//!
//! A [`DocNormalizer`] is built once per binding when a capture opens, from the
//! binding's write schema (`collection.writeSchema`) and the stream's declared
//! normalizations (`<stream>.normalize.json`). Building walks the schema once
//! and keeps only a small tree of the document locations that hold a
//! `format: date-time` value; applying it to a record walks that tree along the
//! record, so no schema is looked at per record.
//!
//! Locations found: `properties` (nested objects), `additionalProperties`
//! (every property not listed), `items` (every element, object form) and tuple
//! `items`/`prefixItems` (by index), `anyOf`/`oneOf`/`allOf` and
//! `if`/`then`/`else` branches (merged into the same location), and local
//! `$ref`s (`#/...`, `#/$defs/x`, `#/definitions/x`, a bare `$defs` name),
//! each ref expanded at most twice along a path so recursive schemas end. `type` arrays
//! with `"null"` need nothing special: `null` values are left alone.
//!
//! At a date-time location ([`normalize_datetime`]):
//! - a string that already is strict RFC 3339 ([`is_strict_rfc3339`]) is left
//!   byte for byte;
//! - other date-time strings become RFC 3339 in UTC (`Z`): naive date-times
//!   (`T`, `t` or space separator, seconds optional, fraction digits kept as
//!   given), offsets such as `+0000`, `+00:00`, `-05`, `Z`/`UTC`/`GMT`
//!   converted to UTC, a date alone becomes midnight, RFC 2822 dates, and
//!   digit-only strings of 9 or more digits are read as unix timestamps;
//! - numbers are unix timestamps: seconds, or milliseconds above 32503680000
//!   (year 3000 in seconds), fractions kept (`1685098188.123` ->
//!   `2023-05-26T10:49:48.123Z`); but a number is left alone where the schema
//!   also allows `integer` or `number` there (it is valid as it is);
//! - anything else (`hello`, booleans, objects, out-of-range dates) is left
//!   unchanged, for the schema check to report.
//!
//! Declared normalizations run after the automatic ones, at their pointers
//! (a pointer that does not resolve is skipped): `datetime_to_date` keeps the
//! leading `YYYY-MM-DD` of a string that is not already a date.

use patches::{Normalization, Normalize};
use serde_json::Value;

/// Seconds above this are taken as milliseconds (1 January 3000 in seconds).
pub const UNIX_SECONDS_MAX: i64 = 32503680000;

/// Normalizes the documents of one binding. Built once per binding at open.
#[derive(Debug, Clone, Default)]
pub struct DocNormalizer {
    root: Node,
    declared: Vec<(String, Normalization)>,
}

/// One document location with date-time values at or below it.
#[derive(Debug, Clone, Default)]
struct Node {
    /// Values here are date-times.
    datetime: bool,
    /// Some schema here allows `integer`/`number`: numbers are valid as they are.
    numbers_allowed: bool,
    props: Vec<(String, Node)>,
    other_props: Option<Box<Node>>,
    items: Option<Box<Node>>,
    tuple: Vec<(usize, Node)>,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.datetime
            && self.other_props.is_none()
            && self.items.is_none()
            && self.tuple.is_empty()
            && self.props.iter().all(|(_, n)| n.is_empty())
    }

    /// Drops every location without date-times at or below it; returns
    /// whether any is left. Listed properties stay (empty) when
    /// `additionalProperties` has date-times, as they are not "additional".
    fn prune(&mut self) -> bool {
        let mut work = self.datetime;
        for slot in [&mut self.other_props, &mut self.items] {
            if let Some(n) = slot {
                if n.prune() {
                    work = true;
                } else {
                    *slot = None;
                }
            }
        }
        self.tuple.retain_mut(|(_, n)| n.prune());
        work |= !self.tuple.is_empty();
        let keep_all = self.other_props.is_some();
        self.props.retain_mut(|(_, n)| {
            if n.prune() {
                true
            } else {
                *n = Node::default();
                keep_all
            }
        });
        work || self.props.iter().any(|(_, n)| !n.is_empty())
    }

    fn prop(&mut self, name: &str) -> &mut Node {
        let i = match self.props.iter().position(|(k, _)| k == name) {
            Some(i) => i,
            None => {
                self.props.push((name.to_string(), Node::default()));
                self.props.len() - 1
            }
        };
        &mut self.props[i].1
    }

    fn index(&mut self, idx: usize) -> &mut Node {
        let i = match self.tuple.iter().position(|(k, _)| *k == idx) {
            Some(i) => i,
            None => {
                self.tuple.push((idx, Node::default()));
                self.tuple.len() - 1
            }
        };
        &mut self.tuple[i].1
    }

    fn build(&mut self, schema: &Value, root: &Value, refs: &mut Vec<String>) {
        let Value::Object(map) = schema else {
            return;
        };
        if let Some(Value::String(reference)) = map.get("$ref") {
            // Each ref is expanded at most twice along a path, so recursive
            // schemas end.
            if refs.iter().filter(|r| *r == reference).count() < 2 {
                if let Some(target) = resolve_ref(root, reference) {
                    refs.push(reference.clone());
                    self.build(target, root, refs);
                    refs.pop();
                }
            }
        }
        if let Some(Value::String(f)) = map.get("format") {
            if f == "date-time" || f == "datetime" {
                self.datetime = true;
            }
        }
        match map.get("type") {
            Some(Value::String(t)) if t == "integer" || t == "number" => {
                self.numbers_allowed = true
            }
            Some(Value::Array(ts)) if ts.iter().any(|t| t == "integer" || t == "number") => {
                self.numbers_allowed = true
            }
            _ => {}
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            for (k, sub) in props {
                self.prop(k).build(sub, root, refs);
            }
        }
        if let Some(sub @ Value::Object(_)) = map.get("additionalProperties") {
            self.other_props
                .get_or_insert_with(Default::default)
                .build(sub, root, refs);
        }
        match map.get("items") {
            Some(sub @ Value::Object(_)) => self
                .items
                .get_or_insert_with(Default::default)
                .build(sub, root, refs),
            Some(Value::Array(subs)) => {
                for (i, sub) in subs.iter().enumerate() {
                    self.index(i).build(sub, root, refs);
                }
            }
            _ => {}
        }
        if let Some(Value::Array(subs)) = map.get("prefixItems") {
            for (i, sub) in subs.iter().enumerate() {
                self.index(i).build(sub, root, refs);
            }
        }
        for kw in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(subs)) = map.get(kw) {
                for sub in subs {
                    self.build(sub, root, refs);
                }
            }
        }
        for kw in ["then", "else"] {
            if let Some(sub) = map.get(kw) {
                self.build(sub, root, refs);
            }
        }
    }

    fn apply(&self, v: &mut Value) -> bool {
        let mut changed = false;
        if self.datetime && !(self.numbers_allowed && v.is_number()) {
            if let Some(s) = normalize_datetime(v) {
                *v = Value::String(s);
                changed = true;
            }
        }
        match v {
            Value::Object(map) => {
                if map.len() <= 32 {
                    // Comparing a few short keys beats hashing them.
                    for (k, cv) in map.iter_mut() {
                        if let Some((_, child)) = self.props.iter().find(|(pk, _)| pk == k) {
                            changed |= child.apply(cv);
                        }
                    }
                } else {
                    for (k, child) in &self.props {
                        if let Some(cv) = map.get_mut(k) {
                            changed |= child.apply(cv);
                        }
                    }
                }
                if let Some(other) = &self.other_props {
                    for (k, cv) in map.iter_mut() {
                        if !self.props.iter().any(|(pk, _)| pk == k) {
                            changed |= other.apply(cv);
                        }
                    }
                }
            }
            Value::Array(arr) => {
                if let Some(items) = &self.items {
                    for cv in arr.iter_mut() {
                        changed |= items.apply(cv);
                    }
                }
                for (i, child) in &self.tuple {
                    if let Some(cv) = arr.get_mut(*i) {
                        changed |= child.apply(cv);
                    }
                }
            }
            _ => {}
        }
        changed
    }
}

/// Resolves a local `$ref` against the root schema.
fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    if let Some(ptr) = reference.strip_prefix('#') {
        root.pointer(ptr)
    } else if !reference.contains(['/', ':', '#']) {
        root.get("$defs")?.get(reference)
    } else {
        None
    }
}

impl DocNormalizer {
    /// Builds the normalizer of one binding from its write schema and the
    /// stream's declared normalizations. Walks the schema once.
    pub fn new(write_schema: &Value, declared: &[Normalize]) -> Self {
        let mut root = Node::default();
        root.build(write_schema, write_schema, &mut Vec::new());
        root.prune();
        DocNormalizer {
            root,
            declared: declared
                .iter()
                .map(|n| (n.pointer.to_string(), n.normalization))
                .collect(),
        }
    }

    /// Whether there is nothing to do for this binding (documents can be
    /// passed on as they came).
    pub fn is_noop(&self) -> bool {
        self.root.is_empty() && self.declared.is_empty()
    }

    /// Normalizes one document in place; true when it changed.
    pub fn apply(&self, doc: &mut Value) -> bool {
        let mut changed = self.root.apply(doc);
        for (ptr, n) in &self.declared {
            let Some(v) = doc.pointer_mut(ptr) else {
                continue;
            };
            match n {
                Normalization::DatetimeToDate => {
                    if let Some(d) = v.as_str().and_then(datetime_to_date) {
                        *v = Value::String(d);
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

/// `datetime_to_date`: the leading `YYYY-MM-DD` of a string that starts with
/// one and is not only that; `None` otherwise (nothing to change).
pub fn datetime_to_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() <= 10 || !is_date_prefix(b) {
        return None;
    }
    Some(s[..10].to_string())
}

fn is_date_prefix(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// Whether year-month-day is a real calendar date.
fn is_date(year: u32, month: u32, day: u32) -> bool {
    chrono::NaiveDate::from_ymd_opt(year as i32, month, day).is_some()
}

/// Whether `s` is a strict RFC 3339 date-time:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, with an upper-case `T`
/// and `Z`, a real calendar date, hours 00-23, minutes and seconds 00-59.
/// Stricter than RFC 3339 itself (no lower case, no leap second), so that
/// anything it accepts every validator accepts.
pub fn is_strict_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !is_date_prefix(b) || b[10] != b'T' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10]))
    else {
        return false;
    };
    if !is_date(year, month, day) {
        return false;
    }
    if b[13] != b':' || b[16] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(sec)) =
        (digits(&b[11..13]), digits(&b[14..16]), digits(&b[17..19]))
    else {
        return false;
    };
    if h > 23 || m > 59 || sec > 59 {
        return false;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &rest[1 + n..];
    }
    match rest {
        [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            matches!((digits(&[*h1, *h2]), digits(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

/// The RFC 3339 UTC form of a date-time value that is not strict RFC 3339
/// already, or `None` to leave the value unchanged (already strict, not a
/// date-time, or not a string or number). See the module docs for the forms.
pub fn normalize_datetime(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            if is_strict_rfc3339(s) {
                return None;
            }
            let t = s.trim();
            parse_loose(t)
                .or_else(|| timestamp_string(t))
                .or_else(|| rfc2822(t))
        }
        Value::Number(n) => from_decimal(&n.to_string()).or_else(|| {
            let f = n.as_f64()?;
            from_nanos(float_nanos(f)?)
        }),
        _ => None,
    }
}

/// A date-time as the formats of the module docs, in UTC.
fn parse_loose(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if !is_date_prefix(b) {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if !is_date(year, month, day) {
        return None;
    }
    let date = &s[..10];
    let mut rest = &b[10..];
    if rest.is_empty() {
        return Some(format!("{date}T00:00:00Z"));
    }
    if !matches!(rest[0], b'T' | b't' | b' ') {
        return None;
    }
    rest = &rest[1..];
    // HH:MM[:SS[.fraction]]
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let (h, m) = (digits(&rest[0..2])?, digits(&rest[3..5])?);
    rest = &rest[5..];
    let mut sec = 0;
    if rest.first() == Some(&b':') {
        sec = digits(rest.get(1..3)?)?;
        rest = &rest[3..];
    }
    let mut fraction = "";
    if matches!(rest.first(), Some(b'.' | b',')) {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        // Safe: ASCII digits.
        fraction = std::str::from_utf8(&rest[1..1 + n]).ok()?;
        rest = &rest[1 + n..];
    }
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    while rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    // Offset east of UTC, in minutes.
    let offset: i64 = match rest {
        [] | [b'Z'] | [b'z'] | [b'U', b'T', b'C'] | [b'G', b'M', b'T'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (oh, om) = match tail {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] | [h1, h2, b':', m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let minutes = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    if offset == 0 {
        // The common case (naive or UTC): no calendar arithmetic needed.
        let mut out = String::with_capacity(21 + fraction.len());
        out.push_str(date);
        out.push('T');
        push2(&mut out, h);
        out.push(':');
        push2(&mut out, m);
        out.push(':');
        push2(&mut out, sec);
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        out.push('Z');
        return Some(out);
    }
    let frac = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    let naive = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_opt(h, m, sec)?;
    let utc = naive.checked_sub_signed(chrono::TimeDelta::try_minutes(offset)?)?;
    use chrono::Datelike;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    Some(format!("{}{frac}Z", utc.format("%Y-%m-%dT%H:%M:%S")))
}

fn push2(out: &mut String, n: u32) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// A digit-only string (9+ integer digits, optional fraction) read as a unix timestamp.
fn timestamp_string(s: &str) -> Option<String> {
    let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if int_len < 9 {
        return None;
    }
    from_decimal(s)
}

fn rfc2822(s: &str) -> Option<String> {
    let dt = chrono::DateTime::parse_from_rfc2822(s).ok()?.to_utc();
    from_nanos(i128::from(dt.timestamp()) * 1_000_000_000 + i128::from(dt.timestamp_subsec_nanos()))
}

/// A unix timestamp written as a decimal number (`-?digits[.digits]`), seconds
/// or, above [`UNIX_SECONDS_MAX`], milliseconds.
fn from_decimal(text: &str) -> Option<String> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty()
        || int.len() > 20
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int: i128 = int.parse().ok()?;
    // The fraction as nanoseconds of the unit (digits past the ninth dropped).
    let mut frac_ns: i128 = 0;
    for i in 0..9 {
        frac_ns = frac_ns * 10 + frac.as_bytes().get(i).map_or(0, |d| i128::from(d - b'0'));
    }
    let mut ns = if int > i128::from(UNIX_SECONDS_MAX) {
        int * 1_000_000 + frac_ns / 1000
    } else {
        int * 1_000_000_000 + frac_ns
    };
    if neg {
        ns = -ns;
    }
    from_nanos(ns)
}

fn float_nanos(f: f64) -> Option<i128> {
    if !f.is_finite() {
        return None;
    }
    let secs = if f.abs() > UNIX_SECONDS_MAX as f64 {
        f / 1000.0
    } else {
        f
    };
    let ns = (secs * 1e9).round();
    if ns.abs() > 1e30 {
        return None;
    }
    Some(ns as i128)
}

/// RFC 3339 UTC of a unix time in nanoseconds, fraction trimmed of trailing
/// zeros (none when whole); `None` outside years 0000-9999.
fn from_nanos(ns: i128) -> Option<String> {
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let sub = ns.rem_euclid(1_000_000_000) as u32;
    let dt = chrono::DateTime::from_timestamp(secs, sub)?;
    use chrono::Datelike;
    if !(0..=9999).contains(&dt.year()) {
        return None;
    }
    let mut out = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if sub != 0 {
        let f = format!("{sub:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Option<String> {
        normalize_datetime(&v)
    }

    // One test per row of MISSION.md "Date-time values seen from real connectors".
    #[test]
    fn space_separator() {
        assert_eq!(
            norm(json!("2023-01-30 02:34:15")).as_deref(),
            Some("2023-01-30T02:34:15Z")
        );
    }

    #[test]
    fn salesforce_offset_without_colon_and_millis() {
        assert_eq!(
            norm(json!("2020-03-25T21:03:18.000+0000")).as_deref(),
            Some("2020-03-25T21:03:18.000Z")
        );
    }

    #[test]
    fn instagram_offset_without_colon() {
        assert_eq!(
            norm(json!("2019-03-18T16:40:23+0000")).as_deref(),
            Some("2019-03-18T16:40:23Z")
        );
    }

    #[test]
    fn naive() {
        assert_eq!(
            norm(json!("2021-03-02T23:00:00")).as_deref(),
            Some("2021-03-02T23:00:00Z")
        );
    }

    #[test]
    fn naive_microseconds_of_faker() {
        assert_eq!(
            norm(json!("2012-04-10T00:14:07.596313")).as_deref(),
            Some("2012-04-10T00:14:07.596313Z")
        );
    }

    #[test]
    fn date_only_is_midnight() {
        assert_eq!(
            norm(json!("2023-01-30")).as_deref(),
            Some("2023-01-30T00:00:00Z")
        );
    }

    #[test]
    fn unix_seconds() {
        assert_eq!(
            norm(json!(1685098188)).as_deref(),
            Some("2023-05-26T10:49:48Z")
        );
    }

    #[test]
    fn unix_milliseconds() {
        assert_eq!(
            norm(json!(1685098188123_i64)).as_deref(),
            Some("2023-05-26T10:49:48.123Z")
        );
        // The boundary: year 3000 in seconds is still seconds, one more is milliseconds.
        assert_eq!(
            norm(json!(32503680000_i64)).as_deref(),
            Some("3000-01-01T00:00:00Z")
        );
        assert_eq!(
            norm(json!(32503680001_i64)).as_deref(),
            Some("1971-01-12T04:48:00.001Z")
        );
    }

    #[test]
    fn fractional_seconds() {
        assert_eq!(
            norm(json!(1685098188.123)).as_deref(),
            Some("2023-05-26T10:49:48.123Z")
        );
    }

    #[test]
    fn already_rfc3339_is_unchanged() {
        assert_eq!(norm(json!("2021-01-13T10:25:46.123456+00:00")), None);
        assert_eq!(norm(json!("2021-01-13T10:25:46Z")), None);
        assert_eq!(norm(json!("2021-01-13T10:25:46-07:00")), None);
    }

    #[test]
    fn not_a_date_is_unchanged() {
        for v in [
            json!("hello"),
            json!(""),
            json!(true),
            json!(null),
            json!({"a": 1}),
            json!("2023-13-01"),
            json!("2023-02-29"),
            json!("2023-01-30T25:00:00"),
            json!("12345"),
        ] {
            assert_eq!(norm(v.clone()), None, "{v}");
        }
    }

    #[test]
    fn other_offsets_and_forms() {
        let cases = [
            ("2021-03-02T23:00:00+0100", "2021-03-02T22:00:00Z"),
            ("2021-03-02T23:30:00.25-0530", "2021-03-03T05:00:00.25Z"),
            ("2021-03-02 23:00:00 UTC", "2021-03-02T23:00:00Z"),
            ("2021-03-02t23:00:00z", "2021-03-02T23:00:00Z"),
            ("2021-03-02T23:00", "2021-03-02T23:00:00Z"),
            ("2021-03-02T23:00:00+02", "2021-03-02T21:00:00Z"),
            ("2021-12-31T23:00:00-0200", "2022-01-01T01:00:00Z"),
            ("Fri, 26 May 2023 10:49:48 +0000", "2023-05-26T10:49:48Z"),
            ("1685098188", "2023-05-26T10:49:48Z"),
            (" 2023-01-30 ", "2023-01-30T00:00:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(json!(input)).as_deref(), Some(want), "{input}");
        }
        assert_eq!(norm(json!(-1.5)).as_deref(), Some("1969-12-31T23:59:58.5Z"));
        assert_eq!(norm(json!(1e300)), None);
    }

    #[test]
    fn strict_check() {
        for ok in [
            "2021-01-13T10:25:46Z",
            "2020-02-29T00:00:00.1+23:59",
            "0001-01-01T00:00:00-00:00",
        ] {
            assert!(is_strict_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2021-01-13 10:25:46Z",
            "2021-01-13t10:25:46Z",
            "2021-01-13T10:25:46z",
            "2021-01-13T10:25:46",
            "2021-01-13T10:25:46+0000",
            "2021-02-29T10:25:46Z",
            "2021-01-13T24:00:00Z",
            "2021-01-13T10:25:60Z",
            "2021-01-13T10:25:46.Z",
            "2021-01-13T10:25:46+24:00",
            "2021-01-13",
            "2021-01-13T10:25:46Zjunk",
        ] {
            assert!(!is_strict_rfc3339(bad), "{bad}");
        }
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "$defs": {"stamp": {"type": ["null", "string"], "format": "date-time"}},
            "properties": {
                "created": {"type": "string", "format": "date-time"},
                "nullable": {"type": ["null", "string"], "format": "date-time"},
                "nested": {"type": ["null", "object"], "properties": {"x": {"type": ["string", "null"], "format": "date-time"}}},
                "arr": {"type": "array", "items": {"type": "object", "properties": {"ms": {"type": "string", "format": "date-time"}}}},
                "stamps": {"type": "array", "items": {"format": "date-time"}},
                "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "string", "format": "date-time"}]},
                "either": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "integer"}]},
                "one": {"oneOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
                "ref": {"$ref": "#/$defs/stamp"},
                "bag": {"type": "object", "properties": {"keep": {"type": "string"}}, "additionalProperties": {"type": "string", "format": "date-time"}},
                "plain": {"type": "string"},
                "date": {"type": "string", "format": "date"}
            }
        })
    }

    #[test]
    fn normalizes_every_kind_of_location() {
        let n = DocNormalizer::new(&schema(), &[]);
        assert!(!n.is_noop());
        let mut doc = json!({
            "created": "2023-01-30 02:34:15",
            "nullable": null,
            "nested": {"x": "2019-03-18T16:40:23+0000"},
            "arr": [{"ms": 1685098188123_i64}, {"ms": "2021-01-13T10:25:46Z"}],
            "stamps": ["2023-01-30", 1685098188],
            "tuple": ["2023-01-30", "2023-01-30"],
            "either": 1685098188,
            "one": "2021-03-02T23:00:00",
            "ref": "2021-03-02",
            "bag": {"keep": "2023-01-30", "a": "2023-01-30"},
            "plain": "2023-01-30 02:34:15",
            "date": "2023-01-30",
            "unknown": "2023-01-30 02:34:15"
        });
        assert!(n.apply(&mut doc));
        assert_eq!(
            doc,
            json!({
                "created": "2023-01-30T02:34:15Z",
                "nullable": null,
                "nested": {"x": "2019-03-18T16:40:23Z"},
                "arr": [{"ms": "2023-05-26T10:49:48.123Z"}, {"ms": "2021-01-13T10:25:46Z"}],
                "stamps": ["2023-01-30T00:00:00Z", "2023-05-26T10:49:48Z"],
                "tuple": ["2023-01-30", "2023-01-30T00:00:00Z"],
                "either": 1685098188,
                "one": "2021-03-02T23:00:00Z",
                "ref": "2021-03-02T00:00:00Z",
                "bag": {"keep": "2023-01-30", "a": "2023-01-30T00:00:00Z"},
                "plain": "2023-01-30 02:34:15",
                "date": "2023-01-30",
                "unknown": "2023-01-30 02:34:15"
            })
        );
        // A second pass changes nothing.
        assert!(!n.apply(&mut doc));
    }

    #[test]
    fn strict_values_stay_byte_for_byte() {
        let n = DocNormalizer::new(&schema(), &[]);
        let text = r#"{"created":"2021-01-13T10:25:46.123456+00:00","nested":{"x":null},"arr":[]}"#;
        let mut doc: Value = serde_json::from_str(text).unwrap();
        assert!(!n.apply(&mut doc));
        assert_eq!(doc.to_string(), text);
    }

    #[test]
    fn schemas_without_date_times_are_noops() {
        let n = DocNormalizer::new(
            &json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"items": {"format": "date"}}}}),
            &[],
        );
        assert!(n.is_noop());
        assert!(DocNormalizer::new(&json!(true), &[]).is_noop());
        let mut doc = json!({"a": "2023-01-30 02:34:15"});
        assert!(!n.apply(&mut doc));
    }

    #[test]
    fn recursive_refs_end() {
        let s = json!({
            "$defs": {"node": {"type": "object", "properties": {
                "at": {"type": "string", "format": "date-time"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
            }}},
            "$ref": "#/$defs/node"
        });
        let n = DocNormalizer::new(&s, &[]);
        let mut doc =
            json!({"at": "2023-01-30", "children": [{"at": "2023-01-31", "children": []}]});
        assert!(n.apply(&mut doc));
        // Two levels of the recursion are expanded, not more.
        assert_eq!(
            doc,
            json!({"at": "2023-01-30T00:00:00Z", "children": [{"at": "2023-01-31T00:00:00Z", "children": []}]})
        );
        let mut deep = json!({"children": [{"children": [{"at": "2023-01-30"}]}]});
        assert!(!n.apply(&mut deep));
    }

    #[test]
    fn declared_datetime_to_date() {
        let declared = [
            Normalize {
                pointer: "/properties/hs_ts",
                normalization: Normalization::DatetimeToDate,
            },
            Normalize {
                pointer: "/missing/x",
                normalization: Normalization::DatetimeToDate,
            },
            Normalize {
                pointer: "/created",
                normalization: Normalization::DatetimeToDate,
            },
        ];
        let n = DocNormalizer::new(&schema(), &declared);
        let mut doc = json!({"properties": {"hs_ts": "2023-03-05T15:41:54.565000+00:00"}, "created": 1685098188});
        assert!(n.apply(&mut doc));
        assert_eq!(
            doc,
            json!({"properties": {"hs_ts": "2023-03-05"}, "created": "2023-05-26"})
        );
        for same in ["2023-03-05", "hello", "2023-3-5T00:00:00"] {
            let mut doc = json!({"properties": {"hs_ts": same}});
            assert!(!n.apply(&mut doc), "{same}");
            assert_eq!(doc["properties"]["hs_ts"], same);
        }
        let only_declared = DocNormalizer::new(&json!({}), &declared[..1]);
        assert!(!only_declared.is_noop());
    }

    /// Every record of every fixture read, normalized with the binding built
    /// from the fixture's own discover, has only valid date-times (with
    /// format validation on), while before normalization some do not.
    #[test]
    fn fixture_reads_have_valid_date_times_after_normalization() {
        let Some(root) = testkit::fixture("fixture_reads_have_valid_date_times", "") else {
            return;
        };
        let dirs = [
            "faker",
            "faker/4.0.0-cdk0.58.7",
            "file/csv-parse-dates",
            "file/csv",
            "file/jsonl",
            "hardcoded-records",
            "smoke-test/custom",
            "smoke-test/default",
            "smoke-test/namespace",
        ];
        let lines = |p: std::path::PathBuf| -> Vec<Value> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        let bad_datetimes = |v: &jsonschema::Validator, doc: &Value| {
            v.iter_errors(doc)
                .filter(|e| e.to_string().contains("\"date-time\""))
                .count()
        };
        let (mut records, mut before, mut changed) = (0, 0, 0);
        for dir in dirs {
            let dir = root.join(dir);
            let mut bindings = std::collections::HashMap::new();
            for m in lines(dir.join("discover.jsonl")) {
                if m["type"] != "CATALOG" {
                    continue;
                }
                for stream in m["catalog"]["streams"].as_array().unwrap() {
                    let b = patches::apply::discovered_binding(
                        stream,
                        &patches::Connector::EMPTY.streams,
                    )
                    .unwrap()
                    .unwrap();
                    let schema = &b["documentSchema"];
                    let validator = jsonschema::options()
                        .should_validate_formats(true)
                        .build(schema)
                        .unwrap();
                    bindings.insert(
                        stream["name"].as_str().unwrap().to_string(),
                        (DocNormalizer::new(schema, &[]), validator),
                    );
                }
            }
            for m in lines(dir.join("read.jsonl")) {
                if m["type"] != "RECORD" {
                    continue;
                }
                let (n, v) = &bindings[m["record"]["stream"].as_str().unwrap()];
                let mut doc = m["record"]["data"].clone();
                records += 1;
                before += bad_datetimes(v, &doc);
                changed += n.apply(&mut doc) as usize;
                assert_eq!(bad_datetimes(v, &doc), 0, "{}: {doc}", dir.display());
            }
        }
        assert!(records > 3000, "{records}");
        assert!(before >= 1000 && changed >= 1000, "{before} {changed}");
    }
}
