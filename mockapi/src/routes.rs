//! Answering one request from the mock spec: host, route, auth, scenario
//! switches, filter, order, pagination. Pure state machine, no I/O, so it is
//! tested without sockets.

use crate::spec::{Auth, Loaded, Order, Pagination, Route, Switch};
use base64::Engine;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One request the mock received, as recorded for assertions.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    pub host: String,
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    /// The route that matched, if any.
    pub route: Option<String>,
    /// The status the mock answered.
    pub status: u16,
    /// The request body: JSON when it parses, else a string; none when empty.
    pub body: Option<Value>,
}

impl Recorded {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body's value at JSON `pointer` (e.g. `/pagination/per_page`).
    pub fn body_at(&self, pointer: &str) -> Option<&Value> {
        self.body.as_ref()?.pointer(pointer)
    }
}

/// What the mock answers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// Bytes answered as they are (a `file` route) instead of `body`.
    pub raw: Option<Vec<u8>>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
            raw: None,
        }
    }
}

struct Active {
    scenario: String,
    switch: Switch,
    hits: u64,
    /// Good calls of the switch's route when the scenario was turned on
    /// (`after` counts from there).
    base: u64,
}

/// The mock's state: its spec, the active scenario switches, call counts and
/// the request log.
pub struct Api {
    loaded: Loaded,
    active: Vec<Active>,
    good_calls: BTreeMap<String, u64>,
    pub(crate) log: Vec<Recorded>,
}

