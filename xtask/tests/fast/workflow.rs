//! The developer workflow commands, run as a new user runs them: the real
//! `xtask` binary in temporary folders.

use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn xtask(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env_remove("ATF_CONNECTORS_DIR")
        .env_remove("ATF_ENTRYPOINT")
        .env_remove("ATF_UPSTREAM_MIRROR")
        // No metadata.yaml at hand, hermetically: a registry that refuses
        // at once (the PyPI template, as on a machine without network).
        .env("ATF_REGISTRY_URL", "https://127.0.0.1:9/files")
        // ... and a package index that refuses at once: new-connector cannot
        // pin the PyPI package, says so, and writes the template without it.
        .env("PIP_INDEX_URL", "https://127.0.0.1:9/simple")
        .env("PIP_RETRIES", "0")
        .env("PIP_TIMEOUT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xtask");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> (String, String) {
    let out = xtask(args, "");
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "xtask {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

/// `cargo xtask new-connector freshdesk 3.0.2` into `dirs`.
fn new_freshdesk(dirs: &str) {
    ok(&[
        "new-connector",
        "freshdesk",
        "3.0.2",
        "--connectors-dir",
        dirs,
    ]);
}

fn fails(args: &[&str]) -> String {
    let out = xtask(args, "");
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "xtask {args:?} succeeded:\n{stderr}");
    stderr
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn new_connector_creates_the_template_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    new_freshdesk(dirs);
    let dir = tmp.path().join("source-freshdesk");
    let connector = read_json(&dir.join("connector.json"));
    assert_eq!(connector["base_image"], "airbyte/source-freshdesk:3.0.2");
    assert_eq!(
        connector["entrypoint"],
        "python /airbyte/integration_code/main.py"
    );
    assert_eq!(connector["has_code"], false);
    assert_eq!(
        connector["labels"]["io.airbyte.name"],
        "airbyte/source-freshdesk"
    );
    assert_eq!(connector["labels"]["io.airbyte.version"], "v1");
    assert_eq!(
        read_json(&dir.join("documentation_url.patch.json")),
        json!({"documentation_url": "https://go.estuary.dev/source-freshdesk"})
    );
    // The corpus template's "no OAuth" placeholder: every field present and empty.
    let oauth = read_json(&dir.join("oauth2.patch.json"));
    assert_eq!(oauth["provider"], "");
    assert_eq!(oauth["accessTokenHeaders"], json!({}));
    let streams: Vec<_> = std::fs::read_dir(dir.join("streams"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(streams, vec![".gitkeep"]);

    // A second run refuses, and leaves the folder as it is.
    std::fs::write(dir.join("spec.patch.json"), "{\"mine\": true}").unwrap();
    let err = fails(&[
        "new-connector",
        "freshdesk",
        "3.1.0",
        "--connectors-dir",
        dirs,
    ]);
    assert!(err.contains("already exists"), "{err}");
    assert!(
        err.contains("cargo xtask bump source-freshdesk 3.1.0"),
        "{err}"
    );
    assert_eq!(
        read_json(&dir.join("connector.json"))["base_image"],
        "airbyte/source-freshdesk:3.0.2"
    );
    assert!(dir.join("spec.patch.json").exists());
}

#[test]
fn new_connector_rejects_bad_names_and_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    let err = fails(&[
        "new-connector",
        "source-freshdesk",
        "3.0.2",
        "--connectors-dir",
        dirs,
    ]);
    assert!(err.contains("pass \"freshdesk\""), "{err}");
    for bad in ["Freshdesk", "fresh_desk", "fresh--desk", "x-", "a/b"] {
        let err = fails(&["new-connector", bad, "3.0.2", "--connectors-dir", dirs]);
        assert!(err.contains(&format!("connector name \"{bad}\"")), "{err}");
    }
    for bad in ["latest", "v3.0.2", "3.0", "3.0.2.1"] {
        let err = fails(&["new-connector", "freshdesk", bad, "--connectors-dir", dirs]);
        assert!(err.contains(&format!("version \"{bad}\"")), "{err}");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn bump_moves_the_image_and_names_what_to_record_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    new_freshdesk(dirs);
    let path = tmp.path().join("source-freshdesk/connector.json");

    let (_, err) = ok(&[
        "bump",
        "source-freshdesk",
        "3.0.7",
        "--connectors-dir",
        dirs,
    ]);
    assert!(
        err.contains("airbyte/source-freshdesk:3.0.2 -> airbyte/source-freshdesk:3.0.7"),
        "{err}"
    );
    assert!(err.contains("no spec recording"), "{err}");
    let c = read_json(&path);
    assert_eq!(c["base_image"], "airbyte/source-freshdesk:3.0.7");
    assert_eq!(c["labels"]["io.airbyte.version"], "v1");

    // With a recording: it is stale; --breaking raises the image version label.
    std::fs::write(tmp.path().join("source-freshdesk/spec.recorded.json"), "{}").unwrap();
    let (_, err) = ok(&[
        "bump",
        "source-freshdesk",
        "4.0.0",
        "--breaking",
        "--connectors-dir",
        dirs,
    ]);
    assert!(err.contains("is now stale"), "{err}");
    // The hint repeats the flags given, so it works pasted.
    assert!(
        err.contains(&format!(
            "cargo xtask record-spec source-freshdesk --connectors-dir {dirs} --entrypoint CMD"
        )),
        "{err}"
    );
    let c = read_json(&path);
    assert_eq!(c["base_image"], "airbyte/source-freshdesk:4.0.0");
    assert_eq!(c["labels"]["io.airbyte.version"], "v2");

    let err = fails(&[
        "bump",
        "source-freshdesk",
        "4.0.0",
        "--connectors-dir",
        dirs,
    ]);
    assert!(
        err.contains("already at upstream version \"4.0.0\""),
        "{err}"
    );
    let err = fails(&[
        "bump",
        "source-freshdesk",
        "latest",
        "--connectors-dir",
        dirs,
    ]);
    assert!(err.contains("version \"latest\""), "{err}");
    let err = fails(&["bump", "source-nope", "1.0.0", "--connectors-dir", dirs]);
    assert!(err.contains("no connector \"source-nope\""), "{err}");
}

#[test]
fn ci_matrix_lists_every_connector_folder() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["source-b", "source-a", ".hidden"] {
        std::fs::create_dir(tmp.path().join(d)).unwrap();
    }
    std::fs::write(tmp.path().join("README.md"), "").unwrap();
    let (out, _) = ok(&["ci-matrix", "--connectors-dir", s(tmp.path())]);
    assert_eq!(out, "{\"connector\":[\"source-a\",\"source-b\"]}\n");

    // The workspace's own connectors/, as CI runs it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut expected: Vec<String> = std::fs::read_dir(root.join("connectors"))
        .map(|rd| {
            rd.map(|e| e.unwrap())
                .filter(|e| e.file_type().unwrap().is_dir())
                .map(|e| e.file_name().into_string().unwrap())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    expected.sort();
    let (out, _) = ok(&["ci-matrix"]);
    let matrix: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(matrix, json!({ "connector": expected }));
}

/// A connector with code, and an upstream checkout that changed two files,
/// added one, and left one as it was.
fn code_connector(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = tmp.join("connectors/source-sheets");
    let up = tmp.join("upstream");
    for (root, files) in [
        (
            &dir,
            vec![
                ("Dockerfile", "FROM ours\n"),
                ("main.py", "print('old')\nshared()\n"),
                ("setup.py", "setup()\n"),
                ("spec.patch.json", "{}\n"),
            ],
        ),
        (
            &up,
            vec![
                (
                    "Dockerfile",
                    "FROM theirs\nLABEL io.airbyte.version=0.3.1\n",
                ),
                ("main.py", "print('new')\nshared()\n"),
                ("setup.py", "setup()\n"),
                ("source_sheets/streams.py", "STREAMS = []\n"),
                ("metadata.yaml", "data:\n  dockerImageTag: 0.3.1\n"),
                (".git/HEAD", "ref\n"),
            ],
        ),
    ] {
        for (f, text) in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }
    std::fs::write(
        dir.join("connector.json"),
        json!({"base_image": "base", "entrypoint": "python /airbyte/integration_code/main.py",
               "env": {}, "has_code": true, "labels": {"io.airbyte.version": "v1"}})
        .to_string(),
    )
    .unwrap();
    (dir, up)
}

#[test]
fn pull_takes_new_files_and_asks_about_each_differing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, up) = code_connector(tmp.path());
    let connectors = tmp.path().join("connectors");
    let args = [
        "pull",
        "source-sheets",
        "--upstream",
        s(&up),
        "--connectors-dir",
        s(&connectors),
    ];
    // Files come sorted: Dockerfile, then main.py. "maybe" is asked again.
    let out = xtask(&args, "n\nmaybe\ny\n");
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("--- local/Dockerfile"), "{stdout}");
    assert!(stdout.contains("-FROM ours\n+FROM theirs\n"), "{stdout}");
    assert!(
        stdout.contains("-print('old')\n+print('new')\n shared()"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("setup.py"),
        "unchanged files are not shown: {stdout}"
    );
    assert!(
        stderr.contains("take upstream Dockerfile (we usually keep our own)? [y/N]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("answer \"maybe\" is not y or n"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap(),
        "FROM ours\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("main.py")).unwrap(),
        "print('new')\nshared()\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("source_sheets/streams.py")).unwrap(),
        "STREAMS = []\n"
    );
    assert!(!dir.join(".git").exists());
    assert!(dir.join("spec.patch.json").exists());
    assert!(
        stderr.contains("only here (kept): connector.json, spec.patch.json"),
        "{stderr}"
    );
    assert!(stderr.contains("upstream version 0.3.1"), "{stderr}");
    let c = read_json(&dir.join("connector.json"));
    assert_eq!(c["labels"]["io.airbyte.upstream-version"], "0.3.1");

    // --take-upstream answers every question; end of input keeps local.
    let out = xtask(&[&args[..], &["--take-upstream"]].concat(), "");
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap(),
        "FROM theirs\nLABEL io.airbyte.version=0.3.1\n"
    );
    std::fs::write(dir.join("main.py"), "local\n").unwrap();
    let out = xtask(&args, "");
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("no answer (end of input): keeping local main.py"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("main.py")).unwrap(),
        "local\n"
    );
}

#[test]
fn pull_is_for_connectors_with_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    new_freshdesk(dirs);
    let err = fails(&[
        "pull",
        "source-freshdesk",
        "--upstream",
        dirs,
        "--connectors-dir",
        dirs,
    ]);
    assert!(err.contains("has no code"), "{err}");
    assert!(
        err.contains("cargo xtask bump source-freshdesk VERSION"),
        "{err}"
    );
}

