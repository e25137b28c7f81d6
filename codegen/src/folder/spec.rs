//! `spec.patch.json` (a merge patch of the config schema) and `spec.map.json`
//! (config fields moved from where Flow's form puts them to where the
//! upstream connector reads them).

use serde_json::Value;

use super::context::{show, Ctx};
use super::names::{SPEC_MAP, SPEC_PATCH};
use super::pointer::{is_pointer, pointer_fix, ptr};

/// Reads `spec.patch.json`: the merge patch, when it is an object.
pub(super) fn load_patch(cx: &mut Ctx) -> Option<Value> {
    cx.json(SPEC_PATCH).and_then(|v| {
    if v.is_object() {
        Some(v)
    } else {
        cx.err(SPEC_PATCH, "(root)", format!("expected an object (an RFC 7396 merge patch of the config schema), got {}; write e.g. {{\"properties\": {{...}}}}", show(&v)));
        None
    }
})
}

/// Reads `spec.map.json`: its `(to, from)` pairs, in file order.
pub(super) fn load_map(cx: &mut Ctx) -> Vec<(String, String)> {
    let mut config_map = Vec::new();
    if let Some(v) = cx.json(SPEC_MAP) {
        match v.as_object() {
            None => cx.err(
                SPEC_MAP,
                "(root)",
                format!(
                    "expected an object {{\"/to/pointer\": \"/from/pointer\"}}, got {}",
                    show(&v)
                ),
            ),
            Some(obj) => {
                for (to, from) in obj {
                    let at = ptr(&[to]);
                    if !is_pointer(to) {
                        cx.err(
                            SPEC_MAP,
                            &at,
                            format!("key {to:?} is not a JSON pointer; {}", pointer_fix(to)),
                        );
                    }
                    match from.as_str() {
                        Some(f) if is_pointer(f) => config_map.push((to.clone(), f.to_string())),
                        Some(f) => cx.err(
                            SPEC_MAP,
                            &at,
                            format!("value {f:?} is not a JSON pointer; {}", pointer_fix(f)),
                        ),
                        None => cx.err(
                            SPEC_MAP,
                            &at,
                            format!("expected a JSON pointer string, got {}", show(from)),
                        ),
                    }
                }
            }
        }
    }
    config_map
}
