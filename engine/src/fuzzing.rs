//! Fuzz properties: one check function per `cargo fuzz` target in `fuzz/`. This module owns the
//! properties; the targets only hand their bytes over. It is compiled for the targets (feature
//! `fuzzing`) and for `cargo test`, which replays the committed corpus (`fuzz/corpus/`) through
//! the same functions, so a fuzz finding, once added to the corpus, is a regression test.
//!
//! Each function takes the fuzzer's bytes and panics, with a message naming the property, when
//! a property fails. Peer bytes must never panic the engine (STYLE.md item 3), but "no panic" is
//! a weak oracle, so every target also checks what the code promises:
//! - [`head_parser`]: a prefix's answer is `Partial` or the whole input's answer; the one-walk
//!   and two-step entry points agree; a complete head agrees with httparse.
//! - [`chunked_decoder`]: the decoder agrees with a small reference decoder written from
//!   RFC 9112 §7.1, up to the documented differences; and however the input is split into
//!   reads, and whatever the credit, the outcome is the same.
//! - [`channel`]: a whole connection driven by a byte-coded script of peer, transport, clock
//!   and application inputs keeps its invariants and its documented output contract.
//! - [`client_response`]: the client role reading arbitrary bytes as a response gives the
//!   same events however they are split and credited, within its credit, ending once.
//! - [`h2_frames`]: HTTP/2 frames decode the same however the bytes arrive, and each is read
//!   back the same once written.
//! - [`h2_connection`]: an HTTP/2 connection reading arbitrary frames never panics, writes only
//!   well-formed frames and header blocks, and reports each request's events in order.
//! - [`hpack_decoder`]: our HPACK decoder agrees with `loona-hpack`'s, block by block.
//!
//! Not part of the engine's API: hidden from the docs and absent from a normal build.

mod chunked;
mod chunked_reference;
mod client;
mod connection;
mod h2_connection;
mod h2_frames;
mod head;
pub(crate) mod hpack;
#[cfg(test)]
mod tests;

use crate::config::Limits;

/// The `head_parser` target. Panics if a property of `parse_request_head` and
/// `take_request_head` fails (see the module documentation and `fuzzing/head.rs`).
pub fn head_parser(data: &[u8]) {
    head::check(data);
}

/// The `chunked_decoder` target. Panics if the chunked body decoder disagrees with the
/// reference decoder or with itself across splits (see `fuzzing/chunked.rs`).
pub fn chunked_decoder(data: &[u8]) {
    chunked::check(data);
}

/// The `channel` target. Panics if a `Channel` driven by the script in `data` breaks an
/// invariant or its output contract (see `fuzzing/connection.rs`).
pub fn channel(data: &[u8]) {
    connection::check(data);
}

/// The `client_response` target. Panics if a `ClientConnection` reading the bytes as the
/// answer to its request breaks split invariance, its credit, or its one-ending rule (see
/// `fuzzing/client.rs`).
pub fn client_response(data: &[u8]) {
    client::check(data);
}

/// The `h2_frames` target. Panics if HTTP/2 frame decoding depends on how the bytes arrive, or
/// a frame does not survive being written and read back (see `fuzzing/h2_frames.rs`).
pub fn h2_frames(data: &[u8]) {
    h2_frames::check(data);
}

/// The `h2_connection` target. Panics if an `H2Connection` reading the bytes as its client's
/// frames panics, writes a malformed frame or header block, or misorders a request's events
/// (see `fuzzing/h2_connection.rs`).
pub fn h2_connection(data: &[u8]) {
    h2_connection::check(data);
}

/// The `hpack_decoder` target. Panics if our HPACK decoder and `loona-hpack`'s part on a
/// block of the connection the bytes encode (see `fuzzing/hpack.rs`).
pub fn hpack_decoder(data: &[u8]) {
    hpack::check(data);
}

/// The first byte of an input that selects small limits instead of the defaults (`0xF0` and
/// up: no HTTP message or chunked body starts with such a byte, so readable seeds run with the
/// defaults and the fuzzer can still reach every limit).
const SMALL_LIMITS_FROM: u8 = 0xF0;

/// Reads the fuzzer's bytes front to back; past the end every byte reads as 0, so every
/// input, however short, is a complete script.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    /// Up to `n` bytes (fewer at the end of the input).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }

    /// The rest of the input.
    fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Bytes as quoted, escaped text for a failure message.
fn shown(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// FNV-1a: a cheap, stable hash of the input, from which split points and credits are drawn
/// so that they vary with the input without taking bytes from it.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The limits an input runs under, and the rest of the input: [`Limits::DEFAULT`] unless the
/// first byte is [`SMALL_LIMITS_FROM`] or more, in which case the next four bytes set small
/// limits (so that every limit is within reach of a short input).
fn limits_and_input(data: &[u8]) -> (Limits, &[u8]) {
    match data.first() {
        Some(&first) if first >= SMALL_LIMITS_FROM => {
            let mut reader = Reader::new(&data[1..]);
            let (a, b, c, d) = (reader.byte(), reader.byte(), reader.byte(), reader.byte());
            let limits = Limits {
                request_line_bytes_max: usize::from(a % 64),
                head_bytes_max: usize::from(b % 128),
                header_count_max: usize::from(c % 8),
                chunk_line_bytes_max: usize::from(c / 8),
                trailer_bytes_max: usize::from(a / 4),
                body_bytes_max: (d < 0x80).then_some(u64::from(d % 32)),
                ..Limits::DEFAULT
            };
            (limits, reader.rest())
        }
        _ => (Limits::DEFAULT, data),
    }
}
