//! Every fault kind, shown firing in a trace together with the engine's reaction to it; and a
//! deliberately broken setting, shown caught by the invariants (the checkers can fail).

use std::rc::Rc;
use std::time::Duration;

use twine_apps::{Echo, Stream};
use twine_engine::Config;
use twine_engine::{CloseReason, ProducerState, Timer, TransportState};
use twine_sim::pattern::{
    any_partial_write, any_read_cut, any_received, any_request, bytes_received, client, close,
    fault, fault_where, lost, producer, read, request, server, server_where, timer_fired,
};
use twine_sim::{
    app, run, Action, Check, ClientScript, Latency, NetFault, Outcome, ReadPolicy, Sabotage,
    Scenario, Seed, SendWindow, StreamFaults,
};
use twine_sim::{ClientEvent, Event, Fault, Pattern, ServerEvent};

const GET_CLOSE: &str = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
const POST: &str =
    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz";

fn with_faults(
    name: &str,
    factory: twine_sim::AppFactory,
    faults: StreamFaults,
    client: ClientScript,
) -> Outcome {
    let mut scenario = Scenario::new(name, Config::new(), factory);
    scenario.faults = Rc::new(move |_| faults.clone());
    scenario.clients.push(client);
    run(&scenario, Seed(11))
}

/// The trace has entries matching `patterns`, in this order.
fn assert_in_order(outcome: &Outcome, patterns: &[Pattern]) {
    let mut from = 0;
    for pattern in patterns {
        match pattern.find(&outcome.trace, from) {
            Some(at) => from = at + 1,
            None => panic!(
                "{pattern} missing (or out of order) in:\n{}",
                outcome.trace.to_text_unfolded()
            ),
        }
    }
}

