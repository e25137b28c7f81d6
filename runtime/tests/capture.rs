//! open/capture through the generic binary with fake connectors replaying
//! real (and hand-written) Airbyte read outputs.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;

/// A fake connector that checks its `read` arguments, copies its state file
/// (if any) to `<dir>/state-seen.json` and its catalog to `<dir>/catalog-seen.json`,
/// then runs `body`.
fn reader(dir: &Path, body: &str) -> std::path::PathBuf {
    let d = dir.display();
    script(
        dir,
        "fake",
        &format!(
            r#"[ "$1" = read ] && [ "$2" = --config ] && [ "$4" = --catalog ] || exit 9
cp "$5" '{d}/catalog-seen.json'
cp "$3" '{d}/config-seen.json'
if [ "$6" = --state ]; then cp "$7" '{d}/state-seen.json'; fi
{body}"#
        ),
    )
}

fn faker_bindings(discover: &Path) -> (Vec<Stream>, Vec<String>) {
    let s = schemas_of(discover);
    let names = s.iter().map(|(n, _, _)| n.clone()).collect();
    (s, names)
}

fn open_for(
    schemas: &[(String, Value, Vec<String>)],
    config: Value,
    state: Option<Value>,
) -> String {
    let b: Vec<(&str, Value, Vec<&str>)> = schemas
        .iter()
        .map(|(n, s, k)| {
            (
                n.as_str(),
                s.clone(),
                k.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    open_request(config, &b, state)
}

#[test]
fn stream_state_replay_and_resume() {
    let Some(faker) = testkit::fixture("stream_state_replay", "faker") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (schemas, names) = faker_bindings(&faker.join("discover.jsonl"));
    let fake = reader(
        dir.path(),
        &format!("cat '{}'", faker.join("read.jsonl").display()),
    );
    let run = run_with(
        &fake,
        &open_for(&schemas, json!({"count": 1000, "seed": 7}), None),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.responses[0], json!({"opened": {}}));
    assert!(
        !dir.path().join("state-seen.json").exists(),
        "no state on a first run"
    );

    // Every RECORD captured, in order, for the binding of its stream.
    let input: Vec<Value> = std::fs::read_to_string(faker.join("read.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records: Vec<&Value> = input.iter().filter(|m| m["type"] == "RECORD").collect();
    let captured = run.of("captured");
    assert_eq!(captured.len(), records.len());
    for (c, r) in captured.iter().zip(&records) {
        let binding = c.get("binding").and_then(Value::as_u64).unwrap_or(0) as usize;
        assert_eq!(names[binding], r["record"]["stream"]);
        assert_eq!(c["doc"]["id"], r["record"]["data"]["id"]);
    }
    // purchases.created_at is naive in faker's output: it gets a Z.
    let purchase = captured
        .iter()
        .find(|c| names[c["binding"].as_u64().unwrap_or(0) as usize] == "purchases")
        .unwrap();
    let created = purchase["doc"]["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z'), "{created}");

    // A checkpoint per STATE, never before the records that preceded it.
    let states = input.iter().filter(|m| m["type"] == "STATE").count();
    assert_eq!(run.of("checkpoint").len(), states);
    let mut seen_records = 0;
    let mut in_records = 0;
    for (line, msg) in input
        .iter()
        .filter(|m| m["type"] == "RECORD" || m["type"] == "STATE")
        .enumerate()
    {
        let _ = line;
        if msg["type"] == "RECORD" {
            in_records += 1;
        } else {
            // Find the matching checkpoint position in our output.
            let pos = run
                .responses
                .iter()
                .enumerate()
                .filter(|(_, r)| r.get("checkpoint").is_some())
                .nth(seen_records)
                .unwrap()
                .0;
            let captured_before = run.responses[..pos]
                .iter()
                .filter(|r| r.get("captured").is_some())
                .count();
            assert_eq!(captured_before, in_records);
            seen_records += 1;
        }
    }
    assert!(run.responses.last().unwrap().get("checkpoint").is_some());

    // The configured catalog the connector got.
    let catalog: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("catalog-seen.json")).unwrap())
            .unwrap();
    assert_eq!(
        catalog["estuary.dev/range"],
        json!({"begin": "00000000", "end": "ffffffff"})
    );
    assert_eq!(catalog["streams"][0]["stream"]["name"], names[0]);
    assert_eq!(catalog["streams"][0]["primary_key"], json!([["id"]]));
    assert_eq!(catalog["streams"][0]["sync_mode"], "incremental");
    assert_eq!(catalog["streams"][0]["destination_sync_mode"], "append");
    assert_eq!(catalog["streams"][0]["stream"]["json_schema"], schemas[0].1);

    // Resume: Flow's reduction of the checkpoints, handed back as the per-stream list.
    let mut state = json!({});
    reduce(&mut state, &run.of("checkpoint"));
    let dir2 = tempfile::tempdir().unwrap();
    let fake2 = reader(dir2.path(), "");
    let run2 = run_with(
        &fake2,
        &open_for(&schemas, json!({"count": 1000}), Some(state)),
    );
    assert_eq!(run2.code, 0, "{}", run2.stderr);
    let seen: Value =
        serde_json::from_slice(&std::fs::read(dir2.path().join("state-seen.json")).unwrap())
            .unwrap();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(faker.join("state.json")).unwrap()).unwrap();
    let by_name = |v: &Value| {
        let mut l = v.as_array().unwrap().clone();
        l.sort_by_key(|s| {
            s["stream"]["stream_descriptor"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        });
        l
    };
    assert_eq!(by_name(&seen), by_name(&expected));
}

#[test]
fn legacy_state_with_its_merge_flag() {
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'
echo '{"type":"STATE","state":{"data":{"s":{"cursor":1}}}}'
echo '{"type":"RECORD","record":{"stream":"s","data":{"id":2},"emitted_at":1}}'
echo '{"type":"STATE","state":{"type":"LEGACY","data":{"s":{"cursor":2}},"merge":true}}'"#,
    );
    let open = open_request(
        json!({}),
        &[("s", json!({"type": "object"}), vec!["/id"])],
        None,
    );
    let run = run_with(&fake, &open);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The data verbatim with its merge flag, plus the state keys of the
    // bindings it was written for (`runtime::state`, LEGACY).
    let cps = run.of("checkpoint");
    assert_eq!(
        *cps[0],
        json!({"state": {"updated": {"s": {"cursor": 1}, "_atf_state_keys": {"s": true}}}})
    );
    assert_eq!(
        *cps[1],
        json!({"state": {"updated": {"s": {"cursor": 2}, "_atf_state_keys": {"s": true}}, "mergePatch": true}})
    );
    let mut state = json!({});
    reduce(&mut state, &cps);

    // Resume hands the legacy state back verbatim, without the keys...
    let run2 = run_with(
        &reader(dir.path(), ""),
        &open_request(
            json!({}),
            &[("s", json!({}), vec!["/id"])],
            Some(state.clone()),
        ),
    );
    assert_eq!(run2.code, 0, "{}", run2.stderr);
    assert!(run2.of("checkpoint").is_empty(), "nothing to tidy");
    let seen: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state-seen.json")).unwrap())
            .unwrap();
    assert_eq!(seen, json!({"s": {"cursor": 2}}));

    // ...or as a per-stream list when the connector says it wants that, its
    // entry moved under the binding's state key by the first checkpoint.
    let run3 = crate::common::run(
        &[
            "--connector-entrypoint",
            reader(dir.path(), "").to_str().unwrap(),
        ],
        &[("AIRBYTE_TO_FLOW_STATE_FORMAT", "per_stream")],
        &open_request(
            json!({}),
            &[("s", json!({}), vec!["/id"])],
            Some(state.clone()),
        ),
    );
    assert_eq!(run3.code, 0, "{}", run3.stderr);
    let seen: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state-seen.json")).unwrap())
            .unwrap();
    assert_eq!(
        seen,
        json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": {"cursor": 2}}}])
    );
    assert_eq!(
        run3.responses[1],
        json!({"checkpoint": {"state": {"updated": {
        "s": null, "_atf_state_keys": null, "bindingStateV1": {"s": {"cursor": 2}}}, "mergePatch": true}}})
    );
    reduce(&mut state, &run3.of("checkpoint"));
    assert_eq!(state, json!({"bindingStateV1": {"s": {"cursor": 2}}}));
}

#[test]
fn global_state_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let global1 = json!({"shared_state": {"lsn": 10}, "stream_states": [
        {"stream_descriptor": {"name": "a"}, "stream_state": {"c": 1}},
        {"stream_descriptor": {"name": "b"}, "stream_state": {"c": 2}}]});
    let global2 = json!({"shared_state": {"lsn": 20}, "stream_states": [
        {"stream_descriptor": {"name": "a"}, "stream_state": {"c": 3}}]});
    let fake = reader(
        dir.path(),
        &format!(
            r#"echo '{{"type":"RECORD","record":{{"stream":"a","data":{{"id":1}},"emitted_at":1}}}}'
echo '{{"type":"STATE","state":{{"type":"GLOBAL","global":{global1}}}}}'
echo '{{"type":"RECORD","record":{{"stream":"b","data":{{"id":2}},"emitted_at":1}}}}'
echo '{{"type":"STATE","state":{{"type":"GLOBAL","global":{global2}}}}}'"#
        ),
    );
    let bindings = [("a", json!({}), vec!["/id"]), ("b", json!({}), vec!["/id"])];
    let run = run_with(&fake, &open_request(json!({}), &bindings, None));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.of("captured")[1]["binding"], 1);
    let mut state = json!({});
    reduce(&mut state, &run.of("checkpoint"));
    let run2 = run_with(
        &reader(dir.path(), ""),
        &open_request(json!({}), &bindings, Some(state)),
    );
    assert_eq!(run2.code, 0, "{}", run2.stderr);
    let seen: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state-seen.json")).unwrap())
            .unwrap();
    assert_eq!(seen, json!([{"type": "GLOBAL", "global": global2}]));
}

#[test]
fn trace_errors_are_the_reason_and_the_exit_code_is_propagated() {
    let Some(out) = testkit::fixture("trace_errors", "greenhouse/read-error.jsonl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(dir.path(), &format!("cat '{}'; exit 3", out.display()));
    let bindings = [
        ("degrees", json!({}), vec!["/id"]),
        ("users", json!({}), vec!["/id"]),
    ];
    let run = run_with(&fake, &open_request(json!({}), &bindings, None));
    assert_eq!(run.code, 3);
    let last = last_trace_error(&out);
    let errors = run.error_logs();
    assert_eq!(
        errors.last().unwrap(),
        &last,
        "the final error is the connector's last TRACE ERROR"
    );
    // The per-stream STATEs still became checkpoints, no synthetic one after a failure.
    assert_eq!(run.of("checkpoint").len(), 2);
    // The connector's LOG lines are log events at their level.
    let logs = run.logs();
    assert!(logs
        .iter()
        .any(|l| l["level"] == "INFO" && l["message"] == "Starting syncing"));
}

#[test]
fn non_json_lines_are_logged_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        r#"echo 'Traceback (most recent call last): oops'
echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'
echo ''
echo '{not json'
echo '{"type":"STATE","state":{"data":{}}}'"#,
    );
    let run = run_with(&fake, &open_one_stream(json!({})));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.of("captured").len(), 1);
    let warns: Vec<Value> = run
        .logs()
        .into_iter()
        .filter(|l| l["level"] == "WARN")
        .collect();
    assert!(
        warns
            .iter()
            .any(|l| l["message"].as_str().unwrap().contains("Traceback")),
        "{warns:?}"
    );
}

