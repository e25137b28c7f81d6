//! Manifest-only (declarative) Airbyte connectors: their upstream files,
//! pinned by sha256 and fetched into the cache, and the `airbyte-cdk` that
//! runs them, one venv per cdk lock shared by every connector on that cdk.
//!
//! - The cdk locks are the project's, outside `connectors/`:
//!   `cdk/airbyte-cdk-VERSION.lock.txt` (`pip freeze` of one `airbyte-cdk`,
//!   written by `cargo xtask cdk-lock VERSION`).
//! - Upstream files (`manifest.yaml`, `components.py`) live in the cache by
//!   content, `$ATF_UPSTREAM_CACHE/<sha256>.<ext>` (default
//!   `<venv cache>/upstream-files/`). They are taken
//!   from a folder laid out like airbytehq/airbyte's
//!   `airbyte-integrations/connectors/` (`--from DIR`, else
//!   `$ATF_UPSTREAM_MIRROR`), else from Airbyte's registry
//!   (`$ATF_REGISTRY_URL`, default [`REGISTRY`]), and kept only when their
//!   sha256 is the pinned one.
//! - YAML, hashing and downloads run in Python (`files.py`, with the cdk
//!   venv's PyYAML, the parser Airbyte reads its files with), so xtask
//!   compiles no YAML parser or HTTP client. `launch.py` runs a connector as
//!   its image does; both are written into the cache on first use.

pub mod changes;
pub mod pin;

use crate::ground::fnv1a;
use crate::steps::provision::{self, cache_root, Provisioned};
use anyhow::{bail, Context};
use codegen::upstream::{Declarative, Pinned, Pypi};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Airbyte's public registry of connector files (PyAirbyte reads
/// `<REGISTRY>/metadata/airbyte/<name>/<version>/manifest.yaml` from it).
pub const REGISTRY: &str = "https://connectors.airbyte.com/files";

/// The Python the project's cdk locks are resolved with.
pub const CDK_PYTHON: &str = "3.11";

const FILES_PY: &str = include_str!("files.py");
const LAUNCH_PY: &str = include_str!("launch.py");

/// The project's lock of `airbyte-cdk==cdk`.
pub fn cdk_lock(cdk: &str) -> PathBuf {
    crate::ground::workspace_root()
        .join("cdk")
        .join(format!("airbyte-cdk-{cdk}.lock.txt"))
}

/// The cdk versions the project has a lock for, newest first.
pub fn locked_cdks() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(crate::ground::workspace_root().join("cdk"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some(
                name.strip_prefix("airbyte-cdk-")?
                    .strip_suffix(".lock.txt")?
                    .to_string(),
            )
        })
        .collect();
    out.sort_by_key(|v| std::cmp::Reverse(version_key(v)));
    out
}

/// `7.23.4` as numbers, for ordering (non-numeric parts count as 0).
pub fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// The cdk as a PyPI upstream: its venv is provisioned like a connector's.
fn cdk_package(cdk: &str, python: &str) -> Pypi {
    Pypi {
        package: "airbyte-cdk".into(),
        version: cdk.into(),
        python: python.into(),
        lock: format!("airbyte-cdk-{cdk}.lock.txt"),
        command: Some("python".into()),
        pins: Vec::new(),
    }
}

/// The venv of `airbyte-cdk==cdk` (installed from its lock on first use);
/// its entrypoint is the venv's Python.
pub fn cdk_venv(who: &str, cdk: &str, python: &str, force: bool) -> anyhow::Result<Provisioned> {
    let lock = cdk_lock(cdk);
    if !lock.is_file() {
        let have = locked_cdks();
        bail!(
            "airbyte-cdk {cdk:?} has no lock in this project ({} is missing; locked: {}): create it with `cargo xtask cdk-lock {cdk}`",
            lock.display(),
            if have.is_empty() { "none".to_string() } else { have.join(", ") }
        );
    }
    provision::install(who, &cdk_package(cdk, python), &lock, force)
}

