//! Updating a connector (README): `bump` moves it to a new upstream
//! version (its pins, image tag and labels); `pull` brings upstream code changes into a connector that has code, file
//! by file (the seed's `pull-connector.sh`).
//!
//! Every file of the upstream checkout is compared with the connector's:
//! new files are taken, identical ones skipped, differing ones shown as a
//! unified diff and kept or taken at a `y/n` prompt on stdin (or all at once
//! with `--keep-local` / `--take-upstream`). Files only the connector has (its
//! patch files, connector.json) are kept. The upstream version (metadata.yaml
//! `dockerImageTag`, else the Dockerfile's `io.airbyte.version` label) is
//! printed and recorded in connector.json as label `io.airbyte.upstream-version`.

use crate::ground::{read_json, write_json, Dirs};
use anyhow::{bail, Context};
use clap::Args;
use patches::image::ImageRef;
use serde_json::json;

use super::create::validate_version;
use super::declarative;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

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
    pin: declarative::pin::PinArgs,
    #[command(flatten)]
    dirs: Dirs,
}

#[derive(Args)]
pub struct PullArgs {
    /// Connector folder, e.g. `source-google-sheets`
    name: String,
    /// Checkout of the upstream connector (e.g. airbyte/airbyte-integrations/connectors/source-google-sheets)
    #[arg(long, value_name = "DIR")]
    upstream: PathBuf,
    /// Keep the local version of every differing file
    #[arg(long, conflicts_with = "take_upstream")]
    keep_local: bool,
    /// Take the upstream version of every differing file
    #[arg(long)]
    take_upstream: bool,
    #[command(flatten)]
    dirs: Dirs,
}