#[test]
fn crash_mid_stream_propagates_the_exit_code_without_a_synthetic_checkpoint() {
    let Some(read) = testkit::fixture("crash_mid_stream", "faker/read.jsonl") else {
        return;
    };
    let discover = testkit::fixture("crash_mid_stream", "faker/discover.jsonl").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        &format!("head -n 150 '{}'; kill -SEGV $$", read.display()),
    );
    let (schemas, _) = faker_bindings(&discover);
    let run = run_with(&fake, &open_for(&schemas, json!({}), None));
    assert_eq!(run.code, 128 + 11);
    assert!(!run.of("captured").is_empty());
    assert!(
        run.responses.last().unwrap().get("captured").is_some(),
        "no synthetic checkpoint after a crash"
    );
    assert!(
        run.error_logs().iter().any(|m| m.contains("139")),
        "{}",
        run.stderr
    );

    let fake = reader(
        dir.path(),
        &format!("head -n 150 '{}'; exit 42", read.display()),
    );
    assert_eq!(
        run_with(&fake, &open_for(&schemas, json!({}), None)).code,
        42
    );
}

#[test]
fn record_for_an_unknown_stream_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'
echo '{"type":"RECORD","record":{"stream":"mystery_stream","namespace":"ns1","data":{"id":1},"emitted_at":1}}'
sleep 30"#,
    );
    let run = run_with(&fake, &open_one_stream(json!({})));
    assert_ne!(run.code, 0);
    assert!(
        run.elapsed.as_secs() < 20,
        "the connector is killed, not waited for"
    );
    let errors = run.error_logs().join("\n");
    assert!(
        errors.contains("\"mystery_stream\"") && errors.contains("\"ns1\""),
        "{errors}"
    );
}

