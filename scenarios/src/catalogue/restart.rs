//! Server restarts (`NetFault::RestartServer`, turmoil's bounce): connections open at the
//! restart are dropped without the engine knowing (their clients see EOF or a reset, and a
//! stream download is cut short), while clients that connect afterwards reach the new server
//! and are served normally. notes/turmoil.md A2.6: old streams get a FIN, then hang.

use std::rc::Rc;
use std::time::Duration;

use twine_apps::stream::expected_body;
use twine_sim::{Action, ClientScript, NetFault, Outcome, Scenario, SendWindow, StreamFaults};

use super::expect::{
    absent, all, bodies, clean_eof, failed, failed_on, in_order, read_before, statuses,
};
use super::{echo, quick_config, stream, Entry};
use twine_engine::{CloseReason, ProducerState, Timer, TransportState};
use twine_sim::pattern::{
    any_engine_event, any_finish, any_read, any_received, bytes_sent, client, close, concerning,
    fault, producer, request, server, timer_fired, timer_set,
};
use twine_sim::Violation;
use twine_sim::{ClientEvent, Fault, ServerEvent};

const FAMILY: &str = "restart";

/// When the server restarts, in every scenario.
/// Late enough that the exchanges meant to finish first do so under any swarm latency, read
/// stalls or slow reader.
const RESTART_AT: Duration = Duration::from_millis(500);

fn restart(s: &mut Scenario) {
    restart_at(s, RESTART_AT);
}

fn restart_at(s: &mut Scenario, at: Duration) {
    s.net.push((at, NetFault::RestartServer));
}

/// A client connecting after the restart: one request with a body, then close.
fn newcomer(start: Duration) -> ClientScript {
    ClientScript::new().starting_at(start).send(
        "POST /after HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nConnection: close\r\n\r\nrenewed",
    )
}

/// The newcomer on connection `conn` was served whole and closed cleanly.
fn newcomer_served(o: &Outcome, conn: usize) -> Vec<Violation> {
    all([
        statuses(o, conn, &[200]),
        bodies(o, conn, &[Some(b"renewed")]),
        clean_eof(o, conn),
    ])
}

