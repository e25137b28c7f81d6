//! The names of a connector folder: its known files ([`CONNECTOR_JSON`] …,
//! `streams/` suffixes), and [`check`], which reports every other name.
//!
//! Unknown file names: a name within two edits of a known name (or of a known
//! `streams/` suffix) is an error with "did you mean"; any other unknown file is
//! ignored with a warning that names the rename that would apply it (the corpus
//! holds `source-jira/streams/project_types.json`, a schema patch the upstream
//! tool never applied, and the corpus must build as it is).

use std::path::Path;

use super::context::Ctx;

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
/// Notes on the connector's upstream for its maintainers (why this version
/// or kind), read by people, not by codegen.
pub const UPSTREAM_NOTES: &str = "UPSTREAM.md";

/// The folder of a connector's tests (its mock API), which codegen ignores.
const TESTS_DIR: &str = "tests";

/// The known top-level files.
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
    UPSTREAM_NOTES,
];
/// The known suffixes of `streams/` files.
const STREAM_SUFFIXES: &[&str] = &[".patch.json", ".pk.json", ".normalize.json"];

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
pub(super) fn stream_name_kind(file: &str) -> Result<(String, &'static str), Option<String>> {
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
pub(super) fn sorted_entries(dir: &Path) -> Option<Vec<(String, bool)>> {
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
pub(super) fn check(cx: &mut Ctx) {
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
