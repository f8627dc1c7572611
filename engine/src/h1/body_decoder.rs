//! Request body decoding: bodies of known length and chunked bodies (RFC 9112 §6.2, §7.1).
//!
//! A [`BodyDecoder`] owns the framing state of one request body and nothing else: the caller
//! owns the receive buffer and the credit. [`BodyDecoder::decode`] removes bytes from the front
//! of the buffer and returns body data zero-copy, at most `max` bytes per call. Framing bytes
//! (chunk-size lines, the CRLF after chunk data, the last chunk and the trailers) need no
//! credit, so the end of a body is found even when the application has granted none.
//!
//! Invariants:
//! - Bytes after the body are never consumed, and never change the outcome: after `End` they
//!   are the next pipelined request.
//! - A peer violation is reported as soon as the offending byte is buffered (a line that is
//!   still arriving is checked with the same function as a complete one), and its kind does
//!   not depend on how the input was split into reads: every check reports the earliest
//!   offending byte, and the kinds are ordered by position (size, then extension).
//! - Every call ends: each framing step consumes at least one byte or returns.
//! - `decode` never leaves more than 1 byte of framing unconsumed (the CR of the CRLF after
//!   chunk data), except a partial chunk-size line (at most `chunk_line_bytes_max + 1` bytes:
//!   the longest legal line and the CR of its CRLF). So when `Pending` is returned with
//!   `max > 0`, `buf` holds at most that many bytes, and a caller whose buffer is bounded
//!   (and pauses reading when it is full) can always make progress: no legal framing element
//!   has to be buffered whole except a chunk-size line.
//!
//! Trailer bytes are consumed as they arrive, whatever the length of their lines: the decoder keeps
//! only a count and where it is in the current line (whether the line so far is empty or has a
//! colon, and whether its last byte was a CR). They are counted from the byte after the last
//! chunk's line (`0...\r\n`) through the final empty line, line endings included, so an empty
//! trailer section counts 2. A section must fit in `trailer_bytes_max`, and is refused as soon as
//! the bytes received so far cannot end within it: a field line of `k` bytes (without its CR) needs
//! at least `k + 4` (its CRLF and the final CRLF), and the empty line needs 2. Twisted counts only
//! the bytes it has buffered, so with a limit of 10 it still accepts `0\r\n01234567\r` and refuses
//! the next byte; here `0\r\n0123456` is already refused, because 7 bytes plus two CRLFs cannot fit
//! in 10.

use bytes::{Buf, Bytes, BytesMut};
use memchr::{memchr, memmem};

use crate::config::Limits;
use crate::error::{ProtocolError, ProtocolErrorKind};

/// The framing state of one request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// A body of known length (`Content-Length`, RFC 9112 §6.2). Its length is checked against
    /// `body_bytes_max` with the head, before a decoder is made, so it is not checked here.
    Length {
        /// Body bytes not yet returned.
        remaining: u64,
    },
    /// A chunked body (RFC 9112 §7.1).
    Chunked(ChunkedDecoder),
}

/// What one call of [`BodyDecoder::decode`] produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes, never empty, at most `max` of them (zero-copy: split off `buf` and frozen).
    Data(Bytes),
    /// The body is complete. Bytes after the body stay in `buf` untouched (the next pipelined
    /// request).
    End,
    /// No progress possible with the bytes in `buf` and this `max`: more input (or more credit
    /// when max == 0) is needed.
    Pending,
}

/// The state of a chunked body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChunkedDecoder {
    /// Where in the chunked framing the next byte of `buf` is.
    state: ChunkedState,
    /// Sum of the chunk sizes announced so far, checked against `body_bytes_max` when each
    /// size line is parsed. Saturates: without a limit it is informative only.
    body_bytes: u64,
}

/// One state per element of the chunked grammar; each has one `decode_*` function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkedState {
    /// Expecting a chunk-size line.
    Size,
    /// Inside the data of a chunk.
    /// Invariant: `remaining > 0` (a zero size is the last chunk and goes to `Trailers`).
    Data { remaining: u64 },
    /// Expecting the CRLF after the data of a chunk.
    DataEnd,
    /// After the last chunk, reading trailer field lines until the empty line.
    Trailers(Trailers),
    /// The final CRLF has been consumed; `End` is returned from now on.
    Done,
}

/// Where the trailer section is: every byte of it is consumed as soon as it is checked, so
/// this is all that is kept of it (trailers are discarded).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Trailers {
    /// Trailer bytes consumed so far, line endings included.
    /// Invariant: the section can still end within `trailer_bytes_max`: at the start of a line
    /// (after the first), `bytes + 2 <= trailer_bytes_max`; after a field byte,
    /// `bytes + 4 <= trailer_bytes_max`.
    bytes: usize,
    /// The current line has a byte other than its CR: it is a field line, not the empty line
    /// that ends the section.
    field: bool,
    /// The current line has a colon.
    colon: bool,
    /// The last byte consumed is a CR: only an LF may follow.
    cr: bool,
}

/// What a framing step did.
enum Step {
    /// Consumed at least one byte and moved on.
    Advanced,
    /// Cannot go on with the bytes buffered.
    NeedMore,
}

/// Whether a chunk-size line has ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Line {
    /// The CRLF has been seen; the line is without it.
    Complete,
    /// The bytes so far, without a trailing CR that may start the CRLF.
    Partial,
}

impl BodyDecoder {
    /// A decoder for a body of exactly `n` bytes.
    pub(crate) fn length(n: u64) -> BodyDecoder {
        BodyDecoder::Length { remaining: n }
    }

    /// A decoder for a chunked body.
    pub(crate) fn chunked() -> BodyDecoder {
        BodyDecoder::Chunked(ChunkedDecoder {
            state: ChunkedState::Size,
            body_bytes: 0,
        })
    }

