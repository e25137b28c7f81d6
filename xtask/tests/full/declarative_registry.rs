//! A manifest-only connector pinned from Airbyte's registry, served by the
//! mock harness (never the real host): `new-connector` with no `--from`
//! reads `metadata.yaml`, `manifest.yaml` and `components.zip` from it and
//! pins them as `registry`; `provision` on an empty cache downloads them
//! again and keeps them only with the pinned sha256; a registry serving
//! other bytes is refused, naming both hashes; a cached `components.py`
//! changed after the fact does not run.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

const NAME: &str = "source-us-census";

fn xtask(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("ATF_UPSTREAM_MIRROR")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A mock registry serving `src`'s files for `NAME` at `version`, the
/// manifest with `manifest_suffix` appended.
fn registry(dir: &Path, src: &Path, version: &str, manifest_suffix: &str) -> mockapi::MockApi {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(src.join("metadata.yaml"), dir.join("metadata.yaml")).unwrap();
    let mut manifest = std::fs::read(src.join("manifest.yaml")).unwrap();
    manifest.extend_from_slice(manifest_suffix.as_bytes());
    std::fs::write(dir.join("manifest.yaml"), manifest).unwrap();
    // components.zip as the registry serves it: components.py at its root.
    let zipped = Command::new("python3")
        .args(["-m", "zipfile", "-c"])
        .arg(dir.join("components.zip"))
        .arg(src.join("components.py"))
        .status()
        .unwrap();
    assert!(zipped.success());
    let base = format!("/files/metadata/airbyte/{NAME}/{version}");
    let route = |name: &str, file: &str| json!({"name": name, "path": format!("{base}/{file}"), "file": file, "public": true});
    let spec = json!({
        "hosts": ["connectors.airbyte.com"],
        "routes": [
            route("metadata", "metadata.yaml"),
            route("manifest", "manifest.yaml"),
            route("components", "components.zip"),
        ],
    });
    std::fs::write(dir.join("mock.json"), spec.to_string()).unwrap();
    mockapi::MockApi::start(dir).unwrap()
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn registry_files_are_pinned_downloaded_and_checked() {
    let test = "registry_files_are_pinned_downloaded_and_checked";
    let Some(shared) = testkit::shared(test) else {
        return;
    };
    let src = shared.join("manifests").join(NAME);
    if !src.is_dir() {
        testkit::skip(test, &format!("{} is absent", src.display()));
        return;
    }
    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("PROVENANCE.json")).unwrap())
            .unwrap();
    let version = provenance["dockerImageTag"].as_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let connectors = tmp.path().join("connectors");
    let dirs = connectors.to_string_lossy().into_owned();

    // The cdk venv first, offline (pip would go through the mock's proxy).
    let warm = tmp.path().join("warm");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-connector", "us-census", version, "--from"])
        .arg(shared.join("manifests"))
        .arg("--connectors-dir")
        .arg(&warm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // new-connector from the registry: pinned as `registry`.
    let mock = registry(&tmp.path().join("registry"), &src, version, "");
    let mut env = mock.env();
    env.push((
        "ATF_UPSTREAM_CACHE".into(),
        tmp.path().join("cache1").display().to_string(),
    ));
    let out = xtask(
        &[
            "new-connector",
            "us-census",
            version,
            "--connectors-dir",
            &dirs,
        ],
        &env,
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("manifest-only"), "{stderr}");
    let cj: Value = serde_json::from_str(
        &std::fs::read_to_string(connectors.join(NAME).join("connector.json")).unwrap(),
    )
    .unwrap();
    let up = &cj["upstream"];
    assert_eq!(up["kind"], "declarative");
    assert_eq!(up["manifest"]["source"], "registry");
    assert_eq!(
        up["manifest"]["sha256"],
        provenance["files"]["manifest.yaml"]["sha256"]
    );
    assert_eq!(
        up["components"]["sha256"],
        provenance["files"]["components.py"]["sha256"]
    );
    let asked: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    for file in ["metadata.yaml", "manifest.yaml", "components.zip"] {
        assert!(asked.iter().any(|p| p.ends_with(file)), "{asked:?}");
    }

    // provision on an empty cache downloads both files again.
    let cache2 = tmp.path().join("cache2");
    env.pop();
    env.push(("ATF_UPSTREAM_CACHE".into(), cache2.display().to_string()));
    let before = mock.requests().len();
    let out = xtask(&["provision", NAME, "--connectors-dir", &dirs], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let entrypoint = text(&out.stdout).lines().last().unwrap().to_string();
    assert_eq!(mock.requests().len(), before + 2, "{:?}", mock.requests());
    let argv = shell_words::split(&entrypoint).unwrap();
    let spec = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("spec")
        .output()
        .unwrap();
    assert!(
        text(&spec.stdout).contains("\"type\":\"SPEC\""),
        "{}",
        text(&spec.stderr)
    );

    // A cached components.py changed after the fact does not run.
    let components_sha = up["components"]["sha256"].as_str().unwrap();
    let cached = cache2.join(format!("{components_sha}.py"));
    let mut code = std::fs::read_to_string(&cached).unwrap();
    code.push_str("\nprint('not pinned')\n");
    std::fs::write(&cached, code).unwrap();
    let refused = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("spec")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("refusing to run it") && stderr.contains(components_sha),
        "{stderr}"
    );
    drop(mock);

    // A registry serving other bytes is refused, naming both hashes.
    let tampered = registry(&tmp.path().join("tampered"), &src, version, "\n# changed\n");
    let mut env = tampered.env();
    let cache3 = tmp.path().join("cache3");
    env.push(("ATF_UPSTREAM_CACHE".into(), cache3.display().to_string()));
    let out = xtask(&["provision", NAME, "--connectors-dir", &dirs], &env);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let pinned = up["manifest"]["sha256"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("not the pinned {pinned}")) && stderr.contains("--from DIR"),
        "{stderr}"
    );
    assert!(!cache3.join(format!("{pinned}.yaml")).exists());
}
