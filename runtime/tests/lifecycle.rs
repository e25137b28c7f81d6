//! Process lifecycle: idle timeout, run interval, private temporary files
//! removed on every exit path, signals, secrets kept out of logs.

use crate::common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// Whether a process runs (a zombie waiting for its reaper does not).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

const RECORD: &str =
    r#"echo '{"type":"RECORD","record":{"stream":"s","data":{"id":1},"emitted_at":1}}'"#;

#[test]
fn an_idle_connector_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let fake = script(
        dir.path(),
        "fake",
        &format!(
            "{RECORD}\nsleep 60 &\necho $! > '{}'\nwait",
            pidfile.display()
        ),
    );
    let run = crate::common::run(
        &[
            "--connector-entrypoint",
            fake.to_str().unwrap(),
            "--idle-timeout",
            "1s",
        ],
        &[],
        &open_one_stream(json!({})),
    );
    assert_ne!(run.code, 0);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    assert!(
        run.error_logs()
            .join("\n")
            .contains("wrote nothing on stdout for 1s"),
        "{}",
        run.stderr
    );
    // The whole process group is gone, grandchildren included.
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(!alive(&pid), "sleep {pid} still runs");

    // The environment variable works too.
    let run = crate::common::run(
        &["--connector-entrypoint", fake.to_str().unwrap()],
        &[("AIRBYTE_TO_FLOW_IDLE_TIMEOUT", "1")],
        &open_one_stream(json!({})),
    );
    assert_ne!(run.code, 0);
    assert!(run.elapsed < Duration::from_secs(10));
}

#[test]
fn idle_timeout_flag_is_validated() {
    let run = crate::common::run(&["--idle-timeout", "soon"], &[], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("\"soon\""), "{}", run.stderr);
    assert_eq!(runtime::parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(
        runtime::parse_duration("30m"),
        Ok(Duration::from_secs(1800))
    );
    assert_eq!(runtime::parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(runtime::parse_duration("45"), Ok(Duration::from_secs(45)));
}

async fn capture_with_interval(config: Value) -> (Duration, String) {
    static CONNECTOR: patches::Connector = patches::Connector {
        run_interval_minutes: Some(3),
        ..patches::Connector::EMPTY
    };
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        &format!("{RECORD}\necho '{{\"type\":\"STATE\",\"state\":{{\"data\":{{}}}}}}'"),
    );
    let opts = runtime::Options {
        entrypoint: vec![fake.display().to_string()],
        // One "minute" of the interval lasts 400ms in this test.
        interval_unit: Duration::from_millis(400),
        ..Default::default()
    };
    let started = Instant::now();
    let mut out = Vec::new();
    runtime::serve(
        &CONNECTOR,
        opts,
        open_one_stream(config).as_bytes(),
        &mut out,
    )
    .await
    .unwrap();
    (started.elapsed(), String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn run_interval_keeps_the_process_alive() {
    let (elapsed, out) = capture_with_interval(json!({})).await;
    assert!(elapsed >= Duration::from_millis(1200), "{elapsed:?}");
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[tokio::test]
async fn skip_interval_exits_right_after_the_capture() {
    let (elapsed, out) = capture_with_interval(json!({"_atf_skip_interval": true})).await;
    assert!(elapsed < Duration::from_millis(1200), "{elapsed:?}");
    assert_eq!(out.lines().count(), 3, "{out}");
}

/// A fake connector that records the mode of its temp dir and files, then runs `body`.
fn mode_reporter(dir: &Path, body: &str) -> std::path::PathBuf {
    let report = dir.join("modes");
    script(
        dir,
        "fake",
        &format!(
            r#"stat -c '%a' "$(dirname "$3")" "$3" "$5" > '{r}.tmp'
dirname "$3" >> '{r}.tmp'
mv '{r}.tmp' '{r}'
{body}"#,
            r = report.display()
        ),
    )
}

fn modes(dir: &Path) -> (Vec<String>, std::path::PathBuf) {
    let text = std::fs::read_to_string(dir.join("modes")).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let tmp = std::path::PathBuf::from(lines.last().unwrap());
    (lines[..3].to_vec(), tmp)
}

#[test]
fn temporary_files_are_private_and_removed_on_success_and_failure() {
    for (body, code) in [(RECORD, 0), ("exit 5", 5)] {
        let dir = tempfile::tempdir().unwrap();
        let fake = mode_reporter(dir.path(), body);
        let run = run_with(&fake, &open_one_stream(json!({"password": "pw"})));
        assert_eq!(run.code, code, "{}", run.stderr);
        let (m, tmp) = modes(dir.path());
        assert_eq!(m, ["700", "600", "600"]);
        assert!(!tmp.exists(), "{} was not removed", tmp.display());
    }
}

#[test]
fn sigterm_kills_the_connector_and_removes_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let fake = mode_reporter(
        dir.path(),
        &format!(
            "{RECORD}\nsleep 60 &\necho $! > '{}'\nwait",
            pidfile.display()
        ),
    );
    let mut child = std::process::Command::new(BIN)
        .args(["--connector-entrypoint", fake.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(open_one_stream(json!({})).as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the fake connector did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    let (_, tmp) = modes(dir.path());
    assert!(!tmp.exists(), "{} was not removed", tmp.display());
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(!alive(&pid), "the connector still runs");
    drop(stdin);
}

#[test]
fn secrets_stay_out_of_logs_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    // The connector echoes its config in a CONTROL message, then fails.
    let fake = script(
        dir.path(),
        "fake",
        r#"printf '{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","connectorConfig":{"config":%s}}}\n' "$(cat "$3")"
exit 1"#,
    );
    let config = json!({"api_key": "sk_live_TOPSECRET", "_atf_skip_interval": true});
    for req in [
        format!("{}\n", json!({"discover": {"config": config}})),
        format!(
            "{}\n",
            json!({"validate": {"config": config, "bindings": []}})
        ),
        open_one_stream(config.clone()),
    ] {
        let run = run_with(&fake, &req);
        assert_eq!(run.code, 1);
        assert!(!run.stderr.contains("TOPSECRET"), "{}", run.stderr);
        assert!(run.stderr.contains("CONNECTOR_CONFIG"));
    }
}

#[test]
fn logs_are_json_lines_with_level_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let fake = script(
        dir.path(),
        "fake",
        r#"echo '{"type":"LOG","log":{"level":"WARN","message":"careful"}}'
echo '{"type":"LOG","log":{"level":"DEBUG","message":"hidden at info"}}'
echo 'plain stderr line' >&2
echo '{"type":"TRACE","trace":{"type":"ESTIMATE","estimate":{"name":"s","type":"STREAM"}}}'
echo '{"type":"SPEC","spec":{"connectionSpecification":{}}}'"#,
    );
    let run = run_with(&fake, "{\"spec\":{}}\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let logs = run.logs();
    assert!(logs
        .iter()
        .any(|l| l["level"] == "WARN" && l["message"] == "careful"));
    assert!(logs.iter().any(|l| l["message"] == "plain stderr line"));
    assert!(!run.stderr.contains("hidden at info"));
    assert!(!run.stderr.contains("ESTIMATE"));
    let debug = run_with_level(&fake, "debug");
    assert!(debug.contains("hidden at info") && debug.contains("ESTIMATE"));
}

fn run_with_level(fake: &Path, level: &str) -> String {
    run(
        &[
            "--connector-entrypoint",
            fake.to_str().unwrap(),
            "--log.level",
            level,
        ],
        &[],
        "{\"spec\":{}}\n",
    )
    .stderr
}
