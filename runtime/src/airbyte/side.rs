//! The connector's side messages (LOG, TRACE, CONTROL: neither records nor
//! states nor the answer a command waits for) as log events, and the failure
//! reason a TRACE ERROR gives.

use serde::Deserialize;
use serde_json::Value;

use super::Envelope;

#[derive(Deserialize)]
struct Log {
    #[serde(default)]
    level: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Trace {
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    error: Option<TraceError>,
}

#[derive(Deserialize)]
struct TraceError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    internal_message: Option<String>,
    #[serde(default)]
    failure_type: Option<String>,
    #[serde(default)]
    stack_trace: Option<String>,
}

/// Handle a message that is not the caller's business: LOG, TRACE and
/// CONTROL become log events (TRACE ERROR is remembered as the failure
/// reason, into `last_error`), anything else is logged at debug level.
pub fn side_message(env: &Envelope<'_>, last_error: &mut Option<String>) {
    match env.ty.as_ref() {
        "LOG" => {
            let Some(log) = env
                .log
                .and_then(|l| serde_json::from_str::<Log>(l.get()).ok())
            else {
                tracing::warn!(target: "connector", "the connector wrote a LOG message without level and message");
                return;
            };
            let m = &log.message;
            match log.level.to_ascii_uppercase().as_str() {
                "FATAL" | "ERROR" => {
                    tracing::error!(target: "connector", level_name = %log.level, "{m}")
                }
                "WARN" | "WARNING" => tracing::warn!(target: "connector", "{m}"),
                "DEBUG" => tracing::debug!(target: "connector", "{m}"),
                "TRACE" => tracing::trace!(target: "connector", "{m}"),
                _ => tracing::info!(target: "connector", "{m}"),
            }
        }
        "TRACE" => {
            let Some(trace) = env
                .trace
                .and_then(|t| serde_json::from_str::<Trace>(t.get()).ok())
            else {
                return;
            };
            match (trace.ty.as_str(), trace.error) {
                ("ERROR", Some(e)) => {
                    tracing::error!(
                        target: "connector",
                        failure_type = e.failure_type.as_deref().unwrap_or(""),
                        internal_message = e.internal_message.as_deref().unwrap_or(""),
                        stack_trace = e.stack_trace.as_deref().unwrap_or(""),
                        "{}", e.message
                    );
                    *last_error = Some(if e.message.is_empty() {
                        e.internal_message.unwrap_or_default()
                    } else {
                        e.message
                    });
                }
                (ty, _) => {
                    tracing::debug!(target: "connector", trace_type = ty, trace = env.trace.map(|t| t.get()).unwrap_or(""), "connector trace");
                }
            }
        }
        "CONTROL" => {
            // The control message may carry the whole config (secrets): log its type only.
            let ty = env
                .control
                .and_then(|c| serde_json::from_str::<Value>(c.get()).ok())
                .and_then(|c| c.get("type").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            tracing::info!(target: "connector", control_type = %ty, "the connector emitted a CONTROL message (ignored; its contents are not logged as they may hold secrets)");
        }
        other => {
            tracing::debug!(target: "connector", message_type = other, "ignoring an Airbyte message");
        }
    }
}
