//! `oauth2.patch.json`: Flow's OAuth2 spec replacing the upstream one, or the
//! template's placeholder for no OAuth.

use patches::OAuth2;
use serde_json::Value;

use super::context::{show, Ctx};
use super::names::OAUTH2_PATCH;
use super::pointer::ptr;

/// Whether an `oauth2.patch.json` is the template's placeholder: an object
/// with `provider` whose fields are all empty (`""`, `{}`, `[]` or `null`).
pub fn is_oauth2_placeholder(v: &Value) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    obj.contains_key("provider")
        && obj.values().all(|f| match f {
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        })
}

/// Flow's OAuth2 fields: (name, required, expected JSON type).
const OAUTH2_FIELDS: &[(&str, bool, &str)] = &[
    ("provider", true, "string"),
    ("authUrlTemplate", true, "string"),
    ("accessTokenUrlTemplate", true, "string"),
    ("accessTokenMethod", false, "string"),
    ("accessTokenBody", false, "string"),
    ("accessTokenHeaders", false, "object"),
    ("accessTokenResponseMap", false, "object"),
    ("refreshTokenUrlTemplate", false, "string"),
    ("refreshTokenMethod", false, "string"),
    ("refreshTokenBody", false, "string"),
    ("refreshTokenHeaders", false, "object"),
    ("refreshTokenResponseMap", false, "object"),
];

/// Reads `oauth2.patch.json`: `Upstream` when it is absent (or wrong).
pub(super) fn load(cx: &mut Ctx) -> OAuth2<Value> {
    match cx.json(OAUTH2_PATCH) {
        None => OAuth2::Upstream,
        Some(v) => check(cx, v),
    }
}

/// Checks the file's value: `Disabled` for the placeholder, `Replace` for a
/// good spec, `Upstream` (with the problems) for anything else.
fn check(cx: &mut Ctx, v: Value) -> OAuth2<Value> {
    let f = OAUTH2_PATCH;
    if is_oauth2_placeholder(&v) {
        return OAuth2::Disabled;
    }
    let Some(obj) = v.as_object() else {
        cx.err(f, "(root)", format!("expected Flow's OAuth2 spec object, got {}; write an object with \"provider\", \"authUrlTemplate\" and \"accessTokenUrlTemplate\", or the template's placeholder (every field an empty string or object) for no OAuth", show(&v)));
        return OAuth2::Upstream;
    };
    let before = cx.problems.len();
    for (name, required, ty) in OAUTH2_FIELDS {
        match (obj.get(*name), *ty) {
            (None, _) if *required => cx.err(f, ptr(&[name]), format!("Flow's required OAuth2 field {name:?} is missing; add it as a non-empty string (or make every field empty for no OAuth)")),
            (None, _) => {}
            (Some(Value::String(s)), "string") if *required && s.is_empty() => cx.err(f, ptr(&[name]), format!("Flow's required OAuth2 field {name:?} is empty; give it a value (or make every field empty for no OAuth)")),
            (Some(Value::String(_)), "string") | (Some(Value::Object(_)), "object") => {}
            (Some(other), ty) => cx.err(f, ptr(&[name]), format!("expected {ty}, got {}", show(other))),
        }
    }
    if cx.problems.len() > before {
        OAuth2::Upstream
    } else {
        OAuth2::Replace(v)
    }
}
