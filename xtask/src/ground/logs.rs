//! The connector binary's log during a capture: shown on our stderr, one line
//! per event (a Python traceback cut to its last line), written whole to a
//! log file, and watched for what decides the capture's outcome (errors the
//! connector reported, the HTTP status behind them, the last warning).
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
    /// The binary's own last word (its ERROR event of target `runtime::cli`):
    /// the connector's failure reason when it gave one.
    pub final_error: Option<String>,
    /// The first HTTP failure an ERROR event names (e.g. the Airbyte CDK's
    /// "Request to URL failed with status code 401 and error message ...").
    pub http: Option<HttpFailure>,
    /// The message of the last WARN event (why a capture may have no documents).
    pub last_warning: Option<String>,
}

/// An HTTP request that failed, as a connector's error message tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure {
    pub status: u16,
    /// The API's (or the connector's) words for it, when the message has them.
    pub message: Option<String>,
    /// The request's URL without its query.
    pub url: Option<String>,
}

impl std::fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(url) = &self.url {
            write!(f, " from {}", clip(url, 80))?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {:?}", clip(m, 140))?;
        }
        Ok(())
    }
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The first HTTP failure `text` names: the Airbyte CDK's `Request to URL
/// failed with status code N and error message M`, or requests'
/// `N Client Error: REASON for url: URL`.
pub fn http_failure(text: &str) -> Option<HttpFailure> {
    let status_at = |s: &str| -> Option<u16> {
        let digits: String = s.chars().take(3).collect();
        (digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
            .filter(|n| (400..600).contains(n))
    };
    let without_query = |u: &str| u.split(['?', '#']).next().unwrap_or(u).to_string();
    // A message ends at the line's end or where the exception's repr closes.
    let until_end = |s: &str| {
        let s = s.lines().next().unwrap_or("");
        let s = s.split("')").next().unwrap_or(s);
        s.split("\")").next().unwrap_or(s).trim().to_string()
    };
    for line in text.lines() {
        if let Some(i) = line.find("status code ") {
            let Some(status) = status_at(&line[i + "status code ".len()..]) else {
                continue;
            };
            let rest = &line[i..];
            let message = rest
                .find("error message ")
                .map(|j| until_end(&rest[j + "error message ".len()..]))
                .filter(|m| !m.is_empty());
            let url = line[..i].rfind("Request to ").and_then(|j| {
                line[j + "Request to ".len()..i]
                    .split_whitespace()
                    .next()
                    .map(without_query)
            });
            return Some(HttpFailure {
                status,
                message,
                url,
            });
        }
        for kind in [" Client Error: ", " Server Error: "] {
            let Some(i) = line.find(kind) else { continue };
            let Some(status) = i.checked_sub(3).and_then(|s| status_at(&line[s..])) else {
                continue;
            };
            let rest = &line[i + kind.len()..];
            let (reason, url) = match rest.find(" for url: ") {
                Some(j) => (
                    rest[..j].trim().to_string(),
                    rest[j + " for url: ".len()..]
                        .split_whitespace()
                        .next()
                        .map(without_query),
                ),
                None => (until_end(rest), None),
            };
            return Some(HttpFailure {
                status,
                message: Some(reason).filter(|r| !r.is_empty()),
                url,
            });
        }
    }
    None
}

/// Relays a binary's stderr to ours on a thread.
pub struct Relay {
    seen: Arc<Mutex<Seen>>,
    stopping: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Relay {
    /// `tty`: our stderr is a terminal with a progress line to clear first.
    /// `log`: where every event goes whole (tracebacks and every field).
    pub fn start(
        stderr: impl Read + Send + 'static,
        tty: bool,
        log: Option<std::fs::File>,
    ) -> Relay {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (s, stop) = (seen.clone(), stopping.clone());
        let thread = std::thread::spawn(move || {
            let mut log = log.map(std::io::BufWriter::new);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let event = render(&line);
                if let Some(log) = &mut log {
                    let _ = writeln!(log, "{}", event.whole);
                }
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    writeln!(err, "\r\x1b[K{}", event.short)
                } else {
                    writeln!(err, "{}", event.short)
                };
                let mut seen = s.lock().unwrap();
                match event.level.as_deref() {
                    // After we asked the binary to stop, its "stopped by
                    // SIGTERM" is ours, not the connector's.
                    Some("ERROR") if !stop.load(Ordering::Relaxed) => {
                        seen.errors += 1;
                        if seen.http.is_none() {
                            // The message alone first: on the whole line a
                            // field would follow the API's words.
                            seen.http =
                                http_failure(&event.message).or_else(|| http_failure(&event.whole));
                        }
                        if event.target == "runtime::cli" {
                            seen.final_error = Some(event.message.clone());
                        }
                        seen.first_error.get_or_insert(event.message);
                    }
                    Some("WARN") => seen.last_warning = Some(event.message),
                    _ => {}
                }
            }
            if let Some(log) = &mut log {
                let _ = log.flush();
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

/// One event of the binary's log, rendered.
struct Event {
    /// `LEVEL target: message key=value...`, a traceback in the message cut
    /// to its last line and the connector's `stack_trace` left out.
    short: String,
    /// The same with the whole message and every field: the log file's.
    whole: String,
    level: Option<String>,
    target: String,
    message: String,
}

/// A message for one terminal line: a Python traceback in it shortened to
/// its exception line (the last line).
fn without_traceback(message: &str) -> String {
    match message.find("Traceback (most recent call last):") {
        Some(i) => {
            let before = message[..i].trim_end();
            let last = message[i..].trim_end().lines().last().unwrap_or("").trim();
            let sep = if before.is_empty() { "" } else { " " };
            format!("{before}{sep}[traceback in the log file] {last}")
        }
        None => message.to_string(),
    }
}

/// One log line for a reader. Lines that are not JSON events pass through.
fn render(line: &str) -> Event {
    let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(line) else {
        return Event {
            short: line.to_string(),
            whole: line.to_string(),
            level: None,
            target: String::new(),
            message: line.to_string(),
        };
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
    let head = if event.get("stream").and_then(Value::as_str) == Some("stderr") {
        event.remove("stream");
        format!("{level:>5} connector stderr: ")
    } else {
        format!("{level:>5} {target}: ")
    };
    let mut short = format!("{head}{}", without_traceback(&message));
    let mut whole = format!("{head}{message}");
    for (k, v) in event {
        let v = text(Some(v));
        if v.is_empty() {
            continue;
        }
        whole.push_str(&format!(" {k}={v}"));
        // Long and already summarized by the message.
        if k != "stack_trace" {
            short.push_str(&format!(" {k}={}", without_traceback(&v)));
        }
    }
    Event {
        short,
        whole,
        level: Some(level),
        target,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_events_are_rendered_and_other_lines_pass() {
        let e = render(
            r#"{"timestamp":"t","level":"ERROR","target":"connector","message":"boom","failure_type":"system_error","stack_trace":"long"}"#,
        );
        assert_eq!(e.short, "ERROR connector: boom failure_type=system_error");
        assert_eq!(
            e.whole,
            "ERROR connector: boom failure_type=system_error stack_trace=long"
        );
        assert_eq!(
            (e.level.as_deref(), e.message.as_str()),
            (Some("ERROR"), "boom")
        );
        let e = render("Traceback (most recent call last):");
        assert_eq!(e.short, "Traceback (most recent call last):");
        assert_eq!(e.level, None);
    }

    #[test]
    fn a_traceback_is_cut_to_its_exception_line_on_the_terminal_only() {
        let line = serde_json::json!({"level": "ERROR", "target": "connector",
            "message": "Encountered an exception\nTraceback (most recent call last):\n  File \"x.py\", line 1\nReadException: failed"})
        .to_string();
        let e = render(&line);
        assert_eq!(
            e.short,
            "ERROR connector: Encountered an exception [traceback in the log file] ReadException: failed"
        );
        assert!(e.whole.contains("File \"x.py\""), "{}", e.whole);
    }

    #[test]
    fn http_failures_are_found_in_cdk_and_requests_messages() {
        let cdk = "ReadException: Request to https://acme.freshdesk.com/api/v2/contacts?per_page=100 failed with status code 401 and error message You have to be logged in to perform this action.";
        assert_eq!(
            http_failure(cdk),
            Some(HttpFailure {
                status: 401,
                message: Some("You have to be logged in to perform this action.".into()),
                url: Some("https://acme.freshdesk.com/api/v2/contacts".into()),
            })
        );
        let repr = "contacts: AirbyteTracedException('Request to https://a.b/c failed with status code 403 and error message Forbidden')";
        assert_eq!(
            http_failure(repr).unwrap().message.as_deref(),
            Some("Forbidden")
        );
        let requests = "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://api.github.com/user?x=1";
        assert_eq!(
            http_failure(requests),
            Some(HttpFailure {
                status: 401,
                message: Some("Unauthorized".into()),
                url: Some("https://api.github.com/user".into()),
            })
        );
        assert_eq!(http_failure("read 401 records"), None);
        assert_eq!(http_failure("status code 200 and error message fine"), None);
    }
}
