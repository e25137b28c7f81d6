//! The end-to-end scenario every shipped connector goes through, written
//! once: a [`Case`] says what to expect of a connector and [`run`] performs
//! the steps with those expectations, calling the connector's [`Hooks`]
//! for what only it has (a header, a search body, a pointer, ...).
//!
//! 1. `spec`, baked: the connector is not started.
//! 2. `discover`: each selected stream's recommended name, key and resource
//!    path `[stream]` (and its incremental cursor, when the case says so).
//! 3. `validate`: a good credential (the resource paths come back), then,
//!    when the case has one, a bad one that fails with the connector's own
//!    message, the mock's refused call being the case's.
//! 4. A capture under the mock's rate-limit scenario: the first call of a
//!    stream is refused and survived, the documents and pages per stream
//!    are as expected, every document is valid against its schema, and the
//!    checkpoints reduce to a state holding each stream's cursor.
//! 5. A resume from that state under the new-records scenario: the mock
//!    sees the state's cursor as each stream's filter, and only boundary and
//!    new records come out; the state moves on.
//! 6. When the case has one, a capture that dies mid-read (a stream answers
//!    500 after its first page until the retries run out), run after the
//!    others or beside them on a second mock: it fails with the connector's
//!    reason, the mock saw the expected 500s, and no progress past the last
//!    good record is claimed.

use super::*;
use mockapi::{MockApi, Recorded};
use serde_json::{json, Value};
use std::time::Instant;

/// What one connector's end-to-end test expects: data for every common step.
pub struct Case {
    /// The connector's folder name, `source-<name>`.
    pub connector: &'static str,
    /// The connector's config with the given credential (good or bad).
    pub config: fn(&str) -> Value,
    /// The good credential.
    pub credential: &'static str,
    /// The selected streams, in binding order.
    pub streams: Vec<Stream>,
    /// Discover offers each stream incremental with its cursor field as
    /// `cursorField` (asserted when true).
    pub discovered_cursor: bool,
    /// Discover calls the API (when false, the mock must see no request).
    pub discover_calls_api: bool,
    /// A bad credential refused at `validate`, or `None` when the case has no
    /// such step.
    pub refused: Option<Refused>,
    /// The capture under the rate-limit scenario.
    pub rate_limited: RateLimited,
    /// How a cursor appears in the state and in the API's filter, from its
    /// value in the documents (e.g. RFC 3339 to Unix seconds).
    pub carried: fn(&Value) -> Value,
    /// Where the state keeps each stream's cursor.
    pub state: StateShape,
    /// The resumed capture (scenario `new_records`).
    pub resumed_state: ResumedState,
    /// The capture that dies mid-read, or `None` when the case has none.
    pub failure: Option<Failure>,
    /// What only this connector has.
    pub hooks: &'static dyn Hooks,
}

/// One selected stream.
pub struct Stream {
    pub name: &'static str,
    /// Its discovered key, one JSON pointer (`/id`).
    pub key: &'static str,
    /// Its cursor field in the documents (`updated_at`).
    pub cursor: &'static str,
    /// Which document's cursor the state keeps.
    pub kept: Kept,
    /// The mock's route of the resumed read and how it carries the cursor.
    pub filter: Filter,
    /// The documents of the resumed read.
    pub resumed: Resumed,
}

impl Stream {
    /// A stream keyed by `/id` whose state keeps the greatest `cursor`, its
    /// resumed read filtered on its own route by the query parameter `param`.
    pub fn new(
        name: &'static str,
        cursor: &'static str,
        param: &'static str,
        resumed: Resumed,
    ) -> Stream {
        Stream {
            name,
            key: "/id",
            cursor,
            kept: Kept::Greatest,
            filter: Filter::Param(name, param),
            resumed,
        }
    }
}

/// Which document's cursor a stream's state keeps.
pub enum Kept {
    /// The greatest (sorted reads, or a cursor that compares every record).
    Greatest,
    /// The last one read (a scroll not sorted by the cursor whose upstream
    /// cursor compares each record with the state the read started from).
    Last,
    /// None: a full-refresh stream (no cursor; each read reads everything,
    /// its state is not asserted, the connector's hook may).
    Nothing,
}

