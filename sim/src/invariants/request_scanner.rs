//! The request scanner: splits the bytes a client sent into requests, independently of the
//! engine's parser, to learn what the server was asked: each request's method (a response to
//! `HEAD` has no body), whether it ends the connection (`Connection: close`, or HTTP/1.0 without
//! `keep-alive`), and whether it asked for `100 Continue`.
//!
//! It is lenient on purpose (bare LF line ends, leading empty lines, chunk extensions, any byte
//! in a target or a value): it only has to find where requests start and end, and taking a bad
//! request for garbage is safe, because the server answers garbage with at most one error. It
//! stops at the first thing it cannot parse; everything from there on is "the rest". A head
//! byte for byte the same as the one before is compared with it, not scanned again.

use std::borrow::Cow;

use super::Memo;

/// One request as the client sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScannedRequest<'a> {
    /// The request line's length, without its line end.
    pub(crate) line_bytes: usize,
    /// The head's lines' lengths summed, without line ends (Twisted's counting).
    pub(crate) head_bytes: usize,
    /// How many header fields.
    pub(crate) field_count: usize,
    /// The declared body length, for a `Content-Length` body.
    pub(crate) content_length: Option<u64>,
    /// The method, as sent (borrowed from the stream, as the target and a body that is not
    /// chunked: a scanned request allocates nothing).
    pub(crate) method: Cow<'a, str>,
    /// The request target, as sent.
    pub(crate) target: Cow<'a, str>,
    /// The body with its framing removed: as much of it as was sent.
    pub(crate) body: Cow<'a, [u8]>,
    /// The whole request was sent, body included, and its framing was valid.
    pub(crate) complete: bool,
    /// The server closes the connection after answering it.
    pub(crate) close: bool,
    /// It carried `Expect: 100-continue`.
    pub(crate) expect_continue: bool,
    /// An HTTP/1.0 request: it may get no interim (1xx) response.
    pub(crate) http10: bool,
}

/// Everything a client sent, as requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan<'a> {
    /// The requests whose head was sent whole, in order.
    pub(crate) requests: Vec<ScannedRequest<'a>>,
    /// Where bytes begin that are no request (garbage, or a head cut short), if any: the
    /// server may answer them with one error (400, 408, 414, 431, 501 or 505).
    pub(crate) rest_at: Option<usize>,
}

impl Scan<'_> {
    /// For each request in order, whether it is a `HEAD` request.
    pub(crate) fn heads(&self) -> Vec<bool> {
        self.requests.iter().map(|r| r.method == "HEAD").collect()
    }
}

/// The only fields the checks read: framing, `Connection` and `Expect`. The others are
/// validated and counted, not kept (a kept field is two strings: the oracle's largest cost
/// per request).
const KEPT_FIELDS: [&str; 4] = [
    "connection",
    "content-length",
    "expect",
    "transfer-encoding",
];

/// How a request body is delimited (RFC 9112 §6.3, the request cases).
#[derive(Clone, Copy)]
enum Framing {
    Length(u64),
    Chunked,
}

/// A body read as far as the bytes go.
enum Body<'a> {
    /// Whole, ending at this offset.
    Complete(Cow<'a, [u8]>, usize),
    /// The bytes ran out first.
    Partial(Cow<'a, [u8]>),
    /// Its chunked framing is broken: the server rejects the request there.
    Invalid(Cow<'a, [u8]>),
}

/// Splits `sent` into requests. See the module documentation.
pub(crate) fn scan_requests(sent: &[u8]) -> Scan<'_> {
    scan_requests_with(sent, Memo::Compare)
}

/// What a request head says, once read: everything about a request but its body.
#[derive(Clone)]
struct Reading<'a> {
    method: Cow<'a, str>,
    target: Cow<'a, str>,
    http10: bool,
    /// The request line's length, without its line end.
    line_bytes: usize,
    /// The head's lines' lengths summed, without line ends (Twisted's counting).
    head_bytes: usize,
    /// How many field lines the head had.
    field_count: usize,
    framing: Framing,
    close: bool,
    expect_continue: bool,
}

