//! The project's heavy tools are binaries of their own (the mock API server,
//! the benchmark, the document checker), so xtask compiles none of their
//! dependencies: each is built with cargo the first time a command needs it,
//! and rebuilt (quietly, incrementally) when its sources changed.

use anyhow::{bail, Context};
use std::path::PathBuf;

/// A tool binary: its package, its binary name, and what it is, for the
/// first build's progress line.
pub struct Tool {
    pub package: &'static str,
    pub bin: &'static str,
    pub what: &'static str,
    /// Cargo profile (`dev` unless the tool measures speed).
    pub profile: &'static str,
}

/// The mock API server (`mockapi/src/main.rs`).
pub const MOCKAPI: Tool = Tool {
    package: "mockapi",
    bin: "mockapi",
    what: "the mock API server (an HTTPS server and proxy)",
    profile: "dev",
};

impl Tool {
    /// Builds the tool when needed and returns its binary.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        let dir = if self.profile == "dev" {
            "debug"
        } else {
            self.profile
        };
        let bin = crate::ground::target_dir().join(dir).join(self.bin);
        let first = !bin.exists();
        let mut cmd = crate::ground::cargo();
        cmd.current_dir(crate::ground::workspace_root()).args([
            "build",
            "--profile",
            self.profile,
            "-p",
            self.package,
            "--bin",
            self.bin,
        ]);
        if first {
            eprintln!(
                "{}: building {} the first time it is needed (`cargo build -p {}`)",
                self.bin, self.what, self.package
            );
        } else {
            cmd.arg("--quiet");
        }
        let status = cmd
            .status()
            .with_context(|| format!("cannot run cargo to build {}", self.bin))?;
        if !status.success() {
            bail!(
                "building {} failed ({status}): cargo's error is above",
                self.bin
            );
        }
        Ok(bin)
    }
}

/// The document checker (`doccheck/src/main.rs`).
pub const DOCCHECK: Tool = Tool {
    package: "doccheck",
    bin: "doccheck",
    what: "the document checker (a JSON Schema validator)",
    profile: "dev",
};

/// The whole-process benchmark (`benchmark/src/main.rs`): its harness only
/// feeds and times the connector binaries, which it builds as they ship.
pub const BENCHMARK: Tool = Tool {
    package: "benchmark",
    bin: "benchmark",
    what: "the benchmark",
    profile: "dev",
};
