//! Timeouts: every named timer fires in some scenario, and the trace says so. A silent or
//! half-sent head (`header_read`, a total deadline dribbled bytes do not reset), a stalled body
//! (`body_read`, an idle timer that body bytes push back), an idle persistent connection
//! (`idle_keep_alive`), a client that stops reading (`send_stall`), a client that never sends
//! its FIN (`linger`), and a graceful close that cannot flush (`abort`).

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use twine_driver::App;
use twine_engine::{AppCommand, Config, Event, Instant, RequestId, ResponseHead};
use twine_sim::{
    app, Action, ClientScript, Fragments, Outcome, ReadPolicy, Scenario, SendWindow, StreamFaults,
    Violation,
};

use super::expect::{
    absent, all, bodies, clean_eof, count, failed, fired_after, in_order, received, statuses,
};
use super::http2::{goaway, H2Script};
use super::{echo, quick_config, stream, Entry};
use twine_engine::h2::frame::ErrorCode;
use twine_engine::{CloseReason, ProducerState, ProtocolErrorKind, Timer, TransportState};
use twine_sim::pattern::{
    any_body, any_head, any_read, any_request, any_write, body_total, bytes_received, client,
    close, fault, fault_where, finish, head, lost, producer, protocol_error, request,
    response_head_with, server, timer_cancelled, timer_fired, timer_set, timer_set_after,
    timer_set_for,
};
use twine_sim::{ClientEvent, Fault, ServerEvent};

const FAMILY: &str = "timeouts";

/// Connection 0 received exactly `body` after its one response head.
fn body_after_head(o: &Outcome, body: &[u8]) -> Vec<Violation> {
    let received = &o.clients[0].received;
    let after_head = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| &received[at + 4..]);
    if after_head == Some(body) {
        Vec::new()
    } else {
        failed(format!(
            "c0: expected {:?} after the head, got {:?}",
            String::from_utf8_lossy(body),
            after_head.map(String::from_utf8_lossy)
        ))
    }
}

/// An app that answers only once the whole request body is in, as Twisted's `Request` does
/// (`process()` runs after `allContentReceived`): `200` with the body `got <n> bytes\n`. A
/// stalled body can then still be answered with 408.
#[derive(Debug, Default)]
struct AfterBody {
    received: u64,
}

impl App for AfterBody {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, .. } => {
                self.received = 0;
                commands.push(AppCommand::Consume {
                    request: id,
                    bytes: u64::MAX / 2,
                });
            }
            Event::Body { data, .. } => self.received += data.len() as u64,
            Event::BodyEnd { id } => answer(id, self.received, commands),
            _ => {}
        }
    }
}

fn answer(id: RequestId, received: u64, commands: &mut Vec<AppCommand>) {
    let body = Bytes::from(format!("got {received} bytes\n"));
    let head = ResponseHead::new(200).with_header("Content-Length", body.len().to_string());
    commands.push(AppCommand::SendHead { request: id, head });
    commands.push(AppCommand::SendBody {
        request: id,
        data: body,
    });
    commands.push(AppCommand::Finish { request: id });
}

fn after_body(name: &str, config: Config) -> Scenario {
    Scenario::new(name, config, app::<AfterBody>())
}

/// Every connection's client never drains: `bytes` fit in flight, then the transport blocks.
/// Kept under turmoil's 1024 segments per connection, so that even one-byte write fragments
/// leave room for the FIN that ends the connection (a segment arriving at a full receive
/// queue is parked and never delivered).
fn never_drains(s: &mut Scenario, bytes: usize) {
    s.faults = Rc::new(move |_| StreamFaults {
        window: Some(SendWindow {
            bytes,
            drain_bytes_per_ms: 0,
        }),
        ..StreamFaults::default()
    });
}

