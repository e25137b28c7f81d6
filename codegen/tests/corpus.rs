//! Every connector of `../shared/corpus` (and the project's own connectors and
//! the golden fixtures) generates, and all the generated files compile: they
//! are written into one temporary crate with a path dependency on `patches`,
//! built once with `cargo build`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn folders(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_connector_generates_and_compiles() {
    let Some(shared) = testkit::shared("every_corpus_connector_generates_and_compiles") else {
        return;
    };
    let root = testkit::workspace_root();
    let corpus = folders(&shared.join("corpus"));
    assert_eq!(corpus.len(), 40, "the corpus has 40 connectors");

    let started = Instant::now();
    let mut generated = Vec::new();
    let mut failures = Vec::new();
    for dir in &corpus {
        match codegen::generate(dir) {
            Ok(g) => generated.push(g),
            Err(p) => failures.push(p.to_string()),
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "codegen of the whole corpus ({} connectors): {elapsed:.2?}",
        corpus.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The one corpus quirk: a mis-named schema patch the upstream tool ignored.
    let warned: Vec<_> = generated
        .iter()
        .flat_map(|g| g.warnings.iter().map(move |w| format!("{}: {w}", g.name)))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(
        warned[0]
            .starts_with("source-jira: streams/project_types.json: unknown file name, ignored"),
        "{warned:#?}"
    );
    // The template's oauth2 placeholder means no OAuth.
    let aircall = generated
        .iter()
        .find(|g| g.name == "source-aircall")
        .unwrap();
    assert!(aircall.code.contains("oauth2: ::patches::OAuth2::Disabled"));
    // The `*` wildcard of source-salesforce.
    let salesforce = generated
        .iter()
        .find(|g| g.name == "source-salesforce")
        .unwrap();
    assert!(salesforce
        .code
        .contains("name: \"*\",\n            schema_patch: Some("));

    // Add the project's connectors and the fixtures, then compile everything at once.
    for dir in folders(&root.join("connectors"))
        .into_iter()
        .chain(folders(&root.join("codegen/tests/fixtures")))
    {
        generated.push(codegen::generate(&dir).unwrap_or_else(|p| panic!("{p}")));
    }
    let krate = testkit::target_dir().join("codegen-corpus-check");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"codegen-corpus-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [workspace]\n\n[dependencies]\npatches = {{ path = {:?} }}\n",
            root.join("patches").display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let mut lib = String::from("#![allow(dead_code)]\n");
    for (i, g) in generated.iter().enumerate() {
        // Numbered: a shipped connector may have the name of a corpus one.
        let module = format!("c{i}_{}", g.name.replace('-', "_"));
        let file = format!("{module}.rs");
        std::fs::write(krate.join("src").join(&file), &g.code).unwrap();
        lib.push_str(&format!("pub mod {module} {{ include!({file:?}); }}\n"));
    }
    std::fs::write(krate.join("src/lib.rs"), lib).unwrap();
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&krate)
        .args(["build", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", krate.join("target"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the generated code of {} connectors does not compile:\n{}",
        generated.len(),
        String::from_utf8_lossy(&out.stderr)
    );
}
