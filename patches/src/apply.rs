//! Pure functions that apply patch files to what an Airbyte connector says.
//! `codegen` calls them at build time (baked spec), `runtime` at run time, so
//! both apply patches through the same code.
//!
//! Discover rules ([`discovered_binding`]), as the reference adapter
//! (`estuary/airbyte` `airbyte-to-flow`) applies them:
//! - omitted streams give no binding; streams not in `selected_streams.json`
//!   are offered disabled;
//! - sync mode: `incremental` when the stream supports it, else `full_refresh`;
//! - key: the `.pk.json` override when there is one (each entry a top-level
//!   property, or a `/`-separated path), else the source-defined primary key,
//!   as JSON pointers (`~` and `/` escaped);
//! - cursor field: the stream's non-empty `default_cursor_field`, else the key
//!   fields (each key pointer without its leading `/`);
//! - document schema: the Airbyte `json_schema`, then the stream's merge patch,
//!   then [`crate::schema::sanitize_document_schema`], then the declared schema
//!   normalizations, then [`crate::schema::require_keys`];
//! - a stream with neither a primary key nor a `.pk.json` gets an empty `key`
//!   and an empty `cursorField`, as the reference does: Flow then asks the user
//!   for a key when the binding is enabled. Add `streams/<stream>.pk.json` to
//!   give it one.

use serde_json::{json, Map, Value};

use crate::pointer::{Pointer, PointerError};
use crate::schema;
use crate::{ConfigMove, OAuth2, SchemaNormalization, StreamPatches};

/// Flow capture protocol version of the `spec` response.
pub const PROTOCOL_VERSION: u64 = 3032023;

/// Errors of applying patches to what a connector said.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ApplyError {
    #[error("the connector's spec has no object at \"/connectionSpecification\" (got {got}): the connector's SPEC message is not an Airbyte ConnectorSpecification")]
    NoConnectionSpecification { got: String },
    #[error("{what} is not valid JSON ({source_error}): fix the patch file")]
    PatchJson { what: String, source_error: String },
    #[error("spec.map.json: config value at {from:?} to move to {to:?} is missing from the config: set {from:?} in the capture's config or remove the entry")]
    MissingConfigValue { from: String, to: String },
    #[error("spec.map.json: cannot move the config value to {to:?}: {reason}")]
    BadConfigTarget { to: String, reason: String },
    #[error("spec.map.json: {0}")]
    BadPointer(#[from] PointerError),
    #[error("discovered stream has no string \"name\" (got {got}): the connector's CATALOG message is malformed")]
    StreamWithoutName { got: String },
    #[error("discovered stream {stream:?}: {what}")]
    BadStream { stream: String, what: String },
    #[error("resource config {got} has no string \"stream\": give each binding's resource a \"stream\" name")]
    ResourceWithoutStream { got: String },
    #[error("resource config {got}: \"namespace\" must be a string when present")]
    BadResourceNamespace { got: String },
}

