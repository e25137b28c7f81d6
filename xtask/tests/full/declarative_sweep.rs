//! Every manifest-only connector of `../shared/manifests` goes through the
//! user's commands: `cargo xtask new-connector NAME VERSION --from DIR`
//! (accepting its license by name where it is not MIT), `cargo xtask build`,
//! `cargo xtask spec`, `cargo xtask discover`. Its baked spec must equal the
//! connector's own spec as its pinned cdk computes it, after our patches;
//! our binary's discover must offer the streams of the cdk's own discover
//! (the connector laid out as in its image and run by the cdk's own
//! `source_declarative_manifest` code, not through our launcher); the
//! connectors broken upstream must fail with the cdk's own message. The table goes to stderr and to
//! `target/declarative-sweep.md`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn xtask(args: &[&str], connectors: &Path, work: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args).arg("--connectors-dir").arg(connectors);
    if matches!(args[0], "spec" | "discover") {
        cmd.arg("--work-dir").arg(work);
    }
    cmd.output().unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// The names of the streams of the CATALOG message in `stdout`.
fn catalog_streams(stdout: &str) -> Option<Vec<String>> {
    let msg = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "CATALOG")?;
    let mut names: Vec<String> = msg["catalog"]["streams"]
        .as_array()?
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    Some(names)
}

/// The message of the cdk's error: its TRACE error's internal message (the
/// exception), else its message, else the last line of its stderr.
fn cdk_error(out: &Output) -> String {
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|m| {
            let e = m.pointer("/trace/error")?;
            e["internal_message"]
                .as_str()
                .or(e["message"].as_str())
                .map(str::to_string)
        })
        .or_else(|| {
            text(&out.stderr)
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The cdk's own discover, independent of our launcher: the connector laid
/// out as in its image (Airbyte's `source-declarative-manifest` image copies
/// the cdk's `cli/source_declarative_manifest/_run.py` to the package
/// `source_declarative_manifest/run.py`, the connector's manifest and
/// components beside it), run through that module's own
/// `handle_local_manifest_command`, as the image's `main.py` does on every
/// cdk from 6.x (which has no `--manifest-path`).
fn image_layout(python: &str, folder: &Path, dir: &Path, components: bool) -> Command {
    let venv = Path::new(python).parent().and_then(Path::parent).unwrap();
    let run_py = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .flatten()
        .map(|e| {
            e.path()
                .join("site-packages/airbyte_cdk/cli/source_declarative_manifest/_run.py")
        })
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{} has no source_declarative_manifest/_run.py",
                venv.display()
            )
        });
    let package = dir.join("source_declarative_manifest");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::copy(run_py, package.join("run.py")).unwrap();
    std::fs::copy(folder.join("manifest.yaml"), package.join("manifest.yaml")).unwrap();
    if components {
        std::fs::copy(folder.join("components.py"), package.join("components.py")).unwrap();
    }
    let mut cmd = Command::new(python);
    cmd.current_dir(dir).args([
        "-c",
        "import sys; from source_declarative_manifest.run import handle_local_manifest_command; handle_local_manifest_command(sys.argv[1:])",
    ]);
    cmd
}

struct Row {
    name: String,
    license: String,
    cdk: String,
    components: bool,
    spec_equal: bool,
    discover: String,
}