#[test]
fn discover_refuses_a_config_with_placeholders() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    new_freshdesk(dirs);
    let config = tmp.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"domain": "x", "api_key": "<fill in: API Key (string, secret)>"}"#,
    )
    .unwrap();
    let err = fails(&[
        "discover",
        "source-freshdesk",
        "--config",
        s(&config),
        "--connectors-dir",
        dirs,
    ]);
    assert!(err.contains("still has placeholders at /api_key"), "{err}");
}

#[test]
fn dockerfile_and_ci_use_commands_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("ARG CONNECTOR"));
    assert!(dockerfile.contains("rustup target add x86_64-unknown-linux-musl"));
    assert!(dockerfile.contains("cargo xtask build \"$CONNECTOR\" --out /out"));
    assert!(dockerfile.contains("FROM scratch AS context"));
    // `xtask build` takes what the Dockerfile passes it.
    let (help, _) = ok(&["build", "--help"]);
    assert!(help.contains("--out"), "{help}");

    let ci = std::fs::read_to_string(root.join(".github/workflows/connectors.yml")).unwrap();
    assert!(ci.contains("echo \"matrix=$(cargo xtask ci-matrix)\" >> \"$GITHUB_OUTPUT\""));
    assert!(ci.contains("matrix: ${{ fromJSON(needs.matrix.outputs.matrix) }}"));
    assert!(ci.contains("--build-arg CONNECTOR=${{ matrix.connector }}"));
    assert!(ci.contains("--target context"));
    assert!(ci.contains("docker build -t"));
    // No hand-kept list of connectors.
    assert!(!ci.contains("source-freshdesk"));
}

