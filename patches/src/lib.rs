//! The connector description: what a connector's patch files say, in the form
//! the code generator bakes into a binary and the runtime reads.
//!
//! This crate is the one contract between `codegen` (which writes a
//! `static CONNECTOR: patches::Connector = ...` from `connectors/<name>/`) and
//! `runtime` (which serves Flow requests with it). It holds only data types and
//! the pure functions that apply patches, so that build time and run time apply
//! them through the same code. It knows no specific connector.
//!
//! Every field is `'static` so a description can be a `static` item in
//! generated code; tests build one with [`Connector::EMPTY`] and struct update
//! syntax.

pub mod apply;
pub mod image;
pub mod pointer;
pub mod schema;

/// Everything a connector binary knows about its connector, baked at build time.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Connector {
    /// Folder name under `connectors/`, e.g. `source-freshdesk`.
    pub name: &'static str,
    /// The upstream Airbyte connector this binary drives.
    pub upstream: Upstream,
    /// Patches of the `spec` response.
    pub spec: SpecPatches,
    /// Patches of discovered streams and captured documents.
    pub streams: StreamPatches,
    /// `run_interval_minutes.json`: a capture process lives at least this long.
    pub run_interval_minutes: Option<u32>,
}

/// How to run the upstream Airbyte connector.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Upstream {
    /// Upstream image with tag, e.g. `airbyte/source-freshdesk:3.0.2`. Empty when unknown.
    pub image: &'static str,
    /// argv of the Airbyte connector inside its image, e.g.
    /// `["python", "/airbyte/integration_code/main.py"]`. Empty when unknown, in
    /// which case the binary needs `--connector-entrypoint` or `AIRBYTE_ENTRYPOINT`.
    pub entrypoint: &'static [&'static str],
    /// Environment set for the connector process (and read by the runtime, e.g.
    /// `AIRBYTE_TO_FLOW_STATE_FORMAT`), unless already set in the environment.
    pub env: &'static [(&'static str, &'static str)],
}

/// Patches of the connector's `spec`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SpecPatches {
    /// `spec.patch.json`: RFC 7396 merge patch of the config schema (JSON text).
    pub config_patch: Option<&'static str>,
    /// `spec.map.json`: config values moved before the connector sees them.
    pub config_map: &'static [ConfigMove],
    /// `oauth2.patch.json`.
    pub oauth2: OAuth2,
    /// `documentation_url.patch.json`.
    pub documentation_url: Option<&'static str>,
    /// A recording of the upstream `spec` output, with every patch above already
    /// applied at build time. When present, the binary answers `spec` and `apply`
    /// without starting the connector.
    pub recorded: Option<RecordedSpec>,
}

/// One entry of `spec.map.json`: move the value at `from` to `to` (JSON pointers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ConfigMove {
    pub to: &'static str,
    pub from: &'static str,
}

/// What `oauth2.patch.json` says. `S` is the replacement: JSON text in a baked
/// description, a parsed value where patches are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum OAuth2<S = &'static str> {
    /// No file: keep the connector's own OAuth2 spec (`advanced_auth`/`auth_specification`), if any.
    Upstream,
    /// The template's placeholder (every field present and empty): no OAuth.
    Disabled,
    /// Flow's OAuth2 spec object, replacing the connector's.
    Replace(S),
}

/// The spec as recorded from the upstream connector, with patches applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RecordedSpec {
    /// The upstream image version the recording was made from (e.g. `3.0.2`).
    pub upstream_version: &'static str,
    /// The Flow `spec` response body (the object inside `{"spec": ...}`), JSON text.
    pub response: &'static str,
}

/// Patches applied per stream, at discover and at capture.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StreamPatches {
    /// `streams/<stream>.*.json`, sorted by stream name.
    pub streams: &'static [StreamPatch],
    /// `streams/*.*.json`: for each kind, used by streams without their own file.
    pub wildcard: StreamPatch,
    /// `selected_streams.json`: streams not listed are offered disabled.
    pub selected: Option<&'static [&'static str]>,
    /// `omitted_streams.json`: streams listed are not offered at all.
    pub omitted: &'static [&'static str],
    /// `schema_normalizations.json`.
    pub schema_normalizations: &'static [SchemaNormalization],
}

/// The files of one stream (or of the `*` wildcard).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StreamPatch {
    /// The stream name as in the file name (`*` for the wildcard).
    pub name: &'static str,
    /// `<stream>.patch.json`: RFC 7396 merge patch of the document schema (JSON text).
    pub schema_patch: Option<&'static str>,
    /// `<stream>.pk.json`: key field names, each a top-level property
    /// or a `/`-separated path.
    pub key: Option<&'static [&'static str]>,
    /// `<stream>.normalize.json`.
    pub normalizations: &'static [Normalize],
}

/// One entry of `<stream>.normalize.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Normalize {
    /// JSON pointer into the captured document.
    pub pointer: &'static str,
    pub normalization: Normalization,
}

/// Document normalizations a stream may declare (`snake_case` names in files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Keep the leading `YYYY-MM-DD` of a date-time string.
    DatetimeToDate,
}

impl Normalization {
    /// Every normalization, for error messages listing what is accepted.
    pub const ALL: &'static [Normalization] = &[Normalization::DatetimeToDate];

