//! Flow's capture requests as this runtime reads them (see
//! `../shared/protocol/`): parsed leniently, unknown fields ignored.

use serde::Deserialize;
use serde_json::Value;

use crate::Error;

/// One request line. Exactly one operation is set.
#[derive(Debug)]
pub enum Request {
    Spec,
    Discover(Discover),
    Validate(Validate),
    Apply,
    Open(Box<Open>),
    Acknowledge,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequest {
    spec: Option<Value>,
    discover: Option<Discover>,
    validate: Option<Validate>,
    apply: Option<Value>,
    open: Option<Box<Open>>,
    acknowledge: Option<Value>,
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RawRequest::deserialize(d)?;
        Ok(if r.spec.is_some() {
            Request::Spec
        } else if let Some(x) = r.discover {
            Request::Discover(x)
        } else if let Some(x) = r.validate {
            Request::Validate(x)
        } else if r.apply.is_some() {
            Request::Apply
        } else if let Some(x) = r.open {
            Request::Open(x)
        } else if r.acknowledge.is_some() {
            Request::Acknowledge
        } else {
            let keys: Vec<String> = r
                .other
                .keys()
                .filter(|k| !k.starts_with('$'))
                .map(|k| format!("{k:?}"))
                .collect();
            return Err(serde::de::Error::custom(format!(
                "unsupported request with fields [{}]; expected one of \"spec\", \"discover\", \"validate\", \"apply\", \"open\", \"acknowledge\"",
                keys.join(", ")
            )));
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct Discover {
    #[serde(default)]
    pub config: Value,
}

#[derive(Debug, Deserialize)]
pub struct Validate {
    #[serde(default)]
    pub config: Value,
    #[serde(default)]
    pub bindings: Vec<ValidateBinding>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateBinding {
    #[serde(default)]
    pub resource_config: Value,
}

#[derive(Debug, Deserialize)]
pub struct Open {
    pub capture: Capture,
    #[serde(default)]
    pub range: Option<Range>,
    #[serde(default)]
    pub state: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Capture {
    #[serde(default)]
    pub config: Value,
    #[serde(default)]
    pub bindings: Vec<CaptureBinding>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureBinding {
    #[serde(default)]
    pub resource_config: Value,
    /// The resource path Flow computed with our `resourcePathPointers`.
    #[serde(default)]
    pub resource_path: Vec<String>,
    #[serde(default)]
    pub collection: Collection,
    /// Bumped by Flow when the user asks for the binding to be read again.
    #[serde(default)]
    pub backfill: u32,
    /// The key of the binding's state: its resource path, percent-encoded,
    /// with `.v<backfill>` (see `crate::state`). Empty from an older Flow.
    #[serde(default)]
    pub state_key: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub write_schema: Option<Value>,
    #[serde(default)]
    pub read_schema: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    #[serde(default)]
    pub key_begin: u32,
    #[serde(default)]
    pub key_end: Option<u32>,
}

/// Decodes the `n`th line of stdin as a Flow capture request.
pub fn decode_request(n: usize, line: &[u8]) -> Result<Request, Error> {
    serde_json::from_slice(line).map_err(|err| {
        Error::Request(format!(
            "request {n} on stdin is not a Flow capture request ({err}): send one JSON object per line"
        ))
    })
}
