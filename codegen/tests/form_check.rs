//! The build-time form checks (`codegen::form_check`): each check on a small
//! schema that breaks it and on one that does not, the project's connectors,
//! and the per-check counts over the 40 corpus connectors (their specs from
//! `../shared/fixtures/airbyte` where recorded, with the corpus patches
//! applied by `patches::apply::flow_spec`, the binary's own function).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codegen::form_check::{check_schema, check_spec, html_tag, secret_name, strip_html, Check};
use serde_json::{json, Value};

fn checks(schema: Value) -> Vec<(Check, String)> {
    check_schema(&schema)
        .into_iter()
        .map(|w| (w.check, w.pointer))
        .collect()
}

#[test]
fn default_whose_type_disagrees_with_its_schema() {
    // The file connector's provider object with default "Public Web".
    let bad = json!({"type": "object", "properties": {
        "provider": {"type": "object", "default": "Public Web", "properties": {"storage": {"type": "string"}}},
        "n": {"type": "number", "default": 3},
        "i": {"type": "integer", "default": 2.0},
        "s": {"type": ["string", "null"], "default": null}
    }});
    assert_eq!(
        checks(bad.clone()),
        vec![(Check::DefaultType, "/properties/provider".to_string())]
    );
    let w = &check_schema(&bad)[0];
    assert!(w.message.contains("\"Public Web\" is string"), "{w}");
    assert_eq!(
        w.fix,
        r#"merge {"properties":{"provider":{"default":null}}} into spec.patch.json"#
    );
}

