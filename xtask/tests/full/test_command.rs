//! `cargo xtask test` as a user types it, on a few tests (`-- FILTER`), with
//! `../shared` made absent (`ATF_SHARED`) so one of them skips: the totals
//! count the skip beside the passed and failed tests, the skip is listed with
//! its reason, and the form's node packages are installed (the browser test
//! needs them). Its skip list goes to its own file (`ATF_TEST_SKIPS`), so the
//! `cargo xtask test` running this test keeps its own.

use std::process::Command;

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn xtask_test_counts_skips_beside_the_totals_and_installs_the_form_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let skips = tmp.path().join("skips.txt");
    let root = testkit::workspace_root();
    // codegen's `form_check::consts_and_hidden_fields_need_no_order` passes,
    // `form_check::corpus_counts_per_check` skips without ../shared.
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["test", "--", "form_check::c"])
        .env("ATF_SHARED", tmp.path().join("no-shared"))
        .env(testkit::SKIPS_ENV, &skips)
        .current_dir(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("\ntest: 2 passed, 0 failed, 1 skipped (counted as passed by cargo: they checked nothing, or only part)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test: fast tier: 2 passed, 0 failed, 0 ignored (the full tier's); full tier: 0 passed, 0 failed, 0 ignored"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  corpus_counts_per_check: ")
            && stdout.contains("no-shared is absent: the shared corpus and fixtures live there in CI; put a copy beside the workspace, or point ATF_SHARED at one"),
        "{stdout}"
    );
    assert!(std::fs::read_to_string(&skips)
        .unwrap()
        .contains("corpus_counts_per_check"));
    // The form's node packages are there, stamped with the lock they match.
    assert!(
        root.join("form/node_modules/playwright-core").is_dir()
            && root
                .join("form/node_modules/.atf-package-lock-hash")
                .is_file(),
        "{stderr}"
    );
    assert!(
        stderr.contains("test: form/node_modules is installed")
            || stderr.contains("test: installing the form's node packages"),
        "{stderr}"
    );
}
