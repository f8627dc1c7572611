//! Chunked request bodies: extensions and trailers are accepted and dropped, the framing
//! survives any segmentation, and every malformed or oversized form is refused (400, or 413
//! over `body_bytes_max`) with a complete error response and a lingering close.

use std::time::Duration;

use twine_engine::{Config, Limits};
use twine_sim::invariants::exchanges;
use twine_sim::{Action, ClientScript, Fragments, Outcome, Scenario};

use super::expect::{
    absent, all, before_first, bodies, clean_eof, failed_on, in_order, in_order_on, statuses,
};
use super::{echo, quick_config, Entry};
use twine_engine::Timer;
use twine_engine::{CloseReason, ProtocolErrorKind};
use twine_sim::pattern::{
    any_protocol_error, body_end, bytes_received, bytes_sent, client, close, finish, head, lost,
    protocol_error, request, server, server_where, timer_cancelled, timer_set,
};
use twine_sim::Violation;
use twine_sim::{ClientEvent, ServerEvent};

const FAMILY: &str = "chunked";

/// A chunked upload with extensions (a token, a value, a quoted string, an empty one) and two
/// trailer fields, followed by a second request on the same connection that closes it.
const UPLOAD: &str = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
    5;name=value\r\nhello\r\n\
    6;flag;q=\"x; y\"\r\n world\r\n\
    A;\r\n, chunked!\r\n\
    0;last=1\r\nTrailer-One: a\r\nTrailer-Two: b c\r\n\r\n\
    GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// What `UPLOAD` gets back: the data echoed (re-chunked by the server), then an empty 200.
fn upload_expect(o: &Outcome) -> Vec<Violation> {
    all([
        statuses(o, 0, &[200, 200]),
        bodies(o, 0, &[Some(b"hello world, chunked!"), Some(b"")]),
        in_order(
            o,
            &[
                request(0, "POST", "/up"),
                body_end(0),
                finish(0),
                request(1, "GET", "/after"),
                finish(1),
                server(ServerEvent::ShutdownWrite),
            ],
        ),
        absent(o, any_protocol_error()),
        clean_eof(o, 0),
    ])
}

/// An echo scenario whose one client sends `head_and_body` in one segment and waits for the
/// close: a broken peer (its request can never be answered with a 200).
pub(super) fn one_bad_request(name: &str, config: Config, bytes: &[u8]) -> Scenario {
    let mut s = echo(name, config);
    s.clients
        .push(ClientScript::new().send(bytes.to_vec()).misbehaving());
    s
}

/// An echo scenario with one broken client per chunked body in `bodies`, each sending its
/// POST in one segment.
fn bad_bodies(name: &str, bodies: &[impl AsRef<str>]) -> Scenario {
    let mut s = echo(name, quick_config());
    for body in bodies {
        s.clients.push(
            ClientScript::new()
                .send(chunked_post(body.as_ref()))
                .misbehaving(),
        );
    }
    s
}

/// A chunked POST whose body is `body`.
fn chunked_post(body: &str) -> Vec<u8> {
    format!("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n{body}").into_bytes()
}

/// An echo scenario with one connection per body, each a chunked POST with
/// `Connection: close` that the server must accept.
fn good_bodies(name: &str, config: Config, bodies: &[impl AsRef<str>]) -> Scenario {
    let mut s = echo(name, config);
    for body in bodies {
        let post = format!(
            "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\n{}",
            body.as_ref()
        );
        s.clients.push(ClientScript::new().send(post));
    }
    s
}

/// Connection `conn`'s one upload was accepted: `data` echoed with a 200, then a clean close.
fn echoed(o: &Outcome, conn: usize, data: &[u8]) -> Vec<Violation> {
    all([
        statuses(o, conn, &[200]),
        bodies(o, conn, &[Some(data)]),
        absent(o, any_protocol_error().on(conn as u32)),
        clean_eof(o, conn),
    ])
}