    /// Decodes from the front of `buf`, removing every byte it consumes. Framing (chunk-size
    /// lines, the CRLF after data, the last chunk, trailers) is consumed even when max == 0, so
    /// that the end of a body is detected without credit; data bytes are only returned up to
    /// `max`. Call repeatedly until Pending or End.
    ///
    /// After an `Err` the body is broken: the caller stops decoding it. Calling again does not
    /// panic (the offending bytes are still buffered and are refused again).
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
        limits: &Limits,
    ) -> Result<Decoded, ProtocolError> {
        match self {
            BodyDecoder::Length { remaining } => Ok(decode_length(remaining, buf, max)),
            BodyDecoder::Chunked(chunked) => chunked.decode(buf, max, limits),
        }
    }

    /// Whether End has been returned. For `Length` it is true as soon as the last body byte has
    /// been returned: the next call returns End without needing input.
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Length { remaining } => *remaining == 0,
            BodyDecoder::Chunked(chunked) => chunked.state == ChunkedState::Done,
        }
    }
}

/// `Length`: the next `remaining` bytes are the body, whatever they are.
fn decode_length(remaining: &mut u64, buf: &mut BytesMut, max: usize) -> Decoded {
    if *remaining == 0 {
        return Decoded::End;
    }
    let n = data_len(*remaining, buf, max);
    if n == 0 {
        return Decoded::Pending;
    }
    // `n <= remaining` (data_len), and a usize always fits in a u64.
    *remaining -= n as u64;
    Decoded::Data(buf.split_to(n).freeze())
}

/// How many data bytes can be returned now: bounded by the body, the buffer and the credit.
fn data_len(remaining: u64, buf: &BytesMut, max: usize) -> usize {
    // A `remaining` too large for usize is larger than any buffer.
    usize::try_from(remaining)
        .unwrap_or(usize::MAX)
        .min(buf.len())
        .min(max)
}

impl ChunkedDecoder {
    /// Runs framing steps until data can be returned, more bytes are needed, or the body ends.
    fn decode(
        &mut self,
        buf: &mut BytesMut,
        max: usize,
        limits: &Limits,
    ) -> Result<Decoded, ProtocolError> {
        // Bound: every `Advanced` step consumes at least one byte of `buf` (asserted below), so
        // this loop runs at most `buf.len() + 1` times.
        loop {
            let len_before = buf.len();
            let step = match self.state {
                ChunkedState::Size => self.decode_size(buf, limits)?,
                ChunkedState::Data { remaining } => {
                    return Ok(self.decode_data(buf, remaining, max));
                }
                ChunkedState::DataEnd => self.decode_data_end(buf)?,
                ChunkedState::Trailers(trailers) => self.decode_trailers(buf, trailers, limits)?,
                ChunkedState::Done => return Ok(Decoded::End),
            };
            match step {
                Step::Advanced => {
                    assert!(
                        buf.len() < len_before,
                        "a chunked framing step consumed nothing"
                    );
                }
                Step::NeedMore => return Ok(Decoded::Pending),
            }
        }
    }

