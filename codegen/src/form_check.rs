//! Build-time checks of a config schema for what makes the dashboard's form
//! broken or confusing (issue 11), without a browser. Each [`FormWarning`]
//! names the JSON pointer into the config schema and the `spec.patch.json`
//! change that fixes it.
//!
//! The form rules checked here are the ones `form/src/uischema.js` renders:
//! top-level objects (and titled oneOf/anyOf) are groups, collapsed unless the
//! root requires them, and `advanced: true` groups start collapsed; fields sort
//! by `order`; `secret: true` (Flow's spelling of `airbyte_secret`) masks a
//! field; descriptions are plain text.

use std::fmt;

use patches::pointer::Pointer;
use serde_json::{json, Map, Value};

/// What a warning is about (also its name in reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// A `default` whose JSON type is not one its schema allows.
    DefaultType,
    /// A required field without a default inside a required group that starts
    /// collapsed (`advanced: true`): the form fails with the error out of sight.
    RequiredCollapsed,
    /// A `oneOf` whose options share no property with a distinct `const`
    /// (or single `enum`/`default`) and which has no `discriminator`.
    OneOfIndistinct,
    /// A field named like a secret (`password`, `api_key`, `access_token`, ...)
    /// that is not `secret: true`.
    SecretName,
    /// HTML tags in a `description` (shown as literal text).
    HtmlDescription,
    /// A property with no `type` (nor `const`/`enum`/`oneOf`/`anyOf`/`allOf`/`$ref`).
    NoType,
    /// Two sibling properties with the same `order`.
    DuplicateOrder,
    /// Some sibling properties have `order` and this one has not (consts and
    /// hidden fields aside).
    MissingOrder,
    /// The spec's `oauth2` names a provider but no property nor `oneOf`
    /// option carries `x-oauth2-provider`: the form shows raw credential
    /// fields and no sign-in button.
    OAuthUnmarked,
    /// An `array` with no `items` schema (Sentry's `discover_fields` says
    /// `item`): JSONForms has no renderer for it and the form shows "No
    /// applicable renderer found".
    ArrayNoItems,
}

impl Check {
    pub const ALL: [Check; 10] = [
        Check::DefaultType,
        Check::RequiredCollapsed,
        Check::OneOfIndistinct,
        Check::SecretName,
        Check::HtmlDescription,
        Check::NoType,
        Check::DuplicateOrder,
        Check::MissingOrder,
        Check::OAuthUnmarked,
        Check::ArrayNoItems,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::DefaultType => "default-type",
            Check::RequiredCollapsed => "required-collapsed",
            Check::OneOfIndistinct => "oneof-indistinct",
            Check::SecretName => "secret-name",
            Check::HtmlDescription => "html-description",
            Check::NoType => "no-type",
            Check::DuplicateOrder => "duplicate-order",
            Check::MissingOrder => "missing-order",
            Check::OAuthUnmarked => "oauth-unmarked",
            Check::ArrayNoItems => "array-no-items",
        }
    }
}

/// One form problem of a config schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FormWarning {
    pub check: Check,
    /// JSON pointer into the config schema, e.g. `/properties/api_key`.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The change to `spec.patch.json` that fixes it: a merge patch when the
    /// pointer crosses no array, else what to write where.
    pub fix: String,
}

impl fmt::Display for FormWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "form [{}]: {}: {}; fix: {}",
            self.check.name(),
            if self.pointer.is_empty() {
                "(root)"
            } else {
                &self.pointer
            },
            self.message,
            self.fix
        )
    }
}

/// Every form warning of a Flow spec response (its `configSchema`) or of a
/// bare config schema.
pub fn check_spec(spec: &Value) -> Vec<FormWarning> {
    match spec.get("configSchema") {
        Some(schema) => {
            let mut out = check_schema(schema);
            oauth_unmarked(spec.get("oauth2"), schema, &mut out);
            out
        }
        None => check_schema(spec),
    }
}

