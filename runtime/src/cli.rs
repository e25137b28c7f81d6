//! Command line, logging and signal handling of a connector binary.

use std::io::IsTerminal;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::{Error, Options};

/// The connector binary's command line. Its description is `about` with no
/// `long_about`, so `-h` and `--help` say the same (from a doc comment, clap
/// shows its first paragraph for `-h` and all of it for `--help`).
#[derive(Debug, Parser)]
#[command(
    version,
    about = "A Flow capture connector driving an Airbyte source connector: reads Flow capture requests (JSON lines) on stdin and writes responses on stdout; logs go to stderr",
    long_about = None
)]
pub struct Args {
    /// The Airbyte connector's command (split like a shell would), e.g.
    /// `python /airbyte/integration_code/main.py`. Defaults to the baked
    /// upstream entrypoint.
    #[arg(
        long = "connector-entrypoint",
        env = "AIRBYTE_ENTRYPOINT",
        value_name = "CMD"
    )]
    pub connector_entrypoint: Option<String>,
    /// Log level (error, warn, info, debug, trace) or a tracing filter.
    #[arg(
        long = "log.level",
        env = "LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: String,
    /// Print this binary's baked connector description as JSON and exit.
    #[arg(long)]
    pub describe: bool,
    /// Kill the connector when it writes nothing for this long (`90s`, `30m`, `1h` or seconds).
    #[arg(long = "idle-timeout", env = "AIRBYTE_TO_FLOW_IDLE_TIMEOUT", default_value = "1h",
          value_parser = parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
}

/// What a binary was built from: the project version and git commit. Set by
/// the binary's crate (`entrypoint/build.rs` puts the commit in with
/// `env!`), never by generated code, which must not change with the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Build {
    /// The project (workspace) version, e.g. `0.1.0`.
    pub version: &'static str,
    /// `git rev-parse HEAD` of the tree it was built from, or `unknown`.
    pub commit: &'static str,
}

impl Build {
    /// A binary that does not know its commit.
    pub const UNKNOWN: Build = Build {
        version: env!("CARGO_PKG_VERSION"),
        commit: "unknown",
    };
}

/// The name `--version` and usage show: the connector's, or the generic binary's.
fn display_name(connector: &patches::Connector) -> &'static str {
    if connector.name.is_empty() {
        "airbyte-to-flow"
    } else {
        connector.name
    }
}

/// What follows the name in `--version`: the upstream image and its version,
/// and the project version and commit the binary was built from.
pub fn version_text(connector: &patches::Connector, build: Build) -> String {
    let project = format!("airbyte-to-flow {}, commit {}", build.version, build.commit);
    let image = connector.upstream.image;
    if image.is_empty() {
        return format!(
            "{} (generic: no connector baked in, run with --connector-entrypoint; {project})",
            build.version
        );
    }
    let (repo, tag) = match patches::image::ImageRef::parse(image) {
        Ok(r) => (r.repository, r.tag.unwrap_or("untagged")),
        Err(_) => (image, "untagged"),
    };
    format!("{tag} (upstream {repo} {tag}, image {image}; built by {project})")
}

/// `90s`, `30m`, `1h`, `1h 30m` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("invalid duration {s:?}: use a positive duration such as \"90s\", \"30m\", \"1h\" or a number of seconds"))
}

impl Args {
    /// The options [`crate::serve`] runs with.
    pub fn options(&self, connector: &patches::Connector) -> Result<Options, String> {
        let entrypoint = match &self.connector_entrypoint {
            Some(cmd) if !cmd.trim().is_empty() => shell_words::split(cmd).map_err(|err| {
                format!("invalid --connector-entrypoint / AIRBYTE_ENTRYPOINT {cmd:?} ({err}): quote it like a shell command")
            })?,
            _ => connector.upstream.entrypoint.iter().map(|s| s.to_string()).collect(),
        };
        let format = std::env::var("AIRBYTE_TO_FLOW_STATE_FORMAT")
            .ok()
            .or_else(|| {
                connector
                    .upstream
                    .env
                    .iter()
                    .find(|(k, _)| *k == "AIRBYTE_TO_FLOW_STATE_FORMAT")
                    .map(|(_, v)| v.to_string())
            });
        Ok(Options {
            entrypoint,
            idle_timeout: self.idle_timeout,
            force_per_stream_state: format.as_deref() == Some("per_stream"),
            ..Options::default()
        })
    }
}

fn init_logging(level: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level.to_ascii_lowercase())
        .map_err(|err| format!("invalid --log.level / LOG_LEVEL {level:?} ({err}): use error, warn, info, debug or trace"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    }
    Ok(())
}