#[test]
fn the_template_builds_into_an_image_context() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    ok(&[
        "new-connector",
        "templatecheck",
        "0.1.0",
        "--connectors-dir",
        dirs,
    ]);
    let out = tmp.path().join("out");
    ok(&[
        "build",
        "source-templatecheck",
        "--connectors-dir",
        dirs,
        "--out",
        s(&out),
    ]);
    let dockerfile = std::fs::read_to_string(out.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("FROM airbyte/source-templatecheck:0.1.0"),
        "{dockerfile}"
    );
    assert!(out.join("source-templatecheck").is_file());

    // Built once already: a rebuild does not announce a first build.
    let (_, again) = ok(&[
        "build",
        "source-templatecheck",
        "--connectors-dir",
        dirs,
        "--out",
        s(&out),
    ]);
    assert!(
        again.contains("build: source-templatecheck: compiling with cargo"),
        "{again}"
    );
    assert!(!again.contains("first build"), "{again}");
}

#[test]
fn new_connector_without_metadata_says_it_writes_the_pypi_template() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = tmp.path().join("connectors");
    let dirs = dirs.to_str().unwrap();
    // The registry refuses (see `xtask`): the reason is given, and the way out.
    let (_, stderr) = ok(&[
        "new-connector",
        "freshdesk",
        "3.0.2",
        "--connectors-dir",
        dirs,
    ]);
    assert!(
        stderr.contains("no metadata.yaml at hand (")
            && stderr.contains("127.0.0.1:9")
            && stderr.contains("the PyPI template")
            && stderr.contains("--from DIR"),
        "{stderr}"
    );
    let cj = std::fs::read_to_string(
        tmp.path()
            .join("connectors/source-freshdesk/connector.json"),
    )
    .unwrap();
    assert!(
        !cj.contains("declarative") && !cj.contains("\"upstream\""),
        "{cj}"
    );
    // The package could not be pinned either: said, with the way out.
    assert!(
        stderr.contains("could not pin the PyPI package airbyte-source-freshdesk==3.0.2")
            && stderr.contains("--entrypoint CMD"),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("connectors"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
    // A mirror folder without the connector names the file it looked for.
    let empty = tmp.path().join("mirror");
    std::fs::create_dir(&empty).unwrap();
    let (_, stderr) = ok(&[
        "new-connector",
        "github",
        "1.0.0",
        "--from",
        empty.to_str().unwrap(),
        "--connectors-dir",
        dirs,
    ]);
    let missing = empty.join("source-github/metadata.yaml");
    assert!(
        stderr.contains(&format!("{} does not exist", missing.display())),
        "{stderr}"
    );
}

/// `build -p` where no Docker engine answers: the error names what would be
/// pushed, as given (registry, name, tag), before anything is compiled.
#[test]
fn a_push_without_docker_names_what_would_be_pushed() {
    let (out, stdout, err) = {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "build",
                "-p",
                "source-faker",
                "--registry",
                "127.0.0.1:5000/estuary",
                "--tag",
                "try1",
            ])
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env_remove("ATF_CONNECTORS_DIR")
            .output()
            .unwrap();
        let (stdout, stderr) = texts(&out);
        (out, stdout, stderr)
    };
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("error: cannot push \"127.0.0.1:5000/estuary/source-faker:try1\" (registry \"127.0.0.1:5000/estuary\", name \"source-faker\", tag \"try1\"): no Docker engine answers `docker info`"),
        "{err}"
    );
    assert!(!err.contains(":local"), "{err}");
    assert!(!err.contains("compiling"), "checked before building: {err}");
    assert!(stdout.is_empty(), "{stdout}");
}