#[test]
fn read_fragmentation() {
    let faults = StreamFaults {
        read_fragment_max: Some(3),
        ..StreamFaults::default()
    };
    let outcome = with_faults(
        "faults/read",
        app::<Echo>(),
        faults,
        ClientScript::new().send(POST).send(GET_CLOSE),
    );
    assert_in_order(
        &outcome,
        &[
            any_read_cut(),
            read(1),
            request(0, "POST", "/p"),
            bytes_received(b"HTTP/1.1 200 OK"),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
    // The body, read in pieces, is echoed whole.
    let log = &outcome.clients[0];
    let exchanges = twine_sim::invariants::exchanges(&log.sent, &log.received).expect("framed");
    let echoed = exchanges[0].response_body.as_deref();
    assert_eq!(echoed, Some(&b"abcdefghijklmnopqrstuvwxyz"[..]));
}

#[test]
fn partial_writes() {
    let faults = StreamFaults {
        write_fragment_max: Some(7),
        ..StreamFaults::default()
    };
    let outcome = with_faults(
        "faults/partial",
        app::<Echo>(),
        faults,
        ClientScript::new().send(GET_CLOSE),
    );
    assert_in_order(
        &outcome,
        &[
            any_partial_write(),
            any_received(),
            client(ClientEvent::Eof),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn slow_reader_window() {
    let window = SendWindow {
        bytes: 1000,
        drain_bytes_per_ms: 100,
    };
    let faults = StreamFaults {
        window: Some(window),
        ..StreamFaults::default()
    };
    let client = ClientScript::new()
        .send("GET /stream/50000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let outcome = with_faults("faults/window", app::<Stream>(), faults, client);
    assert_in_order(
        &outcome,
        &[
            fault(Fault::WindowFull),
            server(ServerEvent::Transport {
                state: TransportState::Blocked,
            }),
            producer(0, ProducerState::Paused),
            server(ServerEvent::Transport {
                state: TransportState::Writable,
            }),
            producer(0, ProducerState::Producing),
            producer(0, ProducerState::Stopped),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
    let body = &outcome.clients[0].received;
    assert!(body.ends_with(&twine_apps::stream::expected_body(50_000)));
}

#[test]
fn read_stalls() {
    let faults = StreamFaults {
        read_stall: Some((1.0, 5)),
        ..StreamFaults::default()
    };
    let outcome = with_faults(
        "faults/stall",
        app::<Echo>(),
        faults,
        ClientScript::new().send(GET_CLOSE),
    );
    assert_in_order(
        &outcome,
        &[
            fault_where("read stalls", |f| matches!(f, Fault::ReadStall { .. })),
            any_request(),
            client(ClientEvent::Eof),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn half_close_at_an_offset_loses_the_request_mid_body() {
    let faults = StreamFaults {
        half_close_at: Some(60),
        ..StreamFaults::default()
    };
    let client = ClientScript::new().send(POST).misbehaving();
    let outcome = with_faults("faults/fin", app::<Echo>(), faults, client);
    assert_in_order(
        &outcome,
        &[
            fault(Fault::PeerFinAt { byte: 60 }),
            server(ServerEvent::ReadEof),
            lost(0),
            close(CloseReason::Graceful),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn reset_at_an_offset_discards_unread_data() {
    let faults = StreamFaults {
        reset_at: Some(10),
        ..StreamFaults::default()
    };
    let client = ClientScript::new().send(POST).misbehaving();
    let outcome = with_faults("faults/reset", app::<Echo>(), faults, client);
    assert_in_order(
        &outcome,
        &[
            fault(Fault::ResetAt { byte: 10 }),
            server(ServerEvent::ConnectionLost),
            close(CloseReason::Abort),
            server(ServerEvent::SocketAborted),
        ],
    );
    assert_eq!(
        any_request().count(&outcome.trace),
        0,
        "nothing after the reset is read"
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn stall_forever_is_ended_by_the_engine_timers() {
    let faults = StreamFaults {
        stall_at: Some(5),
        ..StreamFaults::default()
    };
    let client = ClientScript::new().send(POST).misbehaving();
    let outcome = with_faults("faults/stall-forever", app::<Echo>(), faults, client);
    assert_in_order(
        &outcome,
        &[
            fault(Fault::StallAt { byte: 5 }),
            timer_fired(Timer::HeaderRead),
            timer_fired(Timer::Abort),
            close(CloseReason::Abort),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn latency_and_hold() {
    let mut scenario = Scenario::new("faults/hold", Config::new(), app::<Echo>());
    scenario.latency = Latency::fixed(Duration::from_millis(7));
    scenario.net = vec![
        (Duration::from_millis(5), NetFault::Hold),
        (Duration::from_millis(500), NetFault::Release),
    ];
    scenario.clients.push(ClientScript::new().send(GET_CLOSE));
    let outcome = run(&scenario, Seed(3));
    assert_in_order(
        &outcome,
        &[
            fault(Fault::Network {
                fault: NetFault::Hold,
            }),
            fault(Fault::Network {
                fault: NetFault::Release,
            }),
            any_request(),
        ],
    );
    let request = any_request().find(&outcome.trace, 0).expect("a request");
    let at = outcome.trace.entries[request].at_nanos / 1_000_000;
    assert!(
        (500..600).contains(&at),
        "held until 500 ms, read at {at} ms"
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn partition_wedges_the_stream_and_the_engine_times_out() {
    let mut scenario = Scenario::new("faults/partition", Config::new(), app::<Echo>());
    scenario.net = vec![(Duration::from_millis(3), NetFault::Partition)];
    scenario.clients.push(
        ClientScript::new()
            .then(Action::Sleep(Duration::from_millis(5)))
            .send("GET / HTTP/1.1\r\n")
            .not_waiting()
            .misbehaving(),
    );
    scenario.chaos_phase = Duration::from_secs(1);
    let outcome = run(&scenario, Seed(4));
    assert_in_order(
        &outcome,
        &[
            fault(Fault::Network {
                fault: NetFault::Partition,
            }),
            timer_fired(Timer::HeaderRead),
            server_where("close", |e| matches!(e, ServerEvent::Close { .. })),
        ],
    );
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

#[test]
fn server_restart_drops_connections_and_serves_new_ones() {
    let mut scenario = Scenario::new("faults/restart", Config::new(), app::<Echo>());
    scenario.net = vec![(Duration::from_millis(100), NetFault::RestartServer)];
    scenario.clients.push(
        ClientScript::new()
            .send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .misbehaving(),
    );
    scenario.clients.push(
        ClientScript::new()
            .starting_at(Duration::from_millis(300))
            .send(GET_CLOSE),
    );
    let outcome = run(&scenario, Seed(5));
    assert_in_order(
        &outcome,
        &[
            fault(Fault::Network {
                fault: NetFault::RestartServer,
            }),
            client(ClientEvent::Eof).on(0),
        ],
    );
    assert!(outcome.clients[1].received.starts_with(b"HTTP/1.1 200 OK"));
    assert!(outcome.passed(), "{:?}", outcome.violations);
}

/// A channel that never hears of backpressure keeps echoing an upload to a client that does
/// not read: the backlog check must fail the run. With an honest driver the echo app's producer
/// is paused, it stops granting credit, and the upload itself is held back.
#[test]
fn ignoring_transport_blocked_is_caught() {
    let mut scenario = Scenario::new("faults/sabotage", Config::new(), app::<Echo>());
    scenario.sabotage = Some(Sabotage::DeafToBackpressure);
    let window = SendWindow {
        bytes: 4096,
        drain_bytes_per_ms: 1,
    };
    scenario.faults = Rc::new(move |_| StreamFaults {
        window: Some(window),
        ..StreamFaults::default()
    });
    let upload = vec![b'u'; 1 << 20];
    scenario.clients.push(
        ClientScript::new()
            .send(format!(
                "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                upload.len()
            ))
            .send_in(
                upload,
                twine_sim::Fragments::Each(16 * 1024),
                Duration::ZERO,
            )
            .reading(ReadPolicy::Never)
            .then(Action::Sleep(Duration::from_secs(1)))
            .not_waiting()
            .misbehaving(),
    );
    scenario.chaos_phase = Duration::from_secs(1);
    let outcome = run(&scenario, Seed(6));
    assert!(
        outcome.violations.iter().any(|v| v.check == Check::Backlog),
        "{:?}",
        outcome.violations
    );
    // The same scenario with an honest driver passes that check.
    scenario.sabotage = None;
    let honest = run(&scenario, Seed(6));
    assert!(
        !honest.violations.iter().any(|v| v.check == Check::Backlog),
        "{:?}",
        honest.violations
    );
}

/// An app that panics: with tokio_unstable the panic reaches the run, which fails with it
/// instead of the connection silently closing (notes/turmoil.md A4).
#[test]
fn a_panic_anywhere_fails_the_run() {
    struct Panicky;
    impl twine_driver::App for Panicky {
        fn on_event(
            &mut self,
            _now: twine_engine::Instant,
            _event: twine_engine::Event,
            _commands: &mut Vec<twine_engine::AppCommand>,
        ) {
            panic!("the app broke");
        }
    }
    let factory: twine_sim::AppFactory = Rc::new(|| Box::new(Panicky));
    let mut scenario = Scenario::new("faults/panic", Config::new(), factory);
    scenario.clients.push(ClientScript::new().send(GET_CLOSE));
    let outcome = run(&scenario, Seed(7));
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.check == Check::Panic && v.detail.contains("the app broke")),
        "{:?}",
        outcome.violations
    );
}

/// The fragment knobs reach a proxy's upstream links: reads and writes at both ends are cut,
/// traced (`p0`, `u0`), the same on every run of a seed, and the exchange still completes.
#[test]
fn link_faults_cut_upstream_reads_and_writes_deterministically() {
    let mut scenario = Scenario::new("faults/link", Config::new(), app::<Echo>());
    scenario.proxy = Some(twine_sim::ProxySetup::new(twine_sim::Origin::App {
        config: Box::new(Config::new()),
        app: app::<Echo>(),
    }));
    scenario.link_faults = twine_sim::link::LinkFaults {
        read_fragment_max: Some(7),
        write_fragment_max: Some(11),
    };
    let body = "x".repeat(300);
    scenario.clients.push(ClientScript::new().send(format!(
        "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 300\r\nConnection: close\r\n\r\n{body}"
    )));
    let outcome = run(&scenario, Seed(4));
    assert!(outcome.passed(), "{:?}", outcome.violations);
    let cuts = |read: bool| {
        outcome
            .trace
            .entries
            .iter()
            .filter(|e| match &e.event {
                Event::Fault {
                    fault: Fault::LinkReadCut { .. },
                    ..
                } => read,
                Event::Fault {
                    fault: Fault::LinkPartialWrite { .. },
                    ..
                } => !read,
                _ => false,
            })
            .count()
    };
    assert!(cuts(true) > 10, "read cuts: {}", cuts(true));
    assert!(cuts(false) > 10, "partial writes: {}", cuts(false));
    assert!(outcome.clients[0].received.ends_with(body.as_bytes()));
    assert_eq!(run(&scenario, Seed(4)).trace, outcome.trace);
}
