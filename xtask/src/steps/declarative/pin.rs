//! Pinning a manifest-only connector (`new-connector`, `bump`): its
//! `metadata.yaml` read, its license checked, its files hashed and cached,
//! the cdk that runs it chosen, and its own spec recorded through that cdk.

use super::{cached, cdk_venv, files, locked_cdks, mirror, registry, File, Metadata, CDK_PYTHON};
use anyhow::{bail, Context};
use codegen::upstream::{declarative::MIT, Declarative, Pinned};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where a connector's `metadata.yaml` was found.
pub struct Found {
    /// Its fields.
    pub metadata: Metadata,
    /// The folder holding it and the connector's other files, when it came
    /// from a mirror folder (else the files come from the registry).
    pub folder: Option<PathBuf>,
    /// Where it was read, for messages.
    pub at: String,
}

/// Looks for `metadata.yaml` of connector `name` (`source-x`) at `version`:
/// in the mirror folder when one is given, else in the registry. `Ok(None)`
/// with the reason when there is none at hand.
pub fn find_metadata(
    name: &str,
    version: &str,
    from: Option<&Path>,
) -> anyhow::Result<Result<Found, String>> {
    let (path, folder, at) = match mirror(from) {
        Some(dir) => {
            let folder = dir.join(name);
            let path = folder.join("metadata.yaml");
            if !path.is_file() {
                return Ok(Err(format!("{} does not exist", path.display())));
            }
            let at = path.display().to_string();
            (path, Some(folder), at)
        }
        None => {
            let url = format!(
                "{}/metadata/airbyte/{name}/{version}/metadata.yaml",
                registry()
            );
            let python = match crate::steps::provision::find_python(CDK_PYTHON) {
                Ok(p) => p,
                Err(e) => return Ok(Err(format!("cannot ask the registry: {e}"))),
            };
            let tmp = tempfile_path(name, "metadata.yaml");
            match files(
                &python,
                &["fetch", &url, &tmp.to_string_lossy(), "--timeout", "15"],
            )? {
                Ok(_) => (tmp, None, url),
                Err(e) => return Ok(Err(e.to_string())),
            }
        }
    };
    // YAML as Airbyte reads it: PyYAML of the newest locked cdk's venv.
    let Some(cdk) = locked_cdks().into_iter().next() else {
        bail!("this project has no cdk lock (cdk/airbyte-cdk-VERSION.lock.txt): create one with `cargo xtask cdk-lock VERSION`");
    };
    let venv = cdk_venv(name, &cdk, CDK_PYTHON, false)?;
    let json = files(&venv.entrypoint, &["yaml2json", &path.to_string_lossy()])?
        .map_err(|e| anyhow::anyhow!("cannot read {at} as YAML: {e}"))?;
    if folder.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    let v: serde_json::Value = serde_json::from_str(&json)?;
    let metadata = Metadata::from_json(&v);
    // A checkout of another version (airbytehq/airbyte holds only the
    // latest) does not describe this one.
    if metadata.version != version {
        return Ok(Err(format!(
            "{at} is of version {:?}, not {version:?}",
            metadata.version
        )));
    }
    Ok(Ok(Found {
        metadata,
        folder,
        at,
    }))
}

fn tempfile_path(name: &str, file: &str) -> PathBuf {
    std::env::temp_dir().join(format!("atf-{name}-{}-{file}", std::process::id()))
}

/// A pinned manifest-only connector, ready to be written.
pub struct Pin {
    pub upstream: Declarative,
    /// The connector's own spec (`connectionSpecification` and the rest), as
    /// its cdk prints it.
    pub spec: serde_json::Value,
    /// What happened, one line each, for the user.
    pub notes: Vec<String>,
}

/// The flags of `new-connector` and `bump` that pin a manifest-only connector.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PinArgs {
    /// Folder laid out like airbytehq/airbyte's `airbyte-integrations/connectors/`
    /// holding `source-NAME/metadata.yaml` (and a manifest-only connector's
    /// `manifest.yaml`, `components.py`) [default: Airbyte's registry]
    #[arg(long, value_name = "DIR", env = "ATF_UPSTREAM_MIRROR")]
    pub from: Option<PathBuf>,
    /// Take a connector whose license is not MIT: name the license, e.g. `ELv2`
    #[arg(long, value_name = "LICENSE")]
    pub accept_license: Option<String>,
    /// Run a manifest-only connector on this airbyte-cdk version (locked on
    /// first use) instead of the metadata's or the project's newest
    #[arg(long, value_name = "VERSION")]
    pub cdk: Option<String>,
}

