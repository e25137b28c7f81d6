//! The runtime: serves Flow capture requests on stdin/stdout by driving an
//! Airbyte source connector process. It knows no specific connector: all it
//! knows of one is the [`patches::Connector`] description it is given.

pub use patches;

/// Entry point of every connector binary: parses the command line, serves
/// requests from stdin until EOF, and returns the process exit code.
pub fn main(connector: &'static patches::Connector) -> std::process::ExitCode {
    let _ = connector;
    std::process::ExitCode::FAILURE
}
