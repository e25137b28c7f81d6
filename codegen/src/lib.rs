//! Build-time code generator: reads `connectors/<name>/`, validates every file,
//! and writes the Rust description (`pub static CONNECTOR: ::patches::Connector`)
//! that `entrypoint` links with the runtime into one binary per connector.
//!
//! - [`load`] reads and validates a connector folder, collecting every problem
//!   at once ([`Problems`], one line each: `<file>: <pointer or line:col>: what
//!   is wrong; what would be right`) and warnings for files it ignores.
//! - [`render`] turns a loaded folder into formatted, deterministic Rust
//!   ([`generate`]: both); `cargo xtask expand <name>` prints it.
//!
//! File formats: `connector.json` ([`ConnectorJson`]), `spec.recorded.json`
//! ([`RecordedSpecFile`]), and the patch files of MISSION.md "Patch files".
//!
//! Unknown file names: a name within two edits of a known name (or of a known
//! `streams/` suffix) is an error with "did you mean"; any other unknown file is
//! ignored with a warning that names the rename that would apply it (the corpus
//! holds `source-jira/streams/project_types.json`, a schema patch the upstream
//! tool never applied, and the corpus must build as it is).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use patches::{Normalization, OAuth2, SchemaNormalization};
use serde_json::Value;

pub mod form_check;
mod generate;
pub mod upstream;
pub use generate::{generate, render, Generated};
pub use upstream::Upstream;

/// `connectors/<name>/connector.json`: the upstream image and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectorJson {
    /// Upstream image with tag, e.g. `airbyte/source-freshdesk:3.0.2`: the
    /// image's `FROM` line, and the version a recorded spec must match.
    pub base_image: String,
    /// The Airbyte connector's command inside its image, as a shell-words
    /// string, e.g. `python /airbyte/integration_code/main.py`.
    pub entrypoint: String,
    /// Environment of the image and of the connector process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Whether the connector folder carries its own code (pulled from upstream).
    #[serde(default)]
    pub has_code: bool,
    /// Image labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The PyPI package that runs the connector locally (`cargo xtask
    /// provision`); connectors without it need `--entrypoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
}

impl ConnectorJson {
    /// The upstream image's tag (`3.0.2` of `airbyte/source-freshdesk:3.0.2`).
    pub fn upstream_version(&self) -> Option<&str> {
        self.base_image
            .rsplit_once(':')
            .map(|(_, tag)| tag)
            .filter(|t| !t.contains('/'))
    }

    /// `entrypoint` split as a shell would.
    pub fn entrypoint_argv(&self) -> Result<Vec<String>, shell_words::ParseError> {
        shell_words::split(&self.entrypoint)
    }
}

/// Splits a command line as a shell would (`connector.json` `entrypoint`,
/// `--entrypoint` of `cargo xtask record-spec`).
pub fn split_command(cmd: &str) -> Result<Vec<String>, shell_words::ParseError> {
    shell_words::split(cmd)
}

/// `connectors/<name>/spec.recorded.json`, written by `cargo xtask record-spec`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedSpecFile {
    /// `connector.json`'s `base_image` when the spec was recorded; the build
    /// fails when they differ.
    pub upstream_image: String,
    /// The Airbyte ConnectorSpecification (the `spec` of the connector's SPEC
    /// message), unpatched.
    pub spec: Value,
}

/// File names of a connector folder.
pub const CONNECTOR_JSON: &str = "connector.json";
pub const SPEC_RECORDED: &str = "spec.recorded.json";
pub const SPEC_PATCH: &str = "spec.patch.json";
pub const SPEC_MAP: &str = "spec.map.json";
pub const OAUTH2_PATCH: &str = "oauth2.patch.json";
pub const DOCUMENTATION_URL_PATCH: &str = "documentation_url.patch.json";
pub const RUN_INTERVAL_MINUTES: &str = "run_interval_minutes.json";
pub const SELECTED_STREAMS: &str = "selected_streams.json";
pub const OMITTED_STREAMS: &str = "omitted_streams.json";
pub const SCHEMA_NORMALIZATIONS: &str = "schema_normalizations.json";
pub const STREAMS_DIR: &str = "streams";

/// The folder of a connector's tests (its mock API), which codegen ignores.
const TESTS_DIR: &str = "tests";

