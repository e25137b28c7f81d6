//! The connector binary: the description `cargo xtask build` generated from
//! `connectors/<name>/` (see `build.rs`), served by the runtime.

include!(concat!(env!("OUT_DIR"), "/connector.rs"));

fn main() -> std::process::ExitCode {
    runtime::main_built(
        &CONNECTOR,
        runtime::Build {
            version: env!("CARGO_PKG_VERSION"),
            // Set by build.rs: the git commit, or `unknown` without git.
            commit: env!("ATF_GIT_COMMIT"),
        },
    )
}
