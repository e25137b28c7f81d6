//! `ci-matrix`: the connectors as a GitHub Actions build matrix, so CI needs
//! no hand-kept list.

use crate::ground::Dirs;
use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct CiMatrixArgs {
    #[command(flatten)]
    dirs: Dirs,
}

/// Prints `{"connector":["source-a","source-b"]}` on one line: every folder of
/// the connectors folder (hidden ones excepted), sorted; none when there is
/// no connectors folder.
pub fn ci_matrix(args: CiMatrixArgs) -> anyhow::Result<()> {
    let dir = args.dirs.connectors();
    let mut names = Vec::new();
    if !dir.exists() {
        eprintln!(
            "warning: connectors folder {} does not exist: the matrix is empty",
            dir.display()
        );
        println!("{}", serde_json::json!({ "connector": names }));
        return Ok(());
    }
    for entry in std::fs::read_dir(&dir).with_context(|| {
        format!(
            "cannot list connectors folder {}: pass --connectors-dir DIR",
            dir.display()
        )
    })? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    println!("{}", serde_json::json!({ "connector": names }));
    Ok(())
}
