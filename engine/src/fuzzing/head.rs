//! The `head_parser` target's properties, for any bytes and (see `limits_and_input`) the default
//! or small limits:
//! 1. No panic, and every error's status is its kind's.
//! 2. Split invariance, the parser's own promise (`h1/head_parser.rs`): a prefix's answer is
//!    `Partial` or exactly the whole input's answer, so an error reported early is the error
//!    the whole input gets, and a head found early is the same head. Bytes after a complete
//!    head, or after an error, change nothing.
//! 3. The entry points agree: `take_request_head` (the channel's one walk) finds what
//!    `parse_request_head` finds, takes exactly `consumed` bytes, and hands out the same
//!    method, target and fields; it may only add the refusals of the Host rule and the body
//!    framing.
//! 4. Differential against httparse: a head we accept is one httparse accepts, complete, with
//!    the same method, target, version, fields and length.

use bytes::BytesMut;

use super::{fnv1a, limits_and_input, shown};
use crate::config::Limits;
use crate::error::{ProtocolError, ProtocolErrorKind as Kind};
use crate::h1::head_parser::{
    parse_request_head, parse_request_head_syntax, take_request_head, HeadSyntax, Parsed,
};
use crate::message::Version;

/// What the parser says about some bytes.
type Answer = Result<Parsed<HeadSyntax>, Kind>;

/// Inputs up to this long have every prefix checked; longer ones a sample of
/// [`PREFIX_SAMPLES`] prefixes (every prefix is quadratic, and slows the fuzzer down).
const ALL_PREFIXES_UP_TO: usize = 512;
const PREFIX_SAMPLES: usize = 256;

/// The next request of a pipeline, appended after a complete head.
const NEXT_REQUEST: &[u8] = b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

pub(super) fn check(data: &[u8]) {
    let (limits, input) = limits_and_input(data);
    let whole = parse(input, &limits);
    check_take_agrees(input, &limits, &whole);
    check_prefixes(input, &limits, &whole);
    check_bytes_after(input, &limits, &whole);
    if let Ok(Parsed::Complete { head, consumed }) = &whole {
        check_httparse_agrees(input, head, *consumed);
    }
}

/// Parses `buf` with both parse functions, which must agree (they share one walk).
fn parse(buf: &[u8], limits: &Limits) -> Answer {
    let answer = parse_request_head_syntax(buf, limits).map_err(kind);
    let plain = parse_request_head(buf, limits).map_err(kind);
    let expected_plain = match &answer {
        Ok(Parsed::Complete { consumed, .. }) => Ok(Parsed::Complete {
            head: (),
            consumed: *consumed,
        }),
        Ok(Parsed::Partial) => Ok(Parsed::Partial),
        Err(kind) => Err(*kind),
    };
    assert_eq!(
        plain,
        expected_plain,
        "parse_request_head and its syntax form disagree on {}",
        shown(buf)
    );
    answer
}

/// The kind of an error, after checking that its status is the kind's.
fn kind(error: ProtocolError) -> Kind {
    assert_eq!(
        error.status,
        error.kind.status(),
        "status of {:?}",
        error.kind
    );
    error.kind
}

/// Property 2: every prefix (or a sample of them) is `Partial` or the whole input's answer.
fn check_prefixes(input: &[u8], limits: &Limits, whole: &Answer) {
    let len = input.len();
    let check_prefix = |n: usize| {
        let part = parse(&input[..n], limits);
        assert!(
            matches!(part, Ok(Parsed::Partial)) || part == *whole,
            "split invariance: the prefix of {n} bytes answers {part:?}, the whole input \
             {whole:?}; input {}",
            shown(input)
        );
    };
    if len <= ALL_PREFIXES_UP_TO {
        (0..len).for_each(check_prefix);
    } else {
        (0..PREFIX_SAMPLES).for_each(|i| check_prefix(i * len / PREFIX_SAMPLES));
        // A split point of the input's own, wherever it falls.
        check_prefix(usize::try_from(fnv1a(input) % len as u64).unwrap_or(0));
    }
}

/// Property 2, continued: a complete head or an error does not depend on what follows (the
/// whole input is then a prefix of the longer one).
fn check_bytes_after(input: &[u8], limits: &Limits, whole: &Answer) {
    if matches!(whole, Ok(Parsed::Partial)) {
        return;
    }
    for after in [NEXT_REQUEST, b"\r\n\r\n", b"\0"] {
        let longer = [input, after].concat();
        assert_eq!(
            parse(&longer, limits),
            *whole,
            "bytes after the head changed the answer: {} then {}",
            shown(input),
            shown(after)
        );
    }
}

