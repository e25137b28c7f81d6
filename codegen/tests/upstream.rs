//! `connector.json` `upstream` and its lock file, validated at build time
//! (no Python): every problem names the file and the field, and says what to do.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A connector folder `source-up` holding `connector.json` (with `upstream`)
/// and, when given, the lock file `upstream.lock.txt`.
fn folder(tmp: &Path, upstream: Value, lock: Option<&str>) -> PathBuf {
    let dir = tmp.join("source-up");
    std::fs::create_dir_all(&dir).unwrap();
    let connector = json!({
        "base_image": "airbyte/source-up:1.2.3",
        "entrypoint": "python /airbyte/integration_code/main.py",
        "upstream": upstream,
    });
    std::fs::write(dir.join("connector.json"), connector.to_string()).unwrap();
    if let Some(lock) = lock {
        std::fs::write(dir.join("upstream.lock.txt"), lock).unwrap();
    }
    dir
}

fn problems(dir: &Path) -> String {
    codegen::load(dir)
        .expect_err("the folder has problems")
        .to_string()
}

const LOCK: &str = "# header\nairbyte-cdk==0.88.4\nairbyte_source_up==1.2.3\nrequests==2.32.3\n";

fn good() -> Value {
    json!({
        "package": "airbyte-source-up",
        "version": "1.2.3",
        "python": "3.10",
        "lock": "upstream.lock.txt",
        "pins": ["airbyte-cdk==0.88.4"],
    })
}

#[test]
fn a_good_upstream_loads_and_its_lock_is_no_unknown_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(tmp.path(), good(), Some(LOCK));
    let loaded = codegen::load(&dir).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let Some(codegen::Upstream::Pypi(up)) = loaded.connector.upstream else {
        panic!("a PyPI upstream parsed");
    };
    assert_eq!(up.package, "airbyte-source-up");
    assert_eq!(up.python, "3.10");
    // The console script defaults to the package name without `airbyte-`.
    assert_eq!(up.command(), "source-up");
}

#[test]
fn connectors_without_upstream_still_load() {
    let g =
        codegen::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/source-minimal"))
            .unwrap();
    assert!(g.connector.upstream.is_none());
}

#[test]
fn a_missing_field_names_upstream() {
    let tmp = tempfile::tempdir().unwrap();
    let mut up = good();
    up.as_object_mut().unwrap().remove("python");
    let p = problems(&folder(tmp.path(), up, Some(LOCK)));
    assert!(
        p.contains("connector.json: /upstream: missing field `python`"),
        "{p}"
    );
    assert!(p.contains("\"python\": \"3.11\""), "{p}");
}

#[test]
fn bad_fields_are_each_named_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let up = json!({
        "package": "airbyte source up",
        "version": "1.2.4",
        "python": "3.x",
        "lock": "../elsewhere.txt",
        "command": "bin/source-up",
        "pins": ["airbyte-cdk>=0.88"],
    });
    let p = problems(&folder(tmp.path(), up, Some(LOCK)));
    for line in [
        "connector.json: /upstream/package: \"airbyte source up\" is not a PyPI package name",
        "connector.json: /upstream/version: \"1.2.4\" but \"base_image\" \"airbyte/source-up:1.2.3\" has tag \"1.2.3\"",
        "connector.json: /upstream/python: \"3.x\" is not a Python version; write MAJOR.MINOR, e.g. \"3.10\"",
        "connector.json: /upstream/command: \"bin/source-up\" is not a console script name",
        "connector.json: /upstream/pins/0: \"airbyte-cdk>=0.88\" is not pinned; write it as \"name==version\"",
        "connector.json: /upstream/lock: \"../elsewhere.txt\" is not a lock file name",
    ] {
        assert!(p.contains(line), "{line:?} not in:\n{p}");
    }
}

#[test]
fn a_missing_lock_says_how_to_write_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = problems(&folder(tmp.path(), good(), None));
    assert!(p.contains("upstream.lock.txt: (file): cannot read the lock file named by connector.json /upstream/lock"), "{p}");
    assert!(
        p.contains("write it with `cargo xtask bump source-up 1.2.3`"),
        "{p}"
    );
}

#[test]
fn lock_problems_name_the_line_or_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(
        tmp.path(),
        good(),
        Some("airbyte-source-up==1.2.3\nrequests>=2\n"),
    );
    let p = problems(&dir);
    assert!(
        p.contains("upstream.lock.txt: 2:1: \"requests>=2\" is not pinned"),
        "{p}"
    );

    let dir = folder(
        tmp.path(),
        good(),
        Some("airbyte-source-up==1.2.2\nairbyte-cdk==0.90.0\n"),
    );
    let p = problems(&dir);
    assert!(p.contains("upstream.lock.txt: (file): pins airbyte-source-up==1.2.2 but connector.json /upstream/version is \"1.2.3\""), "{p}");
    assert!(p.contains("connector.json: /upstream/pins/0: pins airbyte-cdk==0.88.4 but upstream.lock.txt has airbyte-cdk==0.90.0"), "{p}");

    let dir = folder(tmp.path(), good(), Some("airbyte-cdk==0.88.4\n"));
    let p = problems(&dir);
    assert!(
        p.contains("does not pin the upstream package \"airbyte-source-up\""),
        "{p}"
    );
}

fn declarative() -> Value {
    json!({
        "kind": "declarative",
        "version": "1.2.3",
        "cdk": "7.23.4",
        "python": "3.11",
        "metadata_cdk": "6.59.2",
        "cdk_reason": "the metadata's cdk refuses the manifest",
        "license": "MIT",
        "manifest": {"sha256": "c2532afd7d7f9a52135ce4e41b35145508ab8c482a8d021a6680f3d6b2a3a730", "source": "registry"},
    })
}

#[test]
fn a_declarative_upstream_loads_without_a_lock_in_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = folder(tmp.path(), declarative(), None);
    let loaded = codegen::load(&dir).unwrap();
    let Some(codegen::Upstream::Declarative(up)) = loaded.connector.upstream else {
        panic!("a declarative upstream parsed");
    };
    assert_eq!(up.cdk, "7.23.4");
    assert_eq!(up.manifest.source, "registry");
}

#[test]
fn declarative_problems_name_the_field_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let mut up = declarative();
    up["version"] = json!("1.2.4");
    up["cdk_reason"] = Value::Null;
    up.as_object_mut().unwrap().remove("cdk_reason");
    up["manifest"]["sha256"] = json!("abc");
    let p = problems(&folder(tmp.path(), up, None));
    assert!(p.contains("/upstream/version"), "{p}");
    assert!(p.contains("has tag \"1.2.3\""), "{p}");
    assert!(p.contains("/upstream/cdk_reason"), "{p}");
    assert!(p.contains("/upstream/manifest/sha256"), "{p}");
    assert!(p.contains("\"abc\" is not a sha256"), "{p}");
    assert!(p.contains("--from DIR"), "{p}");

    let mut up = declarative();
    up["kind"] = json!("image");
    let p = problems(&folder(tmp.path(), up, None));
    assert!(p.contains("\"kind\" is \"image\""), "{p}");
}
