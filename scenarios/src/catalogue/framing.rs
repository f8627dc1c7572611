//! Message framing and request smuggling: conflicting or malformed `Content-Length` and
//! `Transfer-Encoding`, obsolete line folding, bare CR and LF, a malformed request line, an
//! unsupported version, a missing Host. Each bad head is refused with its status, a complete
//! error response and a lingering close, and nothing after it is ever processed: every bad
//! request below is followed by a valid one that must never be answered.

use std::time::Duration;

use twine_sim::{Action, ClientScript, Outcome, Scenario};

use super::chunked::refused;
use super::expect::{absent, all, bodies, clean_eof, in_order, statuses};
use super::{echo, quick_config, Entry};
use twine_engine::ProtocolErrorKind;
use twine_sim::pattern::{
    any_protocol_error, any_request, body_end, body_total, bytes_received, client, concerning,
    finish, request, server,
};
use twine_sim::Violation;
use twine_sim::{ClientEvent, ServerEvent};

const FAMILY: &str = "framing";

/// The valid request sent right after each bad one, in the same segment.
const AFTER: &str = "GET /after HTTP/1.1\r\nHost: h\r\n\r\n";

/// The last request of a well-behaved connection.
const AFTER_CLOSE: &str = "GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// An echo scenario with one broken client per request head in `heads`, each sending its
/// head followed by `AFTER` in one segment, 100 ms after the previous client (so their traces
/// do not interleave).
fn bad_heads(name: &str, heads: &[&str]) -> Scenario {
    let mut s = echo(name, quick_config());
    for (i, head) in heads.iter().enumerate() {
        s.clients.push(
            ClientScript::new()
                .starting_at(Duration::from_millis(100 * i as u64))
                .send(format!("{head}{AFTER}"))
                .misbehaving(),
        );
    }
    s
}

/// Every connection of `o` got only the error for `kind`, and no request was ever dispatched
/// (neither the bad one nor the one after it).
fn all_refused(o: &Outcome, status: u16, kind: ProtocolErrorKind) -> Vec<Violation> {
    let mut out: Vec<Violation> = (0..o.clients.len())
        .flat_map(|conn| refused(o, conn, status, kind))
        .collect();
    out.extend(absent(o, any_request()));
    out
}

/// The smuggled request hidden in a body that `Content-Length` covers and chunked ends early.
const SMUGGLED: &str = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

