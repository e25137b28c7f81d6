//! A connector folder, read and validated: [`load`] calls one loader per file
//! kind, in a fixed order (so problems come out in that order), and gathers
//! what they read into [`Loaded`].
//!
//! One module per file kind: `connector_json` (`connector.json`), `spec`
//! (`spec.patch.json`, `spec.map.json`), `oauth2`, `documentation_url`,
//! `run_interval`, `stream_lists` (`selected_streams.json`,
//! `omitted_streams.json`), `schema_normalizations`, `streams` (`streams/`),
//! `spec_recorded` (`spec.recorded.json`, last: it applies the spec patches).
//! `names` knows the file names and reports unknown ones; `context` reads one
//! file and collects problems; `pointer` writes and checks JSON pointers.

use std::collections::BTreeMap;
use std::path::Path;

use patches::{OAuth2, SchemaNormalization};
use serde_json::Value;

use crate::Problems;

pub mod connector_json;
mod context;
mod documentation_url;
pub mod names;
pub mod oauth2;
mod pointer;
mod run_interval;
mod schema_normalizations;
mod spec;
pub mod spec_recorded;
mod stream_lists;
pub mod streams;

use connector_json::ConnectorJson;
use context::Ctx;
use spec_recorded::RecordedSpecFile;
use streams::StreamFiles;

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

/// Reads and validates `dir` (a connector folder), reporting every problem at once.
pub fn load(dir: &Path) -> Result<Loaded, Problems> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cx = Ctx::new(dir);
    if !dir.is_dir() {
        cx.err(
            &dir.display().to_string(),
            "(file)",
            format!("connector folder {name:?} does not exist; create it (`cargo xtask new-connector`) or pass --connectors-dir"),
        );
        return Err(cx.into_problems());
    }

    names::check(&mut cx);
    let (connector, entrypoint) = connector_json::load(&mut cx, &name);
    let config_patch = spec::load_patch(&mut cx);
    let config_map = spec::load_map(&mut cx);
    let oauth2 = oauth2::load(&mut cx);
    let documentation_url = documentation_url::load(&mut cx);
    let run_interval_minutes = run_interval::load(&mut cx);
    let (selected, omitted) = stream_lists::load(&mut cx);
    let schema_normalizations = schema_normalizations::load(&mut cx);
    let (streams, wildcard) = streams::load(&mut cx);
    let (recorded, flow_spec) = spec_recorded::load(
        &mut cx,
        &name,
        connector.as_ref(),
        config_patch.as_ref(),
        &oauth2,
        documentation_url.as_deref(),
    );

    if !cx.problems.is_empty() {
        return Err(cx.into_problems());
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
