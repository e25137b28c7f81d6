//! The mock's declarative format: `mock.json` in a connector's test folder
//! (`connectors/source-x/tests/mock/mock.json`), with its data files beside it.
//!
//! ```json
//! {
//!   "streams": ["contacts", "tickets"],
//!   "hosts": ["acme.freshdesk.com"],
//!   "auth": {"basic": {"username": "<long fake key>", "password": "X"}},
//!   "unauthorized": {"code": "invalid_credentials", "message": "You have to be logged in"},
//!   "routes": [
//!     {"name": "contacts", "path": "/api/v2/contacts", "data": "contacts.json",
//!      "pagination": {"style": "page", "size_param": "per_page", "default_size": 30, "link": true},
//!      "filter": {"param": "_updated_since", "field": "updated_at"}},
//!     {"name": "settings", "path": "/api/v2/settings/helpdesk", "body": {"primary_language": "en"}}
//!   ],
//!   "scenarios": {
//!     "rate_limited": [{"route": "tickets", "status": 429, "times": 1, "retry_after": 1}],
//!     "tickets_down": [{"route": "tickets", "status": 500, "after": 1}],
//!     "new_records": [{"route": "contacts", "add_data": "contacts.new.json"}]
//!   }
//! }
//! ```
//!
//! - `streams`: the connector's streams the mock serves (what `cargo xtask
//!   capture --mock` captures, with `config.json` beside `mock.json`: the
//!   connector's config pointing at the mock; `{{mock_url}}` in it becomes
//!   the mock's base URL).
//! - `hosts`: the hosts the connector calls (the proxy serves any host; these
//!   are the ones the mock answers; a request for another host gets 404).
//! - `auth`: what every request must carry: `basic` (username, password),
//!   `bearer` (token), `header` (name, value), or `all` (a list of these, every
//!   one required: Harvest's bearer token and `Harvest-Account-Id` header), or
//!   `query` (name, value: an API key as a query parameter, Alpha Vantage's
//!   `apikey`). A request without it gets 401 with the `unauthorized` body.
//! - `routes`: `method` (default GET) and `path` (exact, or ending in `/*`
//!   for a prefix; a segment `{name}` matches one segment, only the values
//!   `path_values.name` lists where it is given: a child stream's route
//!   that accepts its parents' ids, `/incidents/{incident_id}/log_entries`),
//!   with `sample` (`{"param": "incident_id", "full": ["inc-1"],
//!   "records": 1}`) the parents not in `full` get only the last
//!   `records` records (nested streams stay small, one parent's children
//!   still span pages), and with `query` (`{"function": "TIME_SERIES_DAILY"}`)
//!   only requests carrying those query parameters (several routes on one
//!   path, told apart by a parameter: Alpha Vantage's `/query`); the answer
//!   is `body` (fixed JSON), `file` (a file of the
//!   mock folder, byte for byte: a registry's `manifest.yaml`), or the
//!   records of `data` (a JSON array file), filtered, ordered by the filter
//!   field, and paginated.
//! - `filter`: keep records whose `field` is `>=` the query parameter `param`
//!   (inclusive, as the APIs do: the boundary record comes again) and, with
//!   `until_param`, `<=` that one (Stripe's `created[lte]`); values compare
//!   as numbers, RFC 3339 instants (an instant against a number: as Unix
//!   seconds, Zendesk's `start_time`), or strings. A `field` starting with `/`
//!   is a JSON pointer into the record (GitHub filters commits on
//!   `/commit/committer/date`). Records come ordered by `field`, ascending,
//!   or newest first with `"order": "desc"` (Stripe). With `prefix`, the
//!   parameter's value is the prefix then the bound (Sentry's
//!   `query=lastSeen:>2025-07-01T12:00:00.000000Z`; a value without it
//!   filters nothing); with `"exclusive": true` the records must be after
//!   the bound, not at it (Sentry's `>`).
//!   Without `param`, the records are only ordered (Calendly's event types,
//!   asked with `sort=updated_at:desc` and no time filter).
//! - `pagination.style`:
//!   - `page`: `page_param` (default `page`, 1-based; `"first_page": 0` for
//!     0-based, Braze's `page`; a request without it gets the first page) and
//!     `size_param`; with `"link": true` a `Link: <...>; rel="next"` header
//!     while more remain;
//!   - `cursor`: Stripe's `starting_after=<id>` (`cursor_param`, `id_field`),
//!     the body is `{"object": "list", "data": [...], "has_more": bool, "url": path}`
//!     (`records_key` in place of `data`: ChartMogul's `entries`, paged by
//!     `start-after=<uuid>`);
//!   - `token`: an opaque next-page token at the JSON pointer `token_path` of
//!     the body (null on the last page), sent back as `token_param`, the
//!     records under `records_key`: Calendly's
//!     `{"collection": [...], "pagination": {"next_page_token": ...}}` and
//!     `page_token`; a token this mock did not give gets 400; with
//!     `"url": true` the body holds the next page's whole URL (the request's
//!     own with `token_param` set: Docker Hub's `next`, Tempo's
//!     `metadata.next`);
//!   - `offset`: `offset_param` (default `offset`, the first record's index)
//!     and `size_param` (default `limit`): the records as a bare array or
//!     under `records_key`;
//!   - `next_url`: Harvest's `page`/`per_page` with the records under
//!     `records_key` and `next_page`, `total_pages`, `links.next` in the body;
//!   - `search`: Intercom's search (a POST): the request body's `query` (its
//!     operators evaluated), `sort` and `pagination.per_page` /
//!     `pagination.starting_after`; the body is `{"type": "list",
//!     records_key: [...], "total_count", "pages": {"next": {...}}}`;
//!   - `scroll`: Intercom's scroll: `per_page`, then the answer's
//!     `scroll_param` as a query parameter until `data` comes back empty;
//!   - `after_url`: Zendesk's cursor-based incremental export: the body is
//!     `{records_key: [...], "after_cursor", "after_url", "end_of_stream"}`,
//!     `after_url` carrying only `cursor` (the filter bound inside it);
//!   - `time_export`: Zendesk's time-based incremental export: the body is
//!     `{records_key: [...], "count", "end_time", "next_page",
//!     "end_of_stream"}`, `next_page` filtering from `end_time`;
//!   - `link_cursor`: Sentry's: the records as a bare array and a `Link`
//!     header with a `rel="previous"` and a `rel="next"` link, each with
//!     `results="true|false"` and `cursor="0:<offset>:0"`, sent back as
//!     `cursor_param` (default `cursor`); the last page's next link says
//!     `results="false"`; a cursor this mock did not give gets 400.
//! - `headers`: fixed headers on every answer (Intercom's rate-limit ones).
//! - `records_key`: with `page` style, wrap the records as `{key: [...]}`.
//! - `object_by`: a field of the records: they are answered as one object
//!   keyed by that field's value (removed from each record), under
//!   `records_key` when given (Alpha Vantage's time series: `{"Time Series
//!   (Daily)": {"2025-01-02": {...}}}`), in the data file's order.
//! - `scenarios`: named switches a test (or `--scenario`) turns on: a `status`
//!   for a route (`times`: only the first N matching calls, default always;
//!   `after`: only after N good calls; `retry_after` seconds for 429), or
//!   `add_data`: more records for a route (records that appear later).
//! - `generated`: written by `mockapi generate` (see `crate::generate`):
//!   `{"command", "seed", "skipped": {stream: reason}, "notes": {stream:
//!   [..]}}`; the server ignores it.
//! - `shift_times`: `{"recorded_at": "<RFC 3339>", "fields": ["created"]}`:
//!   data written at `recorded_at` is moved forward by the whole days since
//!   then, in every value of a key named in `fields` (Unix seconds or
//!   RFC 3339), at any depth: for APIs whose connector looks back a fixed
//!   window from the clock (Stripe's events: 30 days), the data stays in it
//!   and never later than the clock.

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSpec {
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The streams this mock serves (what `cargo xtask capture --mock` captures).
    #[serde(default)]
    pub streams: Vec<String>,
    #[serde(default)]
    pub auth: Option<Auth>,
    /// Body of a 401 answer.
    #[serde(default)]
    pub unauthorized: Option<Value>,
    pub routes: Vec<Route>,
    #[serde(default)]
    pub scenarios: BTreeMap<String, Vec<Switch>>,
    #[serde(default)]
    pub shift_times: Option<ShiftTimes>,
    /// Headers on every answer (e.g. Intercom's `X-RateLimit-Remaining`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Set by `mockapi generate` (`cargo xtask mock source-x --generate`):
    /// the command that wrote this mock, its seed, and each stream it could
    /// not serve with the reason. Not read by the server.
    #[serde(default)]
    pub generated: Option<Value>,
}

