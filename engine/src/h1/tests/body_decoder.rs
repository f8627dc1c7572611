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

fn assert_all_splits_with(decoder: &BodyDecoder, limits: &Limits, input: &[u8], expected: Outcome) {
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
    // Twisted's case: a `;` with no name after it. RFC 9112 §7.1.1 wants a name; twine accepts
    // it, as Twisted does, because the line still ends at the same CRLF for every parser.
    assert_all_splits(
        b"a;\r\n1234567890\r\n0;\r\n\r\n...",
        ok(b"1234567890", b"..."),
    );
    assert_all_splits(
        b"a;x \r\n1234567890\r\n0;y=z\t\r\n\r\n...",
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
        b"3;a=\"b c\";d\t=\t\"\x80\xff\"\r\nabc\r\n0;e\r\n\r\n",
        ok(b"abc", b""),
    );
}

// Extension syntax (RFC 9112 §7.1.1): checked, then ignored.

#[test]
fn quoted_pair_in_extension_is_accepted() {
    assert_all_splits(
        b"5;name=\"a\\\"b\"\r\nhello\r\n0\r\n\r\n",
        ok(b"hello", b""),
    );
}

#[test]
fn valid_extension_syntax_is_accepted() {
    for line in [
        &b"5;a=b;c=\"x y\";d"[..],
        // BWS around `;` and `=`.
        b"5; a = \"q\"",
        b"5;a ;b\t;\tc=d ;e",
        // An empty quoted-string, and quoted-pairs of a backslash, a DQUOTE, HTAB, SP and
        // obs-text; a `;` or `=` inside quotes is data, not a separator.
        b"5;a=\"\"",
        b"5;a=\"\\\\\\\"\\\t\\ \\\xff\"",
        b"5;a=\"x;y=z\";b",
        b"5;a=!#$%&'*+-.^_`|~09AZaz",
    ] {
        let input = [line, b"\r\nhello\r\n0;z\r\n\r\n"].concat();
        assert_all_splits(&input, ok(b"hello", b""));
    }
}

#[test]
fn whitespace_after_the_size_is_refused() {
    // By design, although RFC 9112 allows BWS before the `;`: a size line has no whitespace.
    for input in [&b"5 ;"[..], b"5 ;a\r\nhello\r\n0\r\n\r\n", b"5\t;a\r\n"] {
        assert_all_splits(input, Err(ProtocolErrorKind::InvalidChunkSize));
    }
}

#[test]
fn invalid_extension_syntax_is_refused() {
    for line in [
        // The line ends inside an extension: an open quoted-string, a lone backslash, after
        // `=`. (After `;` or in trailing BWS is a documented leniency.)
        &b"5;a=\"b"[..],
        b"5;a=\"b\\",
        b"5;a=",
        b"5;a =",
        // A backslash outside a quoted-string.
        b"5;a=\\\"b\"",
        b"5;a\\b",
        b"5;\\",
        // No name, no value, or not a token.
        b"5;=b",
        b"5;a==b",
        b"5;a b",
        b"5;a=b c",
        b"5;a=b\"",
        b"5;a=\"b\"c",
        b"5;a=\"b\"\"c\"",
        b"5;a=\xff",
        b"5;a@b",
        b"5;a=b,c",
        // A quoted-pair escaping a control byte.
        b"5;a=\"\\\x01\"",
        b"5;a=\"\\\0\"",
        b"5;a=\"\\\x7f\"",
        b"5;a=\"\\\rb\"",
        // A control byte in a quoted-string.
        b"5;a=\"\x01\"",
        b"5;a=\"\x7f\"",
        b"5;a=\"\rb\"",
    ] {
        let input = [line, b"\r\nhello\r\n0\r\n\r\n"].concat();
        assert_all_splits(&input, Err(ProtocolErrorKind::InvalidChunkExtension));
    }
    // A CRLF inside a quoted-string ends the line there: not smuggled as data.
    assert_all_splits(
        b"5;a=\"\r\n\"\r\nhello\r\n0\r\n\r\n",
        Err(ProtocolErrorKind::InvalidChunkExtension),
    );
}