/// A client that reads nothing for a long while (the server's window models it), then reads.
fn non_reader(request: &str) -> ClientScript {
    ClientScript::new()
        .send(request.to_string())
        .reading(ReadPolicy::After(Duration::from_secs(6)))
        .then(Action::Sleep(Duration::from_secs(6)))
        .misbehaving()
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "header_read_silent",
        about: "a client that connects and says nothing is closed by header_read, without a response",
        seed: 1,
        build: |_| {
            let mut s = echo("timeouts/header_read_silent", quick_config());
            s.clients.push(ClientScript::new());
            s
        },
        expect: |o| {
            all([
                received(o, 0, b""),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        timer_set_for(Timer::HeaderRead, 10002),
                        timer_fired(Timer::HeaderRead).on(0).at_millis(10002),
                        server(ServerEvent::ShutdownWrite),
                        client(ClientEvent::Eof),
                        server(ServerEvent::ReadEof),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, any_write()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "header_read_partial_head_408",
        about: "a head that stops half-way is answered 408 with Connection: close when header_read fires",
        seed: 1,
        build: |_| {
            let mut s = echo("timeouts/header_read_partial_head_408", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET /slow HTTP/1.1\r\nHost: h\r\n")
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[408]),
                clean_eof(o, 0),
                // The partial head does not push the deadline back: 10 s from the start.
                fired_after(o, 0, timer_fired(Timer::HeaderRead), timer_set(Timer::HeaderRead), 10_000),
                count(o, timer_set(Timer::HeaderRead), 1),
                in_order(
                    o,
                    &[
                        timer_set_after(Timer::HeaderRead, 10_000),
                        any_read(),
                        timer_fired(Timer::HeaderRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        server(ServerEvent::ShutdownWrite),
                        response_head_with(b"HTTP/1.1 408 Request Timeout\r\n", b"Connection: close\r\n"),
                        client(ClientEvent::Eof),
                        close(CloseReason::Graceful),
                    ],
                ),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "header_read_not_reset_by_dribble",
        about: "header_read is a total deadline: a head dribbled a byte every 500 ms still gets 408 10 s after its first byte (slowloris)",
        seed: 1,
        build: |_| {
            let mut s = echo("timeouts/header_read_not_reset_by_dribble", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send_in(
                        "GET /dribble HTTP/1.1\r\nHost: h\r\n\r\n",
                        Fragments::Each(1),
                        Duration::from_millis(500),
                    )
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[408]),
                in_order(
                    o,
                    &[
                        timer_set_for(Timer::HeaderRead, 10002),
                        timer_fired(Timer::HeaderRead).on(0).at_millis(10002),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        bytes_received(b"HTTP/1.1 408 Request Timeout\r\n"),
                        close(CloseReason::Graceful),
                    ],
                ),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "body_read_408",
        about: "a body that stops is answered 408 when body_read fires, 10 s after its last byte (body bytes push the timer back)",
        seed: 1,
        build: |_| {
            let mut s = after_body("timeouts/body_read_408", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n\
                         0123456789",
                    )
                    .then(Action::Sleep(Duration::from_secs(5)))
                    .send("0123456789")
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[408]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/upload"),
                        timer_set_after(Timer::BodyRead, 10_000),
                        body_total(0, 20),
                        timer_fired(Timer::BodyRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        lost(0),
                        server(ServerEvent::ShutdownWrite),
                        response_head_with(b"HTTP/1.1 408 Request Timeout\r\n", b"Connection: close\r\n"),
                        close(CloseReason::Graceful),
                    ],
                ),
                // Body bytes push the deadline back: 10 s after the last of them.
                fired_after(o, 0, timer_fired(Timer::BodyRead), any_body(), 10_000),
                absent(o, any_head()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_body_read_goaway",
        about: "HTTP/2: an upload that stops mid-body ends when body_read fires, 10 s after its last DATA (DATA pushes the timer back): GOAWAY(PROTOCOL_ERROR), the stream lost, a graceful close (Twisted's timeoutConnection)",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/echo", false).data(1, b"0123456789", false);
            let mut then = H2Script::empty();
            then.data(1, b"0123456789", false);
            let mut s = echo("timeouts/http2_body_read_goaway", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(first.bytes())
                    .then(Action::Sleep(Duration::from_secs(5)))
                    .send(then.bytes())
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                goaway(o, ErrorCode::ProtocolError),
                in_order(
                    o,
                    &[
                        timer_set_after(Timer::BodyRead, 10_000),
                        body_total(0, 20),
                        timer_fired(Timer::BodyRead),
                        lost(0),
                        server(ServerEvent::ShutdownWrite),
                        client(ClientEvent::Eof),
                        close(CloseReason::Graceful),
                    ],
                ),
                fired_after(o, 0, timer_fired(Timer::BodyRead), any_body(), 10_000),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "body_read_truncates_started_response",
        about: "when body_read fires after the response began (echo streams the body back), the response is cut short and the connection closes",
        seed: 1,
        build: |_| {
            let mut s = echo("timeouts/body_read_truncates_started_response", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789")
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        head(0, 200),
                        producer(0, ProducerState::Producing),
                        timer_fired(Timer::BodyRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        lost(0),
                        producer(0, ProducerState::Stopped),
                        server(ServerEvent::ShutdownWrite),
                        client(ClientEvent::Eof),
                        close(CloseReason::Graceful),
                    ],
                ),
                absent(o, bytes_received(b"408 Request Timeout")),
                // All ten bytes echoed (of the 100 the response announced), however they
                // arrived, then nothing for 10 s.
                body_after_head(o, b"0123456789"),
                fired_after(o, 0, timer_fired(Timer::BodyRead), any_body(), 10_000),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "idle_keep_alive_between_requests",
        about: "idle_keep_alive runs only between requests: the next request cancels it, and it fires after the last response",
        seed: 1,
        build: |_| {
            let mut s = echo("timeouts/idle_keep_alive_between_requests", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(1500)))
                    .send("GET /two HTTP/1.1\r\nHost: h\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                clean_eof(o, 0),
                // Durations, not times: a cut of the bytes moves the times, and the `timer`
                // invariant checks each fires at its deadline (the snapshot pins the times of
                // the scripted run: 2003 and 3503 ms).
                in_order(
                    o,
                    &[
                        request(0, "GET", "/one"),
                        timer_set_after(Timer::IdleKeepAlive, 2000),
                        timer_cancelled(Timer::IdleKeepAlive),
                        timer_set_after(Timer::IdleKeepAlive, 2000),
                        timer_fired(Timer::IdleKeepAlive).on(0),
                        server(ServerEvent::ShutdownWrite),
                        close(CloseReason::Graceful),
                    ],
                ),
                // The next request's start cancels the timer: after its request event when
                // the head comes whole, before it when its first bytes come alone.
                in_order(
                    o,
                    &[
                        timer_set_after(Timer::IdleKeepAlive, 2000),
                        request(1, "GET", "/two"),
                        timer_set_after(Timer::IdleKeepAlive, 2000),
                    ],
                ),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "send_stall_aborts",
        about: "a client that stops reading a large response: the transport blocks, the producer pauses, and send_stall aborts the connection",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.send_stall = Duration::from_secs(3);
            let mut s = stream("timeouts/send_stall_aborts", config);
            never_drains(&mut s, 1000);
            s.clients.push(non_reader("GET /stream/1000000 HTTP/1.1\r\nHost: h\r\n\r\n"));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        producer(0, ProducerState::Producing),
                        fault(Fault::WindowFull),
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        producer(0, ProducerState::Paused),
                        timer_set(Timer::SendStall),
                        timer_fired(Timer::SendStall),
                        lost(0),
                        producer(0, ProducerState::Stopped),
                        close(CloseReason::Abort),
                        server(ServerEvent::SocketAborted),
                    ],
                ),
                absent(o, server(ServerEvent::ShutdownWrite)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "linger_without_client_fin",
        about: "after a Connection: close response, a client that never sends its FIN is closed by the linger timer",
        seed: 1,
        build: |_| {
            let mut s = echo("timeouts/linger_without_client_fin", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                    .then(Action::Sleep(Duration::from_secs(4))),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        finish(0),
                        server(ServerEvent::ShutdownWrite),
                        timer_set_for(Timer::Linger, 2003),
                        client(ClientEvent::Eof),
                        timer_fired(Timer::Linger).on(0).at_millis(2003),
                        close(CloseReason::Graceful),
                        server(ServerEvent::SocketClosed),
                    ],
                ),
                absent(o, server(ServerEvent::ReadEof)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "abort_unflushed_close",
        about: "a graceful close whose last response cannot flush (the client never reads) is aborted by the abort timer",
        seed: 1,
        build: |_| {
            let mut s = stream("timeouts/abort_unflushed_close", quick_config());
            never_drains(&mut s, 1000);
            s.clients.push(non_reader(
                "GET /stream/16384 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                in_order(
                    o,
                    &[
                        finish(0),
                        server(ServerEvent::ShutdownWrite),
                        timer_set(Timer::Linger),
                        // The window fills, however the writes were cut.
                        fault_where("the window filling", |f| matches!(f, Fault::WindowWrite { .. })),
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        timer_cancelled(Timer::Linger),
                        timer_set_after(Timer::Abort, 3000),
                        timer_fired(Timer::Abort),
                        close(CloseReason::Abort),
                        server(ServerEvent::SocketAborted),
                    ],
                ),
                fired_after(o, 0, timer_fired(Timer::Abort), timer_set(Timer::Abort), 3000),
                absent(o, timer_fired(Timer::SendStall)),
                absent(o, timer_fired(Timer::Linger)),
            ])
        },
    },
];
