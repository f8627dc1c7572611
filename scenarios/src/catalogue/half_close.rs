//! Half-close (web2's, which Twisted lost): a client FIN after complete requests still gets
//! every response, then the channel closes; a FIN in the middle of a head or a body is a
//! connection loss for that request. Also the server-side fault: the peer's FIN seen at a
//! given byte offset.

use std::rc::Rc;

use twine_apps::stream::expected_body;
use twine_sim::{Action, ClientScript, StreamFaults};

use super::backpressure::long_bodies;
use super::expect::{
    absent, absent_on, all, bodies, clean_eof, failed_on, in_order, in_order_on, received, statuses,
};
use super::http2::{answered, answers, goaway, H2Script};
use super::slow_peers::collect;
use super::{echo, quick_config, slow_reader, stream, Entry};
use twine_engine::h2::frame::ErrorCode;
use twine_engine::{CloseReason, ProducerState, ProtocolErrorKind, Timer, TransportState};
use twine_sim::pattern::{
    any_body_end, any_finish, any_head, any_lost, any_protocol_error, any_read_error, any_request,
    body_total, bytes_received, client, close, concerning, fault, finish, lost, producer,
    protocol_error, request, server, timer, timer_fired,
};
use twine_sim::Fault;
use twine_sim::{ClientEvent, ServerEvent};

const FAMILY: &str = "half_close";

/// The streamed body of `fin_after_request`.
const STREAM_BYTES: usize = 100_000;

/// A GET of 28 bytes.
const GET_B: &str = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";

/// Two pipelined GETs.
const GET_C_D: &str = "GET /c HTTP/1.1\r\nHost: h\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n";

/// A POST head of 49 bytes and a body of 10.
const POST_HEAD: &str = "POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n";
const POST_E: &str = "POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";