impl Api {
    pub fn new(loaded: Loaded) -> Api {
        Api {
            loaded,
            active: Vec::new(),
            good_calls: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    pub fn hosts(&self) -> &[String] {
        &self.loaded.spec.hosts
    }

    /// Turns on the named scenario (its counters start at zero).
    pub fn activate(&mut self, scenario: &str) -> anyhow::Result<()> {
        let Some(switches) = self.loaded.spec.scenarios.get(scenario).cloned() else {
            anyhow::bail!(
                "no mock scenario \"{scenario}\": the spec has {:?}",
                self.loaded.spec.scenarios.keys().collect::<Vec<_>>()
            );
        };
        self.deactivate(scenario);
        for s in switches {
            let base = self.good_calls.get(&s.route).copied().unwrap_or(0);
            self.active.push(Active {
                scenario: scenario.to_string(),
                switch: s.clone(),
                hits: 0,
                base,
            });
        }
        Ok(())
    }

    pub fn deactivate(&mut self, scenario: &str) {
        self.active.retain(|a| a.scenario != scenario);
    }

    /// Answers one request without a body and records it.
    pub fn answer(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
    ) -> Answer {
        self.answer_with_body(method, host, path, query, headers, None)
    }

    /// Answers one request and records it; the spec's `headers` go on every
    /// answer.
    pub fn answer_with_body(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: Option<Value>,
    ) -> Answer {
        let mut rec = Recorded {
            method: method.to_string(),
            host: host.to_string(),
            path: path.to_string(),
            query,
            headers,
            route: None,
            status: 0,
            body,
        };
        let mut answer = self.route(&mut rec);
        for (k, v) in &self.loaded.spec.headers {
            answer.headers.push((k.to_ascii_lowercase(), v.clone()));
        }
        rec.status = answer.status;
        self.log.push(rec);
        answer
    }

    fn route(&mut self, rec: &mut Recorded) -> Answer {
        let spec = &self.loaded.spec;
        let local = rec.host == "127.0.0.1" || rec.host == "localhost";
        if !spec.hosts.is_empty() && !local && !spec.hosts.contains(&rec.host) {
            return Answer::json(
                404,
                json!({"message": format!("mock: host \"{}\" is not one of {:?}", rec.host, spec.hosts)}),
            );
        }
        let Some(route) = spec
            .routes
            .iter()
            .find(|r| {
                r.method.eq_ignore_ascii_case(&rec.method)
                    && path_matches(r, &rec.path)
                    && r.query
                        .iter()
                        .all(|(k, v)| rec.param(k) == Some(v.as_str()))
            })
            .cloned()
        else {
            return Answer::json(
                404,
                json!({"message": format!("mock: no route for {} {}", rec.method, rec.path)}),
            );
        };
        rec.route = Some(route.name.clone());
        if !route.public {
            if let Some(auth) = &spec.auth {
                if !authorized(auth, rec) {
                    let body = spec
                        .unauthorized
                        .clone()
                        .unwrap_or_else(|| json!({"message": "mock: bad credentials"}));
                    return Answer::json(401, body);
                }
            }
        }
        let good = self.good_calls.get(&route.name).copied().unwrap_or(0);
        for a in self.active.iter_mut() {
            let s = &a.switch;
            let Some(status) = s.status else { continue };
            if s.route != route.name
                || s.after.is_some_and(|n| good - a.base < n)
                || s.times.is_some_and(|n| a.hits >= n)
            {
                continue;
            }
            a.hits += 1;
            let mut answer = Answer::json(
                status,
                json!({"message": format!("mock: scenario \"{}\" answers {status}", a.scenario)}),
            );
            if let Some(secs) = s.retry_after {
                answer
                    .headers
                    .push(("retry-after".into(), secs.to_string()));
            }
            return answer;
        }
        *self.good_calls.entry(route.name.clone()).or_default() += 1;
        if let Some(body) = &route.body {
            return Answer::json(200, body.clone());
        }
        if let Some(file) = &route.file {
            let mut answer = Answer::json(200, Value::Null);
            answer.raw = self.loaded.raw.get(file).cloned();
            return answer;
        }
        if let Some(answer) = self.export(&route, rec) {
            return answer;
        }
        let records = self.records(&route, rec);
        if let Some(Pagination::Search {
            records_key,
            default_size,
        }) = &route.pagination
        {
            return match crate::search::answer(rec, records, records_key, *default_size) {
                Ok(body) => Answer::json(200, body),
                Err(message) => Answer::json(
                    400,
                    json!({"type": "error.list", "errors": [{"code": "parameter_invalid", "message": message}]}),
                ),
            };
        }
        paginate(&route, rec, records)
    }

    /// Zendesk's incremental exports ([`crate::export`]): a cursor carries
    /// the filter bound of the first call.
    fn export(&self, route: &Route, rec: &Recorded) -> Option<Answer> {
        match route.pagination.as_ref()? {
            Pagination::AfterUrl {
                records_key,
                cursor_param,
                size_param,
                default_size,
            } => {
                let param = route.filter.as_ref().map(|f| f.param.as_str());
                let (bound, offset) = match rec.param(cursor_param) {
                    Some(c) => match crate::export::decode(c) {
                        Some(decoded) => decoded,
                        None => {
                            return Some(Answer::json(
                                400,
                                json!({"error": "InvalidPaginationParameter",
                                       "description": format!("mock: cursor \"{c}\" is not one this mock gave")}),
                            ))
                        }
                    },
                    None => (
                        param.and_then(|p| rec.param(p)).unwrap_or("").to_string(),
                        0,
                    ),
                };
                let mut view = rec.clone();
                if let Some(p) = param {
                    view.query.retain(|(k, _)| k != p);
                    if !bound.is_empty() {
                        view.query.push((p.to_string(), bound.clone()));
                    }
                }
                let records = self.records(route, &view);
                let page = crate::export::Page {
                    records_key,
                    size: size(rec, size_param, *default_size),
                };
                Some(Answer::json(
                    200,
                    crate::export::after_url(rec, &records, &page, cursor_param, &bound, offset),
                ))
            }
            Pagination::TimeExport {
                records_key,
                size_param,
                default_size,
            } => {
                let Some(filter) = &route.filter else {
                    return Some(Answer::json(
                        500,
                        json!({"message": format!("mock: route \"{}\" has time_export pagination without a filter: add one", route.name)}),
                    ));
                };
                let records = self.records(route, rec);
                let page = crate::export::Page {
                    records_key,
                    size: size(rec, size_param, *default_size),
                };
                Some(Answer::json(
                    200,
                    crate::export::time_export(rec, &records, &page, filter),
                ))
            }
            _ => None,
        }
    }

    /// The route's records (with added data of active scenarios), filtered
    /// and ordered by the filter field.
    fn records(&self, route: &Route, rec: &Recorded) -> Vec<Value> {
        let mut files: Vec<&str> = route.data.as_deref().into_iter().collect();
        for a in &self.active {
            if a.switch.route == route.name {
                files.extend(a.switch.add_data.as_deref());
            }
        }
        let mut out: Vec<Value> = files
            .iter()
            .flat_map(|f| self.loaded.data.get(*f).into_iter().flatten().cloned())
            .collect();
        if let Some(filter) = &route.filter {
            let field = |r: &'_ Value| -> Value { field_of(r, &filter.field).clone() };
            let bound = (!filter.param.is_empty())
                .then(|| rec.param(&filter.param))
                .flatten()
                .and_then(|v| match &filter.prefix {
                    Some(prefix) => v.strip_prefix(prefix.as_str()),
                    None => Some(v),
                });
            if let Some(bound) = bound {
                let keep = |o: Ordering| match filter.exclusive {
                    true => o == Ordering::Greater,
                    false => o != Ordering::Less,
                };
                out.retain(|r| keep(compare(&field(r), bound)));
            }
            if let Some(bound) = filter.until_param.as_ref().and_then(|p| rec.param(p)) {
                out.retain(|r| compare(&field(r), bound) != Ordering::Greater);
            }
            // A stable sort: records at one instant keep their file order.
            out.sort_by(|a, b| {
                let b = match field(b) {
                    Value::String(s) => s,
                    v => v.to_string(),
                };
                let ord = compare(&field(a), &b);
                match filter.order {
                    Order::Asc => ord,
                    Order::Desc => ord.reverse(),
                }
            });
        }
        if let Some(sample) = &route.sample {
            let value =
                path_param(route, &rec.path, &sample.param).or_else(|| rec.param(&sample.param));
            if value.is_some_and(|v| !sample.full.iter().any(|f| f == v)) {
                // The last ones: a grandchild's first parent id (in its own
                // `full`) then comes once, under the first parent only.
                out.drain(..out.len().saturating_sub(sample.records));
            }
        }
        out
    }
}

/// The value of the `{name}` segment of `route.path` in `path`.
fn path_param<'a>(route: &Route, path: &'a str, name: &str) -> Option<&'a str> {
    let want = format!("{{{name}}}");
    route
        .path
        .split('/')
        .zip(path.split('/'))
        .find(|(w, _)| *w == want)
        .map(|(_, g)| g)
}

