//! A real Python asked for a module that is not installed: a broken
//! install, said as such (needs the pinned faker's Python).

use crate::common::spec_error;

#[test]
#[ignore = "full tier (the pinned faker installed by `cargo xtask setup`): `cargo xtask test`, or `cargo test -p runtime --test full -- --ignored`"]
fn a_missing_python_module_is_a_broken_install() {
    // The real Python of the pinned faker, asked to run a module that is not installed.
    let faker = testkit::faker(testkit::FAKER_LATEST);
    let python = faker.parent().unwrap().join("python");
    let (code, error) = spec_error(&format!("{} -m source_faker_typo", python.display()));
    assert_eq!(code, 1);
    assert!(
        error.starts_with("the Airbyte connector failed before it spoke the Airbyte protocol"),
        "{error}"
    );
    assert!(error.contains("exited with code 1"), "{error}");
    assert!(
        error.contains("No module named source_faker_typo"),
        "the last stderr line is quoted: {error}"
    );
    assert!(error.contains("pinned dependencies"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
}