/// How the resumed read of a stream carries the state's cursor to the API:
/// checked on the first request to the route.
pub enum Filter {
    /// `(route, name)`: the query parameter `name` is the cursor's text.
    Param(&'static str, &'static str),
    /// `(route, read)`: `read` takes the cursor out of the request (a body).
    Read(&'static str, fn(&Recorded) -> Value),
    /// The API cannot filter this stream (the connector's hook says what it asks).
    Unfiltered,
}

/// The documents of a stream's resumed read.
pub enum Resumed {
    /// `(field, values)`: each document's `field`, in order.
    Ids(&'static str, Value),
    /// The ids, sorted.
    SortedIds(Value),
    /// The records at or after the state's cursor in the first read, every
    /// one as often as it came, then those of the mock's data file
    /// (`connectors/<name>/tests/mock/<file>`), by id; `len` of them.
    BoundaryThenNew(&'static str, Len),
    /// The same, a record that came twice in a row in the first read (a
    /// repeat at a page boundary) counted once.
    BoundaryOnceThenNew(&'static str, Len),
    /// Only their number (the connector's hook says more).
    Count(usize),
}

/// How many.
pub enum Len {
    Exactly(usize),
    MoreThan(usize),
}

/// The bad credential of `validate`.
pub struct Refused {
    pub credential: &'static str,
    /// Substrings the connector's message holds, every one.
    pub message: &'static [&'static str],
    /// The refused call: `(route or None for any, 401)`, the first of the
    /// validate when `first`, else the last.
    pub call: (Option<&'static str>, u16),
    pub first: bool,
}

/// The capture under scenario `rate_limited`.
pub struct RateLimited {
    /// The route whose first call the mock refuses, and with what status.
    pub route: &'static str,
    pub status: u16,
    /// Documents per stream.
    pub counts: &'static [usize],
    /// Pages (answers with 200) per route.
    pub pages: &'static [(&'static str, usize)],
}

/// Where the reduced state keeps each stream's cursor.
pub enum StateShape {
    /// Somewhere in its text (the connector's layout is its own).
    Mentions,
    /// In each binding state (`binding_states`), the object at the JSON
    /// pointer `at` is exactly `{cursor: value}`; with `only`, the binding
    /// states are exactly the selected streams' that have one.
    Object { at: &'static str, only: bool },
    /// In each binding state, the object at `at` has `cursor: value`.
    Field { at: &'static str },
    /// Full refresh (no cursor, every read from the start): each stream's
    /// binding state is exactly `state` (the cdk's
    /// `{"__ab_no_cursor_state_message": true}`), the cursor values ignored.
    FullRefresh { state: fn() -> Value },
}

/// The state after the resumed capture.
pub enum ResumedState {
    /// Its text holds each of these.
    Mentions(&'static [&'static str]),
    /// Each stream's cursor (in [`StateShape`]'s place), in stream order.
    Cursors(Value),
    /// Each stream's cursor is the greatest of the resumed documents.
    Greatest,
    /// The connector's hook says.
    Hooked,
}

/// The capture that dies mid-read.
pub struct Failure {
    /// The mock's scenario and the stream it fails.
    pub scenario: &'static str,
    pub stream: &'static str,
    /// Run on a second mock beside the other steps (its retries are slow).
    pub beside: bool,
    /// Documents per stream.
    pub counts: &'static [usize],
    /// The 500s the failing stream's route answered.
    pub errors: Errors,
    /// The connector's reason on stderr.
    pub reason: Reason,
    /// No checkpoint follows the failing stream's last document (when false,
    /// the hook says what may).
    pub no_checkpoint_after: bool,
    /// The failing stream's state (the others keep their first cursors), or
    /// `None` when the hook says.
    pub state: Option<FailedState>,
}

pub enum Errors {
    Exactly(usize),
    AtLeast(usize),
}

pub enum Reason {
    /// Every substring.
    All(&'static [&'static str]),
    /// One of them.
    Any(&'static [&'static str]),
}

/// The failing stream's state after the failed capture.
pub enum FailedState {
    /// It has none.
    Absent,
    /// Its cursor is this (the start: no progress claimed).
    Start(Value),
}

/// One capture of the scenario: its run, documents by stream, the state
/// its checkpoints reduce to, and each stream's cursor (as documents
/// carry it, and as the state and the filter carry it).
pub struct Capture {
    pub run: Run,
    pub docs: Vec<Vec<Value>>,
    pub state: Value,
    pub cursors: Vec<Value>,
    pub carried: Vec<Value>,
}

impl Capture {
    /// Each of `streams` checkpointed the cdk's marker of a finished
    /// full-refresh read and no cursor (its next read starts over).
    pub fn assert_full_refresh(&self, streams: &[&str]) {
        let states = crate::e2e::binding_states(&self.state);
        for name in streams {
            assert_eq!(
                states[*name],
                json!({"__ab_no_cursor_state_message": true}),
                "{name}: {}",
                self.state
            );
        }
        assert!(
            self.cursors.iter().all(Value::is_null),
            "{:?}",
            self.cursors
        );
    }
}

/// What the steps share with the hooks.
pub struct Scene<'a> {
    pub t: &'a E2e,
    pub config: &'a Value,
    pub selected: &'a [Value],
}