fn scan_requests_with(sent: &[u8], memo: Memo) -> Scan<'_> {
    let mut scan = Scan::default();
    let mut pos = 0;
    // The last head read, where it was and how long. A head's reading is a function of its
    // bytes alone (request line through empty line), so a head byte for byte the same as the
    // last one reads the same: one comparison instead of a scan (pipelined and keep-alive
    // clients repeat their heads).
    let mut last: Option<(usize, usize, Reading<'_>)> = None;
    while pos < sent.len() {
        let start = skip_empty_lines(sent, pos);
        let same = last.as_ref().filter(|(at, len, _)| {
            memo == Memo::Compare && sent.get(start..start + len) == Some(&sent[*at..at + len])
        });
        let read = match same {
            Some((_, len, reading)) => Some((reading.clone(), start + len)),
            None => read_head(sent, start),
        };
        let Some((reading, head_end)) = read else {
            scan.rest_at = Some(pos);
            break;
        };
        let body = match reading.framing {
            Framing::Length(n) => scan_length(sent, head_end, n),
            Framing::Chunked => scan_chunked(sent, head_end),
        };
        let (body, end, complete) = match body {
            Body::Complete(body, end) => (body, Some(end), true),
            Body::Partial(body) | Body::Invalid(body) => (body, None, false),
        };
        let content_length = match reading.framing {
            Framing::Length(n) => Some(n),
            Framing::Chunked => None,
        };
        scan.requests.push(ScannedRequest {
            line_bytes: reading.line_bytes,
            head_bytes: reading.head_bytes,
            field_count: reading.field_count,
            content_length,
            close: reading.close,
            expect_continue: reading.expect_continue,
            http10: reading.http10,
            method: reading.method.clone(),
            target: reading.target.clone(),
            body,
            complete,
        });
        last = Some((start, head_end - start, reading));
        match end {
            Some(end) => pos = end,
            None => break,
        }
    }
    scan
}

/// RFC 9112 §2.2: servers ignore empty lines before a request line.
fn skip_empty_lines(buf: &[u8], mut pos: usize) -> usize {
    loop {
        match buf.get(pos..) {
            Some([b'\n', ..]) => pos += 1,
            Some([b'\r', b'\n', ..]) => pos += 2,
            _ => return pos,
        }
    }
}

/// The line at `pos` without its line end (CRLF or bare LF), and where the next one starts;
/// `None` if it has no line end yet or holds a bare CR.
fn next_line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]);
    (!line.contains(&b'\r')).then_some((line, pos + lf + 1))
}

/// The head at `start` read, and where it ends (just past its empty line); `None` if it is
/// cut short, no request head, or one the server must reject (see [`framing`]).
fn read_head(buf: &[u8], start: usize) -> Option<(Reading<'_>, usize)> {
    let (line, mut pos) = next_line(buf, start)?;
    let line_bytes = line.len();
    let mut head_bytes = line_bytes;
    let mut parts = line.split(|&b| b == b' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let http10 = match version {
        b"HTTP/1.0" => true,
        b"HTTP/1.1" => false,
        _ => return None,
    };
    let target_ok = !target.is_empty() && target.iter().all(|&b| b > b' ' && b != 0x7f);
    if parts.next().is_some() || !is_token(method) || !target_ok {
        return None;
    }
    // The fields this scanner reads ([`KEPT_FIELDS`]), names lowercased, values trimmed.
    let mut fields = Vec::new();
    let mut field_count = 0;
    loop {
        let (line, next) = next_line(buf, pos)?;
        pos = next;
        if line.is_empty() {
            break;
        }
        head_bytes += line.len();
        field_count += 1;
        if let Some(kept) = field(line)? {
            fields.push(kept);
        }
    }
    let reading = Reading {
        method: String::from_utf8_lossy(method),
        target: String::from_utf8_lossy(target),
        http10,
        line_bytes,
        head_bytes,
        field_count,
        framing: framing(&fields)?,
        close: closes(&fields, http10),
        expect_continue: values(&fields, "expect").any(|v| v.eq_ignore_ascii_case("100-continue")),
    };
    Some((reading, pos))
}