const TOP_LEVEL: &[&str] = &[
    CONNECTOR_JSON,
    SPEC_RECORDED,
    SPEC_PATCH,
    SPEC_MAP,
    OAUTH2_PATCH,
    DOCUMENTATION_URL_PATCH,
    RUN_INTERVAL_MINUTES,
    SELECTED_STREAMS,
    OMITTED_STREAMS,
    SCHEMA_NORMALIZATIONS,
];
const STREAM_SUFFIXES: &[&str] = &[".patch.json", ".pk.json", ".normalize.json"];

/// One problem of a connector folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path relative to the connector folder, e.g. `streams/users.pk.json`.
    pub file: String,
    /// A JSON pointer (`/0/pointer`), `line:col`, or `(root)` / `(file)`.
    pub at: String,
    /// What is wrong; what would be right.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.at, self.message)
    }
}

/// Every problem of a connector folder, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    /// The connector folder.
    pub dir: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} problem(s) in {}:",
            self.problems.len(),
            self.dir.display()
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The files of one stream (or of the `*` wildcard), validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamFiles {
    pub schema_patch: Option<Value>,
    pub key: Option<Vec<String>>,
    pub normalizations: Vec<(String, Normalization)>,
}

/// A validated connector folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Folder name, e.g. `source-faker`.
    pub name: String,
    pub connector: ConnectorJson,
    /// `connector.entrypoint` split into argv.
    pub entrypoint: Vec<String>,
    pub config_patch: Option<Value>,
    /// `(to, from)` pairs of `spec.map.json`, in file order.
    pub config_map: Vec<(String, String)>,
    pub oauth2: OAuth2<Value>,
    pub documentation_url: Option<String>,
    pub run_interval_minutes: Option<u32>,
    /// Streams with their own files, by name (sorted).
    pub streams: BTreeMap<String, StreamFiles>,
    pub wildcard: StreamFiles,
    pub selected: Option<Vec<String>>,
    pub omitted: Vec<String>,
    pub schema_normalizations: Vec<SchemaNormalization>,
    /// The recorded upstream spec, when present.
    pub recorded: Option<RecordedSpecFile>,
    /// The Flow spec response with every spec patch applied, when recorded.
    pub flow_spec: Option<Value>,
    /// Files ignored, one line each (printed by the caller).
    pub warnings: Vec<String>,
}

/// Escapes one JSON pointer token.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn ptr(parts: &[&str]) -> String {
    if parts.is_empty() {
        return "(root)".into();
    }
    parts.iter().map(|p| format!("/{}", token(p))).collect()
}

/// A short JSON rendering of a value for messages.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// Whether `s` is a JSON pointer to something inside a document (RFC 6901,
/// not the whole document).
fn is_pointer(s: &str) -> bool {
    if !s.starts_with('/') {
        return false;
    }
    // `~` must be followed by 0 or 1.
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, c)| *c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

fn pointer_fix(s: &str) -> String {
    if s.starts_with('/') {
        "escape `~` as `~0` and `/` inside a name as `~1`".into()
    } else {
        format!("write \"/{}\"", s.replace('.', "/"))
    }
}

struct Ctx {
    dir: PathBuf,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Ctx {
    fn err(&mut self, file: &str, at: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_string(),
            at: at.into(),
            message: message.into(),
        });
    }

    /// Reads and parses `rel` if it exists.
    fn json(&mut self, rel: &str) -> Option<Value> {
        let path = self.dir.join(rel);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.err(
                    rel,
                    "(file)",
                    format!("cannot read the file ({e}); make it a readable UTF-8 JSON file"),
                );
                return None;
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = e.to_string();
                let msg = msg
                    .rsplit_once(" at line ")
                    .map_or(msg.as_str(), |(m, _)| m)
                    .to_string();
                self.err(
                    rel,
                    format!("{}:{}", e.line(), e.column()),
                    format!("malformed JSON ({msg}); fix the syntax so the file is one JSON value"),
                );
                None
            }
        }
    }

    fn string_list(&mut self, rel: &str, v: &Value) -> Option<Vec<String>> {
        let Some(items) = v.as_array() else {
            self.err(
                rel,
                "(root)",
                format!(
                    "expected an array of stream names, got {}; write e.g. [\"users\", \"orders\"]",
                    show(v)
                ),
            );
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) if !s.is_empty() => {
                    if out.iter().any(|o: &String| o == s) {
                        self.err(
                            rel,
                            ptr(&[&i.to_string()]),
                            format!("stream {s:?} is listed twice; list it once"),
                        );
                    }
                    out.push(s.to_string());
                }
                _ => self.err(
                    rel,
                    ptr(&[&i.to_string()]),
                    format!(
                        "expected a non-empty stream name string, got {}",
                        show(item)
                    ),
                ),
            }
        }
        Some(out)
    }
}