/// Folders and files of a checkout that are never part of a connector.
const SKIP: &[&str] = &[
    ".git",
    "__pycache__",
    ".venv",
    ".pytest_cache",
    ".mypy_cache",
    "build",
    "dist",
];

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
    let parsed = ImageRef::parse(&image)
        .map_err(|e| anyhow::anyhow!("\"base_image\" in {}: {e}", path.display()))?;
    let Some(old) = parsed.tag else {
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
    let new_image = parsed.with_tag(&args.version).to_string();
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
    // The new version's kind, from its metadata.yaml: a manifest-only
    // version is pinned (and the connector switches kind if it was PyPI).
    let declarative_now = connector["upstream"]["kind"] == codegen::upstream::DECLARATIVE;
    match declarative::pin::find_metadata(&args.name, &args.version, args.pin.from.as_deref())? {
        Ok(found) if found.metadata.manifest_only => {
            return bump_declarative(&args, &dir, connector, &found, &image, &new_image, label_note);
        }
        Ok(found) if declarative_now => bail!(
            "{} says {} {} is not manifest-only: moving a manifest-only connector back to a PyPI package is not supported; write its connector.json \"upstream\" by hand",
            found.at,
            args.name,
            args.version
        ),
        Ok(found) => eprintln!("{}: {} says not manifest-only: keeping the PyPI package", args.name, found.at),
        Err(why) if declarative_now => bail!(
            "connector \"{}\" is manifest-only but no metadata.yaml of version {} is at hand ({why}): give its folder with `{}`",
            args.name,
            args.version,
            hint.command("bump", &[&args.name, &args.version, "--from", "DIR"])
        ),
        Err(why) => eprintln!(
            "{}: no metadata.yaml at hand ({why}): keeping the PyPI package; pass --from DIR if {} is manifest-only",
            args.name, args.version
        ),
    }
    // connector.json `upstream`: the same version of the PyPI package, its
    // lock re-resolved (an unchanged version only re-resolves the lock).
    if has_upstream {
        connector["upstream"]["version"] = json!(args.version);
        let up: codegen::Upstream = serde_json::from_value(connector["upstream"].clone())
            .with_context(|| format!("{} /upstream is not valid", path.display()))?;
        match up {
            codegen::Upstream::Pypi(up) => crate::steps::provision::relock(
                &args.name,
                &up,
                &args.version,
                &dir.join(&up.lock),
            )?,
            codegen::Upstream::Declarative(_) => unreachable!("handled by bump_declarative"),
        }
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

/// `bump` to a manifest-only version: its files pinned, its cdk chosen, its
/// spec re-recorded, and what changed printed (config fields of the two
/// specs; streams, keys and cursors of the two discovers against the mock).
fn bump_declarative(
    args: &BumpArgs,
    dir: &Path,
    mut connector: serde_json::Value,
    found: &declarative::pin::Found,
    image: &str,
    new_image: &str,
    label_note: Option<String>,
) -> anyhow::Result<()> {
    let hint = args.dirs.hint();
    let old_up: Option<codegen::Upstream> = connector
        .get("upstream")
        .map(|u| serde_json::from_value(u.clone()))
        .transpose()
        .with_context(|| {
            format!(
                "{} /upstream is not valid",
                dir.join("connector.json").display()
            )
        })?;
    let recorded_path = dir.join(codegen::SPEC_RECORDED);
    let old_spec = read_json(&recorded_path).ok().map(|r| r["spec"].clone());

    let mut command: Vec<String> = ["cargo", "xtask", "bump", &args.name, &args.version]
        .map(String::from)
        .into();
    if let Some(d) = &args.dirs.connectors_dir {
        command.extend(["--connectors-dir".into(), d.display().to_string()]);
    }
    let choices = declarative::pin::Choices {
        args: &args.pin,
        command,
    };
    // Stops here, before any work, when the license is not accepted.
    declarative::pin::check_license(&args.name, &args.version, found, &choices)?;
    // The old version's streams, before anything changes.
    let old_streams = match &old_up {
        Some(_) => {
            match crate::steps::provision::provision_from(dir, args.pin.from.as_deref(), false) {
                Ok(Some(p)) => {
                    declarative::changes::discover(dir, &p.command()).map_err(|e| e.to_string())
                }
                Ok(None) => Ok(None),
                Err(e) => Err(format!("{e:#}")),
            }
        }
        None => Ok(None),
    };

    let pin = declarative::pin::pin(&args.name, &args.version, found, &choices)?;
    let new_command = declarative::provision(&args.name, &pin.upstream, None, false)?.command();
    let new_streams = declarative::changes::discover(dir, &new_command);

    // Write: connector.json, the new recording, and the PyPI lock dropped.
    connector["base_image"] = json!(new_image);
    connector["upstream"] =
        serde_json::to_value(codegen::Upstream::Declarative(pin.upstream.clone()))?;
    let recorded = codegen::RecordedSpecFile {
        upstream_image: new_image.to_string(),
        spec: pin.spec.clone(),
    };
    std::fs::write(
        &recorded_path,
        serde_json::to_string_pretty(&recorded)? + "\n",
    )
    .with_context(|| format!("cannot write {}", recorded_path.display()))?;
    write_json(&dir.join("connector.json"), &connector)?;
    if let Some(codegen::Upstream::Pypi(p)) = &old_up {
        let lock = dir.join(&p.lock);
        if lock.is_file() {
            std::fs::remove_file(&lock)
                .with_context(|| format!("cannot remove {}", lock.display()))?;
            eprintln!(
                "{}: removed {} (the PyPI lock; the cdk's is cdk/airbyte-cdk-{}.lock.txt)",
                args.name,
                lock.display(),
                pin.upstream.cdk
            );
        }
    }

    let was = match &old_up {
        Some(u) => u.kind(),
        None => "no upstream",
    };
    eprintln!(
        "{}: {image} -> {new_image} ({was} -> manifest-only)",
        args.name
    );
    if let Some(note) = label_note {
        eprintln!("{}: {note}", args.name);
    }
    for note in &pin.notes {
        eprintln!("  {note}");
    }
    eprintln!(
        "{}: re-recorded {} from the new manifest",
        args.name,
        recorded_path.display()
    );
    eprintln!("what changed:");
    match &old_spec {
        Some(old) => {
            for line in declarative::changes::spec_changes(old, &pin.spec) {
                eprintln!("  {line}");
            }
        }
        None => eprintln!("  config fields: not compared (no earlier spec.recorded.json)"),
    }
    match (old_streams, new_streams) {
        (Ok(Some(old)), Ok(Some(new))) => {
            for line in declarative::changes::stream_changes(&old, &new) {
                eprintln!("  {line}");
            }
        }
        (Ok(None), _) | (_, Ok(None)) => eprintln!(
            "  streams: not compared (no tests/mock/config.json to discover with, or no earlier upstream)"
        ),
        (Err(e), _) => eprintln!("  streams: not compared (the old version's discover failed: {e})"),
        (_, Err(e)) => eprintln!("  streams: not compared (the new version's discover failed: {e:#})"),
    }
    eprintln!("next:");
    eprintln!("  {}", hint.command("build", &[&args.name]));
    eprintln!("  {}", hint.command("discover", &[&args.name]));
    eprintln!("  {}", hint.command("capture", &[&args.name]));
    Ok(())
}

pub fn pull(args: PullArgs) -> anyhow::Result<()> {
    let dir = args.dirs.connector(&args.name)?;
    let json_path = dir.join("connector.json");
    let mut connector = read_json(&json_path)?;
    if connector.get("has_code").and_then(|v| v.as_bool()) != Some(true) {
        bail!(
            "connector \"{}\" has no code (has_code is not true in {}): move it to a new upstream image with `cargo xtask bump {} VERSION`",
            args.name,
            json_path.display(),
            args.name
        );
    }
    if !args.upstream.is_dir() {
        bail!(
            "upstream checkout {} is not a folder: pass --upstream with the connector's folder of an airbyte checkout",
            args.upstream.display()
        );
    }
    let mut files = Vec::new();
    list(&args.upstream, Path::new(""), &mut files)?;
    files.sort();

    let stdin = std::io::stdin();
    let mut answers = stdin.lock().lines();
    let (mut new, mut taken, mut kept, mut same) = (0, 0, 0, 0);
    for rel in &files {
        let up = args.upstream.join(rel);
        let local = dir.join(rel);
        let up_bytes =
            std::fs::read(&up).with_context(|| format!("cannot read {}", up.display()))?;
        if !local.exists() {
            copy(&up_bytes, &local)?;
            eprintln!("new: {} (taken from upstream)", rel.display());
            new += 1;
            continue;
        }
        let local_bytes =
            std::fs::read(&local).with_context(|| format!("cannot read {}", local.display()))?;
        if local_bytes == up_bytes {
            same += 1;
            continue;
        }
        match (
            std::str::from_utf8(&local_bytes),
            std::str::from_utf8(&up_bytes),
        ) {
            (Ok(l), Ok(u)) => {
                let diff = similar::TextDiff::from_lines(l, u);
                print!(
                    "{}",
                    diff.unified_diff().context_radius(3).header(
                        &format!("local/{}", rel.display()),
                        &format!("upstream/{}", rel.display())
                    )
                );
            }
            _ => println!("binary file {} differs", rel.display()),
        }
        std::io::stdout().flush()?;
        let take = if args.take_upstream {
            true
        } else if args.keep_local {
            false
        } else {
            ask(rel, &mut answers)?
        };
        if take {
            copy(&up_bytes, &local)?;
            eprintln!("took upstream {}", rel.display());
            taken += 1;
        } else {
            eprintln!("kept local {}", rel.display());
            kept += 1;
        }
    }
    let mut local_only = Vec::new();
    list(&dir, Path::new(""), &mut local_only)?;
    local_only.retain(|rel| !args.upstream.join(rel).exists());
    local_only.sort();
    if !local_only.is_empty() {
        let names: Vec<String> = local_only.iter().map(|p| p.display().to_string()).collect();
        eprintln!("only here (kept): {}", names.join(", "));
    }
    eprintln!(
        "{}: {new} new, {taken} taken from upstream, {kept} kept, {same} unchanged",
        args.name
    );
    match upstream_version(&args.upstream) {
        Some(version) => {
            let labels = connector
                .get_mut("labels")
                .and_then(|l| l.as_object_mut())
                .with_context(|| format!("{} has no \"labels\" object", json_path.display()))?;
            let previous = labels.insert(
                "io.airbyte.upstream-version".into(),
                serde_json::Value::String(version.clone()),
            );
            write_json(&json_path, &connector)?;
            let was = previous
                .and_then(|p| p.as_str().map(String::from))
                .map(|p| format!(" (was {p})"))
                .unwrap_or_default();
            eprintln!(
                "upstream version {version}{was}: noted in {} as label io.airbyte.upstream-version; if it is backward-incompatible, raise the label io.airbyte.version (v1 -> v2) there",
                json_path.display()
            );
        }
        None => eprintln!(
            "no upstream version found (metadata.yaml dockerImageTag or Dockerfile io.airbyte.version label) in {}",
            args.upstream.display()
        ),
    }
    Ok(())
}

fn ask(
    rel: &Path,
    answers: &mut impl Iterator<Item = std::io::Result<String>>,
) -> anyhow::Result<bool> {
    let hint = match rel.file_name().and_then(|n| n.to_str()) {
        Some("Dockerfile" | ".dockerignore") => " (we usually keep our own)",
        _ => "",
    };
    loop {
        eprint!("take upstream {}{hint}? [y/N] ", rel.display());
        std::io::stderr().flush()?;
        let Some(answer) = answers.next() else {
            eprintln!(
                "\nno answer (end of input): keeping local {}",
                rel.display()
            );
            return Ok(false);
        };
        match answer?.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "" | "n" | "no" => return Ok(false),
            other => eprintln!("answer \"{other}\" is not y or n"),
        }
    }
}

fn copy(bytes: &[u8], to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(to, bytes).with_context(|| format!("cannot write {}", to.display()))
}

/// Relative paths of the files under `root/rel`, skipping [`SKIP`] and `*.pyc`.
fn list(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let dir = root.join(rel);
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if SKIP.contains(&name_str.as_ref())
            || name_str.ends_with(".pyc")
            || name_str.ends_with(".egg-info")
        {
            continue;
        }
        let child = rel.join(&name);
        if entry.file_type()?.is_dir() {
            list(root, &child, out)?;
        } else {
            out.push(child);
        }
    }
    Ok(())
}

