//! xtask's full tier: every test here needs what `cargo xtask test` installs
//! or CI provides (the pinned Airbyte connectors, the shipped connectors'
//! provisioned upstreams, a Docker engine, Chromium, `../shared`), so each
//! is `#[ignore]`d for a plain `cargo test` (which lists them as ignored)
//! and run by `cargo xtask test` (`cargo test -p xtask --test full --
//! --ignored`). One harness, so the tier links once.
//!
//! `e2e` and `docker` are what the end-to-end and image tests share.

mod docker;
mod e2e;

mod binding_state;
mod build_corpus;
mod build_faker;
mod declarative_bump;
mod declarative_registry;
mod declarative_sweep;
mod docker_faker;
mod docker_freshdesk;
mod docker_sentry;
mod e2e_alpha_vantage;
mod e2e_braze;
mod e2e_calendly;
mod e2e_chartmogul;
mod e2e_freshdesk;
mod e2e_github;
mod e2e_harvest;
mod e2e_intercom;
mod e2e_pagerduty;
mod e2e_sentry;
mod e2e_stripe;
mod e2e_zendesk_support;
mod first_hour;
mod form_browser;
mod manifests;
mod mock_sweep;
mod provision;
mod shipped;
mod test_command;
mod workflow_upstream;
