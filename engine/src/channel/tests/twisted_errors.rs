//! Malformed requests through the whole channel: Twisted's cases 15-24, 27, 38, 40 and web2's
//! case 61, each answered with twine's status code, `Content-Length`, `Connection: close`, a
//! lingering close, and nothing dispatched.
//!
//! Where twine deliberately differs from Twisted the comment says so: Twisted answered every
//! error with a bare `HTTP/1.1 400 Bad Request\r\n\r\n` and closed at once (or closed silently
//! for long lines); twine picks 414/431/501/505 where they apply (web2 and DESIGN.md).

use super::harness::{bare, Harness};
use crate::{Config, Limits, ProtocolErrorKind as K};

fn assert_rejected(config: Config, input: &[u8], status: u16, kind: K) {
    let mut h = Harness::dummy(config);
    h.send(input);
    let wire = h.take_wire();
    let name = String::from_utf8_lossy(input);
    assert!(
        wire.starts_with(&format!("HTTP/1.1 {status} ")),
        "{name:?} → {wire:?}"
    );
    assert!(wire.contains("\r\nConnection: close\r\n"), "{name:?}");
    assert!(wire.contains("\r\nContent-Length: "), "{name:?}");
    assert_eq!(h.request_ids(), [], "{name:?} was dispatched");
    assert_eq!(h.protocol_errors(), [kind], "{name:?}");
    assert!(h.shut_down(), "{name:?}: lingering close");
}

fn rejected(input: &str, status: u16, kind: K) {
    assert_rejected(bare(), input.as_bytes(), status, kind);
}

#[test]
fn request_line_errors() {
    // Twisted case 17 (`test_invalidRequestLineExtraSpaces`).
    for line in [
        "GET  / HTTP/1.0",
        "GET /  HTTP/1.0",
        "GET\t/ HTTP/1.0",
        "GET /\u{b}HTTP/1.1",
        "GET / HTTP/1.1 ",
        " GET / HTTP/1.1",
    ] {
        let mut h = Harness::dummy(bare());
        h.send(format!("{line}\r\n\r\n"));
        assert!(h.take_wire().starts_with("HTTP/1.1 400 "), "{line:?}");
        assert_eq!(h.request_ids(), []);
    }
    // Twisted case 18.
    rejected("GE\u{a9} / HTTP/1.1\r\n\r\n", 400, K::InvalidMethod);
    rejected("GET\0 /foo HTTP/1.1\r\n\r\n", 400, K::InvalidMethod);
    rejected("POST  HTTP/1.1\r\n\r\n", 400, K::InvalidRequestLine);
    rejected(
        "POST /foo\0 HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        K::InvalidTarget,
    );
    // Twisted case 40, deliberately stricter: DEL and non-ASCII bytes in a target are refused
    // (Twisted's `c > 176` bug accepted 0x7F-0xB0).
    assert_rejected(
        bare(),
        b"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        K::InvalidTarget,
    );
    assert_rejected(
        bare(),
        b"GET /\xb0 HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        K::InvalidTarget,
    );
    // Twisted case 4 (HTTP/0.9) and web2 case 61.
    rejected("GET /\r\n\r\n", 400, K::InvalidRequestLine);
    rejected("GET / more HTTP/1.1\r\n\r\n", 400, K::InvalidRequestLine);
    rejected("GET / Foobar/1.0\r\n\r\n", 400, K::InvalidVersion);
    rejected("GET / HTTP/1\r\n\r\n", 400, K::InvalidVersion);
    rejected("GET / HTTP/-1.0\r\n\r\n", 400, K::InvalidVersion);
    // Twisted case 18 (`HEAD /foo HTTP/1.2` → 400) deliberately differs: a higher 1.x minor is
    // processed as HTTP/1.1 (RFC 9110 §2.5). Another major → 505 (web2).
    rejected("GET / HTTP/2.0\r\n\r\n", 505, K::UnsupportedVersion);
    rejected(
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        505,
        K::UnsupportedVersion,
    );
}

#[test]
fn a_higher_minor_version_is_http11() {
    let mut h = Harness::dummy(bare());
    h.send("HEAD /foo HTTP/1.2\r\nHost: h\r\n\r\n");
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(h.heads[0].1.version, crate::Version::Http11);
}

