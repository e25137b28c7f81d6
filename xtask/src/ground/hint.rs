//! Next-step hints that work when pasted, and the "no such connector" error.
//!
//! A hint repeats every flag the user gave (`--connectors-dir`,
//! `--entrypoint`, `--work-dir`, `--config`) that the suggested command
//! takes, shell-quoted: followed literally, it finds the same connector
//! folder, runs the same upstream connector and uses the same files.

use std::path::{Path, PathBuf};

/// The flags a user gave, to repeat in the commands we suggest.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub connectors_dir: Option<PathBuf>,
    pub entrypoint: Option<String>,
    pub work_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// Which of the repeated flags a command takes.
fn takes(cmd: &str) -> (bool, bool, bool) {
    // (--entrypoint, --work-dir, --config)
    match cmd {
        "spec" => (true, true, false),
        "discover" | "capture" => (true, true, true),
        "record-spec" | "form" => (true, false, false),
        _ => (false, false, false),
    }
}

/// A value as a shell word (quoted only when it needs to be).
fn quote(s: &str) -> String {
    shell_words::quote(s).into_owned()
}

fn path_word(p: &Path) -> String {
    quote(&p.display().to_string())
}

impl Hint {
    /// `cargo xtask CMD ARGS... <repeated flags>`.
    pub fn command(&self, cmd: &str, args: &[&str]) -> String {
        let mut words = vec!["cargo".to_string(), "xtask".to_string(), cmd.to_string()];
        words.extend(args.iter().map(|a| quote(a)));
        if let Some(d) = &self.connectors_dir {
            words.push("--connectors-dir".into());
            words.push(path_word(d));
        }
        let (entrypoint, work_dir, config) = takes(cmd);
        if let (true, Some(e)) = (entrypoint, &self.entrypoint) {
            words.push("--entrypoint".into());
            words.push(quote(e));
        }
        if let (true, Some(w)) = (work_dir, &self.work_dir) {
            words.push("--work-dir".into());
            words.push(path_word(w));
        }
        if let (true, Some(c)) = (config, &self.config) {
            words.push("--config".into());
            words.push(path_word(c));
        }
        words.join(" ")
    }
}

/// The connector folders (holding a `connector.json`) in `connectors`, sorted.
pub fn connector_names(connectors: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(connectors)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("connector.json").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The error for a connector name with no folder: what was looked for, the
/// closest existing name, every existing one, and how to create it.
pub fn unknown_connector(connectors: &Path, name: &str, hint: &Hint) -> anyhow::Error {
    let names = connector_names(connectors);
    let dir = connectors.join(name);
    let mut msg = format!(
        "no connector \"{name}\": there is no {} (a connector is a folder of {} holding a connector.json)",
        dir.join("connector.json").display(),
        connectors.display()
    );
    // "did you mean": the existing name closest in edits; with `source-`
    // added first when the user left it out.
    let wanted = if name.starts_with("source-") {
        name.to_string()
    } else {
        format!("source-{name}")
    };
    let closest = names
        .iter()
        .map(|n| (strsim::levenshtein(&wanted, n), n))
        .filter(|(d, n)| *d <= 3.max(n.len() / 4))
        .min();
    if let Some((_, n)) = closest {
        msg.push_str(&format!("; did you mean \"{n}\"?"));
    } else if !name.starts_with("source-") {
        msg.push_str("; connector folders are named source-NAME");
    }
    if names.is_empty() {
        msg.push_str(&format!("; {} has no connectors", connectors.display()));
    } else {
        msg.push_str(&format!(
            "; connectors in {}: {}",
            connectors.display(),
            names.join(", ")
        ));
    }
    // A near miss is a typo: creating the misspelt connector would be the
    // wrong advice beside the right name.
    if closest.is_none() {
        let short = name.strip_prefix("source-").unwrap_or(name);
        let create = Hint {
            connectors_dir: hint.connectors_dir.clone(),
            ..Hint::default()
        }
        .command("new-connector", &[short, "VERSION"]);
        msg.push_str(&format!("; to create it: `{create}`"));
    }
    anyhow::anyhow!(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_repeat_the_flags_each_command_takes_quoted() {
        let h = Hint {
            connectors_dir: Some("/tmp/my connectors".into()),
            entrypoint: Some("python main.py".into()),
            work_dir: Some("/w".into()),
            config: Some("c.json".into()),
        };
        assert_eq!(
            h.command("build", &["source-x"]),
            "cargo xtask build source-x --connectors-dir '/tmp/my connectors'"
        );
        assert_eq!(
            h.command("capture", &["source-x", "--write-patches"]),
            "cargo xtask capture source-x --write-patches --connectors-dir '/tmp/my connectors' --entrypoint 'python main.py' --work-dir /w --config c.json"
        );
        assert_eq!(
            Hint::default().command("spec", &["source-x", "--config-schema"]),
            "cargo xtask spec source-x --config-schema"
        );
    }

    #[test]
    fn unknown_names_get_the_closest_and_the_list() {
        let tmp = tempfile::tempdir().unwrap();
        for n in ["source-freshdesk", "source-faker"] {
            std::fs::create_dir(tmp.path().join(n)).unwrap();
            std::fs::write(tmp.path().join(n).join("connector.json"), "{}").unwrap();
        }
        std::fs::create_dir(tmp.path().join("not-a-connector")).unwrap();
        let e = unknown_connector(tmp.path(), "source-freshdsk", &Hint::default()).to_string();
        assert!(e.contains("did you mean \"source-freshdesk\"?"), "{e}");
        assert!(!e.contains("new-connector"), "{e}");
        assert!(e.ends_with(": source-faker, source-freshdesk"), "{e}");
        let e = unknown_connector(tmp.path(), "faker", &Hint::default()).to_string();
        assert!(e.contains("did you mean \"source-faker\"?"), "{e}");
        let e = unknown_connector(tmp.path(), "source-postgres", &Hint::default()).to_string();
        assert!(!e.contains("did you mean"), "{e}");
        assert!(
            e.contains("`cargo xtask new-connector postgres VERSION`"),
            "{e}"
        );
    }
}