/// A connector's own assertions, each after the common ones of its step.
pub trait Hooks: Sync {
    /// The baked spec.
    fn spec(&self, _spec: &Value) {}
    /// The selected discovered bindings.
    fn discovered(&self, _s: &Scene) {}
    /// After the good `validate` (the mock's log holds its calls only).
    fn validated(&self, _s: &Scene) {}
    /// After the rate-limited capture (the mock's log holds its calls).
    fn captured(&self, _s: &Scene, _first: &Capture) {}
    /// After the resumed capture (the mock's log holds its calls).
    fn resumed(&self, _s: &Scene, _first: &Capture, _second: &Capture) {}
    /// After the failed capture, against `mock` (the one it ran on).
    fn failed(&self, _mock: &MockApi, _first: &Capture, _failed: &Capture) {}
}

impl Case {
    fn index(&self, stream: &str) -> usize {
        self.streams
            .iter()
            .position(|s| s.name == stream)
            .unwrap_or_else(|| panic!("{stream} is not selected"))
    }

    /// The capture of `run` from `from`: documents, reduced state, cursors.
    fn capture(&self, run: Run, from: &Value) -> Capture {
        let docs = documents(&run, self.streams.len());
        let state = reduce(from, &run);
        let cursors: Vec<Value> = self
            .streams
            .iter()
            .zip(&docs)
            .map(|(s, d)| match s.kept {
                _ if d.is_empty() => Value::Null,
                Kept::Nothing => Value::Null,
                Kept::Greatest => max_of(d, s.cursor).clone(),
                Kept::Last => d.last().unwrap()[s.cursor].clone(),
            })
            .collect();
        let carried = cursors
            .iter()
            .map(|c| {
                if c.is_null() {
                    Value::Null
                } else {
                    (self.carried)(c)
                }
            })
            .collect();
        Capture {
            run,
            docs,
            state,
            cursors,
            carried,
        }
    }

