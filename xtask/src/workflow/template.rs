//! `new-connector` and `bump`: a connector folder from the template, and a
//! move to a new upstream version.

use super::{read_json, write_json, Dirs, Hint};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct NewConnectorArgs {
    /// Connector name without the `source-` prefix, as in `airbyte/source-NAME` (e.g. `freshdesk`)
    name: String,
    /// Upstream image tag: the `io.airbyte.version` label of the connector's Dockerfile (e.g. `3.0.2`)
    version: String,
    /// The upstream connector installed on this machine (e.g.
    /// `.venvs/faker-7.2.1/bin/source-faker`): repeated in the next-step
    /// hints, whose `spec` and `discover` run it
    #[arg(long, value_name = "CMD", env = "ATF_ENTRYPOINT")]
    entrypoint: Option<String>,
    #[command(flatten)]
    dirs: Dirs,
}

#[derive(Args)]
pub struct BumpArgs {
    /// Connector folder, e.g. `source-freshdesk`
    name: String,
    /// The new upstream image tag (e.g. `3.0.7`)
    version: String,
    /// The new version is backward-incompatible: also raise the image's `io.airbyte.version` label (v1 -> v2)
    #[arg(long)]
    breaking: bool,
    #[command(flatten)]
    dirs: Dirs,
}

/// The template's `oauth2.patch.json`: every field present and empty means "no OAuth".
const OAUTH2_PLACEHOLDER: &str = r#"{
  "provider": "",
  "authUrlTemplate": "",
  "accessTokenUrlTemplate": "",
  "accessTokenBody": "",
  "accessTokenHeaders": {},
  "accessTokenResponseMap": {}
}
"#;

/// The entrypoint of Python connectors in Airbyte's images.
const PYTHON_ENTRYPOINT: &str = "python /airbyte/integration_code/main.py";

pub fn new_connector(args: NewConnectorArgs) -> anyhow::Result<()> {
    validate_name(&args.name)?;
    validate_version(&args.version)?;
    let name = &args.name;
    let folder = format!("source-{name}");
    let connectors = args.dirs.connectors();
    std::fs::create_dir_all(&connectors)
        .with_context(|| format!("cannot create {}", connectors.display()))?;
    let dir = connectors.join(&folder);
    let hint = Hint {
        entrypoint: args.entrypoint.clone(),
        ..args.dirs.hint()
    };
    // create_dir fails when the folder exists: never overwrite a connector.
    if let Err(err) = std::fs::create_dir(&dir) {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            let image = read_json(&dir.join("connector.json"))
                .ok()
                .and_then(|c| c["base_image"].as_str().map(str::to_string));
            let tag = image
                .as_deref()
                .and_then(|i| i.rsplit_once(':'))
                .map(|(_, t)| t);
            if tag == Some(args.version.as_str()) {
                bail!(
                    "connector \"{folder}\" already exists at {}, at upstream version \"{}\": not overwriting it; it is ready to use:\nnext:\n  {}",
                    dir.display(),
                    args.version,
                    hint.command("build", &[&folder])
                );
            }
            bail!(
                "connector \"{folder}\" already exists at {} ({}): not overwriting it; \
                 to move it to version \"{}\":\nnext:\n  {}",
                dir.display(),
                image
                    .as_deref()
                    .unwrap_or("no base_image in its connector.json"),
                args.version,
                hint.command("bump", &[&folder, &args.version])
            );
        }
        return Err(err).with_context(|| format!("cannot create {}", dir.display()));
    }
    let connector = json!({
        "base_image": format!("airbyte/source-{name}:{}", args.version),
        "entrypoint": PYTHON_ENTRYPOINT,
        "env": {},
        "has_code": false,
        "labels": {
            "CONNECTOR_PROTOCOL": "flow-capture",
            "FLOW_RUNTIME_CODEC": "json",
            "FLOW_RUNTIME_PROTOCOL": "capture",
            "io.airbyte.name": format!("airbyte/source-{name}"),
            "io.airbyte.version": "v1",
        },
    });
    write_json(&dir.join("connector.json"), &connector)?;
    write_json(
        &dir.join("documentation_url.patch.json"),
        &json!({ "documentation_url": format!("https://go.estuary.dev/source-{name}") }),
    )?;
    std::fs::write(dir.join("oauth2.patch.json"), OAUTH2_PLACEHOLDER)?;
    std::fs::create_dir(dir.join("streams"))?;
    std::fs::write(dir.join("streams/.gitkeep"), "")?;

    eprintln!(
        "created {} (upstream airbyte/source-{name}:{}):",
        dir.display(),
        args.version
    );
    eprintln!("  connector.json                upstream image, entrypoint, image labels");
    eprintln!("  documentation_url.patch.json  https://go.estuary.dev/source-{name}");
    eprintln!("  oauth2.patch.json             placeholder meaning \"no OAuth\": replace it with Flow's OAuth2 spec, or delete it to keep the connector's own");
    eprintln!("  streams/                      per-stream patches go here");
    // The next commands, with the flags given here.
    eprintln!("next:");
    eprintln!("  {}", hint.command("build", &[&folder]));
    eprintln!("  {}", hint.command("spec", &[&folder, "--config-schema"]));
    eprintln!("  {}", hint.command("discover", &[&folder]));
    if hint.entrypoint.is_none() {
        eprintln!("(spec and discover run the upstream connector: add `--entrypoint CMD`, the connector installed on this machine, unless it is provisioned for you)");
    }
    Ok(())
}

