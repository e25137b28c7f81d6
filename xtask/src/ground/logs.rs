//! The connector binary's log during a capture: shown on our stderr, one line
//! per event, and watched for what decides the capture's outcome (errors the
//! connector reported, the last warning).
//!
//! The binary logs JSON lines when its stderr is not a terminal (as here):
//! `{"timestamp", "level", "target", "message", ...fields}` (tracing's JSON
//! format with flattened events, see `runtime/src/cli.rs`).

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the log said that matters for the exit code.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// ERROR events (connector LOG ERROR/FATAL, TRACE ERROR, the runtime's own).
    pub errors: u64,
    /// The message of the first of them.
    pub first_error: Option<String>,
    /// The message of the last WARN event (why a capture may have no documents).
    pub last_warning: Option<String>,
}

/// Relays a binary's stderr to ours on a thread.
pub struct Relay {
    seen: Arc<Mutex<Seen>>,
    stopping: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Relay {
    /// `tty`: our stderr is a terminal with a progress line to clear first.
    pub fn start(stderr: impl Read + Send + 'static, tty: bool) -> Relay {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (s, stop) = (seen.clone(), stopping.clone());
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (text, level, message) = render(&line);
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    writeln!(err, "\r\x1b[K{text}")
                } else {
                    writeln!(err, "{text}")
                };
                let mut seen = s.lock().unwrap();
                match level.as_deref() {
                    // After we asked the binary to stop, its "stopped by
                    // SIGTERM" is ours, not the connector's.
                    Some("ERROR") if !stop.load(Ordering::Relaxed) => {
                        seen.errors += 1;
                        seen.first_error.get_or_insert(message);
                    }
                    Some("WARN") => seen.last_warning = Some(message),
                    _ => {}
                }
            }
        });
        Relay {
            seen,
            stopping,
            thread,
        }
    }

    /// We are stopping the binary: errors from now on are the stop's.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Waits for the end of the log (the binary exited).
    pub fn finish(self) -> Seen {
        let _ = self.thread.join();
        let seen = self.seen.lock().unwrap().clone();
        seen
    }
}

/// One log line for a reader: `LEVEL target: message key=value...`, its
/// level and its message. Lines that are not JSON events pass through.
fn render(line: &str) -> (String, Option<String>, String) {
    let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(line) else {
        return (line.to_string(), None, line.to_string());
    };
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => s,
        Some(v) => v.to_string(),
        None => String::new(),
    };
    let level = text(event.remove("level"));
    let target = text(event.remove("target"));
    let message = text(event.remove("message"));
    event.remove("timestamp");
    // Long and already summarized by the message.
    event.remove("stack_trace");
    let mut out = format!("{level:>5} {target}: {message}");
    if event.get("stream").and_then(Value::as_str) == Some("stderr") {
        out = format!("{level:>5} connector stderr: {message}");
        event.remove("stream");
    }
    for (k, v) in event {
        let v = text(Some(v));
        if !v.is_empty() {
            out.push_str(&format!(" {k}={v}"));
        }
    }
    (out, Some(level), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_events_are_rendered_and_other_lines_pass() {
        let (text, level, message) = render(
            r#"{"timestamp":"t","level":"ERROR","target":"connector","message":"boom","failure_type":"system_error","stack_trace":"long"}"#,
        );
        assert_eq!(text, "ERROR connector: boom failure_type=system_error");
        assert_eq!(
            (level.as_deref(), message.as_str()),
            (Some("ERROR"), "boom")
        );
        let (text, level, _) = render("Traceback (most recent call last):");
        assert_eq!(text, "Traceback (most recent call last):");
        assert_eq!(level, None);
    }
}