/// `name: value`, with no whitespace before the colon and no obsolete line folding: `None`
/// if it is not a field line, `Some(None)` for a field the checks do not read.
fn field(line: &[u8]) -> Option<Option<(String, String)>> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    if !is_token(name) {
        return None;
    }
    if !KEPT_FIELDS
        .iter()
        .any(|kept| name.eq_ignore_ascii_case(kept.as_bytes()))
    {
        return Some(None);
    }
    let value = String::from_utf8_lossy(&line[colon + 1..]);
    let value = value.trim_matches([' ', '\t']).to_string();
    Some(Some((
        String::from_utf8_lossy(name).to_ascii_lowercase(),
        value,
    )))
}

/// RFC 9110 §5.6.2 `token`.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| TCHAR[usize::from(b)])
}

/// `tchar` (RFC 9110 §5.6.2) as a table: the checks test every byte of every field name.
pub(super) const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'!' | b'#'..=b'\'' | b'*' | b'+')
            || matches!(c, b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        b += 1;
    }
    table
};

/// Every value of the fields named `name` (lowercase).
fn values<'a>(fields: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    fields
        .iter()
        .filter(move |(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The comma-separated elements of every field named `name`, trimmed, empty ones skipped.
fn list<'a>(fields: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    values(fields, name)
        .flat_map(|v| v.split(','))
        .map(|t| t.trim_matches([' ', '\t']))
        .filter(|t| !t.is_empty())
}

/// `Connection: close`, or HTTP/1.0 without `Connection: keep-alive` (RFC 9112 §9.3).
fn closes(fields: &[(String, String)], http10: bool) -> bool {
    let has = |token: &str| list(fields, "connection").any(|t| t.eq_ignore_ascii_case(token));
    has("close") || (http10 && !has("keep-alive"))
}

/// The body framing, or `None` where the server must reject the request (RFC 9112 §6.3:
/// both framings, a final coding other than chunked, an invalid or conflicting length).
fn framing(fields: &[(String, String)]) -> Option<Framing> {
    let has_length = values(fields, "content-length").next().is_some();
    if values(fields, "transfer-encoding").next().is_some() {
        let last = list(fields, "transfer-encoding").last()?;
        let chunked = last.eq_ignore_ascii_case("chunked") && !has_length;
        return chunked.then_some(Framing::Chunked);
    }
    let mut length = None;
    for value in list(fields, "content-length") {
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = value.parse().ok()?;
        if length.is_some_and(|m| m != n) {
            return None;
        }
        length = Some(n);
    }
    match (has_length, length) {
        (false, _) => Some(Framing::Length(0)),
        (true, n) => n.map(Framing::Length),
    }
}

fn scan_length(buf: &[u8], at: usize, n: u64) -> Body<'_> {
    let available = buf.len() - at;
    match usize::try_from(n) {
        Ok(n) if n <= available => Body::Complete(Cow::Borrowed(&buf[at..at + n]), at + n),
        _ => Body::Partial(Cow::Borrowed(&buf[at..])),
    }
}

/// A chunked body (RFC 9112 §7.1), read leniently: bare LF line ends, any chunk extension.
fn scan_chunked(buf: &[u8], at: usize) -> Body<'static> {
    let mut body = Vec::new();
    let mut pos = at;
    loop {
        let Some((line, next)) = next_line(buf, pos) else {
            return Body::Partial(Cow::Owned(body));
        };
        let Some(size) = chunk_size(line) else {
            return Body::Invalid(Cow::Owned(body));
        };
        pos = next;
        if size == 0 {
            return match trailers_end(buf, pos) {
                Some(end) => Body::Complete(Cow::Owned(body), end),
                None => Body::Partial(Cow::Owned(body)),
            };
        }
        let data_end = usize::try_from(size).ok().and_then(|n| pos.checked_add(n));
        let Some(data_end) = data_end.filter(|&end| end <= buf.len()) else {
            body.extend_from_slice(&buf[pos..]);
            return Body::Partial(Cow::Owned(body));
        };
        body.extend_from_slice(&buf[pos..data_end]);
        pos = match buf.get(data_end..) {
            Some([b'\r', b'\n', ..]) => data_end + 2,
            Some([b'\n', ..]) => data_end + 1,
            Some([] | [b'\r']) => return Body::Partial(Cow::Owned(body)),
            _ => return Body::Invalid(Cow::Owned(body)),
        };
    }
}

