//! Goal: every rule of the head parser and of the body framing, and the promises of the
//! two-step interface. Method: every case goes through `assert_all_splits` (whole input,
//! every prefix as bytes trickle in, and trailing bytes after it); property tests add
//! arbitrary and HTTP-like inputs, and compare header lines with httparse.

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::error::ProtocolErrorKind;

#[path = "field_value_words.rs"]
mod field_value_words;

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

/// Every non-empty slice in `request` points into `head` or is one of the parser's static
/// common pieces. (`Bytes::slice` of an empty range is a static empty `Bytes`, which copies
/// nothing either.)
fn assert_zero_copy(request: &RequestHead, head: &Bytes) {
    let common = COMMON_METHODS
        .iter()
        .chain(&COMMON_TARGETS)
        .chain(&COMMON_NAMES);
    let within = |part: &[u8]| {
        let range = head.as_ptr_range();
        part.is_empty()
            || (range.start <= part.as_ptr() && part.as_ptr_range().end <= range.end)
            || common
                .clone()
                .any(|c| c.as_ptr() == part.as_ptr() && c.len() == part.len())
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
    // And so is one that is no `host[:port]` (the grammar's cases: `message::host`).
    for host in [&b"a b"[..], b"user@h", b"h:8o", b"\"h\"", b"h/p"] {
        for version in [&b"HTTP/1.1"[..], b"HTTP/1.0"] {
            let input = [b"GET / ", version, b"\r\nHost: ", host, b"\r\n\r\n"].concat();
            assert_all_splits(&input, Err(K::InvalidHost));
        }
    }
    let expected = ExpectedHead::new("GET", b"/", Version::Http11).header("Host", b"[::1]:8080");
    assert_all_splits(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", Ok(expected));
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

proptest! {
    /// The eight-at-a-time field-value check agrees with the byte-by-byte one on any bytes.
    #[test]
    fn word_check_matches_byte_check(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(all_field_bytes(&bytes), bytes.iter().all(|&b| is_field_byte(b)));
    }
}

/// Pieces of request lines, well-formed and not: the one-pass path must step aside for every
/// flaw the strict path names.
const REQUEST_LINE_PIECES: [&[u8]; 16] = [
    b"GET",
    b"POST",
    b"g\xc3\xa9t",
    b" ",
    b"  ",
    b"/",
    b"/a?b=c",
    b"http://h/x",
    b"\t",
    b"\x0b",
    b"\r",
    b"\x7f",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2.0",
    b"http/1.1",
];

proptest! {
    #[test]
    fn the_quick_request_line_agrees_with_the_strict_one(
        pieces in prop::collection::vec(prop::sample::select(&REQUEST_LINE_PIECES[..]), 0..8),
        at in 0_usize..4,
    ) {
        let line = pieces.concat();
        if let Some(quick) = quick_request_line(&line, at) {
            prop_assert_eq!(Ok(quick), strict_request_line(&line, at));
        }
    }
}

#[test]
fn the_quick_request_line_takes_the_usual_lines() {
    let line = quick_request_line(b"GET /a?b HTTP/1.1", 2).expect("well-formed");
    assert_eq!(
        (line.method, line.target, line.version),
        (2..5, 6..10, Version::Http11)
    );
    assert_eq!(quick_request_line(b"GET / HTTP/2.0", 0), None);
    assert_eq!(quick_request_line(b"GET  / HTTP/1.1", 0), None);
}