    /// `state` keeps `want[i]` as stream i's cursor (`None`: no state);
    /// full-refresh streams ([`Kept::Nothing`]) are not asserted.
    fn assert_state(&self, state: &Value, want: &[Option<Value>]) {
        let streams = self
            .streams
            .iter()
            .zip(want)
            .filter(|(s, _)| !matches!(s.kept, Kept::Nothing));
        match &self.state {
            StateShape::Mentions => {
                let text = state.to_string();
                for (s, w) in streams {
                    match w {
                        Some(v) => assert!(text.contains(&text_of(v)), "{}: {v}: {state}", s.name),
                        None => assert!(!text.contains(s.name), "{} has no state: {state}", s.name),
                    }
                }
            }
            StateShape::Object { at, only } => {
                let states = binding_states(state);
                for (s, w) in streams {
                    match w {
                        Some(v) => assert_eq!(
                            states[s.name].pointer(at),
                            Some(&json!({s.cursor: v})),
                            "{}: {state}",
                            s.name
                        ),
                        None => assert!(
                            states.get(s.name).is_none(),
                            "{} has no state: {state}",
                            s.name
                        ),
                    }
                }
                if *only {
                    let mut have: Vec<&String> = states.as_object().unwrap().keys().collect();
                    have.retain(|n| {
                        !self
                            .streams
                            .iter()
                            .any(|s| s.name == *n && matches!(s.kept, Kept::Nothing))
                    });
                    let mut expected: Vec<&str> = self
                        .streams
                        .iter()
                        .zip(want)
                        .filter(|(s, w)| w.is_some() && !matches!(s.kept, Kept::Nothing))
                        .map(|(s, _)| s.name)
                        .collect();
                    have.sort();
                    expected.sort();
                    assert_eq!(have, expected, "{state}");
                }
            }
            StateShape::FullRefresh { state: kept } => {
                let states = binding_states(state);
                for (s, w) in streams {
                    match w {
                        Some(_) => {
                            assert_eq!(states.get(s.name), Some(&kept()), "{}: {state}", s.name)
                        }
                        None => assert!(
                            states.get(s.name).is_none(),
                            "{} has no state: {state}",
                            s.name
                        ),
                    }
                }
            }
            StateShape::Field { at } => {
                let states = binding_states(state);
                for (s, w) in streams {
                    match w {
                        Some(v) => assert_eq!(
                            states[s.name].pointer(at).map(|o| &o[s.cursor]),
                            Some(v),
                            "{}: {state}",
                            s.name
                        ),
                        None => assert!(
                            states.get(s.name).is_none(),
                            "{} has no state: {state}",
                            s.name
                        ),
                    }
                }
            }
        }
    }
}

/// Runs the scenario of `case` (see the module's comment).
pub fn run(case: &Case) {
    let started = Instant::now();
    if !upstream_files_at_hand(&format!("e2e {}", case.connector), case.connector) {
        return;
    }
    let t = E2e::new(case.connector);
    let hooks = case.hooks;

    // spec: baked, the connector is not started.
    let spec = t.spec();
    hooks.spec(&spec);

    // discover: recommended names, keys, resource paths [stream].
    let config = (case.config)(case.credential);
    t.mock.clear_requests();
    let discovered = t.discover(&config);
    if !case.discover_calls_api {
        assert!(t.mock.requests().is_empty(), "discover calls no API");
    }
    let mut selected = Vec::new();
    for s in &case.streams {
        let b = binding(&discovered, s.name);
        assert_eq!(b["recommendedName"], s.name, "{b}");
        assert_eq!(b["key"], json!([s.key]), "{b}");
        assert_eq!(b["resourcePath"], json!([s.name]), "{b}");
        if case.discovered_cursor {
            assert_eq!(b["resourceConfig"]["syncMode"], "incremental", "{b}");
            assert_eq!(b["resourceConfig"]["cursorField"], json!([s.cursor]), "{b}");
        }
        selected.push(b.clone());
    }
    let scene = Scene {
        t: &t,
        config: &config,
        selected: &selected,
    };
    hooks.discovered(&scene);

    match &case.failure {
        Some(f) if f.beside => {
            // dies mid-read, beside the other steps (its retries are slow),
            // on a second mock.
            let down = t.another_mock();
            down.activate(f.scenario).unwrap();
            std::thread::scope(|scope| {
                let failing = scope.spawn(|| t.open_with(&down, &config, &selected, None));
                let first = happy_path(case, &scene);
                let failed = failing.join().unwrap();
                failure(case, f, &down, &first, failed);
            });
        }
        Some(f) => {
            let first = happy_path(case, &scene);
            // dies mid-read: the stream answers 500 after its first page
            // until the retries run out.
            t.mock.clear_requests();
            t.mock.activate(f.scenario).unwrap();
            let failed = t.open(&config, &selected, None);
            t.mock.deactivate(f.scenario);
            failure(case, f, &t.mock, &first, failed);
        }
        None => {
            happy_path(case, &scene);
        }
    }
    eprintln!(
        "{} end to end: {:.1} s",
        case.connector,
        started.elapsed().as_secs_f64()
    );
}

