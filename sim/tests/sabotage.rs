//! Every checker shown failing on a sabotaged engine: the real engine, broken on purpose by
//! one [`Sabotage`] between it and the driver (`twine_sim::sabotage`), run on the simulated
//! network like any scenario. Each test runs its scenario clean first (it must pass: the
//! checker does not fire on the real engine) and then sabotaged (the check named must fire).
//! (The driver that never reports a blocked transport, caught by `backlog`, is
//! `faults.rs`'s `ignoring_transport_blocked_is_caught`.)

use std::rc::Rc;
use std::time::Duration;

use twine_apps::{Api, Echo, Stream};
use twine_engine::{Config, Timeouts};
use twine_sim::{
    app, run, AppFactory, ClientScript, Sabotage, Scenario, Seed, SendWindow, StreamFaults,
};

const GET: &str = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
const GET_CLOSE: &str = "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
const BIG_CLOSE: &str = "GET /stream/100000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// Twisted's limits with timers short enough to fire inside a run.
fn config() -> Config {
    let mut timeouts = Timeouts::default();
    timeouts.header_read = Duration::from_secs(10);
    timeouts.body_read = Duration::from_secs(10);
    timeouts.idle_keep_alive = Duration::from_secs(2);
    timeouts.send_stall = Duration::from_secs(10);
    timeouts.linger = Duration::from_secs(2);
    timeouts.abort = Duration::from_secs(3);
    Config::new().with_timeouts(timeouts)
}

fn scenario(factory: AppFactory, clients: Vec<ClientScript>) -> Scenario {
    let mut s = Scenario::new("sabotage", config(), factory);
    s.clients = clients;
    s
}

/// Two keep-alive requests, the second closing.
fn keep_alive() -> Scenario {
    let client = ClientScript::new()
        .send(GET)
        .then(twine_sim::Action::Sleep(Duration::from_millis(5)))
        .send(GET_CLOSE);
    scenario(app::<Echo>(), vec![client])
}

/// A request, then garbage: a 400 and a lingering close.
fn protocol_error() -> Scenario {
    let client = ClientScript::new()
        .send(format!("{GET}NOT HTTP\r\n\r\n"))
        .misbehaving();
    scenario(app::<Echo>(), vec![client])
}

/// One request, then nothing: the idle timer closes the connection.
fn idle() -> Scenario {
    scenario(app::<Echo>(), vec![ClientScript::new().send(GET)])
}

/// 100 pipelined GETs from a client that reads nothing (2048 bytes fit in flight): the
/// responses block the transport, reading pauses, the send stall timer ends it.
fn pipeliner() -> Scenario {
    let client = ClientScript::new()
        .send(GET.repeat(100))
        .then(twine_sim::Action::Sleep(Duration::from_secs(5)))
        .reading(twine_sim::ReadPolicy::Never)
        .misbehaving();
    let mut s = scenario(app::<Echo>(), vec![client]);
    s.faults = Rc::new(|_| StreamFaults {
        window: Some(SendWindow {
            bytes: 2048,
            drain_bytes_per_ms: 0,
        }),
        ..StreamFaults::default()
    });
    s
}

/// A 100 000-byte response written in pieces, then the close.
fn streamed_close() -> Scenario {
    scenario(app::<Stream>(), vec![ClientScript::new().send(BIG_CLOSE)])
}

/// The checks that fire on `scenario`, by name, once clean and once with `sabotage`.
fn checks(scenario: &Scenario, sabotage: Sabotage) -> (Vec<&'static str>, String) {
    let clean = run(scenario, Seed(1));
    assert!(
        clean.passed(),
        "the clean run fails: {:?}\n{}",
        clean.violations,
        clean.trace.to_text()
    );
    let mut broken = scenario.clone();
    broken.sabotage = Some(sabotage);
    let outcome = run(&broken, Seed(1));
    let mut names: Vec<&'static str> = outcome.violations.iter().map(|v| v.check.name()).collect();
    names.dedup();
    (names, outcome.trace.to_text())
}

