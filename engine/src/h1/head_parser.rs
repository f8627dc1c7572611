//! The request head: finding it in received bytes, checking it, and deciding how the body is
//! framed (RFC 9112 §2–§6).
//!
//! Two steps, so that the channel can split the exact head bytes off its receive buffer and
//! freeze them without copying:
//! - [`parse_request_head`] runs on the raw bytes each time more arrive. It allocates nothing,
//!   and it reports an error as soon as the error is certain: a line over a limit is refused
//!   before its line ending arrives.
//! - [`build_request_head`] walks the frozen head again with the same code (`walk_head`), so the
//!   two steps cannot disagree, and hands out `Bytes::slice`s of it. It then decides the body
//!   framing ([`body_framing`]), which can still refuse the request.
//!
//! Every line goes through its checks in one order whether it is complete or still waiting for
//! its LF: length limits first, then content. That is what makes early errors safe: an error
//! reported for a prefix is exactly the error the whole input gets.
//!
//! Header lines are checked by our own code, not by `httparse::parse_headers`: the limits are
//! counted per line as Twisted counts them, a folded line must be told apart from a bad byte,
//! and `parse_headers` wants a caller-sized array while `header_count_max` is configurable (500
//! entries are 16 KiB of stack on every call). The byte classes are httparse's, and a property
//! test checks every header line against httparse.
//!
//! Where twine deliberately differs from Twisted (`notes/twisted.md` §1.2, §1.3): a bare LF
//! ends a line (Twisted waits for a CRLF forever); limits answer 414 and 431 (Twisted closes
//! silently or answers 400); target bytes 0x7F–0xB0 are refused; HTTP/1.2–1.9 are served as
//! HTTP/1.1; obs-fold, and VT or FF in a value, are refused (Twisted joins folds and keeps VT
//! and FF); HTTP/1.1 needs a Host; `Transfer-Encoding: identity` is refused rather than ignored,
//! and an unknown transfer coding gets 501.

use std::ops::Range;

use bytes::Bytes;
use memchr::memchr;

use crate::config::Limits;
use crate::error::{ProtocolError, ProtocolErrorKind as Kind};
use crate::message::{is_token, BodyLength, Headers, Method, RequestHead, Version};

/// Whether the bytes hold a complete head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed<T> {
    /// A complete head: `buf[..consumed]`, with at most one tolerated leading empty line.
    Complete {
        /// What was parsed.
        head: T,
        /// The length of the head, line endings and the final empty line included.
        consumed: usize,
    },
    /// No complete head yet, and nothing received so far is over a limit or malformed.
    Partial,
}

/// What a head says about the connection, beside the [`RequestHead`] itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeadFlags {
    /// The framing is faulty: `Transfer-Encoding` on HTTP/1.0. The body is read as chunked and
    /// the connection must close after this request, whatever `Connection` says (RFC 9112 §6.1).
    pub(crate) close_after: bool,
}

/// `buf` holds received bytes from where a request starts. Pure function; it allocates nothing,
/// so it can run again each time more bytes trickle in.
///
/// `Ok(Partial)`: no complete head yet, and nothing seen so far is over a limit or malformed.
/// `Ok(Complete { consumed, .. })`: the head (and at most one tolerated leading empty line) is
/// `buf[..consumed]`; hand exactly those bytes to [`build_request_head`].
pub(crate) fn parse_request_head(buf: &[u8], limits: &Limits) -> Result<Parsed<()>, ProtocolError> {
    Ok(match walk_head(buf, limits, |_, _| {})? {
        Parsed::Complete { consumed, .. } => Parsed::Complete { head: (), consumed },
        Parsed::Partial => Parsed::Partial,
    })
}

/// Builds the head from exactly `buf[..consumed]` of a complete [`parse_request_head`], frozen
/// into `Bytes`: the method, target, names and values are zero-copy slices of `head`. Decides
/// the body framing, which can still refuse the request.
///
/// Panics if `head` is not exactly one complete head: that is a bug in the caller.
pub(crate) fn build_request_head(
    head: Bytes,
    limits: &Limits,
) -> Result<(RequestHead, HeadFlags), ProtocolError> {
    // The line count bounds the field count, so the Vec is allocated once.
    let lines = memchr::memchr_iter(b'\n', &head).count();
    let mut headers = Headers::with_capacity(lines.saturating_sub(2));
    let walked = walk_head(&head, limits, |name, value| {
        headers.append(head.slice(name), head.slice(value));
    })?;
    let line = match walked {
        Parsed::Complete {
            head: line,
            consumed,
        } if consumed == head.len() => line,
        // Invariant: the caller passes exactly the bytes that a Complete parse consumed.
        _ => panic!("build_request_head needs exactly one complete head"),
    };
    check_host(line.version, &headers)?;
    let (body, close_after) = body_framing(line.version, &headers, limits)?;
    // RFC 9110 §10.1.1. An HTTP/1.0 client is never sent a 1xx (RFC 9110 §15.2).
    let expect_continue = line.version == Version::Http11
        && headers
            .get("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    let request = RequestHead {
        method: Method::new(head.slice(line.method)),
        target: head.slice(line.target),
        version: line.version,
        headers,
        body,
        expect_continue,
    };
    Ok((request, HeadFlags { close_after }))
}

/// The request line, as ranges of the buffer it was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RequestLine {
    method: Range<usize>,
    target: Range<usize>,
    version: Version,
}

/// One complete line of the head: `buf[start..end]` is its content without the line ending,
/// and the next line starts at `next`.
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

impl Line {
    fn len(self) -> usize {
        self.end - self.start
    }

    fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// The line that starts at `start`, if its LF has arrived. RFC 9112 §2.2: CRLF ends a line, and
/// so does a bare LF. A CR anywhere else stays in the content, where the line checks refuse it.
fn next_line(buf: &[u8], start: usize) -> Option<Line> {
    let lf = start + memchr(b'\n', buf.get(start..)?)?;
    let end = if lf > start && buf[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    };
    Some(Line {
        start,
        end,
        next: lf + 1,
    })
}

/// The shortest content a line still waiting for its LF can end up with: a final CR may be the
/// first half of a CRLF, any other byte is content.
fn open_line_len(tail: &[u8]) -> usize {
    tail.len() - usize::from(tail.last() == Some(&b'\r'))
}

/// Walks the head line by line, checks each line as soon as it is complete, and calls
/// `on_header` with the ranges of each field's name and value.
fn walk_head(
    buf: &[u8],
    limits: &Limits,
    mut on_header: impl FnMut(Range<usize>, Range<usize>),
) -> Result<Parsed<RequestLine>, ProtocolError> {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line
    // (old clients send a CRLF after a POST body). Twisted eats exactly one, and so do we.
    let mut start = 0;
    let line = loop {
        let Some(line) = next_line(buf, start) else {
            return open_request_line(&buf[start..], limits);
        };
        if !line.is_empty() {
            break line;
        }
        if start > 0 {
            return fail(Kind::LeadingEmptyLines);
        }
        start = line.next;
    };
    let request_line = parse_request_line(&buf[line.start..line.end], line.start, limits)?;
    // Twisted's counting: line lengths without line endings, summed. It cannot overflow: the
    // sum is at most `buf.len()`.
    let mut head_bytes = line.len();
    let mut header_count = 0_usize;
    start = line.next;
    loop {
        let Some(line) = next_line(buf, start) else {
            return open_header_line(&buf[start..], head_bytes, limits);
        };
        if line.is_empty() {
            return Ok(Parsed::Complete {
                head: request_line,
                consumed: line.next,
            });
        }
        // Limits before content, as in `open_header_line`.
        head_bytes += line.len();
        if head_bytes > limits.head_bytes_max {
            return fail(Kind::HeadTooLarge);
        }
        header_count += 1;
        if header_count > limits.header_count_max {
            return fail(Kind::TooManyHeaders);
        }
        let (name, value) = parse_header_line(&buf[line.start..line.end])?;
        on_header(shift(name, line.start), shift(value, line.start));
        start = line.next;
    }
}

/// A request line whose LF has not arrived: refused now if it is already too long, whatever
/// follows. Only the request-line limit is certain this early: were `head_bytes_max` the smaller
/// limit, the complete line would get 431, or 414 if it grew past the other limit too.
fn open_request_line<T>(tail: &[u8], limits: &Limits) -> Result<Parsed<T>, ProtocolError> {
    if open_line_len(tail) > limits.request_line_bytes_max {
        return fail(Kind::UriTooLong);
    }
    Ok(Parsed::Partial)
}

/// A header line whose LF has not arrived (or the final empty line): refused now if the head
/// is already too large, whatever follows.
fn open_header_line<T>(
    tail: &[u8],
    head_bytes: usize,
    limits: &Limits,
) -> Result<Parsed<T>, ProtocolError> {
    if head_bytes + open_line_len(tail) > limits.head_bytes_max {
        return fail(Kind::HeadTooLarge);
    }
    Ok(Parsed::Partial)
}

/// Checks a complete request line (RFC 9112 §3), `method SP request-target SP HTTP-version`,
/// which starts at offset `at` of the buffer.
fn parse_request_line(
    line: &[u8],
    at: usize,
    limits: &Limits,
) -> Result<RequestLine, ProtocolError> {
    // Limits before content, as in `open_request_line`.
    if line.len() > limits.request_line_bytes_max {
        return fail(Kind::UriTooLong);
    }
    if line.len() > limits.head_bytes_max {
        return fail(Kind::HeadTooLarge);
    }
    // RFC 9112 §3: lenient parsers also split on HTAB, VT, FF or a bare CR. Such a line means
    // different things to different parsers along a chain, so it is refused outright.
    if line
        .iter()
        .any(|&b| matches!(b, b'\t' | b'\x0b' | b'\x0c' | b'\r'))
    {
        return fail(Kind::InvalidRequestLine);
    }
    // "GET /" (HTTP/0.9) has a single SP.
    let Some(sp1) = memchr(b' ', line) else {
        return fail(Kind::InvalidRequestLine);
    };
    let Some(sp2) = memchr(b' ', &line[sp1 + 1..]).map(|i| sp1 + 1 + i) else {
        return fail(Kind::InvalidRequestLine);
    };
    let (method, target, version) = (&line[..sp1], &line[sp1 + 1..sp2], &line[sp2 + 1..]);
    // Exactly one SP between parts: an empty part is a doubled, leading or trailing SP.
    if method.is_empty() || target.is_empty() || version.is_empty() || version.contains(&b' ') {
        return fail(Kind::InvalidRequestLine);
    }
    if !is_token(method) {
        return fail(Kind::InvalidMethod);
    }
    // RFC 9112 §3.2: every form of request-target is visible ASCII. (Twisted's bound was 176,
    // meant as octal, and so let 0x7F–0xB0 through.)
    if !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return fail(Kind::InvalidTarget);
    }
    let version = parse_version(version)?;
    Ok(RequestLine {
        method: at..at + sp1,
        target: at + sp1 + 1..at + sp2,
        version,
    })
}

/// RFC 9112 §2.3: `HTTP-version = "HTTP/" DIGIT "." DIGIT`, case-sensitive. RFC 9110 §2.5: a
/// higher minor version of 1 is served as the highest we implement, 1.1; other majors get 505.
fn parse_version(version: &[u8]) -> Result<Version, ProtocolError> {
    match *version {
        [b'H', b'T', b'T', b'P', b'/', major @ b'0'..=b'9', b'.', minor @ b'0'..=b'9'] => {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::Http10),
                (b'1', _) => Ok(Version::Http11),
                _ => fail(Kind::UnsupportedVersion),
            }
        }
        _ => fail(Kind::InvalidVersion),
    }
}

/// Checks a complete header line (RFC 9112 §5) and returns where its name and its value are,
/// relative to the line.
fn parse_header_line(line: &[u8]) -> Result<(Range<usize>, Range<usize>), ProtocolError> {
    // RFC 9112 §2.2: a bare CR is refused, whatever else is wrong with the line.
    if memchr(b'\r', line).is_some() {
        return fail(Kind::InvalidHeader);
    }
    // RFC 9112 §5.2: a server MUST either reject obs-fold or replace it with SP; we reject it,
    // which also covers whitespace between the request line and the first field (§2.2).
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return fail(Kind::ObsoleteFold);
    }
    let Some(colon) = memchr(b':', line) else {
        return fail(Kind::InvalidHeader);
    };
    // RFC 9112 §5.1: no whitespace between the name and the colon; `is_token` refuses it.
    if !is_token(&line[..colon]) {
        return fail(Kind::InvalidHeader);
    }
    let value = shift(ows_trimmed(&line[colon + 1..]), colon + 1);
    if !line[value.clone()].iter().all(|&b| is_field_byte(b)) {
        return fail(Kind::InvalidHeader);
    }
    Ok((0..colon, value))
}

