//! Value formats: what one date-time value becomes (module docs of
//! [`crate::normalize`] list the forms), and `datetime_to_date`.
//!
//! The strict RFC 3339 check ([`is_strict_rfc3339`]) is a hand-written
//! scanner because it runs on every date-time value of every record (the
//! measured hot path; a test checks it against chrono's RFC 3339 parser). The
//! looser forms, met only on values that must change, go through chrono.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use serde_json::Value;

/// Seconds above this are taken as milliseconds (1 January 3000 in seconds).
pub const UNIX_SECONDS_MAX: i64 = 32503680000;

/// `datetime_to_date`: the leading `YYYY-MM-DD` of a string that starts with
/// one and is not only that; `None` otherwise (nothing to change).
pub fn datetime_to_date(s: &str) -> Option<String> {
    date_of_datetime(s).map(str::to_string)
}

/// [`datetime_to_date`], borrowing.
pub fn date_of_datetime(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() <= 10 || !is_date_prefix(b) {
        return None;
    }
    s.get(..10)
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

/// Whether year-month-day (a four-digit year) is a real calendar date, as
/// chrono's `NaiveDate::from_ymd_opt` says (`is_date_is_chronos` tests it):
/// by hand because it runs on every date-time of every record, where chrono's
/// was 2% of the faker replay's CPU (perf).
#[inline]
fn is_date(year: u32, month: u32, day: u32) -> bool {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Whether `s` is a strict RFC 3339 date-time:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, with an upper-case `T`
/// and `Z`, a real calendar date, hours 00-23, minutes and seconds 00-59.
/// Stricter than RFC 3339 itself (no lower case, no leap second), so that
/// anything it accepts every validator accepts.
pub fn is_strict_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.get(10) != Some(&b'T') {
        return false;
    }
    let Some(end) = date_time_head(b) else {
        return false;
    };
    match &b[end..] {
        [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if *sign == b'+' || *sign == b'-' => {
            matches!((digits(&[*h1, *h2]), digits(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

/// The end of `YYYY-MM-DD?HH:MM:SS[.fraction]` at the start of `b` (any
/// byte at `?`: callers check it): a real calendar date, hours 00-23,
/// minutes and seconds 00-59, at least one fraction digit after a dot.
#[inline]
fn date_time_head(b: &[u8]) -> Option<usize> {
    if b.len() < 19 || !is_date_prefix(b) || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, m, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if h > 23 || m > 59 || sec > 59 || !is_date(year, month, day) {
        return None;
    }
    if b.get(19) == Some(&b'.') {
        let n = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        return Some(20 + n);
    }
    Some(19)
}

/// The most common value that must change, without chrono: a naive
/// date-time `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction]` (no zone, at most nine
/// fraction digits: faker's `created_at`, Zendesk's and MySQL's forms)
/// becomes `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; `None` for anything else
/// ([`parse_loose`] decides those). Taking faker's 100k naive date-times
/// off chrono made the faker row's CPU 0.90x (`cargo xtask bench --compare`,
/// same run). Same result as [`parse_loose`] wherever it gives one
/// (`naive_fast_path_is_parse_loose` tests it).
pub fn naive_utc(s: &str) -> Option<String> {
    if !is_naive(s) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 1);
    out.push_str(&s[..10]);
    out.push('T');
    out.push_str(&s[11..]);
    out.push('Z');
    Some(out)
}

/// Whether [`naive_utc`] rewrites `s`: then it is `s` with `T` at byte 10
/// and `Z` appended (the walk writes that straight into its output, without
/// a `String` per value: callgrind, faker connector on 40k lines under musl,
/// 462M instructions before, 449M after).
#[inline]
pub fn is_naive(s: &str) -> bool {
    let b = s.as_bytes();
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return false;
    }
    date_time_head(b).is_some_and(|end| end == b.len() && end <= 29)
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
            if let Some(out) = naive_utc(s) {
                return Some(out);
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

/// A date-time as the forms of the module docs, in UTC, read by chrono: a
/// date alone, or date, `T`/`t`/space, `HH:MM[:SS[.fraction]]` and an
/// optional zone (`Z`, `UTC`, `GMT`, `+HH`, `+HHMM`, `+HH:MM`). The fraction
/// digits are kept as given (not rounded to chrono's nanoseconds).
fn parse_loose(s: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDate, Timelike};
    let b = s.as_bytes();
    // chrono's %Y takes any number of digits and a sign: insist on four.
    if !is_date_prefix(b) {
        return None;
    }
    // Checked by is_date_prefix: YYYY-MM-DD digits; chrono checks the calendar.
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(digits(&b[0..4])?).ok()?,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?;
    if b.len() == 10 {
        return Some(format!("{}T00:00:00Z", &s[..10]));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let rest = &s[11..];
    let zone_at = rest
        .find(['Z', 'z', '+', '-', ' ', 'U', 'G'])
        .unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let offset = match zone.trim_start_matches(' ') {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        z if z.starts_with(['+', '-']) && z.len() <= 6 => {
            // %#z: `+HH`, `+HHMM` or `+HH:MM`.
            let with = DateTime::parse_from_str(
                &format!("2000-01-01T00:00:00{z}"),
                "%Y-%m-%dT%H:%M:%S%#z",
            )
            .ok()?;
            let secs = with.offset().local_minus_utc();
            if secs.abs() >= 24 * 3600 {
                return None;
            }
            secs
        }
        _ => return None,
    };
    let time: Cow<str> = if time.contains(',') {
        Cow::Owned(time.replace(',', "."))
    } else {
        Cow::Borrowed(time)
    };
    let time = &*time;
    // The formats parsed once (chrono's parse_from_str reads its format
    // string on every call: a tenth of the capture's CPU on the faker replay).
    static HMS_FRACTION: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| {
        StrftimeItems::new("%H:%M:%S%.f")
            .parse_to_owned()
            .expect("a valid format")
    });
    static HM: LazyLock<Vec<Item<'static>>> = LazyLock::new(|| {
        StrftimeItems::new("%H:%M")
            .parse_to_owned()
            .expect("a valid format")
    });
    let parse_time = |items: &[Item<'static>]| {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, time, items.iter()).ok()?;
        parsed.to_naive_time().ok()
    };
    let t = parse_time(&HMS_FRACTION).or_else(|| parse_time(&HM))?;
    // Two digits each (chrono also takes one) and no leap second (`:60`).
    let tb = time.as_bytes();
    let two = |i: usize| {
        tb.get(i..i + 2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let shape = two(0)
        && tb.get(2) == Some(&b':')
        && two(3)
        && (tb.len() == 5 || (tb.get(5) == Some(&b':') && two(6)));
    if !shape || t.nanosecond() >= 1_000_000_000 {
        return None;
    }
    let fraction = time.split_once('.').map_or("", |(_, f)| f);
    let utc = date
        .and_time(t)
        .checked_sub_signed(chrono::TimeDelta::try_seconds(i64::from(offset))?)?;
    use chrono::Datelike;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    let mut out = ymd_hms(&utc);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out.push('Z');
    Some(out)
}

/// `YYYY-MM-DDTHH:MM:SS` of a date-time of years 0000-9999, digit by digit
/// (chrono's `format` reads its format string on every call, and `write!`
/// with padding cost 5% of the faker replay's CPU).
fn ymd_hms(dt: &chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let mut out = Vec::with_capacity(32);
    let year = dt.year().clamp(0, 9999) as u32;
    let two = |out: &mut Vec<u8>, n: u32| {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    two(&mut out, year / 100);
    two(&mut out, year % 100);
    out.push(b'-');
    two(&mut out, dt.month());
    out.push(b'-');
    two(&mut out, dt.day());
    out.push(b'T');
    two(&mut out, dt.hour());
    out.push(b':');
    two(&mut out, dt.minute());
    out.push(b':');
    two(&mut out, dt.second() % 60);
    String::from_utf8(out).expect("ASCII digits")
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
    let mut out = ymd_hms(&dt.naive_utc());
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

    // One test per date-time form seen in real connectors' output (the
    // fixtures of ../shared/fixtures/airbyte and their notes).
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

    /// The hand-written calendar is chrono's, on every four-digit year,
    /// month 0-13 and day 0-32 (4.6 million dates, exhaustively).
    #[test]
    fn is_date_is_chronos() {
        for year in 0u32..=9999 {
            for month in 0u32..=13 {
                for day in 0u32..=32 {
                    assert_eq!(
                        is_date(year, month, day),
                        chrono::NaiveDate::from_ymd_opt(year as i32, month, day).is_some(),
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
    }

    /// What the strict scanner must accept: chrono's RFC 3339 parser's
    /// verdict, narrowed by the scanner's documented extra rules (upper-case
    /// `T` and `Z`, no leap second).
    fn chrono_strict(s: &str) -> bool {
        chrono::DateTime::parse_from_rfc3339(s).is_ok()
            && s.as_bytes().get(10) == Some(&b'T')
            && !s.ends_with('z')
            && s.get(17..19) != Some("60")
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 20_000, ..Default::default() })]

        /// The hand-written formatting is chrono's `%Y-%m-%dT%H:%M:%S`.
        #[test]
        fn ymd_hms_is_chronos_format(secs in -62_167_219_200i64..253_402_300_799i64) {
            let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            proptest::prop_assert_eq!(ymd_hms(&dt), dt.format("%Y-%m-%dT%H:%M:%S").to_string());
        }

        #[test]
        fn strict_scanner_agrees_with_chrono(
            s in "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,12})?(Z|z|[+-][0-2][0-9]:?[0-6][0-9]|[+-][0-9]{2})?",
        ) {
            proptest::prop_assert_eq!(is_strict_rfc3339(&s), chrono_strict(&s), "{}", s);
        }

        #[test]
        fn strict_scanner_agrees_with_chrono_on_any_text(s in "[0-9T:Z+.-]{0,30}") {
            proptest::prop_assert_eq!(is_strict_rfc3339(&s), chrono_strict(&s), "{}", s);
        }

        /// The naive fast path gives what chrono's path gives, and takes
        /// every naive date-time with at most nine fraction digits.
        #[test]
        fn naive_fast_path_is_parse_loose(
            s in "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9](:[0-6][0-9])?([.,][0-9]{0,11})?( ?(Z|z|UTC)|[+-][0-2][0-9](:?[0-6][0-9])?)?",
        ) {
            let fast = naive_utc(&s);
            let slow = parse_loose(&s);
            if fast.is_some() {
                proptest::prop_assert_eq!(&fast, &slow, "{}", s);
            }
            let naive_shape = s.len() >= 19
                && s.as_bytes()[16] == b':'
                && (s.len() == 19 || (s.as_bytes()[19] == b'.' && s.len() > 20 && s.len() <= 29 && s[20..].bytes().all(|c| c.is_ascii_digit())));
            if naive_shape && slow.is_some() {
                proptest::prop_assert!(fast.is_some(), "the fast path declines {}", s);
            }
        }

        /// Whatever the loose forms turn into is strict RFC 3339 (so a second
        /// pass leaves it alone).
        #[test]
        fn loose_results_are_strict(
            s in "[0-9]{4}-[01][0-9]-[0-3][0-9]([Tt ][0-2][0-9]:[0-6][0-9](:[0-6][0-9])?([.,][0-9]{1,9})?( ?(Z|z|UTC|GMT)|[+-][0-2][0-9](:?[0-6][0-9])?)?)?",
        ) {
            if let Some(out) = normalize_datetime(&Value::String(s.clone())) {
                proptest::prop_assert!(is_strict_rfc3339(&out), "{} -> {}", s, out);
                proptest::prop_assert_eq!(normalize_datetime(&Value::String(out.clone())), None);
            }
        }
    }
}
