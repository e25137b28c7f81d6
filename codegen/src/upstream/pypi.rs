//! The PyPI kind of `connector.json` `upstream`: the package that runs the
//! Airbyte connector on a developer's machine, its Python version, and the
//! lock file (every transitive dependency pinned, `name==version` per line,
//! as `pip freeze` writes it) that `cargo xtask provision` installs.
//!
//! Validated here at build time without Python: the names and versions are
//! only read, never resolved.

use super::{is_python, is_version};
use crate::{Problem, CONNECTOR_JSON};
use std::path::Path;

/// `connector.json` `upstream` of a connector published on PyPI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pypi {
    /// PyPI package, e.g. `airbyte-source-freshdesk`.
    pub package: String,
    /// Its version, equal to `base_image`'s tag, e.g. `3.1.3`.
    pub version: String,
    /// Python `MAJOR.MINOR` the lock was resolved with, e.g. `3.10`.
    pub python: String,
    /// The lock file in the connector folder, e.g. `upstream.lock.txt`.
    pub lock: String,
    /// Console script of the package that runs the connector
    /// [default: the package name without `airbyte-`, e.g. `source-freshdesk`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Requirements resolved together with the package by `cargo xtask bump`
    /// (e.g. `airbyte-cdk==0.88.4` where the unpinned resolve breaks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pins: Vec<String>,
}

impl Pypi {
    /// The console script that runs the connector.
    pub fn command(&self) -> String {
        self.command.clone().unwrap_or_else(|| {
            self.package
                .strip_prefix("airbyte-")
                .unwrap_or(&self.package)
                .to_string()
        })
    }
}

/// The file name a new lock gets.
pub const DEFAULT_LOCK: &str = "upstream.lock.txt";

/// A package name as PEP 503 compares them: lowercase, runs of `-_.` as `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// One `name==version` requirement, or why it is not one.
pub fn parse_pin(s: &str) -> Result<(String, String), String> {
    let Some((name, version)) = s.split_once("==") else {
        return Err(format!(
            "{s:?} is not pinned; write it as \"name==version\""
        ));
    };
    let (name, version) = (name.trim(), version.trim());
    if !is_name(name) {
        return Err(format!("{name:?} is not a package name"));
    }
    if !is_version(version) {
        return Err(format!("{version:?} is not an exact version"));
    }
    Ok((name.to_string(), version.to_string()))
}

/// The pins of a lock file: `(normalized name, version)` in file order, or
/// the first bad line (1-based) and what is wrong with it. Blank lines and
/// `#` comments are allowed.
pub fn parse_lock(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, version) = parse_pin(line).map_err(|e| (i + 1, e))?;
        let name = normalize_name(&name);
        if out.iter().any(|(n, _)| *n == name) {
            return Err((i + 1, format!("{name:?} is pinned twice; keep one line")));
        }
        out.push((name, version));
    }
    if out.is_empty() {
        return Err((
            1,
            "no pins; a lock lists every package, one \"name==version\" a line".into(),
        ));
    }
    Ok(out)
}

