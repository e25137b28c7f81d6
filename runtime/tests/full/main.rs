//! The runtime's full tier: tests of the generic binary with the real,
//! pinned faker (`cargo xtask setup` installs it under `.venvs/`), each
//! `#[ignore]`d for a plain `cargo test` and run by `cargo xtask test`.

#[path = "../common/mod.rs"]
mod common;

mod broken_install;
mod faker_e2e;
