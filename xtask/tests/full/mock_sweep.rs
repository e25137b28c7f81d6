//! Every connector of `../shared/manifests` captured from a mock generated
//! from its manifest, with no hand-written file: `cargo xtask new-connector
//! x VERSION --from ../shared/manifests` (its license accepted by name where
//! it is not MIT), `cargo xtask mock source-x --generate`, `cargo xtask
//! capture source-x --mock`. Per connector: the streams captured of those
//! the manifest declares, the pages each paginated stream was served, the
//! documents, the schema violations (records are generated valid, so each
//! one is a finding), and why each stream that did not run did not. The
//! table goes to stderr and to `target/mock-sweep.md`.

use crate::e2e;
use mockapi::MockApi;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn xtask(args: &[&str], connectors: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--connectors-dir")
        .arg(connectors)
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[derive(Default)]
struct Row {
    total: usize,
    served: Vec<String>,
    /// Documents per stream captured.
    captured: BTreeMap<String, usize>,
    /// Answered requests (200) per route, first capture.
    pages: BTreeMap<String, usize>,
    paginated: Vec<String>,
    violations: usize,
    /// `ok` / `failed: <message>` for the mock's config, and for a wrong
    /// credential where the mock checks one.
    validate: String,
    wrong_credential: String,
    /// `survived` when the resume met the 429 and finished.
    rate_limited: String,
    /// Incremental streams whose resume started later than the first read
    /// (the earliest bound it sent is later than the first read's, which is
    /// the config's start), of those whose cursor goes in the query.
    resume_sent: Vec<String>,
    resume_not_sent: Vec<String>,
    /// Incremental streams whose cursor is not in the query.
    resume_unchecked: Vec<String>,
    reasons: Vec<String>,
    /// What the generator could not do for the whole connector (the cdk's
    /// discover failed, ...): a reason where nothing ran.
    problems: Vec<String>,
    seconds: f64,
}

fn last_line(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// One run of the binary on Flow's `requests`, with the mock's environment.
fn run(binary: &Path, entrypoint: &str, mock: &MockApi, requests: &[Value]) -> e2e::Run {
    let started = Instant::now();
    let mut cmd = Command::new(binary);
    cmd.arg("--connector-entrypoint")
        .arg(entrypoint)
        .env("LOG_LEVEL", "info");
    mock.apply_env(&mut cmd);
    let out = testkit::exchange(&mut cmd, requests);
    e2e::Run {
        ok: out.status.success(),
        messages: out.messages,
        stderr: out.stderr,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// The last ERROR line of a failed run, short.
fn error_of(r: &e2e::Run) -> String {
    r.stderr
        .lines()
        .rev()
        .find(|l| l.contains("ERROR") || l.contains("error"))
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

fn validate(
    binary: &Path,
    ep: &str,
    mock: &MockApi,
    name: &str,
    config: &Value,
    bindings: &[Value],
) -> e2e::Run {
    let bindings: Vec<Value> = bindings
        .iter()
        .map(|b| json!({"resourceConfig": b["resourceConfig"], "collection": {"name": format!("acmeCo/{}", b["recommendedName"].as_str().unwrap()), "writeSchema": b["documentSchema"], "key": b["key"]}}))
        .collect();
    run(
        binary,
        ep,
        mock,
        &[
            json!({"validate": {"name": format!("acmeCo/{name}"), "connectorType": "IMAGE", "config": config, "bindings": bindings}}),
        ],
    )
}

/// `config` with every string that is `secret`, or the part of it that
/// comes from the config (PagerDuty's `Token token=<key>`), made wrong.
fn wrong(config: &Value, secret: &str) -> (Value, bool) {
    match config {
        Value::String(s) if s.len() >= 8 && secret.contains(s.as_str()) => {
            (json!(format!("wrong-{s}")), true)
        }
        Value::Object(m) => {
            let mut any = false;
            let out = m
                .iter()
                .map(|(k, v)| {
                    let (v, hit) = wrong(v, secret);
                    any |= hit;
                    (k.clone(), v)
                })
                .collect();
            (Value::Object(out), any)
        }
        other => (other.clone(), false),
    }
}

fn sweep_one(shared: &Path, name: &str, tmp: &Path) -> Result<Row, String> {
    let t = Instant::now();
    let manifests = shared.join("manifests");
    let provenance: Value = serde_json::from_str(
        &std::fs::read_to_string(manifests.join(name).join("PROVENANCE.json")).unwrap(),
    )
    .unwrap();
    let version = provenance["dockerImageTag"].as_str().unwrap();
    let license = provenance["license"].as_str().unwrap();
    let connectors = tmp.join("connectors");
    let from = manifests.to_string_lossy().into_owned();
    let mut args = vec![
        "new-connector",
        name.strip_prefix("source-").unwrap(),
        version,
        "--from",
        &from,
    ];
    if license != "MIT" {
        args.extend(["--accept-license", license]);
    }
    let out = xtask(&args, &connectors);
    if !out.status.success() {
        return Err(format!("new-connector failed:\n{}", text(&out.stderr)));
    }
    let mut row = Row::default();
    let out = xtask(&["mock", name, "--generate", "--from", &from], &connectors);
    let stderr = text(&out.stderr);
    if !out.status.success() {
        return Err(format!("mock --generate failed:\n{stderr}"));
    }
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("mock: serves ") {
            let (stream, how) = rest.split_once(" (").unwrap();
            row.served.push(stream.to_string());
            if !how.contains("pagination none") {
                row.paginated.push(stream.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("mock: skips ") {
            row.reasons.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("mock: problem: ") {
            row.problems.push(rest.chars().take(300).collect());
        }
    }
    row.total = row.served.len() + row.reasons.len();
    // Regenerating with the same seed writes the same files.
    let mock_dir = connectors.join(name).join("tests/mock");
    let files = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
    };
    let once = files(&mock_dir);
    let out = xtask(
        &["mock", name, "--generate", "--force", "--from", &from],
        &connectors,
    );
    if !out.status.success() || files(&mock_dir) != once {
        return Err(format!(
            "regenerating with the same seed did not write the same files:\n{}",
            text(&out.stderr)
        ));
    }
    let finish = |mut row: Row| {
        row.seconds = t.elapsed().as_secs_f64();
        Ok(row)
    };
    if row.served.is_empty() {
        row.reasons.append(&mut row.problems);
        return finish(row);
    }
    let build_out = tmp.join("build").join(name);
    let out = xtask(
        &["build", name, "--out", &build_out.to_string_lossy()],
        &connectors,
    );
    if !out.status.success() {
        return Err(format!("build failed:\n{}", text(&out.stderr)));
    }
    let binary = PathBuf::from(last_line(&out));
    let out = xtask(&["provision", name], &connectors);
    if !out.status.success() {
        return Err(format!("provision failed:\n{}", text(&out.stderr)));
    }
    let ep = last_line(&out);
    let mock = MockApi::start(&mock_dir)
        .map_err(|e| format!("the generated mock does not start: {e:#}"))?;
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(mock_dir.join("mock.json")).unwrap())
            .unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(mock_dir.join("config.json")).unwrap())
            .unwrap();

    // discover: the bindings of the streams the mock serves.
    let d = run(
        &binary,
        &ep,
        &mock,
        &[json!({"discover": {"connectorType": "IMAGE", "config": config}})],
    );
    if !d.ok {
        row.reasons
            .push(format!("discover failed: {}", error_of(&d)));
        return finish(row);
    }
    let bindings: Vec<Value> = d.of("discovered")[0]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| {
            row.served
                .iter()
                .any(|s| b["resourceConfig"]["stream"] == json!(s))
        })
        .cloned()
        .collect();

    // validate: the mock's config passes; a wrong credential fails where
    // the mock checks one it does not hand out itself.
    let v = validate(&binary, &ep, &mock, name, &config, &bindings);
    row.validate = if v.ok {
        "ok".into()
    } else {
        format!("failed: {}", error_of(&v))
    };
    let handed_out = spec["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["public"] == json!(true));
    let secret = [
        "/auth/bearer/token",
        "/auth/header/value",
        "/auth/query/value",
        "/auth/basic/password",
        "/auth/basic/username",
    ]
    .iter()
    .find_map(|p| {
        spec.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    });
    row.wrong_credential = match (secret, handed_out) {
        (None, _) => "no credential".into(),
        (Some(_), true) => "token from a login route".into(),
        (Some(secret), false) => {
            let (bad, replaced) = wrong(&config, secret);
            if !replaced {
                "credential not in the config as is".into()
            } else {
                let v = validate(&binary, &ep, &mock, name, &bad, &bindings);
                if v.ok {
                    "ACCEPTED".into()
                } else {
                    "refused".into()
                }
            }
        }
    };

    // capture, then resume from its checkpoints with newer records.
    let before = mock.requests().len();
    let open = e2e::open_request(name, &config, &bindings, None);
    let first = run(&binary, &ep, &mock, &[open]);
    let docs = e2e::documents(&first, bindings.len());
    for (b, docs) in bindings.iter().zip(&docs) {
        row.captured.insert(
            b["resourceConfig"]["stream"].as_str().unwrap().to_string(),
            docs.len(),
        );
    }
    let requests = mock.requests();
    for r in &requests[before..] {
        if r.status == 200 {
            if let Some(route) = &r.route {
                *row.pages.entry(route.clone()).or_default() += 1;
            }
        }
    }
    let v = e2e::violations(&bindings, &docs);
    row.violations = v.len();
    if let Some(first_v) = v.first() {
        row.reasons.push(format!(
            "{} violation(s), e.g. {}",
            v.len(),
            first_v.chars().take(200).collect::<String>()
        ));
    }
    if !first.ok {
        row.reasons
            .push(format!("capture failed: {}", error_of(&first)));
    }
    let state = e2e::reduce(&json!({}), &first);
    // The resume also meets one 429 with Retry-After (`rate_limited`).
    let _ = mock.activate("new_records");
    mock.activate("rate_limited")
        .map_err(|e| format!("no rate_limited scenario: {e:#}"))?;
    let mid = mock.requests().len();
    let open = e2e::open_request(name, &config, &bindings, Some(&state));
    let second = run(&binary, &ep, &mock, &[open]);
    let requests = mock.requests();
    let limited = requests[mid..].iter().filter(|r| r.status == 429).count();
    row.rate_limited = match (limited, second.ok) {
        (0, _) => "not met".into(),
        (_, true) => "survived".into(),
        (_, false) => "FAILED".into(),
    };
    let incremental: Vec<&Value> = spec["scenarios"]["new_records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| &s["route"])
        .collect();
    for r in spec["routes"].as_array().into_iter().flatten() {
        let Some(route) = r["name"].as_str() else {
            continue;
        };
        let Some(param) = r["filter"]["param"].as_str() else {
            // Incremental, but its cursor is not in the query: the mock
            // cannot see it (the generator said so in a note).
            if incremental.contains(&&r["name"]) && row.captured.get(route).is_some_and(|n| *n > 0)
            {
                row.resume_unchecked.push(route.to_string());
            }
            continue;
        };
        // The bounds each read sent. A resume from a cursor sends one the
        // first read did not (a child that reads this stream as its parent
        // may read it again from the start: that request says nothing).
        let bounds = |rs: &[mockapi::Recorded]| -> std::collections::BTreeSet<String> {
            rs.iter()
                .filter(|q| q.route.as_deref() == Some(route))
                .filter_map(|q| q.param(param).map(String::from))
                .collect()
        };
        let (a, b) = (bounds(&requests[before..mid]), bounds(&requests[mid..]));
        let start = a.iter().next().cloned();
        if b.iter().any(|v| !a.contains(v) && Some(v) > start.as_ref()) {
            row.resume_sent.push(route.to_string());
        } else {
            eprintln!("{name}/{route}: first read sent {a:?}, the resume {b:?}");
            row.resume_not_sent.push(route.to_string());
        }
    }
    if !second.ok && first.ok {
        row.reasons
            .push(format!("resume failed: {}", error_of(&second)));
    }
    finish(row)
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn every_shared_manifest_connector_captures_from_its_generated_mock() {
    let test = "every_shared_manifest_connector_captures_from_its_generated_mock";
    let Some((shared, mut names)) = crate::manifests::connectors(test) else {
        return;
    };
    // One or a few while working on the generator: ATF_MOCK_SWEEP_ONLY=source-a,source-b.
    if let Ok(only) = std::env::var("ATF_MOCK_SWEEP_ONLY") {
        names.retain(|n| only.split(',').any(|o| o == n));
    }
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let results =
        crate::manifests::two_at_a_time(&names, |name| sweep_one(&shared, name, tmp.path()));

    let mut table = String::from(
        "| connector | streams run / total | pages (paginated streams) | documents | violations | validate | wrong credential | resume sent the cursor | 429 | seconds | reasons |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut captured_connectors = 0;
    let mut one_page = Vec::new();
    let mut not_resumed = Vec::new();
    let mut accepted = Vec::new();
    let mut rate_failed = Vec::new();
    let mut failures = Vec::new();
    for (name, r) in &results {
        let Ok(row) = r else {
            let e = r.as_ref().err().unwrap();
            table.push_str(&format!(
                "| {name} | | | | | | | | | | FAILED: {} |\n",
                e.lines().next().unwrap_or("")
            ));
            failures.push(format!("{name}: {e}"));
            continue;
        };
        let ran: Vec<&String> = row
            .captured
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, _)| s)
            .collect();
        if !ran.is_empty() {
            captured_connectors += 1;
        }
        let pages: Vec<String> = row
            .paginated
            .iter()
            .filter(|s| ran.contains(s))
            .map(|s| {
                let n = row.pages.get(s).copied().unwrap_or(0);
                if n < 2 {
                    one_page.push(format!("{name}/{s}"));
                }
                format!("{s} {n}")
            })
            .collect();
        let resume = if row.resume_sent.is_empty()
            && row.resume_not_sent.is_empty()
            && row.resume_unchecked.is_empty()
        {
            "-".to_string()
        } else {
            let mut r = row
                .resume_sent
                .iter()
                .map(|s| format!("{s} yes"))
                .collect::<Vec<_>>();
            r.extend(row.resume_not_sent.iter().map(|s| format!("{s} NO")));
            r.extend(
                row.resume_unchecked
                    .iter()
                    .map(|s| format!("{s} n/a (cursor not in the query)")),
            );
            r.join(", ")
        };
        not_resumed.extend(row.resume_not_sent.iter().map(|s| format!("{name}/{s}")));
        if row.rate_limited == "FAILED" {
            rate_failed.push(name.clone());
        }
        if row.wrong_credential == "ACCEPTED" {
            accepted.push(name.clone());
        }
        table.push_str(&format!(
            "| {name} | {} / {} | {} | {} | {} | {} | {} | {resume} | {} | {:.0} | {} |\n",
            ran.len(),
            row.total,
            if pages.is_empty() {
                "-".to_string()
            } else {
                pages.join(", ")
            },
            row.captured.values().sum::<usize>(),
            row.violations,
            row.validate.replace('|', "\\|"),
            row.wrong_credential,
            row.rate_limited,
            row.seconds,
            row.reasons.join("; ").replace('|', "\\|"),
        ));
    }
    table.push_str(&format!(
        "\n{captured_connectors} of {} connectors captured from a generated mock, in {:.0} s\n",
        results.len(),
        started.elapsed().as_secs_f64()
    ));
    crate::manifests::write_table("mock-sweep.md", &table);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // MOCK_SWEEP_FLOOR: what this generator captured when it was last
    // measured; the bar (25 of 30) is above it.
    if names.len() == 30 {
        assert!(
            captured_connectors >= MOCK_SWEEP_FLOOR,
            "{captured_connectors} connectors captured, fewer than {MOCK_SWEEP_FLOOR}:\n{table}"
        );
    }
    assert!(
        one_page.is_empty(),
        "paginated streams that ran served one page only: {one_page:?}\n{table}"
    );
    assert!(
        not_resumed.is_empty(),
        "incremental streams whose resume sent no later cursor: {not_resumed:?}\n{table}"
    );
    assert!(
        accepted.is_empty(),
        "a wrong credential was accepted: {accepted:?}\n{table}"
    );
    assert!(
        rate_failed.is_empty(),
        "a resume failed on one 429: {rate_failed:?}\n{table}"
    );
}

const MOCK_SWEEP_FLOOR: usize = 27;
