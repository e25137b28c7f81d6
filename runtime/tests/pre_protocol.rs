//! A connector that fails before it speaks the Airbyte protocol (a broken
//! Python install: import error, missing module) is reported in one line
//! that says so, quotes its last stderr line and names the usual fix.

use crate::common::{script, spec_error};

#[test]
fn the_recorded_freshdesk_import_crash_is_a_broken_install() {
    // airbyte-source-freshdesk 3.1.3 with the airbyte-cdk pip resolves
    // (0.90.0) on Python 3.11: its recorded stderr and exit code, replayed.
    let Some(dir) = testkit::fixture(
        "the_recorded_freshdesk_import_crash_is_a_broken_install",
        "freshdesk/3.1.3-cdk0.90.0-crash",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let crash = script(
        tmp.path(),
        "source-freshdesk",
        &format!(
            "cat '{}' >&2\nexit 1",
            dir.join("spec.jsonl.stderr").display()
        ),
    );
    let (code, error) = spec_error(crash.to_str().unwrap());
    assert_eq!(code, 1);
    assert!(
        error.contains("failed before it spoke the Airbyte protocol"),
        "{error}"
    );
    assert!(
        error.contains("ValueError: mutable default <class 'airbyte_cdk.sources.declarative.decoders.json_decoder.JsonDecoder'>"),
        "{error}"
    );
}

#[test]
fn a_connector_that_spoke_keeps_its_own_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let fails = script(
        tmp.path(),
        "fails",
        r#"echo '{"type":"LOG","log":{"level":"INFO","message":"starting"}}'
echo 'Traceback: boom' >&2
exit 3"#,
    );
    let (code, error) = spec_error(fails.to_str().unwrap());
    assert_eq!(code, 3);
    assert!(!error.contains("before it spoke"), "{error}");
    assert!(error.contains("Traceback: boom"), "{error}");
}