#[test]
fn header_errors() {
    // Twisted case 19.
    for header in [
        "HeaderName ",
        ": foo",
        "HeaderName : foo",
        "foo\0bar: x",
        "foo\x1bbar: x",
        "Foo\u{b}Bar: x",
        "Foo Bar: x",
    ] {
        rejected(
            &format!("GET / HTTP/1.1\r\nHost: h\r\n{header}\r\n\r\n"),
            400,
            K::InvalidHeader,
        );
    }
    // Twisted case 20 (26.10.0): NUL, CR and LF in values.
    for value in ["\0", "a\0", "\0baz", "a\rb", "a\rContent-Length: 5"] {
        rejected(
            &format!("GET / HTTP/1.1\r\nHost: h\r\nx-foo: {value}\r\n\r\n"),
            400,
            K::InvalidHeader,
        );
    }
    // Twisted case 21 deliberately differs: obsolete line folding is refused (RFC 9112 §5.2),
    // where Twisted joined the lines.
    rejected(
        "GET / HTTP/1.1\r\nHost: h\r\nspace: space\r\n space\r\n\r\n",
        400,
        K::ObsoleteFold,
    );
    // A missing or duplicate Host on HTTP/1.1 (Twisted does not check; Squid row 400).
    rejected("GET / HTTP/1.1\r\n\r\n", 400, K::InvalidHost);
    rejected(
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
        K::InvalidHost,
    );
}

#[test]
fn framing_errors() {
    // Twisted case 23.
    let cl = |v: &str| format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {v}\r\n\r\n");
    for value in [
        "MORE THAN NINE THOUSAND!",
        "+100",
        "-100",
        "3,3",
        "",
        "99999999999999999999999",
    ] {
        rejected(&cl(value), 400, K::InvalidContentLength);
    }
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 56\r\nContent-Length: 0\r\n\r\n",
        400,
        K::ConflictingFraming,
    );
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        400,
        K::ConflictingFraming,
    );
    // Twisted case 24 and web2 case 60 (which let TE win over CL): CL with TE is refused.
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
        400,
        K::ConflictingFraming,
    );
    // Twisted case 25 deliberately differs: `identity` is not a transfer coding (RFC 9112 §6.1).
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
        400,
        K::ChunkedNotLast,
    );
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        400,
        K::ChunkedNotLast,
    );
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        400,
        K::ChunkedNotLast,
    );
    rejected(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: blahblahblah, chunked\r\n\r\n",
        501,
        K::UnknownTransferCoding,
    );
}

#[test]
fn chunked_body_errors_answer_in_the_apps_place() {
    // Twisted case 27 and web2 case 61: the request was dispatched, its response had not
    // started, so the channel answers 400 and the app loses the request.
    for body in [
        "MALFORMED_LINE_THIS_SHOULD_BE_'6'\r\n",
        "asdf\r\n",
        "-1\r\n",
        "0x3\r\n",
        "1\r\nblahblah",
    ] {
        let mut h = Harness::dummy(bare());
        h.send(format!(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        ));
        let wire = h.take_wire();
        assert!(
            wire.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{body:?}: {wire:?}"
        );
        assert!(h
            .events()
            .iter()
            .any(|e| matches!(e, crate::Event::Lost { .. })));
        assert!(h.shut_down());
    }
}