fn assert_caught(scenario: Scenario, sabotage: Sabotage, check: &str) {
    let (found, trace) = checks(&scenario, sabotage);
    assert!(
        found.contains(&check),
        "{sabotage:?} should trip `{check}`, tripped {found:?}\n{trace}"
    );
}

#[test]
fn a_panicking_engine_is_caught() {
    assert_caught(keep_alive(), Sabotage::Panic, "panic");
}

#[test]
fn a_corrupt_status_line_is_caught() {
    assert_caught(keep_alive(), Sabotage::CorruptStatusLine, "malformed");
}

#[test]
fn a_response_cut_before_the_close_is_caught() {
    assert_caught(streamed_close(), Sabotage::CutBeforeShutdown, "cut-short");
}

#[test]
fn junk_after_a_closing_response_is_caught() {
    assert_caught(
        keep_alive(),
        Sabotage::JunkAfterClosingResponse,
        "after-close",
    );
}

#[test]
fn an_unsolicited_response_is_caught() {
    assert_caught(keep_alive(), Sabotage::ResponseWhenIdle, "extra-response");
}

#[test]
fn an_unasked_continue_is_caught() {
    let (found, _) = checks(&keep_alive(), Sabotage::UnaskedContinue);
    assert!(
        found.contains(&"interim") || found.contains(&"continue"),
        "{found:?}"
    );
}

#[test]
fn a_write_after_shutdown_is_caught() {
    assert_caught(
        keep_alive(),
        Sabotage::WriteAfterShutdown,
        "write-after-close",
    );
}

#[test]
fn a_request_processed_after_a_rejection_is_caught() {
    assert_caught(
        protocol_error(),
        Sabotage::RequestAfterRejection,
        "processed-after-rejection",
    );
}

#[test]
fn requests_never_answered_are_caught() {
    assert_caught(keep_alive(), Sabotage::SwallowWrites, "unanswered");
}

#[test]
fn a_connection_never_closed_is_caught() {
    assert_caught(keep_alive(), Sabotage::NeverClose, "close-not-seen");
}

#[test]
fn a_timer_reported_off_its_duration_is_caught() {
    assert_caught(keep_alive(), Sabotage::TimerReportedLate, "timer");
}

#[test]
fn a_timer_firing_late_is_caught() {
    assert_caught(idle(), Sabotage::TimerFiresLate, "timer");
}

#[test]
fn a_producer_never_stopped_is_caught() {
    assert_caught(streamed_close(), Sabotage::ProducerNeverStopped, "producer");
}

#[test]
fn reading_paused_twice_is_caught() {
    assert_caught(pipeliner(), Sabotage::ReadingPausedTwice, "reading");
}

#[test]
fn a_close_without_lingering_after_an_error_is_caught() {
    assert_caught(
        protocol_error(),
        Sabotage::NoShutdownBeforeClose,
        "lingering",
    );
}

#[test]
fn a_request_over_a_limit_served_is_caught() {
    // One field past the 16 KiB head limit: refused 431, which the sabotage turns into 200.
    let big = format!(
        "GET /a HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "x".repeat(16_384)
    );
    let client = ClientScript::new().send(big).misbehaving();
    let s = scenario(app::<Echo>(), vec![client]);
    assert_caught(s, Sabotage::OverLimitServed, "limit");
}

#[test]
fn an_answer_after_the_closing_request_is_caught() {
    // A closing request with another pipelined behind it: the second is never to be read.
    let client = ClientScript::new().send(format!("{GET_CLOSE}{GET}"));
    let s = scenario(app::<Echo>(), vec![client]);
    assert_caught(
        s,
        Sabotage::AnswerAfterClosingRequest,
        "after-closing-request",
    );
}

#[test]
fn a_graceful_app_close_that_aborts_is_caught() {
    let client = ClientScript::new().send("GET /close-after HTTP/1.1\r\nHost: h\r\n\r\n");
    let s = scenario(app::<Api>(), vec![client]);
    assert_caught(s, Sabotage::GracefulCloseAborts, "app-close");
}
