//! The project's own commands, above the workflow steps: installing what
//! the tests drive and running them ([`setup`]), the quick-start demo
//! ([`demo`]), the fuzzers ([`fuzz`]) and the benchmark's launcher
//! ([`bench`]).

pub mod bench;
pub mod demo;
pub mod fuzz;
pub mod setup;
