//! Pipelining: requests are dispatched strictly in order and answered strictly in order,
//! whatever the segment boundaries; at depth 1 (Twisted since 16.3) a request is not even
//! parsed before the previous response finished (CVE-2023-46137, CVE-2024-41671); past the
//! 16 KiB eager-read bound reading pauses; at a depth above 1 responses finished early wait
//! their turn.

use std::time::Duration;

use twine_apps::stream::expected_body;
use twine_engine::Limits;
use twine_sim::{Action, ClientScript, Fragments};

use super::expect::{absent, all, bodies, clean_eof, failed, in_order, read_before, statuses};
use super::{echo, quick_config, slow_reader, stream, Entry};
use twine_engine::{ProducerState, ProtocolErrorKind, ReadState, RequestId};
use twine_sim::pattern::{
    any_app_refused, any_read, app, client, finish, producer, protocol_error, reading, request,
    request_id, server, write,
};
use twine_sim::Pattern;
use twine_sim::Violation;
use twine_sim::{AppAction, ClientEvent, ServerEvent};

const FAMILY: &str = "pipelining";

/// Four requests of every framing (none, Content-Length, chunked, HEAD), the last one closing.
const MIXED: &str = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
    POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789\
    POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabcdefghij\r\n0\r\n\r\n\
    HEAD /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// What the four `MIXED` requests get back.
fn mixed_expect(o: &twine_sim::Outcome) -> Vec<Violation> {
    all([
        statuses(o, 0, &[200, 200, 200, 200]),
        bodies(
            o,
            0,
            &[
                Some(b""),
                Some(b"0123456789"),
                Some(b"abcdefghij"),
                Some(b""),
            ],
        ),
        in_order(
            o,
            &[
                request(0, "GET", "/a"),
                finish(0),
                request(1, "POST", "/b"),
                finish(1),
                request(2, "POST", "/c"),
                finish(2),
                request(3, "HEAD", "/d"),
                finish(3),
                server(ServerEvent::ShutdownWrite),
            ],
        ),
        clean_eof(o, 0),
    ])
}

/// The slow first request of `padded_gets`.
const FIRST_HEAD: &str = "GET /stream/40000 HTTP/1.1\r\nHost: h\r\n\r\n";

/// Requests pipelined behind the slow first one.
const PADDED: usize = 5;

/// `GET /stream/40000`, then `PADDED` requests for 10 bytes with a 4000-byte header each (the
/// last one closing): over 20 KiB in all, in one segment.
fn padded_gets() -> Vec<u8> {
    let mut out = FIRST_HEAD.as_bytes().to_vec();
    let pad = "p".repeat(4000);
    for i in 0..PADDED {
        let close = if i + 1 == PADDED {
            "Connection: close\r\n"
        } else {
            ""
        };
        out.extend_from_slice(
            format!("GET /stream/10 HTTP/1.1\r\nHost: h\r\nX-Pad: {pad}\r\n{close}\r\n").as_bytes(),
        );
    }
    out
}

