//! Step 1 of the README, `cargo xtask new-connector`: a connector folder
//! from the template (its upstream pinned, its next steps printed).
//!
//! The kind is read from the connector's `metadata.yaml` (in the `--from`
//! folder, else Airbyte's registry): a manifest-only connector gets a
//! declarative `upstream` (its files pinned, its cdk chosen, its spec
//! recorded through that cdk, so it builds at once); any other, or none at
//! hand, gets the PyPI template. The folder is written whole or not at all.

use crate::ground::{read_json, write_json, Dirs, Hint};
use crate::steps::declarative::pin::{self, Choices, PinArgs};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use std::path::Path;

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
    pin: PinArgs,
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
    if dir.exists() {
        let image = read_json(&dir.join("connector.json"))
            .ok()
            .and_then(|c| c["base_image"].as_str().map(str::to_string));
        let tag = image.as_deref().and_then(patches::image::tag);
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

    // The kind, from metadata.yaml.
    let found = pin::find_metadata(&folder, &args.version, args.pin.from.as_deref())?;
    let (upstream, spec, mut notes) = match &found {
        Ok(f) if f.metadata.manifest_only => {
            eprintln!("new-connector: {folder}: {} says manifest-only: pinning its manifest", f.at);
            let mut command: Vec<String> = ["cargo", "xtask", "new-connector", name, &args.version]
                .map(String::from)
                .into();
            if let Some(d) = &args.dirs.connectors_dir {
                command.extend(["--connectors-dir".into(), d.display().to_string()]);
            }
            let choices = Choices {
                args: &args.pin,
                command,
            };
            let p = pin::pin(&folder, &args.version, f, &choices)?;
            (Some(p.upstream), Some(p.spec), p.notes)
        }
        Ok(f) => (
            None,
            None,
            vec![format!(
                "{} says {}: the PyPI template",
                f.at,
                match &f.metadata.pypi_package {
                    Some(p) => format!("a PyPI connector (package {p})"),
                    None => "not manifest-only".to_string(),
                }
            )],
        ),
        Err(why) => (
            None,
            None,
            vec![format!(
                "no metadata.yaml at hand ({why}): the PyPI template; for a manifest-only connector pass --from DIR (a folder laid out like airbytehq/airbyte's airbyte-integrations/connectors/)"
            )],
        ),
    };

    let mut connector = json!({
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
    if let Some(up) = &upstream {
        connector["upstream"] = serde_json::to_value(codegen::Upstream::Declarative(up.clone()))?;
    }
    // Written into a temporary folder beside it, then renamed: a failure
    // leaves no half-written connector.
    let tmp = connectors.join(format!(".{folder}.new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    // A PyPI connector without --entrypoint: its package pinned, so the
    // `next:` commands provision and run it when pasted.
    let mut pypi = None;
    if upstream.is_none() && args.entrypoint.is_none() {
        let package = match &found {
            Ok(f) => f.metadata.pypi_package.clone(),
            Err(_) => None,
        }
        .unwrap_or_else(|| format!("airbyte-{folder}"));
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        match pin_pypi(&folder, &package, &args.version, &tmp) {
            Ok(up) => {
                notes.push(format!(
                    "{package}=={} pinned with every dependency in {} (Python {})",
                    args.version,
                    codegen::upstream::DEFAULT_LOCK,
                    up.python
                ));
                connector["upstream"] = serde_json::to_value(codegen::Upstream::Pypi(up.clone()))?;
                pypi = Some(up);
            }
            Err(e) => notes.push(format!(
                "could not pin the PyPI package {package}=={} ({e:#}): spec and discover need `--entrypoint CMD`, the connector installed on this machine; or write connector.json \"upstream\" and run `cargo xtask bump {folder} {}`",
                args.version, args.version
            )),
        }
    }
    let written = write_folder(&tmp, name, &connector, spec.as_ref(), &args.version);
    if let Err(e) = written.and_then(|()| {
        std::fs::rename(&tmp, &dir).with_context(|| format!("cannot create {}", dir.display()))
    }) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }

    let kind = if upstream.is_some() {
        "manifest-only"
    } else {
        "PyPI"
    };
    eprintln!(
        "created {} (upstream airbyte/source-{name}:{}, {kind}):",
        dir.display(),
        args.version
    );
    for note in &notes {
        eprintln!("  {note}");
    }
    eprintln!("  connector.json                upstream image, entrypoint, image labels");
    if spec.is_some() {
        eprintln!("  spec.recorded.json            the connector's own spec, from its manifest");
    }
    eprintln!("  documentation_url.patch.json  https://go.estuary.dev/source-{name}");
    eprintln!("  oauth2.patch.json             placeholder meaning \"no OAuth\": replace it with Flow's OAuth2 spec, or delete it to keep the connector's own");
    eprintln!("  streams/                      per-stream patches go here");
    // The next commands, with the flags given here.
    eprintln!("next:");
    eprintln!("  {}", hint.command("build", &[&folder]));
    eprintln!("  {}", hint.command("spec", &[&folder, "--config-schema"]));
    eprintln!("  {}", hint.command("discover", &[&folder]));
    if hint.entrypoint.is_none() && upstream.is_none() && pypi.is_none() {
        eprintln!("(spec and discover run the upstream connector: add `--entrypoint CMD`, the connector installed on this machine)");
    }
    Ok(())
}

/// The Python a new PyPI connector's lock is resolved with (Airbyte's
/// python-connector-base images run 3.11).
const PYPI_PYTHON: &str = "3.11";

/// Resolves `package==version` with pip into `dir/upstream.lock.txt`.
fn pin_pypi(
    folder: &str,
    package: &str,
    version: &str,
    dir: &Path,
) -> anyhow::Result<codegen::upstream::Pypi> {
    let up = codegen::upstream::Pypi {
        package: package.to_string(),
        version: version.to_string(),
        python: PYPI_PYTHON.to_string(),
        lock: codegen::upstream::DEFAULT_LOCK.to_string(),
        command: None,
        pins: Vec::new(),
    };
    crate::steps::provision::relock(folder, &up, version, &dir.join(&up.lock))?;
    Ok(up)
}

/// The connector folder's files, into `dir`.
fn write_folder(
    dir: &Path,
    name: &str,
    connector: &serde_json::Value,
    spec: Option<&serde_json::Value>,
    version: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_json(&dir.join("connector.json"), connector)?;
    write_json(
        &dir.join("documentation_url.patch.json"),
        &json!({ "documentation_url": format!("https://go.estuary.dev/source-{name}") }),
    )?;
    std::fs::write(dir.join("oauth2.patch.json"), OAUTH2_PLACEHOLDER)?;
    std::fs::create_dir(dir.join("streams"))?;
    std::fs::write(dir.join("streams/.gitkeep"), "")?;
    if let Some(spec) = spec {
        let recorded = codegen::RecordedSpecFile {
            upstream_image: format!("airbyte/source-{name}:{version}"),
            spec: spec.clone(),
        };
        let text = serde_json::to_string_pretty(&recorded)? + "\n";
        std::fs::write(dir.join(codegen::SPEC_RECORDED), text)?;
    }
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
pub(crate) fn validate_version(version: &str) -> anyhow::Result<()> {
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