#[test]
fn required_field_in_a_group_that_starts_collapsed() {
    let schema = |advanced: bool, default: Option<i64>| {
        let mut field = json!({"type": "integer"});
        if let Some(d) = default {
            field["default"] = json!(d);
        }
        json!({"type": "object", "required": ["opts"], "properties": {
            "opts": {"type": "object", "advanced": advanced, "required": ["limit"], "properties": {"limit": field}}
        }})
    };
    assert_eq!(
        checks(schema(true, None)),
        vec![(
            Check::RequiredCollapsed,
            "/properties/opts/properties/limit".to_string()
        )]
    );
    assert_eq!(checks(schema(false, None)), vec![]);
    assert_eq!(checks(schema(true, Some(10))), vec![]);
    let w = &check_schema(&schema(true, None))[0];
    assert!(
        w.fix
            .contains(r#"{"properties":{"opts":{"advanced":false}}}"#),
        "{w}"
    );
}

#[test]
fn oneof_options_that_cannot_be_told_apart() {
    let opt = |title: &str, tag: Option<&str>| {
        let mut o = json!({"title": title, "type": "object", "properties": {"token": {"type": "string", "secret": true}}});
        if let Some(t) = tag {
            o["properties"]["auth_type"] = json!({"type": "string", "const": t});
        }
        o
    };
    let with = |a, b| json!({"type": "object", "properties": {"credentials": {"title": "Auth", "oneOf": [a, b]}}});
    assert_eq!(
        checks(with(opt("A", None), opt("B", None))),
        vec![(
            Check::OneOfIndistinct,
            "/properties/credentials/oneOf".to_string()
        )]
    );
    assert_eq!(
        checks(with(opt("A", Some("a")), opt("B", Some("b")))),
        vec![]
    );
    // Same const twice: still indistinct.
    assert_eq!(
        checks(with(opt("A", Some("a")), opt("B", Some("a")))).len(),
        1
    );
    // A select of consts, distinct scalar types, a discriminator: fine.
    assert_eq!(
        checks(
            json!({"properties": {"region": {"type": "string", "oneOf": [{"const": "eu", "title": "EU"}, {"const": "us", "title": "US"}]}}})
        ),
        vec![]
    );
    assert_eq!(
        checks(json!({"properties": {"x": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}})),
        vec![]
    );
    let mut disc = with(opt("A", None), opt("B", None));
    disc["properties"]["credentials"]["discriminator"] = json!({"propertyName": "auth_type"});
    assert_eq!(checks(disc), vec![]);
}

#[test]
fn secret_named_field_not_marked_secret() {
    for name in [
        "password",
        "api_key",
        "apiKey",
        "client_secret",
        "access_token",
        "refresh_token",
        "private_key",
        "credentials_json",
        "token",
    ] {
        assert!(secret_name(name), "{name}");
    }
    for name in [
        "token_type",
        "token_expiry_date",
        "client_id",
        "secret_name",
        "api_key_header",
        "key",
        "username",
        "start_date",
    ] {
        assert!(!secret_name(name), "{name}");
    }
    let schema = json!({"type": "object", "properties": {
        "api_key": {"type": "string"},
        "password": {"type": "string", "secret": true},
        "token": {"type": "string", "airbyte_secret": true},
        "access_token": {"type": "integer"}
    }});
    assert_eq!(
        checks(schema.clone()),
        vec![(Check::SecretName, "/properties/api_key".to_string())]
    );
    assert_eq!(
        check_schema(&schema)[0].fix,
        r#"merge {"properties":{"api_key":{"secret":true}}} into spec.patch.json"#
    );
    // Inside a oneOf option, the fix says which array to copy.
    let nested = json!({"properties": {"auth": {"oneOf": [{"properties": {"password": {"type": "string"}}}]}}});
    let w = &check_schema(&nested)[0];
    assert_eq!(w.pointer, "/properties/auth/oneOf/0/properties/password");
    assert!(
        w.fix
            .contains("replaces the array /properties/auth/oneOf whole"),
        "{w}"
    );
}

#[test]
fn html_in_a_description() {
    assert_eq!(
        html_tag("see <a href=\"https://x.io\">docs</a>"),
        Some("<a href=\"https://x.io\">")
    );
    assert_eq!(html_tag("a < b and b>c, <not a tag>"), None);
    assert_eq!(html_tag("line<br/>break"), Some("<br/>"));
    assert_eq!(
        strip_html("Get it <a href=\"https://x.io/key\">here</a>.<br>Then <b>paste</b> it."),
        "Get it here (https://x.io/key). Then paste it."
    );
    let schema = json!({"properties": {"k": {"type": "string", "description": "See <a href='https://x.io'>docs</a>"}}});
    let w = &check_schema(&schema);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].check, Check::HtmlDescription);
    assert_eq!(
        w[0].fix,
        r#"merge {"properties":{"k":{"description":"See docs (https://x.io)"}}} into spec.patch.json"#
    );
}

