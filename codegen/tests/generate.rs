//! Golden snapshots and determinism of the generated code, and one test per
//! class of validation problem (each checks its message).

use std::path::{Path, PathBuf};

use patches::OAuth2;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn snapshot_minimal() {
    let g = codegen::generate(&fixture("source-minimal")).unwrap();
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    insta::assert_snapshot!("source-minimal", g.code);
}

#[test]
fn snapshot_every_kind() {
    let g = codegen::generate(&fixture("source-every-kind")).unwrap();
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    insta::assert_snapshot!("source-every-kind", g.code);
}

#[test]
fn snapshot_placeholder() {
    let g = codegen::generate(&fixture("source-placeholder")).unwrap();
    insta::assert_snapshot!("source-placeholder", g.code);
}

#[test]
fn header_names_the_command() {
    let g = codegen::generate(&fixture("source-minimal")).unwrap();
    let first = g.code.lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(first.contains("@generated"), "{first}");
    assert!(
        first.contains("cargo xtask expand source-minimal"),
        "{first}"
    );
}

#[test]
fn generation_is_deterministic() {
    for name in ["source-minimal", "source-every-kind", "source-placeholder"] {
        let a = codegen::generate(&fixture(name)).unwrap();
        let b = codegen::generate(&fixture(name)).unwrap();
        assert_eq!(a, b, "{name}: two runs differ");
        // A copy (new inodes, a different directory read order) generates the same code.
        let tmp = tempfile::tempdir().unwrap();
        testkit::copy_dir(&fixture(name), &tmp.path().join(name));
        let c = codegen::generate(&tmp.path().join(name)).unwrap();
        assert_eq!(
            a.code, c.code,
            "{name}: a copied folder generates other code"
        );
    }
}

#[test]
fn every_kind_is_loaded() {
    let l = codegen::load(&fixture("source-every-kind")).unwrap();
    assert_eq!(
        l.entrypoint,
        ["python", "/airbyte/integration code/main.py", "--flag"]
    );
    assert_eq!(l.config_map.len(), 2);
    assert!(matches!(l.oauth2, OAuth2::Replace(_)));
    assert_eq!(l.run_interval_minutes, Some(30));
    assert_eq!(
        l.streams.keys().collect::<Vec<_>>(),
        ["events", "orders", "users"]
    );
    assert_eq!(l.wildcard.key.as_deref(), Some(&["id".to_string()][..]));
    assert_eq!(l.wildcard.normalizations.len(), 1);
    assert_eq!(l.omitted, ["audit_logs"]);
    // The baked spec has every spec patch applied.
    let spec = l.flow_spec.unwrap();
    assert_eq!(
        spec["documentationUrl"],
        "https://go.estuary.dev/every-kind"
    );
    assert_eq!(spec["oauth2"]["provider"], "example");
    assert_eq!(
        spec["configSchema"]["properties"]["start_date"]["title"],
        "Start date"
    );
    assert_eq!(spec["protocol"], 3032023);
}

/// A temporary connector folder with a valid connector.json plus `files`.
fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("source-test");
    std::fs::create_dir_all(dir.join("streams")).unwrap();
    std::fs::write(
        dir.join("connector.json"),
        r#"{"base_image": "airbyte/source-test:1.0.0", "entrypoint": "python /airbyte/integration_code/main.py", "env": {}, "has_code": false, "labels": {}}"#,
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    (tmp, dir)
}

/// The problem lines of a folder that must fail.
fn problems(files: &[(&str, &str)]) -> Vec<String> {
    let (_tmp, dir) = folder(files);
    let err = codegen::load(&dir).expect_err("the folder must not validate");
    let text = err.to_string();
    assert!(text.contains(&dir.display().to_string()), "{text}");
    err.problems.iter().map(|p| p.to_string()).collect()
}

fn one(files: &[(&str, &str)]) -> String {
    let p = problems(files);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.into_iter().next().unwrap()
}

