//! The harness's own contracts, through its public API: the run driver (the run clock across
//! restarts, the chaos phase ending on time, a hung or panicking run reported), the fault model
//! (byte-offset faults exact, the window's drain rate, the FIN hold), the client scripts (odd
//! but legal scripts, shutdown, zero-rate reads), JSON lines, and determinism across
//! repetitions, threads and processes.
//!
//! Tests without a prefix each pin a defect an adversarial review found (now fixed): the doc
//! comment says what happened and what must. Tests named `regression_*` are ideas that were
//! tried and held up.

mod common;

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use twine_apps::{Echo, Stream};
use twine_engine::Config;
use twine_sim::trace::Entry;
use twine_sim::{
    app, run, Action, Check, ClientEvent, ClientScript, Event, Fault, Fragments, Knobs, Latency,
    NetFault, Outcome, ReadPolicy, Scenario, Seed, SendWindow, ServerEvent, StreamFaults,
    Violation,
};

const GET: &str = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
const GET_CLOSE: &str = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
const POST: &str =
    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz";
// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn scenario(name: &str, factory: twine_sim::AppFactory) -> Scenario {
    Scenario::new(name, Config::new(), factory)
}

fn with_faults(s: &mut Scenario, faults: StreamFaults) {
    s.faults = Rc::new(move |_| faults.clone());
}

/// The time (ms) of the "chaos over" line.
fn chaos_over_at(outcome: &Outcome) -> u64 {
    outcome
        .trace
        .entries
        .iter()
        .find(|e| e.event.as_fault() == Some(&Fault::ChaosOver))
        .map(|e| e.at_nanos)
        .expect("the chaos phase ended")
}