/// The fields of a description that hold JSON as text (`config_patch`,
/// `schema_patch`, the recorded spec's `response`, an OAuth2 `Replace`), as
/// the JSON values they hold, for `--describe` to print readably.
pub fn json_texts_as_values(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, field) in map.iter_mut() {
                let is_text = matches!(
                    k.as_str(),
                    "config_patch" | "schema_patch" | "response" | "Replace"
                );
                match field {
                    Value::String(text) if is_text => {
                        if let Ok(parsed) = serde_json::from_str::<Value>(text) {
                            *field = parsed;
                        }
                    }
                    _ => json_texts_as_values(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(json_texts_as_values),
        _ => {}
    }
}

pub fn main(connector: &'static patches::Connector, build: Build) -> std::process::ExitCode {
    use std::process::ExitCode;
    let version: &'static str = Box::leak(version_text(connector, build).into_boxed_str());
    let matches = Args::command()
        .name(display_name(connector))
        .version(version)
        .get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err(err) = init_logging(&args.log_level) {
        eprintln!("error: {err}");
        return ExitCode::from(2);
    }
    if args.describe {
        // The description, and what the binary was built from beside it.
        let mut described = serde_json::to_value(connector).expect("the description serializes");
        json_texts_as_values(&mut described);
        described["built_from"] = serde_json::json!({
            "project": "airbyte-to-flow",
            "version": build.version,
            "commit": build.commit,
        });
        let text = serde_json::to_string_pretty(&described).expect("the description serializes");
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    let opts = match args.options(connector) {
        Ok(o) => o,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            tracing::error!("could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(Error::io("installing a SIGTERM handler"))?;
        let mut int =
            signal(SignalKind::interrupt()).map_err(Error::io("installing a SIGINT handler"))?;
        let stdin = tokio::io::BufReader::with_capacity(64 * 1024, tokio::io::stdin());
        // On a signal the serve future is dropped: the connector's process group
        // is killed and the temporary directory removed by their destructors.
        tokio::select! {
            r = crate::serve(connector, opts, stdin, BlockingStdout::new()) => r,
            _ = term.recv() => Err(Error::Signal("SIGTERM")),
            _ = int.recv() => Err(Error::Signal("SIGINT")),
        }
    });
    // Tokio's stdin reads on a blocking thread that may never return while Flow
    // keeps stdin open: don't wait for it.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let exit_code = err.exit_code();
            tracing::error!(exit_code, "{err}");
            ExitCode::from(exit_code)
        }
    }
}

/// Our stdout, written with plain blocking `write` calls on fd 1.
///
/// Tokio's `Stdout` hands every write to a blocking thread; on the capture
/// hot path that thread hand-off costs more than the work. Blocking here is
/// what we want anyway: while Flow does not read our stdout, we do not read
/// the connector's (backpressure, bounded memory). `serve` buffers, so each
/// call writes a large chunk.
struct BlockingStdout(std::mem::ManuallyDrop<std::fs::File>);

/// The size asked for a pipe on our stdout (Linux's default is 64 KiB, the
/// unprivileged maximum 1 MiB, `/proc/sys/fs/pipe-max-size`).
const STDOUT_PIPE_SIZE: libc::c_int = 1024 * 1024;

impl BlockingStdout {
    fn new() -> Self {
        use std::os::fd::FromRawFd;
        // A capture writes a batch's responses (up to a few hundred KiB) at
        // once: into a 64 KiB pipe that is four writes, each waiting for
        // Flow to read, and as many wake-ups of both. Measured on the faker
        // replay with our stdout read by `cat` (as `cargo xtask bench` reads
        // it), medians of 15 runs: 0.153 s wall with 64 KiB, 0.107 s with
        // 1 MiB. Best effort: not a pipe, or a size refused, leaves it as
        // it is (tested: runtime/tests/backpressure.rs).
        // SAFETY: fstat and fcntl on fd 1 with a zeroed stat buffer.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(1, &mut st) == 0
                && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
                && libc::fcntl(1, libc::F_GETPIPE_SZ) < STDOUT_PIPE_SIZE
                && libc::fcntl(1, libc::F_SETPIPE_SZ, STDOUT_PIPE_SIZE) < 0
            {
                tracing::debug!(error = %std::io::Error::last_os_error(), "could not enlarge the stdout pipe");
            }
        }
        // SAFETY: fd 1 is open for the life of the process; ManuallyDrop never closes it.
        BlockingStdout(std::mem::ManuallyDrop::new(unsafe {
            std::fs::File::from_raw_fd(1)
        }))
    }
}

impl tokio::io::AsyncWrite for BlockingStdout {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Write;
        std::task::Poll::Ready(self.0.write(buf))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::io::Write;
        std::task::Poll::Ready(self.0.flush())
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baked_state_format_forces_per_stream_state() {
        if std::env::var_os("AIRBYTE_TO_FLOW_STATE_FORMAT").is_some() {
            eprintln!("skipped: AIRBYTE_TO_FLOW_STATE_FORMAT is set in this environment");
            return;
        }
        static PER_STREAM: patches::Connector = patches::Connector {
            upstream: patches::Upstream {
                image: "airbyte/source-x:1.0.0",
                entrypoint: &["python", "main.py"],
                env: &[("AIRBYTE_TO_FLOW_STATE_FORMAT", "per_stream")],
            },
            ..patches::Connector::EMPTY
        };
        let args = Args::parse_from(["connector", "--connector-entrypoint", "src x"]);
        let opts = args.options(&PER_STREAM).unwrap();
        assert!(opts.force_per_stream_state);
        assert_eq!(opts.entrypoint, ["src", "x"]);
        let opts = args.options(&patches::Connector::EMPTY).unwrap();
        assert!(!opts.force_per_stream_state);
    }
}
