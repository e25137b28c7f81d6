//! Flow's capture responses, decoded strictly: hand-written serde types, one
//! per message of estuary/flow's `go/protocols/capture/capture.proto`
//! (`Response` and its nested messages) and `go/protocols/flow/flow.proto`
//! (`OAuth2`, `ConnectorState`), with the JSON names of the protobuf JSON
//! mapping those files declare (`json_name`). Each rejects a field its
//! message does not define, so a test that decodes every line a connector
//! binary writes fails on anything Flow's runtime would not take.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `capture.Response`: exactly one field is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub spec: Option<Spec>,
    pub discovered: Option<Discovered>,
    pub validated: Option<Validated>,
    pub applied: Option<Applied>,
    pub opened: Option<Opened>,
    pub captured: Option<Captured>,
    pub checkpoint: Option<Checkpoint>,
    /// `bytes internal = 100 [json_name = "$internal"]` (base64).
    #[serde(rename = "$internal")]
    pub internal: Option<String>,
}

/// `capture.Response.Spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub protocol: u32,
    /// `config_schema_json` (`json_name = "configSchema"`).
    pub config_schema: Value,
    /// `resource_config_schema_json` (`json_name = "resourceConfigSchema"`).
    pub resource_config_schema: Value,
    #[serde(default)]
    pub documentation_url: String,
    pub oauth2: Option<OAuth2>,
    #[serde(default)]
    pub resource_path_pointers: Vec<String>,
}

/// `flow.OAuth2`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuth2 {
    pub provider: String,
    #[serde(default)]
    pub auth_url_template: String,
    #[serde(default)]
    pub access_token_url_template: String,
    #[serde(default)]
    pub access_token_method: String,
    #[serde(default)]
    pub access_token_body: String,
    /// `access_token_headers_json_map` (`json_name = "accessTokenHeaders"`).
    #[serde(default)]
    pub access_token_headers: Map<String, Value>,
    /// `access_token_response_json_map` (`json_name = "accessTokenResponseMap"`).
    #[serde(default)]
    pub access_token_response_map: Map<String, Value>,
    #[serde(default)]
    pub refresh_token_url_template: String,
    #[serde(default)]
    pub refresh_token_method: String,
    #[serde(default)]
    pub refresh_token_body: String,
    /// `refresh_token_headers_json_map` (`json_name = "refreshTokenHeaders"`).
    #[serde(default)]
    pub refresh_token_headers: Map<String, Value>,
    /// `refresh_token_response_json_map` (`json_name = "refreshTokenResponseMap"`).
    #[serde(default)]
    pub refresh_token_response_map: Map<String, Value>,
}

/// `capture.Response.Discovered`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovered {
    #[serde(default)]
    pub bindings: Vec<DiscoveredBinding>,
}

/// `capture.Response.Discovered.Binding`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscoveredBinding {
    pub recommended_name: String,
    /// `resource_config_json` (`json_name = "resourceConfig"`).
    pub resource_config: Value,
    /// `document_schema_json` (`json_name = "documentSchema"`).
    pub document_schema: Value,
    #[serde(default)]
    pub key: Vec<String>,
    #[serde(default)]
    pub disable: bool,
    #[serde(default)]
    pub resource_path: Vec<String>,
}

/// `capture.Response.Validated`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validated {
    #[serde(default)]
    pub bindings: Vec<ValidatedBinding>,
}

/// `capture.Response.Validated.Binding`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidatedBinding {
    #[serde(default)]
    pub resource_path: Vec<String>,
}

/// `capture.Response.Applied`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Applied {
    #[serde(default)]
    pub action_description: String,
}

/// `capture.Response.Opened`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Opened {
    #[serde(default)]
    pub explicit_acknowledgements: bool,
}

/// `capture.Response.Captured`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Captured {
    /// Index of the `open` binding (omitted for 0).
    #[serde(default)]
    pub binding: u32,
    /// `doc_json` (`json_name = "doc"`).
    pub doc: Value,
}

/// `capture.Response.Checkpoint`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub state: Option<ConnectorState>,
}

/// `flow.ConnectorState`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConnectorState {
    /// `updated_json` (`json_name = "updated"`).
    pub updated: Value,
    #[serde(default)]
    pub merge_patch: bool,
}

impl Response {
    /// Decodes one stdout line: a JSON object with exactly one response set,
    /// every field known. The error quotes the line.
    pub fn decode(line: &str) -> Result<Response, String> {
        let r: Response = serde_json::from_str(line)
            .map_err(|e| format!("{e}: not a Flow capture response: {line}"))?;
        let set = [
            r.spec.is_some(),
            r.discovered.is_some(),
            r.validated.is_some(),
            r.applied.is_some(),
            r.opened.is_some(),
            r.captured.is_some(),
            r.checkpoint.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if set != 1 {
            return Err(format!("{set} responses set in one line, not 1: {line}"));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_of_shared_protocol_decode_field_by_field() {
        let Some(dir) = crate::shared("the_examples_of_shared_protocol_decode_field_by_field")
        else {
            return;
        };
        let all: Map<String, Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.join("protocol/capture-response.example.json")).unwrap(),
        )
        .unwrap();
        for (name, body) in &all {
            if name == "$internal" {
                continue;
            }
            let mut one = Map::new();
            one.insert(name.clone(), body.clone());
            let line = Value::Object(one).to_string();
            Response::decode(&line).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn unknown_fields_and_two_responses_are_refused() {
        let e = Response::decode(r#"{"checkpoint":{"state":{"updated":{},"merge":true}}}"#)
            .unwrap_err();
        assert!(e.contains("unknown field `merge`"), "{e}");
        let e = Response::decode(r#"{"opened":{},"captured":{"doc":{}}}"#).unwrap_err();
        assert!(e.starts_with("2 responses set"), "{e}");
        let e = Response::decode(r#"{"discovered":{"bindings":[{"recommendedName":"a","resourceConfig":{},"documentSchema":{},"x-infer":true}]}}"#).unwrap_err();
        assert!(e.contains("unknown field `x-infer`"), "{e}");
        Response::decode(r#"{"captured":{"binding":2,"doc":{"a":1}}}"#).unwrap();
    }
}