/// The value of the `Date` header of the first response connection `conn` received.
fn date_header(outcome: &Outcome, conn: usize) -> String {
    let text = String::from_utf8_lossy(&outcome.clients[conn].received).into_owned();
    let at = text.find("Date: ").expect("a Date header") + "Date: ".len();
    text[at..]
        .split("\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A busy scenario under the seed's swarm faults (as tests/determinism.rs).
fn busy(seed: Seed) -> Scenario {
    common::busy_scenario("review/busy", app::<Stream>(), seed)
}

/// A POST of `body_len` bytes sent one byte per segment, then the client's FIN, against a
/// server whose every read stalls a little (a swarm fault: `read-stalls`).
fn half_close_after_tiny_segments(body_len: usize) -> Outcome {
    let mut s = scenario("review/client-fin", app::<Echo>());
    with_faults(
        &mut s,
        StreamFaults {
            read_stall: Some((1.0, 3)),
            ..StreamFaults::default()
        },
    );
    let mut request =
        format!("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: {body_len}\r\n\r\n").into_bytes();
    request.extend(std::iter::repeat_n(b'b', body_len));
    s.clients.push(
        ClientScript::new()
            .send_in(request, Fragments::Each(1), Duration::ZERO)
            .then(Action::ShutdownWrite),
    );
    run(&s, Seed(1))
}

/// How many FINs the clients sent.
fn fins(outcome: &Outcome) -> usize {
    let fin = |e: &&Entry| e.event.as_client() == Some(&ClientEvent::ShutdownWrite);
    outcome.trace.entries.iter().filter(fin).count()
}

fn server_read_eof(outcome: &Outcome) -> bool {
    outcome
        .trace
        .entries
        .iter()
        .any(|e| e.event.as_server() == Some(&ServerEvent::ReadEof))
}

// ---------------------------------------------------------------------------------------------
// Defects: the run driver, the server host, the fault model, the client scripts
// ---------------------------------------------------------------------------------------------

/// Found in review, fixed.
/// `serve` starts a fresh `Clock` at every (re)start of the server host, and the
/// engine's `Date` is `EPOCH + clock.now()`; so after `NetFault::RestartServer` the simulated
/// wall clock jumps back to the epoch: a request at 5.003 s (after a restart at 3 s) is answered
/// with `Date: ... 22:13:22` (epoch + 2 s, the same Date the request at 2 s got), and the timer
/// lines ("timer header_read set for 62002.000ms" at 5002 ms) are no longer in the run's time.
/// It should be `22:13:25` (epoch + 5 s): turmoil's `since_epoch` keeps running across a bounce,
/// and so must the date origin.
#[test]
fn a_restarted_server_keeps_the_run_clock() {
    let mut s = scenario("review/restart-date", app::<Echo>());
    s.net = vec![(Duration::from_millis(3000), NetFault::RestartServer)];
    s.clients.push(
        ClientScript::new()
            .starting_at(Duration::from_millis(2000))
            .send(GET_CLOSE),
    );
    s.clients.push(
        ClientScript::new()
            .starting_at(Duration::from_millis(5000))
            .send(GET_CLOSE),
    );
    let outcome = run(&s, Seed(1));
    outcome.assert_passed();
    assert_eq!(date_header(&outcome, 0), "Tue, 14 Nov 2023 22:13:22 GMT");
    assert_eq!(
        date_header(&outcome, 1),
        "Tue, 14 Nov 2023 22:13:25 GMT",
        "a request at 5 s must carry the date of 5 s after the epoch, restart or not"
    );
}

/// Found in review, fixed.
/// `Scenario::chaos_phase` is "when faults stop", but `drive` applies every
/// `Scenario::net` fault whenever its time comes, calm or not: a partition scheduled at 200 ms,
/// after a 100 ms chaos phase, fires in the liveness phase, and a well-behaved client starting
/// at 300 ms fails to connect ("a well-behaved client did not finish its script"), a failure
/// blamed on the run although the engine did nothing wrong. After `Chaos::calm` no network
/// fault should fire (or the scenario should be refused as inconsistent).
#[test]
fn no_network_fault_after_the_chaos_phase() {
    let mut s = scenario("review/net-after-chaos", app::<Echo>());
    s.chaos_phase = Duration::from_millis(100);
    s.net = vec![(Duration::from_millis(200), NetFault::Partition)];
    s.clients.push(
        ClientScript::new()
            .starting_at(Duration::from_millis(300))
            .send(GET_CLOSE),
    );
    let outcome = run(&s, Seed(1));
    let calm = chaos_over_at(&outcome);
    let late: Vec<String> = outcome
        .trace
        .entries
        .iter()
        .filter(|e| e.at_nanos > calm)
        .filter_map(|e| e.event.as_fault().map(|f| f.to_string()))
        .collect();
    assert!(
        late.is_empty(),
        "faults fired after chaos was over: {late:?}"
    );
    outcome.assert_passed();
}

/// Found in review, fixed.
/// `ReadPolicy::Rate { bytes: 0, .. }` makes the client's read length 0, which disables
/// the read branch of its `select!`; once its sends are done (and it waits for the close, the
/// default) every branch is disabled and tokio panics: the run fails with "panic: all branches
/// are disabled and there is no else branch at sim/src/client.rs:..". A script the public API
/// accepts should not crash the harness: a zero rate should read nothing (as `Never`), or be
/// refused with a clear message when the script is built.
#[test]
fn a_zero_rate_reads_nothing() {
    let mut s = scenario("review/rate-zero", app::<Echo>());
    s.clients.push(
        ClientScript::new()
            .send(GET_CLOSE)
            .reading(ReadPolicy::Rate {
                bytes: 0,
                every: Duration::from_millis(1),
            })
            .misbehaving(),
    );
    let outcome = run(&s, Seed(1));
    let panics: Vec<&Violation> = outcome
        .violations
        .iter()
        .filter(|v| v.check == Check::Panic)
        .collect();
    assert!(panics.is_empty(), "the harness itself panicked: {panics:?}");
}

/// Found in review, fixed.
/// turmoil 0.7.2 loses a FIN that arrives while the receiver's queue holds
/// `TCP_CAPACITY` segments (notes/turmoil.md; `FaultyStream::fin_would_be_lost` works around
/// it for the server's FIN only). A client that sends its request in small segments to a server
/// whose reads stall (a swarm fault) and then shuts down its write side logs
/// "shutdown write (FIN)" at 1061 ms, but the engine never reads EOF: the connection lingers
/// until the idle and linger timers end it at 38 s, and a half-close scenario would blame the
/// engine. The client's FIN should reach the server (held until there is room, as the server's
/// is), so the server reads EOF after the body.
#[test]
fn a_client_fin_waits_for_room_in_the_server_queue() {
    let outcome = half_close_after_tiny_segments(1500);
    assert_eq!(fins(&outcome), 1, "the client did shut down");
    assert!(
        server_read_eof(&outcome),
        "the client's FIN never reached the engine:\n{}",
        outcome
            .trace
            .to_text_unfolded()
            .lines()
            .filter(|l| l.contains(" s ") && !l.contains("bytes") || l.contains("FIN"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Found in review, fixed (lower severity).
/// Latency jitter is a swarm fault (`Knob::Jitter`, counted under
/// "faults exercised"; DESIGN §3 lists "latency and jitter"), but `Chaos::calm` leaves the
/// scenario's random latency on: after the chaos phase, requests 100 ms apart still take 2 to
/// 40 ms each to arrive. When faults stop, latency should become fixed (e.g. its minimum) so the
/// liveness phase runs without faults.
#[test]
fn jitter_stops_with_the_chaos_phase() {
    let mut s = scenario("review/jitter-after-calm", app::<Echo>());
    s.latency = Latency {
        min: Duration::from_millis(1),
        max: Duration::from_millis(50),
    };
    s.chaos_phase = Duration::from_millis(10);
    let mut client = ClientScript::new().starting_at(Duration::from_millis(100));
    for i in 0..10 {
        client = client
            .send(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n"))
            .then(Action::Sleep(Duration::from_millis(100)));
    }
    s.clients.push(client.send(GET_CLOSE));
    let outcome = run(&s, Seed(1));
    outcome.assert_passed();
    let calm = chaos_over_at(&outcome);
    let entries = &outcome.trace.entries;
    let mut delays = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.at_nanos > calm && matches!(e.event, Event::ClientSent { .. }) {
            let read = entries[i..]
                .iter()
                .find(|r| matches!(r.event.as_server(), Some(ServerEvent::Read { .. })));
            if let Some(read) = read {
                delays.push((read.at_nanos - e.at_nanos) / 1_000_000);
            }
        }
    }
    assert_eq!(delays.len(), 11);
    assert!(
        delays.iter().all(|&d| d == delays[0]),
        "segment delays after chaos ended still vary: {delays:?} ms"
    );
}

/// Found in review, fixed (low severity: the trace misreported). A script with `ShutdownWrite`
/// twice logs
/// "shutdown write (FIN)" twice, but turmoil sends one FIN and fails the second shutdown with
/// `NotConnected`, which the client ignores. The trace should record one FIN (and, at most, that
/// the second shutdown failed).
#[test]
fn a_second_shutdown_write_is_not_a_second_fin() {
    let mut s = scenario("review/shutdown-twice", app::<Echo>());
    s.clients.push(
        ClientScript::new()
            .send(GET)
            .then(Action::ShutdownWrite)
            .then(Action::ShutdownWrite),
    );
    let outcome = run(&s, Seed(2));
    outcome.assert_passed();
    assert_eq!(
        fins(&outcome),
        1,
        "one FIN was sent:\n{}",
        outcome.trace.to_text_unfolded()
    );
}

/// Found in review, fixed (medium-low: it may be meant as a size cap, but nothing says so). DESIGN
/// §3 says the
/// trace holds the bytes each way "escaped, exact", rendered "as JSON lines for tools", and the
/// README calls `twine replay --json` "the full trace"; but `to_json_lines` uses the same
/// abbreviation as the text form, so any segment over 400 bytes becomes 96 bytes plus a length
/// and a digest, and a tool cannot rebuild the byte streams. The JSON form should carry every
/// byte (escaped).
#[test]
fn json_lines_carry_every_byte() {
    let body = "u".repeat(1000);
    let mut s = scenario("review/json", app::<Echo>());
    s.clients.push(ClientScript::new().send(format!(
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{body}"
    )));
    let outcome = run(&s, Seed(1));
    outcome.assert_passed();
    let json = outcome.trace.to_json_lines();
    assert!(
        json.contains(&body),
        "the 1000-byte body is not in the JSON trace:\n{}",
        json.lines()
            .find(|l| l.contains("client_sent"))
            .unwrap_or_default()
    );
}

/// Found in review, fixed.
/// `Knobs::apply` says it adds the swarm's faults "on top of" the scenario's own, and
/// for stream faults the scenario's own win; but it overwrites `Scenario::latency`, so a
/// scenario whose point is its own jitter (network/"random latency (1..=40 ms per segment)
/// reorders segments") silently runs with the seed's fixed latency under `twine explore`
/// whenever the seed leaves `Jitter` off. The scenario's own jitter should survive (as its own
/// stream faults do).
#[test]
fn a_scenarios_own_jitter_wins_over_the_swarm() {
    let own = Latency {
        min: Duration::from_millis(1),
        max: Duration::from_millis(40),
    };
    let seed = (0..1000)
        .map(Seed)
        .find(|&seed| {
            let knobs = Knobs::draw(seed);
            knobs.latency.min == knobs.latency.max
        })
        .expect("some seed leaves jitter off");
    let mut s = scenario("review/own-jitter", app::<Echo>());
    s.latency = own;
    Knobs::draw(seed).apply(&mut s);
    assert_eq!(
        s.latency, own,
        "seed {seed}: the scenario's own jitter was replaced by the swarm's fixed latency"
    );
}

// ---------------------------------------------------------------------------------------------
// Regression: ideas that held up
// ---------------------------------------------------------------------------------------------

/// REGRESSION (held up). Determinism across repetition and threads: the same seeds run three
/// times in this thread and concurrently on four threads give byte-identical JSON traces (no
/// HashMap order, wall clock, addresses or task ids leak in).
#[test]
fn regression_same_seed_same_trace_repeated_and_across_threads() {
    let traces = || {
        (0..6u64)
            .map(|s| run(&busy(Seed(s)), Seed(s)).trace.to_json_lines())
            .collect::<Vec<_>>()
    };
    let base = traces();
    for _ in 0..2 {
        assert!(traces() == base, "a repeated run diverged");
    }
    let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(traces)).collect();
    for thread in threads {
        let got = thread.join().expect("no panic");
        for (seed, (a, b)) in base.iter().zip(&got).enumerate() {
            assert!(a == b, "seed {seed} diverged on another thread");
        }
    }
}

/// REGRESSION (held up). A run that panics (an app panic) leaves nothing behind on its thread:
/// the next run's trace and violations are the same as on a fresh thread.
#[test]
fn regression_a_panicking_run_leaves_no_trace_in_the_next_run() {
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
    let normal = || {
        let o = run(&busy(Seed(3)), Seed(3));
        (o.trace.to_text_unfolded(), o.violations)
    };
    let fresh = std::thread::spawn(normal).join().expect("no panic");
    let factory: twine_sim::AppFactory = Rc::new(|| Box::new(Panicky));
    let mut s = scenario("review/panic", factory);
    s.clients.push(ClientScript::new().send(GET_CLOSE));
    let panicked = run(&s, Seed(7));
    assert!(panicked
        .violations
        .iter()
        .any(|v| v.check == Check::Panic && v.detail.contains("the app broke")));
    assert!(normal() == fresh, "a run after a panic differs");
}

/// REGRESSION (held up). `Scenario::keep` with the full set of decisions that fired reproduces
/// the unrestricted run's trace exactly (the decisions that did not fire change nothing), over
/// swarm seeds with up to ~10k fired decisions.
#[test]
fn regression_keep_with_the_full_fired_set_replays_the_same_trace() {
    for seed in [0, 3, 10, 13, 22] {
        let free = run(&busy(Seed(seed)), Seed(seed));
        let mut kept = busy(Seed(seed));
        kept.keep = Some(Rc::new(free.fired.iter().copied().collect()));
        let replay = run(&kept, Seed(seed));
        if let Some((i, a, b)) = free.trace.first_difference(&replay.trace) {
            panic!("seed {seed}: the keep replay diverged at {i}:\n  {a}\n  {b}");
        }
        assert_eq!(free.fired, replay.fired);
    }
}

/// REGRESSION (held up). The byte-offset faults fire exactly at their offset even under read
/// fragmentation (the reads before them add up to exactly 30 bytes), a reset discards what is
/// unread (no request is ever parsed), and a stall never reads again.
#[test]
fn regression_byte_offset_faults_fire_exactly_at_their_offset() {
    let cases = [
        (
            Fault::ResetAt { byte: 30 },
            StreamFaults {
                reset_at: Some(30),
                ..StreamFaults::default()
            },
        ),
        (
            Fault::StallAt { byte: 30 },
            StreamFaults {
                stall_at: Some(30),
                ..StreamFaults::default()
            },
        ),
        (
            Fault::PeerFinAt { byte: 30 },
            StreamFaults {
                half_close_at: Some(30),
                ..StreamFaults::default()
            },
        ),
    ];
    for (line, faults) in cases {
        let mut s = scenario("review/offsets", app::<Echo>());
        with_faults(
            &mut s,
            StreamFaults {
                read_fragment_max: Some(7),
                ..faults
            },
        );
        s.clients.push(ClientScript::new().send(POST).misbehaving());
        let outcome = run(&s, Seed(2));
        let text = outcome.trace.to_text_unfolded();
        let entries = &outcome.trace.entries;
        let at = entries
            .iter()
            .position(|e| e.event.as_fault() == Some(&line))
            .unwrap_or_else(|| panic!("{line}:\n{text}"));
        let read = |part: &[Entry]| -> usize {
            part.iter()
                .map(|e| match e.event.as_server() {
                    Some(ServerEvent::Read { bytes }) => *bytes,
                    _ => 0,
                })
                .sum()
        };
        assert_eq!(read(&entries[..at]), 30, "{line}:\n{text}");
        assert_eq!(
            read(&entries[at..]),
            0,
            "{line}: nothing is read after it:\n{text}"
        );
        let requests = entries
            .iter()
            .filter(|e| matches!(e.event.as_server(), Some(ServerEvent::Request { .. })));
        assert_eq!(requests.count(), 0, "{line}: the head was never complete");
        assert!(outcome.passed(), "{line}: {:?}", outcome.violations);
    }
}

/// REGRESSION (held up). The slow reader's window drains at exactly its stated rate: 10153
/// bytes through a 100-byte window draining 10 bytes/ms take (10153 - 100) / 10 ms.
#[test]
fn regression_window_drains_at_its_stated_rate() {
    let mut s = scenario("review/window", app::<Stream>());
    with_faults(
        &mut s,
        StreamFaults {
            window: Some(SendWindow {
                bytes: 100,
                drain_bytes_per_ms: 10,
            }),
            ..StreamFaults::default()
        },
    );
    s.chaos_phase = Duration::from_secs(100);
    s.clients.push(
        ClientScript::new()
            .send("GET /stream/10000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    let outcome = run(&s, Seed(1));
    outcome.assert_passed();
    let total = outcome.clients[0].received.len() as u64;
    let times: Vec<u64> = outcome
        .trace
        .entries
        .iter()
        .filter(|e| matches!(e.event, Event::ClientReceived { .. }))
        .map(|e| e.at_nanos / 1_000_000)
        .collect();
    let (first, last) = (times[0], times[times.len() - 1]);
    let expected = (total - 100).div_ceil(10);
    assert!(
        (last - first).abs_diff(expected) <= 1,
        "{total} bytes took {} ms, expected {expected} ms",
        last - first
    );
}

/// REGRESSION (held up). `Chaos::calm` stops every stream fault: with fragmentation, partial
/// writes, read stalls and a very slow window all on, no fault line follows "chaos over", a
/// client that starts afterwards is served whole, and the window's backlog clears at once.
#[test]
fn regression_calm_stops_stream_faults() {
    let mut s = scenario("review/calm", app::<Stream>());
    with_faults(
        &mut s,
        StreamFaults {
            read_fragment_max: Some(3),
            write_fragment_max: Some(5),
            read_stall: Some((0.5, 5)),
            window: Some(SendWindow {
                bytes: 64,
                drain_bytes_per_ms: 1,
            }),
            ..StreamFaults::default()
        },
    );
    s.chaos_phase = Duration::from_millis(200);
    s.clients.push(
        ClientScript::new()
            .send("GET /stream/20000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    s.clients.push(
        ClientScript::new()
            .starting_at(Duration::from_millis(300))
            .send("GET /stream/100 HTTP/1.1\r\nHost: h\r\n\r\n")
            .send("GET /stream/10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    let outcome = run(&s, Seed(4));
    outcome.assert_passed();
    let calm = chaos_over_at(&outcome);
    let late: Vec<String> = outcome
        .trace
        .entries
        .iter()
        .filter(|e| e.at_nanos > calm)
        .filter_map(|e| e.event.as_fault().map(|f| f.to_string()))
        .collect();
    assert!(late.is_empty(), "{late:?}");
    let eof = outcome
        .trace
        .entries
        .iter()
        .find(|e| e.conn == Some(0) && e.event.as_client() == Some(&ClientEvent::Eof))
        .expect("c0 saw EOF");
    assert!(
        eof.at_nanos < calm + 20_000_000,
        "the backlog cleared soon after calm"
    );
}

/// REGRESSION (held up). A hung run is not reported as passing: an app that never answers
/// leaves the connection idle on its app; the run fails, and the well-behaved client is
/// reported unfinished. It fails as soon as it is quiescent (chaos over, nothing recorded for
/// a second, no timer armed, no client deadline), not at the end of its 120 s budget.
#[test]
fn regression_a_hung_run_is_reported() {
    struct Mute;
    impl twine_driver::App for Mute {
        fn on_event(
            &mut self,
            _now: twine_engine::Instant,
            _event: twine_engine::Event,
            _commands: &mut Vec<twine_engine::AppCommand>,
        ) {
        }
    }
    let factory: twine_sim::AppFactory = Rc::new(|| Box::new(Mute));
    let mut s = scenario("review/hung", factory);
    s.chaos_phase = Duration::from_millis(100);
    s.clients.push(ClientScript::new().send(GET_CLOSE));
    let outcome = run(&s, Seed(1));
    assert!(!outcome.passed());
    let ended = outcome.trace.entries.last().map_or(0, |e| e.at_nanos);
    assert_eq!(
        ended, 1_100_000_000,
        "quiescent 1 s after the chaos phase ended at 100 ms"
    );
    assert!(
        outcome
            .violations
            .iter()
            .any(|v| v.check == Check::Incomplete),
        "{:?}",
        outcome.violations
    );
    assert!(outcome
        .violations
        .iter()
        .any(|v| v.check == Check::Unfinished));
}

/// A client in turn (`ClientScript::in_turn`) sends each request only once the previous
/// response has arrived, though every response ends with the same bytes: the server reads
/// each request after it wrote the answer to the one before, a round trip (2 ms) later, so
/// the client's `WaitFor` for the second response did not match the first one's again.
#[test]
fn in_turn_clients_wait_for_each_response() {
    let mut s = scenario("review/in_turn", app::<Echo>());
    let requests = [GET, "GET /two HTTP/1.1\r\nHost: h\r\n\r\n", GET_CLOSE];
    s.clients.push(ClientScript::in_turn(requests, "\r\n\r\n"));
    let outcome = run(&s, Seed(3));
    assert!(outcome.passed(), "{:?}", outcome.violations);
    let text = outcome.trace.to_text_unfolded();
    let server_io: Vec<(&str, u64)> = (outcome.trace.entries.iter())
        .filter_map(|e| match e.event.as_server() {
            Some(ServerEvent::Read { .. }) => Some(("read", e.at_nanos / 1_000_000)),
            Some(ServerEvent::Write { .. }) => Some(("write", e.at_nanos / 1_000_000)),
            _ => None,
        })
        .collect();
    let kinds: Vec<&str> = server_io.iter().map(|&(kind, _)| kind).collect();
    assert_eq!(
        kinds,
        ["read", "write", "read", "write", "read", "write"],
        "{text}"
    );
    let millis: Vec<u64> = server_io.iter().map(|&(_, ms)| ms).collect();
    let (first, second, third) = (millis[0], millis[2], millis[4]);
    assert_eq!([second - first, third - second], [2, 2], "{text}");
}

/// An eager client reads whatever segment arrived whole, however much it has read before: its
/// read buffer was split off for the trace and shrank by every read, so once 64 KiB had been
/// read it read 1 byte, then short pieces, at every 64 KiB.
#[test]
fn an_eager_reader_takes_whole_segments_past_64_kib() {
    let mut s = scenario("review/eager_reads", app::<Stream>());
    s.clients.push(
        ClientScript::new()
            .send("GET /stream/300000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    let outcome = run(&s, Seed(5));
    assert!(outcome.passed(), "{:?}", outcome.violations);
    let text = outcome.trace.to_text_unfolded();
    let entries = &outcome.trace.entries;
    let reads: Vec<usize> = (entries.iter())
        .filter_map(|e| match &e.event {
            Event::ClientReceived { bytes } => Some(bytes.len()),
            _ => None,
        })
        .collect();
    assert_eq!(reads.iter().sum::<usize>(), 154 + 300_000, "{text}");
    // The smallest segment the server sends is the 154-byte head; turmoil hands over one
    // segment per read, so no read is smaller (it was 1 byte, then 153, at every 64 KiB).
    assert!(reads.iter().all(|&n| n >= 154), "a short read: {reads:?}");
}

/// REGRESSION (held up). Odd but legal scripts run cleanly: `Fragments::Random { max: 0 }`
/// and `Fragments::Each(0)` send single bytes, an empty send sends nothing, `WaitFor` an empty
/// pattern passes at once, and `Reset` as the first action ends the connection (turmoil sends a
/// FIN, nothing being unread) with the client's log saying so.
#[test]
fn regression_odd_client_scripts_run_cleanly() {
    let scripts = [
        ClientScript::new().send_in(GET_CLOSE, Fragments::Random { max: 0 }, Duration::ZERO),
        ClientScript::new().send_in(GET_CLOSE, Fragments::Each(0), Duration::ZERO),
        ClientScript::new().send("").send(GET_CLOSE),
        ClientScript::new()
            .then(Action::WaitFor(Bytes::new()))
            .send(GET_CLOSE),
        ClientScript::new().then(Action::Reset),
    ];
    for (i, script) in scripts.into_iter().enumerate() {
        let mut s = scenario("review/scripts", app::<Echo>());
        s.clients.push(script);
        let outcome = run(&s, Seed(2));
        assert!(outcome.passed(), "script {i}: {:?}", outcome.violations);
        let log = &outcome.clients[0];
        assert!(log.finished, "script {i}");
        if i == 4 {
            assert!(log.reset_by_client && log.sent.is_empty());
        } else {
            assert_eq!(log.sent, GET_CLOSE.as_bytes(), "script {i}");
            assert!(log.received.starts_with(b"HTTP/1.1 200 OK"), "script {i}");
        }
    }
    // Single-byte fragments really are single bytes.
    let mut s = scenario("review/scripts", app::<Echo>());
    s.clients.push(ClientScript::new().send_in(
        GET_CLOSE,
        Fragments::Random { max: 0 },
        Duration::ZERO,
    ));
    let outcome = run(&s, Seed(2));
    let sent: Vec<usize> = outcome
        .trace
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::ClientSent { bytes } => Some(bytes.len()),
            _ => None,
        })
        .collect();
    assert!(sent.iter().all(|&n| n == 1) && sent.len() == GET_CLOSE.len());
}

/// REGRESSION (held up). With room in the server's queue the client's FIN does arrive (the
/// contrast to `client_fin_is_lost_when_the_server_queue_is_full`): 500 one-byte segments.
#[test]
fn regression_client_fin_arrives_when_the_queue_has_room() {
    let outcome = half_close_after_tiny_segments(500);
    assert!(
        server_read_eof(&outcome),
        "{}",
        outcome.trace.to_text_unfolded()
    );
    outcome.assert_passed();
}

/// REGRESSION (held up). Determinism across processes (fresh address space, fresh
/// `RandomState` keys): this test binary run twice more as child processes prints the same
/// digest of the same seeds' JSON traces as this process computes.
#[test]
fn regression_same_seed_same_trace_across_processes() {
    let digest = || {
        let all: String = (0..4u64)
            .map(|s| run(&busy(Seed(s)), Seed(s)).trace.to_json_lines())
            .collect();
        format!("{:016x}", twine_sim::trace::digest(all.as_bytes()))
    };
    if std::env::var_os("REVIEW_CHILD").is_some() {
        println!("REVIEW_DIGEST={}", digest());
        return;
    }
    let mine = digest();
    for _ in 0..2 {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "regression_same_seed_same_trace_across_processes",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("REVIEW_CHILD", "1")
            .output()
            .expect("the child runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let theirs = stdout
            .lines()
            .find_map(|l| l.split("REVIEW_DIGEST=").nth(1))
            .unwrap_or_else(|| panic!("no digest from the child:\n{stdout}"));
        assert_eq!(theirs, mine, "another process gave another trace");
    }
}