/// Whether a schema carries `x-oauth2-provider` anywhere.
fn carries_provider(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("x-oauth2-provider") || m.values().any(carries_provider),
        Value::Array(a) => a.iter().any(carries_provider),
        _ => false,
    }
}

/// Whether an object schema looks like OAuth credentials: titled OAuth, or
/// holding a client id, client secret, refresh token or access token.
fn looks_like_oauth(s: &Value) -> bool {
    let title = s["title"].as_str().unwrap_or("").to_ascii_lowercase();
    let props = s["properties"].as_object();
    title.contains("oauth")
        || props.is_some_and(|p| {
            [
                "client_id",
                "client_secret",
                "refresh_token",
                "access_token",
            ]
            .iter()
            .filter(|k| p.contains_key(**k))
            .count()
                >= 2
        })
}

/// [`Check::OAuthUnmarked`]: the Flow spec's `oauth2` names a provider and
/// nothing in the config schema carries `x-oauth2-provider`. The pointer is
/// the property (or `oneOf` option) that looks like the OAuth credentials.
fn oauth_unmarked(oauth2: Option<&Value>, schema: &Value, out: &mut Vec<FormWarning>) {
    let Some(provider) = oauth2
        .and_then(|o| o.get("provider"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    else {
        return;
    };
    if carries_provider(schema) {
        return;
    }
    let mark = Value::String(provider.to_string());
    let mut site: Option<Vec<String>> = None;
    for (k, p) in schema["properties"].as_object().into_iter().flatten() {
        if let Some(options) = p["oneOf"].as_array() {
            if let Some(i) = options.iter().position(looks_like_oauth) {
                site = Some(vec![
                    "properties".into(),
                    k.clone(),
                    "oneOf".into(),
                    i.to_string(),
                ]);
                break;
            }
        } else if p["properties"].is_object() && looks_like_oauth(p) {
            site = Some(vec!["properties".into(), k.clone()]);
            break;
        }
    }
    let message = format!(
        "the spec's oauth2 (oauth2.patch.json) names provider {provider:?} but no property or oneOf option carries \"x-oauth2-provider\": the form shows the raw credential fields and no sign-in button"
    );
    out.push(match site {
        Some(path) => FormWarning {
            check: Check::OAuthUnmarked,
            pointer: pointer(&path),
            message,
            fix: fix(&path, "x-oauth2-provider", mark),
        },
        None => FormWarning {
            check: Check::OAuthUnmarked,
            pointer: String::new(),
            message,
            fix: format!(
                "in spec.patch.json, set {} on the property or oneOf option holding the OAuth credentials",
                serde_json::to_string(&serde_json::json!({"x-oauth2-provider": provider}))
                    .unwrap_or_default()
            ),
        },
    });
}

/// Every form warning of a config schema, in schema order.
pub fn check_schema(schema: &Value) -> Vec<FormWarning> {
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    required_collapsed(schema, &mut out);
    out
}

fn pointer(path: &[String]) -> String {
    path.iter().collect::<Pointer>().to_string()
}

/// `spec.patch.json` fix setting `value` at `path` + `keyword`.
fn fix(path: &[String], keyword: &str, value: Value) -> String {
    let mut patch = json!({ keyword: value });
    if let Some(i) = path.iter().position(|t| t.parse::<usize>().is_ok()) {
        // A merge patch replaces arrays whole: say where, not how.
        return format!(
            "in spec.patch.json, set {} at {} (a merge patch replaces the array {} whole: copy it from the recorded spec and edit item {})",
            serde_json::to_string(&patch).unwrap_or_default(),
            pointer(path),
            pointer(&path[..i]),
            path[i]
        );
    }
    for t in path.iter().rev() {
        patch = json!({ t: patch });
    }
    format!(
        "merge {} into spec.patch.json",
        serde_json::to_string(&patch).unwrap_or_default()
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn types(s: &Map<String, Value>) -> Vec<&str> {
    match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_secret(s: &Map<String, Value>) -> bool {
    ["secret", "airbyte_secret"]
        .iter()
        .any(|k| s.get(*k) == Some(&Value::Bool(true)))
}

/// Words of a field name: `clientSecret` and `client_secret` give `client`, `secret`.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a field name says it holds a secret: its last word is a secret
/// word (`password`, `token`, `secret`, `apikey`), or it ends in `api key`,
/// `private key`, `access key`, `secret key` (`token_type`, `token_expiry_date`,
/// `secret_name` and `api_key_header` describe a secret, they are not one).
pub fn secret_name(name: &str) -> bool {
    let w = words(name);
    let last = w.last().map(String::as_str).unwrap_or("");
    let before = if w.len() >= 2 {
        w[w.len() - 2].as_str()
    } else {
        ""
    };
    matches!(
        last,
        "password" | "passwd" | "passphrase" | "token" | "secret" | "apikey"
    ) || (last == "key" && matches!(before, "api" | "private" | "access" | "secret" | "signing"))
        || (last == "json" && before == "credentials")
}

const HTML_TAGS: &[&str] = &[
    "a", "b", "i", "u", "p", "br", "code", "pre", "strong", "em", "ul", "ol", "li", "div", "span",
    "h1", "h2", "h3", "h4", "small",
];

/// The first HTML tag of `text` (`<a href=...>`, `</b>`, `<br/>`), if any.
pub fn html_tag(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let name_start = after.strip_prefix('/').unwrap_or(after);
        let len = name_start
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name_start.len());
        let name = &name_start[..len];
        let next = name_start[len..].chars().next();
        if HTML_TAGS.contains(&name.to_ascii_lowercase().as_str())
            && matches!(next, Some('>' | ' ' | '/'))
        {
            let end = after.find('>').map_or(after.len(), |e| e + 1);
            return Some(&rest[i..i + 1 + end]);
        }
        rest = after;
    }
    None
}

/// `text` without HTML tags; a link `<a href="U">T</a>` becomes `T (U)`.
pub fn strip_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut href: Option<String> = None;
    while let Some(tag) = html_tag(rest) {
        let i = rest.find(tag).unwrap_or(0);
        out.push_str(&rest[..i]);
        let lower = tag.to_ascii_lowercase();
        if lower.starts_with("<a ") {
            href = tag
                .split("href=")
                .nth(1)
                .and_then(|h| h.trim_start_matches(['"', '\'']).split(['"', '\'']).next())
                .map(str::to_string);
        } else if lower.starts_with("</a") {
            if let Some(h) = href.take() {
                out.push_str(&format!(" ({h})"));
            }
        } else if lower.starts_with("<br") || lower.starts_with("<li") {
            out.push(' ');
        }
        rest = &rest[i + tag.len()..];
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Subschema positions a form renders (properties, oneOf/anyOf options, items).
fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<FormWarning>) {
    let Some(s) = v.as_object() else { return };
    node(s, path, out);
    if let Some(Value::Object(props)) = s.get("properties") {
        siblings(props, path, out);
        for (k, p) in props {
            path.extend(["properties".to_string(), k.clone()]);
            if let Some(ps) = p.as_object() {
                property(k, ps, path, out);
            }
            walk(p, path, out);
            path.truncate(path.len() - 2);
        }
    }
    for kw in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = s.get(kw) {
            if kw == "oneOf" {
                one_of(s, options, path, out);
            }
            for (i, o) in options.iter().enumerate() {
                path.extend([kw.to_string(), i.to_string()]);
                walk(o, path, out);
                path.truncate(path.len() - 2);
            }
        }
    }
    if let Some(items @ Value::Object(_)) = s.get("items") {
        path.push("items".into());
        walk(items, path, out);
        path.pop();
    }
}

/// Checks of one schema node: its default and its description.
fn node(s: &Map<String, Value>, path: &[String], out: &mut Vec<FormWarning>) {
    let ts = types(s);
    if ts.contains(&"array") && !s.contains_key("items") {
        // The item type: a misspelt `item` says it, else strings.
        let item = match s.get("item") {
            Some(Value::String(t)) => t.clone(),
            _ => "string".into(),
        };
        out.push(FormWarning {
            check: Check::ArrayNoItems,
            pointer: pointer(path),
            message: format!(
                "an array with no \"items\"{}: the form has no renderer for it (\"No applicable renderer found\")",
                if s.contains_key("item") { " (it says \"item\")" } else { "" }
            ),
            fix: fix(path, "items", serde_json::json!({ "type": item })),
        });
    }
    if let Some(d) = s.get("default") {
        let dt = json_type(d);
        let ok = ts.is_empty() || ts.contains(&dt) || (dt == "integer" && ts.contains(&"number"));
        if !ok {
            out.push(FormWarning {
                check: Check::DefaultType,
                pointer: pointer(path),
                message: format!(
                    "default {} is {dt} but the schema's type is {}: the form shows an error before the user types anything",
                    serde_json::to_string(d).unwrap_or_default(),
                    ts.join(" or ")
                ),
                fix: fix(path, "default", Value::Null),
            });
        }
    }
    if let Some(Value::String(desc)) = s.get("description") {
        if let Some(tag) = html_tag(desc) {
            out.push(FormWarning {
                check: Check::HtmlDescription,
                pointer: pointer(path),
                message: format!(
                    "description holds HTML ({tag:?}), which the form shows as literal text"
                ),
                fix: fix(path, "description", Value::String(strip_html(desc))),
            });
        }
    }
}

/// Checks of a named property: type and secret name.
fn property(name: &str, s: &Map<String, Value>, path: &[String], out: &mut Vec<FormWarning>) {
    let typed = ["type", "const", "enum", "oneOf", "anyOf", "allOf", "$ref"]
        .iter()
        .any(|k| s.contains_key(*k));
    if !typed {
        let guess = s.get("default").map_or("string", json_type);
        out.push(FormWarning {
            check: Check::NoType,
            pointer: pointer(path),
            message:
                "property has no type: the form cannot pick an input for it and renders nothing"
                    .into(),
            fix: fix(path, "type", Value::String(guess.into())),
        });
    }
    let ts = types(s);
    let stringy = ts.is_empty() || ts.contains(&"string");
    if secret_name(name)
        && stringy
        && !is_secret(s)
        && !s.contains_key("const")
        && !s.contains_key("enum")
        && !s.contains_key("properties")
    {
        out.push(FormWarning {
            check: Check::SecretName,
            pointer: pointer(path),
            message: format!("field {name:?} is named like a secret but is not marked secret: the form shows it in clear text and Flow stores it unencrypted"),
            fix: fix(path, "secret", Value::Bool(true)),
        });
    }
}

/// Checks of sibling properties: duplicate and missing `order`.
fn siblings(props: &Map<String, Value>, path: &[String], out: &mut Vec<FormWarning>) {
    let orders: Vec<(&String, Option<i64>)> = props
        .iter()
        // Hidden fields and consts (a discriminator, hidden by the form) are
        // not laid out: an option whose only ordered field is its const is
        // not "partly ordered" (that fired on 9 of 13 corpus specs).
        .filter(|(_, p)| {
            p.get("x-hidden-field") != Some(&Value::Bool(true)) && p.get("const").is_none()
        })
        .map(|(k, p)| (k, p.get("order").and_then(Value::as_i64)))
        .collect();
    if orders.iter().all(|(_, o)| o.is_none()) {
        return;
    }
    let max = orders.iter().filter_map(|(_, o)| *o).max().unwrap_or(0);
    let mut next = max + 1;
    let mut seen: std::collections::BTreeMap<i64, &String> = Default::default();
    for (k, o) in &orders {
        let mut at = path.to_vec();
        at.extend(["properties".to_string(), (*k).clone()]);
        match o {
            None => {
                out.push(FormWarning {
                    check: Check::MissingOrder,
                    pointer: pointer(&at),
                    message: format!("{k:?} has no order while its siblings have one: it is shown after all of them"),
                    fix: fix(&at, "order", json!(next)),
                });
                next += 1;
            }
            Some(o) => {
                if let Some(first) = seen.get(o) {
                    out.push(FormWarning {
                        check: Check::DuplicateOrder,
                        pointer: pointer(&at),
                        message: format!("order {o} is also the order of {first:?}: their order on the form is up to the schema's key order"),
                        fix: fix(&at, "order", json!(next)),
                    });
                    next += 1;
                } else {
                    seen.insert(*o, k);
                }
            }
        }
    }
}

/// The tag of a oneOf option's property: its `const`, single `enum`, or `default`.
fn tag<'a>(option: &'a Value, prop: &str) -> Option<&'a Value> {
    let p = option.get("properties")?.get(prop)?;
    p.get("const")
        .or_else(|| {
            p.get("enum")
                .and_then(Value::as_array)
                .filter(|e| e.len() == 1)
                .and_then(|e| e.first())
        })
        .or_else(|| p.get("default"))
}

