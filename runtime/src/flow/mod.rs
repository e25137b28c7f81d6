//! Flow's wire format: capture requests in ([`request`], JSON lines on
//! stdin), responses out ([`response`], JSON lines on stdout, all framed
//! there).

pub mod request;
pub mod response;

pub use request::{decode_request, Discover, Open, Request, Validate};
pub use response::{write_line, write_response};