#[test]
fn property_with_no_type() {
    let schema = json!({"properties": {
        "a": {"title": "A", "default": 5},
        "b": {"enum": ["x", "y"]},
        "c": {"$ref": "#/definitions/c"},
        "d": {"title": "D"}
    }});
    assert_eq!(
        checks(schema.clone()),
        vec![
            (Check::NoType, "/properties/a".to_string()),
            (Check::NoType, "/properties/d".to_string())
        ]
    );
    assert!(check_schema(&schema)[0]
        .fix
        .contains(r#"{"type":"integer"}"#));
    assert!(check_schema(&schema)[1]
        .fix
        .contains(r#"{"type":"string"}"#));
}

#[test]
fn duplicate_or_missing_order() {
    let schema = json!({"properties": {
        "a": {"type": "string", "order": 0},
        "b": {"type": "string", "order": 0},
        "c": {"type": "string"},
        "h": {"type": "string", "x-hidden-field": true}
    }});
    assert_eq!(
        checks(schema.clone()),
        vec![
            (Check::DuplicateOrder, "/properties/b".to_string()),
            (Check::MissingOrder, "/properties/c".to_string())
        ]
    );
    let ws = check_schema(&schema);
    assert!(
        ws[0].fix.contains(r#"{"properties":{"b":{"order":1}}}"#),
        "{}",
        ws[0]
    );
    assert!(
        ws[1].fix.contains(r#"{"properties":{"c":{"order":2}}}"#),
        "{}",
        ws[1]
    );
    // No order anywhere: schema order, no warning.
    assert_eq!(
        checks(json!({"properties": {"a": {"type": "string"}, "b": {"type": "string"}}})),
        vec![]
    );
}

/// The Airbyte ConnectorSpecification in a fixture folder's `spec.jsonl`
/// (the folder itself or, for versioned fixtures, its first subfolder that has one).
fn fixture_spec(dir: &Path) -> Option<Value> {
    let mut candidates = vec![dir.join("spec.jsonl")];
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path().join("spec.jsonl"))
        .collect();
    subs.sort();
    candidates.extend(subs);
    candidates.iter().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| m["type"] == "SPEC")
            .map(|m| m["spec"].clone())
    })
}

#[test]
fn corpus_counts_per_check() {
    let Some(shared) = testkit::shared("corpus_counts_per_check") else {
        return;
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 40);

    // connectors with a full spec; per check: connectors it fires on, warnings.
    let mut full = 0;
    let mut counts: BTreeMap<&str, (usize, usize)> =
        Check::ALL.iter().map(|c| (c.name(), (0, 0))).collect();
    let mut patch_only: BTreeMap<&str, (usize, usize)> = counts.clone();
    let mut npatch = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_str().unwrap();
        let loaded = codegen::load(dir).unwrap_or_else(|p| panic!("{p}"));
        let short = name.trim_start_matches("source-");
        let spec = fixture_spec(&shared.join("fixtures/airbyte").join(short));
        let (warnings, table) = match spec {
            Some(spec) => {
                full += 1;
                let oauth = match &loaded.oauth2 {
                    patches::OAuth2::Upstream => patches::OAuth2::Upstream,
                    patches::OAuth2::Disabled => patches::OAuth2::Disabled,
                    patches::OAuth2::Replace(v) => patches::OAuth2::Replace(v),
                };
                let flow = patches::apply::flow_spec(
                    &spec,
                    loaded.config_patch.as_ref(),
                    oauth,
                    loaded.documentation_url.as_deref(),
                )
                .unwrap();
                (check_spec(&flow), &mut counts)
            }
            // No recorded spec: only the patch's own descriptions are
            // checkable (a partial schema has no types, and its fields' secret
            // marks are in the upstream spec), so count them apart.
            None => match &loaded.config_patch {
                Some(patch) => {
                    npatch += 1;
                    let ws = check_schema(patch)
                        .into_iter()
                        .filter(|w| w.check == Check::HtmlDescription)
                        .collect();
                    (ws, &mut patch_only)
                }
                None => continue,
            },
        };
        let mut fired = std::collections::BTreeSet::new();
        for w in &warnings {
            eprintln!("{name}: {w}");
            table.get_mut(w.check.name()).unwrap().1 += 1;
            fired.insert(w.check.name());
        }
        for c in fired {
            table.get_mut(c).unwrap().0 += 1;
        }
    }
    eprintln!("form checks over the corpus: {full} connectors with a recorded spec (fixtures), {npatch} with only a spec.patch.json");
    eprintln!(
        "{:<20} {:>18} {:>10} {:>20} {:>10}",
        "check", "full: connectors", "warnings", "patch-only: conn.", "warnings"
    );
    for c in Check::ALL {
        let (a, b) = counts[c.name()];
        let (d, e) = patch_only[c.name()];
        eprintln!("{:<20} {a:>18} {b:>10} {d:>20} {e:>10}", c.name());
    }
    assert!(
        full >= 10,
        "expected fixtures for at least 10 corpus connectors, found {full}"
    );
    // A check that fires on almost every connector is noise, not help.
    for (check, (n, _)) in &counts {
        assert!(
            *n * 10 < full * 9,
            "{check} fires on {n} of {full} connectors: tune it"
        );
    }
}

#[test]
fn project_connectors() {
    let dir = testkit::workspace_root().join("connectors");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let dir = entry.unwrap().path();
        let loaded = codegen::load(&dir).unwrap_or_else(|p| panic!("{p}"));
        let Some(spec) = loaded.flow_spec else {
            continue;
        };
        for w in check_spec(&spec) {
            eprintln!("{}: {w}", loaded.name);
            // Every warning names a pointer that exists in the config schema.
            assert!(
                spec["configSchema"].pointer(&w.pointer).is_some() || w.pointer.ends_with("/oneOf"),
                "{w}"
            );
        }
    }
}