/// One connector through the workflow; `Err` says which step failed.
fn sweep_one(shared: &Path, name: &str, tmp: &Path) -> Result<Row, String> {
    let manifests = shared.join("manifests");
    let folder = manifests.join(name);
    let provenance: Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("PROVENANCE.json")).unwrap())
            .unwrap();
    let version = provenance["dockerImageTag"].as_str().unwrap();
    let license = provenance["license"].as_str().unwrap();
    let short = name.strip_prefix("source-").unwrap();
    let connectors = tmp.join("connectors");
    let work = tmp.join("work").join(name);

    // new-connector, accepting a non-MIT license by name.
    let mut args = vec!["new-connector", short, version, "--from"];
    let from = manifests.to_string_lossy().into_owned();
    args.push(&from);
    if license != "MIT" {
        let refused = xtask(&args, &connectors, &work);
        let stderr = text(&refused.stderr);
        if refused.status.success()
            || !stderr.contains(&format!("licensed \"{license}\", not MIT"))
            || !stderr.contains(&format!("--accept-license {license}"))
        {
            return Err(format!(
                "new-connector did not stop at license {license}:\n{stderr}"
            ));
        }
        if connectors.join(name).exists() {
            return Err("a refused new-connector left a folder behind".into());
        }
        args.extend(["--accept-license", license]);
    }
    let out = xtask(&args, &connectors, &work);
    if !out.status.success() {
        return Err(format!("new-connector failed:\n{}", text(&out.stderr)));
    }
    let dir = connectors.join(name);
    let cj: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("connector.json")).unwrap())
            .unwrap();
    let up = &cj["upstream"];
    assert_eq!(up["kind"], "declarative", "{name}: {cj}");
    assert_eq!(up["license"], license, "{name}");
    let manifest_sha = provenance["files"]["manifest.yaml"]["sha256"]
        .as_str()
        .unwrap();
    assert_eq!(up["manifest"]["sha256"], manifest_sha, "{name}");
    let components = folder.join("components.py").is_file();
    assert_eq!(up["components"].is_object(), components, "{name}: {up}");
    let cdk = up["cdk"].as_str().unwrap().to_string();

    // build: the spec is baked.
    let out = xtask(&["build", name], &connectors, &work);
    if !out.status.success() {
        return Err(format!("build failed:\n{}", text(&out.stderr)));
    }

    // The connector's own spec, as its pinned cdk prints it (the provisioned
    // entrypoint), after our patches, against the binary's spec response.
    let out = xtask(&["provision", name], &connectors, &work);
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let entrypoint = text(&out.stdout).lines().last().unwrap().to_string();
    let argv = shell_words::split(&entrypoint).unwrap();
    let own = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("spec")
        .output()
        .unwrap();
    let own_spec = text(&own.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "SPEC")
        .map(|m| m["spec"].clone())
        .ok_or_else(|| format!("the cdk printed no spec:\n{}", cdk_error(&own)))?;
    let loaded = codegen::load(&dir).map_err(|p| p.to_string())?;
    let oauth = match &loaded.oauth2 {
        patches::OAuth2::Upstream => patches::OAuth2::Upstream,
        patches::OAuth2::Disabled => patches::OAuth2::Disabled,
        patches::OAuth2::Replace(v) => patches::OAuth2::Replace(v),
    };
    let expected = patches::apply::flow_spec(
        &own_spec,
        loaded.config_patch.as_ref(),
        oauth,
        loaded.documentation_url.as_deref(),
    )
    .unwrap();
    let out = xtask(&["spec", name], &connectors, &work);
    if !out.status.success() {
        return Err(format!("spec failed:\n{}", text(&out.stderr)));
    }
    let baked: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("spec printed no JSON ({e})"))?;
    let spec_equal = baked == expected;

    // discover: ours against the cdk's own, with the fake config.
    let config = manifests.join("_run/configs").join(format!("{name}.json"));
    let mut theirs = image_layout(&argv[0], &folder, &tmp.join("image").join(name), components);
    theirs.args(["discover", "--config"]).arg(&config);
    let theirs = theirs.output().unwrap();
    let their_streams = catalog_streams(&text(&theirs.stdout));
    let config_s = config.to_string_lossy().into_owned();
    let ours = xtask(
        &["discover", name, "--config", &config_s],
        &connectors,
        &work,
    );
    let discover = match their_streams {
        Some(theirs) => {
            if !ours.status.success() {
                return Err(format!(
                    "our discover failed where the cdk's offers {} streams:\n{}",
                    theirs.len(),
                    text(&ours.stderr)
                ));
            }
            let catalog = PathBuf::from(text(&ours.stdout).lines().last().unwrap());
            let catalog: Value =
                serde_json::from_str(&std::fs::read_to_string(catalog).unwrap()).unwrap();
            let mut our_streams: Vec<String> = catalog["bindings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["recommendedName"].as_str().unwrap().to_string())
                .collect();
            our_streams.sort();
            if our_streams != theirs {
                return Err(format!(
                    "discover differs: ours {our_streams:?}, the cdk's {theirs:?}"
                ));
            }
            format!(
                "equal ({} stream{})",
                theirs.len(),
                if theirs.len() == 1 { "" } else { "s" }
            )
        }
        None => {
            // Broken upstream: ours fails too, quoting the cdk's message.
            let message = cdk_error(&theirs);
            let ours_err = text(&ours.stderr);
            // Our log relays it as a JSON string.
            let core = serde_json::to_string(&message).unwrap();
            let core = core.trim_matches('"').to_string();
            if ours.status.success() || core.is_empty() || !ours_err.contains(&core) {
                return Err(format!(
                    "the cdk's discover fails ({message}) but ours {}:\n{ours_err}",
                    if ours.status.success() {
                        "succeeded"
                    } else {
                        "does not quote it"
                    }
                ));
            }
            format!("both fail: {core}")
        }
    };
    Ok(Row {
        name: name.to_string(),
        license: license.to_string(),
        cdk,
        components,
        spec_equal,
        discover,
    })
}

#[test]
#[ignore = "full tier (installed connectors, Docker, Chromium): `cargo xtask test`, or `cargo test -p xtask --test full -- --ignored`"]
fn every_shared_manifest_connector_is_created_built_and_discovered() {
    let test = "every_shared_manifest_connector_is_created_built_and_discovered";
    let Some((shared, names)) = crate::manifests::connectors(test) else {
        return;
    };
    assert_eq!(names.len(), 30, "{names:?}");
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();

    let results =
        crate::manifests::two_at_a_time(&names, |name| sweep_one(&shared, name, tmp.path()));

    let mut table = String::from(
        "| connector | license | cdk | components | built | spec equal | discover |\n|---|---|---|---|---|---|---|\n",
    );
    let mut failures = Vec::new();
    for (name, r) in &results {
        match r {
            Ok(row) => table.push_str(&format!(
                "| {} | {} | {} | {} | yes | {} | {} |\n",
                row.name,
                row.license,
                row.cdk,
                if row.components { "yes" } else { "no" },
                if row.spec_equal { "yes" } else { "NO" },
                row.discover
            )),
            Err(e) => {
                let first = e.lines().next().unwrap_or("");
                table.push_str(&format!("| {name} | | | | | | FAILED: {first} |\n"));
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    let elapsed = started.elapsed();
    table.push_str(&format!(
        "\n{} connectors in {:.0} s\n",
        results.len(),
        elapsed.as_secs_f64()
    ));
    crate::manifests::write_table("declarative-sweep.md", &table);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let unequal: Vec<&str> = results
        .iter()
        .filter_map(|(n, r)| {
            r.as_ref()
                .ok()
                .filter(|r| !r.spec_equal)
                .map(|_| n.as_str())
        })
        .collect();
    assert!(
        unequal.is_empty(),
        "baked spec differs from the cdk's: {unequal:?}"
    );
}