    /// The name used in `<stream>.normalize.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Normalization::DatetimeToDate => "datetime_to_date",
        }
    }

    /// The Rust path of this variant, for generated code.
    pub const fn variant(self) -> &'static str {
        match self {
            Normalization::DatetimeToDate => "DatetimeToDate",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|n| n.name() == name)
    }
}

/// Schema-level normalizations (`schema_normalizations.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaNormalization {
    /// Widen every `format: date` to `format: date-time` (and normalize values accordingly).
    DateToDatetime,
}

impl SchemaNormalization {
    pub const ALL: &'static [SchemaNormalization] = &[SchemaNormalization::DateToDatetime];

    /// The name used in `schema_normalizations.json`.
    pub const fn name(self) -> &'static str {
        match self {
            SchemaNormalization::DateToDatetime => "date-to-datetime",
        }
    }

    /// The Rust path of this variant, for generated code.
    pub const fn variant(self) -> &'static str {
        match self {
            SchemaNormalization::DateToDatetime => "DateToDatetime",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|n| n.name() == name)
    }
}

impl StreamPatch {
    /// A stream with no files.
    pub const EMPTY: StreamPatch = StreamPatch {
        name: "*",
        schema_patch: None,
        key: None,
        normalizations: &[],
    };
}

impl Connector {
    /// A connector with no patches and no known upstream: the base for tests and
    /// for the generic binary built without a connector.
    pub const EMPTY: Connector = Connector {
        name: "",
        upstream: Upstream {
            image: "",
            entrypoint: &[],
            env: &[],
        },
        spec: SpecPatches {
            config_patch: None,
            config_map: &[],
            oauth2: OAuth2::Upstream,
            documentation_url: None,
            recorded: None,
        },
        streams: StreamPatches {
            streams: &[],
            wildcard: StreamPatch::EMPTY,
            selected: None,
            omitted: &[],
            schema_normalizations: &[],
        },
        run_interval_minutes: None,
    };

    /// The upstream image's tag (`3.0.2` of `airbyte/source-freshdesk:3.0.2`), if any.
    pub fn upstream_version(&self) -> Option<&'static str> {
        image::tag(self.upstream.image)
    }
}

impl StreamPatches {
    /// The patches that apply to `stream`: its own file of each kind, else the
    /// wildcard's. A stream's files are found by its exact name, then by its
    /// recommended (sanitized) name.
    pub fn for_stream(&self, stream: &str) -> ResolvedStream {
        let own = self.find(stream).or_else(|| {
            let sanitized = apply::recommended_name(stream);
            self.find(&sanitized)
        });
        let w = &self.wildcard;
        ResolvedStream {
            schema_patch: own.and_then(|s| s.schema_patch).or(w.schema_patch),
            key: own.and_then(|s| s.key).or(w.key),
            normalizations: match own {
                Some(s) if !s.normalizations.is_empty() => s.normalizations,
                _ => w.normalizations,
            },
        }
    }

    fn find(&self, name: &str) -> Option<&StreamPatch> {
        self.streams
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            .map(|i| &self.streams[i])
    }

    /// Whether discover offers `stream` at all.
    pub fn is_omitted(&self, stream: &str) -> bool {
        self.omitted.contains(&stream)
    }

    /// Whether discover offers `stream` enabled.
    pub fn is_selected(&self, stream: &str) -> bool {
        self.selected.is_none_or(|s| s.contains(&stream))
    }
}

/// The patches resolved for one stream.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ResolvedStream {
    pub schema_patch: Option<&'static str>,
    pub key: Option<&'static [&'static str]>,
    pub normalizations: &'static [Normalize],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_applies_per_kind() {
        static STREAMS: &[StreamPatch] = &[StreamPatch {
            name: "users",
            schema_patch: Some("{}"),
            key: None,
            normalizations: &[],
        }];
        let patches = StreamPatches {
            streams: STREAMS,
            wildcard: StreamPatch {
                name: "*",
                schema_patch: Some("{\"w\":1}"),
                key: Some(&["id"]),
                normalizations: &[],
            },
            ..Connector::EMPTY.streams
        };
        let users = patches.for_stream("users");
        assert_eq!(users.schema_patch, Some("{}"));
        assert_eq!(users.key, Some(&["id"][..]));
        let other = patches.for_stream("other");
        assert_eq!(other.schema_patch, Some("{\"w\":1}"));
    }

    #[test]
    fn upstream_version_is_the_tag() {
        let mut c = Connector::EMPTY;
        c.upstream.image = "airbyte/source-freshdesk:3.0.2";
        assert_eq!(c.upstream_version(), Some("3.0.2"));
        c.upstream.image = "localhost:5000/airbyte/source-x";
        assert_eq!(c.upstream_version(), None);
        c.upstream.image = "localhost:5000/airbyte/source-x:1.2.3";
        assert_eq!(c.upstream_version(), Some("1.2.3"));
        c.upstream.image = "airbyte/source-x:1.2.3@sha256:abc";
        assert_eq!(c.upstream_version(), Some("1.2.3"));
    }

    #[test]
    fn normalization_names_round_trip() {
        for n in Normalization::ALL {
            assert_eq!(Normalization::from_name(n.name()), Some(*n));
        }
        assert_eq!(Normalization::from_name("datetimeToDate"), None);
        for n in SchemaNormalization::ALL {
            assert_eq!(SchemaNormalization::from_name(n.name()), Some(*n));
        }
    }
}