pub fn bump(args: BumpArgs) -> anyhow::Result<()> {
    validate_version(&args.version)?;
    let dir = args.dirs.connector(&args.name)?;
    let hint = args.dirs.hint();
    let path = dir.join("connector.json");
    let mut connector = read_json(&path)?;
    let image = connector
        .get("base_image")
        .and_then(|v| v.as_str())
        .with_context(|| format!("{} has no string \"base_image\": add the upstream image, e.g. \"airbyte/{}:1.2.3\"", path.display(), args.name))?
        .to_string();
    if connector.get("has_code").and_then(|v| v.as_bool()) == Some(true) {
        bail!(
            "connector \"{}\" has code (has_code is true in {}): its upstream is a code checkout, not image \"{image}\"; update it with `{}`",
            args.name,
            path.display(),
            hint.command("pull", &[&args.name, "--upstream", "DIR"])
        );
    }
    let Some((repo, old)) = image.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) else {
        bail!(
            "\"base_image\" \"{image}\" in {} has no tag: set it to \"{image}:{}\" by hand",
            path.display(),
            args.version
        );
    };
    let has_upstream = connector.get("upstream").is_some();
    if old == args.version && !args.breaking && !has_upstream {
        bail!(
            "connector \"{}\" is already at upstream version \"{old}\" ({})",
            args.name,
            path.display()
        );
    }
    let new_image = format!("{repo}:{}", args.version);
    connector["base_image"] = json!(new_image);
    let mut label_note = None;
    if args.breaking {
        let labels = connector
            .get_mut("labels")
            .and_then(|l| l.as_object_mut())
            .with_context(|| {
                format!(
                    "{} has no \"labels\" object: add one with \"io.airbyte.version\": \"v1\"",
                    path.display()
                )
            })?;
        let current = labels
            .get("io.airbyte.version")
            .and_then(|v| v.as_str())
            .unwrap_or("v0")
            .to_string();
        let n: u32 = current
            .strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .with_context(|| {
                format!(
                    "label \"io.airbyte.version\" is \"{current}\" in {}, not vN: set it by hand",
                    path.display()
                )
            })?;
        let next = format!("v{}", n + 1);
        labels.insert("io.airbyte.version".into(), json!(next));
        label_note = Some(format!(
            "image label io.airbyte.version {current} -> {next}"
        ));
    }
    // connector.json `upstream`: the same version of the PyPI package, its
    // lock re-resolved (an unchanged version only re-resolves the lock).
    if has_upstream {
        connector["upstream"]["version"] = json!(args.version);
        let up: codegen::Upstream = serde_json::from_value(connector["upstream"].clone())
            .with_context(|| format!("{} /upstream is not valid", path.display()))?;
        crate::provision::relock(&args.name, &up, &args.version, &dir.join(&up.lock))?;
    }
    write_json(&path, &connector)?;

    eprintln!("{}: {image} -> {new_image}", args.name);
    if let Some(note) = label_note {
        eprintln!("{}: {note}", args.name);
    }
    let recorded = dir.join("spec.recorded.json");
    if has_upstream {
        if old != args.version && recorded.exists() {
            eprintln!(
                "{} was recorded from upstream {old} and is now stale: re-record it with\n  cargo xtask record-spec {} (runs the newly locked upstream)",
                recorded.display(),
                args.name
            );
        }
    } else if recorded.exists() {
        eprintln!(
            "{} was recorded from upstream {old} and is now stale: re-record it from version {} with\n  {} --entrypoint CMD\n(CMD runs the new upstream connector, e.g. the {} command of `pip install airbyte-{}=={}`)",
            recorded.display(),
            args.version,
            hint.command("record-spec", &[&args.name]),
            args.name,
            args.name,
            args.version
        );
    } else {
        eprintln!(
            "no spec recording in {}: the binary asks the connector for its spec at run time; record one with `{} --entrypoint CMD`",
            dir.display(),
            hint.command("record-spec", &[&args.name])
        );
    }
    eprintln!("then check the new version (add `--entrypoint CMD`, the new upstream connector installed on this machine, unless it is provisioned for you):");
    eprintln!(
        "  {}",
        hint.command("spec", &[&args.name, "--config-schema"])
    );
    eprintln!("  {}", hint.command("discover", &[&args.name]));
    eprintln!("  {}", hint.command("capture", &[&args.name]));
    Ok(())
}

