//! The connector developer's workflow commands (being written).
use clap::Args;

macro_rules! todo_commands {
    ($($args:ident => $f:ident),* $(,)?) => {$(
        #[derive(Args)]
        pub struct $args {}
        pub fn $f(_: $args) -> anyhow::Result<()> {
            anyhow::bail!("not written yet")
        }
    )*};
}

todo_commands! {
    NewConnectorArgs => new_connector,
    BumpArgs => bump,
    SpecArgs => spec,
    DiscoverArgs => discover,
    CaptureArgs => capture,
    CiMatrixArgs => ci_matrix,
    PullArgs => pull,
}
