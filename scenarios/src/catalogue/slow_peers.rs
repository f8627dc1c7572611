//! Slow peers and the attacks built on them: slowloris (a head dribbled byte by byte) meets the
//! head deadline, which bytes do not extend; a slow body (R.U.D.Y.) lives while its bytes keep
//! coming faster than the body idle timeout and gets 408 after a silence; a slow reader is fed
//! as long as it keeps reading and aborted by the send-stall timer when it stops; and a
//! well-behaved client on another connection is served normally throughout.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use twine_apps::stream::expected_body;
use twine_driver::App;
use twine_engine::{AppCommand, Event, Instant, RequestId, ResponseHead};
use twine_sim::{
    app, Action, ClientScript, Fragments, Outcome, ReadPolicy, Scenario, SendWindow, StreamFaults,
};

use super::backpressure::long_bodies;
use super::expect::{absent, all, bodies, clean_eof, failed, in_order, statuses};
use super::{echo, quick_config, slow_reader, stream, Entry};
use twine_engine::{CloseReason, ProducerState, ProtocolErrorKind, Timer, TransportState};
use twine_sim::pattern::{
    any_finish, any_head, any_request, any_timer_fired, body, body_end, bytes_received, client,
    close, finish, head, lost, producer, protocol_error, read, request, response_head_with, server,
    timer_cancelled, timer_fired, timer_set, timer_set_for,
};
use twine_sim::Pattern;
use twine_sim::Violation;
use twine_sim::{ClientEvent, ServerEvent};

const FAMILY: &str = "slow_peers";

/// A slowloris head: 61 bytes, one every 200 ms, would take 12 s.
const SLOW_HEAD: &str = "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";

/// The body of the slow-read scenarios.
const READ_BYTES: usize = 200_000;

/// An app that answers only once the whole request body has arrived (a form handler, say): it
/// grants credit as bytes come, collects them, and then answers 200 with them. Unlike echo it
/// has not started its response while the body is still arriving, so a body timeout can still
/// be answered with 408.
#[derive(Debug, Default)]
struct Collect {
    bodies: BTreeMap<RequestId, BytesMut>,
}

impl App for Collect {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, .. } => {
                self.bodies.insert(id, BytesMut::new());
                commands.push(AppCommand::Consume {
                    request: id,
                    bytes: 64 * 1024,
                });
            }
            Event::Body { id, data } => {
                let len = data.len() as u64;
                if let Some(body) = self.bodies.get_mut(&id) {
                    body.extend_from_slice(&data);
                }
                commands.push(AppCommand::Consume {
                    request: id,
                    bytes: len,
                });
            }
            Event::BodyEnd { id } => {
                let body: Bytes = self.bodies.remove(&id).unwrap_or_default().freeze();
                let head = ResponseHead::new(200)
                    .with_header("Content-Type", "application/octet-stream")
                    .with_header("Content-Length", body.len().to_string());
                commands.push(AppCommand::SendHead { request: id, head });
                if !body.is_empty() {
                    commands.push(AppCommand::SendBody {
                        request: id,
                        data: body,
                    });
                }
                commands.push(AppCommand::Finish { request: id });
            }
            Event::Lost { id } => {
                self.bodies.remove(&id);
            }
            _ => {}
        }
    }
}

/// A scenario running the [`Collect`] app (also used by the half-close family).
pub(super) fn collect(name: &str, config: twine_engine::Config) -> Scenario {
    Scenario::new(name, config, app::<Collect>())
}

/// When (in ms) the first entry matching `pattern` happened, if any.
fn at_ms(o: &Outcome, pattern: &Pattern) -> Option<u64> {
    let index = pattern.find(&o.trace, 0)?;
    Some(o.trace.entries[index].at_nanos / 1_000_000)
}

/// The first entry matching `pattern` happened at exactly `ms`.
fn happened_at(o: &Outcome, pattern: Pattern, ms: u64) -> Vec<Violation> {
    match at_ms(o, &pattern) {
        Some(at) if at == ms => Vec::new(),
        Some(at) => failed(format!("trace: {pattern} at {at} ms, expected at {ms} ms")),
        None => failed(format!("trace: {pattern} missing")),
    }
}

/// Bytes the server read on connection `conn` before simulated time `ms`.
fn read_by_time(o: &Outcome, conn: u32, ms: u64) -> usize {
    o.trace
        .entries
        .iter()
        .filter(|e| e.conn == Some(conn) && e.at_nanos < ms * 1_000_000)
        .filter_map(|e| match e.event.as_server() {
            Some(ServerEvent::Read { bytes }) => Some(*bytes),
            _ => None,
        })
        .sum()
}