/// `build` ends with `next:` on stderr (its stdout stays the binary's path),
/// and the built binary's `--describe` prints the baked patches as JSON.
#[test]
fn build_says_what_next_and_describe_prints_json_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    ok(&[
        "new-connector",
        "describecheck",
        "0.1.0",
        "--connectors-dir",
        dirs,
    ]);
    std::fs::write(
        tmp.path().join("source-describecheck/spec.patch.json"),
        r#"{"properties": {"api_key": {"secret": true}}}"#,
    )
    .unwrap();
    let (stdout, stderr) = ok(&["build", "source-describecheck", "--connectors-dir", dirs]);
    let binary = stdout.lines().last().unwrap();
    assert!(binary.ends_with("/source-describecheck"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stderr.contains(&format!(
            "\n  cargo xtask discover source-describecheck --entrypoint CMD --connectors-dir {dirs}\n"
        )),
        "{stderr}"
    );
    let out = Command::new(binary).arg("--describe").output().unwrap();
    assert!(out.status.success());
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        d["spec"]["config_patch"],
        json!({"properties": {"api_key": {"secret": true}}}),
        "{d}"
    );
}

/// A mistyped name gets the right name, and no advice to create the typo.
#[test]
fn a_typo_gets_did_you_mean_without_a_new_connector_hint() {
    let err = fails(&["build", "source-freshdsk"]);
    assert!(err.contains("did you mean \"source-freshdesk\"?"), "{err}");
    assert!(!err.contains("new-connector"), "{err}");
    let err = fails(&["build", "source-postgres"]);
    assert!(
        err.contains("to create it: `cargo xtask new-connector postgres VERSION`"),
        "{err}"
    );
}

/// A discover whose connector fails names the request it failed on.
#[test]
fn a_failed_discover_names_the_discover_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = s(tmp.path());
    new_freshdesk(dirs);
    let config = tmp.path().join("config.json");
    std::fs::write(&config, r#"{"domain": "x", "api_key": "k"}"#).unwrap();
    let err = fails(&[
        "discover",
        "source-freshdesk",
        "--config",
        s(&config),
        "--connectors-dir",
        dirs,
        "--entrypoint",
        "/bin/false",
        "--work-dir",
        s(&tmp.path().join("work")),
    ]);
    assert!(
        err.contains("failed (exit status: 1) on the \"discover\" request"),
        "{err}"
    );
    assert!(!err.contains("\"discovered\""), "{err}");
}