/// Whether an `oauth2.patch.json` is the template's placeholder: an object
/// with `provider` whose fields are all empty (`""`, `{}`, `[]` or `null`).
pub fn is_oauth2_placeholder(v: &Value) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    obj.contains_key("provider")
        && obj.values().all(|f| match f {
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        })
}

/// Flow's OAuth2 fields: (name, required, expected JSON type).
const OAUTH2_FIELDS: &[(&str, bool, &str)] = &[
    ("provider", true, "string"),
    ("authUrlTemplate", true, "string"),
    ("accessTokenUrlTemplate", true, "string"),
    ("accessTokenMethod", false, "string"),
    ("accessTokenBody", false, "string"),
    ("accessTokenHeaders", false, "object"),
    ("accessTokenResponseMap", false, "object"),
    ("refreshTokenUrlTemplate", false, "string"),
    ("refreshTokenMethod", false, "string"),
    ("refreshTokenBody", false, "string"),
    ("refreshTokenHeaders", false, "object"),
    ("refreshTokenResponseMap", false, "object"),
];

fn check_oauth2(cx: &mut Ctx, v: Value) -> OAuth2<Value> {
    let f = OAUTH2_PATCH;
    if is_oauth2_placeholder(&v) {
        return OAuth2::Disabled;
    }
    let Some(obj) = v.as_object() else {
        cx.err(f, "(root)", format!("expected Flow's OAuth2 spec object, got {}; write an object with \"provider\", \"authUrlTemplate\" and \"accessTokenUrlTemplate\", or the template's placeholder (every field an empty string or object) for no OAuth", show(&v)));
        return OAuth2::Upstream;
    };
    let before = cx.problems.len();
    for (name, required, ty) in OAUTH2_FIELDS {
        match (obj.get(*name), *ty) {
            (None, _) if *required => cx.err(f, ptr(&[name]), format!("Flow's required OAuth2 field {name:?} is missing; add it as a non-empty string (or make every field empty for no OAuth)")),
            (None, _) => {}
            (Some(Value::String(s)), "string") if *required && s.is_empty() => cx.err(f, ptr(&[name]), format!("Flow's required OAuth2 field {name:?} is empty; give it a value (or make every field empty for no OAuth)")),
            (Some(Value::String(_)), "string") | (Some(Value::Object(_)), "object") => {}
            (Some(other), ty) => cx.err(f, ptr(&[name]), format!("expected {ty}, got {}", show(other))),
        }
    }
    if cx.problems.len() > before {
        OAuth2::Upstream
    } else {
        OAuth2::Replace(v)
    }
}

/// Takes `upstream` out of a `connector.json` value and parses it, so its
/// problems name their own pointer.
fn upstream_of(cx: &mut Ctx, v: &mut Value) -> Option<Upstream> {
    let up = v.as_object_mut()?.remove("upstream")?;
    match serde_json::from_value::<Upstream>(up) {
        Ok(u) => Some(u),
        Err(e) => {
            cx.err(CONNECTOR_JSON, "/upstream", format!("{e}; write {{\"package\": \"airbyte-source-x\", \"version\": \"1.2.3\", \"python\": \"3.11\", \"lock\": \"{}\"}} (optional: \"command\", \"pins\")", upstream::DEFAULT_LOCK));
            None
        }
    }
}

