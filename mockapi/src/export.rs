//! Zendesk's incremental exports
//! (developer.zendesk.com, "Incremental Exports"): cursor-based (`after_url`
//! with an opaque `cursor` until `end_of_stream`) and time-based
//! (`next_page` filtering from `end_time`, the page's last record's instant).

use crate::routes::{field_of, url_with, Recorded};
use crate::spec::Filter;
use base64::Engine;
use serde_json::{json, Value};

/// A page's shape: where its records go and how many.
pub(crate) struct Page<'a> {
    pub records_key: &'a str,
    pub size: usize,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The opaque cursor: the first call's filter bound and the next position.
fn encode(bound: &str, offset: usize) -> String {
    B64.encode(format!("{bound}|{offset}"))
}

/// `(bound, offset)` of a cursor this mock gave, none for any other.
pub(crate) fn decode(cursor: &str) -> Option<(String, usize)> {
    let text = String::from_utf8(B64.decode(cursor).ok()?).ok()?;
    let (bound, offset) = text.rsplit_once('|')?;
    Some((bound.to_string(), offset.parse().ok()?))
}

/// A page of the cursor-based export from `offset`; `after_url` is given
/// even at the end (Zendesk's, to poll later).
pub(crate) fn after_url(
    rec: &Recorded,
    records: &[Value],
    page: &Page,
    cursor_param: &str,
    bound: &str,
    offset: usize,
) -> Value {
    let start = offset.min(records.len());
    let end = (start + page.size).min(records.len());
    let cursor = encode(bound, end);
    let mut next = rec.clone();
    next.query.clear();
    json!({
        page.records_key: records[start..end],
        "after_cursor": cursor,
        "after_url": url_with(&next, cursor_param, &cursor),
        "before_cursor": encode(bound, start),
        "before_url": url_with(&next, cursor_param, &encode(bound, start)),
        "end_of_stream": end >= records.len(),
    })
}

/// Unix seconds of a record's instant (a number or RFC 3339).
fn seconds(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp()),
        _ => None,
    }
}

/// A page of the time-based export: the first `size` records (filtered and
/// ordered already); `next_page` filters from the last one's instant.
pub(crate) fn time_export(
    rec: &Recorded,
    records: &[Value],
    page: &Page,
    filter: &Filter,
) -> Value {
    let end = page.size.min(records.len());
    let rows = &records[..end];
    let end_time = rows
        .last()
        .and_then(|r| seconds(field_of(r, &filter.field)))
        .or_else(|| rec.param(&filter.param).and_then(|b| b.parse().ok()))
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    json!({
        page.records_key: rows,
        "count": rows.len(),
        "end_time": end_time,
        "next_page": url_with(rec, &filter.param, &end_time.to_string()),
        "end_of_stream": rows.len() < page.size,
    })
}