/// Validate, a capture with a rate limit, checkpoints, a resume with the
/// filters; returns the first capture.
fn happy_path(case: &Case, scene: &Scene) -> Capture {
    let Scene {
        t,
        config,
        selected,
    } = *scene;
    let hooks = case.hooks;
    let names: Vec<&str> = case.streams.iter().map(|s| s.name).collect();

    // validate: a good credential, then a bad one (the connector's own message).
    t.mock.clear_requests();
    let ok = t.validate(config, selected);
    assert!(ok.ok, "validate failed:\n{}", ok.stderr);
    let paths: Vec<&Value> = ok.of("validated")[0]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["resourcePath"])
        .collect();
    let want: Vec<Value> = names.iter().map(|n| json!([n])).collect();
    assert_eq!(paths, want.iter().collect::<Vec<_>>());
    hooks.validated(scene);
    if let Some(r) = &case.refused {
        t.mock.clear_requests();
        let bad = t.validate(&(case.config)(r.credential), selected);
        assert!(!bad.ok, "a bad credential validated");
        assert!(
            r.message.iter().all(|m| bad.stderr.contains(m)),
            "not the connector's message ({:?}):\n{}",
            r.message,
            bad.stderr
        );
        let calls = t.mock.requests();
        let call = if r.first { calls.first() } else { calls.last() }.unwrap();
        let (route, status) = r.call;
        if route.is_some() {
            assert_eq!(call.route.as_deref(), route, "{call:?}");
        }
        assert_eq!(call.status, status, "{call:?}");
    }

    // capture: every stream, pages of each, a rate limit survived.
    let rl = &case.rate_limited;
    t.mock.clear_requests();
    t.mock.activate("rate_limited").unwrap();
    let first = t.open(config, selected, None);
    assert!(first.ok, "capture failed:\n{}", first.stderr);
    t.mock.deactivate("rate_limited");
    let first = case.capture(first, &json!({}));
    let counts: Vec<usize> = first.docs.iter().map(Vec::len).collect();
    assert_eq!(counts, rl.counts);
    assert_eq!(
        t.mock.requests_to(rl.route)[0].status,
        rl.status,
        "the first {} call is limited",
        rl.route
    );
    for (route, n) in rl.pages {
        assert_eq!(pages(&t.mock, route), *n, "pages of {route}");
    }
    let bad_docs = violations(selected, &first.docs);
    assert!(bad_docs.is_empty(), "{}", bad_docs.join("\n"));

    // checkpoints reduce to per-stream state holding each stream's cursor.
    let kept: Vec<Option<Value>> = first.carried.iter().cloned().map(Some).collect();
    case.assert_state(&first.state, &kept);
    hooks.captured(scene, &first);

    // resume: the mock sees the state's filter; only boundary and new
    // records come out.
    t.mock.clear_requests();
    t.mock.activate("new_records").unwrap();
    let second = t.open(config, selected, Some(&first.state));
    assert!(second.ok, "resumed capture failed:\n{}", second.stderr);
    t.mock.deactivate("new_records");
    let second = case.capture(second, &first.state);
    for (i, s) in case.streams.iter().enumerate() {
        let want = &first.carried[i];
        match &s.filter {
            Filter::Param(route, name) => assert_eq!(
                t.mock.requests_to(route)[0].param(name),
                Some(text_of(want).as_str()),
                "{}: the filter {name} of {route}",
                s.name
            ),
            Filter::Read(route, read) => {
                assert_eq!(&read(&t.mock.requests_to(route)[0]), want, "{}", s.name)
            }
            Filter::Unfiltered => {}
        }
        let docs = &second.docs[i];
        match &s.resumed {
            Resumed::Ids(field, want) => assert_eq!(&json!(ids(docs, field)), want, "{}", s.name),
            Resumed::SortedIds(want) => {
                let mut have = ids(docs, "id");
                have.sort_by(json_cmp);
                assert_eq!(&json!(have), want, "{}", s.name);
            }
            Resumed::BoundaryThenNew(file, len) | Resumed::BoundaryOnceThenNew(file, len) => {
                let mut at: Vec<&Value> = first.docs[i]
                    .iter()
                    .filter(|d| json_cmp(&d[s.cursor], &first.cursors[i]).is_ge())
                    .collect();
                if matches!(s.resumed, Resumed::BoundaryOnceThenNew(..)) {
                    at.dedup_by_key(|d| d["id"].clone());
                }
                let file = testkit::workspace_root()
                    .join("connectors")
                    .join(case.connector)
                    .join("tests/mock")
                    .join(file);
                let new: Vec<Value> =
                    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                let want: Vec<Value> = at
                    .into_iter()
                    .chain(&new)
                    .map(|d| d["id"].clone())
                    .collect();
                match len {
                    Len::Exactly(n) => assert_eq!(want.len(), *n, "{}: {want:?}", s.name),
                    Len::MoreThan(n) => assert!(want.len() > *n, "{}: {want:?}", s.name),
                }
                assert_eq!(ids(docs, "id"), want, "{}", s.name);
            }
            Resumed::Count(n) => assert_eq!(docs.len(), *n, "{}", s.name),
        }
    }
    match &case.resumed_state {
        ResumedState::Mentions(texts) => {
            for text in *texts {
                assert!(second.state.to_string().contains(text), "{}", second.state);
            }
        }
        ResumedState::Cursors(want) => {
            let want: Vec<Option<Value>> =
                want.as_array().unwrap().iter().cloned().map(Some).collect();
            case.assert_state(&second.state, &want);
        }
        ResumedState::Greatest => {
            let want: Vec<Option<Value>> = second.carried.iter().cloned().map(Some).collect();
            case.assert_state(&second.state, &want);
        }
        ResumedState::Hooked => {}
    }
    hooks.resumed(scene, &first, &second);
    first
}