#[derive(clap::Args)]
pub struct CdkLockArgs {
    /// The airbyte-cdk version, e.g. `7.23.4`
    version: String,
}

pub fn cdk_lock_cmd(args: CdkLockArgs) -> anyhow::Result<()> {
    crate::steps::create::validate_version(&args.version)?;
    let lock = lock_cdk(&args.version)?;
    println!("{}", lock.display());
    Ok(())
}

/// `cargo xtask cdk-lock VERSION`: resolves `airbyte-cdk==VERSION` with pip
/// and writes the project's lock of it.
pub fn lock_cdk(cdk: &str) -> anyhow::Result<PathBuf> {
    let lock = cdk_lock(cdk);
    std::fs::create_dir_all(lock.parent().expect("a file in cdk/"))?;
    provision::relock_as(
        "airbyte-cdk",
        &cdk_package(cdk, CDK_PYTHON),
        cdk,
        &lock,
        &format!("cargo xtask cdk-lock {cdk}"),
    )?;
    Ok(lock)
}

/// A helper script written into the cache by content (`files.py`, `launch.py`).
fn script(name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let dir = cache_root().join("scripts");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stem = name.trim_end_matches(".py");
    let path = dir.join(format!("{stem}-{:016x}.py", fnv1a(text.as_bytes())));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
        let tmp = dir.join(format!(".{stem}-{}.tmp", std::process::id()));
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

/// How `files.py` failed: its exit code tells why.
#[derive(Debug)]
pub enum FilesError {
    /// The source cannot be reached (exit 2).
    Unreachable(String),
    /// The bytes have another sha256 (exit 3).
    Mismatch(String),
    Other(String),
}

impl std::fmt::Display for FilesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilesError::Unreachable(m) | FilesError::Mismatch(m) | FilesError::Other(m) => {
                f.write_str(m)
            }
        }
    }
}

/// Runs `files.py ARGS` with `python`: its stdout, or why it failed.
pub fn files(python: &Path, args: &[&str]) -> anyhow::Result<Result<String, FilesError>> {
    let script = script("files.py", FILES_PY)?;
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Ok(match out.status.code() {
        Some(0) => Ok(String::from_utf8(out.stdout).context("files.py printed non-UTF-8")?),
        Some(2) => Err(FilesError::Unreachable(err)),
        Some(3) => Err(FilesError::Mismatch(err)),
        _ => Err(FilesError::Other(if err.is_empty() {
            format!("files.py {} failed ({})", args.join(" "), out.status)
        } else {
            err
        })),
    })
}