/// The first response on connection `conn` carried this body, whole. (The requests after a
/// refused one, which the harness's scanner may still see, are never answered.)
fn first_body(o: &Outcome, conn: usize, expected: &[u8]) -> Vec<Violation> {
    let log = &o.clients[conn];
    match exchanges(&log.sent, &log.received) {
        Ok(list) => match list.first().and_then(|e| e.response_body.as_deref()) {
            Some(body) if body == expected => Vec::new(),
            other => failed_on(
                conn,
                format!(
                    "expected the first response's body {:?}, got {:?}",
                    String::from_utf8_lossy(expected),
                    other.map(String::from_utf8_lossy)
                ),
            ),
        },
        Err(error) => failed_on(conn, error),
    }
}

/// Connection `conn`'s one chunked response carries `data`, in however many chunks, and no
/// last chunk: the response was cut short.
pub(super) fn cut_chunked_response(o: &Outcome, conn: usize, data: &[u8]) -> Vec<Violation> {
    let received = &o.clients[conn].received;
    let body_at = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(received.len(), |at| at + 4);
    match chunk_data(&received[body_at..]) {
        Some((echoed, false)) if echoed == data => Vec::new(),
        other => failed_on(
            conn,
            format!(
                "the cut response should carry {:?} in chunks and no last chunk, got {other:?}",
                String::from_utf8_lossy(data)
            ),
        ),
    }
}

/// The data of a chunked body's complete chunks, and whether its last chunk came; `None` if
/// the chunks are malformed.
fn chunk_data(mut body: &[u8]) -> Option<(Vec<u8>, bool)> {
    let mut data = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&body[..line_end]).ok()?, 16).ok()?;
        if size == 0 {
            return Some((data, true));
        }
        let chunk = body.get(line_end + 2..line_end + 2 + size + 2)?;
        data.extend_from_slice(&chunk[..size]);
        body = &body[line_end + 2 + size + 2..];
    }
    Some((data, false))
}

/// Connection `conn` got exactly one response, the engine's error for `kind` (its body is the
/// kind's text), complete, with `Content-Length` and `Connection: close`; the server read on
/// until the client's FIN (a lingering close) and the client saw a clean EOF.
///
/// Unless the server had written before the error showed: a body that arrives in pieces is
/// answered piece by piece, so the error can come after the app's response started, and then
/// that response is cut short instead ([`cut_short`]). Which one happened is read from the
/// trace, so the same expectation holds however the request's bytes were cut.
pub(super) fn refused(
    o: &Outcome,
    conn: usize,
    status: u16,
    kind: ProtocolErrorKind,
) -> Vec<Violation> {
    let error = protocol_error(kind).on(conn as u32);
    let wrote = server_where("a write", |e| matches!(e, ServerEvent::Write { .. })).on(conn as u32);
    if before_first(o, &error).iter().any(|e| wrote.matches(e)) {
        return cut_short(o, conn, status, kind);
    }
    let body = format!("{kind}\n");
    let got = String::from_utf8_lossy(&o.clients[conn].received).into_owned();
    let head = got.split("\r\n\r\n").next().unwrap_or("");
    let mut wire = Vec::new();
    for line in [
        format!("Content-Length: {}", body.len()),
        "Connection: close".to_string(),
    ] {
        if !head.lines().any(|l| l == line) {
            wire.extend(failed_on(
                conn,
                format!("no {line:?} in the error response's head"),
            ));
        }
    }
    all([
        statuses(o, conn, &[status]),
        first_body(o, conn, body.as_bytes()),
        wire,
        lingering_close_after(o, conn, kind),
        clean_eof(o, conn),
    ])
}