/// Moves the data's instants forward by the whole days since `recorded_at`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftTimes {
    pub recorded_at: String,
    pub fields: Vec<String>,
}

impl ShiftTimes {
    /// Seconds to add: the whole days from `recorded_at` to `now` (0 when
    /// `now` is earlier).
    pub fn offset(&self, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<i64> {
        let at = chrono::DateTime::parse_from_rfc3339(&self.recorded_at).with_context(|| {
            format!(
                "shift_times.recorded_at \"{}\" is not an RFC 3339 instant: write e.g. \"2026-12-01T00:00:00Z\"",
                self.recorded_at
            )
        })?;
        let days = (now.timestamp() - at.timestamp()).max(0) / 86_400;
        Ok(days * 86_400)
    }

    /// Adds `secs` to every value of a key in `fields`, at any depth.
    pub fn apply(&self, value: &mut Value, secs: i64) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if self.fields.iter().any(|f| f == k) {
                        shift_instant(v, secs);
                    } else {
                        self.apply(v, secs);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.apply(v, secs)),
            _ => {}
        }
    }
}

fn shift_instant(v: &mut Value, secs: i64) {
    match v {
        Value::Number(n) => {
            if let Some(t) = n.as_i64() {
                *v = Value::from(t + secs);
            }
        }
        Value::String(s) => {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                let t = t + chrono::Duration::seconds(secs);
                *s = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Auth {
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    Header {
        name: String,
        value: String,
    },
    /// A query parameter (an API key in the URL).
    Query {
        name: String,
        value: String,
    },
    All(Vec<Auth>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub name: String,
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub data: Option<String>,
    /// A file of the mock folder answered byte for byte (e.g. a registry's
    /// `manifest.yaml`), instead of `body` or `data`.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub records_key: Option<String>,
    /// Answers even a request without credentials (e.g. an OAuth token endpoint).
    #[serde(default)]
    pub public: bool,
    /// Matches only requests carrying these query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Answers the records as one object keyed by this field.
    #[serde(default)]
    pub object_by: Option<String>,
    /// The values a `{name}` segment of `path` accepts (a child stream's
    /// parent ids); a name not listed accepts any segment.
    #[serde(default)]
    pub path_values: BTreeMap<String, Vec<String>>,
    /// Every parent but those in `full` gets only the last records.
    #[serde(default)]
    pub sample: Option<Sample>,
}

/// A child route's records by parent: the parents whose id (the `{param}`
/// segment of the path, else the query parameter `param`) is in `full` get
/// every record, the others the last `records`, so that nested streams
/// stay small while one parent's children still span pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub param: String,
    pub full: Vec<String>,
    pub records: usize,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Empty (absent): no filter, the records are only ordered by `field`.
    #[serde(default)]
    pub param: String,
    pub field: String,
    /// Keep records whose `field` is `<=` this query parameter too.
    #[serde(default)]
    pub until_param: Option<String>,
    #[serde(default)]
    pub order: Order,
    /// The parameter's value is this prefix then the bound (Sentry's
    /// `lastSeen:>`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Keep records strictly after the bound.
    #[serde(default)]
    pub exclusive: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, tag = "style", rename_all = "snake_case")]
pub enum Pagination {
    Page {
        #[serde(default = "page")]
        page_param: String,
        /// The first page's number (default 1).
        #[serde(default = "one")]
        first_page: usize,
        size_param: String,
        default_size: usize,
        #[serde(default)]
        link: bool,
    },
    Cursor {
        #[serde(default = "starting_after")]
        cursor_param: String,
        #[serde(default = "id")]
        id_field: String,
        #[serde(default = "limit")]
        size_param: String,
        default_size: usize,
        /// The key of the records in the body (ChartMogul's `entries`).
        #[serde(default = "data")]
        records_key: String,
    },
    /// An opaque next-page token in the body at `token_path`, sent back as
    /// `token_param` (Calendly's `pagination.next_page_token` and
    /// `page_token`).
    Token {
        token_param: String,
        token_path: String,
        records_key: String,
        size_param: String,
        default_size: usize,
        /// The token in the body is the whole URL of the next page (the
        /// request's own with `token_param` set), as APIs that answer a
        /// `next` link in the body do.
        #[serde(default)]
        url: bool,
    },
    /// Offset paging: `offset_param` is the index of the first record
    /// (absent: 0), `size_param` the page size; the records as a bare array,
    /// or under the route's `records_key`.
    Offset {
        #[serde(default = "offset")]
        offset_param: String,
        #[serde(default = "limit")]
        size_param: String,
        default_size: usize,
    },
    NextUrl {
        records_key: String,
        #[serde(default = "page")]
        page_param: String,
        #[serde(default = "per_page")]
        size_param: String,
        default_size: usize,
    },
    /// Intercom's search (`POST /contacts/search`): the body's `query`,
    /// `sort` and `pagination` (`per_page`, `starting_after`); see
    /// [`crate::search`].
    Search {
        #[serde(default = "data")]
        records_key: String,
        default_size: usize,
    },
    /// Intercom's scroll (`GET /companies/scroll`): `per_page`, and the
    /// answer's `scroll_param` sent back for the next page; an empty `data`
    /// ends it, an unknown `scroll_param` gets 404.
    Scroll {
        #[serde(default = "per_page")]
        size_param: String,
        default_size: usize,
    },
    /// Zendesk's cursor-based incremental export
    /// (`/api/v2/incremental/users/cursor.json`): the filter's parameter on
    /// the first call, then the answer's `after_url` (only `cursor=<opaque>`,
    /// which carries the filter bound and the position) until
    /// `end_of_stream`; see [`crate::export`].
    AfterUrl {
        records_key: String,
        #[serde(default = "cursor")]
        cursor_param: String,
        #[serde(default = "per_page")]
        size_param: String,
        default_size: usize,
    },
    /// Zendesk's time-based incremental export
    /// (`/api/v2/incremental/organizations`): `next_page` is the same URL
    /// with the filter's parameter at `end_time`, the page's last record's
    /// instant in Unix seconds (so the boundary record comes again);
    /// `end_of_stream` once a page is not full. Needs a `filter`.
    TimeExport {
        records_key: String,
        #[serde(default = "per_page")]
        size_param: String,
        default_size: usize,
    },
    /// Sentry's `Link` header cursors (`rel="next"; results="true";
    /// cursor="0:100:0"`) over a bare array.
    LinkCursor {
        #[serde(default = "cursor")]
        cursor_param: String,
        #[serde(default = "per_page")]
        size_param: String,
        default_size: usize,
    },
}

fn one() -> usize {
    1
}
fn data() -> String {
    "data".into()
}
fn page() -> String {
    "page".into()
}
fn starting_after() -> String {
    "starting_after".into()
}
fn id() -> String {
    "id".into()
}
fn limit() -> String {
    "limit".into()
}
fn offset() -> String {
    "offset".into()
}
fn cursor() -> String {
    "cursor".into()
}
fn per_page() -> String {
    "per_page".into()
}

/// One switch of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub route: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub times: Option<u64>,
    #[serde(default)]
    pub after: Option<u64>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub add_data: Option<String>,
}

/// A mock spec with its data files read.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub spec: MockSpec,
    /// Records of each data file, by file name.
    pub data: BTreeMap<String, Vec<Value>>,
    /// The bytes of each `file` route's file, by file name.
    pub raw: BTreeMap<String, Vec<u8>>,
}

