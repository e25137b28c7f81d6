//! `connector.json`: the upstream image and how to run it ([`ConnectorJson`]),
//! and its loader, which also checks `upstream` and its lock file
//! (`crate::upstream`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::context::Ctx;
use super::names::CONNECTOR_JSON;
use crate::upstream::{self, Upstream};

/// `connectors/<name>/connector.json`: the upstream image and how to run it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectorJson {
    /// Upstream image with tag, e.g. `airbyte/source-freshdesk:3.0.2`: the
    /// image's `FROM` line, and the version a recorded spec must match.
    pub base_image: String,
    /// The Airbyte connector's command inside its image, as a shell-words
    /// string, e.g. `python /airbyte/integration_code/main.py`.
    pub entrypoint: String,
    /// Environment of the image and of the connector process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Whether the connector folder carries its own code (pulled from upstream).
    #[serde(default)]
    pub has_code: bool,
    /// Image labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// What runs the connector locally (`cargo xtask provision`): a PyPI
    /// package or a pinned manifest; connectors without it need `--entrypoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
}

impl ConnectorJson {
    /// The upstream image's tag (`3.0.2` of `airbyte/source-freshdesk:3.0.2`).
    pub fn upstream_version(&self) -> Option<&str> {
        patches::image::tag(&self.base_image)
    }

    /// `entrypoint` split as a shell would.
    pub fn entrypoint_argv(&self) -> Result<Vec<String>, shell_words::ParseError> {
        shell_words::split(&self.entrypoint)
    }
}

/// Splits a command line as a shell would (`connector.json` `entrypoint`,
/// `--entrypoint` of `cargo xtask record-spec`).
pub fn split_command(cmd: &str) -> Result<Vec<String>, shell_words::ParseError> {
    shell_words::split(cmd)
}

/// Takes `upstream` out of a `connector.json` value and parses it, so its
/// problems name their own pointer.
fn upstream_of(cx: &mut Ctx, v: &mut Value) -> Option<Upstream> {
    let up = v.as_object_mut()?.remove("upstream")?;
    match serde_json::from_value::<Upstream>(up) {
        Ok(u) => Some(u),
        Err(e) => {
            cx.err(CONNECTOR_JSON, "/upstream", format!("{e}; write {{\"package\": \"airbyte-source-x\", \"version\": \"1.2.3\", \"python\": \"3.11\", \"lock\": \"{}\"}} (optional: \"command\", \"pins\") for a PyPI package, or let `cargo xtask new-connector NAME VERSION --from DIR` write a manifest-only one", upstream::DEFAULT_LOCK));
            None
        }
    }
}

/// Reads `connector.json`: the connector (when it parses) and its entrypoint
/// split into argv (empty when it does not split).
pub(super) fn load(cx: &mut Ctx, name: &str) -> (Option<ConnectorJson>, Vec<String>) {
    let mut connector = None;
    let mut entrypoint = Vec::new();
    match cx.json(CONNECTOR_JSON) {
        None if !cx.dir.join(CONNECTOR_JSON).exists() => cx.err(
            CONNECTOR_JSON,
            "(file)",
            "missing; write {\"base_image\": \"airbyte/source-x:1.2.3\", \"entrypoint\": \"python /airbyte/integration_code/main.py\", \"env\": {}, \"has_code\": false, \"labels\": {}}",
        ),
        None => {}
        Some(mut v) => match (upstream_of(cx, &mut v), serde_json::from_value::<ConnectorJson>(v)) {
            (_, Err(e)) => cx.err(CONNECTOR_JSON, "(root)", format!("{e}; it needs string \"base_image\" and \"entrypoint\", and string maps \"env\" and \"labels\"")),
            (up, Ok(mut c)) => {
                c.upstream = up;
                // No tag check: the corpus has `"base"` (a connector with code,
                // built FROM its own stage) and `...:patched`.
                if c.base_image.trim().is_empty() {
                    cx.err(CONNECTOR_JSON, "/base_image", "empty; write the upstream image with its tag, e.g. \"airbyte/source-x:1.2.3\"");
                }
                match c.entrypoint_argv() {
                    Ok(argv) => entrypoint = argv,
                    Err(e) => cx.err(CONNECTOR_JSON, "/entrypoint", format!("{:?} is not a shell-words command ({e}); fix its quoting", c.entrypoint)),
                }
                if let Some(up) = &c.upstream {
                    cx.problems.extend(upstream::check(&cx.dir, name, &c.base_image, up));
                }
                connector = Some(c);
            }
        },
    }

    (connector, entrypoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_version_is_the_tag_not_a_registry_port() {
        let c = |base_image: &str| ConnectorJson {
            base_image: base_image.into(),
            entrypoint: String::new(),
            env: BTreeMap::new(),
            has_code: false,
            labels: BTreeMap::new(),
            upstream: None,
        };
        assert_eq!(
            c("airbyte/source-x:1.2.3").upstream_version(),
            Some("1.2.3")
        );
        assert_eq!(
            c("127.0.0.1:5000/estuary/source-x").upstream_version(),
            None
        );
        assert_eq!(
            c("127.0.0.1:5000/estuary/source-x:v1").upstream_version(),
            Some("v1")
        );
        assert_eq!(
            c("airbyte/source-x:1.2.3@sha256:abc").upstream_version(),
            Some("1.2.3")
        );
    }
}
