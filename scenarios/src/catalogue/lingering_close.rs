//! Lingering close (web2): an error answered while the client is still uploading reaches the
//! client whole, followed by a clean EOF, never a reset. The server shuts down its write side,
//! keeps reading and discarding until the client's FIN, and gives up on the linger timer or
//! once `linger_bytes_max` bytes were discarded.

use std::time::Duration;

use bytes::Bytes;
use twine_engine::{Config, Limits};
use twine_sim::{Action, ClientScript, Fragments, Outcome, Seed};

use super::expect::{
    absent, all, bodies, clean_eof, failed, from_first, in_order, received, server_read_bytes,
    statuses,
};
use super::{echo, quick_config, stream, Entry};
use twine_engine::{CloseReason, ProtocolErrorKind, Timer};
use twine_sim::pattern::{
    any_body, any_protocol_error, any_read, any_read_error, any_request, bytes_received, client,
    close, finish, head, protocol_error, request, server, timer_cancelled, timer_fired, timer_set,
    timer_set_for, write,
};
use twine_sim::Violation;
use twine_sim::{ClientEvent, ServerEvent};

const FAMILY: &str = "lingering_close";

/// The size of web2's `testLingeringClose` upload.
const UPLOAD_BYTES: usize = 1_000_000;

/// The upload's fragment size: a client writing 16 KiB at a time.
const FRAGMENT_BYTES: usize = 16 * 1024;

/// The pause between two fragments of an upload.
const GAP: Duration = Duration::from_millis(1);

/// A config refusing bodies over 1000 bytes.
fn small_bodies() -> Config {
    let mut limits = Limits::default();
    limits.body_bytes_max = Some(1000);
    quick_config().with_limits(limits)
}

/// `n` bytes of upload.
fn body(n: usize) -> Bytes {
    Bytes::from(vec![b'X'; n])
}

/// The head of the 1 MB upload, as web2's test sent it (HTTP/1.0, so no `Host` is needed).
const UPLOAD_HEAD: &str = "POST /error HTTP/1.0\r\nContent-Length: 1000000\r\n\r\n";

/// The whole 413 response, byte for byte, as the client must read it (then EOF).
const RESPONSE_413: &[u8] = b"HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\n\
Content-Length: 23\r\nConnection: close\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n\
Server: twine\r\n\r\nrequest body too large\n";

/// A client uploading the whole 1 MB in 16 KiB fragments, 1 ms apart.
fn uploader() -> ClientScript {
    ClientScript::new().send(UPLOAD_HEAD).send_in(
        body(UPLOAD_BYTES),
        Fragments::Each(FRAGMENT_BYTES),
        Duration::from_millis(1),
    )
}

/// The linger budget of `linger_bytes_max`.
const LINGER_BYTES_MAX: u64 = 64 * 1024;

