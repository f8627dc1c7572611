//! Resets at every phase. Server side: `StreamFaults::reset_at` (Linux semantics: unread data
//! is discarded and every later read or write fails) inside the head, inside the body, and
//! after a complete request while its response streams. Client side: `Action::Reset` before
//! sending, mid-body, while a response streams, after part of a response. Each time the engine
//! reports the loss, stops the producer, aborts the socket, and a second, well-behaved client
//! on another connection is served as if nothing happened.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use twine_sim::{Action, ClientScript, Outcome, ReadPolicy, Scenario, SendWindow, StreamFaults};

use super::expect::{absent, all, bodies, clean_eof, in_order, read_before, statuses};
use super::{echo, quick_config, stream, Entry};
use twine_engine::{CloseReason, ProducerState};
use twine_sim::pattern::{
    any_engine_event, any_finish, any_read, any_request, any_reset, any_write, app_body, close,
    fault, head, lost, producer, request, server,
};
use twine_sim::Violation;
use twine_sim::{Fault, ServerEvent};

const FAMILY: &str = "resets";

/// Connection 0 is reset by the server's side after `at` bytes read; the others are left alone.
fn reset_conn0_at(s: &mut Scenario, at: u64) {
    s.faults = Rc::new(move |conn| StreamFaults {
        reset_at: (conn == 0).then_some(at),
        ..StreamFaults::default()
    });
}

/// Connection 0's client reads slowly (1000 bytes in flight, 256 bytes/ms), so a large response
/// is still being produced when the reset comes; with `reset_at`, the server side resets too.
/// The window stays under turmoil's 1024 segments per connection even with one-byte write
/// fragments, so the closing FIN always finds room in the client's receive queue.
fn slow_conn0(s: &mut Scenario, reset_at: Option<u64>) {
    s.faults = Rc::new(move |conn| {
        if conn != 0 {
            return StreamFaults::default();
        }
        StreamFaults {
            window: Some(SendWindow {
                bytes: 1000,
                drain_bytes_per_ms: 256,
            }),
            reset_at,
            ..StreamFaults::default()
        }
    });
}

/// A well-behaved bystander on connection 1: two keep-alive requests around the reset.
fn bystander() -> ClientScript {
    ClientScript::new()
        .send("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nfirst")
        .then(Action::Sleep(Duration::from_millis(30)))
        .send("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond")
}

/// The bystander got both answers, whole, and a clean close.
fn bystander_served(o: &Outcome) -> Vec<Violation> {
    all([
        statuses(o, 1, &[200, 200]),
        bodies(o, 1, &[Some(b"first"), Some(b"second")]),
        clean_eof(o, 1),
    ])
}

/// Connection 0's upload: a head announcing 100000 bytes.
const UPLOAD_HEAD: &str = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n";

fn upload_body(n: usize) -> Bytes {
    Bytes::from(vec![b'u'; n])
}