/// Property 3: `take_request_head` agrees with the two-step form.
fn check_take_agrees(input: &[u8], limits: &Limits, whole: &Answer) {
    let mut buf = BytesMut::from(input);
    // Stale scratch from an earlier head, which the function must clear.
    let mut fields = vec![(0..1, 1..2)];
    let taken = take_request_head(&mut buf, limits, &mut fields).map_err(kind);
    let text = shown(input);
    match whole {
        Ok(Parsed::Partial) => {
            assert_eq!(
                taken,
                Ok(None),
                "take_request_head on a partial head {text}"
            );
            assert_eq!(
                &buf[..],
                input,
                "a partial head was taken off the buffer: {text}"
            );
        }
        Err(error) => assert_eq!(taken.err(), Some(*error), "take_request_head on {text}"),
        Ok(Parsed::Complete { head, consumed }) => {
            assert_eq!(buf.len(), input.len() - consumed, "bytes taken for {text}");
            match taken {
                Ok(Some((request, _flags))) => {
                    assert_eq!(request.method.as_bytes(), &input[head.method.clone()]);
                    assert_eq!(request.target, &input[head.target.clone()]);
                    assert_eq!(request.version, head.version);
                    let fields: Vec<_> = request
                        .headers
                        .iter()
                        .map(|h| (shown(&h.name), shown(&h.value)))
                        .collect();
                    let expected: Vec<_> = head
                        .fields
                        .iter()
                        .map(|(n, v)| (shown(&input[n.clone()]), shown(&input[v.clone()])))
                        .collect();
                    assert_eq!(fields, expected, "fields taken from {text}");
                }
                // Only the Host rule and the body framing may refuse a complete head.
                Err(
                    Kind::InvalidHost
                    | Kind::ConflictingFraming
                    | Kind::ChunkedNotLast
                    | Kind::UnknownTransferCoding
                    | Kind::InvalidContentLength
                    | Kind::BodyTooLarge,
                ) => {}
                other => panic!("take_request_head answered {other:?} to {text}"),
            }
        }
    }
}

/// Property 4: httparse accepts what we accept, and reads it the same way.
///
/// The documented differences (DESIGN, and `h1/head_parser.rs`) are handled here one by one:
/// - HTTP/1.2 to 1.9 are served as HTTP/1.1 (RFC 9110 §2.5); httparse knows only 1.0 and
///   1.1, so its copy of the input says `HTTP/1.1`.
/// - A bare LF ends a line, and one leading empty line is tolerated (RFC 9112 §2.2). httparse
///   does both too (it skips any number of leading empty lines; we refuse a second one, which
///   never reaches this check), so nothing is changed for them and they are compared as is.
/// - Everything else we refuse and httparse accepts (limits, bytes 0x80-0xFF in a target,
///   obs-fold, whitespace between request-line parts) is never compared: only heads we accept
///   reach this function.
fn check_httparse_agrees(input: &[u8], head: &HeadSyntax, consumed: usize) {
    let mut copy = input.to_vec();
    if head.version == Version::Http11 {
        copy[head.version_bytes.end - 1] = b'1';
    }
    // httparse refuses a head with more fields than its array: one per line is enough.
    let lines = memchr::memchr_iter(b'\n', &copy[..consumed]).count();
    let mut fields = vec![httparse::EMPTY_HEADER; lines];
    let mut request = httparse::Request::new(&mut fields);
    let text = shown(input);
    match request.parse(&copy) {
        Ok(httparse::Status::Complete(theirs)) => {
            assert_eq!(theirs, consumed, "httparse's head length for {text}");
        }
        other => panic!("httparse answers {other:?} to a head we accept: {text}"),
    }
    let method = request.method.map(str::as_bytes);
    assert_eq!(
        method,
        Some(&input[head.method.clone()]),
        "method of {text}"
    );
    let target = request.path.map(str::as_bytes);
    assert_eq!(
        target,
        Some(&input[head.target.clone()]),
        "target of {text}"
    );
    let version = match head.version {
        Version::Http10 => 0,
        Version::Http11 => 1,
        Version::Http2 => panic!("the HTTP/1 parser yielded HTTP/2 for {text}"),
    };
    assert_eq!(request.version, Some(version), "version of {text}");
    let theirs: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|field| (shown(field.name.as_bytes()), shown(field.value)))
        .collect();
    let ours: Vec<(String, String)> = head
        .fields
        .iter()
        .map(|(name, value)| (shown(&input[name.clone()]), shown(&input[value.clone()])))
        .collect();
    assert_eq!(ours, theirs, "fields of {text}");
}
