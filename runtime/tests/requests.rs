//! spec, discover, validate and apply through the generic binary, with fake
//! connectors replaying real connector outputs.

use crate::common::*;
use serde_json::{json, Value};

fn fixture(test: &str, rel: &str) -> Option<std::path::PathBuf> {
    testkit::fixture(test, rel)
}

#[test]
fn spec_runs_the_connector_and_applies_patches() {
    let Some(spec) = fixture("spec_runs_the_connector", "faker/spec.jsonl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!(r#"[ "$1" = spec ] || exit 9; cat '{}'"#, spec.display()),
    );
    let run = run_with(
        &fake,
        "{\"spec\":{\"connectorType\":\"IMAGE\",\"config\":{}}}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let spec = run.of("spec");
    assert_eq!(spec.len(), 1);
    let spec = spec[0];
    assert_eq!(spec["protocol"], 3032023);
    assert_eq!(
        spec["configSchema"]["properties"]["count"]["type"],
        "integer"
    );
    assert_eq!(
        spec["resourcePathPointers"],
        json!(["/namespace", "/stream"])
    );
    assert!(spec["resourceConfigSchema"]["properties"]["stream"].is_object());
    assert!(spec["documentationUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
}

#[tokio::test]
async fn recorded_spec_is_answered_without_starting_the_connector() {
    static CONNECTOR: patches::Connector = patches::Connector {
        spec: patches::SpecPatches {
            recorded: Some(patches::RecordedSpec {
                upstream_version: "1.0.0",
                response:
                    "{\n  \"protocol\": 3032023,\n  \"configSchema\": {\"type\": \"object\"}\n}",
            }),
            ..patches::Connector::EMPTY.spec
        },
        ..patches::Connector::EMPTY
    };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    // A connector that leaves a marker and fails: proof it never ran.
    let fake = script(
        dir.path(),
        "fake",
        &format!("touch '{}'; exit 1", marker.display()),
    );
    let opts = runtime::Options {
        entrypoint: vec![fake.display().to_string()],
        ..Default::default()
    };
    let mut out = Vec::new();
    runtime::serve(
        &CONNECTOR,
        opts,
        &b"{\"spec\":{}}\n{\"apply\":{}}\n"[..],
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"spec\":{\"protocol\":3032023,\"configSchema\":{\"type\":\"object\"}}}\n{\"applied\":{}}\n"
    );
    assert!(!marker.exists(), "the connector was started");
}

#[test]
fn spec_fails_with_the_connectors_reason_when_it_crashes_at_import() {
    let Some(stderr) = fixture(
        "spec_crash",
        "freshdesk/3.1.3-cdk0.90.0-crash/spec.jsonl.stderr",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!("cat '{}' >&2; exit 1", stderr.display()),
    );
    let run = run_with(&fake, "{\"spec\":{}}\n");
    assert_eq!(run.code, 1);
    assert!(run.responses.is_empty());
    let errors = run.error_logs().join("\n");
    assert!(errors.contains("mutable default"), "{errors}");
}

fn discover(test: &str, rel: &str, extra: &str) -> Option<(Run, Vec<Value>)> {
    let catalog = fixture(test, rel)?;
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!(
            r#"[ "$1" = discover ] && [ "$2" = --config ] && [ -f "$3" ] || exit 9
{extra}
cat '{}'"#,
            catalog.display()
        ),
    );
    let run = run_with(
        &fake,
        "{\"discover\":{\"connectorType\":\"IMAGE\",\"config\":{\"count\":10}}}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bindings = run.of("discovered")[0]["bindings"]
        .as_array()
        .unwrap()
        .clone();
    Some((run, bindings))
}

#[test]
fn discover_faker_gives_three_bindings() {
    let Some((_, bindings)) = discover("discover_faker", "faker/discover.jsonl", "") else {
        return;
    };
    let names: Vec<&str> = bindings
        .iter()
        .map(|b| b["recommendedName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["products", "users", "purchases"],
        "in the connector's order"
    );
    for b in &bindings {
        assert_eq!(b["key"], json!(["/id"]));
        assert_eq!(b["resourceConfig"]["syncMode"], "incremental");
        assert_eq!(b["resourceConfig"]["cursorField"], json!(["updated_at"]));
        assert!(b["documentSchema"].is_object());
    }
}

#[test]
fn discover_stripe_offers_every_stream() {
    let Some((_, bindings)) = discover("discover_stripe", "stripe/discover.jsonl", "") else {
        return;
    };
    assert_eq!(bindings.len(), 47);
    let text = serde_json::to_string(&bindings).unwrap();
    assert!(!text.contains("airbyte_type"), "sanitized schemas");
}

#[test]
fn discover_with_a_control_message_first_and_a_rewritten_config() {
    // facebook-marketing prints CONTROL before CATALOG and rewrites its config file.
    let Some((run, bindings)) = discover(
        "discover_facebook",
        "facebook-marketing/discover.jsonl",
        r#"printf '{"migrated":true}' > "$3""#,
    ) else {
        return;
    };
    assert_eq!(bindings.len(), 31);
    assert!(run.stderr.contains("CONTROL"), "{}", run.stderr);
}

#[test]
fn discover_of_a_failing_connector_reports_its_trace_error() {
    let Some(out) = fixture("discover_error", "github/discover-error.jsonl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!("cat '{}'; exit 1", out.display()),
    );
    let run = run_with(&fake, "{\"discover\":{\"config\":{}}}\n");
    assert_eq!(run.code, 1);
    let last_trace = last_trace_error(&out);
    assert!(
        run.error_logs().contains(&last_trace),
        "{:?}",
        run.error_logs()
    );
    assert!(
        !run.stderr.contains("exit code 1\""),
        "not a generic exit-code message"
    );
}

const CHECK: &str = r#"[ "$1" = check ] && [ -f "$3" ] || exit 9"#;

#[test]
fn validate_ok_echoes_resource_paths() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!("{CHECK}\necho '{{\"type\":\"CONNECTION_STATUS\",\"connectionStatus\":{{\"status\":\"SUCCEEDED\"}}}}'"),
    );
    let req = json!({"validate": {"name": "a/b", "config": {"k": 1}, "bindings": [
        {"resourceConfig": {"stream": "users", "syncMode": "incremental"}, "collection": {"name": "a/users"}},
        {"resourceConfig": {"stream": "things", "namespace": "ns", "syncMode": "full_refresh"}, "collection": {"name": "a/things"}},
    ]}});
    let run = run_with(&fake, &format!("{req}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.responses,
        [
            json!({"validated": {"bindings": [{"resourcePath": ["users"]}, {"resourcePath": ["ns", "things"]}]}})
        ]
    );
}

#[test]
fn validate_failed_is_the_connectors_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!("{CHECK}\necho '{{\"type\": \"CONNECTION_STATUS\", \"connectionStatus\": {{\"status\": \"FAILED\", \"message\": \"Unable to connect: 401 bad API key\"}}}}'"),
    );
    let run = run_with(
        &fake,
        "{\"validate\":{\"config\":{\"api_key\":\"hunter2-secret\"},\"bindings\":[]}}\n",
    );
    assert_ne!(run.code, 0);
    assert!(run.responses.is_empty());
    assert!(
        run.error_logs()
            .iter()
            .any(|m| m == "Unable to connect: 401 bad API key"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2-secret"));
}

#[test]
fn several_requests_in_one_process_in_order() {
    let Some(spec) = fixture("several_requests", "faker/spec.jsonl") else {
        return;
    };
    let discover = fixture("several_requests", "faker/discover.jsonl").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!(
            r#"case "$1" in
  spec) cat '{}';;
  discover) cat '{}';;
  check) echo '{{"type":"CONNECTION_STATUS","connectionStatus":{{"status":"SUCCEEDED"}}}}';;
  *) exit 9;;
esac"#,
            spec.display(),
            discover.display()
        ),
    );
    let input = [
        r#"{"spec":{"connectorType":"IMAGE","config":{}},"$internal":"x"}"#,
        r#"{"discover":{"connectorType":"IMAGE","config":{"count":1}}}"#,
        r#"{"validate":{"config":{"count":1},"bindings":[{"resourceConfig":{"stream":"users"}}]}}"#,
        r#"{"apply":{"capture":{"name":"a/b"},"version":"1"}}"#,
        r#"{"spec":{}}"#,
    ]
    .join("\n");
    let run = run_with(&fake, &format!("{input}\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let kinds: Vec<&str> = run
        .responses
        .iter()
        .map(|r| r.as_object().unwrap().keys().next().unwrap().as_str())
        .collect();
    assert_eq!(
        kinds,
        ["spec", "discovered", "validated", "applied", "spec"]
    );
    assert_eq!(run.responses[3], json!({"applied": {}}));
}

#[test]
fn unknown_request_is_a_clear_error() {
    let run = crate::common::run(
        &["--connector-entrypoint", "/bin/false"],
        &[],
        "{\"frobnicate\":{}}\n",
    );
    assert_ne!(run.code, 0);
    assert!(run.responses.is_empty());
    let errors = run.error_logs().join("\n");
    assert!(
        errors.contains("\"frobnicate\"") && errors.contains("\"discover\""),
        "{errors}"
    );

    let run2 = crate::common::run(&[], &[], "not json\n");
    assert_ne!(run2.code, 0);
    assert!(run2.error_logs().join("\n").contains("request 1"));
}

#[test]
fn missing_entrypoint_names_the_flag() {
    let run = crate::common::run(&[], &[], "{\"spec\":{}}\n");
    assert_ne!(run.code, 0);
    assert!(
        run.error_logs()
            .join("\n")
            .contains("--connector-entrypoint"),
        "{}",
        run.stderr
    );
}

#[test]
fn entrypoint_from_env_is_split_like_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        r#"[ "$1" = "two words" ] && [ "$2" = spec ] || exit 9
echo '{"type":"SPEC","spec":{"connectionSpecification":{"type":"object"}}}'"#,
    );
    let cmd = format!("{} 'two words'", fake.display());
    let run = crate::common::run(&[], &[("AIRBYTE_ENTRYPOINT", &cmd)], "{\"spec\":{}}\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.of("spec")[0]["configSchema"]["type"], "object");
}

#[test]
fn describe_prints_the_description_without_reading_stdin() {
    let mut child = std::process::Command::new(BIN)
        .arg("--describe")
        .stdin(std::process::Stdio::piped()) // kept open: must not be read
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "");
    assert!(v["upstream"]["entrypoint"].is_array());
}

#[test]
fn short_and_long_help_describe_the_binary_alike() {
    let help = |flag: &str| {
        let out = std::process::Command::new(BIN).arg(flag).output().unwrap();
        assert!(out.status.success(), "{flag}");
        String::from_utf8(out.stdout).unwrap()
    };
    let (short, long) = (help("-h"), help("--help"));
    let about = |text: &str| text.split("\n\nUsage:").next().unwrap().to_string();
    assert_eq!(about(&short), about(&long));
    assert!(
        about(&short).starts_with("A Flow capture connector driving an Airbyte source connector: reads Flow capture requests"),
        "{short}"
    );
}
