//! xtask's fast tier, what `cargo test` runs: the workflow commands and the
//! form page, driven as a user drives them (the real `xtask` binary in
//! temporary folders), with no installed connector, Docker or browser.
//! The full tier is `tests/full/`.

mod form_page;
mod tidy;
mod workflow;
