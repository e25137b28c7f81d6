//! What the sweeps over `../shared/manifests` share (`declarative_sweep`,
//! `mock_sweep`): the connectors there, run two at a time (CI has two
//! cores), and the table each writes under the target folder.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// `../shared` and the names of the connectors of `../shared/manifests`,
/// sorted; `None` after saying why `test` skips.
pub fn connectors(test: &str) -> Option<(PathBuf, Vec<String>)> {
    let shared = testkit::shared(test)?;
    if !shared.join("manifests").is_dir() {
        testkit::skip(
            test,
            &format!("{} is absent", shared.join("manifests").display()),
        );
        return None;
    }
    let mut names: Vec<String> = std::fs::read_dir(shared.join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("source-"))
        .collect();
    names.sort();
    Some((shared, names))
}

/// `f` on every name, two at a time, each timed on stderr; the results by
/// name.
pub fn two_at_a_time<T: Send>(names: &[String], f: impl Fn(&str) -> T + Sync) -> Vec<(String, T)> {
    let queue = Mutex::new(names.to_vec());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(name) = queue.lock().unwrap().pop() else {
                    break;
                };
                let t = Instant::now();
                let r = f(&name);
                eprintln!("{name}: {:.1}s", t.elapsed().as_secs_f64());
                results.lock().unwrap().push((name, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// Prints `table` and writes it to `<target>/<file>`.
pub fn write_table(file: &str, table: &str) {
    eprintln!("{table}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let _ = std::fs::write(target.join(file), table);
}