const STREAM_REQUEST: &str = "GET /stream/1000000 HTTP/1.1\r\nHost: h\r\n\r\n";

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "server_reset_inside_head",
        about: "a reset 10 bytes into a request head: no request is dispatched, the connection is lost and aborted, the other client is served",
        seed: 1,
        build: |_| {
            let mut s = echo("resets/server_reset_inside_head", quick_config());
            reset_conn0_at(&mut s, 10);
            s.clients.push(
                ClientScript::new()
                    .send("GET /reset-me HTTP/1.1\r\nHost: h\r\n\r\n")
                    .misbehaving(),
            );
            s.clients.push(bystander());
            s
        },
        expect: |o| {
            all([
                in_order(
                    o,
                    &[
                        any_read().on(0),
                        fault(Fault::ResetAt { byte: 10 }).on(0),
                        server(ServerEvent::ConnectionLost).on(0),
                        close(CloseReason::Abort).on(0),
                        server(ServerEvent::SocketAborted).on(0),
                    ],
                ),
                read_before(o, 0, fault(Fault::ResetAt { byte: 10 }), 10),
                absent(o, any_request().on(0)),
                absent(o, any_write().on(0)),
                bystander_served(o),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "server_reset_inside_body",
        about: "a reset inside a request body: the request is lost, its echo producer stops, the socket is aborted; the other client is served",
        seed: 1,
        build: |_| {
            let mut s = echo("resets/server_reset_inside_body", quick_config());
            reset_conn0_at(&mut s, (UPLOAD_HEAD.len() + 5000) as u64);
            s.clients.push(
                ClientScript::new()
                    .send(UPLOAD_HEAD)
                    .send(upload_body(20_000))
                    .misbehaving(),
            );
            s.clients.push(bystander());
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/upload").on(0),
                        producer(0, ProducerState::Producing).on(0),
                        fault(Fault::ResetAt { byte: 5058 }).on(0),
                        server(ServerEvent::ConnectionLost).on(0),
                        lost(0).on(0),
                        producer(0, ProducerState::Stopped).on(0),
                        close(CloseReason::Abort).on(0),
                        server(ServerEvent::SocketAborted).on(0),
                    ],
                ),
                absent(o, any_finish().on(0)),
                bystander_served(o),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "server_reset_while_streaming",
        about: "a reset right after a complete request, while its 1 MB response is produced: the producer stops, the socket is aborted, the client sees a cut body; the other client is served",
        seed: 1,
        build: |_| {
            let mut s = stream("resets/server_reset_while_streaming", quick_config());
            slow_conn0(&mut s, Some(STREAM_REQUEST.len() as u64));
            s.clients.push(ClientScript::new().send(STREAM_REQUEST).misbehaving());
            s.clients.push(stream_bystander());
            s
        },
        expect: |o| {
            let (ten, twenty) = (
                twine_apps::stream::expected_body(10),
                twine_apps::stream::expected_body(20),
            );
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        request(0, "GET", "/stream/1000000").on(0),
                        producer(0, ProducerState::Producing).on(0),
                        fault(Fault::ResetAt { byte: 41 }).on(0),
                        server(ServerEvent::ConnectionLost).on(0),
                        lost(0).on(0),
                        producer(0, ProducerState::Stopped).on(0),
                        close(CloseReason::Abort).on(0),
                        server(ServerEvent::SocketAborted).on(0),
                    ],
                ),
                statuses(o, 1, &[200, 200]),
                bodies(o, 1, &[Some(&ten), Some(&twenty)]),
                clean_eof(o, 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_drops_before_sending",
        about: "a client that connects and drops at once, having sent and read nothing (turmoil: a FIN), is closed without a response; the other client is served",
        seed: 1,
        build: |_| {
            let mut s = echo("resets/client_drops_before_sending", quick_config());
            s.clients.push(ClientScript::new().then(Action::Reset).misbehaving());
            s.clients.push(bystander());
            s
        },
        expect: |o| {
            all([
                in_order(
                    o,
                    &[
                        any_reset().on(0),
                        server(ServerEvent::ReadEof).on(0),
                        close(CloseReason::Graceful).on(0),
                        server(ServerEvent::SocketClosed).on(0),
                    ],
                ),
                absent(o, any_write().on(0)),
                absent(o, any_engine_event().on(0)),
                bystander_served(o),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_reset_mid_body",
        about: "a client that resets mid-upload with the echoed response unread (a real RST): the request is lost, its producer stops, the socket is aborted; the other client is served",
        seed: 1,
        build: |_| {
            let mut s = echo("resets/client_reset_mid_body", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(UPLOAD_HEAD)
                    .send(upload_body(10_000))
                    .then(Action::Sleep(Duration::from_millis(10)))
                    .then(Action::Reset)
                    .reading(ReadPolicy::Never)
                    .misbehaving(),
            );
            s.clients.push(bystander());
            s
        },
        expect: |o| {
            all([
                in_order(
                    o,
                    &[
                        request(0, "POST", "/upload").on(0),
                        producer(0, ProducerState::Producing).on(0),
                        app_body(0).on(0),
                        any_reset().on(0),
                        server(ServerEvent::ConnectionLost).on(0),
                        lost(0).on(0),
                        producer(0, ProducerState::Stopped).on(0),
                        close(CloseReason::Abort).on(0),
                        server(ServerEvent::SocketAborted).on(0),
                    ],
                ),
                absent(o, any_finish().on(0)),
                bystander_served(o),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_reset_while_streaming",
        about: "a client reading a 1 MB stream slowly resets part-way: the engine loses the request, stops the producer, aborts the socket; the other client is served",
        seed: 1,
        build: |_| {
            let mut s = stream("resets/client_reset_while_streaming", quick_config());
            slow_conn0(&mut s, None);
            s.clients.push(
                ClientScript::new()
                    .send(STREAM_REQUEST)
                    .reading(ReadPolicy::Rate {
                        bytes: 4096,
                        every: Duration::from_millis(1),
                    })
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .then(Action::Reset)
                    .misbehaving(),
            );
            s.clients.push(stream_bystander());
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        producer(0, ProducerState::Producing).on(0),
                        any_reset().on(0),
                        server(ServerEvent::ConnectionLost).on(0),
                        lost(0).on(0),
                        producer(0, ProducerState::Stopped).on(0),
                        close(CloseReason::Abort).on(0),
                        server(ServerEvent::SocketAborted).on(0),
                    ],
                ),
                statuses(o, 1, &[200, 200]),
                clean_eof(o, 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_reset_after_head",
        about: "a client that resets as soon as the response head arrives, with the body unread: the request is lost and the socket aborted; the other client is served",
        seed: 1,
        build: |_| {
            let mut s = stream("resets/client_reset_after_head", quick_config());
            slow_conn0(&mut s, None);
            s.clients.push(
                ClientScript::new()
                    .send(STREAM_REQUEST)
                    .then(Action::WaitFor("\r\n\r\n".into()))
                    .then(Action::Reset)
                    .misbehaving(),
            );
            s.clients.push(stream_bystander());
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        head(0, 200).on(0),
                        any_reset().on(0),
                        server(ServerEvent::ConnectionLost).on(0),
                        lost(0).on(0),
                        producer(0, ProducerState::Stopped).on(0),
                        close(CloseReason::Abort).on(0),
                        server(ServerEvent::SocketAborted).on(0),
                    ],
                ),
                statuses(o, 1, &[200, 200]),
                clean_eof(o, 1),
            ])
        },
    },
];

/// A well-behaved second client of the stream app, served in full whatever happens to
/// connection 0.
fn stream_bystander() -> ClientScript {
    ClientScript::new()
        .send("GET /stream/10 HTTP/1.1\r\nHost: h\r\n\r\n")
        .then(Action::Sleep(Duration::from_millis(30)))
        .send("GET /stream/20 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
}
