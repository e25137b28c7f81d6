//! [`resume`]: how an `open` starts from the state Flow persisted (layout in the module docs of `crate::state`).

use serde_json::{json, Map, Value};

use super::{stream_key, StateBinding, BINDING_STATE_KEY, LEGACY_KEYS_KEY, STATE_FORMAT_KEY};

/// What an `open` starts from: the connector's `--state` file and a first
/// checkpoint (a merge patch) that tidies the persisted state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resume {
    /// The `--state` file content, or `None` for no `--state` argument.
    pub connector_state: Option<Value>,
    /// A merge patch to checkpoint before the connector's output: old-layout
    /// STREAM states moved under their binding's `stateKey`, and the states of
    /// bindings no longer in the `open` removed. `None` when nothing changes.
    pub first_checkpoint: Option<Value>,
    /// Bindings (by index) that start from no state of their own.
    pub fresh: Vec<usize>,
}

/// How an `open` starts from the state Flow persisted (`open.state`), for
/// `bindings` in binding order. `force_per_stream`: a LEGACY
/// `{"<stream>": state}` object is handed back as the per-stream list (the
/// connector moved from LEGACY to STREAM state). See the module docs.
pub fn resume(flow_state: &Value, bindings: &[StateBinding], force_per_stream: bool) -> Resume {
    let obj = match flow_state {
        Value::Null => return fresh(bindings, None),
        Value::Object(obj) if obj.is_empty() => return fresh(bindings, None),
        Value::Object(obj) => obj,
        other => {
            // Not a state this adapter wrote: the connector's own business.
            return Resume {
                connector_state: Some(other.clone()),
                ..Resume::default()
            };
        }
    };
    let per_binding = match obj.get(BINDING_STATE_KEY) {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    match (
        obj.get(STATE_FORMAT_KEY).and_then(Value::as_str),
        per_binding,
    ) {
        (Some("GLOBAL"), Some(per_binding)) => global(obj, per_binding, bindings),
        (Some("GLOBAL"), None) => {
            tracing::info!("the persisted GLOBAL state predates per-binding state keys: handed back whole; the next GLOBAL checkpoint keeps it per binding");
            let connector_state = obj
                .get("global")
                .map(|g| json!([{ "type": "GLOBAL", "global": g }]));
            Resume {
                connector_state,
                ..Resume::default()
            }
        }
        (_, Some(per_binding)) => stream(obj, per_binding, bindings),
        (Some("STREAM"), None) => migrate(obj, None, bindings),
        _ if force_per_stream => {
            let recorded = obj.get(LEGACY_KEYS_KEY).and_then(Value::as_object);
            migrate(obj, Some(recorded), bindings)
        }
        _ => legacy(obj, bindings),
    }
}

/// Every binding starts from nothing (logged when there was a state).
fn fresh(bindings: &[StateBinding], connector_state: Option<Value>) -> Resume {
    Resume {
        connector_state,
        first_checkpoint: None,
        fresh: (0..bindings.len()).collect(),
    }
}

fn log_fresh(b: &StateBinding) {
    tracing::info!(
        stream = %b.stream,
        state_key = %b.state_key,
        "no state for this binding's state key (a new binding, or its backfill was bumped): the connector reads it from the start"
    );
}

/// `{"type":"STREAM","stream":{..}}` of a binding's stream.
fn stream_entry(b: &StateBinding, stream_state: &Value) -> Value {
    json!({"type": "STREAM", "stream": {
        "stream_descriptor": descriptor(b),
        "stream_state": stream_state,
    }})
}

fn descriptor(b: &StateBinding) -> Value {
    let mut d = Map::with_capacity(2);
    d.insert("name".into(), Value::String(b.stream.clone()));
    if let Some(ns) = &b.namespace {
        d.insert("namespace".into(), Value::String(ns.clone()));
    }
    Value::Object(d)
}

fn non_empty(list: Vec<Value>) -> Option<Value> {
    (!list.is_empty()).then_some(Value::Array(list))
}

/// The per-binding STREAM layout.
fn stream(
    obj: &Map<String, Value>,
    per_binding: &Map<String, Value>,
    bindings: &[StateBinding],
) -> Resume {
    let mut list = Vec::new();
    let mut fresh = Vec::new();
    for (i, b) in bindings.iter().enumerate() {
        match per_binding.get(&b.state_key) {
            Some(s) => list.push(stream_entry(b, s)),
            None => {
                log_fresh(b);
                fresh.push(i);
            }
        }
    }
    // Remove what no binding of this open owns: states of removed bindings
    // (and of a binding's key before its backfill was bumped), and anything
    // beside `bindingStateV1` (an older layout's leftovers).
    let mut patch = Map::new();
    let mut stale = Map::new();
    for key in per_binding.keys() {
        if !bindings.iter().any(|b| &b.state_key == key) {
            stale.insert(key.clone(), Value::Null);
        }
    }
    if !stale.is_empty() {
        tracing::info!(state_keys = ?stale.keys().collect::<Vec<_>>(), "removing the state of bindings that are not in this capture");
        patch.insert(BINDING_STATE_KEY.into(), Value::Object(stale));
    }
    for key in obj.keys().filter(|k| k.as_str() != BINDING_STATE_KEY) {
        patch.insert(key.clone(), Value::Null);
    }
    Resume {
        connector_state: non_empty(list),
        first_checkpoint: (!patch.is_empty()).then_some(Value::Object(patch)),
        fresh,
    }
}

/// An object keyed by stream (`<stream>` or `<namespace>/<stream>`): the STREAM
/// layout before `stateKey`s (`recorded` None), or a LEGACY object the
/// connector wants per stream (`recorded`: the `stateKey`s it was written for,
/// if known). Each binding gets its stream's entry, moved under its
/// `stateKey` by the first checkpoint, which removes the old keys.
fn migrate(
    obj: &Map<String, Value>,
    recorded: Option<Option<&Map<String, Value>>>,
    bindings: &[StateBinding],
) -> Resume {
    let mut list = Vec::new();
    let mut fresh = Vec::new();
    let mut moved = Map::new();
    for (i, b) in bindings.iter().enumerate() {
        let old = obj.get(&stream_key(b.namespace.as_deref(), &b.stream));
        let bumped = matches!(recorded, Some(Some(r)) if !r.contains_key(&b.state_key));
        match old {
            Some(s) if !bumped => {
                list.push(stream_entry(b, s));
                moved.insert(b.state_key.clone(), s.clone());
            }
            _ => {
                log_fresh(b);
                fresh.push(i);
            }
        }
    }
    tracing::info!(
        moved = moved.len(),
        "the persisted state is keyed by stream: its first checkpoint moves each binding's entry under the binding's state key"
    );
    let mut patch: Map<String, Value> = obj.keys().map(|k| (k.clone(), Value::Null)).collect();
    patch.insert(BINDING_STATE_KEY.into(), Value::Object(moved));
    Resume {
        connector_state: non_empty(list),
        first_checkpoint: Some(Value::Object(patch)),
        fresh,
    }
}

/// The per-binding GLOBAL layout.
fn global(
    obj: &Map<String, Value>,
    per_binding: &Map<String, Value>,
    bindings: &[StateBinding],
) -> Resume {
    let mut global = match obj.get("global") {
        Some(Value::Object(g)) => g.clone(),
        _ => Map::new(),
    };
    let mut streams = Vec::new();
    let mut fresh = Vec::new();
    for (i, b) in bindings.iter().enumerate() {
        match per_binding.get(&b.state_key) {
            Some(s) => streams.push(json!({"stream_descriptor": descriptor(b), "stream_state": s})),
            None => {
                log_fresh(b);
                fresh.push(i);
            }
        }
    }
    global.insert("stream_states".into(), Value::Array(streams));
    Resume {
        connector_state: Some(json!([{ "type": "GLOBAL", "global": global }])),
        first_checkpoint: None,
        fresh,
    }
}

/// A LEGACY object: handed back verbatim, without the recorded keys.
fn legacy(obj: &Map<String, Value>, bindings: &[StateBinding]) -> Resume {
    let mut data = obj.clone();
    let recorded = match data.remove(LEGACY_KEYS_KEY) {
        Some(Value::Object(r)) => Some(r),
        _ => None,
    };
    let mut first_checkpoint = None;
    match &recorded {
        None => tracing::info!("the persisted LEGACY state records no bindings (written before per-binding state keys): every binding resumes from it"),
        Some(recorded) => {
            for b in bindings.iter().filter(|b| !recorded.contains_key(&b.state_key)) {
                tracing::warn!(
                    stream = %b.stream,
                    state_key = %b.state_key,
                    "this binding has no state of its own (a new binding, or its backfill was bumped), but the connector keeps LEGACY state, one object for all streams: it cannot be reset alone, and the connector resumes it from whatever that object holds for its stream; to read it again, reset the whole capture's state"
                );
            }
            let stale: Map<String, Value> = recorded
                .keys()
                .filter(|k| !bindings.iter().any(|b| &b.state_key == *k))
                .map(|k| (k.clone(), Value::Null))
                .collect();
            if !stale.is_empty() {
                first_checkpoint = Some(json!({ LEGACY_KEYS_KEY: stale }));
            }
        }
    }
    Resume {
        connector_state: (!data.is_empty()).then_some(Value::Object(data)),
        first_checkpoint,
        fresh: Vec::new(),
    }
}