#[test]
fn capture_without_a_final_state_gets_a_synthetic_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'
echo '{"type":"STATE","state":{"data":{"x":1}}}'
echo '{"type":"RECORD","record":{"stream":"s","data":{"id":2},"emitted_at":1}}'"#,
    );
    let run = run_with(&fake, &open_one_stream(json!({})));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().last().unwrap(),
        r#"{"checkpoint":{"state":{"updated":{},"mergePatch":true}}}"#
    );
    assert_eq!(run.of("checkpoint").len(), 2);

    // No records after the last state: no synthetic checkpoint.
    let fake = reader(
        dir.path(),
        r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'
echo '{"type":"STATE","state":{"data":{"x":1}}}'"#,
    );
    let run = run_with(&fake, &open_one_stream(json!({})));
    assert_eq!(run.of("checkpoint").len(), 1);
}

#[test]
fn records_needing_no_change_keep_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Spaced JSON with escapes (CDK 0.x style) and a strict RFC 3339 value.
    let fake = reader(
        dir.path(),
        r#"echo '{"type": "RECORD", "record": {"stream": "s", "namespace": null, "data": {"id": 1, "name": "Zo\u00eb", "at": "2021-01-13T10:25:46.123456+00:00"}, "emitted_at": 1}}'
echo '{"type": "RECORD", "record": {"stream": "s", "data": {"id": 2, "at": "2023-01-30 02:34:15"}, "emitted_at": 1}}'"#,
    );
    let schema = json!({"type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": ["null", "string"], "format": "date-time"}}});
    let run = run_with(
        &fake,
        &open_request(json!({}), &[("s", schema, vec!["/id"])], None),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[1],
        r#"{"captured":{"doc":{"id": 1, "name": "Zo\u00eb", "at": "2021-01-13T10:25:46.123456+00:00"}}}"#
    );
    assert_eq!(run.of("captured")[1]["doc"]["at"], "2023-01-30T02:34:15Z");
}

