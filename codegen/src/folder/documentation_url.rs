//! `documentation_url.patch.json`: the documentation URL of the Flow spec.

use serde_json::Value;

use super::context::{show, Ctx};
use super::names::DOCUMENTATION_URL_PATCH;

/// Reads `documentation_url.patch.json`: its non-empty `documentation_url`.
pub(super) fn load(cx: &mut Ctx) -> Option<String> {
    cx.json(DOCUMENTATION_URL_PATCH).and_then(|v| {
    match v.get("documentation_url") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(other) => {
            cx.err(DOCUMENTATION_URL_PATCH, "/documentation_url", format!("expected a non-empty URL string, got {}", show(other)));
            None
        }
        None => {
            cx.err(DOCUMENTATION_URL_PATCH, "(root)", format!("no string \"documentation_url\" in {}; write {{\"documentation_url\": \"https://...\"}}", show(&v)));
            None
        }
    }
})
}
