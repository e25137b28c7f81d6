//! What an `open` sets up before the connector runs, binding by binding:
//! the translator's [`Binding`] (stream, normalizer, response prefix), the
//! configured stream of the catalog ([`super::catalog`]), and the binding's
//! state key (Flow's `stateKey`, [`crate::state`]).

use serde_json::{json, Value};

use super::catalog::{ConfiguredCatalog, ConfiguredStream, KeyRange, Stream};
use super::translate::{mark_unique, Binding};
use crate::flow::request::{CaptureBinding, Range};
use crate::flow::response;
use crate::normalize::DocNormalizer;
use crate::{state, Error};

/// What [`setup`] gives, one entry per binding, in binding order.
pub struct Setup {
    pub bindings: Vec<Binding>,
    pub catalog: ConfiguredCatalog,
    pub state_bindings: Vec<state::StateBinding>,
}

/// Sets up the `open`'s bindings (`capture_bindings`, shard `range`).
pub fn setup(
    connector: &patches::Connector,
    capture_bindings: Vec<CaptureBinding>,
    range: Option<Range>,
) -> Result<Setup, Error> {
    let mut bindings = Vec::with_capacity(capture_bindings.len());
    let mut streams = Vec::with_capacity(capture_bindings.len());
    let mut state_bindings = Vec::with_capacity(capture_bindings.len());
    // Bindings taken by value: their schemas move into the catalog (the
    // clones took 1.5-2 ms of the 16 ms open of `cargo xtask bench`'s 10x
    // schema).
    for (i, mut b) in capture_bindings.into_iter().enumerate() {
        let rc = &b.resource_config;
        let stream = rc.get("stream").and_then(Value::as_str).ok_or_else(|| {
            Error::Request(format!(
                "open: /capture/bindings/{i}/resourceConfig/stream is missing or not a string: each binding names the Airbyte stream it captures"
            ))
        })?;
        let namespace = rc
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let sync_mode = rc
            .get("syncMode")
            .or_else(|| rc.get("sync_mode"))
            .and_then(Value::as_str)
            .unwrap_or("full_refresh");
        let cursor_field = rc
            .get("cursorField")
            .or_else(|| rc.get("cursor_field"))
            .cloned()
            .filter(|c| !c.is_null())
            .unwrap_or_else(|| json!([]));
        let schema = b
            .collection
            .write_schema
            .take()
            .or_else(|| b.collection.read_schema.take())
            .unwrap_or_else(|| json!({}));
        let primary_key = b
            .collection
            .key
            .iter()
            .enumerate()
            .map(|(j, k)| {
                patches::pointer::Pointer::parse(k)
                    .map(patches::pointer::Pointer::into_tokens)
                    .map_err(|e| {
                        Error::Request(format!(
                            "open: /capture/bindings/{i}/collection/key/{j}: {e}: Flow sends the collection's key as JSON pointers"
                        ))
                    })
            })
            .collect::<Result<Vec<Vec<String>>, Error>>()?;

        let declared = connector.streams.for_stream(stream).normalizations;
        let normalizer = DocNormalizer::new(&schema, declared);
        let noop = normalizer.is_noop();
        tracing::debug!(binding = i, stream, noop, "binding");

        streams.push(ConfiguredStream {
            stream: Stream {
                name: stream.to_string(),
                namespace: namespace.map(str::to_string),
                json_schema: schema,
                supported_sync_modes: [sync_mode.to_string()],
            },
            sync_mode: sync_mode.to_string(),
            cursor_field,
            destination_sync_mode: "append",
            primary_key,
        });
        // Flow sends each binding's `stateKey`; an older Flow did not: then
        // it is derived as Flow derives it (`state::state_key`), from the
        // resource path it sent or the one our spec's pointers give.
        let state_key = if b.state_key.is_empty() {
            let path = if b.resource_path.is_empty() {
                namespace
                    .into_iter()
                    .chain([stream])
                    .map(str::to_string)
                    .collect()
            } else {
                std::mem::take(&mut b.resource_path)
            };
            state::state_key(&path, b.backfill)
        } else {
            std::mem::take(&mut b.state_key)
        };
        state_bindings.push(state::StateBinding {
            namespace: namespace.map(str::to_string),
            stream: stream.to_string(),
            state_key: state_key.clone(),
        });
        let prefix = response::captured_prefix(i);
        bindings.push(Binding {
            stream: stream.to_string(),
            namespace: namespace.map(str::to_string),
            normalizer,
            noop,
            prefix,
            unique_stream: false,
            state_key,
        });
    }
    mark_unique(&mut bindings);
    let catalog = ConfiguredCatalog {
        streams,
        range: KeyRange::new(range),
    };
    Ok(Setup {
        bindings,
        catalog,
        state_bindings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::request::Open;

    /// The configured catalog the connector is given, in key order, for
    /// opens that cover every field (golden snapshots: they were checked
    /// byte for byte against the map-built catalog this typed one replaced).
    #[test]
    fn configured_catalogs() {
        let schema = json!({
            "type": "object",
            "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}},
            "required": ["id"],
            "$schema": "http://json-schema.org/draft-07/schema#",
        });
        let opens = [
            // `runtime/tests/common::open_request`'s shape.
            json!({"capture": {"name": "acmeCo/capture", "config": {}, "bindings": [
                {"resourceConfig": {"stream": "users", "syncMode": "incremental", "cursorField": ["updated_at"]},
                 "resourcePath": ["users"], "stateKey": "users",
                 "collection": {"name": "acmeCo/users", "writeSchema": schema, "key": ["/id"]}},
                {"resourceConfig": {"stream": "s", "syncMode": "incremental", "cursorField": ["updated_at"]},
                 "resourcePath": ["s"], "stateKey": "s",
                 "collection": {"name": "acmeCo/s", "writeSchema": {}, "key": ["/id"]}},
            ]}, "range": {"keyBegin": 0, "keyEnd": 4294967295u32}}),
            // Namespaces (one empty), snake_case resource config, a null
            // cursor, no cursor, the read schema, no schema, keys with escapes
            // and several tokens, no key, a partial range.
            json!({"capture": {"bindings": [
                {"resourceConfig": {"stream": "a", "namespace": "ns", "sync_mode": "full_refresh", "cursor_field": null},
                 "collection": {"readSchema": schema, "key": ["/a/b~1c", "/x~0y", "/"]}},
                {"resourceConfig": {"stream": "b", "namespace": ""},
                 "collection": {"key": []}},
                {"resourceConfig": {"stream": "c", "syncMode": "incremental", "cursorField": ["a", "b"]},
                 "collection": {"writeSchema": true, "readSchema": schema}, "backfill": 2},
                {"resourceConfig": {"stream": "a", "namespace": "other"}},
            ]}, "range": {"keyBegin": 2147483648u32}}),
            // No range, no bindings.
            json!({"capture": {"bindings": []}}),
        ];
        for (n, open) in opens.into_iter().enumerate() {
            let typed: Open = serde_json::from_value(open).unwrap();
            let typed = setup(
                &patches::Connector::EMPTY,
                typed.capture.bindings,
                typed.range,
            )
            .unwrap()
            .catalog;
            insta::assert_snapshot!(
                format!("configured_catalog_{n}"),
                serde_json::to_string_pretty(&typed).unwrap()
            );
        }
    }
}