/// Reads and validates `dir` (a connector folder), reporting every problem at once.
pub fn load(dir: &Path) -> Result<Loaded, Problems> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cx = Ctx {
        dir: dir.to_path_buf(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    if !dir.is_dir() {
        cx.err(
            &dir.display().to_string(),
            "(file)",
            format!("connector folder {name:?} does not exist; create it (`cargo xtask new-connector`) or pass --connectors-dir"),
        );
        return Err(Problems {
            dir: dir.to_path_buf(),
            problems: cx.problems,
        });
    }

    check_names(&mut cx);

    // connector.json
    let mut connector = None;
    let mut entrypoint = Vec::new();
    match cx.json(CONNECTOR_JSON) {
        None if !dir.join(CONNECTOR_JSON).exists() => cx.err(
            CONNECTOR_JSON,
            "(file)",
            "missing; write {\"base_image\": \"airbyte/source-x:1.2.3\", \"entrypoint\": \"python /airbyte/integration_code/main.py\", \"env\": {}, \"has_code\": false, \"labels\": {}}",
        ),
        None => {}
        Some(mut v) => match (upstream_of(&mut cx, &mut v), serde_json::from_value::<ConnectorJson>(v)) {
            (_, Err(e)) => cx.err(CONNECTOR_JSON, "(root)", format!("{e}; it needs string \"base_image\" and \"entrypoint\", and string maps \"env\" and \"labels\"")),
            (up, Ok(mut c)) => {
                c.upstream = up;
                // No tag check: the corpus has `"base"` (a connector with code,
                // built FROM its own stage) and `...:patched`.
                if c.base_image.trim().is_empty() {
                    cx.err(CONNECTOR_JSON, "/base_image", "empty; write the upstream image with its tag, e.g. \"airbyte/source-x:1.2.3\"");
                }
                match c.entrypoint_argv() {
                    Ok(argv) => entrypoint = argv,
                    Err(e) => cx.err(CONNECTOR_JSON, "/entrypoint", format!("{:?} is not a shell-words command ({e}); fix its quoting", c.entrypoint)),
                }
                if let Some(up) = &c.upstream {
                    cx.problems.extend(upstream::check(dir, &name, &c.base_image, up));
                }
                connector = Some(c);
            }
        },
    }

    // spec.patch.json
    let config_patch = cx.json(SPEC_PATCH).and_then(|v| {
        if v.is_object() {
            Some(v)
        } else {
            cx.err(SPEC_PATCH, "(root)", format!("expected an object (an RFC 7396 merge patch of the config schema), got {}; write e.g. {{\"properties\": {{...}}}}", show(&v)));
            None
        }
    });

    // spec.map.json
    let mut config_map = Vec::new();
    if let Some(v) = cx.json(SPEC_MAP) {
        match v.as_object() {
            None => cx.err(
                SPEC_MAP,
                "(root)",
                format!(
                    "expected an object {{\"/to/pointer\": \"/from/pointer\"}}, got {}",
                    show(&v)
                ),
            ),
            Some(obj) => {
                for (to, from) in obj {
                    let at = ptr(&[to]);
                    if !is_pointer(to) {
                        cx.err(
                            SPEC_MAP,
                            &at,
                            format!("key {to:?} is not a JSON pointer; {}", pointer_fix(to)),
                        );
                    }
                    match from.as_str() {
                        Some(f) if is_pointer(f) => config_map.push((to.clone(), f.to_string())),
                        Some(f) => cx.err(
                            SPEC_MAP,
                            &at,
                            format!("value {f:?} is not a JSON pointer; {}", pointer_fix(f)),
                        ),
                        None => cx.err(
                            SPEC_MAP,
                            &at,
                            format!("expected a JSON pointer string, got {}", show(from)),
                        ),
                    }
                }
            }
        }
    }

    // oauth2.patch.json
    let oauth2 = match cx.json(OAUTH2_PATCH) {
        None => OAuth2::Upstream,
        Some(v) => check_oauth2(&mut cx, v),
    };

    // documentation_url.patch.json
    let documentation_url = cx.json(DOCUMENTATION_URL_PATCH).and_then(|v| {
        match v.get("documentation_url") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(other) => {
                cx.err(DOCUMENTATION_URL_PATCH, "/documentation_url", format!("expected a non-empty URL string, got {}", show(other)));
                None
            }
            None => {
                cx.err(DOCUMENTATION_URL_PATCH, "(root)", format!("no string \"documentation_url\" in {}; write {{\"documentation_url\": \"https://...\"}}", show(&v)));
                None
            }
        }
    });

    // run_interval_minutes.json
    let run_interval_minutes = cx.json(RUN_INTERVAL_MINUTES).and_then(|v| {
        match v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
        {
            Some(n) => Some(n),
            None => {
                cx.err(
                    RUN_INTERVAL_MINUTES,
                    "(root)",
                    format!(
                        "expected a positive integer number of minutes, got {}; write e.g. 60",
                        show(&v)
                    ),
                );
                None
            }
        }
    });

    // selected / omitted
    let selected = cx
        .json(SELECTED_STREAMS)
        .and_then(|v| cx.string_list(SELECTED_STREAMS, &v));
    let omitted = cx
        .json(OMITTED_STREAMS)
        .and_then(|v| cx.string_list(OMITTED_STREAMS, &v))
        .unwrap_or_default();
    if let Some(selected) = &selected {
        for (i, s) in omitted.iter().enumerate() {
            if selected.contains(s) {
                cx.err(OMITTED_STREAMS, ptr(&[&i.to_string()]), format!("stream {s:?} is also in {SELECTED_STREAMS}; a stream is either selected or omitted, remove it from one of them"));
            }
        }
    }

    // schema_normalizations.json
    let mut schema_normalizations = Vec::new();
    if let Some(v) = cx.json(SCHEMA_NORMALIZATIONS) {
        match v.as_array() {
            None => cx.err(SCHEMA_NORMALIZATIONS, "(root)", format!("expected an array of normalization names, got {}; write e.g. [\"date-to-datetime\"]", show(&v))),
            Some(items) => {
                let names: Vec<_> = SchemaNormalization::ALL.iter().map(|n| n.name()).collect();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(SchemaNormalization::from_name) {
                        Some(n) if !schema_normalizations.contains(&n) => schema_normalizations.push(n),
                        Some(n) => cx.err(SCHEMA_NORMALIZATIONS, ptr(&[&i.to_string()]), format!("{:?} is listed twice; list it once", n.name())),
                        None => cx.err(SCHEMA_NORMALIZATIONS, ptr(&[&i.to_string()]), format!("unknown schema normalization {}; known: {}", show(item), names.join(", "))),
                    }
                }
            }
        }
    }

    // streams/
    let mut streams = BTreeMap::new();
    let mut wildcard = StreamFiles::default();
    for (stream, kind, rel) in stream_files(&mut cx) {
        let Some(v) = cx.json(&rel) else { continue };
        let files = if stream == "*" {
            &mut wildcard
        } else {
            streams.entry(stream).or_insert_with(StreamFiles::default)
        };
        match kind {
            ".patch.json" => {
                if v.is_object() {
                    files.schema_patch = Some(v);
                } else {
                    cx.err(&rel, "(root)", format!("expected an object (an RFC 7396 merge patch of the stream's schema), got {}", show(&v)));
                }
            }
            ".pk.json" => files.key = check_pk(&mut cx, &rel, &v),
            _ => files.normalizations = check_normalize(&mut cx, &rel, &v),
        }
    }

    // spec.recorded.json
    let mut recorded = None;
    let mut flow_spec = None;
    if let Some(v) = cx.json(SPEC_RECORDED) {
        match serde_json::from_value::<RecordedSpecFile>(v) {
            Err(e) => cx.err(
                SPEC_RECORDED,
                "(root)",
                format!("{e}; re-record it with `cargo xtask record-spec {name} --entrypoint CMD`"),
            ),
            Ok(r) => {
                if let Some(c) = &connector {
                    if r.upstream_image != c.base_image {
                        cx.err(SPEC_RECORDED, "/upstream_image", format!(
                            "recorded from {:?} but {CONNECTOR_JSON} pins {:?}; re-record it with `cargo xtask record-spec {name} --entrypoint CMD` (CMD running {})",
                            r.upstream_image, c.base_image, c.base_image
                        ));
                    }
                }
                let oauth = match &oauth2 {
                    OAuth2::Upstream => OAuth2::Upstream,
                    OAuth2::Disabled => OAuth2::Disabled,
                    OAuth2::Replace(v) => OAuth2::Replace(v),
                };
                match patches::apply::flow_spec(&r.spec, config_patch.as_ref(), oauth, documentation_url.as_deref()) {
                    Ok(s) => flow_spec = Some(s),
                    Err(e) => cx.err(SPEC_RECORDED, "/spec", format!("{e}; re-record it with `cargo xtask record-spec {name} --entrypoint CMD`")),
                }
                recorded = Some(r);
            }
        }
    }

    if !cx.problems.is_empty() {
        return Err(Problems {
            dir: dir.to_path_buf(),
            problems: cx.problems,
        });
    }
    Ok(Loaded {
        name,
        connector: connector.expect("connector.json problems are reported above"),
        entrypoint,
        config_patch,
        config_map,
        oauth2,
        documentation_url,
        run_interval_minutes,
        streams,
        wildcard,
        selected,
        omitted,
        schema_normalizations,
        recorded,
        flow_spec,
        warnings: cx.warnings,
    })
}

