//! Intercom's search endpoints (`POST /contacts/search`,
//! `POST /conversations/search`), as documented at
//! https://developers.intercom.com/docs/references/rest-api/api.intercom.io/contacts/searchcontacts
//! and .../pagination-sorting-search: the request body carries
//!
//! ```json
//! {"query": {"operator": "OR", "value": [{"field": "updated_at", "operator": ">", "value": 1735689600},
//!                                         {"field": "updated_at", "operator": "=", "value": 1735689600}]},
//!  "sort": {"field": "updated_at", "order": "ascending"},
//!  "pagination": {"per_page": 150, "starting_after": "WzE3MzU2ODk2MDAsIjY2...IiwyXQ=="}}
//! ```
//!
//! and the answer is `{"type": "list", "<records_key>": [...], "total_count": N,
//! "pages": {"type": "pages", "page": p, "per_page": n, "total_pages": t,
//! "next": {"page": p + 1, "starting_after": "<cursor>"}}}`, `next` only while
//! more remain. The cursor is opaque to clients; like Intercom's it is base64
//! of `[<sort value>, "<id of the page's last record>", <next page>]`, and the
//! next page starts after that record.
//!
//! Also Intercom's scroll (`GET /companies/scroll`, .../scroll-over-all-companies):
//! `per_page`, then the `scroll_param` of each answer sent back, until an
//! answer has no records; an unknown `scroll_param` gets 404 (an expired scroll).

use crate::routes::{Answer, Recorded};
use base64::Engine;
use serde_json::{json, Value};
use std::cmp::Ordering;

/// The body of a search answer over `records`, or the message of a 400.
pub(crate) fn answer(
    rec: &Recorded,
    mut records: Vec<Value>,
    records_key: &str,
    default_size: usize,
) -> Result<Value, String> {
    if let Some(query) = rec.body_at("/query") {
        let mut kept = Vec::with_capacity(records.len());
        for r in records {
            if matches(query, &r)? {
                kept.push(r);
            }
        }
        records = kept;
    }
    let sort_field = match rec.body_at("/sort") {
        Some(sort) => {
            let field = sort["field"]
                .as_str()
                .ok_or_else(|| format!("sort {sort} has no string \"field\""))?
                .to_string();
            let descending = match sort["order"].as_str().unwrap_or("ascending") {
                "ascending" => false,
                "descending" => true,
                o => return Err(format!("sort order \"{o}\" is not ascending or descending")),
            };
            records.sort_by(|a, b| {
                let o = order(&a[&field], &b[&field]);
                if descending {
                    o.reverse()
                } else {
                    o
                }
            });
            field
        }
        None => "created_at".to_string(),
    };
    let n = match rec.body_at("/pagination/per_page") {
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=150).contains(n))
            .ok_or_else(|| format!("pagination.per_page {v} is not an integer from 1 to 150"))?
            as usize,
        None => default_size,
    };
    let (start, page) = match rec.body_at("/pagination/starting_after") {
        None | Some(Value::Null) => (0, 1),
        Some(Value::String(s)) if s.is_empty() => (0, 1),
        Some(cursor) => {
            let (id, page) = decode(cursor).ok_or_else(|| {
                format!("pagination.starting_after {cursor} is not a cursor this API gave")
            })?;
            let at = records.iter().position(|r| r["id"] == id).ok_or_else(|| {
                format!("pagination.starting_after names record {id}, which no longer matches")
            })?;
            (at + 1, page)
        }
    };
    let end = (start + n).min(records.len());
    let total_pages = records.len().div_ceil(n).max(1);
    let mut pages =
        json!({"type": "pages", "page": page, "per_page": n, "total_pages": total_pages});
    if end < records.len() {
        let last = &records[end - 1];
        let cursor = json!([last[&sort_field], last["id"], page + 1]).to_string();
        pages["next"] = json!({
            "page": page + 1,
            "starting_after": base64::engine::general_purpose::STANDARD.encode(cursor),
        });
    }
    Ok(json!({
        "type": "list",
        records_key: records[start..end],
        "total_count": records.len(),
        "pages": pages,
    }))
}

/// `(id, page)` of a cursor made by [`answer`].
fn decode(cursor: &Value) -> Option<(Value, u64)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor.as_str()?)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some((v.get(1)?.clone(), v.get(2)?.as_u64()?))
}

/// Whether `record` matches an Intercom query: `{"field", "operator",
/// "value"}` or `{"operator": "AND" | "OR", "value": [queries]}`.
fn matches(query: &Value, record: &Value) -> Result<bool, String> {
    let op = query["operator"]
        .as_str()
        .ok_or_else(|| format!("query {query} has no string \"operator\""))?;
    if op == "AND" || op == "OR" {
        let parts = query["value"]
            .as_array()
            .ok_or_else(|| format!("{op} query {query} needs a list \"value\""))?;
        let mut any = false;
        let mut all = true;
        for p in parts {
            let m = matches(p, record)?;
            any |= m;
            all &= m;
        }
        return Ok(if op == "AND" { all } else { any });
    }
    let field = query["field"]
        .as_str()
        .ok_or_else(|| format!("query {query} has no string \"field\""))?;
    let got = record.pointer(&format!("/{}", field.replace('.', "/")));
    let got = got.unwrap_or(&Value::Null);
    let want = &query["value"];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    Ok(match op {
        "=" => order(got, want) == Ordering::Equal,
        "!=" => order(got, want) != Ordering::Equal,
        ">" => !got.is_null() && order(got, want) == Ordering::Greater,
        "<" => !got.is_null() && order(got, want) == Ordering::Less,
        "IN" | "NIN" => {
            let list = want
                .as_array()
                .ok_or_else(|| format!("{op} query {query} needs a list \"value\""))?;
            list.iter().any(|w| order(got, w) == Ordering::Equal) == (op == "IN")
        }
        "~" => text(got).contains(&text(want)),
        "!~" => !text(got).contains(&text(want)),
        "^" => text(got).starts_with(&text(want)),
        "$" => text(got).ends_with(&text(want)),
        _ => return Err(format!("query operator \"{op}\" is not one of Intercom's")),
    })
}

/// Orders two JSON values: as numbers when both are (or parse as) numbers,
/// else as strings; null first.
fn order(a: &Value, b: &Value) -> Ordering {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => {
                let s = |v: &Value| match v {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                s(a).cmp(&s(b))
            }
        },
    }
}

/// One page of a scroll over `records`; the `scroll_param` carries the
/// offset of the next page (Intercom's is a UUID naming a server-side scroll).
pub(crate) fn scroll(
    rec: &Recorded,
    records: &[Value],
    size_param: &str,
    default_size: usize,
) -> Answer {
    let n = crate::routes::size(rec, size_param, default_size);
    let start = match rec.param("scroll_param") {
        None => 0,
        Some(p) => match p
            .strip_prefix("9a2c6f1e-0000-4000-8000-")
            .and_then(|o| usize::from_str_radix(o, 16).ok())
        {
            Some(o) if o <= records.len() => o,
            _ => {
                return Answer {
                    status: 404,
                    headers: Vec::new(),
                    raw: None,
                    body: json!({"type": "error.list", "errors": [{"code": "not_found",
                        "message": format!("scroll parameter \"{p}\" not found")}]}),
                }
            }
        },
    };
    let end = (start + n).min(records.len());
    Answer {
        status: 200,
        headers: Vec::new(),
        raw: None,
        body: json!({
            "type": "list",
            "data": records[start..end],
            "pages": null,
            "total_count": null,
            "scroll_param": format!("9a2c6f1e-0000-4000-8000-{end:012x}"),
        }),
    }
}
