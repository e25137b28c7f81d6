//! The folder being read: its path, the problems and warnings so far, and
//! reading one JSON file of it ([`Ctx`]); [`show`], a value quoted in a message.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Problem, Problems};

/// A short JSON rendering of a value for messages.
pub(super) fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// The connector folder being read, and what reading it found so far.
pub(super) struct Ctx {
    /// The connector folder.
    pub(super) dir: PathBuf,
    pub(super) problems: Vec<Problem>,
    /// Files ignored, one line each.
    pub(super) warnings: Vec<String>,
}

impl Ctx {
    pub(super) fn new(dir: &Path) -> Ctx {
        Ctx {
            dir: dir.to_path_buf(),
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The problems found, as the error of `load`.
    pub(super) fn into_problems(self) -> Problems {
        Problems {
            dir: self.dir,
            problems: self.problems,
        }
    }

    pub(super) fn err(&mut self, file: &str, at: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_string(),
            at: at.into(),
            message: message.into(),
        });
    }

    /// Reads and parses `rel` if it exists.
    pub(super) fn json(&mut self, rel: &str) -> Option<Value> {
        let path = self.dir.join(rel);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.err(
                    rel,
                    "(file)",
                    format!("cannot read the file ({e}); make it a readable UTF-8 JSON file"),
                );
                return None;
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = e.to_string();
                let msg = msg
                    .rsplit_once(" at line ")
                    .map_or(msg.as_str(), |(m, _)| m)
                    .to_string();
                self.err(
                    rel,
                    format!("{}:{}", e.line(), e.column()),
                    format!("malformed JSON ({msg}); fix the syntax so the file is one JSON value"),
                );
                None
            }
        }
    }
}