/// Every problem of `upstream` (and of its lock file) in connector folder `dir`.
pub fn check(dir: &Path, name: &str, base_image: &str, up: &Pypi) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut err = |file: &str, at: &str, message: String| {
        problems.push(Problem {
            file: file.to_string(),
            at: at.to_string(),
            message,
        })
    };
    let relock = format!("`cargo xtask bump {name} {}`", up.version);
    if !is_name(&up.package) {
        err(
            CONNECTOR_JSON,
            "/upstream/package",
            format!(
                "{:?} is not a PyPI package name; write e.g. \"airbyte-source-x\"",
                up.package
            ),
        );
    }
    if !is_version(&up.version) {
        err(
            CONNECTOR_JSON,
            "/upstream/version",
            format!(
                "{:?} is not an exact version; write e.g. \"1.2.3\"",
                up.version
            ),
        );
    }
    if let Some(tag) = patches::image::tag(base_image) {
        if tag != up.version {
            err(CONNECTOR_JSON, "/upstream/version", format!("{:?} but \"base_image\" {base_image:?} has tag {tag:?}; the local connector and the image must be the same version (`cargo xtask bump {name} VERSION` moves both)", up.version));
        }
    }
    if !is_python(&up.python) {
        err(
            CONNECTOR_JSON,
            "/upstream/python",
            format!(
                "{:?} is not a Python version; write MAJOR.MINOR, e.g. \"3.10\"",
                up.python
            ),
        );
    }
    let command = up.command();
    if command.is_empty() || command.contains(['/', ' ', '\t']) {
        err(CONNECTOR_JSON, "/upstream/command", format!("{command:?} is not a console script name; write the script the package installs into the venv's bin/, e.g. \"source-x\""));
    }
    let mut pins = Vec::new();
    for (i, pin) in up.pins.iter().enumerate() {
        match parse_pin(pin) {
            Ok((n, v)) => pins.push((normalize_name(&n), v, i)),
            Err(e) => err(CONNECTOR_JSON, &format!("/upstream/pins/{i}"), e),
        }
    }
    if up.lock.is_empty() || up.lock.contains('/') || !up.lock.ends_with(".lock.txt") {
        err(CONNECTOR_JSON, "/upstream/lock", format!("{:?} is not a lock file name; write a file name in the connector folder ending in .lock.txt, e.g. \"{DEFAULT_LOCK}\"", up.lock));
        return problems;
    }
    let path = dir.join(&up.lock);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            err(&up.lock, "(file)", format!("cannot read the lock file named by {CONNECTOR_JSON} /upstream/lock ({e}); write it with {relock}"));
            return problems;
        }
    };
    let locked = match parse_lock(&text) {
        Ok(l) => l,
        Err((line, e)) => {
            err(
                &up.lock,
                &format!("{line}:1"),
                format!("{e}; regenerate the lock with {relock}"),
            );
            return problems;
        }
    };
    let find = |n: &str| locked.iter().find(|(l, _)| l == n).map(|(_, v)| v.as_str());
    match find(&normalize_name(&up.package)) {
        Some(v) if v == up.version => {}
        Some(v) => err(&up.lock, "(file)", format!("pins {}=={v} but {CONNECTOR_JSON} /upstream/version is {:?}; regenerate the lock with {relock}", up.package, up.version)),
        None => err(&up.lock, "(file)", format!("does not pin the upstream package {:?}; regenerate the lock with {relock}", up.package)),
    }
    for (n, v, i) in pins {
        match find(&n) {
            Some(l) if l == v => {}
            Some(l) => err(
                CONNECTOR_JSON,
                &format!("/upstream/pins/{i}"),
                format!(
                    "pins {n}=={v} but {} has {n}=={l}; regenerate the lock with {relock}",
                    up.lock
                ),
            ),
            None => err(
                CONNECTOR_JSON,
                &format!("/upstream/pins/{i}"),
                format!(
                    "pins {n}=={v} but {} does not list {n:?}; regenerate the lock with {relock}",
                    up.lock
                ),
            ),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_pep_503_says() {
        assert_eq!(normalize_name("Airbyte_CDK"), "airbyte-cdk");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("a--_b"), "a-b");
    }

    #[test]
    fn lock_lines_are_pins() {
        let l = parse_lock("# header\nA_b==1.0\n\nc==2.0 # why\n").unwrap();
        assert_eq!(
            l,
            vec![("a-b".into(), "1.0".into()), ("c".into(), "2.0".into())]
        );
        assert_eq!(parse_lock("a==1\nb>=2\n").unwrap_err().0, 2);
        assert_eq!(parse_lock("a==1\nA==2\n").unwrap_err().0, 2);
        assert!(parse_lock("# nothing\n").is_err());
    }
}
