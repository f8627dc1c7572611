//! The message model: request and response heads and their header fields.
//!
//! Heads keep the peer's bytes: header names keep their original case and order, and every
//! name, value and target of a request is a slice of the one `Bytes` the head arrived in, so
//! parsing copies nothing (h11 keeps `raw_name` for the same reason: proxied bytes stay
//! faithful).

mod headers;
mod host;
mod request;
mod response;

pub(crate) use headers::is_tchar_byte;
pub(crate) use headers::StaticList;
pub use headers::{is_token, Header, Headers};
pub(crate) use host::is_valid_host;
pub use request::{BodyLength, Method, RequestHead, Version};
pub use response::{reason_phrase, ResponseHead};