/// Two POSTs whose body `Content-Length` covers and chunked ends early, hiding [`SMUGGLED`]:
/// the length field first, then the coding field first, each under the names given.
fn length_and_coding(length: &str, coding: &str) -> [String; 2] {
    let cl = SMUGGLED.len();
    [
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\n{length}: {cl}\r\n{coding}: chunked\r\n\r\n{SMUGGLED}"
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\n{coding}: chunked\r\n{length}: {cl}\r\n\r\n{SMUGGLED}"
        ),
    ]
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "cl_and_te",
        about: "Content-Length with Transfer-Encoding (either order) is refused with 400; the request smuggled in the body is never processed",
        seed: 1,
        build: |_| {
            let [first, second] = length_and_coding("Content-Length", "Transfer-Encoding");
            bad_heads("framing/cl_and_te", &[&first, &second])
        },
        // `all_refused` finds no request event: neither the POST nor the smuggled GET.
        expect: |o| all_refused(o, 400, ProtocolErrorKind::ConflictingFraming),
    },
    Entry {
        family: FAMILY,
        name: "two_content_lengths",
        about: "two Content-Length fields are refused with 400, whether they differ or agree",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/two_content_lengths",
                &[
                    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                ],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::ConflictingFraming),
    },
    Entry {
        family: FAMILY,
        name: "cl_and_te_in_any_case",
        about: "field names are case-insensitive (RFC 9110 §5.1) for the smuggling checks too: a lower-case `content-length` with an upper-case `TRANSFER-ENCODING`, the other way round, and two lengths named in different cases are each refused with 400; the request hidden in the body is never processed",
        seed: 1,
        build: |_| {
            let [first, _] = length_and_coding("content-length", "TRANSFER-ENCODING");
            let [_, second] = length_and_coding("CONTENT-LENGTH", "transfer-encoding");
            let third = "POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\
                         CONTENT-Length: 6\r\n\r\nhello!";
            bad_heads("framing/cl_and_te_in_any_case", &[&first, &second, third])
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::ConflictingFraming),
    },
    Entry {
        family: FAMILY,
        name: "content_length_malformed",
        about: "a Content-Length with a sign, a list, a hex prefix, trailing garbage, an overflow, a blank inside or no digits at all is refused with 400 (CVE-2022-24801; an empty one is no length of 0)",
        seed: 1,
        build: |_| {
            let heads = ["+5", "-5", "5, 5", "0x5", "5x", "99999999999999999999", "5 5", ""]
                .map(|v| format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {v}\r\n\r\nhello"));
            let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
            bad_heads("framing/content_length_malformed", &heads)
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidContentLength),
    },
    Entry {
        family: FAMILY,
        name: "chunked_not_last",
        about: "`Transfer-Encoding: chunked, identity` and `chunked` twice are refused with 400: chunked must be the one final coding",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/chunked_not_last",
                &[
                    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
                    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                ],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::ChunkedNotLast),
    },
    Entry {
        family: FAMILY,
        name: "unknown_coding",
        about: "`Transfer-Encoding: gzip, chunked` is refused with 501: twine implements no coding but chunked",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/unknown_coding",
                &["POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"],
            )
        },
        expect: |o| all_refused(o, 501, ProtocolErrorKind::UnknownTransferCoding),
    },
    Entry {
        family: FAMILY,
        name: "te_on_http10",
        about: "Transfer-Encoding on HTTP/1.0 is faulty framing: the body is read as chunked and answered, then the connection closes despite keep-alive",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/te_on_http10", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /ten HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\
                         Connection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
                         GET /never HTTP/1.0\r\n\r\n",
                    )
                    // The request scanner takes keep-alive at its word and would expect the
                    // second request to be answered: a broken peer, by RFC 9112 §6.1.
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"hello"), None]),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/ten"),
                        body_total(0, 5),
                        body_end(0),
                        finish(0),
                        server(ServerEvent::ShutdownWrite),
                        // Close-delimited, as HTTP/1.0 must be: no Content-Length known.
                        bytes_received(b"Connection: close\r\nDate"),
                        client(ClientEvent::Eof),
                    ],
                ),
                absent(o, concerning(1)),
                absent(o, bytes_received(b"Transfer-Encoding: chunked\r\nDate")),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "te_on_http10_answered_with_a_length",
        about: "Transfer-Encoding on HTTP/1.0 closes the connection after its response even when that response has a Content-Length and could have kept it alive: the next request is never served (RFC 9112 §6.1)",
        seed: 1,
        build: |_| {
            let mut s = Scenario::new(
                "framing/te_on_http10_answered_with_a_length",
                quick_config(),
                twine_sim::app::<twine_apps::Api>(),
            );
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /accept HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\
                         Connection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
                         GET /never HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                    )
                    // Keep-alive taken at its word, the second request looks owed: a broken
                    // peer, by RFC 9112 §6.1.
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/accept"),
                        body_end(0),
                        finish(0),
                        server(ServerEvent::ShutdownWrite),
                        bytes_received(b"Connection: close\r\n"),
                        client(ClientEvent::Eof),
                    ],
                ),
                absent(o, concerning(1)),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "obs_fold",
        about: "a folded header line (obs-fold) is refused with 400, not joined",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/obs_fold",
                &["GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n  b\r\n\r\n"],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::ObsoleteFold),
    },
    Entry {
        family: FAMILY,
        name: "field_value_control_bytes",
        about: "a field value holding a DEL, a NUL or an ESC, in a value shorter than eight bytes, in the middle of a longer one and as its last byte, is refused with 400 (RFC 9110 §5.5: controls other than HTAB are not field content), however the value falls across the parser's eight-byte words",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/field_value_control_bytes",
                &[
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fb\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghij\x7fklmnopqrstu\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijklmnop\x7f\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: abc\x00def\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijk\x1blmnop\r\n\r\n",
                ],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidHeader),
    },
    Entry {
        family: FAMILY,
        name: "bare_lf",
        about: "bare LF line ends are accepted, in the head of a request with a body and of the pipelined one after it",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/bare_lf", quick_config());
            s.clients.push(ClientScript::new().send(
                "POST /lf HTTP/1.1\nHost: h\nContent-Length: 3\n\nabc\
                 GET /two HTTP/1.1\nHost: h\nConnection: close\n\n",
            ));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                bodies(o, 0, &[Some(b"abc"), Some(b"")]),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/lf"),
                        request(1, "GET", "/two"),
                        server(ServerEvent::ShutdownWrite),
                    ],
                ),
                absent(o, any_protocol_error()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "bare_cr",
        about: "a bare CR, inside a header value or ending the request line, is refused with 400",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/bare_cr",
                &[
                    "GET / HTTP/1.1\r\nHost: h\rX-Hidden: 1\r\n\r\n",
                    "GET / HTTP/1.1\rHost: h\r\n\r\n",
                ],
            )
        },
        expect: |o| {
            all([
                refused(o, 0, 400, ProtocolErrorKind::InvalidHeader),
                refused(o, 1, 400, ProtocolErrorKind::InvalidRequestLine),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "request_line_double_space",
        about: "a request line with two spaces between method and target is refused with 400",
        seed: 1,
        build: |_| bad_heads("framing/request_line_double_space", &["GET  / HTTP/1.1\r\nHost: h\r\n\r\n"]),
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidRequestLine),
    },
    Entry {
        family: FAMILY,
        name: "request_line_without_a_version",
        about: "an HTTP/0.9 request line (`GET /`, no version) and a bare method (`GET`) are refused with 400 as bad request lines: HTTP/0.9 is not served (RFC 9112 §2.3, Appendix C.1)",
        seed: 1,
        build: |_| bad_heads("framing/request_line_without_a_version", &["GET /\r\nHost: h\r\n\r\n", "GET\r\nHost: h\r\n\r\n"]),
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidRequestLine),
    },
    Entry {
        family: FAMILY,
        name: "method_not_a_token",
        about: "a method with a byte no token allows (`(`, `\"`, `@`, `/`) is refused with 400 (RFC 9110 §9.1: `method = token`)",
        seed: 1,
        build: |_| {
            let heads = ["GE(T", "\"GET\"", "GET@", "GET/"].map(|m| format!("{m} / HTTP/1.1\r\nHost: h\r\n\r\n"));
            let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
            bad_heads("framing/method_not_a_token", &heads)
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidMethod),
    },
    Entry {
        family: FAMILY,
        name: "target_bytes_out_of_range",
        about: "a request-target carrying DEL, a UTF-8 `é` (0xC3 0xA9) or a NUL is refused with 400: every form of target is visible ASCII (RFC 9112 §3.2; Twisted's bound was 176, meant as octal, and let 0x7F to 0xB0 through)",
        seed: 1,
        build: |_| {
            let heads = ["/a\x7fb", "/caf\u{e9}", "/a\x00b"].map(|t| format!("GET {t} HTTP/1.1\r\nHost: h\r\n\r\n"));
            let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
            bad_heads("framing/target_bytes_out_of_range", &heads)
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidTarget),
    },
    Entry {
        family: FAMILY,
        name: "request_line_stray_spaces",
        about: "a request line with a space after the version, a second word after it, or a space before the method is refused with 400 as a bad request line, never read for its version",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/request_line_stray_spaces",
                &[
                    "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
                    "GET / HTTP/1.1 x\r\nHost: h\r\n\r\n",
                    " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                ],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidRequestLine),
    },
    Entry {
        family: FAMILY,
        name: "http2_version",
        about: "an HTTP/2.0 request line is refused with 505 HTTP Version Not Supported",
        seed: 1,
        build: |_| bad_heads("framing/http2_version", &["GET / HTTP/2.0\r\nHost: h\r\n\r\n"]),
        expect: |o| all_refused(o, 505, ProtocolErrorKind::UnsupportedVersion),
    },
    Entry {
        family: FAMILY,
        name: "host_missing_or_doubled",
        about: "an HTTP/1.1 request without Host, or with two, is refused with 400",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/host_missing_or_doubled",
                &[
                    "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                ],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidHost),
    },
    Entry {
        family: FAMILY,
        name: "host_invalid",
        about: "a Host that is no `host[:port]` (a space, userinfo, a path, a bad port, a quote, an IP literal unclosed, empty, with a bad byte or junk after it, a cut or non-hex percent escape) is refused with 400 (RFC 9112 §3.2), on HTTP/1.0 too",
        seed: 1,
        build: |_| {
            bad_heads(
                "framing/host_invalid",
                &[
                    "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: user@front\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: front/path\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: front:80x\r\n\r\n",
                    "GET / HTTP/1.0\r\nHost: \"front\"\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: []\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: [::1]:8o\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: [a/b]\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: front%4\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: front%zz:80\r\n\r\n",
                ],
            )
        },
        expect: |o| all_refused(o, 400, ProtocolErrorKind::InvalidHost),
    },
    Entry {
        family: FAMILY,
        name: "host_forms_accepted",
        about: "every form of `host[:port]` RFC 3986 allows is served on one connection: an IPv6 literal with a port, an IPvFuture literal, percent escapes, sub-delims, an empty port",
        seed: 1,
        build: |_| {
            let hosts = ["[::1]:8080", "[v1.fe80::a+en1]", "front%41b", "a-b.c_d~e!$&'()*+,;=", "front:", "front%2e:80"];
            let requests: String = hosts.iter().map(|host| format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")).collect();
            let mut s = echo("framing/host_forms_accepted", quick_config());
            s.clients.push(ClientScript::new().send(format!("{requests}{AFTER_CLOSE}")));
            s
        },
        expect: |o| all([statuses(o, 0, &[200; 7]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "field_names_in_any_case",
        about: "the framing fields are read whatever the case of their names (RFC 9110 §5.1): all lower-case as hyper, reqwest and Node send them, and all upper-case; on each connection a `content-length` body, a `transfer-encoding` chunked body, an `expect: 100-continue` upload and a `connection: close` GET are served, and the connection closes after the last",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/field_names_in_any_case", quick_config());
            for (i, upper) in [false, true].into_iter().enumerate() {
                let name = |name: &str| if upper { name.to_ascii_uppercase() } else { name.to_string() };
                let (host, length, coding) = (name("host"), name("content-length"), name("transfer-encoding"));
                let (expect, connection) = (name("expect"), name("connection"));
                s.clients.push(
                    ClientScript::new()
                        .starting_at(Duration::from_millis(100 * i as u64))
                        .send(format!(
                            "POST /a HTTP/1.1\r\n{host}: h\r\n{length}: 5\r\n\r\nhello\
                             POST /b HTTP/1.1\r\n{host}: h\r\n{coding}: chunked\r\n\r\n5\r\nworld\r\n0\r\n\r\n\
                             POST /c HTTP/1.1\r\n{host}: h\r\n{expect}: 100-continue\r\n{length}: 2\r\n\r\n"
                        ))
                        .then(Action::WaitFor("HTTP/1.1 100 Continue\r\n\r\n".into()))
                        .send(format!("hiGET /d HTTP/1.1\r\n{host}: h\r\n{connection}: close\r\n\r\n")),
                );
            }
            s
        },
        expect: |o| {
            let served = |conn| {
                all([
                    statuses(o, conn, &[200, 200, 100, 200, 200]),
                    bodies(o, conn, &[Some(b"hello"), Some(b"world"), Some(b"hi"), Some(b"")]),
                    clean_eof(o, conn),
                ])
            };
            all([served(0), served(1)])
        },
    },
    Entry {
        family: FAMILY,
        name: "bodies_on_any_method",
        about: "a body is framed by its fields whatever the method (RFC 9110 §9.3: GET, HEAD, DELETE and OPTIONS may carry one, as Elasticsearch's clients send): bodies on a GET, a chunked GET, a HEAD and a DELETE, pipelined, are each read to their end and never taken for the next request; all five requests, an `OPTIONS *` last, are served in order",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/bodies_on_any_method", quick_config());
            s.clients.push(ClientScript::new().send(
                "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
                 GET /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
                 HEAD /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz\
                 DELETE /d HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok\
                 OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200; 5]),
                in_order(o, &[request(0, "GET", "/a"), body_total(0, 5), request(1, "GET", "/b"), body_total(1, 3), request(2, "HEAD", "/c"), body_total(2, 3), request(3, "DELETE", "/d"), body_total(3, 2), request(4, "OPTIONS", "*")]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "leading_empty_lines",
        about: "one empty line before a request line is skipped (RFC 9112 §2.2) and the request served; two are refused with 400",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/leading_empty_lines", quick_config());
            s.clients.push(ClientScript::new().send(format!("\r\n{AFTER_CLOSE}")));
            s.clients.push(ClientScript::new().starting_at(Duration::from_millis(100)).send(format!("\r\n\r\n{AFTER}")).misbehaving());
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), clean_eof(o, 0), refused(o, 1, 400, ProtocolErrorKind::LeadingEmptyLines)]),
    },
    Entry {
        family: FAMILY,
        name: "leading_bare_lf",
        about: "a bare LF before the request line, the connection's very first byte, is an empty line like a CRLF (RFC 9112 §2.2: a recipient may take LF alone as a line end): skipped, and the request served",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/leading_bare_lf", quick_config());
            s.clients.push(ClientScript::new().send(format!("\n{AFTER_CLOSE}")));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "method_pri_is_http1",
        about: "a request whose method is `PRI` but whose line is not the HTTP/2 preface is HTTP/1.1: it is answered as one, never taken for a connection preface on its first bytes",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/method_pri_is_http1", quick_config());
            s.clients.push(ClientScript::new().send("PRI / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "preface_cut_by_eof",
        about: "the first bytes of the HTTP/2 preface, then the client's FIN: the bytes held while the protocol was undecided reach the HTTP/1.1 channel, which answers its request line (`PRI * HTTP/2.0`) with 505",
        seed: 1,
        build: |_| {
            let mut s = echo("framing/preface_cut_by_eof", quick_config());
            s.clients.push(ClientScript::new().send("PRI * HTTP/2.0\r\n").then(Action::ShutdownWrite).misbehaving());
            s
        },
        expect: |o| all([statuses(o, 0, &[505]), clean_eof(o, 0)]),
    },
];
