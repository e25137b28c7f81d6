//! mockapi's tests, one harness (`autotests = false`): each module drives
//! the mock through real sockets or `routes::Api`, as the connectors' tests
//! meet it.

mod auth;
mod braze_alpha_vantage_style;
mod filter;
mod generate_pins;
mod generated_styles;
mod harness;
mod search;
mod sentry_style;
mod stripe_style;
mod token_style;
mod zendesk_style;
