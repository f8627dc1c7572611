//! HTTP/1.1 wire format: pure functions and small state machines, no channel state.