/// `dockerImageTag` of metadata.yaml, else the Dockerfile's `io.airbyte.version` label.
fn upstream_version(dir: &Path) -> Option<String> {
    let unquote = |s: &str| s.trim().trim_matches('"').trim_matches('\'').to_string();
    if let Ok(meta) = std::fs::read_to_string(dir.join("metadata.yaml")) {
        for line in meta.lines() {
            if let Some(v) = line.trim().strip_prefix("dockerImageTag:") {
                return Some(unquote(v));
            }
        }
    }
    let docker = std::fs::read_to_string(dir.join("Dockerfile")).ok()?;
    docker.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("LABEL")?;
        let v = rest.trim().strip_prefix("io.airbyte.version=")?;
        Some(unquote(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bumps a connector whose `base_image` is `image` to `1.1.0`; its new
    /// `base_image`, or the error.
    fn bumped(image: &str) -> Result<String, String> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("source-x");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("connector.json");
        write_json(&path, &json!({"base_image": image, "entrypoint": "x"})).unwrap();
        bump(BumpArgs {
            name: "source-x".into(),
            version: "1.1.0".into(),
            breaking: false,
            // An empty mirror: no metadata.yaml, no registry asked.
            pin: declarative::pin::PinArgs {
                from: Some(tmp.path().to_path_buf()),
                ..Default::default()
            },
            dirs: Dirs {
                connectors_dir: Some(tmp.path().to_path_buf()),
            },
        })
        .map_err(|e| e.to_string())?;
        Ok(read_json(&path).unwrap()["base_image"]
            .as_str()
            .unwrap()
            .to_string())
    }

    #[test]
    fn bump_moves_the_tag_only() {
        assert_eq!(
            bumped("airbyte/source-x:1.0.0").unwrap(),
            "airbyte/source-x:1.1.0"
        );
        assert_eq!(
            bumped("127.0.0.1:5000/estuary/source-x:1.0.0").unwrap(),
            "127.0.0.1:5000/estuary/source-x:1.1.0"
        );
        // A digest pins the old tag's image: it goes (it was taken for the tag).
        assert_eq!(
            bumped("airbyte/source-x:1.0.0@sha256:abc").unwrap(),
            "airbyte/source-x:1.1.0"
        );
        let err = bumped("127.0.0.1:5000/estuary/source-x").unwrap_err();
        assert!(err.contains("has no tag"), "{err}");
    }
}
