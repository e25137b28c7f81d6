//! Airbyte state <-> Flow connector state, kept per binding.
//!
//! Flow persists the reduction of a capture's checkpoints: each
//! `checkpoint.state.updated` is RFC 7396-merged into the persisted state when
//! `mergePatch` is true, and replaces it otherwise. Flow never edits that
//! state itself. It gives each binding of an `open` a `stateKey` (its
//! resource path, percent-encoded, with `.v<backfill>` once the binding's
//! backfill counter was bumped: estuary/flow `assemble::encode_state_key`), and
//! a changed `stateKey` is its only signal that the binding must be read again
//! from the start. So state is kept per `stateKey`, as Estuary's own connectors
//! do (`bindingStateV1`, estuary/connectors `estuary-cdk/estuary_cdk/
//! shim_airbyte_cdk.py` and the Go connectors' `captureState`).
//!
//! [`checkpoint`] turns one Airbyte `STATE` message into a checkpoint;
//! [`resume`] turns the persisted state back into what the connector reads
//! from `--state`, plus a first checkpoint that moves or removes what no
//! binding of this `open` owns.
//!
//! # Layout of the persisted Flow state
//!
//! - **STREAM** (`{"type":"STREAM","stream":{"stream_descriptor":..,"stream_state":..}}`):
//!   the checkpoint is the merge patch `{"bindingStateV1": {"<stateKey>":
//!   stream_state}}` of the binding capturing that stream. Streams' states
//!   accumulate side by side; [`resume`] hands back the per-stream list
//!   `[{"type":"STREAM","stream":{..}}, ..]` of the bindings whose `stateKey`
//!   has a state, and leaves the others out: a binding whose backfill was
//!   bumped (or that is new) is read from the start.
//!   Merge-patch consequences, by design of the checkpoint shape: a key that
//!   a newer `stream_state` no longer has keeps its older value, and a `null`
//!   inside a `stream_state` removes that key (the connector then reads it as
//!   absent rather than null). A `stream_state` that is `null` or absent
//!   would, as a merge patch, delete the binding's state; it becomes `{}`
//!   instead (the state persisted so far is kept) and is logged at warn level.
//!   A STATE of a stream that no binding captures is logged and dropped, as
//!   Estuary's shim does.
//!   Bindings no longer in the `open`: their entries are removed (`null`) by
//!   the first checkpoint of the next `open`, so a binding removed and added
//!   again later is read in full.
//! - **GLOBAL** (`{"type":"GLOBAL","global":{"shared_state":..,"stream_states":[..]}}`):
//!   the checkpoint `{"_atf_state_format":"GLOBAL","global":<global without
//!   stream_states>,"bindingStateV1":{"<stateKey>": stream_state}}` replaces
//!   the persisted state (`mergePatch` false), so the shared state and every
//!   stream state survive together. Handed back as `[{"type":"GLOBAL","global":
//!   ..}]` with the `stream_states` of the bindings whose `stateKey` has one: a
//!   bumped binding's stream state is reset, the shared state kept. Stream
//!   states of bindings no longer in the `open` are gone with the next GLOBAL
//!   checkpoint, which holds only the bindings of its own `open`.
//! - **LEGACY** (`{"type":"LEGACY","data":{..},"merge"?:bool}`, or a state
//!   with only `data`): one object for all streams, which the adapter cannot
//!   take apart. The checkpoint is `data` verbatim, merged when the message's
//!   `merge` (or `estuary.dev/merge`) flag is true, replacing otherwise, with
//!   one key added when `data` is an object: `"_atf_state_keys": {"<stateKey>":
//!   true, ..}`, the bindings it was written for. Handed back verbatim without
//!   that key. A binding whose `stateKey` is not among them (bumped, or new)
//!   cannot be reset alone: [`resume`] says so in a warning and the connector
//!   resumes from the shared object. With `AIRBYTE_TO_FLOW_STATE_FORMAT=
//!   per_stream` (the connector declares the object is `{"<stream>": state}`
//!   and wants the per-stream list, CDK 6+) the object is taken apart: it is
//!   moved into `bindingStateV1` like the old STREAM layout below, and a
//!   bumped binding's stream is left out.
//!
//! The connector gets no `--state` file at all when nothing is left for it
//! (`null`, `{}`, or no binding with a state).
//!
//! # Upgrade from the layout before `stateKey`s
//!
//! STREAM state was `{"_atf_state_format":"STREAM","<stream>" or
//! "<namespace>/<stream>": stream_state}`. [`resume`] hands each binding the
//! entry of its stream and its first checkpoint moves it under the binding's
//! `stateKey` (and removes the old keys), so nothing is read again. GLOBAL
//! (`{"_atf_state_format":"GLOBAL","global":..}`) and LEGACY states carry over
//! as they are, and take the new layout with the connector's next checkpoint.

