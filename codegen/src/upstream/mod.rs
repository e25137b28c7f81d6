//! `connector.json` `upstream`: what runs the Airbyte connector on a
//! developer's machine (`cargo xtask provision`), of one of two kinds:
//!
//! - [`Pypi`]: a connector published as a PyPI package, installed from the
//!   connector's own lock file (`pypi.rs`);
//! - [`Declarative`]: a manifest-only connector, run by the `airbyte-cdk`
//!   package from its `manifest.yaml` (and `components.py`), pinned by
//!   sha256; the cdk is installed from the project's lock of that cdk version
//!   (`cdk/airbyte-cdk-VERSION.lock.txt`), shared by every connector on it
//!   (`declarative.rs`).
//!
//! The PyPI kind has no `kind` field (connector folders written before the
//! declarative kind existed stay valid); the declarative kind says
//! `"kind": "declarative"`.

pub mod declarative;
pub mod pypi;

pub use declarative::{Declarative, Pinned};
pub use pypi::{normalize_name, parse_lock, parse_pin, Pypi, DEFAULT_LOCK};

use crate::Problem;
use serde::{de::Error as _, Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The value of `kind` for a manifest-only connector.
pub const DECLARATIVE: &str = "declarative";

/// `connector.json` `upstream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Pypi(Pypi),
    Declarative(Declarative),
}

impl Upstream {
    /// The upstream version, equal to `base_image`'s tag.
    pub fn version(&self) -> &str {
        match self {
            Upstream::Pypi(p) => &p.version,
            Upstream::Declarative(d) => &d.version,
        }
    }

    /// Python `MAJOR.MINOR` it runs on.
    pub fn python(&self) -> &str {
        match self {
            Upstream::Pypi(p) => &p.python,
            Upstream::Declarative(d) => &d.python,
        }
    }

    /// The kind's name, for messages: `PyPI package` or `manifest-only`.
    pub fn kind(&self) -> &'static str {
        match self {
            Upstream::Pypi(_) => "PyPI package",
            Upstream::Declarative(_) => "manifest-only",
        }
    }
}

impl<'de> Deserialize<'de> for Upstream {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = Value::deserialize(d)?;
        match v.as_object_mut().and_then(|o| o.remove("kind")) {
            None => Pypi::deserialize(v)
                .map(Upstream::Pypi)
                .map_err(D::Error::custom),
            Some(Value::String(k)) if k == DECLARATIVE => Declarative::deserialize(v)
                .map(Upstream::Declarative)
                .map_err(D::Error::custom),
            Some(other) => Err(D::Error::custom(format!(
                "\"kind\" is {other}: write \"{DECLARATIVE}\" for a manifest-only connector, or leave it out for a PyPI package"
            ))),
        }
    }
}

impl Serialize for Upstream {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Upstream::Pypi(p) => p.serialize(s),
            Upstream::Declarative(d) => {
                // `kind` first, then the fields in their declared order.
                let mut out = serde_json::Map::new();
                out.insert("kind".into(), Value::String(DECLARATIVE.into()));
                match serde_json::to_value(d).map_err(serde::ser::Error::custom)? {
                    Value::Object(fields) => out.extend(fields),
                    _ => unreachable!("a struct serializes to an object"),
                }
                out.serialize(s)
            }
        }
    }
}

/// Every problem of `upstream` in connector folder `dir`.
pub fn check(dir: &Path, name: &str, base_image: &str, up: &Upstream) -> Vec<Problem> {
    match up {
        Upstream::Pypi(p) => pypi::check(dir, name, base_image, p),
        Upstream::Declarative(d) => declarative::check(name, base_image, d),
    }
}

/// An exact version as PyPI and image tags write them (`1.2.3`, `0.1.0rc1`).
pub(crate) fn is_version(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '-' | '_'))
}

/// `3.11`: a Python `MAJOR.MINOR`.
pub(crate) fn is_python(s: &str) -> bool {
    s.split_once('.')
        .is_some_and(|(a, b)| a == "3" && !b.is_empty() && b.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_round_trip() {
        let pypi = json!({"package": "airbyte-source-x", "version": "1.2.3", "python": "3.11", "lock": "upstream.lock.txt"});
        let up: Upstream = serde_json::from_value(pypi.clone()).unwrap();
        assert!(matches!(up, Upstream::Pypi(_)));
        assert_eq!(serde_json::to_value(&up).unwrap(), pypi);

        let decl = json!({
            "kind": "declarative", "version": "0.8.14", "cdk": "7.23.4", "python": "3.11",
            "license": "MIT",
            "manifest": {"sha256": "a".repeat(64), "source": "registry"},
        });
        let up: Upstream = serde_json::from_value(decl.clone()).unwrap();
        assert!(matches!(up, Upstream::Declarative(_)));
        let back = serde_json::to_value(&up).unwrap();
        assert_eq!(back, decl);
        assert_eq!(back.as_object().unwrap().keys().next().unwrap(), "kind");
    }

    #[test]
    fn unknown_kind_and_fields_are_named() {
        let e = serde_json::from_value::<Upstream>(json!({"kind": "docker"})).unwrap_err();
        assert!(e.to_string().contains("\"kind\" is \"docker\""), "{e}");
        let e = serde_json::from_value::<Upstream>(json!({
            "kind": "declarative", "version": "1.0.0", "cdk": "7.23.4", "python": "3.11",
            "license": "MIT", "manifest": {"sha256": "", "source": ""}, "package": "x"
        }))
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `package`"), "{e}");
    }
}