fn check_pk(cx: &mut Ctx, rel: &str, v: &Value) -> Option<Vec<String>> {
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        cx.err(rel, "(root)", format!("expected a non-empty array of key field names, got {}; write e.g. [\"id\"] or [\"date\", \"account/id\"]", show(v)));
        return None;
    };
    let mut key = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) if !s.is_empty() && s.split('/').any(str::is_empty) => cx.err(
                rel,
                ptr(&[&i.to_string()]),
                format!("{s:?} has an empty path segment; write a top-level property as \"{0}\" or a nested one as \"parent/{0}\" (no leading, trailing or double `/`)", s.trim_matches('/')),
            ),
            Some(s) if !s.is_empty() => key.push(s.to_string()),
            _ => cx.err(
                rel,
                ptr(&[&i.to_string()]),
                format!(
                    "expected a non-empty field name string, got {}; write e.g. \"id\"",
                    show(item)
                ),
            ),
        }
    }
    (key.len() == items.len()).then_some(key)
}

fn check_normalize(cx: &mut Ctx, rel: &str, v: &Value) -> Vec<(String, Normalization)> {
    let names: Vec<_> = Normalization::ALL.iter().map(|n| n.name()).collect();
    let Some(items) = v.as_array() else {
        cx.err(rel, "(root)", format!("expected an array of {{\"pointer\": \"/a/b\", \"normalization\": \"datetime_to_date\"}}, got {}", show(v)));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let i = i.to_string();
        let Some(obj) = item.as_object() else {
            cx.err(rel, ptr(&[&i]), format!("expected {{\"pointer\": \"/a/b\", \"normalization\": \"datetime_to_date\"}}, got {}", show(item)));
            continue;
        };
        for k in obj
            .keys()
            .filter(|k| !matches!(k.as_str(), "pointer" | "normalization"))
        {
            cx.err(
                rel,
                ptr(&[&i, k]),
                format!("unknown field {k:?}; an entry has only \"pointer\" and \"normalization\""),
            );
        }
        let pointer = match obj.get("pointer") {
            Some(Value::String(p)) if is_pointer(p) => Some(p.clone()),
            Some(Value::String(p)) => {
                cx.err(
                    rel,
                    ptr(&[&i, "pointer"]),
                    format!("{p:?} is not a JSON pointer; {}", pointer_fix(p)),
                );
                None
            }
            Some(other) => {
                cx.err(
                    rel,
                    ptr(&[&i, "pointer"]),
                    format!("expected a JSON pointer string, got {}", show(other)),
                );
                None
            }
            None => {
                cx.err(rel, ptr(&[&i]), "missing \"pointer\"; add the JSON pointer of the field to normalize, e.g. \"/created_at\"");
                None
            }
        };
        let normalization = match obj.get("normalization") {
            Some(Value::String(n)) => match Normalization::from_name(n) {
                Some(n) => Some(n),
                None => {
                    let hint = names
                        .iter()
                        .find(|k| strsim::levenshtein(&n.to_lowercase().replace('-', "_"), k) <= 3)
                        .map(|k| format!("did you mean {k:?}? "))
                        .unwrap_or_default();
                    cx.err(
                        rel,
                        ptr(&[&i, "normalization"]),
                        format!(
                            "unknown normalization {n:?}; {hint}known (snake_case): {}",
                            names.join(", ")
                        ),
                    );
                    None
                }
            },
            Some(other) => {
                cx.err(
                    rel,
                    ptr(&[&i, "normalization"]),
                    format!(
                        "expected a normalization name string, got {}; known: {}",
                        show(other),
                        names.join(", ")
                    ),
                );
                None
            }
            None => {
                cx.err(
                    rel,
                    ptr(&[&i]),
                    format!("missing \"normalization\"; known: {}", names.join(", ")),
                );
                None
            }
        };
        if let (Some(p), Some(n)) = (pointer, normalization) {
            out.push((p, n));
        }
    }
    out
}