#[test]
fn limits() {
    // Twisted case 38: a 16384-byte request line is fine; 16385 → 414 (Twisted: silent close).
    let target = |n: usize| format!("/{}", "a".repeat(n - "GET  HTTP/1.0".len() - 1));
    let mut h = Harness::dummy(bare());
    h.send(format!("GET {} HTTP/1.0\r\n\r\n", target(16_384)));
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK"));
    rejected(
        &format!("GET {} HTTP/1.0\r\n\r\n", target(16_385)),
        414,
        K::UriTooLong,
    );
    // web2 case 61: `GET /Bar×10000` → 414, detected before the line ends.
    assert_rejected(
        bare(),
        format!("GET {}", "/Bar".repeat(10_000)).as_bytes(),
        414,
        K::UriTooLong,
    );
    // Twisted case 38: headers of 8005 + 8405 bytes → 431 (Twisted: 400).
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nA: {}\r\nB: {}\r\n\r\n",
        "a".repeat(8002),
        "b".repeat(8402)
    );
    rejected(&big, 431, K::HeadTooLarge);
    // web2 case 61: 5000 × `Foo: Bar` → 431.
    rejected(
        &format!(
            "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
            "Foo: Bar\r\n".repeat(5000)
        ),
        431,
        K::TooManyHeaders,
    );
    // Twisted case 15: 500 headers pass, 501 → 431 (Twisted: 400).
    let headers = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "Host: h\r\n".to_string() + &"X: y\r\n".repeat(n - 1)
        )
    };
    let mut h = Harness::dummy(bare());
    h.send(headers(500));
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK"));
    rejected(&headers(501), 431, K::TooManyHeaders);
    // Twisted case 16, with tiny limits, and the count is per request.
    let mut limits = Limits::default();
    limits.head_bytes_max = 60;
    let config = Config { limits, ..bare() };
    let mut h = Harness::dummy(config.clone());
    h.send("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n");
    assert_eq!(h.take_wire().matches("HTTP/1.1 200 OK").count(), 2);
    assert_rejected(
        config,
        b"GET /path/longer/than/60/bytes/is/too/long/for/this/head/limit HTTP/1.1\r\n\r\n",
        431,
        K::HeadTooLarge,
    );
    // Twisted case 14: `maxHeaders=1` per request.
    let mut limits = Limits::default();
    limits.header_count_max = 1;
    let mut h = Harness::dummy(Config { limits, ..bare() });
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.take_wire().matches("HTTP/1.1 200 OK").count(), 2);
    // 413: a declared body over the limit is refused before dispatch.
    let mut limits = Limits::default();
    limits.body_bytes_max = Some(10);
    let config = Config { limits, ..bare() };
    assert_rejected(
        config,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n",
        413,
        K::BodyTooLarge,
    );
}

/// One leading empty line is eaten, a second is an error (Twisted), at the start and between
/// requests; web2 case 60's extra CRLF after a body is the tolerated one.
#[test]
fn leading_empty_lines() {
    let mut h = Harness::dummy(bare());
    h.send("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.take_wire().matches("HTTP/1.1 200 OK").count(), 2);
    rejected(
        "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        K::LeadingEmptyLines,
    );
    let mut h = Harness::dummy(bare());
    h.send(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\r\nGET / HTTP/1.1\r\n\
        Host: h\r\n\r\n",
    );
    assert_eq!(h.take_wire().matches("HTTP/1.1 200 OK").count(), 2);
}

/// Bare LF line ends are accepted (Twisted hung until its timeout).
#[test]
fn bare_lf_line_ends() {
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\nHost: h\n\n");
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK"));
}

/// Nothing after a rejected request is ever processed: a smuggled request stays unread.
#[test]
fn nothing_after_an_error_is_processed() {
    let mut h = Harness::dummy(bare());
    h.send(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\
        \r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let wire = h.take_wire();
    assert_eq!(wire.matches("HTTP/1.1").count(), 1, "{wire}");
    assert!(!wire.contains("smuggled"));
    assert_eq!(h.request_ids(), []);
}

/// Twisted case 22 (`test_headerStripWhitespace`) deliberately differs: VT and FF are control
/// characters, not field content (RFC 9110 §5.5), so a value carrying them is refused rather
/// than kept; only SP and HTAB around a value are stripped.
#[test]
fn only_sp_and_htab_are_whitespace_in_values() {
    rejected(
        "GET / HTTP/1.1\r\nHost: h\r\nline-tab:   \u{b} vertical tab\u{b}\t\r\n\r\n",
        400,
        K::InvalidHeader,
    );
    rejected(
        "GET / HTTP/1.1\r\nHost: h\r\nform-feed: \u{c} ff \u{c}  \r\n\r\n",
        400,
        K::InvalidHeader,
    );
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: \t  padded value \t \r\n\r\n");
    assert_eq!(h.heads[0].1.headers.get("x-pad").unwrap(), "padded value");
}
