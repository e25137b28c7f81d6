//! xtask's commands as a library: `main.rs` is the command line over it, and
//! the `benchmark` package drives the same steps (build, mock API,
//! provisioning) without copying them.
//!
//! Three floors, each importing only from the floors below it:
//! - [`ground`]: what every command shares (folders, JSON files, running
//!   commands, hints, the heavy tools built on first use);
//! - [`steps`]: one module per step of the README's connector workflow;
//! - [`maint`]: the project's own commands (setup, test, demo, fuzz, bench).

pub mod ground;
pub mod maint;
pub mod steps;
