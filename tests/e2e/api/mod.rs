//! The real HTTP server on a random port, called with a real HTTP client.

mod endpoints;
pub(crate) mod helpers;
mod security;
