//! Every shipped real connector (`connectors/*` with an `upstream` package):
//! `cargo xtask build` makes its binary, which answers `spec` from the baked
//! recording with no Python started (the entrypoint is `/bin/false`): the
//! form is usable (documentation URL, secrets marked, no Airbyte-only
//! keywords, OAuth2 where upstream offers it). Connectors that discover
//! without their API (stripe, intercom, harvest, zendesk-support) then discover through
//! the binary against their real upstream, provisioned from the lock file:
//! every binding has a key, its resource path is `[stream]`, and only the
//! selected streams are enabled.
//!
//! One test function per connector would build in parallel and contend for
//! the build lock; one function builds them in order.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

fn build(name: &str, out: &Path) -> PathBuf {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", name, "--out"])
        .arg(out)
        .current_dir(testkit::workspace_root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo xtask build {name} failed:\n{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    eprintln!("cargo xtask build {name}: {:.1?}", started.elapsed());
    PathBuf::from(stdout.lines().last().expect("a binary path on stdout"))
}

/// Runs `binary args` with one request; returns (ok, stdout messages, stderr).
fn request(binary: &Path, args: &[&str], req: &Value) -> (bool, Vec<Value>, String) {
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{req}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let msgs = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (
        out.status.success(),
        msgs,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every JSON pointer in `v` whose object has key `key`.
fn find_key(v: &Value, key: &str, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if m.contains_key(key) {
                out.push(at.clone());
            }
            for (k, c) in m {
                find_key(c, key, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                find_key(c, key, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Shipped connectors: (name, secret fields that must be marked, OAuth2 provider).
const SHIPPED: &[(&str, &[&str], Option<&str>)] = &[
    ("source-freshdesk", &["/properties/api_key"], None),
    (
        "source-github",
        &["/properties/credentials/oneOf/1/properties/personal_access_token"],
        Some("github"),
    ),
    (
        "source-harvest",
        &["/properties/credentials/oneOf/1/properties/api_token"],
        Some("harvest"),
    ),
    (
        "source-intercom",
        &["/properties/credentials/properties/access_token"],
        Some("intercom"),
    ),
    ("source-stripe", &["/properties/client_secret"], None),
    (
        "source-zendesk-support",
        &["/properties/credentials/oneOf/1/properties/api_token"],
        Some("zendesk"),
    ),
];

/// Offline discover: (name, config, streams that must be discovered).
fn offline() -> Vec<(&'static str, Value, &'static [&'static str])> {
    vec![
        (
            "source-stripe",
            json!({"account_id": "acct_1234567890abcdef", "client_secret": "sk_test_0123456789abcdef0123456789abcdef", "start_date": "2024-01-01T00:00:00Z"}),
            &["charges", "customers", "invoices"],
        ),
        (
            "source-intercom",
            json!({"start_date": "2024-01-01T00:00:00Z", "credentials": {"access_token": "dG9rOjAxMjM0NTY3ODlhYmNkZWY6MTIzNDU2Nzg5MA=="}}),
            &["contacts", "conversations", "companies"],
        ),
        (
            "source-harvest",
            json!({"account_id": "1234567", "replication_start_date": "2024-01-01T00:00:00Z", "credentials": {"auth_type": "Token", "api_token": "0123456789.pt.abcdefghijklmnopqrstuvwxyz0123456789"}}),
            &["clients", "time_entries", "time_projects", "company"],
        ),
        (
            "source-zendesk-support",
            json!({"subdomain": "acme", "start_date": "2024-01-01T00:00:00Z", "credentials": {"credentials": "api_token", "email": "someone@example.com", "api_token": "0123456789abcdef0123456789abcdef01234567"}}),
            &["tickets", "users", "ticket_comments"],
        ),
    ]
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn shipped_connectors_build_answer_spec_baked_and_discover_offline() {
    let root = testkit::workspace_root();
    let tmp = tempfile::tempdir().unwrap();
    // The GitHub workflow's matrix (`cargo xtask ci-matrix`) builds every one.
    let matrix = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("ci-matrix")
        .output()
        .unwrap();
    let matrix: Value = serde_json::from_slice(&matrix.stdout).unwrap();
    for (name, _, _) in SHIPPED {
        assert!(
            matrix["connector"]
                .as_array()
                .unwrap()
                .contains(&json!(name)),
            "{name} not in {matrix}"
        );
    }
    let mut binaries = std::collections::BTreeMap::new();
    for (name, secrets, oauth) in SHIPPED {
        assert!(
            root.join("connectors")
                .join(name)
                .join("connector.json")
                .is_file(),
            "{name} is not shipped"
        );
        let binary = build(name, &tmp.path().join(name));
        // `/bin/false` as the upstream: the spec must come from the recording.
        let (ok, msgs, stderr) = request(
            &binary,
            &["--connector-entrypoint", "/bin/false"],
            &json!({"spec": {"connectorType": "IMAGE", "config": {}}}),
        );
        assert!(ok, "{name}: spec failed:\n{stderr}");
        let spec = &msgs[0]["spec"];
        assert_eq!(
            spec["documentationUrl"],
            format!("https://go.estuary.dev/{name}"),
            "{name}"
        );
        let schema = &spec["configSchema"];
        for s in *secrets {
            assert_eq!(
                schema.pointer(&format!("{s}/secret")),
                Some(&json!(true)),
                "{name}: {s} is not marked secret: {schema}"
            );
        }
        for airbyte_only in ["airbyte_secret", "airbyte_hidden"] {
            let mut found = Vec::new();
            find_key(schema, airbyte_only, String::new(), &mut found);
            assert!(found.is_empty(), "{name}: {airbyte_only} left at {found:?}");
        }
        // Every top-level field of the form has an order.
        for (field, prop) in schema["properties"].as_object().unwrap() {
            assert!(
                prop.get("order").is_some(),
                "{name}: /properties/{field} has no order"
            );
        }
        match oauth {
            Some(provider) => {
                assert_eq!(spec["oauth2"]["provider"], *provider, "{name}: {spec}");
                let mut marked = Vec::new();
                find_key(schema, "x-oauth2-provider", String::new(), &mut marked);
                assert_eq!(
                    marked.len(),
                    1,
                    "{name}: one OAuth2 credentials object: {marked:?}"
                );
            }
            None => assert!(spec.get("oauth2").is_none(), "{name}: {spec}"),
        }
        binaries.insert(*name, binary);
    }

    for (name, config, streams) in offline() {
        let entrypoint = testkit::provision(name);
        let started = Instant::now();
        let (ok, msgs, stderr) = request(
            &binaries[name],
            &["--connector-entrypoint", &entrypoint],
            &json!({"discover": {"connectorType": "IMAGE", "config": config}}),
        );
        assert!(ok, "{name}: discover failed:\n{stderr}");
        eprintln!("{name}: discover {:.1?}", started.elapsed());
        let bindings = msgs[0]["discovered"]["bindings"].as_array().unwrap();
        let selected: Vec<String> = serde_json::from_str(
            &std::fs::read_to_string(
                root.join("connectors")
                    .join(name)
                    .join("selected_streams.json"),
            )
            .unwrap(),
        )
        .unwrap();
        for b in bindings {
            let stream = b["recommendedName"].as_str().unwrap();
            assert_eq!(b["resourcePath"], json!([stream]), "{name}: {b}");
            let key = b["key"].as_array().unwrap();
            assert!(!key.is_empty(), "{name}: stream {stream} has no key");
            let enabled = b["disable"].as_bool() != Some(true);
            assert_eq!(
                enabled,
                selected.iter().any(|s| s == stream),
                "{name}: {stream} enabled={enabled}"
            );
        }
        for s in streams {
            assert!(
                bindings.iter().any(|b| b["recommendedName"] == *s),
                "{name}: no stream {s}"
            );
        }
    }
}
