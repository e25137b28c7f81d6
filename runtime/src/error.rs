//! The runtime's errors. Their text is what an operator reads in Flow's logs:
//! the connector's own reason when it failed, never a secret value.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request the runtime cannot serve (malformed, unknown operation, bad bindings).
    #[error("{0}")]
    Request(String),
    /// The connector failed: `message` is its own reason (last TRACE ERROR or
    /// failed CONNECTION_STATUS) when it gave one.
    #[error("{message}")]
    Connector {
        message: String,
        exit_code: Option<i32>,
    },
    /// The connector wrote nothing for the idle timeout and was killed.
    #[error("the connector wrote nothing on stdout for {}, so it was killed; the capture restarts (raise --idle-timeout or AIRBYTE_TO_FLOW_IDLE_TIMEOUT if it is just slow)", humantime::format_duration(*.0))]
    Idle(Duration),
    /// A RECORD named a stream that no binding captures.
    #[error("the connector emitted a RECORD for stream {stream:?}{} which is not a binding of this capture; add a binding for it or fix the connector's catalog", namespace.as_ref().map(|n| format!(" (namespace {n:?})")).unwrap_or_default())]
    UnknownStream {
        stream: String,
        namespace: Option<String>,
    },
    /// No Airbyte entrypoint is known.
    #[error("no Airbyte connector command is known for this binary: pass --connector-entrypoint 'CMD ARGS' or set AIRBYTE_ENTRYPOINT")]
    NoEntrypoint,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Apply(#[from] patches::apply::ApplyError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// SIGTERM or SIGINT arrived.
    #[error("stopped by {0}")]
    Signal(&'static str),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
    pub(crate) fn stdout(source: std::io::Error) -> Error {
        Error::Io {
            context: "writing responses to stdout".into(),
            source,
        }
    }
    pub(crate) fn stdin(source: std::io::Error) -> Error {
        Error::Io {
            context: "reading requests from stdin".into(),
            source,
        }
    }

    /// The process exit code for this error: the connector's own non-zero
    /// code when it has one, else 1 (130/143 for signals).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Connector {
                exit_code: Some(c), ..
            } if *c > 0 && *c < 256 => *c as u8,
            Error::Signal("SIGINT") => 130,
            Error::Signal(_) => 143,
            _ => 1,
        }
    }
}
