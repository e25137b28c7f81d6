//! The form page in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `.ci/run`) driven by playwright-core (`form/node_modules`,
//! `npm --prefix form ci`) through `form/test/drive.mjs`, which asserts on the
//! DOM (among others: a sign-in button wherever the schema carries
//! `x-oauth2-provider`, on a property or an option of a choice, on every
//! connector whose `oauth2.patch.json` names a provider). Pages: every
//! connector in `connectors/` with a recorded spec, the
//! freshdesk, zendesk-support, stripe and file specs of `../shared/fixtures`,
//! and `tests/form/everything.spec.json` (every behaviour of issue 11).
//! Screenshots go to `target/test-output/form_browser/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

/// Chromium, node and playwright-core, or why the test is skipped.
fn tools() -> Result<PathBuf, String> {
    let chromium = std::env::var_os("ATF_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!(
            "{} is absent (`apt-get install -y chromium`; .ci/run installs it)",
            chromium.display()
        ));
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Err("node is absent".into());
    }
    let form = testkit::workspace_root().join("form");
    if !form.join("node_modules/playwright-core").is_dir() {
        return Err("form/node_modules is absent (`npm --prefix form ci`; .ci/run runs it)".into());
    }
    Ok(chromium)
}

/// The first `spec.jsonl` with a SPEC message under a fixture folder.
fn fixture_spec(dir: &Path) -> Option<PathBuf> {
    let mut candidates = vec![dir.join("spec.jsonl")];
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path().join("spec.jsonl"))
        .collect();
    subs.sort();
    candidates.extend(subs);
    candidates.into_iter().find(|f| {
        std::fs::read_to_string(f)
            .is_ok_and(|t| t.contains("\"type\": \"SPEC\"") || t.contains("\"type\":\"SPEC\""))
    })
}

fn write_page(name: &str, extra: &[&str], out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["form", name, "--out", out.to_str().unwrap()])
        .args(extra)
        .env_remove("ATF_CONNECTORS_DIR")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cargo xtask form {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn form_pages_behave_in_chromium() {
    let chromium = match tools() {
        Ok(c) => c,
        Err(why) => {
            testkit::skip("form_pages_behave_in_chromium", &why);
            return;
        }
    };
    let root = testkit::workspace_root();
    let shots = testkit::target_dir().join("test-output/form_browser");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let mut cases = Vec::new();
    let mut with_oauth: Vec<(String, String)> = Vec::new();

    // The shipped connectors (those with a recorded spec: the others need
    // their upstream connector installed to tell their spec).
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("connectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        if !dir.join("spec.recorded.json").exists() {
            eprintln!("{name}: no spec.recorded.json, not in the browser test");
            continue;
        }
        let page = shots.join(format!("{name}.html"));
        write_page(&name, &[], &page);
        // The Flow spec's oauth2 is oauth2.patch.json's (its placeholder has
        // an empty provider): the page must offer that provider's sign-in.
        let oauth = std::fs::read_to_string(dir.join("oauth2.patch.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["provider"].as_str().map(str::to_string))
            .filter(|p| !p.is_empty());
        if let Some(p) = &oauth {
            with_oauth.push((name.clone(), p.clone()));
        }
        cases.push(json!({"name": name, "page": page, "shots": shots, "everything": false, "oauth": oauth}));
    }
    // Every shipped connector that signs in with OAuth is among them.
    for shipped in [
        "source-github",
        "source-harvest",
        "source-intercom",
        "source-zendesk-support",
    ] {
        assert!(
            with_oauth.iter().any(|(n, _)| n == shipped),
            "{shipped} has no OAuth provider in oauth2.patch.json: {with_oauth:?}"
        );
    }
    let everything = shots.join("everything.html");
    let spec = root.join("xtask/tests/form/everything.spec.json");
    write_page(
        "everything",
        &["--spec", spec.to_str().unwrap()],
        &everything,
    );
    cases.push(
        json!({"name": "everything", "page": everything, "shots": shots, "everything": true}),
    );

    if let Some(shared) = testkit::shared("form_pages_behave_in_chromium (fixture specs)") {
        for short in ["freshdesk", "zendesk-support", "stripe", "file"] {
            let Some(spec) = fixture_spec(&shared.join("fixtures/airbyte").join(short)) else {
                eprintln!("fixtures/airbyte/{short}: no spec.jsonl, skipped");
                continue;
            };
            let name = format!("fixture-{short}");
            let page = shots.join(format!("{name}.html"));
            write_page(&name, &["--spec", spec.to_str().unwrap()], &page);
            cases.push(json!({"name": name, "page": page, "shots": shots, "everything": false, "errorsAtOnce": short == "file"}));
        }
    }

    let cases_file = shots.join("cases.json");
    std::fs::write(&cases_file, serde_json::to_string_pretty(&cases).unwrap()).unwrap();
    let out = Command::new("node")
        .arg(root.join("form/test/drive.mjs"))
        .arg(&cases_file)
        .env("ATF_CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "browser checks failed (screenshots in {})",
        shots.display()
    );
    for c in &cases {
        let png = shots.join(format!("{}.png", c["name"].as_str().unwrap()));
        assert!(
            std::fs::metadata(&png).is_ok_and(|m| m.len() > 10_000),
            "{} missing",
            png.display()
        );
    }
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    // The sign-in button was looked for, and found, on each OAuth connector.
    for (name, provider) in &with_oauth {
        assert!(
            stdout.lines().any(
                |l| l.starts_with(&format!("ok   {name}: sign-in button for "))
                    && l.ends_with(&format!("({provider})"))
            ),
            "{name}: no sign-in button for {provider}:\n{stdout}"
        );
    }
}
