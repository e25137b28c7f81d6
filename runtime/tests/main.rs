//! The runtime's tests, one harness (`autotests = false`): the generic
//! `airbyte-to-flow` binary driven with Flow requests against fake Airbyte
//! connectors (small shell scripts, `common`), and the hot path against the
//! reference path (proptest). No installed connector: the real faker's
//! tests are the full tier, `tests/full/`.

mod common;

mod backpressure;
mod capture;
mod hotpath_differential;
mod lifecycle;
mod pre_protocol;
mod requests;