/// Whether connection `conn` ended with EOF or an error (a reset), not silently.
fn saw_end(o: &Outcome, conn: usize) -> Vec<Violation> {
    let log = &o.clients[conn];
    if log.saw_eof || log.error.is_some() {
        Vec::new()
    } else {
        failed_on(
            conn,
            "expected EOF or a reset after the restart".to_string(),
        )
    }
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "mid_request",
        about: "a restart while a client is half-way through a request head: it sees EOF or a reset and no response; a client connecting afterwards is served",
        seed: 1,
        build: |_| {
            let mut s = echo("restart/mid_request", quick_config());
            restart(&mut s);
            s.clients.push(
                ClientScript::new()
                    .send("POST /upload HTTP/1.1\r\nHo")
                    .then(Action::Sleep(Duration::from_millis(1000)))
                    .send("st: h\r\nContent-Length: 5\r\n\r\nhello")
                    .misbehaving(),
            );
            s.clients.push(newcomer(Duration::from_millis(600)));
            s
        },
        expect: |o| {
            all([
                in_order(
                    o,
                    &[
                        any_read().on(0),
                        fault(Fault::Network { fault: NetFault::RestartServer }),
                        client(ClientEvent::Eof).on(0),
                        server(ServerEvent::Accepted).on(1),
                        request(0, "POST", "/after").on(1),
                        close(CloseReason::Graceful).on(1),
                    ],
                ),
                read_before(o, 0, fault(Fault::Network { fault: NetFault::RestartServer }), 25),
                absent(o, any_engine_event().on(0)),
                absent(o, any_received().on(0)),
                saw_end(o, 0),
                newcomer_served(o, 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "served_after_restart",
        about: "a client served before a restart and one connecting after it are both served whole: the new server starts fresh",
        seed: 1,
        build: |_| {
            let mut s = echo("restart/served_after_restart", quick_config());
            restart(&mut s);
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /before HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\
                         Connection: close\r\n\r\nold",
                    ),
            );
            s.clients.push(newcomer(Duration::from_millis(600)));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"old")]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        server(ServerEvent::SocketClosed).on(0),
                        fault(Fault::Network { fault: NetFault::RestartServer }),
                        server(ServerEvent::Accepted).on(1),
                        request(0, "POST", "/after").on(1),
                        server(ServerEvent::SocketClosed).on(1),
                    ],
                ),
                newcomer_served(o, 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "mid_download",
        about: "a restart in the middle of a slow 1 MB download: the client sees a truncated body and EOF or a reset; a client connecting afterwards is served",
        seed: 1,
        build: |_| {
            let mut s = stream("restart/mid_download", quick_config());
            s.faults = Rc::new(|conn| StreamFaults {
                window: (conn == 0).then_some(SendWindow {
                    bytes: 16 * 1024,
                    drain_bytes_per_ms: 256,
                }),
                ..StreamFaults::default()
            });
            restart_at(&mut s, Duration::from_millis(100));
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/1000000 HTTP/1.1\r\nHost: h\r\n\r\n")
                    .misbehaving(),
            );
            s.clients.push(
                ClientScript::new()
                    .starting_at(Duration::from_millis(600))
                    .send("GET /stream/100 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            let hundred = expected_body(100);
            let got = o.clients[0].received.len();
            let truncated = if (20_000..1_000_000).contains(&got) {
                Vec::new()
            } else {
                failed(format!("c0: expected a download cut short after 20 KB, got {got} bytes"))
            };
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[None]),
                truncated,
                saw_end(o, 0),
                in_order(
                    o,
                    &[
                        producer(0, ProducerState::Producing).on(0),
                        server(ServerEvent::Transport { state: TransportState::Blocked }).on(0),
                        fault(Fault::Network { fault: NetFault::RestartServer }),
                        server(ServerEvent::Accepted).on(1),
                        request(0, "GET", "/stream/100").on(1),
                        close(CloseReason::Graceful).on(1),
                    ],
                ),
                absent(o, any_finish().on(0)),
                statuses(o, 1, &[200]),
                bodies(o, 1, &[Some(&hundred)]),
                clean_eof(o, 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "idle_keep_alive_connections",
        about: "a restart while three keep-alive connections sit idle after their responses: each sees a clean EOF; a client connecting afterwards is served",
        seed: 1,
        build: |_| {
            let mut s = echo("restart/idle_keep_alive_connections", quick_config());
            restart(&mut s);
            for i in 0..3 {
                s.clients.push(
                    ClientScript::new()
                        .starting_at(Duration::from_millis(i * 50))
                        .send(format!("GET /idle/{i} HTTP/1.1\r\nHost: h\r\n\r\n")),
                );
            }
            s.clients.push(newcomer(Duration::from_millis(600)));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                statuses(o, 1, &[200]),
                statuses(o, 2, &[200]),
                clean_eof(o, 0),
                clean_eof(o, 1),
                clean_eof(o, 2),
                in_order(
                    o,
                    &[
                        timer_set(Timer::IdleKeepAlive).on(2),
                        fault(Fault::Network { fault: NetFault::RestartServer }),
                        server(ServerEvent::Accepted).on(3),
                        close(CloseReason::Graceful).on(3),
                    ],
                ),
                absent(o, timer_fired(Timer::IdleKeepAlive)),
                newcomer_served(o, 3),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "stale_keep_alive_request",
        about: "a keep-alive client that sends its next request after a restart reaches no server: it gets EOF and no answer, while a new connection is served",
        seed: 1,
        build: |_| {
            let mut s = echo("restart/stale_keep_alive_request", quick_config());
            restart(&mut s);
            s.clients.push(
                ClientScript::new()
                    .send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(1000)))
                    .send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n")
                    .misbehaving(),
            );
            s.clients.push(newcomer(Duration::from_millis(600)));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                saw_end(o, 0),
                in_order(
                    o,
                    &[
                        request(0, "GET", "/first").on(0),
                        fault(Fault::Network { fault: NetFault::RestartServer }),
                        client(ClientEvent::Eof).on(0),
                        server(ServerEvent::Accepted).on(1),
                        close(CloseReason::Graceful).on(1),
                        bytes_sent(b"GET /second").on(0),
                    ],
                ),
                absent(o, concerning(1)),
                newcomer_served(o, 1),
            ])
        },
    },
];
