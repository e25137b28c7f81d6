//! `cargo xtask`: the project's commands (see README.md and ARCHITECTURE.md).

use clap::{Parser, Subcommand};

use xtask::maint::{bench, demo, fuzz, setup};
use xtask::steps::{
    build, capture, create, declarative, discover, form, mock, provision, ship, update,
};

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
    Demo(demo::DemoArgs),
    /// Whole-process benchmark of a connector binary against a `cat` pipeline
    Bench(bench::BenchArgs),
    /// Run the cargo-fuzz targets of fuzz/ (installs the pinned cargo-fuzz when missing)
    Fuzz(fuzz::FuzzArgs),
    /// Create connectors/source-NAME from the template
    NewConnector(create::NewConnectorArgs),
    /// Move a connector to a new upstream version
    Bump(update::BumpArgs),
    /// Print a connector's Flow spec response (or only its config schema)
    Spec(form::SpecArgs),
    /// Discover a connector's streams (writes a config stub first when there is no config)
    Discover(discover::DiscoverArgs),
    /// Run a capture of the discovered catalog and check documents against their schemas
    Capture(capture::CaptureArgs),
    /// Write a manifest-only connector's mock API (tests/mock/) from its manifest: `--generate`
    Mock(mock::MockArgs),
    /// Print the connectors as a JSON build matrix for CI
    CiMatrix(ship::CiMatrixArgs),
    /// Compare a connector with an upstream checkout, file by file
    Pull(update::PullArgs),
    /// Install a connector's upstream package (or its pinned manifest and cdk) into the cache; prints the entrypoint command last
    Provision(provision::ProvisionArgs),
    /// Resolve airbyte-cdk VERSION with pip into the project's lock cdk/airbyte-cdk-VERSION.lock.txt (for manifest-only connectors)
    CdkLock(declarative::CdkLockArgs),
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
        Command::Demo(a) => demo::demo(a),
        Command::Bench(a) => bench::bench(a),
        Command::Fuzz(a) => fuzz::fuzz(a),
        Command::NewConnector(a) => create::new_connector(a),
        Command::Bump(a) => update::bump(a),
        Command::Spec(a) => form::spec(a),
        Command::Discover(a) => discover::discover(a),
        Command::Capture(a) => capture::capture(a),
        Command::Mock(a) => mock::mock_cmd(a),
        Command::CiMatrix(a) => ship::ci_matrix(a),
        Command::Pull(a) => update::pull(a),
        Command::Provision(a) => provision::provision_cmd(a),
        Command::CdkLock(a) => declarative::cdk_lock_cmd(a),
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