/// What the user decided on the command line, and the command as typed.
pub struct Choices<'a> {
    pub args: &'a PinArgs,
    /// The command's words before these flags (`cargo xtask bump source-x
    /// 1.2.3 --connectors-dir DIR`), for the command that retries.
    pub command: Vec<String>,
}

impl Choices<'_> {
    /// The command again, with these flags and `--accept-license LICENSE`.
    pub fn retry(&self, license: &str) -> String {
        let mut words = self.command.clone();
        if let Some(d) = &self.args.from {
            words.extend(["--from".into(), d.display().to_string()]);
        }
        if let Some(c) = &self.args.cdk {
            words.extend(["--cdk".into(), c.clone()]);
        }
        words.extend(["--accept-license".into(), license.to_string()]);
        shell_words::join(words)
    }
}

/// The connector's license, or the error that stops it: a license other
/// than MIT needs `--accept-license` naming it.
pub fn check_license(
    name: &str,
    version: &str,
    found: &Found,
    choices: &Choices,
) -> anyhow::Result<String> {
    let m = &found.metadata;
    let license = if m.license.trim().is_empty() {
        "unknown (metadata.yaml names none)".to_string()
    } else {
        m.license.clone()
    };
    if license != MIT && choices.args.accept_license.as_deref() != Some(license.as_str()) {
        bail!(
            "{name} {version} is licensed {license:?}, not MIT ({}): Estuary imports only MIT-licensed upstream versions; to take it anyway, accept its license by name:\n  {}",
            found.at,
            choices.retry(&license)
        );
    }
    Ok(license)
}

/// Pins connector `name` at `version` from what `find` found: license,
/// files, cdk, spec.
pub fn pin(name: &str, version: &str, found: &Found, choices: &Choices) -> anyhow::Result<Pin> {
    let m = &found.metadata;
    let mut notes = Vec::new();
    if m.version != version {
        bail!(
            "{} says dockerImageTag {:?}, not {version:?}: pass the version it holds, or a folder holding {name} {version}",
            found.at,
            m.version
        );
    }
    let license = check_license(name, version, found, choices)?;
    if license != MIT {
        notes.push(format!(
            "license {license} (accepted with --accept-license)"
        ));
    } else {
        notes.push(format!("license {license}"));
    }

    let python = crate::steps::provision::find_python(CDK_PYTHON)?;
    let manifest = take(&python, name, version, found, File::Manifest)?
        .with_context(|| format!("{name} {version} has no manifest.yaml ({})", found.at))?;
    let components = take(&python, name, version, found, File::Components)?;
    for (file, pin) in [
        (File::Manifest, Some(&manifest)),
        (File::Components, components.as_ref()),
    ] {
        if let Some(p) = pin {
            notes.push(format!(
                "{} sha256 {} from {}",
                file.name(),
                p.sha256,
                p.source
            ));
        }
    }

    // The cdk: `--cdk`, else the metadata's where the project locks it and it
    // runs the manifest, else the newest locked one that runs it.
    let mut candidates: Vec<String> = Vec::new();
    let locked = locked_cdks();
    let mut why_not_metadata = None;
    match (choices.args.cdk.as_deref(), &m.cdk) {
        (Some(c), _) => candidates.push(c.to_string()),
        (None, Some(c)) if locked.contains(c) => candidates.push(c.clone()),
        (None, Some(c)) => {
            why_not_metadata = Some(format!(
                "the metadata's cdk {c} has no lock in this project (locked: {}; `cargo xtask cdk-lock {c}` adds one)",
                locked.join(", ")
            ))
        }
        (None, None) => {}
    }
    if choices.args.cdk.is_none() {
        for c in &locked {
            if !candidates.contains(c) {
                candidates.push(c.clone());
            }
        }
    }
    let mut failures: Vec<String> = Vec::new();
    for cdk in &candidates {
        if !super::cdk_lock(cdk).is_file() {
            eprintln!("new-connector: {name}: no lock of airbyte-cdk {cdk} yet: resolving one");
            super::lock_cdk(cdk)?;
        }
        let upstream = Declarative {
            version: version.to_string(),
            cdk: cdk.clone(),
            python: CDK_PYTHON.to_string(),
            metadata_cdk: m.cdk.clone().filter(|c| c != cdk),
            cdk_reason: None,
            license: license.clone(),
            manifest: manifest.clone(),
            components: components.clone(),
        };
        // The files are cached by `take` above: provisioning fetches nothing.
        let p = super::provision(name, &upstream, None, false)?;
        match spec_of(&p.command()) {
            Ok(spec) => {
                let mut upstream = upstream;
                if upstream.metadata_cdk.is_some() {
                    let mut why: Vec<String> = why_not_metadata.iter().cloned().collect();
                    why.extend(failures.iter().cloned());
                    if why.is_empty() {
                        why.push("chosen with --cdk".into());
                    }
                    upstream.cdk_reason = Some(format!("{}; {cdk} runs it", why.join("; ")));
                }
                notes.push(match &upstream.cdk_reason {
                    Some(r) => format!("airbyte-cdk {cdk} (Python {CDK_PYTHON}): {r}"),
                    None => format!("airbyte-cdk {cdk} (Python {CDK_PYTHON}), the metadata's"),
                });
                return Ok(Pin {
                    upstream,
                    spec,
                    notes,
                });
            }
            Err(e) => failures.push(format!("cdk {cdk} refuses it: {e}")),
        }
    }
    if candidates.is_empty() {
        bail!("{name} {version}: no cdk to run it: this project locks none; create one with `cargo xtask cdk-lock VERSION`");
    }
    bail!(
        "{name} {version}: no locked airbyte-cdk runs its manifest:\n  {}{}\nlock another with `cargo xtask cdk-lock VERSION` and pass `--cdk VERSION`",
        why_not_metadata.map(|w| format!("{w}\n  ")).unwrap_or_default(),
        failures.join("\n  ")
    )
}