    /// `Size`: a chunk-size line, `1*HEXDIG [ ";" chunk-ext ] CRLF` (RFC 9112 §7.1).
    fn decode_size(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Step, ProtocolError> {
        // A line of `chunk_line_bytes_max` bytes has its CRLF at indexes max and max + 1:
        // nothing past the window can belong to a legal line, so nothing past it is read.
        let window_len = limits.chunk_line_bytes_max.saturating_add(2);
        let window = &buf[..buf.len().min(window_len)];
        let Some(line_len) = memmem::find(window, b"\r\n") else {
            // Check what has arrived, so that a bad byte is refused now and not when (if ever)
            // the line ends. Only the bytes a legal line could hold are checked, so the kind of
            // error does not depend on how many bytes past the limit have arrived.
            let line = strip_trailing_cr(window);
            let line_max = limits.chunk_line_bytes_max;
            parse_size_line(&line[..line.len().min(line_max)], Line::Partial)?;
            if line.len() > line_max {
                return fail(ProtocolErrorKind::InvalidChunkSize);
            }
            return Ok(Step::NeedMore);
        };
        let size = parse_size_line(&window[..line_len], Line::Complete)?;
        self.count_body_bytes(size, limits)?;
        buf.advance(line_len + 2);
        self.state = match size {
            0 => ChunkedState::Trailers(Trailers::default()),
            remaining => ChunkedState::Data { remaining },
        };
        Ok(Step::Advanced)
    }

    /// Adds an announced chunk size to the body total, refusing a body over `body_bytes_max`
    /// before any of the chunk's data is returned (413 beats a half-delivered body).
    fn count_body_bytes(&mut self, size: u64, limits: &Limits) -> Result<(), ProtocolError> {
        let total = self.body_bytes.checked_add(size);
        if let Some(body_bytes_max) = limits.body_bytes_max {
            // An overflowing total is larger than any limit.
            if total.is_none_or(|total| total > body_bytes_max) {
                return fail(ProtocolErrorKind::BodyTooLarge);
            }
        }
        self.body_bytes = total.unwrap_or(u64::MAX);
        Ok(())
    }

    /// `Data`: returns the chunk's data as it arrives, never more than `max` bytes.
    fn decode_data(&mut self, buf: &mut BytesMut, remaining: u64, max: usize) -> Decoded {
        let n = data_len(remaining, buf, max);
        if n == 0 {
            return Decoded::Pending;
        }
        // `n <= remaining` (data_len), and a usize always fits in a u64.
        self.state = match remaining - n as u64 {
            0 => ChunkedState::DataEnd,
            remaining => ChunkedState::Data { remaining },
        };
        Decoded::Data(buf.split_to(n).freeze())
    }

    /// `DataEnd`: exactly CRLF after the data of a chunk (RFC 9112 §7.1).
    fn decode_data_end(&mut self, buf: &mut BytesMut) -> Result<Step, ProtocolError> {
        // Compare what has arrived, so `abc!` is refused without waiting for a second byte.
        if !b"\r\n".starts_with(&buf[..buf.len().min(2)]) {
            return fail(ProtocolErrorKind::InvalidChunkEnd);
        }
        if buf.len() < 2 {
            return Ok(Step::NeedMore);
        }
        buf.advance(2);
        self.state = ChunkedState::Size;
        Ok(Step::Advanced)
    }

    /// `Trailers`: field lines after the last chunk, then an empty line (RFC 9112 §7.1.2).
    /// They are checked lightly, a byte at a time, and discarded: twine does not deliver
    /// trailers. Every buffered byte is consumed up to the end of the empty line, so a line
    /// longer than the caller's buffer still goes through.
    fn decode_trailers(
        &mut self,
        buf: &mut BytesMut,
        trailers: Trailers,
        limits: &Limits,
    ) -> Result<Step, ProtocolError> {
        let max = limits.trailer_bytes_max;
        // At the start of a line the empty line must still fit. After a field line this holds
        // (see `Trailers::bytes`), so only a limit under 2 fails here, before any byte.
        let at_line_start = !trailers.field && !trailers.cr;
        if at_line_start
            && trailers
                .bytes
                .checked_add(2)
                .is_none_or(|least| least > max)
        {
            return fail(ProtocolErrorKind::InvalidTrailers);
        }
        // Work on a copy: on an error neither the state nor `buf` changes, so the offending
        // byte is still buffered and refused again by a later call.
        let mut state = trailers;
        for (i, &byte) in buf.iter().enumerate() {
            if state.cr {
                // A bare CR is refused (RFC 9112 §2.2).
                if byte != b'\n' {
                    return fail(ProtocolErrorKind::InvalidTrailers);
                }
                if !state.field {
                    // The empty line: it fits (checked at its start), and the section ends.
                    buf.advance(i + 1);
                    self.state = ChunkedState::Done;
                    return Ok(Step::Advanced);
                }
                // A field line: light check, then discarded.
                if !state.colon {
                    return fail(ProtocolErrorKind::InvalidTrailers);
                }
                // `bytes + 2 <= max` before the CRLF (a field byte left room for 4), so the
                // empty line still fits after it.
                state = Trailers {
                    bytes: state.bytes + 1,
                    ..Trailers::default()
                };
                continue;
            }
            match byte {
                // `bytes + 2 <= max` (line start) or `bytes + 4 <= max` (after a field byte).
                b'\r' => {
                    state.bytes += 1;
                    state.cr = true;
                }
                // A bare LF is refused: RFC 9112 §2.2 allows accepting it, but a peer that
                // disagrees with us about where a line ends could smuggle a request.
                b'\n' | b'\0' => return fail(ProtocolErrorKind::InvalidTrailers),
                _ => {
                    state.bytes += 1;
                    state.field = true;
                    state.colon |= byte == b':';
                    // This field line needs its CRLF and the final CRLF after it.
                    if state.bytes.checked_add(4).is_none_or(|least| least > max) {
                        return fail(ProtocolErrorKind::InvalidTrailers);
                    }
                }
            }
        }
        if buf.is_empty() {
            return Ok(Step::NeedMore);
        }
        buf.clear();
        self.state = ChunkedState::Trailers(state);
        Ok(Step::Advanced)
    }
}

/// Builds the error of a peer violation.
fn fail<T>(kind: ProtocolErrorKind) -> Result<T, ProtocolError> {
    Err(ProtocolError::from(kind))
}

/// The line without a trailing CR, which may be the first half of its CRLF.
fn strip_trailing_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses a chunk-size line without its CRLF, or, when `Partial`, the part of it received so far
/// (a valid prefix returns the size of its digits so far).
fn parse_size_line(line: &[u8], line_state: Line) -> Result<u64, ProtocolError> {
    let (hex, extensions) = match memchr(b';', line) {
        Some(semicolon) => (&line[..semicolon], Some(&line[semicolon + 1..])),
        None => (line, None),
    };
    // `1*HEXDIG`: the size may be empty only while its first digit has not arrived. No sign,
    // no `0x`, no whitespace: anything else is a size some other parser may read differently.
    if hex.is_empty() && (extensions.is_some() || line_state == Line::Complete) {
        return fail(ProtocolErrorKind::InvalidChunkSize);
    }
    let size = hex.iter().try_fold(0u64, |size, &byte| {
        let digit = char::from(byte).to_digit(16)?;
        size.checked_mul(16)?.checked_add(u64::from(digit))
    });
    let Some(size) = size else {
        return fail(ProtocolErrorKind::InvalidChunkSize);
    };
    // RFC 9112 §7.1.1: extensions are ignored, but their bytes are checked (Twisted's
    // `_chunkExtChars`) so that no control byte, bare CR or LF passes through a line.
    if let Some(extensions) = extensions {
        if !extensions.iter().all(|&byte| is_extension_byte(byte)) {
            return fail(ProtocolErrorKind::InvalidChunkExtension);
        }
    }
    Ok(size)
}

/// Twisted's `_chunkExtChars`: HTAB, visible ASCII and space except `\`, and obs-text.
fn is_extension_byte(byte: u8) -> bool {
    matches!(byte, b'\t' | 0x20..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

#[cfg(test)]
mod tests {
    //! Goal: every decoder case gives the same data, leftover and error kind however the input
    //! is split into reads and whatever the credit. Method: `assert_all_splits` runs each case
    //! whole, split at every offset, one byte at a time, and with a pipelined request after it,
    //! each with several `max`; Twisted's decoder cases are included; proptest checks round
    //! trips of random chunked bodies and that random bytes never panic.

    use super::*;
    use proptest::prelude::*;

    const PIPELINED: &[u8] = b"GET / HTTP/1.1\r\n";

    type Outcome = Result<(Vec<u8>, Vec<u8>), ProtocolErrorKind>;

    /// What feeding a whole input gave: `Ok(None)` when the body did not end.
    type Ran = Result<Option<(Vec<u8>, Vec<u8>)>, ProtocolErrorKind>;

    fn ok(data: &[u8], left: &[u8]) -> Outcome {
        Ok((data.to_vec(), left.to_vec()))
    }

    /// Calls decode until Pending or End, checking every `Data`. Returns whether End came.
    fn drain(
        decoder: &mut BodyDecoder,
        buf: &mut BytesMut,
        max: usize,
        limits: &Limits,
        data: &mut Vec<u8>,
    ) -> Result<bool, ProtocolErrorKind> {
        // Each `Data` consumes at least one byte, so End or Pending comes within len + 1 calls.
        for _ in 0..=buf.len() {
            let decoded = decoder.decode(buf, max, limits).map_err(|error| {
                assert_eq!(error.status, error.kind.status());
                error.kind
            })?;
            match decoded {
                Decoded::Data(bytes) => {
                    assert!(
                        !bytes.is_empty() && bytes.len() <= max,
                        "Data of {}",
                        bytes.len()
                    );
                    data.extend_from_slice(&bytes);
                }
                Decoded::Pending => {
                    assert_framing_bound(decoder, buf, max, limits);
                    return Ok(false);
                }
                Decoded::End => {
                    assert!(decoder.is_done());
                    return Ok(true);
                }
            }
        }
        panic!("decode returned Data without consuming");
    }

    /// The module invariant: after `Pending` with credit, `buf` holds at most 1 byte of
    /// framing, or a partial chunk-size line of at most `chunk_line_bytes_max + 1` bytes.
    fn assert_framing_bound(decoder: &BodyDecoder, buf: &BytesMut, max: usize, limits: &Limits) {
        if max == 0 {
            return;
        }
        let bound = match decoder {
            BodyDecoder::Chunked(ChunkedDecoder {
                state: ChunkedState::Size,
                ..
            }) => limits.chunk_line_bytes_max.saturating_add(1),
            _ => 1,
        };
        assert!(
            buf.len() <= bound,
            "{} bytes left unconsumed in {decoder:?}",
            buf.len()
        );
    }

    /// Feeds `feeds` one after another, draining after each. `Ok(None)`: the body did not end.
    fn run(decoder: &BodyDecoder, limits: &Limits, feeds: &[&[u8]], max: usize) -> Ran {
        let mut decoder = decoder.clone();
        let mut buf = BytesMut::new();
        let mut data = Vec::new();
        // A first call before any input: a `Length(0)` body ends without any.
        let mut ended = drain(&mut decoder, &mut buf, max, limits, &mut data)?;
        for feed in feeds {
            buf.extend_from_slice(feed);
            if ended {
                // After End nothing is consumed: the bytes belong to the next request.
                let before = buf.clone();
                assert_eq!(decoder.decode(&mut buf, max, limits), Ok(Decoded::End));
                assert_eq!(buf, before);
            } else {
                ended = drain(&mut decoder, &mut buf, max, limits, &mut data)?;
            }
        }
        Ok(ended.then(|| (data, buf.to_vec())))
    }

    fn assert_all_splits(input: &[u8], expected: Outcome) {
        assert_all_splits_with(&BodyDecoder::chunked(), &Limits::DEFAULT, input, expected);
    }

    fn assert_all_splits_with(
        decoder: &BodyDecoder,
        limits: &Limits,
        input: &[u8],
        expected: Outcome,
    ) {
        let with_pipelined = [input, PIPELINED].concat();
        let expected_pipelined = expected
            .clone()
            .map(|(data, left)| (data, [&left, PIPELINED].concat()));
        for (input, expected) in [(input, expected), (&with_pipelined[..], expected_pipelined)] {
            let mut cases: Vec<(String, Vec<&[u8]>)> = vec![("whole".into(), vec![input])];
            for at in 0..=input.len() {
                cases.push((format!("split at {at}"), vec![&input[..at], &input[at..]]));
            }
            cases.push(("one byte at a time".into(), input.chunks(1).collect()));
            for (name, feeds) in &cases {
                for max in [usize::MAX, 1, 3] {
                    let got = run(decoder, limits, feeds, max);
                    let input = input.escape_ascii();
                    assert_eq!(
                        got,
                        expected.clone().map(Some),
                        "{input}: {name}, max {max}"
                    );
                }
            }
        }
    }

    fn limits_with(edit: impl FnOnce(&mut Limits)) -> Limits {
        let mut limits = Limits::DEFAULT;
        edit(&mut limits);
        limits
    }

    // Twisted's `ChunkedTransferEncodingTests` cases.

    #[test]
    fn several_chunks() {
        assert_all_splits(
            b"3\r\nabc\r\n5\r\n12345\r\na\r\n0123456789\r\n0\r\n\r\n",
            ok(b"abc123450123456789", b""),
        );
    }

    #[test]
    fn empty_extensions_and_bytes_after() {
        assert_all_splits(
            b"a;\r\n1234567890\r\n0;\r\n\r\n...",
            ok(b"1234567890", b"..."),
        );
    }

    #[test]
    fn data_that_looks_like_framing() {
        assert_all_splits(b"2\r\n\r\n\r\n0\r\n\r\n", ok(b"\r\n", b""));
    }

    #[test]
    fn extension_is_ignored() {
        assert_all_splits(b"3; x-foo=bar\r\nabc\r\n0\r\n\r\n", ok(b"abc", b""));
        assert_all_splits(
            b"3;a=\"b c\";d\t\x80\xff\r\nabc\r\n0;e\r\n\r\n",
            ok(b"abc", b""),
        );
    }

    #[test]
    fn extension_with_bad_byte() {
        for bad in [&b"\0"[..], b"\\", b"\x7f", b"\n", b"\r", b"\x01"] {
            let input = [&b"3; x-foo="[..], bad, b"bar\r\nabc\r\n0\r\n\r\n"].concat();
            assert_all_splits(&input, Err(ProtocolErrorKind::InvalidChunkExtension));
            // Refused as soon as the byte after it arrives, without waiting for the CRLF.
            let early = [&b"3; x-foo="[..], bad, b"b"].concat();
            assert_all_splits(&early, Err(ProtocolErrorKind::InvalidChunkExtension));
        }
    }

    #[test]
    fn size_line_exactly_at_limit() {
        let input = [&b"3;"[..], &[b'.'; 1022], b"\r\nabc\r\n0\r\n\r\n..."].concat();
        assert_all_splits(&input, ok(b"abc", b"..."));
    }

    #[test]
    fn size_line_over_limit() {
        let input = [&b"3;"[..], &[b'.'; 1023], b"\r\nabc\r\n0\r\n\r\n"].concat();
        assert_all_splits(&input, Err(ProtocolErrorKind::InvalidChunkSize));
    }

    #[test]
    fn size_line_over_limit_detected_before_crlf() {
        let input = [&b"3;"[..], &[b'.'; 1025]].concat();
        assert_all_splits(&input, Err(ProtocolErrorKind::InvalidChunkSize));
        let decode = |input: &[u8]| {
            let mut buf = BytesMut::from(input);
            let decoded = BodyDecoder::chunked().decode(&mut buf, 8, &Limits::DEFAULT);
            decoded.map_err(|error| error.kind)
        };
        // 1024 bytes, then a CR: the CRLF may still come.
        let at_limit = [&b"3;"[..], &[b'.'; 1022]].concat();
        assert_eq!(decode(&at_limit), Ok(Decoded::Pending));
        assert_eq!(
            decode(&[&at_limit[..], b"\r"].concat()),
            Ok(Decoded::Pending)
        );
        // 1025 bytes that are not a CR: the line is already too long.
        let error = Err(ProtocolErrorKind::InvalidChunkSize);
        assert_eq!(decode(&[&at_limit[..], b"."].concat()), error);
        assert_eq!(decode(&[&at_limit[..], b"\r."].concat()), error);
    }

    #[test]
    fn size_line_limit_counts_the_size_digits() {
        let limits = limits_with(|limits| limits.chunk_line_bytes_max = 3);
        let decoder = BodyDecoder::chunked();
        assert_all_splits_with(
            &decoder,
            &limits,
            b"003\r\nabc\r\n0\r\n\r\n",
            ok(b"abc", b""),
        );
        let error = Err(ProtocolErrorKind::InvalidChunkSize);
        assert_all_splits_with(&decoder, &limits, b"0003\r\nabc\r\n0\r\n\r\n", error);
    }

    #[test]
    fn invalid_sizes() {
        for input in [
            &b"bloop\r\n"[..],
            b"-3\r\n",
            b"+3\r\n",
            b"0x3\r\n",
            b"3 \r\n",
            b" 3\r\n",
            b"3 ;x\r\n",
            b"\r\n",
            b";x\r\n",
            b"ffffffffffffffffff\r\n",
            b"10000000000000000\r\n",
            b"3\nabc\r\n0\r\n\r\n",
            b"3\rxabc\r\n0\r\n\r\n",
            b"3\r\r\n",
            // Refused before the line ends.
            b"bloop",
            b"-",
            b"3 ",
            b";",
            b"3\rx",
            b"1ffffffffffffffff",
        ] {
            assert_all_splits(input, Err(ProtocolErrorKind::InvalidChunkSize));
        }
    }

    #[test]
    fn hex_digits_in_either_case_with_leading_zeros() {
        let data = [b'x'; 0xab];
        let input = [&b"0Ab\r\n"[..], &data, b"\r\n00\r\n\r\n"].concat();
        assert_all_splits(&input, ok(&data, b""));
    }

    #[test]
    fn largest_size_does_not_overflow() {
        let mut buf = BytesMut::from(&b"ffffffffffffffff\r\nab"[..]);
        let mut decoder = BodyDecoder::chunked();
        let limits = Limits::DEFAULT;
        let data = decoder.decode(&mut buf, usize::MAX, &limits);
        assert_eq!(data, Ok(Decoded::Data(Bytes::from_static(b"ab"))));
        assert_eq!(
            decoder.decode(&mut buf, usize::MAX, &limits),
            Ok(Decoded::Pending)
        );
    }

    #[test]
    fn missing_crlf_after_data() {
        for input in [
            &b"3\r\nabc!!!!"[..],
            b"3\r\nabc!",
            b"3\r\nabc\r!",
            b"3\r\nabc\n",
        ] {
            assert_all_splits(input, Err(ProtocolErrorKind::InvalidChunkEnd));
        }
    }

    #[test]
    fn bytes_after_the_body_stay() {
        assert_all_splits(b"0\r\n\r\nhello", ok(b"", b"hello"));
    }

    #[test]
    fn trailers_are_discarded() {
        let input = b"0\r\nServer-Timing: total;dur=123.4\r\n\
                      Expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n";
        assert_all_splits(input, ok(b"", b""));
        assert_all_splits(b"1\r\nz\r\n0\r\na:\r\nb: c\r\n\r\nnext", ok(b"z", b"next"));
    }

    #[test]
    fn malformed_trailers() {
        for input in [
            &b"0\r\nno colon\r\n\r\n"[..],
            b"0\r\na: b\0\r\n\r\n",
            b"0\r\na: b\rc\r\n\r\n",
            b"0\r\na: b\n\r\n",
            b"0\r\n\n",
            b"0\r\n\r\r\n",
            b"0\r\n\rx",
        ] {
            assert_all_splits(input, Err(ProtocolErrorKind::InvalidTrailers));
        }
    }

    /// Feeds `input` in 1 KiB pieces, as a channel with a small receive buffer would, checking
    /// that the trailers never pile up in `buf`. Returns what `run` would.
    fn feed_by_kib(limits: &Limits, input: &[u8]) -> Ran {
        let mut decoder = BodyDecoder::chunked();
        let mut buf = BytesMut::new();
        let mut data = Vec::new();
        for piece in input.chunks(1024) {
            buf.extend_from_slice(piece);
            if drain(&mut decoder, &mut buf, usize::MAX, limits, &mut data)? {
                return Ok(Some((data, buf.to_vec())));
            }
            assert!(buf.len() <= 1, "{} bytes left unconsumed", buf.len());
        }
        Ok(None)
    }

    #[test]
    fn trailer_line_longer_than_a_receive_buffer() {
        let limits = Limits::DEFAULT;
        let line = [&b"x-big: "[..], &[b'a'; 40 * 1024]].concat();
        let input = [&b"1\r\nz\r\n0\r\n"[..], &line, b"\r\nb: c\r\n\r\nnext"].concat();
        assert_eq!(feed_by_kib(&limits, &input), ok(b"z", b"next").map(Some));
        // A line without a colon is still refused once its CRLF arrives.
        let input = [&b"0\r\n"[..], &[b'a'; 40 * 1024], b"\r\n\r\n"].concat();
        let error = Err(ProtocolErrorKind::InvalidTrailers);
        assert_eq!(feed_by_kib(&limits, &input), error);
        // And a NUL far into a long line as soon as it arrives.
        let input = [&b"0\r\na:"[..], &[b'a'; 20 * 1024], b"\0"].concat();
        assert_eq!(feed_by_kib(&limits, &input), error);
    }

    #[test]
    fn long_trailer_line_at_the_default_limit() {
        let limits = Limits::DEFAULT;
        let max = limits.trailer_bytes_max;
        // `k` bytes of field line, its CRLF and the final CRLF: exactly the limit.
        let section = |k: usize| [&b"a:"[..], &vec![b'b'; k - 2], b"\r\n\r\n"].concat();
        let input = [&b"0\r\n"[..], &section(max - 4), b"next"].concat();
        assert_eq!(feed_by_kib(&limits, &input), ok(b"", b"next").map(Some));
        let input = [&b"0\r\n"[..], &section(max - 3)].concat();
        let error = Err(ProtocolErrorKind::InvalidTrailers);
        assert_eq!(feed_by_kib(&limits, &input), error);
        // Refused before its CRLF: the byte past the room is enough.
        let input = [&b"0\r\na:"[..], &vec![b'b'; max - 5]].concat();
        assert_eq!(feed_by_kib(&limits, &input), error);
        let input = [&b"0\r\na:"[..], &vec![b'b'; max - 6]].concat();
        assert_eq!(feed_by_kib(&limits, &input), Ok(None));
    }

    #[test]
    fn trailer_limit_boundary() {
        let limits = limits_with(|limits| limits.trailer_bytes_max = 10);
        let decoder = BodyDecoder::chunked();
        // 8 bytes of field line, 2 of empty line: exactly 10.
        assert_all_splits_with(&decoder, &limits, b"0\r\na:1234\r\n\r\nx", ok(b"", b"x"));
        let error = Err(ProtocolErrorKind::InvalidTrailers);
        assert_all_splits_with(&decoder, &limits, b"0\r\na:12345\r\n\r\n", error.clone());
        // Two lines: 4 + 4 + 2, then 5 + 4 + 2.
        assert_all_splits_with(&decoder, &limits, b"0\r\na:\r\nb:\r\n\r\n", ok(b"", b""));
        assert_all_splits_with(&decoder, &limits, b"0\r\na:1\r\nb:\r\n\r\n", error);
    }

    #[test]
    fn trailer_limit_detected_before_the_line_ends() {
        let limits = limits_with(|limits| limits.trailer_bytes_max = 10);
        let decode = |input: &[u8]| {
            let mut buf = BytesMut::from(input);
            BodyDecoder::chunked()
                .decode(&mut buf, 8, &limits)
                .map_err(|error| error.kind)
        };
        // `a:1234` may still end with CRLF CRLF within 10 bytes; `a:12345` may not.
        assert_eq!(decode(b"0\r\na:1234"), Ok(Decoded::Pending));
        assert_eq!(decode(b"0\r\na:1234\r"), Ok(Decoded::Pending));
        assert_eq!(decode(b"0\r\na:1234\r\n"), Ok(Decoded::Pending));
        assert_eq!(decode(b"0\r\na:1234\r\n\r"), Ok(Decoded::Pending));
        assert_eq!(
            decode(b"0\r\na:12345"),
            Err(ProtocolErrorKind::InvalidTrailers)
        );
        // Twisted's example refuses `01234567\r` + `A`; we refuse at the 7th byte (module doc).
        assert_eq!(decode(b"0\r\n012345"), Ok(Decoded::Pending));
        let error = Err(ProtocolErrorKind::InvalidTrailers);
        assert_eq!(decode(b"0\r\n0123456"), error);
        assert_eq!(decode(b"0\r\n01234567\rA"), error);
    }

    #[test]
    fn empty_trailer_section_counts_two_bytes() {
        let decoder = BodyDecoder::chunked();
        let two = limits_with(|limits| limits.trailer_bytes_max = 2);
        assert_all_splits_with(&decoder, &two, b"0\r\n\r\nx", ok(b"", b"x"));
        let one = limits_with(|limits| limits.trailer_bytes_max = 1);
        let error = Err(ProtocolErrorKind::InvalidTrailers);
        assert_all_splits_with(&decoder, &one, b"0\r\n\r\n", error);
    }

    #[test]
    fn body_limit_boundary() {
        let limits = limits_with(|limits| limits.body_bytes_max = Some(5));
        let decoder = BodyDecoder::chunked();
        let input = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_all_splits_with(&decoder, &limits, input, ok(b"abcde", b""));
        let error = Err(ProtocolErrorKind::BodyTooLarge);
        assert_all_splits_with(
            &decoder,
            &limits,
            b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            error.clone(),
        );
        assert_all_splits_with(&decoder, &limits, b"ffffffffffffffff\r\n", error);
    }

    #[test]
    fn body_limit_refused_before_the_chunk_data() {
        let limits = limits_with(|limits| limits.body_bytes_max = Some(5));
        let mut decoder = BodyDecoder::chunked();
        let mut buf = BytesMut::from(&b"3\r\nabc\r\n3\r\ndef"[..]);
        let data = decoder.decode(&mut buf, usize::MAX, &limits);
        assert_eq!(data, Ok(Decoded::Data(Bytes::from_static(b"abc"))));
        let error = decoder.decode(&mut buf, usize::MAX, &limits);
        assert_eq!(
            error,
            Err(ProtocolError::from(ProtocolErrorKind::BodyTooLarge))
        );
    }

    #[test]
    fn length_body_is_not_checked_against_the_body_limit() {
        // A `Length` body's size is known from its head, so it is checked there, not here.
        let limits = limits_with(|limits| limits.body_bytes_max = Some(1));
        assert_all_splits_with(&BodyDecoder::length(3), &limits, b"abc", ok(b"abc", b""));
    }

    #[test]
    fn max_one_returns_one_byte_per_call() {
        let mut decoder = BodyDecoder::chunked();
        let mut buf = BytesMut::from(&b"3\r\nabc\r\n0\r\n\r\n"[..]);
        let limits = Limits::DEFAULT;
        for byte in [b"a", b"b", b"c"] {
            let data = decoder.decode(&mut buf, 1, &limits);
            assert_eq!(data, Ok(Decoded::Data(Bytes::from_static(byte))));
        }
        assert_eq!(decoder.decode(&mut buf, 1, &limits), Ok(Decoded::End));
        assert!(buf.is_empty());
    }

    #[test]
    fn max_zero_still_finds_the_end() {
        let limits = Limits::DEFAULT;
        let mut decoder = BodyDecoder::chunked();
        let mut buf = BytesMut::from(&b"0\r\n\r\nnext"[..]);
        assert_eq!(decoder.decode(&mut buf, 0, &limits), Ok(Decoded::End));
        assert!(decoder.is_done());
        assert_eq!(&buf[..], b"next");
        assert_all_splits_with(&BodyDecoder::length(0), &limits, b"", ok(b"", b""));
    }

    #[test]
    fn max_zero_consumes_framing_but_no_data() {
        let limits = Limits::DEFAULT;
        let mut decoder = BodyDecoder::chunked();
        let mut buf = BytesMut::from(&b"3;x\r\nabc\r\n0\r\n\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf, 0, &limits), Ok(Decoded::Pending));
        assert_eq!(&buf[..], b"abc\r\n0\r\n\r\n");
        assert!(!decoder.is_done());
        let data = decoder.decode(&mut buf, usize::MAX, &limits);
        assert_eq!(data, Ok(Decoded::Data(Bytes::from_static(b"abc"))));
        assert_eq!(decoder.decode(&mut buf, 0, &limits), Ok(Decoded::End));
    }

    #[test]
    fn end_is_repeated_and_consumes_nothing() {
        let limits = Limits::DEFAULT;
        for mut decoder in [BodyDecoder::chunked(), BodyDecoder::length(1)] {
            let mut buf = BytesMut::from(&b"0\r\n\r\n"[..]);
            let ended = drain(&mut decoder, &mut buf, usize::MAX, &limits, &mut Vec::new());
            assert_eq!(ended, Ok(true));
            let left = buf.clone();
            for _ in 0..3 {
                assert_eq!(
                    decoder.decode(&mut buf, usize::MAX, &limits),
                    Ok(Decoded::End)
                );
                assert_eq!(buf, left);
            }
        }
    }

    #[test]
    fn length_body() {
        let limits = Limits::DEFAULT;
        let decoder = BodyDecoder::length(5);
        assert_all_splits_with(&decoder, &limits, b"helloGET", ok(b"hello", b"GET"));
        assert_all_splits_with(&decoder, &limits, b"hello", ok(b"hello", b""));
    }

    #[test]
    fn length_zero_ends_at_once() {
        let mut decoder = BodyDecoder::length(0);
        let mut buf = BytesMut::from(&b"GET"[..]);
        assert_eq!(
            decoder.decode(&mut buf, 0, &Limits::DEFAULT),
            Ok(Decoded::End)
        );
        assert_eq!(&buf[..], b"GET");
        assert!(decoder.is_done());
    }

    #[test]
    fn length_waits_for_credit() {
        let limits = Limits::DEFAULT;
        let mut decoder = BodyDecoder::length(2);
        let mut buf = BytesMut::from(&b"ab"[..]);
        assert_eq!(decoder.decode(&mut buf, 0, &limits), Ok(Decoded::Pending));
        assert!(!decoder.is_done());
        let data = decoder.decode(&mut buf, 2, &limits);
        assert_eq!(data, Ok(Decoded::Data(Bytes::from_static(b"ab"))));
        assert_eq!(decoder.decode(&mut buf, 0, &limits), Ok(Decoded::End));
    }

    /// One chunk to encode: its data, extensions, the case of each hex digit, leading zeros.
    #[derive(Clone, Debug)]
    struct Chunk {
        data: Vec<u8>,
        extensions: Option<Vec<u8>>,
        upper_mask: u16,
        zeros: usize,
    }

    fn chunk(sizes: std::ops::Range<usize>) -> impl Strategy<Value = Chunk> {
        let extension_bytes: Vec<u8> = (0..=u8::MAX).filter(|&b| is_extension_byte(b)).collect();
        let extension_byte = prop::sample::select(extension_bytes);
        (
            prop::collection::vec(any::<u8>(), sizes),
            prop::option::of(prop::collection::vec(extension_byte, 0..24)),
            any::<u16>(),
            0..3usize,
        )
            .prop_map(|(data, extensions, upper_mask, zeros)| Chunk {
                data,
                extensions,
                upper_mask,
                zeros,
            })
    }

    fn encode_size_line(chunk: &Chunk, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(b'0', chunk.zeros));
        let hex = format!("{:x}", chunk.data.len());
        for (i, digit) in hex.bytes().enumerate() {
            let upper = chunk.upper_mask >> (i % 16) & 1 == 1;
            out.push(if upper {
                digit.to_ascii_uppercase()
            } else {
                digit
            });
        }
        if let Some(extensions) = &chunk.extensions {
            out.push(b';');
            out.extend_from_slice(extensions);
        }
        out.extend_from_slice(b"\r\n");
    }

    fn encode(chunks: &[Chunk], last: &Chunk, trailers: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            encode_size_line(chunk, &mut out);
            out.extend_from_slice(&chunk.data);
            out.extend_from_slice(b"\r\n");
        }
        encode_size_line(last, &mut out);
        out.extend_from_slice(trailers);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Cuts `bytes` at the given points into feeds.
    fn feeds<'a>(bytes: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut feeds = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([bytes.len()]) {
            feeds.push(&bytes[start..cut]);
            start = cut;
        }
        feeds
    }

    /// Bytes that matter to the chunked grammar, to reach deep states with random input.
    const ALPHABET: &[u8] = b"0123abcfF;: =\t\r\n\r\n\\\0\x7f\x80xZ";

    fn any_limits() -> impl Strategy<Value = Limits> {
        (0..40usize, 0..60usize, prop::option::of(0..2000u64)).prop_map(|(line, trailer, body)| {
            limits_with(|limits| {
                limits.chunk_line_bytes_max = line;
                limits.trailer_bytes_max = trailer;
                limits.body_bytes_max = body;
            })
        })
    }

    proptest! {
        #[test]
        fn chunked_round_trip(
            chunks in prop::collection::vec(chunk(1..300), 0..8),
            last in chunk(0..1),
            trailers in prop::sample::select(vec![&b""[..], b"a: b\r\n", b"x:\r\ny: z w\r\n"]),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            max in prop_oneof![Just(usize::MAX), 1..40usize],
        ) {
            let input = [&encode(&chunks, &last, trailers)[..], PIPELINED].concat();
            let got = run(&BodyDecoder::chunked(), &Limits::DEFAULT, &feeds(&input, &cuts), max);
            let data = chunks.iter().flat_map(|chunk| chunk.data.iter().copied()).collect();
            prop_assert_eq!(got, Ok(Some((data, PIPELINED.to_vec()))));
        }

        /// Valid bodies with a few bytes replaced: whatever the outcome, it is the same for
        /// every split (the kinds and the moment of early errors do not depend on reads).
        #[test]
        fn mutated_bodies_give_one_outcome_for_every_split(
            chunks in prop::collection::vec(chunk(1..40), 0..4),
            last in chunk(0..1),
            trailers in prop::sample::select(vec![&b""[..], b"a: b\r\n", b"x:\r\ny: z w\r\n"]),
            mutations in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(ALPHABET.to_vec())),
                1..3,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            max in prop_oneof![Just(usize::MAX), 1..40usize],
            limits in prop_oneof![Just(Limits::DEFAULT), any_limits()],
        ) {
            let mut input = [&encode(&chunks, &last, trailers)[..], PIPELINED].concat();
            for (at, byte) in mutations {
                let at = at.index(input.len());
                input[at] = byte;
            }
            let decoder = BodyDecoder::chunked();
            let split = run(&decoder, &limits, &feeds(&input, &cuts), max);
            prop_assert_eq!(split, run(&decoder, &limits, &[&input], usize::MAX));
        }

        #[test]
        fn random_bytes_never_panic(
            bytes in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..600),
                prop::collection::vec(prop::sample::select(ALPHABET.to_vec()), 0..600),
            ],
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            max in prop_oneof![Just(usize::MAX), 0..40usize],
            limits in prop_oneof![Just(Limits::DEFAULT), any_limits()],
            length in prop::option::of(0..700u64),
        ) {
            let decoder = length.map_or_else(BodyDecoder::chunked, BodyDecoder::length);
            let split = run(&decoder, &limits, &feeds(&bytes, &cuts), max);
            // Without credit a body stops at its data, so only runs with credit must agree.
            if max > 0 {
                prop_assert_eq!(split, run(&decoder, &limits, &[&bytes], usize::MAX));
            }
        }
    }
}
