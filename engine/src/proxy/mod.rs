//! The reverse proxy's sans-IO core (DESIGN.md §5): what it forwards and how.
//!
//! `forward` rewrites heads (hop-by-hop fields, `Via`, `Forwarded`, `Host`, the path prefix);
//! `session` pairs a downstream connection's requests with upstream exchanges, one at a time,
//! with credit flowing end to end.

mod forward;
mod session;

pub use forward::{forward_request, forward_response, ProxyConfig};
pub use session::{ProxyOutput, ProxySession, FLOW_WINDOW_BYTES};