/// A value as JSON text, shortened for an error message.
pub fn excerpt(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        let mut end = 117;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

/// The Flow collection name recommended for an Airbyte stream name: each
/// `/`-separated part keeps only alphanumerics, `-`, `.` and `_`; empty parts
/// are dropped.
pub fn recommended_name(stream: &str) -> String {
    stream
        .split('/')
        .map(|part| {
            part.chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
                .collect::<String>()
        })
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The Flow `spec` response body (the object inside `{"spec": ...}`) from the
/// Airbyte ConnectorSpecification (the object inside an Airbyte SPEC message's
/// `spec`).
///
/// - `configSchema`: `connectionSpecification`, RFC 7396-merged with
///   `config_patch`, then [`schema::sanitize_config_schema`];
/// - `resourceConfigSchema`: [`resource_config_schema`];
/// - `documentationUrl`: `documentation_url` when given, else the connector's
///   `documentationUrl`, else omitted;
/// - `oauth2`: [`OAuth2::Replace`] gives its value; [`OAuth2::Disabled`] omits
///   it; [`OAuth2::Upstream`] keeps the connector's `advanced_auth` or
///   `auth_specification` only when it is already in Flow's shape (an object
///   with string `provider`, `authUrlTemplate` and `accessTokenUrlTemplate`),
///   since Airbyte's own OAuth shapes mean nothing to Flow;
/// - `protocol` 3032023 and `resourcePathPointers` `["/namespace", "/stream"]`.
pub fn flow_spec(
    airbyte_spec: &Value,
    config_patch: Option<&Value>,
    oauth2: OAuth2<&Value>,
    documentation_url: Option<&str>,
) -> Result<Value, ApplyError> {
    let mut config_schema = match airbyte_spec.get("connectionSpecification") {
        Some(v @ Value::Object(_)) => v.clone(),
        other => {
            return Err(ApplyError::NoConnectionSpecification {
                got: other.map_or_else(|| "nothing".to_string(), excerpt),
            })
        }
    };
    if let Some(patch) = config_patch {
        json_patch::merge(&mut config_schema, patch);
    }
    schema::sanitize_config_schema(&mut config_schema);

    let mut out = Map::new();
    out.insert("protocol".into(), json!(PROTOCOL_VERSION));
    out.insert("configSchema".into(), config_schema);
    out.insert("resourceConfigSchema".into(), resource_config_schema());
    let doc_url = documentation_url.map(str::to_string).or_else(|| {
        airbyte_spec
            .get("documentationUrl")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    if let Some(url) = doc_url {
        out.insert("documentationUrl".into(), Value::String(url));
    }
    let oauth = match oauth2 {
        OAuth2::Replace(v) => Some(v.clone()),
        OAuth2::Disabled => None,
        OAuth2::Upstream => ["advanced_auth", "auth_specification"]
            .iter()
            .filter_map(|k| airbyte_spec.get(*k))
            .find(|v| is_flow_oauth2(v))
            .cloned(),
    };
    if let Some(oauth) = oauth {
        out.insert("oauth2".into(), oauth);
    }
    out.insert(
        "resourcePathPointers".into(),
        json!(["/namespace", "/stream"]),
    );
    Ok(Value::Object(out))
}

/// Whether `v` is already an OAuth2 spec in Flow's shape.
pub fn is_flow_oauth2(v: &Value) -> bool {
    ["provider", "authUrlTemplate", "accessTokenUrlTemplate"]
        .iter()
        .all(|k| v.get(*k).is_some_and(Value::is_string))
}

/// The resource config schema of every binding: `stream` (required),
/// `namespace`, `syncMode` (`incremental` | `full_refresh`, required) and
/// `cursorField` (array of strings).
pub fn resource_config_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "ResourceSpec",
        "type": "object",
        "properties": {
            "stream": {"type": "string", "description": "Name of the Airbyte stream."},
            "namespace": {"type": ["string", "null"], "description": "Namespace of the Airbyte stream, if it has one."},
            "syncMode": {"type": "string", "enum": ["incremental", "full_refresh"], "description": "Sync this resource incrementally, or fully refresh it every run."},
            "cursorField": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Fields of the cursor of an incremental sync."}
        },
        "required": ["stream", "syncMode"]
    })
}

/// `spec.map.json`: moves config values (`to` <- `from`) before the connector
/// sees the config. Every move reads the config as it was before any move, so
/// moves may swap values. The value at `from` is removed; objects along `to`
/// are created. An empty `to` only removes `from`. A missing `from` value is an
/// error naming both pointers (the config lacks what the connector needs).
pub fn remap_config(config: &mut Value, map: &[ConfigMove]) -> Result<(), ApplyError> {
    let original = config.clone();
    let mut moved = Vec::with_capacity(map.len());
    let mut sources = Vec::with_capacity(map.len());
    for m in map {
        let from = Pointer::parse(m.from)?;
        let to = Pointer::parse(m.to)?;
        let value = from
            .get(&original)
            .ok_or_else(|| ApplyError::MissingConfigValue {
                from: m.from.to_string(),
                to: m.to.to_string(),
            })?
            .clone();
        moved.push((to, value, m.to));
        sources.push(from);
    }
    // Remove every source first, then write every target, so a target that is
    // another entry's source is not removed after it was written.
    for from in &sources {
        if let Some((parent, last)) = from.split_last() {
            if let Some(obj) = parent.get_mut(config).and_then(Value::as_object_mut) {
                obj.remove(last);
            }
        }
    }
    for (to, value, to_str) in moved {
        if to.is_root() {
            continue;
        }
        let mut cur = &mut *config;
        for t in to.tokens() {
            if cur.is_null() {
                *cur = Value::Object(Map::new());
            }
            let Value::Object(obj) = cur else {
                return Err(ApplyError::BadConfigTarget {
                    to: to_str.to_string(),
                    reason: format!("a parent of the target is not an object ({})", excerpt(cur)),
                });
            };
            cur = obj.entry(t.clone()).or_insert(Value::Null);
        }
        *cur = value;
    }
    Ok(())
}

/// One Flow discovered binding (`recommendedName`, `resourceConfig`,
/// `resourcePath`, `documentSchema`, `key`, `disable`) from one Airbyte stream of a CATALOG
/// message, or `None` when the stream is omitted. See the module docs for the
/// rules.
pub fn discovered_binding(
    stream: &Value,
    patches: &StreamPatches,
) -> Result<Option<Value>, ApplyError> {
    let name = stream.get("name").and_then(Value::as_str).ok_or_else(|| {
        ApplyError::StreamWithoutName {
            got: excerpt(stream),
        }
    })?;
    if patches.is_omitted(name) {
        return Ok(None);
    }
    let bad = |what: String| ApplyError::BadStream {
        stream: name.to_string(),
        what,
    };
    let resolved = patches.for_stream(name);

    let incremental = stream
        .get("supported_sync_modes")
        .and_then(Value::as_array)
        .is_some_and(|modes| modes.iter().any(|m| m == "incremental"));

    let key: Vec<String> = match resolved.key {
        Some(fields) => fields
            .iter()
            .map(|f| f.split('/').collect::<Pointer>().to_string())
            .collect(),
        None => match stream.get("source_defined_primary_key") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(paths)) => paths
                .iter()
                .map(|path| {
                    let tokens = path.as_array().ok_or_else(|| {
                        bad(format!(
                            "\"source_defined_primary_key\" entry {} is not an array of strings",
                            excerpt(path)
                        ))
                    })?;
                    tokens
                        .iter()
                        .map(|t| {
                            t.as_str().ok_or_else(|| {
                                bad(format!(
                                    "\"source_defined_primary_key\" entry {} is not an array of strings",
                                    excerpt(path)
                                ))
                            })
                        })
                        .collect::<Result<Pointer, _>>()
                        .map(|p| p.to_string())
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(bad(format!(
                    "\"source_defined_primary_key\" is {}, not an array",
                    excerpt(other)
                )))
            }
        },
    };

    let cursor_field: Vec<Value> = match stream.get("default_cursor_field") {
        Some(Value::Array(cf)) if !cf.is_empty() => cf.clone(),
        _ => key
            .iter()
            .map(|k| Value::String(k[1..].to_string()))
            .collect(),
    };

    let mut resource = Map::new();
    resource.insert("stream".into(), Value::String(name.to_string()));
    if let Some(ns) = stream.get("namespace").and_then(Value::as_str) {
        resource.insert("namespace".into(), Value::String(ns.to_string()));
    }
    resource.insert(
        "syncMode".into(),
        Value::String(
            if incremental {
                "incremental"
            } else {
                "full_refresh"
            }
            .into(),
        ),
    );
    resource.insert("cursorField".into(), Value::Array(cursor_field));

    let mut doc_schema = match stream.get("json_schema") {
        Some(v @ Value::Object(_)) | Some(v @ Value::Bool(_)) => v.clone(),
        None | Some(Value::Null) => json!({}),
        Some(other) => {
            return Err(bad(format!(
                "\"json_schema\" is {}, not a schema object",
                excerpt(other)
            )))
        }
    };
    if let Some(patch) = resolved.schema_patch {
        let patch: Value = serde_json::from_str(patch).map_err(|e| ApplyError::PatchJson {
            what: format!("the schema patch of stream {name:?}"),
            source_error: e.to_string(),
        })?;
        json_patch::merge(&mut doc_schema, &patch);
    }
    schema::sanitize_document_schema(&mut doc_schema);
    for n in patches.schema_normalizations {
        match n {
            SchemaNormalization::DateToDatetime => schema::date_to_datetime(&mut doc_schema),
        }
    }
    schema::require_keys(&mut doc_schema, &key);

    let resource = Value::Object(resource);
    let path = resource_path(&resource)?;
    // What Flow's discover merge reads of a binding (estuary/flow
    // `go/protocols/capture/capture.proto`, `Response.Discovered.Binding`),
    // and what we leave out, with the reason:
    // - `resourcePath`: the agent now computes each binding's path itself from
    //   the spec's `resourcePathPointers` (its `update_capture_bindings`
    //   indexes bindings by them); the field is still in the proto and Flow
    //   accepts it, and it is the same path, so it stays.
    // - `x-infer-schema` in the document schema: left out. Estuary's own
    //   Airbyte shim has that line commented out (estuary/connectors
    //   `estuary-cdk/estuary_cdk/shim_airbyte_cdk.py`), and Flow's agent no
    //   longer reads it ("The x-infer-schema annotation used to be relevant,
    //   but no longer is", its evolution test fixtures): read-schema
    //   inference is Flow's default for every collection.
    // - the shim's synthesized `/_meta/row_id` key for keyless full-refresh
    //   streams: left out (our documents carry no `_meta/row_id`); such a
    //   stream is discovered with an empty key, and a `.pk.json` patch
    //   gives it one.
    Ok(Some(json!({
        "recommendedName": recommended_name(name),
        "resourceConfig": resource,
        "resourcePath": path,
        "documentSchema": doc_schema,
        "key": key,
        "disable": !patches.is_selected(name),
    })))
}