#[test]
fn invalid_extension_syntax_is_refused_before_the_line_ends() {
    for prefix in [
        &b"5;a b"[..],
        b"5;=",
        b"5;a==",
        b"5;a=\\",
        b"5;a=\"b\"c",
        b"5;a=\"\\\x01",
        b"5;a=\"\\\rx",
        b"5;a=\"\rx",
    ] {
        assert_all_splits(prefix, Err(ProtocolErrorKind::InvalidChunkExtension));
    }
}

/// Asserts that `input` is a valid prefix: the body waits for more, however it is split.
fn assert_pending_all_splits(input: &[u8]) {
    let decoder = BodyDecoder::chunked();
    let limits = Limits::DEFAULT;
    for at in 0..=input.len() {
        for max in [usize::MAX, 0, 1] {
            let got = run(&decoder, &limits, &[&input[..at], &input[at..]], max);
            let shown = input.escape_ascii();
            assert_eq!(got, Ok(None), "{shown}: split at {at}, max {max}");
        }
    }
}

#[test]
fn valid_extension_prefixes_wait_for_the_line_end() {
    for prefix in [
        &b"5;"[..],
        b"5; ",
        b"5;a",
        b"5;a ",
        b"5;a=",
        b"5;a= ",
        b"5;a=\"",
        b"5;a=\"b",
        b"5;a=\"b\\",
        b"5;a=\"b\\\"",
        b"5;a=\"b\"",
        b"5;a=\"b\" ",
        b"5;a=\"b\r",
        b"5;a=\"b\\\r",
        b"5;a=b;",
    ] {
        assert_pending_all_splits(prefix);
    }
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
    /// A whole `chunk-ext`, possibly empty: what follows the size on its line.
    extensions: Vec<u8>,
    upper_mask: u16,
    zeros: usize,
}

/// BWS: nothing, or a few spaces and tabs.
fn bws() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![b' ', b'\t']), 0..3)
}

/// A token of 1 to 6 tchars.
fn token() -> impl Strategy<Value = Vec<u8>> {
    let tchars: Vec<u8> = (0..=u8::MAX).filter(|&b| is_token(&[b])).collect();
    prop::collection::vec(prop::sample::select(tchars), 1..6)
}

/// A quoted-string: qdtext and quoted-pairs (RFC 9110 §5.6.4).
fn quoted_string() -> impl Strategy<Value = Vec<u8>> {
    let qdtext: Vec<u8> = (0..=u8::MAX)
        .filter(|&b| matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF))
        .collect();
    let escaped: Vec<u8> = (0..=u8::MAX)
        .filter(|&b| matches!(b, b'\t' | b' '..=0x7E | 0x80..=0xFF))
        .collect();
    let part = prop_oneof![
        prop::sample::select(qdtext).prop_map(|b| vec![b]),
        prop::sample::select(escaped).prop_map(|b| vec![b'\\', b]),
    ];
    prop::collection::vec(part, 0..6)
        .prop_map(|parts| [&[b'"'][..], &parts.concat(), b"\""].concat())
}

/// A `chunk-ext` (RFC 9112 §7.1.1): zero or more `BWS ; BWS name [ BWS = BWS value ]`.
fn chunk_ext() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![token(), quoted_string()];
    let one = (bws(), token(), prop::option::of((bws(), bws(), value))).prop_map(
        |(before_name, name, value)| {
            let mut out = [&b";"[..], &before_name, &name].concat();
            if let Some((before_eq, after_eq, value)) = value {
                out.extend_from_slice(&[&before_eq[..], b"=", &after_eq, &value].concat());
            }
            out
        },
    );
    // BWS before the first `;` is refused by design (no whitespace after the size).
    prop::collection::vec((bws(), one), 0..3).prop_map(|extensions| {
        let mut out = Vec::new();
        for (i, (before_semicolon, extension)) in extensions.into_iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&before_semicolon);
            }
            out.extend_from_slice(&extension);
        }
        out
    })
}

fn chunk(sizes: std::ops::Range<usize>) -> impl Strategy<Value = Chunk> {
    (
        prop::collection::vec(any::<u8>(), sizes),
        chunk_ext(),
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
    out.extend_from_slice(&chunk.extensions);
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
const ALPHABET: &[u8] = b"0123abcfF;: =\t\r\n\r\n\\\"\0\x7f\x80xZ";

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
