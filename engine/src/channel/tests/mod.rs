//! Engine tests: the channel driven by a virtual-time harness with no network (quinn's `Pair`).
//!
//! Method: `Harness` feeds bytes the way a driver would (never past the receive window),
//! collects every output, and can answer requests like Twisted's `DummyHTTPHandler`, so the
//! byte-level cases of `notes/twisted.md` section 6 read almost as they do upstream.

// The config structs are `#[non_exhaustive]`: tests set fields on a default as code outside
// the crate must.
#![allow(clippy::field_reassign_with_default)]

mod abort_queued;
mod app_api;
mod body_timer;
mod closed_channel;
mod date_header;
mod drain_mid_body;
mod driver_reads;
mod fin_mid_body;
mod half_close;
mod harness;
mod head_limits_dribbled;
mod idle_memory;
mod last_response_body;
mod loss_reports;
mod persistence;
mod pipelining;
mod producer_transitions;
mod producers;
mod properties;
mod reason_phrase;
mod recv_bounds;
mod requests;
mod send_bounds;
mod timers;
mod twisted_errors;
