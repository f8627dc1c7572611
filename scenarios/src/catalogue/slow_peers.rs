//! Slow peers and the attacks built on them: slowloris (a head dribbled byte by byte) meets the
//! head deadline, which bytes do not extend; a slow body (R.U.D.Y.) lives while its bytes keep
//! coming faster than the body idle timeout and gets 408 after a silence; a slow reader is fed
//! as long as it keeps reading and aborted by the send-stall timer when it stops; and a
//! well-behaved client on another connection is served normally throughout.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use twine_driver::apps::stream::expected_body;
use twine_driver::App;
use twine_engine::{AppCommand, Event, Instant, RequestId, ResponseHead};
use twine_sim::{
    app, Action, ClientScript, Fragments, Outcome, ReadPolicy, Scenario, SendWindow, StreamFaults,
};

use super::backpressure::long_bodies;
use super::expect::{absent, all, bodies, clean_eof, in_order, statuses};
use super::{echo, quick_config, slow_reader, stream, Entry};

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

/// When (in ms) the first trace line containing `text` happened, if any.
fn at_ms(o: &Outcome, text: &str) -> Option<u64> {
    let rendered = o.trace.to_text();
    let index = rendered.lines().position(|l| l.contains(text))?;
    o.trace.entries.get(index).map(|e| e.at_nanos / 1_000_000)
}

/// The first line containing `text` happened at exactly `ms`.
fn happened_at(o: &Outcome, text: &str, ms: u64) -> Vec<String> {
    match at_ms(o, text) {
        Some(at) if at == ms => Vec::new(),
        Some(at) => vec![format!("trace: {text:?} at {at} ms, expected at {ms} ms")],
        None => vec![format!("trace: {text:?} missing")],
    }
}

/// Bytes the server read on connection `conn` before simulated time `ms`.
fn read_before(o: &Outcome, conn: u32, ms: u64) -> usize {
    o.trace
        .entries
        .iter()
        .filter(|e| e.conn == Some(conn) && e.at_nanos < ms * 1_000_000)
        .filter_map(|e| match &e.event {
            twine_sim::Event::Server { what } => what
                .strip_prefix("read ")?
                .strip_suffix(" bytes")?
                .parse::<usize>()
                .ok(),
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
            let dribbled = read_before(o, 0, 3002);
            let kept_coming = if dribbled >= 14 {
                Vec::new()
            } else {
                vec![format!("only {dribbled} bytes arrived before the deadline")]
            };
            all([
                statuses(o, 0, &[408]),
                in_order(
                    o,
                    &[
                        "timer header_read set for 3002.000ms",
                        "s   read 1 bytes",
                        "timer header_read fired",
                        "event protocol error: request timed out (408)",
                        "s   shutdown write",
                        "s→c \"HTTP/1.1 408 Request Timeout\\r\\n",
                        "Connection: close\\r\\n",
                        "c   EOF",
                    ],
                ),
                happened_at(o, "timer header_read fired", 3002),
                kept_coming,
                absent(o, "event request"),
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
                        "timer body_read set for 2003.000ms",
                        "event body req#0 1 bytes",
                        "event body end req#0",
                        "timer body_read cancelled",
                        "app head req#0 200",
                    ],
                ),
                happened_at(o, "event body end req#0", 5003),
                absent(o, "fired"),
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
                        "event request req#0 POST /form HTTP/1.1",
                        "event body req#0 1 bytes",
                        "event body req#0 1 bytes",
                        "event body req#0 1 bytes",
                        "timer body_read fired",
                        "event protocol error req#0: request timed out (408)",
                        "event lost req#0",
                        "s   shutdown write",
                        "s→c \"HTTP/1.1 408 Request Timeout\\r\\n",
                        "Connection: close\\r\\n",
                        "c   EOF",
                    ],
                ),
                // The last byte came at 2 s; the timer fires 2 s after it, not 2 s after the
                // first.
                happened_at(o, "timer body_read fired", 4003),
                absent(o, "app head"),
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
                        "app head req#0 200",
                        "s→c \"c\"",
                        "timer body_read fired",
                        "event protocol error req#0: request timed out (408)",
                        "event lost req#0",
                        "producer req#0 stopped",
                        "s   shutdown write",
                        "c   EOF",
                    ],
                ),
                happened_at(o, "timer body_read fired", 4003),
                absent(o, "408 Request Timeout"),
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
            let stretches = o
                .trace
                .to_text()
                .matches("timer send_stall cancelled")
                .count();
            let many = if stretches >= 10 {
                Vec::new()
            } else {
                vec![format!("expected a blocked stretch per chunk, saw {stretches}")]
            };
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        "transport blocked",
                        "timer send_stall set",
                        "transport writable",
                        "timer send_stall cancelled",
                        "transport blocked",
                        "timer send_stall set",
                        "app finish req#0",
                        "close graceful",
                    ],
                ),
                absent(o, "send_stall fired"),
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
                absent(o, "send_stall fired"),
                absent(o, "close abort"),
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
                        "transport blocked",
                        "producer req#0 paused",
                        "timer send_stall set for 2003.000ms",
                        "timer send_stall fired",
                        "event lost req#0",
                        "producer req#0 stopped",
                        "close abort",
                        "socket aborted",
                    ],
                ),
                happened_at(o, "timer send_stall fired", 2003),
                absent(o, "app finish"),
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
                        "c1  s   timer send_stall set",
                        "c2  c   connected",
                        "c2  c   EOF",
                        "c1  s   timer send_stall fired",
                        "c1  s   socket aborted",
                        "c0  s   timer header_read fired",
                        "c0  s   shutdown write",
                    ],
                ),
                statuses(o, 0, &[408]),
            ])
        },
    },
];