/// The hex size of a chunk-size line, extensions ignored.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = line[digits..].trim_ascii_start();
    if digits == 0 || !(rest.is_empty() || rest.starts_with(b";")) {
        return None;
    }
    let hex = std::str::from_utf8(&line[..digits]).ok()?;
    u64::from_str_radix(hex, 16).ok()
}

/// Just past the empty line that ends the trailer section at `pos`, once it is all there.
fn trailers_end(buf: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let (line, next) = next_line(buf, pos)?;
        if line.is_empty() {
            return Some(next);
        }
        pos = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_table_holds_exactly_the_tchars() {
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_token(&[b])).collect();
        let expected: Vec<u8> = (b"!#$%&'*+-.^_`|~".iter().copied())
            .chain(b'0'..=b'9')
            .chain(b'A'..=b'Z')
            .chain(b'a'..=b'z')
            .collect::<std::collections::BTreeSet<u8>>()
            .into_iter()
            .collect();
        assert_eq!(tchars, expected);
        assert!(!is_token(b""));
    }

    /// Whole requests and flawed ones, some heads the same but for their framing or a byte
    /// (a head compared with the last one must read exactly as a scanned one).
    const REQUESTS: [&[u8]; 11] = [
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nhi!",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
        b"GET / HTTP/1.1\nHost: h\n\n",
        b"\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
    ];

    proptest::proptest! {
        /// Comparing a head with the last one reads every stream as scanning every head does.
        #[test]
        fn a_head_compared_with_the_last_reads_as_a_scanned_one(
            picks in proptest::collection::vec(0..REQUESTS.len(), 0..12),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let sent: Vec<u8> = picks.iter().flat_map(|&i| REQUESTS[i].iter().copied()).collect();
            let sent = &sent[..cut.index(sent.len() + 1)];
            proptest::prop_assert_eq!(
                scan_requests_with(sent, Memo::Compare),
                scan_requests_with(sent, Memo::Off)
            );
        }
    }

    fn methods<'a>(scan: &'a Scan<'_>) -> Vec<&'a str> {
        scan.requests.iter().map(|r| &*r.method).collect()
    }

    #[test]
    fn pipelined_requests_with_bodies() {
        let sent = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
            \r\nPUT /b HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
            3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n\
            HEAD /c HTTP/1.1\nHost: h\nExpect: 100-Continue\n\n";
        let scan = scan_requests(sent);
        assert_eq!(methods(&scan), ["POST", "PUT", "HEAD"]);
        assert_eq!(scan.rest_at, None);
        assert_eq!(scan.requests[0].body[..], *b"hello");
        assert_eq!(scan.requests[1].body[..], *b"abcde");
        assert_eq!(scan.requests[1].target, "/b");
        assert!(scan.requests.iter().all(|r| r.complete && !r.close));
        assert!(scan.requests[2].expect_continue && !scan.requests[0].expect_continue);
        assert_eq!(scan.heads(), [false, false, true]);
    }

    #[test]
    fn connection_close_and_http10() {
        let sent = b"GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n\
            GET / HTTP/1.0\r\n\r\n\
            GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n\
            GET / HTTP/1.1\r\n\r\n";
        let closes: Vec<bool> = scan_requests(sent)
            .requests
            .iter()
            .map(|r| r.close)
            .collect();
        assert_eq!(closes, [true, true, false, false]);
    }

    #[test]
    fn stops_at_garbage() {
        let sent = b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/2.0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        let scan = scan_requests(sent);
        assert_eq!(methods(&scan), ["GET"]);
        assert_eq!(scan.rest_at, Some(18));
        for bad in [
            &b"GET / HTTP/1.1\r\nX : y\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nX: y\r\n folded\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            let scan = scan_requests(bad);
            assert_eq!((scan.requests.len(), scan.rest_at), (0, Some(0)), "{bad:?}");
        }
    }

    #[test]
    fn cut_short() {
        let scan = scan_requests(b"GET / HTTP/1.1\r\n\r\nGET / HTT");
        assert_eq!((scan.requests.len(), scan.rest_at), (1, Some(18)));
        let scan = scan_requests(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc");
        assert_eq!(scan.requests[0].body[..], *b"abc");
        assert!(!scan.requests[0].complete);
        assert_eq!(scan.rest_at, None);
        let scan = scan_requests(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n");
        assert!(!scan.requests[0].complete);
        assert_eq!(scan.rest_at, None);
    }
}
