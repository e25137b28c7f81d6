//! The `streams/` folder: per stream (or for every stream, `*`) a schema patch
//! (`<stream>.patch.json`), a key (`.pk.json`) and field normalizations
//! (`.normalize.json`), gathered into [`StreamFiles`].

use std::collections::BTreeMap;

use patches::Normalization;
use serde_json::Value;

use super::context::{show, Ctx};
use super::names::{sorted_entries, stream_name_kind, STREAMS_DIR};
use super::pointer::{is_pointer, pointer_fix, ptr};

/// The files of one stream (or of the `*` wildcard), validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamFiles {
    pub schema_patch: Option<Value>,
    pub key: Option<Vec<String>>,
    pub normalizations: Vec<(String, Normalization)>,
}

/// Reads every `streams/` file: the streams with files of their own, by name,
/// and the `*` wildcard's files.
pub(super) fn load(cx: &mut Ctx) -> (BTreeMap<String, StreamFiles>, StreamFiles) {
    let mut streams = BTreeMap::new();
    let mut wildcard = StreamFiles::default();
    for (stream, kind, rel) in stream_files(cx) {
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
            ".pk.json" => files.key = check_pk(cx, &rel, &v),
            _ => files.normalizations = check_normalize(cx, &rel, &v),
        }
    }
    (streams, wildcard)
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

/// A `.pk.json` file: the key, when every field name is good.
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

/// A `.normalize.json` file: its good `(pointer, normalization)` entries.
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