fn one_of(s: &Map<String, Value>, options: &[Value], path: &[String], out: &mut Vec<FormWarning>) {
    if options.len() < 2 || s.contains_key("discriminator") {
        return;
    }
    // Options that are consts (a select) or of distinct scalar types are told apart.
    if options.iter().all(|o| o.get("const").is_some()) {
        return;
    }
    let scalar_types: Vec<_> = options
        .iter()
        .map(|o| o.get("type").and_then(Value::as_str).unwrap_or("object"))
        .collect();
    if !scalar_types.contains(&"object") {
        let mut d = scalar_types.clone();
        d.sort();
        d.dedup();
        if d.len() == scalar_types.len() {
            return;
        }
    }
    let Some(first) = options[0].get("properties").and_then(Value::as_object) else {
        return indistinct(path, out);
    };
    let distinct = first.keys().find(|k| {
        let tags: Option<Vec<String>> = options
            .iter()
            .map(|o| tag(o, k).map(Value::to_string))
            .collect();
        tags.is_some_and(|mut t| {
            let n = t.len();
            t.sort();
            t.dedup();
            t.len() == n
        })
    });
    if distinct.is_none() {
        indistinct(path, out);
    }
}

fn indistinct(path: &[String], out: &mut Vec<FormWarning>) {
    out.push(FormWarning {
        check: Check::OneOfIndistinct,
        pointer: format!("{}/oneOf", pointer(path)),
        message: "oneOf options cannot be told apart (no discriminator, and no property with a distinct const in every option): the form cannot tell which option a saved config is".into(),
        fix: format!(
            "give every option a property with a distinct const, e.g. \"auth_type\": {{\"type\": \"string\", \"const\": \"<option title>\"}}, and {}",
            fix(path, "discriminator", json!({"propertyName": "auth_type"}))
        ),
    });
}

/// A required field (without a default) inside a top-level group that is
/// required but starts collapsed because it is `advanced: true`.
fn required_collapsed(schema: &Value, out: &mut Vec<FormWarning>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (k, g) in props {
        let advanced = g.get("advanced") == Some(&Value::Bool(true));
        let is_group = g.get("properties").is_some() || g.get("oneOf").is_some();
        if !advanced || !is_group || !required.contains(&k.as_str()) {
            continue;
        }
        let inner = g
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in inner.iter().filter_map(Value::as_str) {
            let field = &g["properties"][f];
            if field.get("default").is_some() {
                continue;
            }
            let path = vec!["properties".to_string(), k.clone()];
            out.push(FormWarning {
                check: Check::RequiredCollapsed,
                pointer: ["properties", k.as_str(), "properties", f]
                    .into_iter()
                    .collect::<Pointer>()
                    .to_string(),
                message: format!("required field {f:?} is inside group {k:?}, which starts collapsed (advanced: true): the form is invalid with the error out of sight"),
                fix: fix(&path, "advanced", Value::Bool(false)),
            });
        }
    }
}