use patches::apply::excerpt;
use serde_json::{json, Map, Value};

/// The reserved key of the persisted state that records its layout (GLOBAL,
/// and STREAM before `stateKey`s).
pub const STATE_FORMAT_KEY: &str = "_atf_state_format";

/// The map of per-binding states, keyed by `stateKey` (Estuary's name).
pub const BINDING_STATE_KEY: &str = "bindingStateV1";

/// The key added to a LEGACY object: the `stateKey`s it was written for.
pub const LEGACY_KEYS_KEY: &str = "_atf_state_keys";

/// One Flow checkpoint (`checkpoint.state`): `updated` and `mergePatch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub updated: Value,
    pub merge_patch: bool,
}

/// A STATE message the adapter cannot turn into a checkpoint.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StateError {
    #[error("connector STATE message: \"state\" is {got}, not an object: the connector does not follow the Airbyte protocol")]
    NotAnObject { got: String },
    #[error("connector STATE message of type {ty:?} lacks {pointer:?} (got {got}): the connector does not follow the Airbyte protocol")]
    Missing {
        ty: String,
        pointer: &'static str,
        got: String,
    },
    #[error("connector STATE message has unknown type {ty:?}: expected LEGACY, STREAM or GLOBAL")]
    UnknownType { ty: String },
}

