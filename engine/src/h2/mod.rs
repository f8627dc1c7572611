//! HTTP/2 (RFC 9113, DESIGN.md §6), sans-IO like the HTTP/1.1 channel. So far: `frame`, every
//! frame type parsed with limits and the RFC's error codes and written into a caller's buffer;
//! `hpack`, the header codec behind a seam; `stream`, the stream states of §5.1; `flow`, the
//! flow-control windows both ways.

pub mod connection;
pub mod flow;
pub mod frame;
pub mod hpack;
pub mod request;
pub mod stream;

pub use connection::H2Connection;

#[cfg(test)]
mod tests;
