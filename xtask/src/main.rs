//! `cargo xtask`: the project's commands (see README.md and ARCHITECTURE.md).

use clap::{Parser, Subcommand};

mod bench;
mod bench_measure;
mod bench_recorded;
mod bench_replay;
mod build;
mod form;
mod fuzz;
mod progress;
mod provision;
mod setup;
mod tool;
mod workflow;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build and develop Airbyte-to-Flow connector binaries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate, validate and compile one connector into a static binary
    Build(build::BuildArgs),
    /// Print the code generated for a connector
    Expand(build::ExpandArgs),
    /// Record the upstream connector's own `spec` output into connectors/<name>/
    RecordSpec(build::RecordSpecArgs),
    /// Install the pinned Airbyte connectors the tests and demo use (Python venvs under .venvs/)
    Setup(setup::SetupArgs),
    /// Set up, then run every test of the workspace (what CI runs)
    Test(setup::TestArgs),
    /// Run a demo capture against the real faker connector
    Demo(setup::DemoArgs),
    /// Whole-process benchmark of a connector binary against a `cat` pipeline
    Bench(bench::BenchArgs),
    /// Run the cargo-fuzz targets of fuzz/ (installs the pinned cargo-fuzz when missing)
    Fuzz(fuzz::FuzzArgs),
    /// Create connectors/source-NAME from the template
    NewConnector(workflow::NewConnectorArgs),
    /// Move a connector to a new upstream version
    Bump(workflow::BumpArgs),
    /// Print a connector's Flow spec response (or only its config schema)
    Spec(workflow::SpecArgs),
    /// Discover a connector's streams (writes a config stub first when there is no config)
    Discover(workflow::DiscoverArgs),
    /// Run a capture of the discovered catalog and check documents against their schemas
    Capture(workflow::CaptureArgs),
    /// Print the connectors as a JSON build matrix for CI
    CiMatrix(workflow::CiMatrixArgs),
    /// Compare a connector with an upstream checkout, file by file
    Pull(workflow::PullArgs),
    /// Install a connector's upstream package into its cached venv; prints the entrypoint command last
    Provision(provision::ProvisionArgs),
    /// Write a connector's config form as one offline HTML page (or --check it)
    Form(form::FormArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => build::build(a),
        Command::Expand(a) => build::expand(a),
        Command::RecordSpec(a) => build::record_spec(a),
        Command::Setup(a) => setup::setup(a),
        Command::Test(a) => setup::test(a),
        Command::Demo(a) => setup::demo(a),
        Command::Bench(a) => bench::bench(a),
        Command::Fuzz(a) => fuzz::fuzz(a),
        Command::NewConnector(a) => workflow::new_connector(a),
        Command::Bump(a) => workflow::bump(a),
        Command::Spec(a) => workflow::spec(a),
        Command::Discover(a) => workflow::discover(a),
        Command::Capture(a) => workflow::capture(a),
        Command::CiMatrix(a) => workflow::ci_matrix(a),
        Command::Pull(a) => workflow::pull(a),
        Command::Provision(a) => provision::provision_cmd(a),
        Command::Form(a) => form::form(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