/// One upstream file of the connector, hashed and copied into the cache;
/// `None` when the connector has no such file.
fn take(
    python: &Path,
    name: &str,
    version: &str,
    found: &Found,
    file: File,
) -> anyhow::Result<Option<Pinned>> {
    let (src, source, tmp) = match &found.folder {
        Some(folder) => {
            let src = folder.join(file.name());
            if !src.is_file() {
                return Ok(None);
            }
            let source = super::origin(folder, file.name());
            (src, source, false)
        }
        None => {
            let (url, member) = file.registry_url(name, version);
            let tmp = tempfile_path(name, file.name());
            let mut args = vec![
                "fetch".to_string(),
                url.clone(),
                tmp.to_string_lossy().into_owned(),
            ];
            if let Some(m) = member {
                args.extend(["--zip-member".into(), m.into()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match files(python, &args)? {
                Ok(_) => (tmp, "registry".to_string(), true),
                // A connector without custom components has no components.zip.
                Err(super::FilesError::Unreachable(_)) if file == File::Components => {
                    return Ok(None)
                }
                Err(e) => bail!("cannot download {url}: {e}"),
            }
        }
    };
    let sha256 = files(python, &["sha256", &src.to_string_lossy()])?
        .map_err(|e| anyhow::anyhow!("cannot hash {}: {e}", src.display()))?
        .trim()
        .to_string();
    let out = cached(file, &sha256);
    files(
        python,
        &[
            "copy",
            &src.to_string_lossy(),
            &out.to_string_lossy(),
            "--sha256",
            &sha256,
        ],
    )?
    .map_err(|e| anyhow::anyhow!("cannot cache {}: {e}", src.display()))?;
    if tmp {
        let _ = std::fs::remove_file(&src);
    }
    Ok(Some(Pinned { sha256, source }))
}

/// Runs `command spec`: the SPEC message's `spec`, or the cdk's own error
/// (the last line of its traceback or error trace).
pub fn spec_of(command: &str) -> Result<serde_json::Value, String> {
    let argv = shell_words::split(command).map_err(|e| e.to_string())?;
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("spec")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut trace = None;
    for line in stdout.lines() {
        let Ok(m) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match m["type"].as_str() {
            Some("SPEC") if out.status.success() => return Ok(m["spec"].clone()),
            Some("TRACE") => {
                trace = m
                    .pointer("/trace/error/message")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            }
            _ => {}
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim);
    let mut why = trace
        .or_else(|| last.map(str::to_string))
        .unwrap_or_else(|| format!("no SPEC message ({})", out.status));
    // Recorded in connector.json: no path of this machine's cache in it.
    why = why.replace(
        &crate::steps::provision::cache_root().display().to_string(),
        "<venv cache>",
    );
    if why.len() > 240 {
        let mut cut = 240;
        while !why.is_char_boundary(cut) {
            cut -= 1;
        }
        why.truncate(cut);
        why.push('…');
    }
    Err(why)
}
