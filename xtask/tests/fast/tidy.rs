//! Tidy tests: the layering invariants of ARCHITECTURE.md, checked on the
//! sources (as rust-analyzer's tidy tests do), so a change that breaks one
//! fails `cargo test` with the file and the line.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    testkit::workspace_root()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `file:line: text` of every line of the files under `dir` containing one
/// of `needles`.
fn lines_naming(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for f in rust_files(dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if needles.iter().any(|n| line.contains(n)) {
                let rel = f.strip_prefix(root()).unwrap_or(&f);
                found.push(format!("{}:{}: {}", rel.display(), i + 1, line.trim()));
            }
        }
    }
    found
}

/// xtask's floors: `ground` imports neither `steps` nor `maint`, `steps`
/// does not import `maint` (no import loops, ARCHITECTURE.md `xtask/`).
#[test]
fn xtask_floors_import_only_downwards() {
    let src = root().join("xtask/src");
    let ground = lines_naming(&src.join("ground"), &["crate::steps", "crate::maint"]);
    assert!(
        ground.is_empty(),
        "the ground floor imports a floor above it:\n{}",
        ground.join("\n")
    );
    let steps = lines_naming(&src.join("steps"), &["crate::maint"]);
    assert!(
        steps.is_empty(),
        "a step imports maint:\n{}",
        steps.join("\n")
    );
}

/// The crates' layering: `patches` at the bottom; `codegen` and `runtime`
/// on it and not on each other; nothing depends on xtask but the benchmark
/// (dev-dependencies aside).
#[test]
fn crates_depend_only_downwards() {
    let forbidden: &[(&str, &[&str])] = &[
        ("patches", &["codegen", "runtime", "xtask", "testkit"]),
        ("codegen", &["runtime", "xtask"]),
        ("runtime", &["codegen", "xtask"]),
        ("doccheck", &["runtime", "codegen", "xtask"]),
        ("mockapi", &["runtime", "codegen", "xtask"]),
        ("testkit", &["xtask"]),
    ];
    let mut bad = Vec::new();
    for (krate, not) in forbidden {
        let manifest = root().join(krate).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let mut section = String::new();
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                section = t.to_string();
                continue;
            }
            // What the crate is built with (tests may use testkit).
            if section != "[dependencies]" && section != "[build-dependencies]" {
                continue;
            }
            let name = t.split(['=', ' ', '.']).next().unwrap_or("");
            if not.contains(&name) {
                bad.push(format!("{krate}/Cargo.toml {section}: {t}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "a crate depends upwards:\n{}",
        bad.join("\n")
    );
}

/// The runtime knows no specific connector: no connector folder's name
/// appears in its sources (everything connector-specific comes from the
/// `Connector` description codegen bakes into each binary).
#[test]
fn the_runtime_names_no_connector() {
    let names: Vec<String> = std::fs::read_dir(root().join("connectors"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("source-"))
        .collect();
    assert!(!names.is_empty());
    let needles: Vec<&str> = names.iter().map(String::as_str).collect();
    let found = lines_naming(&root().join("runtime/src"), &needles);
    assert!(
        found.is_empty(),
        "the runtime names a connector:\n{}",
        found.join("\n")
    );
}

/// Every test or item an invariant of ARCHITECTURE.md names (`module::name`)
/// exists, so renaming a test does not leave the map pointing nowhere.
#[test]
fn architecture_invariants_name_existing_tests() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let start = doc.find("## Invariants").expect("an Invariants section");
    let end = doc[start..].find("\n## ").map_or(doc.len(), |e| start + e);
    let section = &doc[start..end];
    let mut sources = String::new();
    let mut files = Vec::new();
    for krate in [
        "runtime", "codegen", "xtask", "testkit", "patches", "mockapi",
    ] {
        for f in rust_files(&root().join(krate)) {
            sources.push_str(&std::fs::read_to_string(&f).unwrap());
            files.push(f);
        }
    }
    let mut named = 0;
    let mut missing = Vec::new();
    for quoted in section.split('`').skip(1).step_by(2) {
        let Some((_, name)) = quoted.rsplit_once("::") else {
            continue;
        };
        if !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        named += 1;
        let is_fn = sources.contains(&format!("fn {name}("));
        let is_module = files
            .iter()
            .any(|f| f.file_stem().is_some_and(|s| s == name));
        if !is_fn && !is_module {
            missing.push(quoted.to_string());
        }
    }
    assert!(
        named >= 10,
        "the invariants name {named} tests: fewer than expected"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's invariants name what no source defines: {missing:?}"
    );
}

/// Upstream's code is pinned, never vendored: no manifest-only connector's
/// files (`manifest.yaml`, `components.py`, `metadata.yaml`) anywhere in the
/// project's files (outside the build output and the installed packages).
#[test]
fn no_upstream_manifest_is_vendored() {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                if !name.starts_with('.') && !["target", "node_modules"].contains(&name.as_str()) {
                    walk(&path, found);
                }
            } else if ["manifest.yaml", "components.py", "metadata.yaml"].contains(&name.as_str()) {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root(), &mut found);
    assert!(
        found.is_empty(),
        "upstream files in the project: {found:?}; pin them by sha256 in connector.json (`cargo xtask new-connector NAME VERSION --from DIR`) instead"
    );
}
