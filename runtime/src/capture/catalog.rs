//! The configured catalog the connector's `read` is given (`--catalog`):
//! Airbyte's `ConfiguredAirbyteCatalog`, one configured stream per binding,
//! in binding order, plus `estuary.dev/range`, the shard's key range (which
//! Estuary's Airbyte connectors read to split their work).
//!
//! Typed, serialized once when written to the connector's private directory
//! (`crate::connector::Workdir::write`). The schemas are moved in, not
//! copied: on `cargo xtask bench`'s 10x schema, cloning them took 1.5-2 ms
//! of a 16 ms open, and building the catalog with `json!` (which copies each
//! value through `to_value`) half the instructions of a large catalog's open
//! (callgrind).

use serde::Serialize;
use serde_json::Value;

use crate::flow::request::Range;

/// `ConfiguredAirbyteCatalog`, with Estuary's key range.
#[derive(Debug, Serialize)]
pub struct ConfiguredCatalog {
    pub streams: Vec<ConfiguredStream>,
    #[serde(rename = "estuary.dev/range")]
    pub range: KeyRange,
}

/// `estuary.dev/range`: the first and last key of the shard's range, eight
/// hex digits each.
#[derive(Debug, Serialize)]
pub struct KeyRange {
    pub begin: String,
    pub end: String,
}

impl KeyRange {
    /// The `open`'s range (all keys when it has none).
    pub fn new(range: Option<Range>) -> Self {
        let range = range.unwrap_or_default();
        KeyRange {
            begin: format!("{:08x}", range.key_begin),
            end: format!("{:08x}", range.key_end.unwrap_or(u32::MAX)),
        }
    }
}

/// `ConfiguredAirbyteStream`: what to read of one stream, and how.
#[derive(Debug, Serialize)]
pub struct ConfiguredStream {
    pub stream: Stream,
    pub sync_mode: String,
    /// The binding's `cursorField` as Flow sent it (`[]` when absent).
    pub cursor_field: Value,
    /// Always `append`: Flow reduces the documents itself.
    pub destination_sync_mode: &'static str,
    /// The collection key's pointers, as paths (`/a/b~1c` -> `["a", "b/c"]`).
    pub primary_key: Vec<Vec<String>>,
}

/// `AirbyteStream`: the stream's name, namespace and schema.
#[derive(Debug, Serialize)]
pub struct Stream {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub json_schema: Value,
    /// The one sync mode configured.
    pub supported_sync_modes: [String; 1],
}