/// A record's filter field: a top-level name, or a JSON pointer when it
/// starts with `/` (GitHub filters commits on `/commit/committer/date`);
/// null when absent.
pub(crate) fn field_of<'a>(record: &'a Value, field: &str) -> &'a Value {
    if field.starts_with('/') {
        record.pointer(field).unwrap_or(&Value::Null)
    } else {
        &record[field]
    }
}

fn path_matches(route: &Route, path: &str) -> bool {
    let pattern = route.path.as_str();
    if let Some(prefix) = pattern.strip_suffix("/*") {
        return path.starts_with(prefix) && path.len() > prefix.len();
    }
    if !pattern.contains('{') {
        return pattern == path;
    }
    // `{name}` segments: one segment each, among `path_values.name` if listed.
    let (want, got): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), path.split('/').collect());
    want.len() == got.len()
        && want.iter().zip(&got).all(|(w, g)| {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) => {
                    !g.is_empty()
                        && route
                            .path_values
                            .get(name)
                            .is_none_or(|values| values.iter().any(|v| v == g))
                }
                None => w == g,
            }
        })
}

fn authorized(auth: &Auth, rec: &Recorded) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    match auth {
        Auth::Basic { username, password } => {
            let want = format!("Basic {}", b64.encode(format!("{username}:{password}")));
            rec.header("authorization") == Some(want.as_str())
        }
        Auth::Bearer { token } => {
            rec.header("authorization") == Some(format!("Bearer {token}").as_str())
        }
        Auth::Header { name, value } => rec.header(name) == Some(value.as_str()),
        Auth::Query { name, value } => rec.param(name) == Some(value.as_str()),
        Auth::All(all) => all.iter().all(|a| authorized(a, rec)),
    }
}