/// The requests of the `fault_fin_offsets` connections, and where each sees the FIN.
const OFFSET_CASES: [(&str, u64); 4] = [
    // In the request line.
    ("GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 5),
    // Right after a complete request.
    (GET_B, GET_B.len() as u64),
    // Inside the second of two pipelined requests.
    (GET_C_D, GET_B.len() as u64 + 10),
    // Inside a body, after 4 of its 10 bytes.
    (POST_E, POST_HEAD.len() as u64 + 4),
];

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "fin_after_request",
        about: "a FIN right after a complete request still gets the whole 100 KB response, streamed to a slow reader after the FIN, then a clean close",
        seed: 1,
        build: |_| {
            let mut s = stream("half_close/fin_after_request", quick_config());
            s.faults = slow_reader(16384, 8192);
            s.clients.push(
                ClientScript::new()
                    .send(format!("GET /stream/{STREAM_BYTES} HTTP/1.1\r\nHost: h\r\n\r\n"))
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            let body = expected_body(STREAM_BYTES);
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        client(ClientEvent::ShutdownWrite),
                        server(ServerEvent::ReadEof),
                        producer(0, ProducerState::Paused),
                        producer(0, ProducerState::Producing),
                        finish(0),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                // The peer already sent its FIN: nothing to linger for.
                absent(o, server(ServerEvent::ShutdownWrite)),
                absent(o, timer(Timer::Linger)),
                absent(o, any_lost()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fin_after_a_quiet_spell",
        about: "a keep-alive client that reads its response, stays quiet for 800 ms (within the idle timer) and then sends a FIN: the server reads the EOF when it comes, not at its last activity, and closes cleanly then",
        seed: 1,
        build: |_| {
            let mut s = stream("half_close/fin_after_a_quiet_spell", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/10 HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::WaitFor(bytes::Bytes::from_static(b"0123456789")))
                    .then(Action::Sleep(std::time::Duration::from_millis(800)))
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"0123456789")]),
                in_order(o, &[client(ClientEvent::ShutdownWrite), server(ServerEvent::ReadEof), close(CloseReason::Graceful)]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fin_after_two_pipelined",
        about: "a FIN after two pipelined requests, read while the first response is blocked: both are answered in full, the second with Connection: close, then a clean close",
        seed: 1,
        build: |_| {
            let mut s = stream("half_close/fin_after_two_pipelined", quick_config());
            s.faults = slow_reader(16384, 8192);
            s.clients.push(
                ClientScript::new()
                    .send(
                        "GET /stream/50000 HTTP/1.1\r\nHost: h\r\n\r\n\
                         GET /stream/10 HTTP/1.1\r\nHost: h\r\n\r\n",
                    )
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            let (first, second) = (expected_body(50_000), expected_body(10));
            all([
                statuses(o, 0, &[200, 200]),
                long_bodies(o, 0, &[Some(&first), Some(&second)]),
                in_order(
                    o,
                    &[
                        client(ClientEvent::ShutdownWrite),
                        request(0, "GET", "/stream/50000"),
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        server(ServerEvent::ReadEof),
                        finish(0),
                        request(1, "GET", "/stream/10"),
                        finish(1),
                        close(CloseReason::Graceful),
                    ],
                ),
                // The FIN was known when the second head was written: it says the connection
                // ends; the first, written before, does not.
                in_order(
                    o,
                    &[
                        bytes_received(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000\r\nDate"),
                        bytes_received(b"Content-Length: 10\r\nConnection: close\r\n"),
                        client(ClientEvent::Eof),
                    ],
                ),
                absent(o, any_lost()),
                absent(o, server(ServerEvent::ShutdownWrite)),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_fin_after_request",
        about: "HTTP/2: a FIN right after a GET that ended its stream still gets the whole 50 000-byte response, streamed to a slow reader, then GOAWAY(NO_ERROR) and a clean close",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/50000", true);
            let mut s = stream("half_close/http2_fin_after_request", quick_config());
            s.faults = slow_reader(16384, 8192);
            s.clients.push(ClientScript::new().send(script.bytes()).then(Action::ShutdownWrite));
            s
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], &expected_body(50_000)),
                // Reading pauses while the transport is blocked: the FIN may be read late.
                in_order(o, &[client(ClientEvent::ShutdownWrite), finish(0), close(CloseReason::Graceful), server(ServerEvent::SocketClosed)]),
                in_order(o, &[server(ServerEvent::ReadEof), close(CloseReason::Graceful)]),
                goaway(o, ErrorCode::NoError),
                absent(o, any_lost()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_fin_while_the_window_is_shut",
        about: "HTTP/2: a FIN after a GET whose 100 000-byte response stops at the 65 535 bytes of window the client gave: the FIN does not end the stream (its request was whole); the send stall timer does, with GOAWAY(FLOW_CONTROL_ERROR)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/100000", true);
            let mut s = stream("half_close/http2_fin_while_the_window_is_shut", quick_config());
            // It never grants window: a response it asked for can never arrive whole.
            s.clients.push(ClientScript::new().send(script.bytes()).then(Action::ShutdownWrite).misbehaving());
            s
        },
        expect: |o| {
            let got = answers(o, 0).remove(&1).unwrap_or_default();
            let window = if got.body.len() == 65_535 && !got.ended {
                Vec::new()
            } else {
                failed_on(0, format!("stream 1: {} body bytes, ended {}; expected 65535, open", got.body.len(), got.ended))
            };
            all([
                window,
                in_order(o, &[server(ServerEvent::ReadEof), timer_fired(Timer::SendStall), lost(0), client(ClientEvent::Eof)]),
                goaway(o, ErrorCode::FlowControlError),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_fin_mid_body",
        about: "HTTP/2: a FIN while a POST's body is still open loses that stream (echo's started response is never ended), then GOAWAY(NO_ERROR) and a clean close",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "POST", "/echo", false);
            let mut s = echo("half_close/http2_fin_mid_body", quick_config());
            s.clients.push(ClientScript::new().send(script.bytes()).then(Action::ShutdownWrite).misbehaving());
            s
        },
        expect: |o| {
            all([
                in_order(o, &[server(ServerEvent::ReadEof), lost(0), close(CloseReason::Graceful), client(ClientEvent::Eof)]),
                goaway(o, ErrorCode::NoError),
                absent(o, any_finish()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fin_mid_head",
        about: "a FIN in the middle of a request head: nothing to answer, no response, a clean close",
        seed: 1,
        build: |_| {
            let mut s = echo("half_close/fin_mid_head", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET / HTTP/1.1\r\nHo")
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            all([
                received(o, 0, b""),
                in_order(o, &[client(ClientEvent::ShutdownWrite), server(ServerEvent::ReadEof), close(CloseReason::Graceful), server(ServerEvent::SocketClosed), client(ClientEvent::Eof)]),
                absent(o, any_request()),
                absent(o, any_protocol_error()),
                absent(o, timer_fired(Timer::HeaderRead)),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fin_mid_body_echo",
        about: "a FIN in the middle of a body loses the request: echo's started 200 is cut short at the 4 bytes echoed, then the connection closes",
        seed: 1,
        build: |_| {
            let mut s = echo("half_close/fin_mid_body_echo", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabcd")
                    .then(Action::ShutdownWrite)
                    // A broken peer: its request can never be answered in full.
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        body_total(0, 4),
                        server(ServerEvent::ReadEof),
                        lost(0),
                        producer(0, ProducerState::Stopped),
                        close(CloseReason::Graceful),
                        bytes_received(b"abcd"),
                        client(ClientEvent::Eof),
                    ],
                ),
                absent(o, any_body_end()),
                absent(o, any_finish()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fin_mid_body_unanswered",
        about: "a FIN in the middle of a body, to an app that answers only at the body's end: the request is lost and no response is sent at all",
        seed: 1,
        build: |_| {
            let mut s = collect("half_close/fin_mid_body_unanswered", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabcd")
                    .then(Action::ShutdownWrite)
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                received(o, 0, b""),
                in_order(o, &[body_total(0, 4), server(ServerEvent::ReadEof), lost(0), close(CloseReason::Graceful), client(ClientEvent::Eof)]),
                absent(o, any_head()),
                absent(o, bytes_received(b" 408 ").or(protocol_error(ProtocolErrorKind::RequestTimeout))),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fault_fin_offsets",
        about: "the server sees the peer's FIN (a fault) in a request line (no response), right after a request (full response), inside a second pipelined request (first answered), inside a body (lost)",
        seed: 1,
        build: |_| {
            let mut s = echo("half_close/fault_fin_offsets", quick_config());
            s.faults = Rc::new(|conn| StreamFaults {
                half_close_at: OFFSET_CASES.get(conn as usize).map(|(_, at)| *at),
                ..StreamFaults::default()
            });
            for (request, _) in OFFSET_CASES {
                // The fault cuts the stream under the client, which cannot be answered in full:
                // exempt from liveness, like a broken peer.
                s.clients.push(ClientScript::new().send(request).misbehaving());
            }
            s
        },
        expect: |o| {
            let fin = |conn: usize| fault(Fault::PeerFinAt { byte: OFFSET_CASES[conn].1 });
            all([
                // c0: FIN in the request line: nothing to answer.
                received(o, 0, b""),
                in_order_on(o, 0, &[fin(0), server(ServerEvent::ReadEof), close(CloseReason::Graceful)]),
                absent_on(o, 0, any_request()),
                // c1: FIN right after the request: answered in full, then a clean close.
                statuses(o, 1, &[200]),
                in_order_on(o, 1, &[request(0, "GET", "/b"), fin(1), server(ServerEvent::ReadEof), close(CloseReason::Graceful), client(ClientEvent::Eof)]),
                clean_eof(o, 1),
                // c2: the first request answered in full, the second cut and never dispatched.
                statuses(o, 2, &[200]),
                bodies(o, 2, &[Some(b""), None]),
                in_order_on(o, 2, &[request(0, "GET", "/c"), finish(0), fin(2), close(CloseReason::Graceful)]),
                absent_on(o, 2, concerning(1)),
                // c3: FIN inside the body: the request is lost and echo's 200 cut short.
                statuses(o, 3, &[200]),
                bodies(o, 3, &[None]),
                in_order_on(o, 3, &[body_total(0, 4), fin(3), lost(0), close(CloseReason::Graceful)]),
                absent_on(o, 3, any_finish()),
                // The bytes past a FIN are never read, so closing c0, c2 and c3 resets them
                // (Linux semantics); c1 left nothing unread.
                absent(o, any_read_error().on(1)),
            ])
        },
    },
];
