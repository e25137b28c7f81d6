//! The generic connector binary: no baked connector, the Airbyte command comes
//! from `--connector-entrypoint` or `AIRBYTE_ENTRYPOINT`.

static CONNECTOR: runtime::patches::Connector = runtime::patches::Connector::EMPTY;

fn main() -> std::process::ExitCode {
    runtime::main(&CONNECTOR)
}
