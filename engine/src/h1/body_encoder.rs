//! Response body framing: how the bytes an app sends are put on the wire.
//!
//! Invariant: a `Length` encoder never lets more than the declared bytes through, and refuses to
//! finish short, so a persistent connection is never desynchronised by an app's mistake.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::UsageError;

/// How a response body is framed (RFC 9112 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyEncoder {
    /// `Content-Length`: this many bytes still to send.
    Length { remaining: u64 },
    /// `Transfer-Encoding: chunked` (HTTP/1.1, length unknown).
    Chunked,
    /// Delimited by closing the connection (HTTP/1.0, length unknown).
    CloseDelimited,
    /// No body may be sent (HEAD, 1xx, 204, 304): body bytes are dropped, as Twisted's
    /// `Request.write` does for HEAD.
    Empty,
}

impl BodyEncoder {
    /// Frames `parts`, `len` bytes in all, as one write (Twisted's `writeSequence`): one chunk
    /// for a chunked body, one length check for `Content-Length`, so either every part goes
    /// out or none does. Empty parts are skipped; nothing is copied.
    pub(crate) fn encode_parts(
        &mut self,
        len: u64,
        parts: impl IntoIterator<Item = Bytes>,
        mut emit: impl FnMut(Bytes),
    ) -> Result<(), UsageError> {
        if len == 0 {
            // An empty chunk would end a chunked body early: send nothing.
            return Ok(());
        }
        let emit_parts = |emit: &mut dyn FnMut(Bytes)| {
            for part in parts.into_iter().filter(|part| !part.is_empty()) {
                emit(part);
            }
        };
        match self {
            BodyEncoder::Length { remaining } => {
                if len > *remaining {
                    return Err(UsageError::BodyTooLong);
                }
                *remaining -= len;
                emit_parts(&mut emit);
            }
            BodyEncoder::Chunked => {
                let mut line = BytesMut::with_capacity(18);
                write_hex(&mut line, len);
                line.put_slice(b"\r\n");
                emit(line.freeze());
                emit_parts(&mut emit);
                emit(Bytes::from_static(b"\r\n"));
            }
            BodyEncoder::CloseDelimited => emit_parts(&mut emit),
            BodyEncoder::Empty => {}
        }
        Ok(())
    }

    /// Ends the body: the last chunk for chunked, a check that every declared byte was sent
    /// for `Content-Length`.
    /// Whether a whole body of `len` bytes is accepted and completes the response: what
    /// `encode_parts` then `finish` would refuse.
    pub(crate) fn check_whole(&self, len: u64) -> Result<(), UsageError> {
        match *self {
            BodyEncoder::Length { remaining } if len > remaining => Err(UsageError::BodyTooLong),
            BodyEncoder::Length { remaining } if len < remaining => Err(UsageError::BodyTooShort),
            BodyEncoder::Length { .. }
            | BodyEncoder::Chunked
            | BodyEncoder::CloseDelimited
            | BodyEncoder::Empty => Ok(()),
        }
    }

    pub(crate) fn finish(&self, emit: impl FnOnce(Bytes)) -> Result<(), UsageError> {
        match self {
            BodyEncoder::Length { remaining: 0 } => Ok(()),
            BodyEncoder::Length { .. } => Err(UsageError::BodyTooShort),
            BodyEncoder::Chunked => {
                emit(Bytes::from_static(b"0\r\n\r\n"));
                Ok(())
            }
            BodyEncoder::CloseDelimited | BodyEncoder::Empty => Ok(()),
        }
    }

    /// Whether the end of this body is marked only by closing the connection.
    pub(crate) fn is_close_delimited(&self) -> bool {
        matches!(self, BodyEncoder::CloseDelimited)
    }
}

/// Appends `n` in lower-case hex, as Twisted writes chunk sizes.
fn write_hex(out: &mut BytesMut, n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = DIGITS[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mut encoder: BodyEncoder, pieces: &[&'static str]) -> Result<Vec<u8>, UsageError> {
        let mut out = Vec::new();
        for piece in pieces {
            let piece = Bytes::from_static(piece.as_bytes());
            encoder.encode_parts(piece.len() as u64, [piece], |b| out.extend_from_slice(&b))?;
        }
        encoder.finish(|b| out.extend_from_slice(&b))?;
        Ok(out)
    }

    #[test]
    fn chunked_uses_lower_case_hex_and_skips_empty_writes() {
        let body = "x".repeat(26);
        let out = run(BodyEncoder::Chunked, &["Hello", "", "World!", body.leak()]).unwrap();
        let expected = format!(
            "5\r\nHello\r\n6\r\nWorld!\r\n1a\r\n{}\r\n0\r\n\r\n",
            "x".repeat(26)
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn length_is_enforced_both_ways() {
        assert_eq!(
            run(BodyEncoder::Length { remaining: 5 }, &["he", "llo"]).unwrap(),
            b"hello"
        );
        assert_eq!(
            run(BodyEncoder::Length { remaining: 4 }, &["hello"]),
            Err(UsageError::BodyTooLong)
        );
        assert_eq!(
            run(BodyEncoder::Length { remaining: 6 }, &["hello"]),
            Err(UsageError::BodyTooShort)
        );
    }

    #[test]
    fn parts_are_one_write() {
        let parts = || [b"Hello" as &[u8], b"", b", ", b"world!"].map(Bytes::from_static);
        let mut out = Vec::new();
        let mut chunked = BodyEncoder::Chunked;
        chunked
            .encode_parts(13, parts(), |b| out.extend_from_slice(&b))
            .unwrap();
        assert_eq!(out, b"d\r\nHello, world!\r\n");
        // All or nothing against a declared length.
        let mut short = BodyEncoder::Length { remaining: 12 };
        let result = short.encode_parts(13, parts(), |_| panic!("nothing may be emitted"));
        assert_eq!(result, Err(UsageError::BodyTooLong));
        assert_eq!(short, BodyEncoder::Length { remaining: 12 });
        let mut exact = BodyEncoder::Length { remaining: 13 };
        out.clear();
        exact
            .encode_parts(13, parts(), |b| out.extend_from_slice(&b))
            .unwrap();
        assert_eq!(out, b"Hello, world!");
        assert_eq!(exact, BodyEncoder::Length { remaining: 0 });
    }

    #[test]
    fn empty_drops_the_body() {
        assert_eq!(run(BodyEncoder::Empty, &["ignored"]).unwrap(), b"");
        assert_eq!(run(BodyEncoder::CloseDelimited, &["raw"]).unwrap(), b"raw");
    }

    #[test]
    fn hex() {
        for (n, s) in [
            (0u64, "0"),
            (9, "9"),
            (10, "a"),
            (255, "ff"),
            (u64::MAX, "ffffffffffffffff"),
        ] {
            let mut out = BytesMut::new();
            write_hex(&mut out, n);
            assert_eq!(&out[..], s.as_bytes());
        }
    }
}