/// Compares a record's field to a query parameter: as numbers when both are,
/// as instants when both are RFC 3339, else as strings.
pub fn compare(field: &Value, bound: &str) -> Ordering {
    let text = match field {
        Value::String(s) => s.clone(),
        Value::Null => return Ordering::Less,
        v => v.to_string(),
    };
    if let (Ok(a), Ok(b)) = (text.parse::<f64>(), bound.parse::<f64>()) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    if let (Some(a), Some(b)) = (instant(&text), instant(bound)) {
        return a.cmp(&b);
    }
    // An instant against a number: Unix seconds (Zendesk's `start_time`
    // filters `updated_at` instants).
    let secs = |s: &str| {
        s.parse::<f64>()
            .ok()
            .or_else(|| instant(s).map(|t| t.timestamp() as f64))
    };
    if let (Some(a), Some(b)) = (secs(&text), secs(bound)) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    text.as_str().cmp(bound)
}

pub(crate) fn size(rec: &Recorded, param: &str, default: usize) -> usize {
    rec.param(param)
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(default)
}

/// `https://host/path?query` with `param` set to `value`.
pub(crate) fn url_with(rec: &Recorded, param: &str, value: &str) -> String {
    let mut query: Vec<(String, String)> = rec
        .query
        .iter()
        .filter(|(k, _)| k != param)
        .cloned()
        .collect();
    query.push((param.to_string(), value.to_string()));
    format!(
        "https://{}{}?{}",
        rec.host,
        rec.path,
        crate::server::encode_query(&query)
    )
}

/// A `token` pagination's next-page token: the offset of the next record,
/// in an opaque-looking form (the connector must send it back unchanged).
fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("mock-offset:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("mock-offset:")?
        .parse()
        .ok()
}

/// Sets `value` at the JSON pointer `pointer` of `body`, making the objects
/// on the way.
fn set_at(body: &mut Value, pointer: &str, value: Value) {
    let mut at = body;
    let keys: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|k| k.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, path)) = keys.split_last() else {
        return;
    };
    for k in path {
        if !at.get(k).is_some_and(Value::is_object) {
            at[k.as_str()] = json!({});
        }
        at = &mut at[k.as_str()];
    }
    at[last.as_str()] = value;
}

