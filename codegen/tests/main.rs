//! codegen's tests, one harness (`autotests = false`): the golden fixtures
//! and the determinism of generated code (`generate`), the form checks, the
//! `upstream` validation, and every corpus connector generating code that
//! compiles (`corpus`).

mod corpus;
mod form_check;
mod generate;
mod upstream;