/// RFC 9110 §5.5: a field value is VCHAR, obs-text (0x80–0xFF), SP and HTAB. Every other CTL
/// (NUL, CR, LF, VT, FF, DEL, …) is refused: RFC 9110 only lets a recipient keep them, and
/// httparse refuses them too. Twisted kept VT and FF.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// Where `bytes` is without leading and trailing OWS, SP and HTAB only (RFC 9110 §5.5, §5.6.3).
fn ows_trimmed(bytes: &[u8]) -> Range<usize> {
    let is_ows = |b: &&u8| matches!(**b, b' ' | b'\t');
    let start = bytes.iter().take_while(is_ows).count();
    let end = bytes.len() - bytes[start..].iter().rev().take_while(is_ows).count();
    start..end
}

/// `range` moved `by` bytes further into the buffer.
fn shift(range: Range<usize>, by: usize) -> Range<usize> {
    range.start + by..range.end + by
}

/// Refuses the request: peer violations are values (STYLE.md item 3).
fn fail<T>(kind: Kind) -> Result<T, ProtocolError> {
    Err(ProtocolError::from(kind))
}

/// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host, and to any
/// request with more than one. (Twisted checked neither.)
fn check_host(version: Version, headers: &Headers) -> Result<(), ProtocolError> {
    let hosts = headers.get_all("host").take(2).count();
    if hosts > 1 || (hosts == 0 && version == Version::Http11) {
        return fail(Kind::InvalidHost);
    }
    Ok(())
}

/// How the request body is framed: the steps of RFC 9112 §6.3 that apply to a request, in
/// order (h11 `_body_framing`). The flag is `close_after` (see [`HeadFlags`]).
fn body_framing(
    version: Version,
    headers: &Headers,
    limits: &Limits,
) -> Result<(BodyLength, bool), ProtocolError> {
    // Steps 1 and 2 are about responses (to HEAD, 1xx, 204, 304, CONNECT) and do not apply.
    let mut content_lengths = headers.get_all("content-length");
    // Step 3: Transfer-Encoding with Content-Length "ought to be handled as an error": it is
    // the request smuggling vector (RFC 9112 §6.1, §11.2). We refuse rather than let TE win.
    if headers.contains("transfer-encoding") {
        if content_lengths.next().is_some() {
            return fail(Kind::ConflictingFraming);
        }
        check_transfer_codings(headers)?;
        // RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0 is faulty framing; close afterwards.
        return Ok((BodyLength::Chunked, version == Version::Http10));
    }
    // Step 6: a request with neither field has no body.
    let Some(value) = content_lengths.next() else {
        return Ok((BodyLength::Known(0), false));
    };
    // Step 4: several Content-Lengths are refused even when equal (as Twisted does): §6.3 lets
    // a recipient merge equal ones, but a proxy in front may have picked either.
    if content_lengths.next().is_some() {
        return fail(Kind::ConflictingFraming);
    }
    // Step 5.
    let length = parse_content_length(value)?;
    if limits.body_bytes_max.is_some_and(|max| length > max) {
        return fail(Kind::BodyTooLarge);
    }
    Ok((BodyLength::Known(length), false))
}

/// RFC 9112 §6.1, §7: the codings of all `Transfer-Encoding` fields form one list, compared
/// case-insensitively. `chunked` must be last and appear once (else 400); we implement no
/// other coding, so any other before it is 501 ("SHOULD respond with 501", §6.1). Empty list
/// elements are ignored (RFC 9110 §5.6.1), so a field with none at all fails the first rule.
fn check_transfer_codings(headers: &Headers) -> Result<(), ProtocolError> {
    let codings = headers
        .get_all("transfer-encoding")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(|coding| &coding[ows_trimmed(coding)])
        .filter(|coding| !coding.is_empty());
    let (mut chunked_count, mut last_is_chunked, mut other) = (0_usize, false, false);
    for coding in codings {
        // A coding with parameters (`chunked;x=1`) is not `chunked`: it has none (§7.1).
        last_is_chunked = coding.eq_ignore_ascii_case(b"chunked");
        if last_is_chunked {
            chunked_count += 1;
        } else {
            other = true;
        }
    }
    if !last_is_chunked || chunked_count > 1 {
        return fail(Kind::ChunkedNotLast);
    }
    if other {
        return fail(Kind::UnknownTransferCoding);
    }
    Ok(())
}

/// RFC 9110 §8.6: `Content-Length = 1*DIGIT`: no sign, no list, no whitespace inside (the
/// value is already trimmed of OWS). Checked arithmetic: an overflow is invalid.
fn parse_content_length(value: &[u8]) -> Result<u64, ProtocolError> {
    if value.is_empty() {
        return fail(Kind::InvalidContentLength);
    }
    let digits = value.iter().try_fold(0_u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    });
    digits.ok_or_else(|| ProtocolError::from(Kind::InvalidContentLength))
}

#[cfg(test)]
mod tests {
    //! Goal: every rule of the head parser and of the body framing, and the promises of the
    //! two-step interface. Method: every case goes through `assert_all_splits` (whole input,
    //! every prefix as bytes trickle in, and trailing bytes after it); property tests add
    //! arbitrary and HTTP-like inputs, and compare header lines with httparse.

    use bytes::BytesMut;
    use proptest::prelude::*;

    use super::*;
    use crate::error::ProtocolErrorKind;

