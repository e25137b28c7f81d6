//! The problem list: every problem of a connector folder, collected at once,
//! one line each (`<file>: <pointer or line:col>: what is wrong; what would be
//! right`).

use std::fmt;
use std::path::PathBuf;

/// One problem of a connector folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path relative to the connector folder, e.g. `streams/users.pk.json`.
    pub file: String,
    /// A JSON pointer (`/0/pointer`), `line:col`, or `(root)` / `(file)`.
    pub at: String,
    /// What is wrong; what would be right.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.at, self.message)
    }
}

/// Every problem of a connector folder, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    /// The connector folder.
    pub dir: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} problem(s) in {}:",
            self.problems.len(),
            self.dir.display()
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
