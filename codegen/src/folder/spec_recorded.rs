//! `spec.recorded.json` ([`RecordedSpecFile`]): the upstream spec recorded by
//! `cargo xtask record-spec`, and the Flow spec built from it with every spec
//! patch applied (`patches::apply::flow_spec`).

use patches::OAuth2;
use serde_json::Value;

use super::connector_json::ConnectorJson;
use super::context::Ctx;
use super::names::{CONNECTOR_JSON, SPEC_RECORDED};

/// `connectors/<name>/spec.recorded.json`, written by `cargo xtask record-spec`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedSpecFile {
    /// `connector.json`'s `base_image` when the spec was recorded; the build
    /// fails when they differ.
    pub upstream_image: String,
    /// The Airbyte ConnectorSpecification (the `spec` of the connector's SPEC
    /// message), unpatched.
    pub spec: Value,
}

/// Reads `spec.recorded.json`: the recording, checked against `connector.json`
/// (when it loaded), and the Flow spec: the recorded spec with the spec
/// patches applied (when they apply).
pub(super) fn load(
    cx: &mut Ctx,
    name: &str,
    connector: Option<&ConnectorJson>,
    config_patch: Option<&Value>,
    oauth2: &OAuth2<Value>,
    documentation_url: Option<&str>,
) -> (Option<RecordedSpecFile>, Option<Value>) {
    let mut recorded = None;
    let mut flow_spec = None;
    if let Some(v) = cx.json(SPEC_RECORDED) {
        match serde_json::from_value::<RecordedSpecFile>(v) {
            Err(e) => cx.err(
                SPEC_RECORDED,
                "(root)",
                format!("{e}; re-record it with `cargo xtask record-spec {name} --entrypoint CMD`"),
            ),
            Ok(r) => {
                if let Some(c) = connector {
                    if r.upstream_image != c.base_image {
                        cx.err(SPEC_RECORDED, "/upstream_image", format!(
                            "recorded from {:?} but {CONNECTOR_JSON} pins {:?}; re-record it with `cargo xtask record-spec {name} --entrypoint CMD` (CMD running {})",
                            r.upstream_image, c.base_image, c.base_image
                        ));
                    }
                }
                let oauth = match oauth2 {
                    OAuth2::Upstream => OAuth2::Upstream,
                    OAuth2::Disabled => OAuth2::Disabled,
                    OAuth2::Replace(v) => OAuth2::Replace(v),
                };
                match patches::apply::flow_spec(&r.spec, config_patch, oauth, documentation_url) {
                    Ok(s) => flow_spec = Some(s),
                    Err(e) => cx.err(SPEC_RECORDED, "/spec", format!("{e}; re-record it with `cargo xtask record-spec {name} --entrypoint CMD`")),
                }
                recorded = Some(r);
            }
        }
    }

    (recorded, flow_spec)
}