/// A client dribbling [`SLOW_HEAD`], one byte every 200 ms.
fn slowloris() -> ClientScript {
    ClientScript::new()
        .send_in(SLOW_HEAD, Fragments::Each(1), Duration::from_millis(200))
        .misbehaving()
}

/// A reader that has stopped: its receive window (4 KB) fills and never drains.
fn stalled_window() -> StreamFaults {
    StreamFaults {
        window: Some(SendWindow {
            bytes: 4096,
            drain_bytes_per_ms: 0,
        }),
        ..StreamFaults::default()
    }
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "slowloris_head_deadline",
        about: "a head dribbled one byte every 200 ms gets 408 at the 3 s head deadline, which the bytes do not extend",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.header_read = Duration::from_secs(3);
            let mut s = echo("slow_peers/slowloris_head_deadline", config);
            s.clients.push(slowloris());
            s
        },
        expect: |o| {
            // Bytes kept coming right up to the deadline: 14 of them in the last 3 s.
            let dribbled = read_by_time(o, 0, 3002);
            let kept_coming = if dribbled >= 14 {
                Vec::new()
            } else {
                failed(format!("only {dribbled} bytes arrived before the deadline"))
            };
            all([
                statuses(o, 0, &[408]),
                in_order(
                    o,
                    &[
                        timer_set_for(Timer::HeaderRead, 3002),
                        read(1),
                        timer_fired(Timer::HeaderRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        server(ServerEvent::ShutdownWrite),
                        response_head_with(b"HTTP/1.1 408 Request Timeout\r\n", b"Connection: close\r\n"),
                        client(ClientEvent::Eof),
                    ],
                ),
                happened_at(o, timer_fired(Timer::HeaderRead), 3002),
                kept_coming,
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_body_survives",
        about: "a body arriving one byte a second, faster than the 2 s body idle timeout, keeps the request alive to a 200",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.body_read = Duration::from_secs(2);
            let mut s = collect("slow_peers/slow_body_survives", config);
            s.clients.push(
                ClientScript::new()
                    .send("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
                    .then(Action::Sleep(Duration::from_secs(1)))
                    .send_in("hello", Fragments::Each(1), Duration::from_secs(1)),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"hello")]),
                // Armed once for 2 s; each byte pushes it back (silently), so it never fires
                // although the body takes 5 s.
                in_order(
                    o,
                    &[
                        timer_set_for(Timer::BodyRead, 2003),
                        body(0, 1),
                        body_end(0),
                        timer_cancelled(Timer::BodyRead),
                        head(0, 200),
                    ],
                ),
                happened_at(o, body_end(0), 5003),
                absent(o, any_timer_fired()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_body_silence_408",
        about: "a body that goes silent for the 2 s body idle timeout gets 408 (its response had not started) and a lingering close (R.U.D.Y.)",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.body_read = Duration::from_secs(2);
            let mut s = collect("slow_peers/slow_body_silence_408", config);
            s.clients.push(
                ClientScript::new()
                    .send("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
                    .send_in("abc", Fragments::Each(1), Duration::from_secs(1))
                    .then(Action::Sleep(Duration::from_secs(4)))
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
                        request(0, "POST", "/form"),
                        body(0, 1),
                        body(0, 1),
                        body(0, 1),
                        timer_fired(Timer::BodyRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        lost(0),
                        server(ServerEvent::ShutdownWrite),
                        response_head_with(b"HTTP/1.1 408 Request Timeout\r\n", b"Connection: close\r\n"),
                        client(ClientEvent::Eof),
                    ],
                ),
                // The last byte came at 2 s; the timer fires 2 s after it, not 2 s after the
                // first.
                happened_at(o, timer_fired(Timer::BodyRead), 4003),
                absent(o, any_head()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_body_echo_truncated",
        about: "the same silent body to echo, whose 200 had already started: no 408 can follow, so the response is cut short and the connection closes",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.body_read = Duration::from_secs(2);
            let mut s = echo("slow_peers/slow_body_echo_truncated", config);
            s.clients.push(
                ClientScript::new()
                    .send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
                    .send_in("abc", Fragments::Each(1), Duration::from_secs(1))
                    .then(Action::Sleep(Duration::from_secs(4)))
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
                        head(0, 200),
                        bytes_received(b"c"),
                        timer_fired(Timer::BodyRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        lost(0),
                        producer(0, ProducerState::Stopped),
                        server(ServerEvent::ShutdownWrite),
                        client(ClientEvent::Eof),
                    ],
                ),
                happened_at(o, timer_fired(Timer::BodyRead), 4003),
                absent(o, bytes_received(b"408 Request Timeout")),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_read_steady",
        about: "a steady slow reader (8 KB window, drained 1.5 KB/ms) of 200 KB is fed chunk by chunk; send_stall is armed at each blocked stretch, cancelled as it drains, and never fires",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.send_stall = Duration::from_secs(1);
            let mut s = stream("slow_peers/slow_read_steady", config);
            s.faults = slow_reader(8192, 1500);
            s.clients.push(ClientScript::new().send(format!(
                "GET /stream/{READ_BYTES} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
            )));
            s
        },
        expect: |o| {
            let body = expected_body(READ_BYTES);
            let stretches = timer_cancelled(Timer::SendStall).count(&o.trace);
            let many = if stretches >= 10 {
                Vec::new()
            } else {
                failed(format!("expected a blocked stretch per chunk, saw {stretches}"))
            };
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        timer_set(Timer::SendStall),
                        server(ServerEvent::Transport { state: TransportState::Writable }),
                        timer_cancelled(Timer::SendStall),
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        timer_set(Timer::SendStall),
                        finish(0),
                        close(CloseReason::Graceful),
                    ],
                ),
                absent(o, timer_fired(Timer::SendStall)),
                many,
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_read_progress_not_stall",
        about: "a reader still taking 200 bytes every millisecond is not stalled: a 50 ms send_stall must not abort it while a 16 KB chunk drains for 82 ms",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.send_stall = Duration::from_millis(50);
            let mut s = stream("slow_peers/slow_read_progress_not_stall", config);
            s.faults = slow_reader(8192, 200);
            s.clients.push(ClientScript::new().send(
                "GET /stream/50000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            let body = expected_body(50_000);
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                absent(o, timer_fired(Timer::SendStall)),
                absent(o, close(CloseReason::Abort)),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_read_stopped",
        about: "a client that stops reading a 200 KB stream (its 4 KB window fills, never drains) is aborted by the 2 s send_stall timer, its request lost",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.send_stall = Duration::from_secs(2);
            let mut s = stream("slow_peers/slow_read_stopped", config);
            s.faults = Rc::new(|_| stalled_window());
            s.clients.push(
                ClientScript::new()
                    .send(format!("GET /stream/{READ_BYTES} HTTP/1.1\r\nHost: h\r\n\r\n"))
                    .then(Action::Sleep(Duration::from_secs(4)))
                    .reading(ReadPolicy::Never)
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                in_order(
                    o,
                    &[
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        producer(0, ProducerState::Paused),
                        timer_set_for(Timer::SendStall, 2003),
                        timer_fired(Timer::SendStall),
                        lost(0),
                        producer(0, ProducerState::Stopped),
                        close(CloseReason::Abort),
                        server(ServerEvent::SocketAborted),
                    ],
                ),
                happened_at(o, timer_fired(Timer::SendStall), 2003),
                absent(o, any_finish()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "bystander_served",
        about: "a well-behaved client is served in full while a slowloris and a stalled reader hold other connections, until their timers cut them off",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.header_read = Duration::from_secs(3);
            config.timeouts.send_stall = Duration::from_secs(2);
            let mut s = stream("slow_peers/bystander_served", config);
            s.faults = Rc::new(|conn| if conn == 1 { stalled_window() } else { StreamFaults::default() });
            // c0: slowloris.
            s.clients.push(slowloris());
            // c1: asks for 200 KB and stops reading.
            s.clients.push(
                ClientScript::new()
                    .send(format!("GET /stream/{READ_BYTES} HTTP/1.1\r\nHost: h\r\n\r\n"))
                    .then(Action::Sleep(Duration::from_secs(4)))
                    .reading(ReadPolicy::Never)
                    .misbehaving(),
            );
            // c2: three requests, a second apart, while both attacks are under way.
            s.clients.push(
                ClientScript::new()
                    .starting_at(Duration::from_millis(500))
                    .send("GET /stream/1000 HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(500)))
                    .send("GET /stream/20000 HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(500)))
                    .send("GET /stream/300 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            let (a, b, c) = (expected_body(1000), expected_body(20000), expected_body(300));
            all([
                statuses(o, 2, &[200, 200, 200]),
                long_bodies(o, 2, &[Some(&a), Some(&b), Some(&c)]),
                clean_eof(o, 2),
                // c2 is done before either attacker is cut off.
                in_order(
                    o,
                    &[
                        timer_set(Timer::SendStall).on(1),
                        client(ClientEvent::Connected).on(2),
                        client(ClientEvent::Eof).on(2),
                        timer_fired(Timer::SendStall).on(1),
                        server(ServerEvent::SocketAborted).on(1),
                        timer_fired(Timer::HeaderRead).on(0),
                        server(ServerEvent::ShutdownWrite).on(0),
                    ],
                ),
                statuses(o, 0, &[408]),
            ])
        },
    },
];
