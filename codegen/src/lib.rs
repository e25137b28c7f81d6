//! Build-time code generator: reads `connectors/<name>/`, validates every file,
//! and writes the Rust description (`pub static CONNECTOR: ::patches::Connector`)
//! that `entrypoint` links with the runtime into one binary per connector.
//!
//! - [`load`] reads and validates a connector folder, collecting every problem
//!   at once ([`Problems`], one line each: `<file>: <pointer or line:col>: what
//!   is wrong; what would be right`) and warnings for files it ignores.
//! - [`render`] turns a loaded folder into formatted, deterministic Rust
//!   ([`generate()`]: both); `cargo xtask expand <name>` prints it.
//!
//! File formats: `connector.json` ([`ConnectorJson`]), `spec.recorded.json`
//! ([`RecordedSpecFile`]), and the patch files of README.md "Patch files",
//! one module per file kind under `folder/`.
//!
//! Modules: `folder` (reading a connector folder, [`load`]), `problems`
//! ([`Problem`], [`Problems`]), `generate` ([`render`], [`generate()`]),
//! [`upstream`] (`connector.json`'s `upstream` and its lock file),
//! [`form_check`] (the dashboard form's checks of a config schema).

mod folder;
pub mod form_check;
mod generate;
mod problems;
pub mod upstream;

pub use folder::connector_json::{split_command, ConnectorJson};
pub use folder::names::{
    CONNECTOR_JSON, DOCUMENTATION_URL_PATCH, OAUTH2_PATCH, OMITTED_STREAMS, RUN_INTERVAL_MINUTES,
    SCHEMA_NORMALIZATIONS, SELECTED_STREAMS, SPEC_MAP, SPEC_PATCH, SPEC_RECORDED, STREAMS_DIR,
};
pub use folder::oauth2::is_oauth2_placeholder;
pub use folder::spec_recorded::RecordedSpecFile;
pub use folder::streams::StreamFiles;
pub use folder::{load, Loaded};
pub use generate::{generate, render, Generated};
pub use problems::{Problem, Problems};
pub use upstream::Upstream;