/// No entry between the first matching `from` and the next matching `to` matches `what`.
fn none_between(
    o: &twine_sim::Outcome,
    from: Pattern,
    to: Pattern,
    what: Pattern,
) -> Vec<Violation> {
    let Some(start) = from.find(&o.trace, 0) else {
        return failed(format!("trace: {from} missing"));
    };
    let Some(end) = to.find(&o.trace, start) else {
        return failed(format!("trace: {to} missing after {from}"));
    };
    match o.trace.entries[start..end].iter().find(|e| what.matches(e)) {
        Some(e) => failed(format!("trace: \"{}\" between {from} and {to}", e.event)),
        None => Vec::new(),
    }
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "one_segment",
        about: "four pipelined requests (no body, Content-Length, chunked, HEAD) in one segment are answered in order",
        seed: 1,
        build: |_| {
            let mut s = echo("pipelining/one_segment", quick_config());
            s.clients.push(ClientScript::new().send(MIXED));
            s
        },
        expect: mixed_expect,
    },
    Entry {
        family: FAMILY,
        name: "byte_by_byte",
        about: "the same four pipelined requests sent one byte per segment are answered exactly the same",
        seed: 1,
        build: |_| {
            let mut s = echo("pipelining/byte_by_byte", quick_config());
            s.clients.push(ClientScript::new().send_in(
                MIXED,
                Fragments::Each(1),
                Duration::from_millis(1),
            ));
            s
        },
        expect: mixed_expect,
    },
    Entry {
        family: FAMILY,
        name: "over_eager_read_limit",
        about: "20 KiB of requests pipelined behind a slow response: reading pauses at the buffer bound while it is sent, resumes as the queue drains, and all are answered in order",
        seed: 1,
        build: |_| {
            let mut s = stream("pipelining/over_eager_read_limit", quick_config());
            s.clients.push(ClientScript::new().send(padded_gets()));
            s.faults = slow_reader(4096, 2048);
            s
        },
        expect: |o| {
            let first = expected_body(40_000);
            let small = expected_body(10);
            let mut expected: Vec<Option<&[u8]>> = vec![Some(&first)];
            expected.extend([Some(&small[..]); PADDED]);
            all([
                statuses(o, 0, &[200; PADDED + 1]),
                bodies(o, 0, &expected),
                // Reading pauses once 16384 bytes past the first request are buffered; the
                // rest waits in the client's socket until the slow response is done.
                read_before(o, 0, reading(ReadState::Paused), FIRST_HEAD.len() as u64 + 16_384),
                in_order(
                    o,
                    &[
                        request(0, "GET", "/stream/40000"),
                        server(ServerEvent::Reading { state: ReadState::Paused }),
                        finish(0),
                        request(1, "GET", "/stream/10"),
                        server(ServerEvent::Reading { state: ReadState::Resumed }),
                        request(5, "GET", "/stream/10"),
                        finish(5),
                        server(ServerEvent::ShutdownWrite),
                    ],
                ),
                none_between(
                    o,
                    reading(ReadState::Paused),
                    reading(ReadState::Resumed),
                    any_read(),
                ),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "depth_three_out_of_order",
        about: "with pipeline_depth_max 3, two later responses that finish while the first is still paused are held back, and all leave in request order",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            let mut limits = Limits::default();
            limits.pipeline_depth_max = 3;
            config.limits = limits;
            let mut s = stream("pipelining/depth_three_out_of_order", config);
            s.clients.push(ClientScript::new().send(
                "GET /stream/40000 HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /stream/0 HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /missing HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /stream/2000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            // A slow reader: the first response is paused by backpressure while the two after
            // it are already complete and queued.
            s.faults = slow_reader(4096, 2048);
            s
        },
        expect: |o| {
            let first = expected_body(40_000);
            let fourth = expected_body(2000);
            all([
                statuses(o, 0, &[200, 200, 404, 200]),
                bodies(
                    o,
                    0,
                    &[Some(&first), Some(b""), Some(b"not found\n"), Some(&fourth)],
                ),
                // Three dispatched at once; the later two finish first; the fourth is
                // dispatched only when the first leaves the queue.
                in_order(
                    o,
                    &[
                        request(0, "GET", "/stream/40000"),
                        request(1, "GET", "/stream/0"),
                        request(2, "GET", "/missing"),
                        finish(1),
                        finish(2),
                        producer(0, ProducerState::Paused),
                        producer(0, ProducerState::Producing),
                        finish(0),
                        // The queued responses go out only now: req#1's head, req#2's
                        // head and body.
                        write(130),
                        write(124),
                        write(10),
                        request(3, "GET", "/stream/2000"),
                        finish(3),
                        server(ServerEvent::ShutdownWrite),
                    ],
                ),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "cve_2023_46137_same_segment",
        about: "CVE-2023-46137: of two requests in one segment the second is not dispatched before the first's response finished",
        seed: 1,
        build: |_| {
            let mut s = stream("pipelining/cve_2023_46137_same_segment", quick_config());
            s.clients.push(ClientScript::new().send(
                "GET /stream/40000 HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /stream/10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            // A slow reader: the first response takes a while, and the second request waits
            // in the buffer all that time.
            s.faults = slow_reader(4096, 2048);
            s
        },
        expect: |o| {
            let first = expected_body(40_000);
            let second = expected_body(10);
            all([
                statuses(o, 0, &[200, 200]),
                bodies(o, 0, &[Some(&first), Some(&second)]),
                in_order(
                    o,
                    &[
                        request(0, "GET", "/stream/40000"),
                        finish(0),
                        request(1, "GET", "/stream/10"),
                        finish(1),
                        server(ServerEvent::ShutdownWrite),
                    ],
                ),
                // Both requests were in hand, however they were read, while the first was
                // answered.
                read_before(o, 0, finish(0), 94),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "cve_2024_41671_body_ends_at_next",
        about: "CVE-2024-41671: bodies ending exactly where the next request starts in one read, answered synchronously, give every response in order, before a later segment's",
        seed: 1,
        build: |_| {
            let mut s = echo("pipelining/cve_2024_41671_body_ends_at_next", quick_config());
            let mut bytes = Vec::new();
            for i in 0..5 {
                bytes.extend_from_slice(
                    format!("POST /p{i} HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n012345678{i}")
                        .as_bytes(),
                );
                bytes.extend_from_slice(
                    format!(
                        "POST /c{i} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                         a\r\nabcdefghi{i}\r\n0\r\n\r\n"
                    )
                    .as_bytes(),
                );
            }
            // The bug left the bytes after a body in the buffer while later reads were parsed
            // first: a later segment must not overtake them.
            s.clients.push(
                ClientScript::new()
                    .send(bytes)
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .send("GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            let mut expected: Vec<Vec<u8>> = Vec::new();
            for i in 0..5 {
                expected.push(format!("012345678{i}").into_bytes());
                expected.push(format!("abcdefghi{i}").into_bytes());
            }
            expected.push(Vec::new());
            let expected: Vec<Option<&[u8]>> =
                expected.iter().map(|b| Some(b.as_slice())).collect();
            all([
                statuses(o, 0, &[200; 11]),
                bodies(o, 0, &expected),
                // The first segment holds the first ten; each is answered before the next is
                // parsed, all before the second segment is read.
                read_before(o, 0, finish(9), 690),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/p0"),
                        finish(0),
                        request(1, "POST", "/c0"),
                        finish(1),
                        request(9, "POST", "/c4"),
                        finish(9),
                        request(10, "GET", "/last"),
                        finish(10),
                        server(ServerEvent::ShutdownWrite),
                    ],
                ),
                absent(o, server(ServerEvent::Reading { state: ReadState::Paused })),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "error_after_slow_response",
        about: "a malformed request pipelined behind a slow response is answered with 400 only after that response is complete, never inside it",
        seed: 1,
        build: |_| {
            let mut s = stream("pipelining/error_after_slow_response", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "GET /stream/40000 HTTP/1.1\r\nHost: h\r\n\r\n\
                         GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n\
                         GET /stream/10 HTTP/1.1\r\nHost: h\r\n\r\n",
                    )
                    .misbehaving(),
            );
            s.faults = slow_reader(4096, 2048);
            s
        },
        expect: |o| {
            let first = expected_body(40_000);
            all([
                statuses(o, 0, &[200, 400]),
                bodies(o, 0, &[Some(&first), Some(b"invalid Content-Length\n")]),
                // The bad head is parsed only once the first response is done (depth 1),
                // and the request after it is never dispatched.
                in_order(
                    o,
                    &[
                        request(0, "GET", "/stream/40000"),
                        producer(0, ProducerState::Paused),
                        finish(0),
                        protocol_error(ProtocolErrorKind::InvalidContentLength),
                        server(ServerEvent::ShutdownWrite),
                        client(ClientEvent::Eof),
                    ],
                ),
                absent(o, request_id(1)),
                absent(o, request_id(2)),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "depth_two_queued_producer_bounded",
        about: "with depth 2, a second streamed response produces while queued behind the first, up to send_buffer_bytes_max, then its producer pauses until it reaches the front; both arrive whole and in order",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            let mut limits = Limits::default();
            limits.pipeline_depth_max = 2;
            limits.send_buffer_bytes_max = 32 * 1024;
            config.limits = limits;
            let mut s = stream("pipelining/depth_two_queued_producer_bounded", config);
            s.clients.push(ClientScript::new().send(
                "GET /stream/100000 HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /stream/60000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            // A slow reader keeps the first response on the wire while the second produces.
            s.faults = slow_reader(16 * 1024, 8 * 1024);
            s
        },
        expect: |o| {
            let (first, second) = (expected_body(100_000), expected_body(60_000));
            all([
                statuses(o, 0, &[200, 200]),
                bodies(o, 0, &[Some(&first), Some(&second)]),
                // The queued producer works, hits the bound, waits for the front, goes on.
                in_order(
                    o,
                    &[
                        producer(1, ProducerState::Producing),
                        app(AppAction::Body { request: RequestId::from_sequence(1), bytes: 16384 }),
                        producer(1, ProducerState::Paused),
                        finish(0),
                        producer(1, ProducerState::Producing),
                        finish(1),
                    ],
                ),
                absent(o, any_app_refused()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "nothing_read_behind_the_last_response",
        about: "with depth 2, an HTTP/1.0 keep-alive request answered without a length (`/unsized/`) gets a close-delimited response, the connection's last: a request pipelined while it streams never reaches the app, and the connection closes after the body (RFC 9112 §9.6)",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            let mut limits = Limits::default();
            limits.pipeline_depth_max = 2;
            config.limits = limits;
            let mut s = stream("pipelining/nothing_read_behind_the_last_response", config);
            s.clients.push(
                ClientScript::new()
                    .send("GET /unsized/100000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                    .then(Action::WaitFor("Connection: close\r\n".into()))
                    .send("GET /stream/10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
            );
            // A slow reader keeps the first response on the wire while the second arrives.
            s.faults = slow_reader(16 * 1024, 8 * 1024);
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(&expected_body(100_000)), None]),
                absent(o, request_id(1)),
                clean_eof(o, 0),
            ])
        },
    },
];