#[test]
fn malformed_json_names_line_and_column() {
    let p = one(&[("spec.patch.json", "{\n  \"properties\": {,}\n}")]);
    assert!(
        p.starts_with("spec.patch.json: 2:18: malformed JSON ("),
        "{p}"
    );
    assert!(p.contains("fix the syntax"), "{p}");
}

#[test]
fn pk_must_be_an_array_of_non_empty_strings() {
    let p = one(&[("streams/users.pk.json", "\"id\"")]);
    assert_eq!(p, "streams/users.pk.json: (root): expected a non-empty array of key field names, got \"id\"; write e.g. [\"id\"] or [\"date\", \"account/id\"]");
    let p = one(&[("streams/users.pk.json", "[\"id\", \"\"]")]);
    assert_eq!(p, "streams/users.pk.json: /1: expected a non-empty field name string, got \"\"; write e.g. \"id\"");
    let p = one(&[("streams/users.pk.json", "[\"/id\"]")]);
    assert_eq!(p, "streams/users.pk.json: /0: \"/id\" has an empty path segment; write a top-level property as \"id\" or a nested one as \"parent/id\" (no leading, trailing or double `/`)");
    let p = one(&[("streams/users.pk.json", "[]")]);
    assert!(p.contains("non-empty array"), "{p}");
}

