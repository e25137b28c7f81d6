//! Every connector of `../shared/corpus` builds as it is with
//! `cargo xtask build <name> --connectors-dir ../shared/corpus`: a static
//! binary that describes its connector, and an image build context.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn every_corpus_connector_builds_with_connectors_dir() {
    let Some(shared) = testkit::shared("every_corpus_connector_builds_with_connectors_dir") else {
        return;
    };
    let corpus = shared.join("corpus");
    let mut names: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 40);
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for name in &names {
        let out_dir = tmp.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["build", name, "--connectors-dir"])
            .arg(&corpus)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name} does not build:\n{stderr}");
        let binary = PathBuf::from(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .last()
                .unwrap(),
        );
        assert_eq!(binary, out_dir.join(name));

        let describe = Command::new(&binary).arg("--describe").output().unwrap();
        assert!(describe.status.success(), "{name} --describe failed");
        let d: Value = serde_json::from_slice(&describe.stdout).unwrap();
        assert_eq!(d["name"], name.as_str());

        let connector: Value = serde_json::from_str(
            &std::fs::read_to_string(corpus.join(name).join("connector.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(d["upstream"]["image"], connector["base_image"]);
        let dockerfile = std::fs::read_to_string(out_dir.join("Dockerfile")).unwrap();
        assert!(
            dockerfile
                .lines()
                .any(|l| l == format!("FROM {}", connector["base_image"].as_str().unwrap())),
            "{name}: {dockerfile}"
        );
    }
    eprintln!(
        "built {} corpus connectors in {:.1?}",
        names.len(),
        started.elapsed()
    );
}
