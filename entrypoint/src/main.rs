//! The connector binary: the description `cargo xtask build` generated from
//! `connectors/<name>/` (see `build.rs`), served by the runtime.

include!(concat!(env!("OUT_DIR"), "/connector.rs"));

fn main() -> std::process::ExitCode {
    runtime::main(&CONNECTOR)
}