    /// What a head must parse into: the request's fields, and `close_after`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct ExpectedHead {
        method: Vec<u8>,
        target: Vec<u8>,
        version: Version,
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        body: BodyLength,
        expect_continue: bool,
        close_after: bool,
    }

    impl ExpectedHead {
        fn new(method: &str, target: &[u8], version: Version) -> ExpectedHead {
            ExpectedHead {
                method: method.into(),
                target: target.into(),
                version,
                headers: Vec::new(),
                body: BodyLength::Known(0),
                expect_continue: false,
                close_after: false,
            }
        }

        /// `GET /` on HTTP/1.1 with `Host: a`, the shape of most cases.
        fn get11() -> ExpectedHead {
            ExpectedHead::new("GET", b"/", Version::Http11).header("Host", b"a")
        }

        fn header(mut self, name: &str, value: &[u8]) -> ExpectedHead {
            self.headers.push((name.into(), value.into()));
            self
        }

        fn body(mut self, body: BodyLength) -> ExpectedHead {
            self.body = body;
            self
        }

        fn expect_continue(mut self) -> ExpectedHead {
            self.expect_continue = true;
            self
        }

        fn close_after(mut self) -> ExpectedHead {
            self.close_after = true;
            self
        }

        fn of(head: &RequestHead, flags: HeadFlags) -> ExpectedHead {
            ExpectedHead {
                method: head.method.as_bytes().to_vec(),
                target: head.target.to_vec(),
                version: head.version,
                headers: head
                    .headers
                    .iter()
                    .map(|h| (h.name.to_vec(), h.value.to_vec()))
                    .collect(),
                body: head.body,
                expect_continue: head.expect_continue,
                close_after: flags.close_after,
            }
        }
    }

    /// What the channel gets from `buf`: `Ok(None)` while partial, else the head and `consumed`.
    type Answer = Result<Option<(ExpectedHead, usize)>, ProtocolErrorKind>;

    /// Parses, then splits and freezes the head as the channel does, and builds it.
    fn run(buf: &[u8], limits: &Limits) -> Answer {
        let consumed = match parse_request_head(buf, limits).map_err(|e| e.kind)? {
            Parsed::Partial => return Ok(None),
            Parsed::Complete { head: (), consumed } => consumed,
        };
        let mut received = BytesMut::from(buf);
        let head = received.split_to(consumed).freeze();
        let (request, flags) = build_request_head(head.clone(), limits).map_err(|e| e.kind)?;
        assert_zero_copy(&request, &head);
        Ok(Some((ExpectedHead::of(&request, flags), consumed)))
    }

    /// Every non-empty slice in `request` points into `head`. (`Bytes::slice` of an empty range
    /// is a static empty `Bytes`, which copies nothing either.)
    fn assert_zero_copy(request: &RequestHead, head: &Bytes) {
        let within = |part: &[u8]| {
            let range = head.as_ptr_range();
            part.is_empty()
                || (range.start <= part.as_ptr() && part.as_ptr_range().end <= range.end)
        };
        assert!(within(request.method.as_bytes()) && within(&request.target));
        assert!(request
            .headers
            .iter()
            .all(|h| within(&h.name) && within(&h.value)));
    }

    const NEXT_REQUEST: &[u8] = b"GET /next HTTP/1.1\r\n";

    /// `input` parses as `expected`, with default limits (see `assert_all_splits_with`).
    fn assert_all_splits(input: &[u8], expected: Result<ExpectedHead, ProtocolErrorKind>) {
        assert_all_splits_with(input, &Limits::DEFAULT, expected);
    }

    /// The whole `input` gives `expected` (a head must span all of `input`); fed byte by byte,
    /// every prefix is Partial or already that very answer (an error may come early, never a
    /// different one); and with the next request's bytes after it the answer, `consumed`
    /// included, is the same.
    fn assert_all_splits_with(
        input: &[u8],
        limits: &Limits,
        expected: Result<ExpectedHead, ProtocolErrorKind>,
    ) {
        let want: Answer = expected.map(|head| Some((head, input.len())));
        assert_eq!(
            run(input, limits),
            want,
            "whole input {:?}",
            input.escape_ascii()
        );
        for n in 0..input.len() {
            let got = run(&input[..n], limits);
            if got != Ok(None) {
                assert_eq!(
                    got,
                    want,
                    "prefix of {n} bytes of {:?}",
                    input.escape_ascii()
                );
            }
        }
        let longer = [input, NEXT_REQUEST].concat();
        assert_eq!(
            run(&longer, limits),
            want,
            "with trailing bytes: {:?}",
            input.escape_ascii()
        );
    }

    /// A head from its lines: each ends with CRLF, then the final empty line.
    fn head(lines: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        for line in lines {
            buf.extend_from_slice(line);
            buf.extend_from_slice(b"\r\n");
        }
        buf.extend_from_slice(b"\r\n");
        buf
    }

    /// `GET / HTTP/1.1`, `Host: a`, then `fields`.
    fn get11(fields: &[&[u8]]) -> Vec<u8> {
        head(&[&[b"GET / HTTP/1.1" as &[u8], b"Host: a"][..], fields].concat())
    }

    fn limits_with(change: impl FnOnce(&mut Limits)) -> Limits {
        let mut limits = Limits::DEFAULT;
        change(&mut limits);
        limits
    }

    use ProtocolErrorKind as K;

    // Request lines.

    #[test]
    fn get_keeps_names_in_order_and_case_and_trims_values() {
        let input = head(&[
            b"GET /a?b=c HTTP/1.1",
            b"Host: example.com",
            b"X-Custom:  v1 \t",
            b"x-CUSTOM:v2",
            b"Accept:",
            b"Obs-Text: caf\xc3\xa9 \x80\xff",
        ]);
        let expected = ExpectedHead::new("GET", b"/a?b=c", Version::Http11)
            .header("Host", b"example.com")
            .header("X-Custom", b"v1")
            .header("x-CUSTOM", b"v2")
            .header("Accept", b"")
            .header("Obs-Text", b"caf\xc3\xa9 \x80\xff");
        assert_all_splits(&input, Ok(expected));
    }

    #[test]
    fn bare_lf_ends_lines() {
        // Twisted never completes such a head (case 40); RFC 9112 §2.2 lets us accept it.
        assert_all_splits(b"GET / HTTP/1.1\nHost: a\n\n", Ok(ExpectedHead::get11()));
        assert_all_splits(
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",
            Ok(ExpectedHead::get11()),
        );
        assert_all_splits(b"GET / HTTP/1.1\nHost: a\r\n\n", Ok(ExpectedHead::get11()));
    }

    #[test]
    fn one_leading_empty_line_is_tolerated() {
        let expected = ExpectedHead::new("GET", b"/", Version::Http10);
        assert_all_splits(b"\r\nGET / HTTP/1.0\r\n\r\n", Ok(expected.clone()));
        assert_all_splits(b"\nGET / HTTP/1.0\r\n\r\n", Ok(expected));
        // Twisted (V): a second one → 400.
        assert_all_splits(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n", Err(K::LeadingEmptyLines));
        assert_all_splits(b"\n\n", Err(K::LeadingEmptyLines));
        assert_all_splits(b"\r\n\n", Err(K::LeadingEmptyLines));
    }

    #[test]
    fn request_line_needs_exactly_one_space_between_parts() {
        // Twisted case 17 (each 400 there too). A tab or VT, even inside the target (Twisted
        // case 18 `POST /foo\t/bar`), is a separator to lenient parsers (RFC 9112 §3).
        for line in [
            &b"GET  / HTTP/1.0"[..],
            b"GET /  HTTP/1.0",
            b"GET\t/ HTTP/1.0",
            b"GET /\x0bHTTP/1.1",
            b"GET / HTTP/1.1 ",
            b" GET / HTTP/1.1",
            b"POST /foo\t/bar HTTP/1.1",
            b"GET /\x0c HTTP/1.1",
            b"POST  HTTP/1.1",
            b" /foo HTTP/1.1",
            // web2 case 61.
            b"GET / more HTTP/1.1",
            // HTTP/0.9 (Twisted case 4).
            b"GET /",
            b"GET",
        ] {
            assert_all_splits(&head(&[line]), Err(K::InvalidRequestLine));
        }
        assert_all_splits(b"GET /\r\n", Err(K::InvalidRequestLine));
    }

    #[test]
    fn methods_are_tokens_kept_as_sent() {
        // Twisted case 18.
        for line in [
            &b"GE\xc2\xa9 / HTTP/1.0"[..],
            b"GET\0 /foo HTTP/1.0",
            b"G(T / HTTP/1.0",
        ] {
            assert_all_splits(&head(&[line]), Err(K::InvalidMethod));
        }
        let expected = ExpectedHead::new("get", b"/", Version::Http10);
        assert_all_splits(b"get / HTTP/1.0\r\n\r\n", Ok(expected));
    }

    #[test]
    fn targets_are_visible_ascii() {
        // Twisted case 18 (NUL) and case 40: Twisted served 0x7F..=0xB0; twine refuses them.
        for target in [
            &b"/foo\0"[..],
            b"/\x7f",
            b"/\x80",
            b"/\xb0",
            b"/\xb1",
            b"/caf\xc3\xa9",
        ] {
            let line = [b"GET ", target, b" HTTP/1.0"].concat();
            assert_all_splits(&head(&[&line]), Err(K::InvalidTarget));
        }
        for target in [
            &b"*"[..],
            b"http://a.example/b?c#d",
            b"a.example:443",
            b"/\"{}|^`~",
        ] {
            let line = [b"OPTIONS ", target, b" HTTP/1.0"].concat();
            let expected = ExpectedHead::new("OPTIONS", target, Version::Http10);
            assert_all_splits(&head(&[&line]), Ok(expected));
        }
    }

    #[test]
    fn versions() {
        let http10 = ExpectedHead::new("GET", b"/", Version::Http10);
        assert_all_splits(b"GET / HTTP/1.0\r\n\r\n", Ok(http10));
        // RFC 9110 §2.5: a higher 1.x minor is served as HTTP/1.1 (Twisted case 18: 400).
        for minor in [&b"1"[..], b"2", b"9"] {
            let line = [b"HEAD /foo HTTP/1.", minor].concat();
            let expected = ExpectedHead::new("HEAD", b"/foo", Version::Http11).header("Host", b"a");
            assert_all_splits(&head(&[&line, b"Host: a"]), Ok(expected));
        }
        // web2 case 61 (505), and the HTTP/2 preface's request line.
        for version in [&b"HTTP/2.0"[..], b"HTTP/0.9", b"HTTP/3.0", b"HTTP/9.9"] {
            let line = [b"GET / ", version].concat();
            assert_all_splits(&head(&[&line]), Err(K::UnsupportedVersion));
        }
        assert_all_splits(
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            Err(K::UnsupportedVersion),
        );
        // web2 case 61 and Twisted case 18.
        for version in [
            &b"HTTP/1"[..],
            b"HTTP/-1.0",
            b"http/1.1",
            b"Foobar/1.0",
            b"HTTP/1.10",
            b"HTTP/11",
            b"HTTP/1,1",
            b"HTTP/1.1x",
            b"HTTP/a.b",
            b"HTTP/\xd9\xa1.1",
        ] {
            let line = [b"GET / ", version].concat();
            assert_all_splits(&head(&[&line]), Err(K::InvalidVersion));
        }
    }

    #[test]
    fn bare_cr_is_refused() {
        assert_all_splits(
            b"GET / HTTP/1.1\rHost: a\r\n\r\n",
            Err(K::InvalidRequestLine),
        );
        assert_all_splits(b"GET /\r HTTP/1.1\r\n\r\n", Err(K::InvalidRequestLine));
        assert_all_splits(b"\rGET / HTTP/1.1\r\n\r\n", Err(K::InvalidRequestLine));
        assert_all_splits(b"GET / HTTP/1.0\r\nX: a\rb\r\n\r\n", Err(K::InvalidHeader));
        assert_all_splits(b"GET / HTTP/1.0\r\n\rX: a\r\n\r\n", Err(K::InvalidHeader));
        // The final "empty" line is a bare CR followed by CRLF.
        assert_all_splits(b"GET / HTTP/1.0\r\n\r\r\n", Err(K::InvalidHeader));
        assert_all_splits(b"GET / HTTP/1.0\r\n \rX\r\n\r\n", Err(K::InvalidHeader));
    }

    // Limits.

    /// A request line of exactly `len` bytes: `GET /aaa… HTTP/1.0`.
    fn request_line_of(len: usize) -> Vec<u8> {
        let target = [b"/".as_slice(), &b"a".repeat(len - 14)].concat();
        [b"GET ", &target[..], b" HTTP/1.0"].concat()
    }

    #[test]
    fn request_line_limit_boundary() {
        let line = request_line_of(16_384);
        let expected = ExpectedHead::new("GET", &line[4..line.len() - 9], Version::Http10);
        assert_all_splits(&head(&[&line]), Ok(expected));
        // Twisted (case 38) closes silently at 16385; twine answers 414.
        let line = request_line_of(16_385);
        assert_all_splits(&head(&[&line]), Err(K::UriTooLong));
        // Detected before the line ending: 16385 bytes cannot be a 16384-byte line and its CR.
        let limits = Limits::DEFAULT;
        let too_long = parse_request_head(&line, &limits).map_err(|e| e.kind);
        assert_eq!(too_long, Err(K::UriTooLong));
        let at_limit = &request_line_of(16_384);
        assert_eq!(parse_request_head(at_limit, &limits), Ok(Parsed::Partial));
        let with_cr = [at_limit, &b"\r"[..]].concat();
        assert_eq!(parse_request_head(&with_cr, &limits), Ok(Parsed::Partial));
        // web2 case 61: 414.
        let line = [b"GET ", &b"/Bar".repeat(10_000)[..], b" HTTP/1.1"].concat();
        assert_all_splits(&head(&[&line, b"Host: a"]), Err(K::UriTooLong));
    }

    #[test]
    fn head_limit_boundary() {
        // 14 + 7 + (3 + 16_360) = 16_384 bytes, line endings not counted.
        let filler = b"f".repeat(16_360);
        let field = [b"X: ", &filler[..]].concat();
        let expected = ExpectedHead::get11().header("X", &filler);
        assert_all_splits(&get11(&[&field]), Ok(expected));
        let field = [&field[..], b"f"].concat();
        assert_all_splits(&get11(&[&field]), Err(K::HeadTooLarge));
        // Detected before the line ending arrives.
        let open = [&b"GET / HTTP/1.1\r\nHost: a\r\n"[..], &field].concat();
        let early = parse_request_head(&open, &Limits::DEFAULT).map_err(|e| e.kind);
        assert_eq!(early, Err(K::HeadTooLarge));
        // Twisted case 38: 8005 + 8405 bytes of fields → 400 there, 431 here.
        let a = [b"A: ", &b"a".repeat(8_002)[..]].concat();
        let b = [b"B: ", &b"b".repeat(8_402)[..]].concat();
        assert_all_splits(&get11(&[&a, &b]), Err(K::HeadTooLarge));
        // web2 case 61: a 30000-byte field line → 400 there, 431 here.
        let long = [b"Foo: ", &b"x".repeat(29_995)[..]].concat();
        assert_all_splits(&get11(&[&long]), Err(K::HeadTooLarge));
    }

    #[test]
    fn head_limit_counts_as_twisted_does() {
        // Twisted case 16, `totalHeadersSize` 10 and 40 (400 there, 431 here).
        let limits = limits_with(|l| l.head_bytes_max = 10);
        let input = head(&[b"GET /path/longer/than/10 HTTP/1.1"]);
        assert_all_splits_with(&input, &limits, Err(K::HeadTooLarge));
        let limits = limits_with(|l| l.head_bytes_max = 40);
        let input = head(&[
            b"GET /path/longer/than/10 HTTP/1.1",
            b"Some-Header: less-than-40",
        ]);
        assert_all_splits_with(&input, &limits, Err(K::HeadTooLarge));
        // The same with exactly 40 bytes passes (line endings and empty lines count 0).
        let input = [
            &b"\r\n"[..],
            &head(&[b"GET / HTTP/1.1", b"Host: a", b"Some-Head: less-400"]),
        ]
        .concat();
        let expected = ExpectedHead::get11().header("Some-Head", b"less-400");
        assert_all_splits_with(&input, &limits, Ok(expected));
        // The counter is per request: two heads of 21 bytes under a limit of 30.
        let limits = limits_with(|l| l.head_bytes_max = 30);
        let one = get11(&[]);
        let two = [&one[..], &one[..]].concat();
        let first = run(&two, &limits).map(|answer| answer.map(|(_, consumed)| consumed));
        assert_eq!(first, Ok(Some(one.len())));
        assert_all_splits_with(&two[one.len()..], &limits, Ok(ExpectedHead::get11()));
    }

    /// `GET / HTTP/1.1` with `count` fields: `Host: a`, then `Foo: Bar`s.
    fn with_fields(count: usize) -> (Vec<u8>, ExpectedHead) {
        let foos = vec![&b"Foo: Bar"[..]; count - 1];
        let mut expected = ExpectedHead::get11();
        for _ in &foos {
            expected = expected.header("Foo", b"Bar");
        }
        (get11(&foos), expected)
    }

    #[test]
    fn header_count_limit() {
        // Twisted (case 15, V): 500 pass, 501 and 502 → 400 there, 431 here.
        let (input, expected) = with_fields(500);
        assert_all_splits(&input, Ok(expected));
        assert_all_splits(&with_fields(501).0, Err(K::TooManyHeaders));
        assert_all_splits(&with_fields(502).0, Err(K::TooManyHeaders));
        // web2 case 61: 5000 × `Foo: Bar` → 400 there, 431 here.
        assert_all_splits(&with_fields(5_000).0, Err(K::TooManyHeaders));
        // Twisted case 14's `maxHeaders=1` counts per request.
        let limits = limits_with(|l| l.header_count_max = 1);
        assert_all_splits_with(&get11(&[]), &limits, Ok(ExpectedHead::get11()));
        assert_all_splits_with(&get11(&[b"X: y"]), &limits, Err(K::TooManyHeaders));
    }

    // Header lines.

    #[test]
    fn header_names_are_tokens_followed_by_a_colon() {
        // Twisted case 19, and web2 case 61 (`Blahblah`).
        for field in [
            &b"HeaderName "[..],
            b"Blahblah",
            b": foo",
            b"HeaderName : foo",
            b"HeaderName\t: foo",
            b"foo\x00bar: baz",
            b"foo\x1bbar: baz",
            b"Foo\x0bBar: baz",
            b"Foo Bar: baz",
            b"foo\xe2\x80\xbdbar: baz",
        ] {
            assert_all_splits(&get11(&[field]), Err(K::InvalidHeader));
        }
    }

    #[test]
    fn header_values_refuse_control_bytes() {
        // Twisted case 20 (`a\nb` makes a second line `b`, which has no colon).
        for field in [
            &b"x-foo: \x00"[..],
            b"x-foo: a\x00",
            b"x-foo: \x00baz",
            b"x-foo: a\rb",
            b"x-foo: a\rContent-Length: 5",
            b"x-foo: a\nb",
            b"x-foo: a\x7fb",
            b"x-foo: a\x01",
        ] {
            assert_all_splits(&get11(&[field]), Err(K::InvalidHeader));
        }
        // Twisted case 22 kept VT and FF; RFC 9110 §5.5 makes them invalid, as httparse does.
        let vt = b"line-tab:   \x0b vertical tab was preserved\x0b\t";
        assert_all_splits(&get11(&[vt]), Err(K::InvalidHeader));
        let ff = b"form-feed: \x0c form feed was preserved \x0c  ";
        assert_all_splits(&get11(&[ff]), Err(K::InvalidHeader));
        // Only SP and HTAB are trimmed; inside a value they stay.
        let expected = ExpectedHead::get11().header("X", b"a \t b");
        assert_all_splits(&get11(&[b"X: \t a \t b \t "]), Ok(expected));
    }

    #[test]
    fn obsolete_line_folding_is_refused() {
        // Twisted case 21 joined these; RFC 9112 §5.2 lets a server answer 400 instead.
        for fields in [
            &[&b"nospace: "[..], b" nospace\t"][..],
            &[b"space:space", b" space"],
            &[b"spaces: spaces", b"  spaces", b"   spaces"],
            &[b"tab: t", b"\ta", b"\tb"],
            // Twisted (V): a first field line starting with a space.
            &[b" X-A: a"],
            // A line of whitespace is not the empty line.
            &[b"  "],
        ] {
            let input = head(&[&[b"GET / HTTP/1.0" as &[u8]][..], fields].concat());
            assert_all_splits(&input, Err(K::ObsoleteFold));
        }
    }

    // Body framing and the rest of `build_request_head`.

    #[test]
    fn host_rules() {
        assert_all_splits(b"GET / HTTP/1.1\r\n\r\n", Err(K::InvalidHost));
        assert_all_splits(&get11(&[b"host: b"]), Err(K::InvalidHost));
        let expected = ExpectedHead::new("GET", b"/", Version::Http11).header("hOST", b"");
        assert_all_splits(b"GET / HTTP/1.1\r\nhOST:\r\n\r\n", Ok(expected));
        assert_all_splits(
            b"GET / HTTP/1.0\r\n\r\n",
            Ok(ExpectedHead::new("GET", b"/", Version::Http10)),
        );
        // RFC 9112 §3.2: more than one Host is refused on any version.
        assert_all_splits(
            b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
            Err(K::InvalidHost),
        );
    }

    #[test]
    fn transfer_encoding_rules() {
        let chunked = ExpectedHead::get11().body(BodyLength::Chunked);
        for value in [
            &b"chunked"[..],
            b"Chunked",
            b"CHUNKED",
            b"chunked,,",
            b", chunked",
            b" , chunked , ",
        ] {
            let field = [b"Transfer-Encoding: ", value].concat();
            let expected = chunked
                .clone()
                .header("Transfer-Encoding", field[19..].trim_ascii());
            assert_all_splits(&get11(&[&field]), Ok(expected));
        }
        // Codings are one list across fields.
        let fields: [&[u8]; 2] = [b"Transfer-Encoding: ", b"transfer-encoding: chunked"];
        let expected = chunked
            .clone()
            .header("Transfer-Encoding", b"")
            .header("transfer-encoding", b"chunked");
        assert_all_splits(&get11(&fields), Ok(expected));
        // 400: web2 case 61 (`gzip`), Twisted case 24 (`unknown`); Twisted ignored `identity`.
        for fields in [
            &[&b"Transfer-Encoding: gzip"[..]][..],
            &[b"Transfer-Encoding: identity"],
            &[b"Transfer-Encoding: unknown"],
            &[b"Transfer-Encoding: chunked, gzip"],
            &[b"Transfer-Encoding: chunked, chunked"],
            &[b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
            &[b"Transfer-Encoding: gzip, chunked, chunked"],
            &[b"Transfer-Encoding: chunked;x=1"],
            &[b"Transfer-Encoding:"],
            &[b"Transfer-Encoding: , ,"],
        ] {
            assert_all_splits(&get11(fields), Err(K::ChunkedNotLast));
        }
        // 501: web2 case 61.
        for fields in [
            &[&b"Transfer-Encoding: blahblahblah, chunked"[..]][..],
            &[b"Transfer-Encoding: gzip, chunked"],
            &[b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"],
        ] {
            assert_all_splits(&get11(fields), Err(K::UnknownTransferCoding));
        }
    }

    #[test]
    fn transfer_encoding_on_http10_closes_after() {
        // RFC 9112 §6.1; Twisted case 26 reads such a body as chunked too.
        let input = head(&[b"POST / HTTP/1.0", b"Transfer-Encoding: chunked"]);
        let expected = ExpectedHead::new("POST", b"/", Version::Http10)
            .header("Transfer-Encoding", b"chunked")
            .body(BodyLength::Chunked)
            .close_after();
        assert_all_splits(&input, Ok(expected));
        let input = head(&[
            b"POST / HTTP/1.0",
            b"Transfer-Encoding: chunked",
            b"Content-Length: 3",
        ]);
        assert_all_splits(&input, Err(K::ConflictingFraming));
    }

    #[test]
    fn content_length_rules() {
        for (value, length) in [
            (&b"0"[..], 0),
            (b"10", 10),
            (b"007", 7),
            (b" 42 \t", 42),
            (b"18446744073709551615", u64::MAX),
        ] {
            let field = [b"Content-Length:", value].concat();
            let expected = ExpectedHead::get11()
                .header("Content-Length", value.trim_ascii())
                .body(BodyLength::Known(length));
            assert_all_splits(&get11(&[&field]), Ok(expected));
        }
        // Twisted case 23 and §1.3, plus overflow.
        for value in [
            &b"MORE THAN NINE THOUSAND!"[..],
            b"+100",
            b"-100",
            b"3,3",
            b"3, 3",
            b"1 2",
            b"",
            b"x",
            b"0x10",
            b"1e3",
            b"\xd9\xa3",
            b"18446744073709551616",
            b"99999999999999999999999",
        ] {
            let field = [b"Content-Length: ", value].concat();
            assert_all_splits(&get11(&[&field]), Err(K::InvalidContentLength));
        }
        // Twisted case 23 and (V): two Content-Lengths, even equal.
        for fields in [
            &[&b"Content-Length: 56"[..], b"Content-Length: 0"][..],
            &[b"Content-Length: 5", b"content-length: 5"],
            // Twisted case 24: with Transfer-Encoding, in either order.
            &[b"Transfer-Encoding: chunked", b"Content-Length: 0"],
            &[b"Content-Length: 0", b"Transfer-Encoding: chunked"],
            &[b"Content-Length: 3", b"Transfer-Encoding: gzip"],
        ] {
            assert_all_splits(&get11(fields), Err(K::ConflictingFraming));
        }
    }

    #[test]
    fn body_limit() {
        let limits = limits_with(|l| l.body_bytes_max = Some(100));
        let expected = ExpectedHead::get11()
            .header("Content-Length", b"100")
            .body(BodyLength::Known(100));
        assert_all_splits_with(&get11(&[b"Content-Length: 100"]), &limits, Ok(expected));
        let input = get11(&[b"Content-Length: 101"]);
        assert_all_splits_with(&input, &limits, Err(K::BodyTooLarge));
        // A chunked body's size is the decoder's business.
        let expected = ExpectedHead::get11()
            .header("Transfer-Encoding", b"chunked")
            .body(BodyLength::Chunked);
        let input = get11(&[b"Transfer-Encoding: chunked"]);
        assert_all_splits_with(&input, &limits, Ok(expected));
    }

    #[test]
    fn no_framing_fields_means_no_body() {
        // Twisted case 40: the bytes after a POST without a length are the next request.
        let input = b"POST / HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n";
        let expected = ExpectedHead::new("POST", b"/", Version::Http11).header("Host", b"a");
        let consumed = input.len() - 11;
        assert_eq!(run(input, &Limits::DEFAULT), Ok(Some((expected, consumed))));
        assert_all_splits(&input[consumed..], Err(K::InvalidRequestLine));
    }

    #[test]
    fn expect_continue() {
        // Twisted case 39.
        let expected = ExpectedHead::get11()
            .header("Expect", b"100-continue")
            .expect_continue();
        assert_all_splits(&get11(&[b"Expect: 100-continue"]), Ok(expected));
        let expected = ExpectedHead::get11()
            .header("expect", b"100-Continue")
            .expect_continue();
        assert_all_splits(&get11(&[b"expect: 100-Continue"]), Ok(expected));
        // Never for HTTP/1.0 (RFC 9110 §15.2), and only the first Expect field counts.
        let input = head(&[b"GET / HTTP/1.0", b"Expect: 100-continue"]);
        let expected =
            ExpectedHead::new("GET", b"/", Version::Http10).header("Expect", b"100-continue");
        assert_all_splits(&input, Ok(expected));
        let expected = ExpectedHead::get11()
            .header("Expect", b"foo")
            .header("Expect", b"100-continue");
        assert_all_splits(
            &get11(&[b"Expect: foo", b"Expect: 100-continue"]),
            Ok(expected),
        );
        let expected = ExpectedHead::get11().header("Expect", b"100-continue, foo");
        assert_all_splits(&get11(&[b"Expect: 100-continue, foo"]), Ok(expected));
    }

    #[test]
    #[should_panic(expected = "exactly one complete head")]
    fn build_refuses_a_partial_head() {
        let _ = build_request_head(Bytes::from_static(b"GET / HTTP/1.0\r\n"), &Limits::DEFAULT);
    }

    // Properties.

    /// Every prefix of `buf` is Partial, or exactly the whole input's answer.
    fn check_prefixes(buf: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
        let whole = run(buf, limits);
        for n in 0..buf.len() {
            let part = run(&buf[..n], limits);
            if part != Ok(None) {
                prop_assert_eq!(&part, &whole, "prefix of {} bytes", n);
            }
        }
        Ok(())
    }

    fn limits() -> impl Strategy<Value = Limits> {
        let small = (
            0_usize..60,
            0_usize..120,
            0_usize..6,
            proptest::option::of(0_u64..10),
        );
        prop_oneof![
            Just(Limits::DEFAULT),
            small.prop_map(|(line, head, count, body)| Limits {
                request_line_bytes_max: line,
                head_bytes_max: head,
                header_count_max: count,
                body_bytes_max: body,
                ..Limits::DEFAULT
            }),
        ]
    }

    #[rustfmt::skip]
    const PIECES: &[&[u8]] = &[
        b"GET", b"POST", b" ", b"/", b"/a", b"*", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"\r\n",
        b"\n", b"\r", b"\r\n\r\n", b"Host: a", b"Host", b":", b" b", b"\t", b"Content-Length: 5",
        b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip", b"Expect: 100-continue", b"\0",
        b"\x7f", b"\xc3\xa9", b"x",
    ];

    #[rustfmt::skip]
    const REQUEST_LINES: &[&[u8]] = &[
        b"GET / HTTP/1.1", b"GET / HTTP/1.0", b"POST /a HTTP/1.1", b"OPTIONS * HTTP/1.9",
        b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1",
    ];

    #[rustfmt::skip]
    const BAD_REQUEST_LINES: &[&[u8]] = &[
        b"GET  / HTTP/1.1", b"GET / HTTP/2.0", b"G@T / HTTP/1.1", b"GET /\x7f HTTP/1.1",
        b"GET / http/1.1", b"",
    ];

    #[rustfmt::skip]
    const FIELDS: &[&[u8]] = &[
        b"Host: a", b"Host: a", b"host:b", b"Content-Length: 3", b"Transfer-Encoding: chunked",
        b"Expect: 100-continue", b"X:", b"X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];

    #[rustfmt::skip]
    const BAD_FIELDS: &[&[u8]] = &[
        b"content-length: 3", b"Content-Length: 99999999999999999999",
        b"Transfer-Encoding: gzip, chunked", b"Transfer-Encoding: identity", b" folded",
        b"X: a\rb", b"X : y", b"X: \x0b", b"Bad",
    ];

    fn pieces() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..30).prop_map(|p| p.concat())
    }

    /// A head-shaped input: maybe a leading empty line, a request line, fields, the end, and
    /// then more pieces.
    fn head_shaped() -> impl Strategy<Value = Vec<u8>> {
        use proptest::sample::select;
        let eol = select(EOLS);
        let field = prop_oneof![4 => select(FIELDS), 1 => select(BAD_FIELDS)];
        let fields = proptest::collection::vec(field, 0..6);
        let line = prop_oneof![4 => select(REQUEST_LINES), 1 => select(BAD_REQUEST_LINES)];
        (any::<bool>(), line, fields, eol, pieces()).prop_map(|(lead, line, fields, eol, rest)| {
            let mut buf = if lead { eol.to_vec() } else { Vec::new() };
            for line in std::iter::once(line).chain(fields) {
                buf.extend_from_slice(line);
                buf.extend_from_slice(eol);
            }
            buf.extend_from_slice(eol);
            buf.extend(rest);
            buf
        })
    }

    const EOLS: &[&[u8]] = &[b"\r\n", b"\n"];

    #[rustfmt::skip]
    const FIELD_PIECES: &[&[u8]] = &[
        b"a", b"Host", b"X-Y", b":", b" ", b"\t", b"\r", b"\0", b"\x0b", b"\x0c", b"\x7f",
        b"\xc3\xa9", b"\xff", b",", b"\"", b"(", b"@", b"1", b"=",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn arbitrary_bytes_never_panic_and_prefixes_agree(
            buf in proptest::collection::vec(any::<u8>(), 0..300),
            limits in limits(),
        ) {
            check_prefixes(&buf, &limits)?;
        }

        #[test]
        fn http_like_bytes_prefixes_agree(
            buf in prop_oneof![1 => pieces(), 3 => head_shaped()],
            limits in limits(),
        ) {
            check_prefixes(&buf, &limits)?;
        }

        /// Our header-line check accepts exactly what httparse accepts, with the same name and
        /// value (only the kind of refusal differs: httparse has no ObsoleteFold).
        #[test]
        fn header_lines_agree_with_httparse(
            pieces in proptest::collection::vec(proptest::sample::select(FIELD_PIECES), 1..12),
        ) {
            let line = pieces.concat();
            let ours = parse_header_line(&line)
                .ok()
                .map(|(name, value)| (line[name].to_vec(), line[value].to_vec()));
            let input = [&line[..], b"\r\n\r\n"].concat();
            let mut fields = [httparse::EMPTY_HEADER; 1];
            let theirs = match httparse::parse_headers(&input, &mut fields) {
                Ok(httparse::Status::Complete((_, [field]))) => {
                    Some((field.name.as_bytes().to_vec(), field.value.to_vec()))
                }
                _ => None,
            };
            prop_assert_eq!(ours, theirs);
        }
    }
}