/// The closest known name within two edits of `name`, if any.
fn near(name: &str, known: &[&str]) -> Option<(usize, String)> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(name, k), k.to_string()))
        .filter(|(d, _)| *d > 0 && *d <= 2)
        .min()
}

/// Splits a `streams/` file name into (stream, known suffix), or suggests the
/// closest known name.
fn stream_name_kind(file: &str) -> Result<(String, &'static str), Option<String>> {
    for suffix in STREAM_SUFFIXES {
        if let Some(stem) = file.strip_suffix(suffix).filter(|s| !s.is_empty()) {
            return Ok((stem.to_string(), suffix));
        }
    }
    let mut best: Option<(usize, String)> = None;
    for (i, _) in file.match_indices('.').filter(|(i, _)| *i > 0) {
        if let Some((d, k)) = near(&file[i..], STREAM_SUFFIXES) {
            let cand = (d, format!("{}{k}", &file[..i]));
            if best.as_ref().is_none_or(|b| cand.0 < b.0) {
                best = Some(cand);
            }
        }
    }
    Err(best.map(|(_, s)| s))
}

/// The entries of a folder as (name, is a folder), sorted by name; `None`
/// when it cannot be read.
fn sorted_entries(dir: &Path) -> Option<Vec<(String, bool)>> {
    let mut names: Vec<(String, bool)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().is_dir(),
            )
        })
        .collect();
    names.sort();
    Some(names)
}