/// Flow's `stateKey` of a binding: its resource path joined with `/`, every
/// character but letters, digits and `-_+.=` percent-encoded (as UTF-8
/// bytes, upper-case hex), then `.v<backfill>` when `backfill` is not 0.
/// The rule and its test vectors are estuary/flow's
/// `crates/assemble/src/lib.rs` (`encode_state_key`, `test_state_key_escapes`):
/// "letters and digits" are Unicode's (`char::is_alphanumeric`), as there.
/// Used when an `open` carries no `stateKey` (Flow before `stateKey`s).
pub fn state_key(resource_path: &[impl AsRef<str>], backfill: u32) -> String {
    let joined = resource_path
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("/");
    let mut key = String::with_capacity(joined.len());
    for c in joined.chars() {
        if c.is_alphanumeric() || matches!(c, '-' | '_' | '+' | '.' | '=') {
            key.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                key.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if backfill != 0 {
        key.push_str(&format!(".v{backfill}"));
    }
    key
}

/// The key of a stream in the STREAM layout before `stateKey`s:
/// `<namespace>/<name>`, or the name alone.
pub fn stream_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The bindings of an `open`, as state sees them.
pub trait Keys {
    /// The `stateKey` of the binding capturing stream `name` of `namespace`.
    fn state_key(&self, namespace: Option<&str>, name: &str) -> Option<&str>;
    /// Every binding's `stateKey`, in binding order.
    fn state_keys(&self) -> Vec<&str>;
}

/// One binding of an `open`: its stream and its `stateKey`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateBinding {
    pub namespace: Option<String>,
    pub stream: String,
    pub state_key: String,
}

impl Keys for [StateBinding] {
    fn state_key(&self, namespace: Option<&str>, name: &str) -> Option<&str> {
        let namespace = namespace.filter(|n| !n.is_empty());
        self.iter()
            .find(|b| b.stream == name && b.namespace.as_deref() == namespace)
            .or_else(|| {
                self.iter()
                    .find(|b| b.stream == name && (b.namespace.is_none() || namespace.is_none()))
            })
            .map(|b| b.state_key.as_str())
    }
    fn state_keys(&self) -> Vec<&str> {
        self.iter().map(|b| b.state_key.as_str()).collect()
    }
}

fn descriptor_of(v: &Value) -> Option<(Option<&str>, &str)> {
    let name = v.pointer("/stream_descriptor/name")?.as_str()?;
    let namespace = v
        .pointer("/stream_descriptor/namespace")
        .and_then(Value::as_str);
    Some((namespace, name))
}

/// The checkpoint of one Airbyte STATE message (`state` is the object inside
/// the message's `"state"`), or `None` for a STREAM state of a stream that no
/// binding captures (logged). See the module docs for the layout.
pub fn checkpoint<K: Keys + ?Sized>(
    state: &Value,
    keys: &K,
) -> Result<Option<Checkpoint>, StateError> {
    let Value::Object(obj) = state else {
        return Err(StateError::NotAnObject {
            got: excerpt(state),
        });
    };
    let ty = match obj.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        _ => None,
    };
    let ty = match ty {
        Some(t) => t,
        None if obj.contains_key("stream") => "STREAM",
        None if obj.contains_key("global") => "GLOBAL",
        None => "LEGACY",
    };
    let missing = |pointer: &'static str| StateError::Missing {
        ty: ty.to_string(),
        pointer,
        got: excerpt(state),
    };
    match ty {
        "STREAM" => {
            let stream = obj
                .get("stream")
                .filter(|s| s.is_object())
                .ok_or_else(|| missing("/stream"))?;
            let (namespace, name) =
                descriptor_of(stream).ok_or_else(|| missing("/stream/stream_descriptor/name"))?;
            let Some(key) = keys.state_key(namespace, name) else {
                tracing::warn!(
                    stream = name,
                    namespace,
                    "connector sent a STATE for a stream that no binding captures: dropped"
                );
                return Ok(None);
            };
            let stream_state = match stream.get("stream_state") {
                None | Some(Value::Null) => {
                    tracing::warn!(
                        stream = name,
                        state_key = key,
                        "connector sent a STATE with a null stream_state: keeping the binding's previous state"
                    );
                    Value::Object(Map::new())
                }
                Some(v) => v.clone(),
            };
            let mut per_binding = Map::with_capacity(1);
            per_binding.insert(key.to_string(), stream_state);
            let mut updated = Map::with_capacity(1);
            updated.insert(BINDING_STATE_KEY.into(), Value::Object(per_binding));
            Ok(Some(Checkpoint {
                updated: Value::Object(updated),
                merge_patch: true,
            }))
        }
        "GLOBAL" => {
            let Some(Value::Object(global)) = obj.get("global") else {
                return Err(missing("/global"));
            };
            let mut global = global.clone();
            let mut per_binding = Map::new();
            if let Some(Value::Array(streams)) = global.remove("stream_states") {
                for s in streams {
                    let Some((namespace, name)) = descriptor_of(&s) else {
                        return Err(missing("/global/stream_states/*/stream_descriptor/name"));
                    };
                    match keys.state_key(namespace, name) {
                        Some(key) => {
                            let stream_state = s.get("stream_state").cloned().unwrap_or(Value::Null);
                            per_binding.insert(key.to_string(), stream_state);
                        }
                        None => tracing::warn!(
                            stream = name,
                            namespace,
                            "connector's GLOBAL state holds a stream that no binding captures: its stream state is dropped"
                        ),
                    }
                }
            }
            Ok(Some(Checkpoint {
                updated: json!({
                    STATE_FORMAT_KEY: "GLOBAL",
                    "global": global,
                    BINDING_STATE_KEY: per_binding,
                }),
                merge_patch: false,
            }))
        }
        "LEGACY" => {
            let data = obj.get("data").ok_or_else(|| missing("/data"))?;
            let merge = obj
                .get("merge")
                .or_else(|| obj.get("estuary.dev/merge"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut updated = data.clone();
            if let Value::Object(map) = &mut updated {
                let recorded: Map<String, Value> = keys
                    .state_keys()
                    .into_iter()
                    .map(|k| (k.to_string(), Value::Bool(true)))
                    .collect();
                map.insert(LEGACY_KEYS_KEY.into(), Value::Object(recorded));
            }
            Ok(Some(Checkpoint {
                updated,
                merge_patch: merge,
            }))
        }
        other => Err(StateError::UnknownType {
            ty: other.to_string(),
        }),
    }
}

mod resume;
pub use resume::{resume, Resume};

#[cfg(test)]
mod tests;
