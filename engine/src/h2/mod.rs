//! HTTP/2 (RFC 9113, DESIGN.md §6), sans-IO like the HTTP/1.1 channel. So far: `frame`, every
//! frame type parsed with limits and the RFC's error codes and written into a caller's buffer;
//! `hpack`, the header codec behind a seam; `stream`, the stream states of §5.1; `flow`, the
//! flow-control windows both ways.

pub mod flow;
pub mod frame;
pub mod hpack;
pub mod stream;

#[cfg(test)]
mod tests;
