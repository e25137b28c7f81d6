//! `cargo xtask bump` across the boundary: the shipped PyPI `source-freshdesk`
//! (3.1.3) moved to its manifest-only 3.2.20 from `../shared/manifests`, as a
//! user would. Its license (ELv2) stops the bump until accepted by name, with
//! nothing changed; accepted, the connector switches kind (the PyPI lock
//! goes, the manifest is pinned, the spec re-recorded), the bump prints what
//! changed (config fields of the two specs; streams of the two discovers
//! against the connector's mock), and the folder builds.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str], connectors: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--connectors-dir")
        .arg(connectors)
        .env_remove("ATF_UPSTREAM_MIRROR")
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn bump_moves_a_pypi_connector_to_its_manifest_only_version() {
    let test = "bump_moves_a_pypi_connector_to_its_manifest_only_version";
    let Some(shared) = testkit::shared(test) else {
        return;
    };
    let manifests = shared.join("manifests");
    if !manifests.join("source-freshdesk").is_dir() {
        testkit::skip(test, &format!("{} is absent", manifests.display()));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let connectors = tmp.path().join("connectors");
    let dir = connectors.join("source-freshdesk");
    copy_dir(
        &testkit::workspace_root().join("connectors/source-freshdesk"),
        &dir,
    );
    let before = std::fs::read_to_string(dir.join("connector.json")).unwrap();
    let from = manifests.to_string_lossy().into_owned();

    // Not MIT: refused, naming the license and the command that accepts it.
    let out = xtask(
        &["bump", "source-freshdesk", "3.2.20", "--from", &from],
        &connectors,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("is licensed \"ELv2\", not MIT")
            && stderr.contains("--accept-license ELv2"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("connector.json")).unwrap(),
        before,
        "a refused bump changes nothing"
    );
    assert!(dir.join("upstream.lock.txt").is_file());

    // Accepted: the kind switches.
    let out = xtask(
        &[
            "bump",
            "source-freshdesk",
            "3.2.20",
            "--from",
            &from,
            "--accept-license",
            "ELv2",
        ],
        &connectors,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let cj: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("connector.json")).unwrap())
            .unwrap();
    assert_eq!(cj["base_image"], "airbyte/source-freshdesk:3.2.20");
    assert_eq!(cj["upstream"]["kind"], "declarative");
    assert_eq!(cj["upstream"]["license"], "ELv2");
    assert_eq!(cj["upstream"]["version"], "3.2.20");
    assert!(
        !dir.join("upstream.lock.txt").exists(),
        "the PyPI lock goes"
    );
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("spec.recorded.json")).unwrap())
            .unwrap();
    assert_eq!(
        recorded["upstream_image"],
        "airbyte/source-freshdesk:3.2.20"
    );
    assert!(
        recorded["spec"]["connectionSpecification"]["properties"]["rate_limit_plan"].is_object(),
        "re-recorded from the manifest"
    );
    // What changed: the new config fields and the stream 3.2.20 adds.
    assert!(
        stderr.contains("(PyPI package -> manifest-only)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("config field added: rate_limit_plan"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stream added: ticket_activities"),
        "{stderr}"
    );

    // A version the folder does not hold: said, with both versions.
    let out = xtask(
        &["bump", "source-freshdesk", "3.2.21", "--from", &from],
        &connectors,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no metadata.yaml of version 3.2.21 is at hand")
            && stderr.contains("is of version \"3.2.20\", not \"3.2.21\""),
        "{stderr}"
    );

    // And it builds.
    let out = xtask(&["build", "source-freshdesk"], &connectors);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
