//! Engine tests: the channel driven by a virtual-time harness with no network (quinn's `Pair`).
//!
//! Method: `Harness` feeds bytes the way a driver would (never past the receive window),
//! collects every output, and can answer requests like Twisted's `DummyHTTPHandler`, so the
//! byte-level cases of `notes/twisted.md` section 6 read almost as they do upstream.

// The config structs are `#[non_exhaustive]`: tests set fields on a default as code outside
// the crate must.
#![allow(clippy::field_reassign_with_default)]

mod harness;
mod persistence;
mod pipelining;
mod producers;
mod properties;
mod requests;
mod review;
mod timers;
mod twisted_errors;