/// `freshdesk`, `google-sheets`: lowercase letters, digits and single dashes.
fn validate_name(name: &str) -> anyhow::Result<()> {
    if let Some(short) = name.strip_prefix("source-") {
        bail!("connector name \"{name}\" already starts with \"source-\": pass \"{short}\" (the folder becomes source-{short})");
    }
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty()
        || !ok_chars
        || name.starts_with('-')
        || name.ends_with('-')
        || name.contains("--")
    {
        bail!("connector name \"{name}\" is not valid: use lowercase letters, digits and single dashes, as in airbyte/source-NAME (e.g. \"google-sheets\")");
    }
    Ok(())
}

/// `1.2.3`, `0.1.0-rc.1`: the tags Airbyte gives its images.
fn validate_version(version: &str) -> anyhow::Result<()> {
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let pre_ok = pre.is_none_or(|p| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    });
    if parts.len() != 3 || !parts.iter().all(numeric) || !pre_ok {
        bail!("version \"{version}\" is not an image tag like \"1.2.3\": use the exact io.airbyte.version label of the upstream connector's Dockerfile (or dockerImageTag of its metadata.yaml)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["freshdesk", "google-sheets", "s3", "a1-b2"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "Freshdesk",
            "source-x",
            "-x",
            "x-",
            "a--b",
            "a_b",
            "a/b",
            "a b",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions() {
        for ok in ["0.1.0", "3.0.2", "1.2.3-rc.1", "10.20.30"] {
            validate_version(ok).unwrap();
        }
        for bad in [
            "",
            "latest",
            "v1.2.3",
            "1.2",
            "1.2.3.4",
            "1.x.3",
            "1.2.3-",
            "1.2.3-a b",
        ] {
            assert!(validate_version(bad).is_err(), "{bad:?}");
        }
    }
}
