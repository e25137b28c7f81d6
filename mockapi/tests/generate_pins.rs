//! `mockapi generate` runs a connector's `components.py` (the cdk's
//! discover imports it) only when the file has its pinned sha256, as the
//! launcher does: a tiny manifest of our own with a `components.py` that
//! leaves a mark when imported, through the real binary and a real
//! airbyte-cdk venv (provisioned by `cargo xtask setup`; skipped, saying
//! so, where there is none).

use std::path::PathBuf;
use std::process::Command;

const MANIFEST: &str = r#"
version: 6.0.0
type: DeclarativeSource
check:
  type: CheckStream
  stream_names: [items]
streams:
  - type: DeclarativeStream
    name: items
    primary_key: [id]
    retriever:
      type: SimpleRetriever
      requester:
        type: HttpRequester
        url_base: https://api.example.com
        path: /items
        http_method: GET
      record_selector:
        type: RecordSelector
        extractor:
          type: DpathExtractor
          field_path: []
    schema_loader:
      type: InlineSchemaLoader
      schema:
        type: object
        properties:
          id:
            type: string
spec:
  type: Spec
  connection_specification:
    type: object
    properties: {}
"#;

/// The Python of an airbyte-cdk venv of the cache `cargo xtask` fills
/// (where `xtask::steps::provision::cache_root` says).
fn cdk_python() -> Option<PathBuf> {
    let nonempty = |v: &str| {
        std::env::var_os(v)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    };
    let root = nonempty("ATF_VENV_CACHE").or_else(|| {
        nonempty("XDG_CACHE_HOME")
            .or_else(|| nonempty("HOME").map(|h| h.join(".cache")))
            .map(|c| c.join("airbyte-to-flow/venvs"))
    })?;
    let mut venvs: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("airbyte-cdk-"))
        })
        .map(|p| p.join("bin/python"))
        .filter(|p| p.is_file())
        .collect();
    venvs.sort();
    venvs.pop()
}

fn sha256(path: &std::path::Path, python: &std::path::Path) -> String {
    let out = Command::new(python)
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn components_run_only_with_their_pinned_hash() {
    let test = "components_run_only_with_their_pinned_hash";
    let Some(python) = cdk_python() else {
        testkit::skip(test, "no airbyte-cdk venv in the cache: `cargo xtask setup` provisions the manifest-only connectors' cdks");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("imported");
    let components = dir.path().join("components.py");
    std::fs::write(
        &components,
        format!("open({:?}, 'w').write('yes')\n", mark.to_str().unwrap()),
    )
    .unwrap();
    std::fs::write(dir.path().join("manifest.yaml"), MANIFEST).unwrap();
    std::fs::write(
        dir.path().join("spec.json"),
        r#"{"connectionSpecification": {"type": "object", "properties": {}}}"#,
    )
    .unwrap();
    let generate = |hash: &str, out: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_mockapi"))
            .arg("generate")
            .arg("--python")
            .arg(&python)
            .arg("--manifest")
            .arg(dir.path().join("manifest.yaml"))
            .arg("--components")
            .arg(&components)
            .args(["--components-sha256", hash])
            .arg("--spec")
            .arg(dir.path().join("spec.json"))
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };

    let report = generate(&"0".repeat(64), "wrong");
    assert!(
        !mark.exists(),
        "components.py ran with a hash that is not its own"
    );
    let problems = report["problems"].to_string();
    assert!(problems.contains("not the pinned 0000"), "{report}");
    // The mock is still made, from the inline schema.
    assert_eq!(report["streams"][0]["name"], "items", "{report}");

    let report = generate(&sha256(&components, &python), "right");
    assert!(
        mark.exists(),
        "components.py did not run with its pinned hash: {report}"
    );
}