/// The error for `kind` showed after the app's response had started: that response is cut
/// short (no error response spliced into it, no last chunk), then the same lingering close.
fn cut_short(o: &Outcome, conn: usize, status: u16, kind: ProtocolErrorKind) -> Vec<Violation> {
    let got = &o.clients[conn].received;
    let mut wire = Vec::new();
    if !got.starts_with(b"HTTP/1.1 ") {
        wire.extend(failed_on(conn, "no response was started".into()));
    }
    let error_status = format!("HTTP/1.1 {status} ");
    if got
        .windows(error_status.len())
        .any(|w| w == error_status.as_bytes())
    {
        wire.extend(failed_on(
            conn,
            format!("a {status} spliced into a started response"),
        ));
    }
    if got.ends_with(b"0\r\n\r\n") {
        wire.extend(failed_on(
            conn,
            "the cut response should have no last chunk".into(),
        ));
    }
    all([
        wire,
        lingering_close_after(o, conn, kind),
        clean_eof(o, conn),
    ])
}

/// After the error for `kind`, connection `conn` closed as a refusal does: the server shut its
/// side, read on until the client's FIN (a lingering close), and closed gracefully.
fn lingering_close_after(o: &Outcome, conn: usize, kind: ProtocolErrorKind) -> Vec<Violation> {
    in_order_on(
        o,
        conn as u32,
        &[
            protocol_error(kind),
            server(ServerEvent::ShutdownWrite),
            timer_set(Timer::Linger),
            client(ClientEvent::Eof),
            server(ServerEvent::ReadEof),
            timer_cancelled(Timer::Linger),
            close(CloseReason::Graceful),
        ],
    )
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "extensions_and_trailers",
        about: "chunk extensions and trailers are accepted and dropped: the data alone is echoed, and the next request is read right after the trailers",
        seed: 1,
        build: |_| {
            let mut s = echo("chunked/extensions_and_trailers", quick_config());
            s.clients.push(ClientScript::new().send(UPLOAD));
            s
        },
        expect: upload_expect,
    },
    Entry {
        family: FAMILY,
        name: "coding_name_in_any_case",
        about: "transfer-coding names are case-insensitive (RFC 9112 §7): `Transfer-Encoding: Chunked` and `CHUNKED` frame their bodies as chunked, each echoed, the next request read right after",
        seed: 1,
        build: |_| {
            let upload = |coding: &str| format!("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: {coding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            let mut s = echo("chunked/coding_name_in_any_case", quick_config());
            s.clients.push(ClientScript::new().send(format!("{}{}GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", upload("Chunked"), upload("CHUNKED"))));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200, 200]), bodies(o, 0, &[Some(b"hello"), Some(b"hello"), Some(b"")])]),
    },
    Entry {
        family: FAMILY,
        name: "size_with_leading_zeros",
        about: "a chunk size is `1*HEXDIG` (RFC 9112 §7.1): twenty digits with fifteen leading zeros are the size 5, and `0000` is the last chunk; read by value, not by digit count, the body is echoed and the next request read after it",
        seed: 1,
        build: |_| {
            let upload = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000005\r\nhello\r\n0000\r\n\r\n";
            let mut s = echo("chunked/size_with_leading_zeros", quick_config());
            s.clients.push(ClientScript::new().send(format!("{upload}GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"hello"), Some(b"")])]),
    },
    Entry {
        family: FAMILY,
        name: "split_every_byte",
        about: "the same upload sent one byte per segment (split inside every size line, extension, CRLF and trailer) decodes the same",
        seed: 1,
        build: |_| {
            let mut s = echo("chunked/split_every_byte", quick_config());
            s.clients.push(ClientScript::new().send_in(
                UPLOAD,
                Fragments::Each(1),
                Duration::from_millis(1),
            ));
            s
        },
        expect: upload_expect,
    },
    Entry {
        family: FAMILY,
        name: "split_random",
        about: "the same upload cut at random places (1 to 4 bytes per segment, from the seed) decodes the same",
        seed: 1,
        build: |_| {
            let mut s = echo("chunked/split_random", quick_config());
            s.clients.push(ClientScript::new().send_in(
                UPLOAD,
                Fragments::Random { max: 4 },
                Duration::from_millis(1),
            ));
            s
        },
        expect: upload_expect,
    },
    Entry {
        family: FAMILY,
        name: "bad_hex",
        about: "a chunk size that is not hex (`zz`) is refused: 400, then a lingering close",
        seed: 1,
        build: |_| {
            one_bad_request(
                "chunked/bad_hex",
                quick_config(),
                &chunked_post("zz\r\nhello\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkSize),
    },
    Entry {
        family: FAMILY,
        name: "hex_prefix",
        about: "a chunk size with a `0x` prefix (Python's int(x, 16) took it, CVE-2022-24801) is refused with 400",
        seed: 1,
        build: |_| {
            one_bad_request(
                "chunked/hex_prefix",
                quick_config(),
                &chunked_post("0x5\r\nhello\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkSize),
    },
    Entry {
        family: FAMILY,
        name: "negative_size",
        about: "a negative chunk size (`-5`) is refused with 400",
        seed: 1,
        build: |_| {
            one_bad_request(
                "chunked/negative_size",
                quick_config(),
                &chunked_post("-5\r\nhello\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkSize),
    },
    Entry {
        family: FAMILY,
        name: "size_line_too_long",
        about: "a chunk-size line over chunk_line_bytes_max (1024) is refused with 400 before its end arrives",
        seed: 1,
        build: |_| {
            let line = format!("5;x={}", "v".repeat(1100));
            one_bad_request(
                "chunked/size_line_too_long",
                quick_config(),
                // The line never ends: the client sends no more.
                &chunked_post(&line),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkSize),
    },
    Entry {
        family: FAMILY,
        name: "extension_bad_byte",
        about: "a chunk extension holding a control byte (DEL) is refused with 400 (Twisted's _chunkExtChars, CVE-2022-24801)",
        seed: 1,
        build: |_| {
            one_bad_request(
                "chunked/extension_bad_byte",
                quick_config(),
                &chunked_post("5;a=b\x7fc\r\nhello\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkExtension),
    },
    Entry {
        family: FAMILY,
        name: "missing_crlf_after_data",
        about: "chunk data not followed by CRLF (`hello!!`) is refused with 400",
        seed: 1,
        build: |_| {
            one_bad_request(
                "chunked/missing_crlf_after_data",
                quick_config(),
                &chunked_post("5\r\nhello!!\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkEnd),
    },
    Entry {
        family: FAMILY,
        name: "trailers_too_large",
        about: "with trailer_bytes_max 32, a 40-byte trailer field is refused with 400",
        seed: 1,
        build: |_| {
            let mut limits = Limits::default();
            limits.trailer_bytes_max = 32;
            let mut config = quick_config();
            config.limits = limits;
            let trailer = format!("X-Big: {}", "t".repeat(33));
            one_bad_request(
                "chunked/trailers_too_large",
                config,
                &chunked_post(&format!("5\r\nhello\r\n0\r\n{trailer}\r\n\r\n")),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidTrailers),
    },
    Entry {
        family: FAMILY,
        name: "body_over_limit",
        about: "with body_bytes_max 16, a chunked body announcing 20 bytes is refused with 413 when the second size line is read",
        seed: 1,
        build: |_| {
            let mut limits = Limits::default();
            limits.body_bytes_max = Some(16);
            let mut config = quick_config();
            config.limits = limits;
            one_bad_request(
                "chunked/body_over_limit",
                config,
                &chunked_post("a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 413, ProtocolErrorKind::BodyTooLarge),
    },
    Entry {
        family: FAMILY,
        name: "extension_forms_accepted",
        about: "chunk extensions with whitespace around `=` and on either side of `;`, a quoted-pair in a quoted value, and several in a row (names alone, token and quoted values) are accepted and the data echoed",
        seed: 1,
        build: |_| {
            good_bodies(
                "chunked/extension_forms_accepted",
                quick_config(),
                &[
                    "5;a =b\r\nhello\r\n0\r\n\r\n",
                    "5;a= \"q\\\"x\"\r\nhello\r\n0\r\n\r\n",
                    "5;a ;b\r\nhello\r\n0\r\n\r\n",
                    "5;a=b\t;c\r\nhello\r\n0\r\n\r\n",
                    "5; a=b;c=d\r\nhello\r\n0\r\n\r\n",
                    "5;a;b=\"c\";d\r\nhello\r\n0\r\n\r\n",
                ],
            )
        },
        expect: |o| all((0..6).map(|conn| echoed(o, conn, b"hello"))),
    },
    Entry {
        family: FAMILY,
        name: "extension_blanks_run_on",
        about: "runs of blanks (spaces and tabs, RFC 9112 §7.1.1's BWS) after an extension's name, before and after its `=` and before `;` are accepted like one: the data is echoed",
        seed: 1,
        build: |_| {
            good_bodies(
                "chunked/extension_blanks_run_on",
                quick_config(),
                &[
                    "5;a \t =  b\r\nhello\r\n0\r\n\r\n",
                    "5;a\t\t;b  ;c\r\nhello\r\n0\r\n\r\n",
                ],
            )
        },
        expect: |o| all((0..2).map(|conn| echoed(o, conn, b"hello"))),
    },
    Entry {
        family: FAMILY,
        name: "extension_blanks_after_values",
        about: "blanks (spaces and tabs, BWS) after an extension's value, a token's or a quoted string's, before `;` or the line's end, are accepted: the data is echoed",
        seed: 1,
        build: |_| {
            good_bodies(
                "chunked/extension_blanks_after_values",
                quick_config(),
                &[
                    "5;a=b \t;c=\"d\"\t \r\nhello\r\n0\r\n\r\n",
                    "5;a=\"b\" ;c\r\nhello\r\n0\r\n\r\n",
                ],
            )
        },
        expect: |o| all((0..2).map(|conn| echoed(o, conn, b"hello"))),
    },
    Entry {
        family: FAMILY,
        name: "extensions_malformed",
        about: "a chunk extension with no name, a line ending after `=` or inside a quoted value, a second value after whitespace, a quote or an `@` in a name, or a value starting with `@` is refused with 400",
        seed: 1,
        build: |_| {
            bad_bodies(
                "chunked/extensions_malformed",
                &[
                    "5;=x\r\nhello\r\n0\r\n\r\n",
                    "5;a=\r\nhello\r\n0\r\n\r\n",
                    "5;a=\"open\r\nhello\r\n0\r\n\r\n",
                    "5;a=b c\r\nhello\r\n0\r\n\r\n",
                    "5;a\"b\"\r\nhello\r\n0\r\n\r\n",
                    "5;a=@\r\nhello\r\n0\r\n\r\n",
                    "5;a@=b\r\nhello\r\n0\r\n\r\n",
                ],
            )
        },
        expect: |o| {
            let kind = ProtocolErrorKind::InvalidChunkExtension;
            all((0..7).map(|conn| refused(o, conn, 400, kind)))
        },
    },
    Entry {
        family: FAMILY,
        name: "trailers_at_the_limit",
        about: "with trailer_bytes_max 11, a trailer section of exactly 11 bytes (`X: 1234` and the empty line) is accepted; one byte more is refused with 400",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.trailer_bytes_max = 11;
            let mut s = good_bodies(
                "chunked/trailers_at_the_limit",
                config,
                &["5\r\nhello\r\n0\r\nX: 1234\r\n\r\n"],
            );
            s.clients.push(
                ClientScript::new()
                    .send(chunked_post("5\r\nhello\r\n0\r\nX: 12345\r\n\r\n"))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                echoed(o, 0, b"hello"),
                refused(o, 1, 400, ProtocolErrorKind::InvalidTrailers),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "trailer_lines_at_the_limit",
        about: "with trailer_bytes_max 28, two trailer lines of 13 bytes and the empty line (28 bytes, every CRLF counted) are accepted; one byte more in the second line is refused with 400",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.trailer_bytes_max = 28;
            let mut s = good_bodies(
                "chunked/trailer_lines_at_the_limit",
                config,
                &["5\r\nhello\r\n0\r\nX-A: 123456\r\nX-B: 123456\r\n\r\n"],
            );
            s.clients.push(
                ClientScript::new()
                    .send(chunked_post("5\r\nhello\r\n0\r\nX-A: 123456\r\nX-B: 1234567\r\n\r\n"))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                echoed(o, 0, b"hello"),
                refused(o, 1, 400, ProtocolErrorKind::InvalidTrailers),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "trailer_lines_add_up",
        about: "with trailer_bytes_max 32, three trailer lines of 13 bytes each are refused with 400: the limit bounds the whole section, not each line",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.trailer_bytes_max = 32;
            let mut s = echo("chunked/trailer_lines_add_up", config);
            let trailers = "X-A: 123456\r\nX-B: 123456\r\nX-C: 123456\r\n\r\n";
            let body = format!("5\r\nhello\r\n0\r\n{trailers}");
            s.clients.push(ClientScript::new().send(chunked_post(&body)).misbehaving());
            s
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidTrailers),
    },
    Entry {
        family: FAMILY,
        name: "body_at_the_limit",
        about: "with body_bytes_max 16, a chunked body of exactly 16 bytes in two chunks is accepted and echoed",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.body_bytes_max = Some(16);
            good_bodies(
                "chunked/body_at_the_limit",
                config,
                &["a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n"],
            )
        },
        expect: |o| echoed(o, 0, b"0123456789abcdef"),
    },
    Entry {
        family: FAMILY,
        name: "size_line_at_the_limit",
        about: "a chunk-size line of exactly chunk_line_bytes_max (1024) bytes, its first 1024 bytes in one segment and its CRLF in the next, is accepted and the data echoed",
        seed: 1,
        build: |_| {
            let line = format!("5;x={}", "v".repeat(1024 - 4));
            let mut s = echo("chunked/size_line_at_the_limit", quick_config());
            let head = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
                        Connection: close\r\n\r\n";
            s.clients.push(
                ClientScript::new()
                    .send(format!("{head}{line}"))
                    .then(Action::Sleep(Duration::from_millis(5)))
                    .send("\r\nhello\r\n0\r\n\r\n"),
            );
            s
        },
        expect: |o| echoed(o, 0, b"hello"),
    },
    Entry {
        family: FAMILY,
        name: "size_line_at_the_limit_past_a_smaller_buffer",
        about: "with recv_buffer_bytes_max 512, under chunk_line_bytes_max (1024), a chunk-size line of exactly 1024 bytes, sent once the head was read, is still accepted: while a body is read the receive window makes room for a whole size line and its CRLF, or the line could never end",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.recv_buffer_bytes_max = 512;
            let line = format!("5;x={}", "v".repeat(1024 - 4));
            let mut s = echo("chunked/size_line_at_the_limit_past_a_smaller_buffer", config);
            let head = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
                        Connection: close\r\n\r\n";
            s.clients.push(
                ClientScript::new()
                    .send(head)
                    .then(Action::Sleep(Duration::from_millis(5)))
                    .send(format!("{line}\r\nhello\r\n0\r\n\r\n")),
            );
            s
        },
        expect: |o| echoed(o, 0, b"hello"),
    },
    Entry {
        family: FAMILY,
        name: "size_line_at_the_limit_past_small_buffers",
        about: "with recv_buffer_bytes_max 512 and head_bytes_max 256, both under chunk_line_bytes_max (1024), a chunk-size line of exactly 1024 bytes sent with its head is still accepted: the receive buffer makes room for the longest legal size line and its CRLF, whichever bound is largest",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.recv_buffer_bytes_max = 512;
            config.limits.head_bytes_max = 256;
            config.limits.header_count_max = 8;
            let line = format!("5;x={}", "v".repeat(1024 - 4));
            let mut s = echo("chunked/size_line_at_the_limit_past_small_buffers", config);
            let head = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
                        Connection: close\r\n\r\n";
            s.clients.push(ClientScript::new().send(format!("{head}{line}\r\nhello\r\n0\r\n\r\n")));
            s
        },
        expect: |o| echoed(o, 0, b"hello"),
    },
    Entry {
        family: FAMILY,
        name: "bad_size_after_response_started",
        about: "a bad chunk size arriving after the echo's 200 head went out truncates that response and closes: no 400 is spliced into it",
        seed: 1,
        build: |_| {
            let mut s = echo("chunked/bad_size_after_response_started", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(chunked_post("5\r\nhello\r\n"))
                    // The response head is out (the echoed chunk with it, in exact mode).
                    .then(Action::WaitFor("\r\n\r\n".into()))
                    .send("zz\r\n")
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            // However the body arrived (in one read, or cut into pieces the echo answers one
            // by one), the cut response carries all of it.
            all([
                cut_chunked_response(o, 0, b"hello"),
                in_order(
                    o,
                    &[
                        head(0, 200),
                        bytes_sent(b"zz\r\n"),
                        protocol_error(ProtocolErrorKind::InvalidChunkSize),
                        lost(0),
                        server(ServerEvent::ShutdownWrite),
                        client(ClientEvent::Eof),
                        close(CloseReason::Graceful),
                    ],
                ),
                absent(o, bytes_received(b"HTTP/1.1 400")),
                absent(o, bytes_received(b"0\r\n\r\n")),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "size_overflow",
        about: "a chunk size past 64 bits (`10000000000000005`, 5 once wrapped: a smuggling vector) is refused with 400, never read as 5",
        seed: 1,
        build: |_| {
            one_bad_request(
                "chunked/size_overflow",
                quick_config(),
                &chunked_post("10000000000000005\r\nhello\r\n0\r\n\r\n"),
            )
        },
        expect: |o| refused(o, 0, 400, ProtocolErrorKind::InvalidChunkSize),
    },
    Entry {
        family: FAMILY,
        name: "empty_size",
        about: "a chunk-size line with no digits (an empty line, or only an extension) is refused with 400, never read as 0",
        seed: 1,
        build: |_| bad_bodies("chunked/empty_size", &["\r\nhello\r\n0\r\n\r\n", ";a=b\r\nhello\r\n0\r\n\r\n"]),
        expect: |o| all([0, 1].map(|conn| refused(o, conn, 400, ProtocolErrorKind::InvalidChunkSize))),
    },
    Entry {
        family: FAMILY,
        name: "trailers_malformed",
        about: "a trailer line ended by a bare LF (`X-Sum: 1\\n`), and one without a colon, are refused with 400 even when the trailers then end well: the request behind them is never read",
        seed: 1,
        build: |_| {
            let bodies = ["X-Sum: 1\n\r\n\r\n", "junk\r\n\r\n"]
                .map(|trailers| format!("5\r\nhello\r\n0\r\n{trailers}GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"));
            bad_bodies("chunked/trailers_malformed", &bodies)
        },
        expect: |o| all([0, 1].map(|conn| refused(o, conn, 400, ProtocolErrorKind::InvalidTrailers))),
    },
    Entry {
        family: FAMILY,
        name: "trailer_bare_cr",
        about: "a CR not followed by LF in the trailer section, inside a field line or where the empty line should be, is refused with 400 (RFC 9112 §2.2: a bare CR is invalid), never read as a line end: the request behind is never read",
        seed: 1,
        build: |_| {
            let bodies = ["X-Sum: 1\rX-Two: 2\r\n\r\n", "X-Sum: 1\r\n\rGET"]
                .map(|trailers| format!("5\r\nhello\r\n0\r\n{trailers}GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"));
            bad_bodies("chunked/trailer_bare_cr", &bodies)
        },
        expect: |o| all([0, 1].map(|conn| refused(o, conn, 400, ProtocolErrorKind::InvalidTrailers))),
    },
];