fn paginate(route: &Route, rec: &Recorded, records: Vec<Value>) -> Answer {
    let wrap = |records: Vec<Value>| {
        let records = match &route.object_by {
            Some(field) => Value::Object(
                records
                    .into_iter()
                    .map(|mut r| {
                        let key = match r.as_object_mut().and_then(|o| o.remove(field)) {
                            Some(Value::String(s)) => s,
                            Some(v) => v.to_string(),
                            None => String::new(),
                        };
                        (key, r)
                    })
                    .collect(),
            ),
            None => Value::Array(records),
        };
        match &route.records_key {
            Some(key) => json!({ key.as_str(): records }),
            None => records,
        }
    };
    let Some(p) = &route.pagination else {
        return Answer::json(200, wrap(records));
    };
    match p {
        Pagination::Page {
            page_param,
            first_page,
            size_param,
            default_size,
            link,
        } => {
            let n = size(rec, size_param, *default_size);
            let page: usize = rec
                .param(page_param)
                .and_then(|v| v.parse().ok())
                .unwrap_or(*first_page)
                .max(*first_page);
            let start = (page - first_page).saturating_mul(n).min(records.len());
            let end = (start + n).min(records.len());
            let more = end < records.len();
            let mut answer = Answer::json(200, wrap(records[start..end].to_vec()));
            if *link && more {
                let next = url_with(rec, page_param, &(page + 1).to_string());
                answer
                    .headers
                    .push(("link".into(), format!("<{next}>; rel=\"next\"")));
            }
            answer
        }
        Pagination::Cursor {
            cursor_param,
            id_field,
            size_param,
            default_size,
            records_key,
        } => {
            let n = size(rec, size_param, *default_size);
            let start = match rec.param(cursor_param) {
                Some(after) => records
                    .iter()
                    .position(|r| match &r[id_field] {
                        Value::String(id) => id == after,
                        id => serde_json::to_string(id).ok().as_deref() == Some(after),
                    })
                    .map(|i| i + 1)
                    .unwrap_or(records.len()),
                None => 0,
            };
            let end = (start + n).min(records.len());
            Answer::json(
                200,
                json!({
                    "object": "list",
                    records_key.as_str(): records[start..end],
                    "has_more": end < records.len(),
                    "url": rec.path,
                }),
            )
        }
        Pagination::Token {
            token_param,
            token_path,
            records_key,
            size_param,
            default_size,
            url,
        } => {
            let n = size(rec, size_param, *default_size);
            let start = match rec.param(token_param) {
                None => 0,
                Some(t) => match decode_token(t) {
                    Some(offset) => offset.min(records.len()),
                    None => {
                        return Answer::json(
                            400,
                            json!({"title": "Invalid Argument",
                                   "message": format!("mock: page token \"{t}\" is not one this mock gave")}),
                        )
                    }
                },
            };
            let end = (start + n).min(records.len());
            let next = (end < records.len()).then(|| {
                let token = encode_token(end);
                if *url {
                    url_with(rec, token_param, &token)
                } else {
                    token
                }
            });
            let mut body = json!({ records_key.as_str(): records[start..end] });
            set_at(&mut body, token_path, json!(next));
            Answer::json(200, body)
        }
        Pagination::NextUrl {
            records_key,
            page_param,
            size_param,
            default_size,
        } => {
            let n = size(rec, size_param, *default_size);
            let page: usize = rec
                .param(page_param)
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let total_pages = records.len().div_ceil(n).max(1);
            let start = (page - 1).saturating_mul(n).min(records.len());
            let end = (start + n).min(records.len());
            let more = end < records.len();
            let next = more.then(|| url_with(rec, page_param, &(page + 1).to_string()));
            Answer::json(
                200,
                json!({
                    records_key.as_str(): records[start..end],
                    "per_page": n,
                    "total_pages": total_pages,
                    "total_entries": records.len(),
                    "page": page,
                    "next_page": more.then_some(page + 1),
                    "previous_page": (page > 1).then(|| page - 1),
                    "links": {
                        "first": url_with(rec, page_param, "1"),
                        "next": next,
                        "previous": (page > 1).then(|| url_with(rec, page_param, &(page - 1).to_string())),
                        "last": url_with(rec, page_param, &total_pages.to_string()),
                    },
                }),
            )
        }
        Pagination::Offset {
            offset_param,
            size_param,
            default_size,
        } => {
            let n = size(rec, size_param, *default_size);
            let start: usize = rec
                .param(offset_param)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
                .min(records.len());
            let end = (start + n).min(records.len());
            Answer::json(200, wrap(records[start..end].to_vec()))
        }
        Pagination::Search { .. } => unreachable!("answered by crate::search"),
        Pagination::AfterUrl { .. } | Pagination::TimeExport { .. } => {
            unreachable!("answered by crate::export")
        }
        Pagination::Scroll {
            size_param,
            default_size,
        } => crate::search::scroll(rec, &records, size_param, *default_size),
        Pagination::LinkCursor {
            cursor_param,
            size_param,
            default_size,
        } => link_cursor(
            rec,
            records,
            cursor_param,
            size(rec, size_param, *default_size),
        ),
    }
}

/// Sentry's pagination: a bare array and a `Link` header whose `next` link
/// says whether there are `results` and carries the `cursor` to send back
/// (`0:<offset>:0`, Sentry's `value:offset:is_prev`).
fn link_cursor(rec: &Recorded, records: Vec<Value>, param: &str, n: usize) -> Answer {
    let start = match rec.param(param) {
        None => 0,
        Some(c) => match c
            .strip_prefix("0:")
            .and_then(|r| r.strip_suffix(":0"))
            .and_then(|o| o.parse::<usize>().ok())
        {
            Some(offset) => offset.min(records.len()),
            None => {
                return Answer::json(
                    400,
                    json!({"detail": format!("mock: cursor \"{c}\" is not one this mock gave")}),
                )
            }
        },
    };
    let end = (start + n).min(records.len());
    let link = |rel: &str, offset: usize, results: bool| {
        let cursor = format!("0:{offset}:{}", u8::from(rel == "previous"));
        format!(
            "<{}>; rel=\"{rel}\"; results=\"{results}\"; cursor=\"{cursor}\"",
            url_with(rec, param, &cursor)
        )
    };
    let mut answer = Answer::json(200, Value::Array(records[start..end].to_vec()));
    let header = format!(
        "{}, {}",
        link("previous", start.saturating_sub(n), start > 0),
        link("next", end, end < records.len())
    );
    answer.headers.push(("link".into(), header));
    answer
}
