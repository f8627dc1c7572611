//! HTTP/1.1 wire format: pure functions and small state machines, no channel state.
pub(crate) mod body_decoder;
pub(crate) mod body_encoder;
pub(crate) mod head_memo;
pub(crate) mod head_parser;
pub(crate) mod head_writer;
pub(crate) mod line_end;
pub(crate) mod request_writer;
pub(crate) mod response_head;