impl Loaded {
    /// Reads `<dir>/mock.json` and every data file it names; every problem
    /// names its file.
    pub fn read(dir: &Path) -> anyhow::Result<Loaded> {
        let file = dir.join("mock.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read mock spec {}", file.display()))?;
        let spec: MockSpec = serde_json::from_str(&text)
            .with_context(|| format!("mock spec {} is not valid: fix it", file.display()))?;
        let names = spec
            .routes
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>();
        let mut files: Vec<&str> = spec
            .routes
            .iter()
            .filter_map(|r| r.data.as_deref())
            .collect();
        for (scenario, switches) in &spec.scenarios {
            for s in switches {
                if !names.contains(&s.route.as_str()) {
                    anyhow::bail!(
                        "mock spec {}: scenario \"{scenario}\" names route \"{}\", which is not one of {names:?}",
                        file.display(),
                        s.route
                    );
                }
                files.extend(s.add_data.as_deref());
            }
        }
        for r in &spec.routes {
            let answers = [r.body.is_some(), r.data.is_some(), r.file.is_some()];
            if answers.iter().filter(|a| **a).count() != 1 {
                anyhow::bail!(
                    "mock spec {}: route \"{}\" needs exactly one of \"body\", \"data\" and \"file\"",
                    file.display(),
                    r.name
                );
            }
        }
        let mut data = BTreeMap::new();
        for name in files {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read mock data {}", path.display()))?;
            let records: Vec<Value> = serde_json::from_str(&text).with_context(|| {
                format!("mock data {} is not a JSON array: fix it", path.display())
            })?;
            data.insert(name.to_string(), records);
        }
        if let Some(shift) = &spec.shift_times {
            let secs = shift
                .offset(chrono::Utc::now())
                .with_context(|| format!("mock spec {}", file.display()))?;
            for records in data.values_mut() {
                records.iter_mut().for_each(|r| shift.apply(r, secs));
            }
        }
        let mut raw = BTreeMap::new();
        for name in spec.routes.iter().filter_map(|r| r.file.as_deref()) {
            let path = dir.join(name);
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read mock file {}", path.display()))?;
            raw.insert(name.to_string(), bytes);
        }
        Ok(Loaded { spec, data, raw })
    }
}