#[test]
fn acknowledge_requests_during_a_capture_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'
sleep 1
echo '{"type":"STATE","state":{"data":{"x":1}}}'"#,
    );
    let open = open_one_stream(json!({}));
    let run = run_with(
        &fake,
        &format!("{open}{{\"acknowledge\":{{}}}}\n{{\"acknowledge\":{{}}}}\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.of("captured").len(), 1);
    assert_eq!(run.of("checkpoint").len(), 1);
}

#[test]
fn config_is_remapped_and_skip_interval_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(dir.path(), "");
    let open = open_request(
        json!({"a": 1, "_atf_skip_interval": true}),
        &[("s", json!({}), vec!["/id"])],
        None,
    );
    let run = run_with(&fake, &open);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config-seen.json")).unwrap())
            .unwrap();
    assert_eq!(seen, json!({"a": 1}));
}

#[test]
fn the_process_exits_after_a_capture_while_stdin_stays_open() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let fake = reader(
        dir.path(),
        r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'"#,
    );
    let mut child = std::process::Command::new(BIN)
        .args(["--connector-entrypoint", fake.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(open_one_stream(json!({})).as_bytes())
        .unwrap();
    // Flow keeps stdin open; the capture's end must still end the process.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "still running with stdin open"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    drop(stdin);
}
