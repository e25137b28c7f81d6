//! Pure functions that apply patch files to what an Airbyte connector says.
//! `codegen` calls them at build time (baked spec), `runtime` at run time.
//!
//! OWNED BY: helper "patches-normalize" (see ARCHITECTURE.md). Signatures here
//! are the contract; bodies are being written.

/// The Flow collection name recommended for an Airbyte stream name.
pub fn recommended_name(stream: &str) -> String {
    stream.to_string()
}
