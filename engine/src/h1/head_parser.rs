//! The request head: finding it in received bytes, checking it, and deciding how the body is
//! framed (RFC 9112 §2–§6).
//!
//! [`take_request_head`] is the channel's entry point: one walk that checks the head and,
//! once it is complete, splits it off the receive buffer and freezes it without copying. The
//! same walk is also offered as two steps, which is how the tests check every prefix:
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
use crate::h1::line_end::find_lf;
use crate::message::{
    is_tchar_byte, is_token, is_valid_host, BodyLength, Header, Headers, Method, RequestHead,
    Version,
};

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
    Ok(match walk_head::<RequestLine>(buf, limits, |_, _| {})? {
        Parsed::Complete { consumed, .. } => Parsed::Complete { head: (), consumed },
        Parsed::Partial => Parsed::Partial,
    })
}

/// Builds the head from exactly `buf[..consumed]` of a complete [`parse_request_head`], frozen
/// into `Bytes`: the method, target, names and values are zero-copy slices of `head`. Decides
/// the body framing, which can still refuse the request.
///
/// Panics if `head` is not exactly one complete head: that is a bug in the caller.
///
/// The channel uses [`take_request_head`], which does both steps in one walk; this two-step
/// form is what the tests use to check every prefix of an input separately.
#[cfg(test)]
pub(crate) fn build_request_head(
    head: Bytes,
    limits: &Limits,
) -> Result<(RequestHead, HeadFlags), ProtocolError> {
    // The line count bounds the field count, so the Vec is allocated once.
    let lines = memchr::memchr_iter(b'\n', &head).count();
    let mut headers = Headers::with_capacity(lines.saturating_sub(2));
    let walked = walk_head::<RequestLine>(&head, limits, |name, value| {
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
    finish_head(line, headers, &head, limits)
}

/// Parses and, once complete, takes the head off the front of `buf` in one walk (the
/// channel's path: [`parse_request_head`] then [`build_request_head`] would check every byte
/// twice). `fields` is the caller's scratch space for the field ranges, reused across calls so
/// a head trickling in allocates nothing until it is complete. `Ok(None)`: not complete yet.
pub(crate) fn take_request_head(
    buf: &mut bytes::BytesMut,
    limits: &Limits,
    fields: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<(RequestHead, HeadFlags)>, ProtocolError> {
    let Some((line, headers, head)) = take_head::<RequestLine>(buf, limits, fields)? else {
        return Ok(None);
    };
    finish_head(line, headers, &head, limits).map(Some)
}

/// Either role's first step: walks the head and, once it is complete, splits it off `buf`,
/// frozen, with its fields as zero-copy slices. `Ok(None)`: not complete yet.
pub(crate) fn take_head<L: StartLine>(
    buf: &mut bytes::BytesMut,
    limits: &Limits,
    fields: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<(L, Headers, Bytes)>, ProtocolError> {
    fields.clear();
    let walked = walk_head::<L>(buf, limits, |name, value| fields.push((name, value)))?;
    let Parsed::Complete {
        head: line,
        consumed,
    } = walked
    else {
        return Ok(None);
    };
    let head = buf.split_to(consumed).freeze();
    let headers: Vec<Header> = (fields.drain(..))
        .map(|(name, value)| Header {
            name: shared_slice(&head, name, &COMMON_NAMES),
            value: head.slice(value),
        })
        .collect();
    Ok(Some((line, Headers::from(headers), head)))
}

/// The methods most requests carry, as sent.
static COMMON_METHODS: [&[u8]; 3] = [b"GET", b"POST", b"HEAD"];

/// The request target most requests carry.
static COMMON_TARGETS: [&[u8]; 1] = [b"/"];

/// The field name every HTTP/1.1 request carries, as browsers and most clients spell it.
static COMMON_NAMES: [&[u8]; 1] = [b"Host"];

/// `head[range]`, as a static `Bytes` when it is byte for byte one of `common`: a slice of
/// the head costs an atomic reference count increment and decrement on a shared buffer, a
/// static one nothing (they were 9% of a pipelined server's cycles). Same bytes either way.
fn shared_slice(head: &Bytes, range: Range<usize>, common: &[&'static [u8]]) -> Bytes {
    let bytes = &head[range.clone()];
    match common.iter().find(|c| **c == bytes) {
        Some(c) => Bytes::from_static(c),
        None => head.slice(range),
    }
}

/// The syntax of a complete head alone, as ranges of the buffer it was parsed from: what
/// [`parse_request_head`] checked, before the Host rule and the body framing. The fuzz target
/// compares it with httparse (`crate::fuzzing`).
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeadSyntax {
    /// The method.
    pub(crate) method: Range<usize>,
    /// The request target.
    pub(crate) target: Range<usize>,
    /// The version as parsed (HTTP/1.2 to 1.9 are `Http11`).
    pub(crate) version: Version,
    /// The version's bytes, `HTTP/1.x`.
    pub(crate) version_bytes: Range<usize>,
    /// Each field's name and value (the value trimmed of OWS), in order.
    pub(crate) fields: Vec<(Range<usize>, Range<usize>)>,
}

/// [`parse_request_head`], also returning the syntax of a complete head ([`HeadSyntax`]).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn parse_request_head_syntax(
    buf: &[u8],
    limits: &Limits,
) -> Result<Parsed<HeadSyntax>, ProtocolError> {
    let mut fields = Vec::new();
    let walked = walk_head::<RequestLine>(buf, limits, |name, value| fields.push((name, value)))?;
    Ok(match walked {
        Parsed::Complete { head, consumed } => Parsed::Complete {
            head: HeadSyntax {
                method: head.method,
                // The version follows the target and one SP, and is 8 bytes (`HTTP/1.x`).
                version_bytes: head.target.end + 1..head.target.end + 9,
                target: head.target,
                version: head.version,
                fields,
            },
            consumed,
        },
        Parsed::Partial => Parsed::Partial,
    })
}

/// What both builders share once the fields are collected: the Host rule, the body framing,
/// `Expect`, and the zero-copy request line.
fn finish_head(
    line: RequestLine,
    headers: Headers,
    head: &Bytes,
    limits: &Limits,
) -> Result<(RequestHead, HeadFlags), ProtocolError> {
    check_host(line.version, &headers)?;
    let (body, close_after) = body_framing(line.version, &headers, limits)?;
    // RFC 9110 §10.1.1. An HTTP/1.0 client is never sent a 1xx (RFC 9110 §15.2).
    let expect_continue = line.version == Version::Http11
        && headers
            .get("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    let request = RequestHead {
        method: Method::new(shared_slice(head, line.method, &COMMON_METHODS)),
        target: shared_slice(head, line.target, &COMMON_TARGETS),
        version: line.version,
        headers,
        body,
        expect_continue,
    };
    Ok((request, HeadFlags { close_after }))
}

/// The request line, as ranges of the buffer it was found in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestLine {
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
    let lf = start + find_lf(buf.get(start..)?)?;
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
pub(super) fn open_line_len(tail: &[u8]) -> usize {
    tail.len() - usize::from(tail.last() == Some(&b'\r'))
}

/// The first line of a head: a request line (the server role) or a status line (the client
/// role, `h1::response_head`). Everything after it is walked by the same code.
pub(crate) trait StartLine: Sized {
    /// Empty lines tolerated before the start line.
    const LEADING_EMPTY_LINES_MAX: usize;

    /// Checks a start line whose LF has not arrived: refused now if it can no longer be legal.
    fn check_open(tail: &[u8], limits: &Limits) -> Result<(), ProtocolError>;

    /// Checks a complete start line, which begins at offset `at` of the buffer.
    fn parse(line: &[u8], at: usize, limits: &Limits) -> Result<Self, ProtocolError>;
}

impl StartLine for RequestLine {
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line
    // (old clients send a CRLF after a POST body). Twisted eats exactly one, and so do we.
    const LEADING_EMPTY_LINES_MAX: usize = 1;

    fn check_open(tail: &[u8], limits: &Limits) -> Result<(), ProtocolError> {
        open_request_line(tail, limits)
    }

    fn parse(line: &[u8], at: usize, limits: &Limits) -> Result<RequestLine, ProtocolError> {
        parse_request_line(line, at, limits)
    }
}

/// Walks the head line by line, checks each line as soon as it is complete, and calls
/// `on_header` with the ranges of each field's name and value.
fn walk_head<L: StartLine>(
    buf: &[u8],
    limits: &Limits,
    mut on_header: impl FnMut(Range<usize>, Range<usize>),
) -> Result<Parsed<L>, ProtocolError> {
    let mut start = 0;
    let mut empty_lines = 0;
    let line = loop {
        let Some(line) = next_line(buf, start) else {
            L::check_open(&buf[start..], limits)?;
            return Ok(Parsed::Partial);
        };
        if !line.is_empty() {
            break line;
        }
        empty_lines += 1;
        if empty_lines > L::LEADING_EMPTY_LINES_MAX {
            return fail(Kind::LeadingEmptyLines);
        }
        start = line.next;
    };
    let start_line = L::parse(&buf[line.start..line.end], line.start, limits)?;
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
                head: start_line,
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
fn open_request_line(tail: &[u8], limits: &Limits) -> Result<(), ProtocolError> {
    if open_line_len(tail) > limits.request_line_bytes_max {
        return fail(Kind::UriTooLong);
    }
    Ok(())
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
    match quick_request_line(line, at) {
        Some(parsed) => Ok(parsed),
        None => strict_request_line(line, at),
    }
}

/// The request line's syntax checked step by step, each flaw named by its own error.
fn strict_request_line(line: &[u8], at: usize) -> Result<RequestLine, ProtocolError> {
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

/// The one-pass path for a well-formed request line (a token, SP, visible ASCII, SP, a
/// supported `HTTP/1.x`), within the limits (checked by the caller): what the strict path
/// below would return. `None` for anything else, which the strict path judges and names.
fn quick_request_line(line: &[u8], at: usize) -> Option<RequestLine> {
    let sp1 = line.iter().position(|&b| !is_tchar_byte(b))?;
    if sp1 == 0 || line[sp1] != b' ' {
        return None;
    }
    let target_len = line[sp1 + 1..]
        .iter()
        .position(|b| !(0x21..=0x7e).contains(b))?;
    let sp2 = sp1 + 1 + target_len;
    if target_len == 0 || line[sp2] != b' ' {
        return None;
    }
    let version = parse_version(&line[sp2 + 1..]).ok()?;
    Some(RequestLine {
        method: at..at + sp1,
        target: at + sp1 + 1..at + sp2,
        version,
    })
}

/// RFC 9112 §2.3: `HTTP-version = "HTTP/" DIGIT "." DIGIT`, case-sensitive. RFC 9110 §2.5: a
/// higher minor version of 1 is served as the highest we implement, 1.1; other majors get 505.
pub(super) fn parse_version(version: &[u8]) -> Result<Version, ProtocolError> {
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
/// relative to the line. The name is scanned once, token bytes up to the colon; the value's
/// check refuses every control byte, CR included, so a line is only searched for a bare CR when
/// it is already refused and the answer depends on it.
fn parse_header_line(line: &[u8]) -> Result<(Range<usize>, Range<usize>), ProtocolError> {
    let colon = line
        .iter()
        .position(|&b| !is_tchar_byte(b))
        .unwrap_or(line.len());
    if colon == 0 || line.get(colon) != Some(&b':') {
        return Err(malformed_header_line(line));
    }
    let value = shift(ows_trimmed(&line[colon + 1..]), colon + 1);
    if !all_field_bytes(&line[value.clone()]) {
        return fail(Kind::InvalidHeader);
    }
    Ok((0..colon, value))
}

/// Why a header line without `token ":"` at its start is refused.
fn malformed_header_line(line: &[u8]) -> ProtocolError {
    // RFC 9112 §2.2: a bare CR is refused, whatever else is wrong with the line.
    if memchr(b'\r', line).is_some() {
        return ProtocolError::from(Kind::InvalidHeader);
    }
    // RFC 9112 §5.2: a server MUST either reject obs-fold or replace it with SP; we reject it,
    // which also covers whitespace between the request line and the first field (§2.2).
    // No whitespace between the name and the colon either (§5.1): a token has none.
    match line.first() {
        Some(b' ' | b'\t') => ProtocolError::from(Kind::ObsoleteFold),
        _ => ProtocolError::from(Kind::InvalidHeader),
    }
}

/// RFC 9110 §5.5: a field value is VCHAR, obs-text (0x80–0xFF), SP and HTAB. Every other CTL
/// (NUL, CR, LF, VT, FF, DEL, …) is refused: RFC 9110 only lets a recipient keep them, and
/// httparse refuses them too. Twisted kept VT and FF.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// [`is_field_byte`] for every byte, eight at a time (SWAR): a word with no byte below 0x20 and
/// no DEL passes at once; only a word that may hold one (a tab, usually) is looked at byte by
/// byte. The word test may report a control byte that is not there (a borrow), never miss one.
/// No byte is tested alone otherwise: past the whole words, the last eight bytes are one more
/// word (overlapping the one before); a value shorter than a word is padded with spaces.
/// Both directions use it: what we parse and what an app asks us to write.
pub(super) fn all_field_bytes(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let may_hold_control = |word: u64| {
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let del = word ^ (ONES * 0x7f);
        let is_del = del.wrapping_sub(ONES) & !del & HIGHS;
        below_space | is_del != 0
    };
    let passes = |chunk: &[u8; 8]| {
        !may_hold_control(u64::from_le_bytes(*chunk)) || chunk.iter().all(|&b| is_field_byte(b))
    };
    let Some(last) = bytes.last_chunk::<8>() else {
        let mut padded = [b' '; 8];
        padded[..bytes.len()].copy_from_slice(bytes);
        return passes(&padded);
    };
    let word = |chunk: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        word
    };
    bytes.chunks_exact(8).all(|chunk| passes(&word(chunk))) && passes(last)
}

/// Where `bytes` is without leading and trailing OWS, SP and HTAB only (RFC 9110 §5.5, §5.6.3).
pub(super) fn ows_trimmed(bytes: &[u8]) -> Range<usize> {
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
pub(super) fn fail<T>(kind: Kind) -> Result<T, ProtocolError> {
    Err(ProtocolError::from(kind))
}

/// RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host, and to any
/// request with more than one or with one whose value is invalid: no `host[:port]`. (Twisted
/// checked none of these.)
fn check_host(version: Version, headers: &Headers) -> Result<(), ProtocolError> {
    let mut hosts = headers.get_all("host");
    match (hosts.next(), hosts.next()) {
        (Some(host), None) if is_valid_host(host) => Ok(()),
        (None, _) if version != Version::Http11 => Ok(()),
        _ => fail(Kind::InvalidHost),
    }
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
pub(super) fn check_transfer_codings(headers: &Headers) -> Result<(), ProtocolError> {
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
pub(super) fn parse_content_length(value: &[u8]) -> Result<u64, ProtocolError> {
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
#[path = "tests/head_parser.rs"]
mod tests;
