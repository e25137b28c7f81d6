static CONNECTOR: patches::Connector = patches::Connector::EMPTY;

fn main() -> std::process::ExitCode {
    runtime::main(&CONNECTOR)
}
