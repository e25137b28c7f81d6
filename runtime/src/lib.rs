//! The runtime: serves Flow capture requests on stdin/stdout by driving an
//! Airbyte source connector process. It knows no specific connector: all it
//! knows of one is the [`patches::Connector`] description it is given.
//!
//! - [`main`] is the entry point of every connector binary: command line,
//!   logging, signals, exit code.
//! - [`serve`] reads Flow requests (JSON lines) from any reader and writes
//!   responses to any writer, one request after the other, until EOF or until
//!   a capture (`open`) ends.
//!
//! Each request that needs the connector runs it once as a child process in
//! its own process group, with its files (config, catalog, state) in a
//! private temporary directory that is removed when the request ends, on
//! every path (errors, idle timeout, SIGTERM/SIGINT included).

pub use patches;

/// Static (musl) builds allocate with dlmalloc: see `runtime/Cargo.toml`.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

mod airbyte;
mod capture;
mod cli;
mod connector;
mod error;
mod flow;
pub mod normalize;
mod ops;
mod scan;
pub mod state;

pub use cli::{parse_duration, version_text, Args, Build};
pub use error::Error;

use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// How [`serve`] runs the connector.
#[derive(Debug, Clone)]
pub struct Options {
    /// argv of the Airbyte connector (the Airbyte command is appended). Empty
    /// means unknown: requests that need the connector fail with an error
    /// naming the flag to pass.
    pub entrypoint: Vec<String>,
    /// Kill the connector when it writes nothing on stdout for this long.
    pub idle_timeout: Duration,
    /// Hand inbound state to the connector as a per-stream list even when it
    /// is shaped like a legacy `{stream: state}` object
    /// (`AIRBYTE_TO_FLOW_STATE_FORMAT=per_stream`, from the environment or the
    /// connector's baked env; see [`Args::options`]).
    pub force_per_stream_state: bool,
    /// Scale of `run_interval_minutes` (one minute in production; tests
    /// shorten it).
    pub interval_unit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            entrypoint: Vec::new(),
            idle_timeout: Duration::from_secs(3600),
            force_per_stream_state: false,
            interval_unit: Duration::from_secs(60),
        }
    }
}

/// Entry point of every connector binary: parses the command line, serves
/// requests from stdin until EOF, and returns the process exit code (the
/// connector's own exit code when it failed).
pub fn main(connector: &'static patches::Connector) -> std::process::ExitCode {
    cli::main(connector, Build::UNKNOWN)
}

/// [`main`] for a binary that knows what it was built from (its `--version`
/// and `--describe` say so).
pub fn main_built(connector: &'static patches::Connector, build: Build) -> std::process::ExitCode {
    cli::main(connector, build)
}

/// Serve requests read from `input` (JSON lines) until EOF, writing responses
/// to `output`. Returns after EOF, or after the capture of an `open` request
/// ended (a capture is the last request of a process).
pub async fn serve<R, W>(
    connector: &'static patches::Connector,
    opts: Options,
    input: R,
    output: W,
) -> Result<(), Error>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut input = input;
    let mut out = tokio::io::BufWriter::with_capacity(64 * 1024, output);
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .await
            .map_err(Error::stdin)?
            == 0
        {
            tracing::debug!("stdin closed, exiting");
            break;
        }
        n += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = flow::decode_request(n, &line)?;
        match request {
            flow::Request::Spec => ops::spec(connector, &opts, &mut out).await?,
            flow::Request::Discover(d) => ops::discover(connector, &opts, d, &mut out).await?,
            flow::Request::Validate(v) => ops::validate(connector, &opts, v, &mut out).await?,
            flow::Request::Apply => {
                flow::write_line(&mut out, flow::response::APPLIED).await?;
            }
            flow::Request::Open(open) => {
                capture::run(connector, &opts, *open, &mut input, &mut out).await?;
                out.flush().await.map_err(Error::stdout)?;
                return Ok(());
            }
            flow::Request::Acknowledge => {
                tracing::debug!("ignoring acknowledge outside of a capture");
            }
        }
        out.flush().await.map_err(Error::stdout)?;
    }
    out.flush().await.map_err(Error::stdout)?;
    Ok(())
}

/// Entry points of the fuzz targets (`fuzz/`, `cargo xtask fuzz`): the
/// decoders as the binary runs them. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::capture::translate::translate_for_fuzzing;

    /// [`crate::serve`]'s decoding of one request line; the error it would
    /// end with.
    pub fn decode_request(line: &[u8]) -> Result<(), crate::Error> {
        crate::flow::decode_request(1, line).map(drop)
    }
}