#[test]
fn consts_and_hidden_fields_need_no_order() {
    let schema = json!({"properties": {"auth": {"oneOf": [
        {"title": "Token", "properties": {
            "auth_type": {"type": "string", "const": "token", "order": 0},
            "token": {"type": "string", "secret": true}
        }}
    ]}}});
    assert_eq!(checks(schema), vec![]);
}

#[test]
fn oauth_without_a_provider_mark_names_the_credentials_and_the_patch() {
    let oneof = json!({
        "configSchema": {"properties": {
            "repo": {"type": "string", "order": 0},
            "credentials": {"title": "Authentication", "oneOf": [
                {"title": "Personal Access Token", "properties": {"token": {"type": "string", "secret": true}}},
                {"title": "OAuth", "properties": {"client_id": {"type": "string"}, "client_secret": {"type": "string"}}}
            ]}
        }},
        "oauth2": {"provider": "github"}
    });
    let ws: Vec<_> = check_spec(&oneof)
        .into_iter()
        .filter(|w| w.check == Check::OAuthUnmarked)
        .collect();
    assert_eq!(ws.len(), 1, "{ws:?}");
    assert_eq!(ws[0].pointer, "/properties/credentials/oneOf/1");
    assert!(ws[0].message.contains("provider \"github\""), "{}", ws[0]);
    assert!(
        ws[0].fix.starts_with("in spec.patch.json, set {\"x-oauth2-provider\":\"github\"} at /properties/credentials/oneOf/1"),
        "{}",
        ws[0].fix
    );

    let object = json!({
        "configSchema": {"properties": {"credentials": {"type": "object", "properties": {
            "client_id": {"type": "string"}, "client_secret": {"type": "string"}, "access_token": {"type": "string"}
        }}}},
        "oauth2": {"provider": "intercom"}
    });
    let w = check_spec(&object)
        .into_iter()
        .find(|w| w.check == Check::OAuthUnmarked)
        .unwrap();
    assert_eq!(w.pointer, "/properties/credentials");
    assert_eq!(
        w.fix,
        r#"merge {"properties":{"credentials":{"x-oauth2-provider":"intercom"}}} into spec.patch.json"#
    );

    // Marked on an option, or no OAuth at all: no warning.
    let mut marked = oneof.clone();
    marked["configSchema"]["properties"]["credentials"]["oneOf"][1]["x-oauth2-provider"] =
        json!("github");
    let mut none = oneof.clone();
    none["oauth2"] = json!({"provider": ""});
    for spec in [marked, none] {
        assert!(
            !check_spec(&spec)
                .iter()
                .any(|w| w.check == Check::OAuthUnmarked),
            "{spec}"
        );
    }
}

#[test]
fn array_without_items() {
    // Sentry's `discover_fields` says `item` where JSON Schema says `items`.
    let bad = json!({"type": "object", "properties": {
        "discover_fields": {"type": "array", "item": "string"},
        "tags": {"type": "array", "items": {"type": "string"}}
    }});
    let warnings = check_schema(&bad);
    let w: Vec<_> = warnings
        .iter()
        .filter(|w| w.check == Check::ArrayNoItems)
        .collect();
    assert_eq!(w.len(), 1, "{warnings:?}");
    assert_eq!(w[0].pointer, "/properties/discover_fields");
    assert!(
        w[0].message.contains("it says \"item\""),
        "{}",
        w[0].message
    );
    assert!(
        w[0].fix.contains("\"items\"") && w[0].fix.contains("\"string\""),
        "{}",
        w[0].fix
    );
}