/// The registry's base URL.
pub fn registry() -> String {
    std::env::var("ATF_REGISTRY_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| REGISTRY.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The folder upstream files are taken from: `--from`, else `$ATF_UPSTREAM_MIRROR`.
pub fn mirror(from: Option<&Path>) -> Option<PathBuf> {
    from.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("ATF_UPSTREAM_MIRROR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    })
}

/// One of a connector's upstream files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Manifest,
    Components,
}

impl File {
    /// Its name in the connector's folder upstream.
    pub fn name(self) -> &'static str {
        match self {
            File::Manifest => "manifest.yaml",
            File::Components => "components.py",
        }
    }

    /// Its URL in the registry, and the zip member holding it there.
    fn registry_url(self, name: &str, version: &str) -> (String, Option<&'static str>) {
        let base = format!("{}/metadata/airbyte/{name}/{version}", registry());
        match self {
            File::Manifest => (format!("{base}/manifest.yaml"), None),
            File::Components => (format!("{base}/components.zip"), Some("components.py")),
        }
    }
}

/// The cached copy of a pinned file.
pub fn cached(file: File, sha256: &str) -> PathBuf {
    let ext = match file {
        File::Manifest => "yaml",
        File::Components => "py",
    };
    std::env::var_os("ATF_UPSTREAM_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_root().join("upstream-files"))
        .join(format!("{sha256}.{ext}"))
}

/// The pinned `file` of connector `name` at `version`, in the cache: taken
/// from the mirror folder when it has the file, else from the registry; kept
/// only when its sha256 is `pin.sha256`.
pub fn fetch(
    python: &Path,
    name: &str,
    version: &str,
    file: File,
    pin: &Pinned,
    from: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let out = cached(file, &pin.sha256);
    if out.is_file() {
        return Ok(out);
    }
    let out_s = out.to_string_lossy().into_owned();
    let mut tried = Vec::new();
    if let Some(dir) = mirror(from) {
        let src = dir.join(name).join(file.name());
        if src.is_file() {
            eprintln!(
                "provision: {name}: taking {} from {}",
                file.name(),
                src.display()
            );
            match files(
                python,
                &[
                    "copy",
                    &src.to_string_lossy(),
                    &out_s,
                    "--sha256",
                    &pin.sha256,
                ],
            )? {
                Ok(_) => return Ok(out),
                Err(e) => tried.push(e.to_string()),
            }
        } else {
            tried.push(format!("{} does not exist", src.display()));
        }
    }
    let (url, member) = file.registry_url(name, version);
    eprintln!("provision: {name}: downloading {}", url);
    let mut args = vec!["fetch", &url, &out_s, "--sha256", &pin.sha256];
    if let Some(m) = member {
        args.extend(["--zip-member", m]);
    }
    match files(python, &args)? {
        Ok(_) => return Ok(out),
        Err(e) => tried.push(e.to_string()),
    }
    bail!(
        "cannot get {} of {name} {version} with the pinned sha256 {} (pinned from {}):\n  {}\ngive a folder laid out like airbytehq/airbyte's airbyte-integrations/connectors/ with `--from DIR` or ATF_UPSTREAM_MIRROR",
        file.name(),
        pin.sha256,
        pin.source,
        tried.join("\n  ")
    )
}

/// Provisions a manifest-only connector: the cdk venv, the pinned files,
/// and the launcher; its entrypoint runs the connector.
pub fn provision(
    name: &str,
    up: &Declarative,
    from: Option<&Path>,
    force: bool,
) -> anyhow::Result<Provisioned> {
    let mut p = cdk_venv(name, &up.cdk, &up.python, force)?;
    let python = p.entrypoint.clone();
    let manifest = fetch(
        &python,
        name,
        &up.version,
        File::Manifest,
        &up.manifest,
        from,
    )?;
    let mut args = vec![
        script("launch.py", LAUNCH_PY)?
            .to_string_lossy()
            .into_owned(),
        "--manifest".into(),
        manifest.to_string_lossy().into_owned(),
        "--manifest-sha256".into(),
        up.manifest.sha256.clone(),
    ];
    if let Some(pin) = &up.components {
        let components = fetch(&python, name, &up.version, File::Components, pin, from)?;
        args.extend([
            "--components".into(),
            components.to_string_lossy().into_owned(),
            "--components-sha256".into(),
            pin.sha256.clone(),
        ]);
    }
    args.push("--".into());
    p.args = args;
    Ok(p)
}

/// What `metadata.yaml` says of a connector.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// `data.dockerImageTag`.
    pub version: String,
    /// `data.license`.
    pub license: String,
    /// The tag of `data.connectorBuildOptions.baseImage` when it is
    /// `source-declarative-manifest`.
    pub cdk: Option<String>,
    /// `language:manifest-only` among `data.tags`.
    pub manifest_only: bool,
    /// `data.remoteRegistries.pypi.packageName` when PyPI is enabled.
    pub pypi_package: Option<String>,
}

impl Metadata {
    /// Reads the fields from `metadata.yaml` as JSON.
    pub fn from_json(v: &serde_json::Value) -> Metadata {
        let data = &v["data"];
        let s = |p: &str| data.pointer(p).and_then(|v| v.as_str()).map(str::to_string);
        let cdk = s("/connectorBuildOptions/baseImage").and_then(|img| {
            let img = img.split('@').next().unwrap_or("");
            let (repo, tag) = img.rsplit_once(':')?;
            repo.ends_with("source-declarative-manifest")
                .then(|| tag.to_string())
        });
        let tags = data["tags"].as_array().cloned().unwrap_or_default();
        let pypi_enabled = data
            .pointer("/remoteRegistries/pypi/enabled")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Metadata {
            version: s("/dockerImageTag").unwrap_or_default(),
            license: s("/license").unwrap_or_default(),
            cdk,
            manifest_only: tags
                .iter()
                .any(|t| t.as_str() == Some("language:manifest-only")),
            pypi_package: pypi_enabled
                .then(|| s("/remoteRegistries/pypi/packageName"))
                .flatten(),
        }
    }
}

/// Where a pin's file came from: the git origin of the folder's checkout
/// (`<remote>@<commit>:<path>`, `+modified` when the file differs from the
/// commit), else the folder's `PROVENANCE.json` record of the file, else the
/// folder itself.
pub fn origin(dir: &Path, file: &str) -> String {
    let path = dir.join(file);
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if let (Some(commit), Some(rel)) = (
        git(&["rev-parse", "HEAD"]),
        git(&["ls-files", "--full-name", "--", file]).filter(|r| !r.is_empty()),
    ) {
        let remote = git(&["remote", "get-url", "origin"])
            .unwrap_or_else(|| "local git checkout".to_string());
        let dirty = git(&["status", "--porcelain", "--", file]).is_some_and(|s| !s.is_empty());
        return format!(
            "{remote}@{commit}:{rel}{}",
            if dirty { " +modified" } else { "" }
        );
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("PROVENANCE.json")) {
        if let Ok(p) = serde_json::from_str::<serde_json::Value>(&text) {
            let f = &p["files"][file];
            if let (Some(repo), Some(commit), Some(rel)) =
                (p["repo"].as_str(), f["commit"].as_str(), f["path"].as_str())
            {
                return format!("{repo}@{commit}:{rel}");
            }
        }
    }
    let abs = std::fs::canonicalize(&path).unwrap_or(path);
    format!("folder {}", abs.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_fields() {
        let m = Metadata::from_json(&json!({"data": {
            "dockerImageTag": "0.8.14", "license": "MIT",
            "connectorBuildOptions": {"baseImage": "docker.io/airbyte/source-declarative-manifest:6.59.2@sha256:89dc"},
            "tags": ["cdk:low-code", "language:manifest-only"],
            "remoteRegistries": {"pypi": {"enabled": false, "packageName": "airbyte-source-sentry"}}
        }}));
        assert_eq!(m.version, "0.8.14");
        assert_eq!(m.cdk.as_deref(), Some("6.59.2"));
        assert!(m.manifest_only);
        assert_eq!(m.pypi_package, None);
        let m = Metadata::from_json(&json!({"data": {
            "dockerImageTag": "3.1.3", "license": "ELv2",
            "connectorBuildOptions": {"baseImage": "docker.io/airbyte/python-connector-base:1.1.0@sha256:aa"},
            "tags": ["language:python"],
            "remoteRegistries": {"pypi": {"enabled": true, "packageName": "airbyte-source-freshdesk"}}
        }}));
        assert_eq!(m.cdk, None);
        assert!(!m.manifest_only);
        assert_eq!(m.pypi_package.as_deref(), Some("airbyte-source-freshdesk"));
    }

    #[test]
    fn versions_order_numerically() {
        let mut v = vec!["6.56.1", "7.23.4", "6.9.0", "7.3.0"];
        v.sort_by_key(|v| std::cmp::Reverse(version_key(v)));
        assert_eq!(v, ["7.23.4", "7.3.0", "6.56.1", "6.9.0"]);
    }
}