#[test]
fn unknown_normalization_lists_the_known_ones() {
    let p = one(&[(
        "streams/users.normalize.json",
        r#"[{"pointer": "/created_at", "normalization": "datetimeToDate"}]"#,
    )]);
    assert_eq!(p, "streams/users.normalize.json: /0/normalization: unknown normalization \"datetimeToDate\"; did you mean \"datetime_to_date\"? known (snake_case): datetime_to_date");
    let p = one(&[("schema_normalizations.json", r#"["date_to_datetime"]"#)]);
    assert_eq!(p, "schema_normalizations.json: /0: unknown schema normalization \"date_to_datetime\"; known: date-to-datetime");
}

#[test]
fn normalize_pointer_must_be_a_json_pointer() {
    let p = one(&[(
        "streams/users.normalize.json",
        r#"[{"pointer": "address.city", "normalization": "datetime_to_date"}]"#,
    )]);
    assert_eq!(p, "streams/users.normalize.json: /0/pointer: \"address.city\" is not a JSON pointer; write \"/address/city\"");
}

#[test]
fn spec_map_keys_and_values_must_be_json_pointers() {
    let p = problems(&[(
        "spec.map.json",
        r#"{"access_token": "/credentials/access_token", "/ok": "credentials", "/bad~2": "/x"}"#,
    )]);
    assert_eq!(
        p,
        [
            "spec.map.json: /access_token: key \"access_token\" is not a JSON pointer; write \"/access_token\"",
            "spec.map.json: /~1ok: value \"credentials\" is not a JSON pointer; write \"/credentials\"",
            "spec.map.json: /~1bad~02: key \"/bad~2\" is not a JSON pointer; escape `~` as `~0` and `/` inside a name as `~1`",
        ]
    );
}

#[test]
fn run_interval_must_be_a_positive_integer() {
    for bad in ["0", "-5", "1.5", "\"60\"", "99999999999"] {
        let p = one(&[("run_interval_minutes.json", bad)]);
        assert_eq!(
            p,
            format!("run_interval_minutes.json: (root): expected a positive integer number of minutes, got {bad}; write e.g. 60")
        );
    }
}

#[test]
fn documentation_url_needs_a_string() {
    let p = one(&[("documentation_url.patch.json", r#"{"url": "https://x"}"#)]);
    assert_eq!(p, "documentation_url.patch.json: (root): no string \"documentation_url\" in {\"url\":\"https://x\"}; write {\"documentation_url\": \"https://...\"}");
    let p = one(&[(
        "documentation_url.patch.json",
        r#"{"documentation_url": 5}"#,
    )]);
    assert_eq!(
        p,
        "documentation_url.patch.json: /documentation_url: expected a non-empty URL string, got 5"
    );
}

#[test]
fn oauth2_needs_flows_required_fields() {
    let p = problems(&[(
        "oauth2.patch.json",
        r#"{"provider": "x", "authUrlTemplate": "", "accessTokenHeaders": "nope"}"#,
    )]);
    assert_eq!(
        p,
        [
            "oauth2.patch.json: /authUrlTemplate: Flow's required OAuth2 field \"authUrlTemplate\" is empty; give it a value (or make every field empty for no OAuth)",
            "oauth2.patch.json: /accessTokenUrlTemplate: Flow's required OAuth2 field \"accessTokenUrlTemplate\" is missing; add it as a non-empty string (or make every field empty for no OAuth)",
            "oauth2.patch.json: /accessTokenHeaders: expected object, got \"nope\"",
        ]
    );
}

#[test]
fn oauth2_placeholder_variants_mean_disabled() {
    for text in [
        r#"{"provider": "", "authUrlTemplate": "", "accessTokenUrlTemplate": "", "accessTokenBody": "", "accessTokenHeaders": {}, "accessTokenResponseMap": {}}"#,
        r#"{"provider": "", "authUrlTemplate": "", "accessTokenUrlTemplate": "", "accessTokenBody": "", "accessTokenResponseMap": {}}"#,
        r#"{"provider": "", "authUrlTemplate": "", "accessTokenUrlTemplate": "", "accessTokenHeaders": null}"#,
    ] {
        let (_tmp, dir) = folder(&[("oauth2.patch.json", text)]);
        let l = codegen::load(&dir).unwrap();
        assert_eq!(l.oauth2, OAuth2::Disabled, "{text}");
    }
    let (_tmp, dir) = folder(&[]);
    assert_eq!(codegen::load(&dir).unwrap().oauth2, OAuth2::Upstream);
}

#[test]
fn a_stream_cannot_be_selected_and_omitted() {
    let p = one(&[
        ("selected_streams.json", r#"["users", "orders"]"#),
        ("omitted_streams.json", r#"["tickets", "orders"]"#),
    ]);
    assert_eq!(p, "omitted_streams.json: /1: stream \"orders\" is also in selected_streams.json; a stream is either selected or omitted, remove it from one of them");
}

#[test]
fn near_miss_file_names_are_errors_with_did_you_mean() {
    let p = problems(&[
        ("spec.patch.jsn", "{}"),
        ("streams/users.pach.json", "{}"),
        ("streams/users.pk.jsn", "[\"id\"]"),
        ("omited_streams.json", "[]"),
    ]);
    assert_eq!(
        p,
        [
            "omited_streams.json: (file): unknown file name; did you mean `omitted_streams.json`?",
            "spec.patch.jsn: (file): unknown file name; did you mean `spec.patch.json`?",
            "streams/users.pach.json: (file): unknown file name; did you mean `streams/users.patch.json`?",
            "streams/users.pk.jsn: (file): unknown file name; did you mean `streams/users.pk.json`?",
        ]
    );
}

#[test]
fn other_unknown_files_are_ignored_with_a_warning() {
    // As source-jira/streams/project_types.json in the corpus.
    let (_tmp, dir) = folder(&[
        ("streams/project_types.json", r#"{"properties": {}}"#),
        ("README.md", "notes"),
        ("users.patch.json", "{}"),
    ]);
    let l = codegen::load(&dir).unwrap();
    assert!(l.streams.is_empty());
    assert_eq!(
        l.warnings,
        [
            "README.md: unknown file name, ignored; known files: connector.json, spec.recorded.json, spec.patch.json, spec.map.json, oauth2.patch.json, documentation_url.patch.json, run_interval_minutes.json, selected_streams.json, omitted_streams.json, schema_normalizations.json, UPSTREAM.md",
            "users.patch.json: unknown file name, ignored; stream files go in `streams/`: rename it to `streams/users.patch.json` to apply it",
            "streams/project_types.json: unknown file name, ignored; if it is a schema patch of stream \"project_types\", rename it to `streams/project_types.patch.json` (also `.pk.json`, `.normalize.json`)",
        ]
    );
}

#[test]
fn the_tests_folder_holds_the_mock_and_is_not_warned_about() {
    let (_tmp, dir) = folder(&[]);
    for sub in ["tests/mock", "notes"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("tests/mock/mock.json"), r#"{"routes": []}"#).unwrap();
    let l = codegen::load(&dir).unwrap();
    assert_eq!(
        l.warnings,
        ["notes/: unknown folder, ignored (patch files of streams go in `streams/`)"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = problems(&[
        ("spec.patch.json", "[1]"),
        ("run_interval_minutes.json", "0"),
        ("streams/users.pk.json", "{"),
        ("streams/orders.pk.json", "[1]"),
        ("spec.patch.jsn", "{}"),
    ]);
    assert_eq!(p.len(), 5, "{p:#?}");
    let files: Vec<_> = p.iter().map(|l| l.split(':').next().unwrap()).collect();
    for f in [
        "spec.patch.json",
        "run_interval_minutes.json",
        "streams/users.pk.json",
        "streams/orders.pk.json",
        "spec.patch.jsn",
    ] {
        assert!(files.contains(&f), "{f} missing from {p:#?}");
    }
}

#[test]
fn connector_json_is_required_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("source-x");
    std::fs::create_dir_all(&dir).unwrap();
    let err = codegen::load(&dir).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0]
        .to_string()
        .starts_with("connector.json: (file): missing; write {\"base_image\""));
    std::fs::write(
        dir.join("connector.json"),
        r#"{"base_image": " ", "entrypoint": "python 'unterminated"}"#,
    )
    .unwrap();
    let p: Vec<_> = codegen::load(&dir)
        .unwrap_err()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with(
            "connector.json: /base_image: empty; write the upstream image with its tag"
        ),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with(
            "connector.json: /entrypoint: \"python 'unterminated\" is not a shell-words command"
        ),
        "{p:#?}"
    );
}

#[test]
fn recorded_spec_of_another_version_fails_naming_the_command() {
    let (_tmp, dir) = folder(&[(
        "spec.recorded.json",
        r#"{"upstream_image": "airbyte/source-test:0.9.0", "spec": {"connectionSpecification": {"type": "object"}}}"#,
    )]);
    let p = codegen::load(&dir).unwrap_err().problems;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].to_string(), "spec.recorded.json: /upstream_image: recorded from \"airbyte/source-test:0.9.0\" but connector.json pins \"airbyte/source-test:1.0.0\"; re-record it with `cargo xtask record-spec source-test --entrypoint CMD` (CMD running airbyte/source-test:1.0.0)");
}

#[test]
fn recorded_spec_without_connection_specification_fails() {
    let (_tmp, dir) = folder(&[(
        "spec.recorded.json",
        r#"{"upstream_image": "airbyte/source-test:1.0.0", "spec": {"documentationUrl": "x"}}"#,
    )]);
    let p = codegen::load(&dir).unwrap_err().problems;
    assert_eq!(p.len(), 1);
    assert!(p[0]
        .to_string()
        .starts_with("spec.recorded.json: /spec: the connector's spec has no object at \"/connectionSpecification\""));
}

#[test]
fn schema_patches_must_be_objects() {
    let p = one(&[("streams/users.patch.json", "[]")]);
    assert_eq!(p, "streams/users.patch.json: (root): expected an object (an RFC 7396 merge patch of the stream's schema), got []");
}

#[test]
fn a_missing_folder_says_how_to_create_it() {
    let tmp = tempfile::tempdir().unwrap();
    let err = codegen::load(&tmp.path().join("source-nope")).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0].to_string().ends_with(
        ": (file): connector folder \"source-nope\" does not exist; create it (`cargo xtask new-connector`) or pass --connectors-dir"
    ), "{err}");
}