/// The Flow resource path of a resource config: `[stream]` when the namespace
/// is null or absent, `[namespace, stream]` otherwise (discover, validate, open).
///
/// This is the path Flow's control plane computes itself from the spec's
/// `resourcePathPointers` (`["/namespace", "/stream"]`): it takes the value at
/// each pointer in order and leaves out the ones that are null or missing. A
/// validate response that disagrees with that path breaks publication, so the
/// runtime must compute it the same way.
pub fn resource_path(resource_config: &Value) -> Result<Vec<String>, ApplyError> {
    let stream = resource_config
        .get("stream")
        .and_then(Value::as_str)
        .ok_or_else(|| ApplyError::ResourceWithoutStream {
            got: excerpt(resource_config),
        })?;
    match resource_config.get("namespace") {
        None | Some(Value::Null) => Ok(vec![stream.to_string()]),
        Some(Value::String(ns)) => Ok(vec![ns.clone(), stream.to_string()]),
        Some(_) => Err(ApplyError::BadResourceNamespace {
            got: excerpt(resource_config),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Connector, Normalization, Normalize, StreamPatch};

    #[test]
    fn recommended_names_are_sanitized() {
        assert_eq!(recommended_name("Hello-World"), "Hello-World");
        assert_eq!(
            recommended_name("/&foo!/B ar// b+i-n.g /"),
            "foo/Bar/bi-n.g"
        );
        assert_eq!(recommended_name("ads_insights"), "ads_insights");
    }

    #[test]
    fn spec_is_patched_sanitized_and_complete() {
        let airbyte = json!({
            "documentationUrl": "https://docs.airbyte.com/x",
            "connectionSpecification": {
                "type": "object",
                "required": ["api_key"],
                "properties": {
                    "api_key": {"type": "string", "airbyte_secret": true},
                    "start": {"type": "string", "format": "date-time", "pattern_descriptor": "YYYY"}
                }
            },
            "advanced_auth": {"auth_flow_type": "oauth2.0"}
        });
        let patch = json!({"properties": {"start": {"title": "Start"}}, "required": null});
        let spec = flow_spec(&airbyte, Some(&patch), OAuth2::Upstream, None).unwrap();
        assert_eq!(
            spec,
            json!({
                "protocol": 3032023,
                "configSchema": {
                    "type": "object",
                    "properties": {
                        "api_key": {"type": "string", "secret": true},
                        "start": {"type": "string", "format": "date-time", "title": "Start"}
                    }
                },
                "resourceConfigSchema": resource_config_schema(),
                "documentationUrl": "https://docs.airbyte.com/x",
                "resourcePathPointers": ["/namespace", "/stream"]
            })
        );
    }

    #[test]
    fn spec_documentation_url_and_oauth2_follow_the_patches() {
        let flow_oauth = json!({"provider": "google", "authUrlTemplate": "a", "accessTokenUrlTemplate": "b", "accessTokenResponseMap": {}});
        let airbyte = json!({
            "documentationUrl": "https://docs.airbyte.com/x",
            "connectionSpecification": {"type": "object"},
            "advanced_auth": flow_oauth.clone(),
        });
        let spec = flow_spec(
            &airbyte,
            None,
            OAuth2::Upstream,
            Some("https://go.estuary.dev/x"),
        )
        .unwrap();
        assert_eq!(spec["documentationUrl"], "https://go.estuary.dev/x");
        assert_eq!(spec["oauth2"], flow_oauth);
        let spec = flow_spec(&airbyte, None, OAuth2::Disabled, None).unwrap();
        assert_eq!(spec.get("oauth2"), None);
        let other = json!({"provider": "p", "authUrlTemplate": "x", "accessTokenUrlTemplate": "y"});
        let spec = flow_spec(&airbyte, None, OAuth2::Replace(&other), None).unwrap();
        assert_eq!(spec["oauth2"], other);
        let no_url = json!({"connectionSpecification": {}});
        let spec = flow_spec(&no_url, None, OAuth2::Upstream, None).unwrap();
        assert_eq!(spec.get("documentationUrl"), None);
    }

    #[test]
    fn spec_without_connection_specification_is_an_error() {
        let err = flow_spec(
            &json!({"documentationUrl": "x"}),
            None,
            OAuth2::Upstream,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the connector's spec has no object at \"/connectionSpecification\" (got nothing): the connector's SPEC message is not an Airbyte ConnectorSpecification"
        );
    }

    #[test]
    fn remap_moves_values_and_creates_parents() {
        let mut config = json!({"credentials": {"client_id": "id", "client_secret": "s"}, "x": 1});
        remap_config(
            &mut config,
            &[
                ConfigMove {
                    to: "/credentials/app_id",
                    from: "/credentials/client_id",
                },
                ConfigMove {
                    to: "/auth/secret",
                    from: "/credentials/client_secret",
                },
            ],
        )
        .unwrap();
        assert_eq!(
            config,
            json!({"credentials": {"app_id": "id"}, "x": 1, "auth": {"secret": "s"}})
        );
        // The whole object moves.
        let mut config = json!({"credentials": {"a": 1}});
        remap_config(
            &mut config,
            &[ConfigMove {
                to: "/authorization",
                from: "/credentials",
            }],
        )
        .unwrap();
        assert_eq!(config, json!({"authorization": {"a": 1}}));
    }

    #[test]
    fn remap_errors_name_the_pointers() {
        let mut config = json!({"a": 1});
        let err = remap_config(
            &mut config,
            &[ConfigMove {
                to: "/b",
                from: "/credentials/x",
            }],
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "spec.map.json: config value at \"/credentials/x\" to move to \"/b\" is missing from the config: set \"/credentials/x\" in the capture's config or remove the entry");
        assert_eq!(config, json!({"a": 1}));
        let err = remap_config(
            &mut config,
            &[ConfigMove {
                to: "/a/b",
                from: "/a",
            }],
        );
        assert!(
            err.is_ok(),
            "moving into the removed source creates it: {err:?}"
        );
        let mut config = json!({"a": 1, "s": "x"});
        let err = remap_config(
            &mut config,
            &[ConfigMove {
                to: "/a/b",
                from: "/s",
            }],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("spec.map.json: cannot move the config value to \"/a/b\""),
            "{err}"
        );
        let err = remap_config(
            &mut config,
            &[ConfigMove {
                to: "b",
                from: "/s",
            }],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.map.json: \"b\" is not a JSON pointer: write it as \"/a/b\""
        );
        // A `~` other than `~0`/`~1` was read as itself before; now it is refused.
        let err = remap_config(
            &mut config,
            &[ConfigMove {
                to: "/b",
                from: "/s~2",
            }],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.map.json: \"/s~2\" is not a JSON pointer: escape `~` as `~0` and `/` inside a name as `~1`"
        );
    }

    #[test]
    fn remap_config_unescapes_tokens() {
        let mut config = json!({"a/b": {"m~n": 1}, "keep": 2});
        remap_config(
            &mut config,
            &[ConfigMove {
                to: "/x~1y/~01",
                from: "/a~1b/m~0n",
            }],
        )
        .unwrap();
        assert_eq!(config, json!({"a/b": {}, "keep": 2, "x/y": {"~1": 1}}));
    }

    fn faker_users() -> Value {
        json!({
            "name": "users",
            "json_schema": {"type": "object", "properties": {
                "id": {"type": ["null", "integer"]},
                "updated_at": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
                "gender": {"type": ["null", "string"], "enum": ["Male", "Female"]},
                "birthday": {"type": ["null", "string"], "format": "date"}
            }},
            "supported_sync_modes": ["full_refresh", "incremental"],
            "source_defined_cursor": true,
            "default_cursor_field": ["updated_at"],
            "source_defined_primary_key": [["id"]],
            "is_resumable": true
        })
    }

    #[test]
    fn binding_from_a_faker_stream() {
        let b = discovered_binding(&faker_users(), &Connector::EMPTY.streams)
            .unwrap()
            .unwrap();
        assert_eq!(
            b,
            json!({
                "recommendedName": "users",
                "resourceConfig": {"stream": "users", "syncMode": "incremental", "cursorField": ["updated_at"]},
                "resourcePath": ["users"],
                "documentSchema": {"type": "object", "properties": {
                    "id": {"type": "integer"},
                    "updated_at": {"type": ["null", "string"], "format": "date-time"},
                    "gender": {"type": ["null", "string"]},
                    "birthday": {"type": ["null", "string"], "format": "date"}
                }, "required": ["id"]},
                "key": ["/id"],
                "disable": false
            })
        );
    }

    #[test]
    fn binding_patches_keys_selection_and_normalizations() {
        static STREAMS: &[StreamPatch] = &[StreamPatch {
            name: "users",
            schema_patch: Some(r#"{"properties": {"age": {"type": "integer"}, "gender": null}}"#),
            key: Some(&["meta/id", "a~b"]),
            normalizations: &[Normalize {
                pointer: "/x",
                normalization: Normalization::DatetimeToDate,
            }],
        }];
        let patches = StreamPatches {
            streams: STREAMS,
            selected: Some(&["products"]),
            omitted: &["purchases"],
            schema_normalizations: &[SchemaNormalization::DateToDatetime],
            ..Connector::EMPTY.streams
        };
        let mut users = faker_users();
        users["namespace"] = json!("ns");
        users["default_cursor_field"] = json!([]);
        let b = discovered_binding(&users, &patches).unwrap().unwrap();
        assert_eq!(b["key"], json!(["/meta/id", "/a~0b"]));
        assert_eq!(
            b["resourceConfig"],
            json!({"stream": "users", "namespace": "ns", "syncMode": "incremental", "cursorField": ["meta/id", "a~0b"]})
        );
        assert_eq!(b["resourcePath"], json!(["ns", "users"]));
        assert_eq!(b["disable"], json!(true));
        let schema = &b["documentSchema"];
        assert_eq!(schema["properties"]["age"], json!({"type": "integer"}));
        assert_eq!(schema["properties"].get("gender"), None);
        assert_eq!(schema["properties"]["birthday"]["format"], "date-time");
        assert_eq!(schema["required"], json!(["meta", "a~b"]));
        assert_eq!(schema["properties"]["meta"]["required"], json!(["id"]));

        let purchases = json!({"name": "purchases", "json_schema": {}, "supported_sync_modes": ["full_refresh"]});
        assert_eq!(discovered_binding(&purchases, &patches).unwrap(), None);
    }

    #[test]
    fn binding_without_any_key_has_an_empty_key() {
        let s = json!({"name": "rates", "json_schema": {"type": ["null", "object"]}, "supported_sync_modes": ["full_refresh"]});
        let b = discovered_binding(&s, &Connector::EMPTY.streams)
            .unwrap()
            .unwrap();
        assert_eq!(b["key"], json!([]));
        assert_eq!(
            b["resourceConfig"],
            json!({"stream": "rates", "syncMode": "full_refresh", "cursorField": []})
        );
        assert_eq!(b["documentSchema"], json!({"type": ["null", "object"]}));
    }

    #[test]
    fn binding_errors_name_the_stream() {
        let s = json!({"name": "x", "json_schema": {}, "source_defined_primary_key": [[1]]});
        let err = discovered_binding(&s, &Connector::EMPTY.streams).unwrap_err();
        assert_eq!(err.to_string(), "discovered stream \"x\": \"source_defined_primary_key\" entry [1] is not an array of strings");
        let err =
            discovered_binding(&json!({"json_schema": {}}), &Connector::EMPTY.streams).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("discovered stream has no string \"name\""));
    }

    #[test]
    fn resource_paths() {
        assert_eq!(
            resource_path(&json!({"stream": "foo", "syncMode": "incremental"})).unwrap(),
            vec!["foo"]
        );
        assert_eq!(
            resource_path(&json!({"stream": "foo", "namespace": "ns"})).unwrap(),
            vec!["ns", "foo"]
        );
        assert_eq!(
            resource_path(&json!({"stream": "foo", "namespace": null})).unwrap(),
            vec!["foo"]
        );
        let err = resource_path(&json!({"name": "foo"})).unwrap_err();
        assert_eq!(err.to_string(), "resource config {\"name\":\"foo\"} has no string \"stream\": give each binding's resource a \"stream\" name");
    }
}