/// The server read exactly `expected` bytes after it shut down its write side (all discarded).
fn discarded(o: &Outcome, expected: u64) -> Vec<Violation> {
    let after = from_first(o, &server(ServerEvent::ShutdownWrite)).unwrap_or(&[]);
    let read = server_read_bytes(after);
    if read == expected {
        Vec::new()
    } else {
        failed(format!(
            "discarded {read} bytes after shutdown write, expected {expected}"
        ))
    }
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "upload_413_then_eof",
        about: "web2's testLingeringClose: a 1 MB upload over body_bytes_max reads exactly the 413 then a clean EOF, never a reset, while the rest is discarded",
        seed: 1,
        build: |_: Seed| {
            let mut s = echo("lingering_close/upload_413_then_eof", small_bodies());
            s.clients.push(uploader().then(Action::ShutdownWrite));
            s
        },
        expect: |o| {
            all([
                received(o, 0, RESPONSE_413),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        protocol_error(ProtocolErrorKind::BodyTooLarge),
                        write(174),
                        server(ServerEvent::ShutdownWrite),
                        timer_set(Timer::Linger),
                        any_read(),
                        client(ClientEvent::Eof),
                        client(ClientEvent::ShutdownWrite),
                        server(ServerEvent::ReadEof),
                        timer_cancelled(Timer::Linger),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, any_request()),
                absent(o, any_read_error()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_reply_discards_upload",
        about: "an app answering before it reads the body (404) sends Connection: close; the 1 MB still arriving is discarded and the client reads the 404 then a clean EOF",
        seed: 1,
        build: |_| {
            let mut s = stream("lingering_close/early_reply_discards_upload", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n")
                    .send_in(
                        body(UPLOAD_BYTES),
                        Fragments::Each(FRAGMENT_BYTES),
                        Duration::from_millis(1),
                    )
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[404]),
                bodies(o, 0, &[Some(b"not found\n")]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/upload"),
                        head(0, 404),
                        finish(0),
                        server(ServerEvent::ShutdownWrite),
                        bytes_received(b"Connection: close\r\n"),
                        any_read(),
                        server(ServerEvent::ReadEof),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, any_body()),
                absent(o, timer_fired(Timer::Linger)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "linger_timer_without_fin",
        about: "a client that stops mid-upload and never sends its FIN: the linger timer ends the lingering close gracefully (FIN, no reset)",
        seed: 1,
        build: |_| {
            let mut s = echo("lingering_close/linger_timer_without_fin", small_bodies());
            s.clients.push(
                ClientScript::new()
                    .send(UPLOAD_HEAD)
                    .send_in(body(200_000), Fragments::Each(FRAGMENT_BYTES), GAP)
                    .then(Action::Sleep(Duration::from_secs(4)))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                received(o, 0, RESPONSE_413),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        server(ServerEvent::ShutdownWrite),
                        timer_set_for(Timer::Linger, 2003),
                        client(ClientEvent::Eof),
                        timer_fired(Timer::Linger),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, server(ServerEvent::ReadEof)),
                absent(o, server(ServerEvent::SocketAborted)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "linger_bytes_max",
        about: "a lingering close discards at most linger_bytes_max (64 KiB here) of a client that keeps uploading, then closes at once, without waiting for the linger timer",
        seed: 1,
        build: |_| {
            let mut config = small_bodies();
            config.limits.linger_bytes_max = LINGER_BYTES_MAX;
            let mut s = echo("lingering_close/linger_bytes_max", config);
            s.clients.push(uploader().then(Action::Sleep(Duration::from_secs(4))).misbehaving());
            s
        },
        expect: |o| {
            all([
                received(o, 0, RESPONSE_413),
                in_order(
                    o,
                    &[
                        server(ServerEvent::ShutdownWrite),
                        timer_set(Timer::Linger),
                        any_read(),
                        timer_cancelled(Timer::Linger),
                        close(CloseReason::Graceful),
                    ],
                ),
                discarded(o, LINGER_BYTES_MAX),
                absent(o, timer_fired(Timer::Linger)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "bad_head_then_pipelined_discarded",
        about: "a 400 for a bad head reaches the client whole while it keeps pipelining requests; none of them is processed and the client sees a clean EOF",
        seed: 1,
        build: |_| {
            let mut s = echo("lingering_close/bad_head_then_pipelined_discarded", quick_config());
            let mut later = String::new();
            for i in 0..50 {
                later.push_str(&format!(
                    "POST /smuggled/{i} HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                ));
            }
            s.clients.push(
                ClientScript::new()
                    .send("GET /bad HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n")
                    .send_in(later, Fragments::Each(100), Duration::from_millis(1))
                    .then(Action::ShutdownWrite)
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[400]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        any_protocol_error(),
                        server(ServerEvent::ShutdownWrite),
                        bytes_received(b"HTTP/1.1 400 Bad Request\r\n"),
                        any_read(),
                        server(ServerEvent::ReadEof),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_leaves_mid_upload",
        about: "a client that reads the 413 and leaves mid-upload (its FIN) ends the lingering close at once, before the linger timer",
        seed: 1,
        build: |_| {
            let mut s = echo("lingering_close/client_leaves_mid_upload", small_bodies());
            s.clients.push(
                ClientScript::new()
                    .send(UPLOAD_HEAD)
                    .send_in(body(100_000), Fragments::Each(FRAGMENT_BYTES), GAP)
                    .not_waiting()
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                received(o, 0, RESPONSE_413),
                in_order(
                    o,
                    &[
                        server(ServerEvent::ShutdownWrite),
                        timer_set(Timer::Linger),
                        server(ServerEvent::ReadEof),
                        timer_cancelled(Timer::Linger),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, timer_fired(Timer::Linger)),
            ])
        },
    },
];