/// The capture that died mid-read: it fails with the connector's reason,
/// the failing stream's route answered 500s, and no progress past its last
/// good record is claimed.
fn failure(case: &Case, f: &Failure, mock: &MockApi, first: &Capture, failed: Run) {
    let i = case.index(f.stream);
    assert!(!failed.ok, "the capture succeeded against a failing API");
    let failed = case.capture(failed, &json!({}));
    let counts: Vec<usize> = failed.docs.iter().map(Vec::len).collect();
    assert_eq!(counts, f.counts);
    if f.no_checkpoint_after {
        assert!(
            checkpoints_after_last_document(&failed.run, i as u64).is_empty(),
            "a checkpoint after the last good record of {}",
            f.stream
        );
    }
    if let Some(s) = &f.state {
        let want: Vec<Option<Value>> = (0..case.streams.len())
            .map(|j| match s {
                _ if j != i => Some(first.carried[j].clone()),
                FailedState::Absent => None,
                FailedState::Start(v) => Some(v.clone()),
            })
            .collect();
        case.assert_state(&failed.state, &want);
    }
    let server_errors = answers(mock, f.stream, 500);
    match f.errors {
        Errors::Exactly(n) => assert_eq!(server_errors, n, "one call and its retries"),
        Errors::AtLeast(n) => assert!(server_errors >= n, "{server_errors} 500 answers"),
    }
    let reason_ok = match f.reason {
        Reason::All(parts) => parts.iter().all(|p| failed.run.stderr.contains(p)),
        Reason::Any(parts) => parts.iter().any(|p| failed.run.stderr.contains(p)),
    };
    assert!(
        reason_ok,
        "not the connector's reason:\n{}",
        failed.run.stderr
    );
    case.hooks.failed(mock, first, &failed);
    eprintln!(
        "{}: failing capture {:.1} s, {server_errors} {} 500s",
        case.connector, failed.run.secs, f.stream
    );
}
