//! The declarative kind of `connector.json` `upstream`: a manifest-only
//! Airbyte connector (`language:manifest-only` in its `metadata.yaml`), run
//! by the `airbyte-cdk` package from its `manifest.yaml` and, where the
//! manifest names custom classes, its `components.py`.
//!
//! Upstream's files are pinned, never vendored: the connector records their
//! sha256 and where they came from; `cargo xtask provision` fetches them into
//! its cache and checks the hashes. Validated here without Python or network.

use super::{is_python, is_version};
use crate::{Problem, CONNECTOR_JSON};

/// `connector.json` `upstream` of a manifest-only connector.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declarative {
    /// The connector's version (`dockerImageTag` of its `metadata.yaml`),
    /// equal to `base_image`'s tag, e.g. `0.8.14`.
    pub version: String,
    /// The `airbyte-cdk` version that runs the manifest, e.g. `7.23.4`; its
    /// lock is the project's `cdk/airbyte-cdk-VERSION.lock.txt`.
    pub cdk: String,
    /// Python `MAJOR.MINOR` the cdk lock was resolved with, e.g. `3.11`.
    pub python: String,
    /// The cdk `metadata.yaml` names (its `baseImage` tag), when it differs
    /// from `cdk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_cdk: Option<String>,
    /// Why `cdk` is not `metadata_cdk` (required when they differ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdk_reason: Option<String>,
    /// The connector's license (`license` of its `metadata.yaml`), e.g. `MIT`.
    pub license: String,
    /// `manifest.yaml`.
    pub manifest: Pinned,
    /// `components.py`, when the manifest names custom classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Pinned>,
}

/// One upstream file: its sha256 and where it was taken from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pinned {
    /// Lowercase hex sha256 of the file's bytes.
    pub sha256: String,
    /// Where the file came from: `registry` (Airbyte's registry, the files of
    /// `version`), or the origin of the folder it was taken from, e.g.
    /// `airbytehq/airbyte@<commit>:airbyte-integrations/connectors/source-x/manifest.yaml`.
    pub source: String,
}

/// The license that lets a connector in without `--accept-license`.
pub const MIT: &str = "MIT";

/// Every problem of a declarative `upstream`.
pub fn check(name: &str, base_image: &str, up: &Declarative) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut err = |at: &str, message: String| {
        problems.push(Problem {
            file: CONNECTOR_JSON.to_string(),
            at: at.to_string(),
            message,
        })
    };
    let repin = format!("`cargo xtask bump {name} {} --from DIR`", up.version);
    if !is_version(&up.version) {
        err(
            "/upstream/version",
            format!("{:?} is not an exact version; write the connector's dockerImageTag, e.g. \"1.2.3\"", up.version),
        );
    }
    if let Some(tag) = patches::image::tag(base_image) {
        if tag != up.version {
            err("/upstream/version", format!("{:?} but \"base_image\" {base_image:?} has tag {tag:?}; the local connector and the image must be the same version (`cargo xtask bump {name} VERSION` moves both)", up.version));
        }
    }
    if !is_version(&up.cdk) {
        err(
            "/upstream/cdk",
            format!(
                "{:?} is not an airbyte-cdk version; write e.g. \"7.23.4\"",
                up.cdk
            ),
        );
    }
    if !is_python(&up.python) {
        err(
            "/upstream/python",
            format!(
                "{:?} is not a Python version; write MAJOR.MINOR, e.g. \"3.11\"",
                up.python
            ),
        );
    }
    match (&up.metadata_cdk, &up.cdk_reason) {
        (Some(m), None) if *m != up.cdk => err(
            "/upstream/cdk_reason",
            format!("missing: cdk {:?} is not the metadata's {m:?}; say why (e.g. \"the metadata's cdk refuses the manifest: ...\")", up.cdk),
        ),
        (Some(_), Some(r)) | (None, Some(r)) if r.trim().is_empty() => {
            err("/upstream/cdk_reason", "empty; say why cdk is not the metadata's, or remove it".into())
        }
        _ => {}
    }
    if up.license.trim().is_empty() {
        err(
            "/upstream/license",
            "empty; write the license of the connector's metadata.yaml, e.g. \"MIT\"".into(),
        );
    }
    let files = [
        ("manifest", Some(&up.manifest)),
        ("components", up.components.as_ref()),
    ];
    for (field, pin) in files {
        let Some(pin) = pin else { continue };
        if !is_sha256(&pin.sha256) {
            err(
                &format!("/upstream/{field}/sha256"),
                format!(
                    "{:?} is not a sha256 (64 lowercase hex digits); re-pin with {repin}",
                    pin.sha256
                ),
            );
        }
        if pin.source.trim().is_empty() {
            err(
                &format!("/upstream/{field}/source"),
                format!("empty; write \"registry\" or the folder the file was taken from; re-pin with {repin}"),
            );
        }
    }
    problems
}

/// 64 lowercase hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up() -> Declarative {
        Declarative {
            version: "0.8.14".into(),
            cdk: "7.23.4".into(),
            python: "3.11".into(),
            metadata_cdk: None,
            cdk_reason: None,
            license: "MIT".into(),
            manifest: Pinned {
                sha256: "c2532afd7d7f9a52135ce4e41b35145508ab8c482a8d021a6680f3d6b2a3a730".into(),
                source: "registry".into(),
            },
            components: None,
        }
    }

    #[test]
    fn a_good_pin_has_no_problems() {
        assert!(check("source-sentry", "airbyte/source-sentry:0.8.14", &up()).is_empty());
    }

    #[test]
    fn problems_name_their_pointer() {
        let mut u = up();
        u.version = "0.8.15".into();
        u.metadata_cdk = Some("6.59.2".into());
        u.manifest.sha256 = "C2".into();
        u.components = Some(Pinned {
            sha256: "0".repeat(64),
            source: " ".into(),
        });
        let p = check("source-sentry", "airbyte/source-sentry:0.8.14", &u);
        let at: Vec<&str> = p.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            [
                "/upstream/version",
                "/upstream/cdk_reason",
                "/upstream/manifest/sha256",
                "/upstream/components/source"
            ]
        );
        assert!(p[2].message.contains("\"C2\""), "{}", p[2].message);
    }
}