/// Checks every name in the folder: unknown top-level files and folders.
fn check_names(cx: &mut Ctx) {
    let Some(names) = sorted_entries(&cx.dir) else {
        return;
    };
    for (name, is_dir) in names {
        // `*.lock.txt`: lock files named by connector.json `upstream.lock`.
        if name.starts_with('.')
            || TOP_LEVEL.contains(&name.as_str())
            || name.ends_with(".lock.txt")
        {
            continue;
        }
        if is_dir {
            // `tests/`: the connector's mock API (`tests/mock/`, read by the
            // end-to-end tests and `cargo xtask capture --mock`, not by codegen).
            if name == STREAMS_DIR || name == TESTS_DIR {
                continue;
            }
            match near(&name, &[STREAMS_DIR]) {
                Some((_, k)) => cx.err(&format!("{name}/"), "(file)", format!("unknown folder name; did you mean `{k}/`?")),
                None => cx.warnings.push(format!("{name}/: unknown folder, ignored (patch files of streams go in `{STREAMS_DIR}/`)")),
            }
            continue;
        }
        if let Some((_, k)) = near(&name, TOP_LEVEL) {
            cx.err(
                &name,
                "(file)",
                format!("unknown file name; did you mean `{k}`?"),
            );
        } else if let Ok((stream, kind)) = stream_name_kind(&name) {
            cx.warnings.push(format!("{name}: unknown file name, ignored; stream files go in `{STREAMS_DIR}/`: rename it to `{STREAMS_DIR}/{stream}{kind}` to apply it"));
        } else {
            cx.warnings.push(format!(
                "{name}: unknown file name, ignored; known files: {}",
                TOP_LEVEL.join(", ")
            ));
        }
    }
}

/// The `streams/` files: (stream, suffix, relative path), sorted by path.
fn stream_files(cx: &mut Ctx) -> Vec<(String, &'static str, String)> {
    let Some(names) = sorted_entries(&cx.dir.join(STREAMS_DIR)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, is_dir) in names {
        let rel = format!("{STREAMS_DIR}/{name}");
        if name.starts_with('.') {
            continue;
        }
        if is_dir {
            cx.warnings.push(format!("{rel}/: unknown folder, ignored (stream files are `{STREAMS_DIR}/<stream>.patch.json`, `.pk.json` or `.normalize.json`)"));
            continue;
        }
        match stream_name_kind(&name) {
            Ok((stream, kind)) => out.push((stream, kind, rel)),
            Err(Some(fix)) => cx.err(
                &rel,
                "(file)",
                format!("unknown file name; did you mean `{STREAMS_DIR}/{fix}`?"),
            ),
            Err(None) => {
                let stem = name.split('.').next().unwrap_or(&name);
                cx.warnings.push(format!(
                    "{rel}: unknown file name, ignored; if it is a schema patch of stream {stem:?}, rename it to `{STREAMS_DIR}/{stem}.patch.json` (also `.pk.json`, `.normalize.json`)"
                ));
            }
        }
    }
    out
}
