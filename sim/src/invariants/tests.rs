//! `check` and `exchanges` on hand-built traces and client logs: a clean run passes, and each
//! invariant, broken on purpose in an otherwise clean run, is reported once and precisely.

use std::rc::Rc;

use twine_apps::Echo;
use twine_driver::App;

use twine_engine::{
    CloseReason, ProducerState, ProtocolErrorKind, ReadState, RequestId, Timer, TimerChange,
    TransportState,
};

use super::*;
use crate::client::{ClientLog, ClientScript};
use crate::event::{AppAction, Check, ServerEvent};

const REQUEST: &[u8] = b"GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";

fn scenario(script: ClientScript) -> Scenario {
    let app: Rc<dyn Fn() -> Box<dyn App>> = Rc::new(|| Box::new(Echo::new()));
    let mut scenario = Scenario::new("t/x", twine_engine::Config::new(), app);
    scenario.clients.push(script);
    scenario
}

fn log(sent: &[u8], received: &[u8]) -> ClientLog {
    ClientLog {
        sent: sent.to_vec(),
        received: received.to_vec(),
        saw_eof: true,
        finished: true,
        ..ClientLog::default()
    }
}

fn entry(at_ms: u64, event: Event) -> Entry {
    Entry {
        at_nanos: at_ms * 1_000_000,
        conn: Some(0),
        event,
    }
}

fn s(event: ServerEvent) -> Event {
    Event::server(event)
}

fn c(event: ClientEvent) -> Event {
    Event::client(event)
}

fn request(id: u64, target: &'static str) -> ServerEvent {
    ServerEvent::Request {
        id: RequestId::from_sequence(id),
        line: Box::new(crate::event::RequestLine {
            method: twine_engine::Method::new("GET"),
            target: bytes::Bytes::from_static(target.as_bytes()),
            version: twine_engine::Version::Http11,
        }),
    }
}

/// A trace of connection 0, one event per millisecond.
fn trace(events: &[Event]) -> Trace {
    let entries = (1..)
        .zip(events)
        .map(|(at, e)| entry(at, e.clone()))
        .collect();
    Trace { entries }
}

/// The clean run, with `extra` inserted before the first `before` (at the end if none).
fn clean_with(before: Option<Event>, extra: &[Event]) -> Trace {
    let mut lines = vec![
        s(ServerEvent::Accepted),
        c(ClientEvent::Connected),
        s(ServerEvent::Read { bytes: 47 }),
        s(request(0, "/b")),
        s(ServerEvent::Write { bytes: 59 }),
        s(ServerEvent::ShutdownWrite),
        c(ClientEvent::Eof),
        s(ServerEvent::ReadEof),
        s(ServerEvent::Close {
            reason: CloseReason::Graceful,
        }),
        s(ServerEvent::SocketClosed),
    ];
    let at = lines
        .iter()
        .position(|l| Some(l) == before.as_ref())
        .unwrap_or(lines.len());
    lines.splice(at..at, extra.iter().cloned());
    trace(&lines)
}

/// `check`'s findings but two that these tests' hand-written runs would draw where they test
/// something else: undated responses (an engine's are always dated;
/// `a_response_dated_with_what_is_not_a_date_is_caught` reads them) and requests that are
/// not the client's (a trace and a log written apart need not agree request for request;
/// `requests_other_than_the_clients_are_caught` reads them).
fn check_undated(scenario: &Scenario, trace: &Trace, logs: &[ClientLog]) -> Vec<Violation> {
    let found = check(scenario, trace, logs);
    let undated = |v: &Violation| v.check == Check::Date && v.detail.ends_with("has no Date");
    let unsent = |v: &Violation| v.check == Check::Framing;
    found
        .into_iter()
        .filter(|v| !undated(v) && !unsent(v))
        .collect()
}

/// The violations `check` finds, as people read them.
fn run_check(script: ClientScript, trace: &Trace, log: ClientLog) -> Vec<String> {
    let violations = check_undated(&scenario(script), trace, &[log]);
    violations.iter().map(|v| v.to_string()).collect()
}

#[test]
fn a_clean_run_passes() {
    let trace = clean_with(None, &[]);
    let got = run_check(
        ClientScript::new().send(REQUEST),
        &trace,
        log(REQUEST, RESPONSE),
    );
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn a_write_after_shutdown_is_caught() {
    let trace = clean_with(
        Some(c(ClientEvent::Eof)),
        &[s(ServerEvent::Write { bytes: 3 })],
    );
    let got = run_check(ClientScript::new(), &trace, log(REQUEST, RESPONSE));
    assert_eq!(
        got,
        ["c0: wrote 3 bytes at 7.000ms after \"shutdown write\" at 6.000ms"]
    );
}

#[test]
fn a_request_after_a_protocol_error_is_caught() {
    let trace = clean_with(
        Some(s(ServerEvent::Write { bytes: 59 })),
        &[
            s(ServerEvent::ProtocolError {
                id: None,
                kind: ProtocolErrorKind::InvalidHeader,
                status: 400,
            }),
            s(request(1, "/c")),
        ],
    );
    let got = run_check(ClientScript::new(), &trace, log(REQUEST, RESPONSE));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("c0: \"event request req#1 GET /c HTTP/1.1\" at 6.000ms after"),
        "{got:?}"
    );
}

#[test]
fn an_unbounded_write_while_blocked_is_caught() {
    let limit = twine_engine::Config::new().limits.send_buffer_bytes_max;
    let (full, over) = (
        s(ServerEvent::Write { bytes: limit }),
        s(ServerEvent::Write { bytes: limit - 1 }),
    );
    // Up to the limit, then a writable transport starts the count again: fine.
    let fine = [
        s(ServerEvent::Transport {
            state: TransportState::Blocked,
        }),
        over.clone(),
        s(ServerEvent::Write { bytes: 10 }),
        s(ServerEvent::Transport {
            state: TransportState::Writable,
        }),
        over.clone(),
    ];
    let trace = clean_with(Some(s(ServerEvent::Write { bytes: 59 })), &fine);
    assert_eq!(
        run_check(ClientScript::new(), &trace, log(REQUEST, RESPONSE)),
        [""; 0]
    );
    // A write that starts once the limit is reached.
    let bad = [
        s(ServerEvent::Transport {
            state: TransportState::Blocked,
        }),
        full.clone(),
        s(ServerEvent::Transport {
            state: TransportState::Blocked,
        }),
        s(ServerEvent::Write { bytes: 1 }),
    ];
    let trace = clean_with(Some(s(ServerEvent::Write { bytes: 59 })), &bad);
    let got = run_check(ClientScript::new(), &trace, log(REQUEST, RESPONSE));
    let want = format!(
        "c0: wrote 1 bytes at 8.000ms while the transport was blocked (since 5.000ms) with \
         {limit} bytes already written, the limit being {limit}"
    );
    assert_eq!(got, [want]);
}

#[test]
fn a_missing_socket_close_is_caught() {
    let mut trace = clean_with(None, &[]);
    trace.entries.pop();
    let got = run_check(ClientScript::new(), &trace, log(REQUEST, RESPONSE));
    assert_eq!(
        got,
        ["c0: accepted at 1.000ms but its socket was never closed nor aborted"]
    );
    // Unless the run did not complete (a client is still going): the run reports that.
    let unfinished = ClientLog {
        finished: false,
        ..log(REQUEST, RESPONSE)
    };
    let got = run_check(ClientScript::new().misbehaving(), &trace, unfinished);
    assert_eq!(got, [""; 0]);
    // Or a server restart dropped the connection.
    trace.entries.push(Entry {
        at_nanos: 20_000_000,
        conn: None,
        event: Event::fault(Fault::Network {
            fault: NetFault::RestartServer,
        }),
    });
    let got = run_check(ClientScript::new(), &trace, log(REQUEST, RESPONSE));
    assert_eq!(got, [""; 0]);
}

#[test]
fn a_truncated_response_is_caught_after_a_graceful_close() {
    let cut = &RESPONSE[..RESPONSE.len() - 1];
    let trace = clean_with(None, &[]);
    let got = run_check(ClientScript::new().misbehaving(), &trace, log(REQUEST, cut));
    assert_eq!(
        got,
        [
            "c0: the response from byte 0 is cut short at EOF (byte 58), though the connection \
          ended gracefully and no request was lost"
        ]
    );
    // A lost request excuses it, and so does a reset.
    let trace = clean_with(
        Some(s(ServerEvent::ShutdownWrite)),
        &[s(ServerEvent::Lost {
            id: RequestId::from_sequence(0),
        })],
    );
    let got = run_check(ClientScript::new().misbehaving(), &trace, log(REQUEST, cut));
    assert_eq!(got, [""; 0]);
    let reset = ClientLog {
        error: Some("connection reset".into()),
        ..log(REQUEST, cut)
    };
    let got = run_check(
        ClientScript::new().misbehaving(),
        &clean_with(None, &[]),
        reset,
    );
    assert_eq!(got, [""; 0]);
}

#[test]
fn wire_violations() {
    let trace = clean_with(None, &[]);
    let cases: [(&[u8], &str); 5] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "malformed response at byte 0",
        ),
        (
            b"HTTP/1.1 101 Switching\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "101",
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "did not send Expect",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            "2 final responses for 1 requests",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\nX",
            "1 bytes from byte 57 follow a response with Connection: close",
        ),
    ];
    let request = b"GET / HTTP/1.1\r\n\r\n";
    for (received, want) in cases {
        let got = run_check(
            ClientScript::new().misbehaving(),
            &trace,
            log(request, received),
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("c0: ") && got[0].contains(want),
            "{got:?}"
        );
    }
}

#[test]
fn garbage_allows_one_more_response() {
    let sent = b"GET / HTTP/1.1\r\n\r\nGET / HTTP/9\r\n\r\n";
    let received = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 505 Version\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let trace = clean_with(None, &[]);
    let got = run_check(
        ClientScript::new().misbehaving(),
        &trace,
        log(sent, received),
    );
    assert_eq!(got, [""; 0]);
    let one_too_many = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 505 Version\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    let got = run_check(
        ClientScript::new().misbehaving(),
        &trace,
        log(sent, one_too_many),
    );
    assert_eq!(
        got,
        ["c0: 3 final responses for 1 requests and some garbage"]
    );
}

#[test]
fn liveness_of_well_behaved_clients() {
    let trace = clean_with(None, &[]);
    let sent = b"GET /a HTTP/1.1\r\n\r\n\
        GET /b HTTP/1.1\r\nConnection: close\r\n\r\n\
        GET /c HTTP/1.1\r\n\r\n";
    let one = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let got = run_check(ClientScript::new(), &trace, log(sent, one));
    assert_eq!(
        got,
        [
            "c0: 1 complete final responses for the 2 requests the server could answer \
          (of 3 sent)"
        ]
    );
    let two = [&one[..], &one[..]].concat();
    assert_eq!(
        run_check(ClientScript::new(), &trace, log(sent, &two)),
        [""; 0]
    );
    // A misbehaving client is exempt; so is one that reset.
    assert_eq!(
        run_check(ClientScript::new().misbehaving(), &trace, log(sent, one)),
        [""; 0]
    );
    let reset = ClientLog {
        reset_by_client: true,
        saw_eof: false,
        ..log(sent, one)
    };
    assert_eq!(run_check(ClientScript::new(), &trace, reset), [""; 0]);
    // A client that never finished, nor saw the close it waited for.
    let stuck = ClientLog {
        finished: false,
        saw_eof: false,
        ..log(REQUEST, RESPONSE)
    };
    let got = run_check(ClientScript::new(), &trace, stuck);
    assert_eq!(
        got,
        [
            "c0: a well-behaved client did not finish its script",
            "c0: a well-behaved client waited for the server to close, in vain"
        ]
    );
}

#[test]
fn exchanges_pair_requests_with_responses() {
    let sent = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello\
        HEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
    let received = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n\
        HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nno";
    let got = exchanges(sent, received).expect("well-formed");
    let summary: Vec<_> = got
        .iter()
        .map(|e| {
            (
                e.method.as_str(),
                e.target.as_str(),
                e.status,
                e.interim.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "/a", Some(200), vec![100]),
            ("HEAD", "/b", Some(200), vec![]),
            ("GET", "/c", Some(404), vec![])
        ]
    );
    assert_eq!(
        got[0].request_body,
        got[0].response_body.clone().unwrap_or_default()
    );
    assert_eq!(got[1].response_body, Some(Vec::new()));
    assert_eq!(got[2].response_body, None, "cut short");
    let err = exchanges(sent, b"HTTP/1.1 2000 OK\r\n\r\n").expect_err("malformed");
    assert!(err.starts_with("malformed response at byte 0"), "{err}");
}

/// The violations of one check that `check` finds in `trace`, as people read them.
fn found(trace: &Trace, check: Check) -> Vec<String> {
    let scenario = scenario(ClientScript::new().misbehaving());
    let violations = check_undated(&scenario, trace, &[log(REQUEST, RESPONSE)]);
    violations
        .iter()
        .filter(|v| v.check == check)
        .map(|v| v.to_string())
        .collect()
}

fn timer(timer: Timer, change: TimerChange) -> Event {
    s(ServerEvent::Timer { timer, change })
}

#[test]
fn timers_set_for_the_wrong_duration_or_fired_off_time_are_caught() {
    let header_read = twine_engine::Config::new().timeouts.header_read;
    let deadline = |at_ms: u64| twine_engine::Instant::from_millis(at_ms) + header_read;
    // Set at 2 ms (the second entry) for its duration, fired on time: no finding.
    let fine = clean_with(
        Some(c(ClientEvent::Connected)),
        &[timer(Timer::HeaderRead, TimerChange::Set(deadline(2)))],
    );
    assert_eq!(found(&fine, Check::Timer), Vec::<String>::new());
    // Set for half the configured duration.
    let short = twine_engine::Instant::from_millis(2) + header_read / 2;
    let wrong = clean_with(
        Some(c(ClientEvent::Connected)),
        &[timer(Timer::HeaderRead, TimerChange::Set(short))],
    );
    assert_eq!(found(&wrong, Check::Timer).len(), 1, "{wrong:?}");
    // Fired without being set.
    let unarmed = clean_with(
        Some(c(ClientEvent::Connected)),
        &[timer(Timer::Linger, TimerChange::Fired)],
    );
    assert_eq!(
        found(&unarmed, Check::Timer),
        ["c0: timer linger fired at 2.000ms unarmed"]
    );
    // Fired long before its deadline.
    let early = clean_with(
        Some(c(ClientEvent::Connected)),
        &[
            timer(Timer::HeaderRead, TimerChange::Set(deadline(2))),
            timer(Timer::HeaderRead, TimerChange::Fired),
        ],
    );
    let message = format!(
        "c0: timer header_read fired at 3.000ms, its deadline being {}",
        deadline(2)
    );
    assert_eq!(found(&early, Check::Timer), [message]);
}

#[test]
fn illegal_producer_moves_and_unstopped_producers_are_caught() {
    let producer = |state| {
        s(ServerEvent::Producer {
            request: RequestId::from_sequence(0),
            state,
        })
    };
    let legal = [
        producer(ProducerState::Producing),
        producer(ProducerState::Paused),
        producer(ProducerState::Producing),
        producer(ProducerState::Stopped),
    ];
    let fine = clean_with(Some(s(ServerEvent::ShutdownWrite)), &legal);
    assert_eq!(found(&fine, Check::Producer), Vec::<String>::new());
    let twice = [
        producer(ProducerState::Producing),
        producer(ProducerState::Paused),
        producer(ProducerState::Paused),
        producer(ProducerState::Stopped),
    ];
    let trace = clean_with(Some(s(ServerEvent::ShutdownWrite)), &twice);
    assert_eq!(
        found(&trace, Check::Producer),
        ["c0: producer req#0 Paused twice in a row, at 8.000ms"]
    );
    let left = [producer(ProducerState::Producing)];
    let trace = clean_with(Some(s(ServerEvent::ShutdownWrite)), &left);
    assert_eq!(
        found(&trace, Check::Producer),
        ["c0: producer req#0 left Producing (since 6.000ms) when the connection ended"]
    );
    // Unregistered by the app: the next producer starts afresh and the old one owes no stop;
    // a refused unregister changes nothing.
    let unregister = s(ServerEvent::App {
        command: AppAction::UnregisterProducer {
            request: RequestId::from_sequence(0),
        },
    });
    let handed_over = [
        producer(ProducerState::Producing),
        unregister.clone(),
        producer(ProducerState::Producing),
        producer(ProducerState::Stopped),
    ];
    let trace = clean_with(Some(s(ServerEvent::ShutdownWrite)), &handed_over);
    assert_eq!(found(&trace, Check::Producer), Vec::<String>::new());
    let refused = s(ServerEvent::AppRefused {
        command: AppAction::UnregisterProducer {
            request: RequestId::from_sequence(0),
        },
        error: twine_engine::UsageError::RequestLost,
    });
    let kept = [producer(ProducerState::Producing), unregister, refused];
    let trace = clean_with(Some(s(ServerEvent::ShutdownWrite)), &kept);
    assert_eq!(
        found(&trace, Check::Producer),
        ["c0: producer req#0 left Producing (since 6.000ms) when the connection ended"]
    );
}

#[test]
fn a_producer_running_past_its_finish_is_caught() {
    let request = RequestId::from_sequence(0);
    let producer = |state| s(ServerEvent::Producer { request, state });
    let finish = s(ServerEvent::App {
        command: AppAction::Finish { request },
    });
    let events = [
        producer(ProducerState::Producing),
        finish,
        producer(ProducerState::Stopped),
    ];
    let mut trace = clean_with(Some(s(ServerEvent::ShutdownWrite)), &events);
    // Stopped a millisecond after the finish (the helper spaces its lines so).
    assert_eq!(
        found(&trace, Check::Producer),
        ["c0: producer req#0 not stopped when its response finished, at 7.000ms"]
    );
    // Stopped at the finish's instant, as the engine does.
    let finished_at = trace.entries[6].at_nanos;
    trace.entries[7].at_nanos = finished_at;
    assert_eq!(found(&trace, Check::Producer), Vec::<String>::new());
}

#[test]
fn reading_paused_twice_is_caught() {
    let paused = s(ServerEvent::Reading {
        state: ReadState::Paused,
    });
    let trace = clean_with(Some(c(ClientEvent::Eof)), &[paused.clone(), paused]);
    assert_eq!(
        found(&trace, Check::Reading),
        ["c0: reading Paused twice in a row, at 8.000ms"]
    );
}

#[test]
fn reading_after_the_peers_eof_is_caught() {
    let paused = s(ServerEvent::Reading {
        state: ReadState::Paused,
    });
    let trace = clean_with(
        Some(c(ClientEvent::Eof)),
        &[s(ServerEvent::ReadEof), paused],
    );
    assert_eq!(
        found(&trace, Check::Reading),
        ["c0: reading Paused at 8.000ms, after the peer's EOF"]
    );
}

#[test]
fn an_eof_read_before_the_fin_was_sent_is_caught() {
    // The client's shutdown recorded after the server read the EOF: a clock left behind.
    let late = clean_with(None, &[c(ClientEvent::ShutdownWrite)]);
    assert_eq!(
        found(&late, Check::Causality),
        ["c0: read the peer's EOF at 8.000ms, before it was sent at 11.000ms"]
    );
    let in_time = clean_with(Some(c(ClientEvent::Eof)), &[c(ClientEvent::ShutdownWrite)]);
    assert_eq!(found(&in_time, Check::Causality), Vec::<String>::new());
}

#[test]
fn a_response_dated_with_what_is_not_a_date_is_caught() {
    let dated = |date: &str| {
        let response = format!(
            "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 2\r\n\
             Connection: close\r\n\r\nhi"
        );
        let script = ClientScript::new().send(REQUEST);
        let found = run_check(
            script,
            &clean_with(None, &[]),
            log(REQUEST, response.as_bytes()),
        );
        found
            .into_iter()
            .filter(|v| v.contains("dated"))
            .collect::<Vec<_>>()
    };
    // The trace's request and response come within the run's first second.
    assert_eq!(dated("Tue, 14 Nov 2023 22:13:20 GMT"), Vec::<String>::new());
    assert_eq!(
        dated("Tue, 14 Nov 2023 22:13:20 GMX"),
        ["c0: the response at byte 0 is dated \"Tue, 14 Nov 2023 22:13:20 GMX\", not an HTTP date"]
    );
    assert_eq!(
        dated("Tue, 14 Nov 2023 22:13:19 GMT").len(),
        1,
        "a second early"
    );
    let script = ClientScript::new().send(REQUEST);
    let undated = check(
        &scenario(script),
        &clean_with(None, &[]),
        &[log(REQUEST, RESPONSE)],
    );
    let undated: Vec<String> = undated.iter().map(|v| v.to_string()).collect();
    assert_eq!(undated, ["c0: the response at byte 0 has no Date"]);
}

#[test]
fn requests_other_than_the_clients_are_caught() {
    let found = |trace: &Trace, check: Check| -> Vec<String> {
        let scenario = scenario(ClientScript::new().misbehaving());
        let violations = super::check(&scenario, trace, &[log(REQUEST, RESPONSE)]);
        let violations = violations.into_iter().filter(|v| v.check == check);
        violations.map(|v| v.to_string()).collect()
    };
    // The clean run: the client sent `GET /b`, the engine dispatched it.
    assert_eq!(
        found(&clean_with(None, &[]), Check::Framing),
        Vec::<String>::new()
    );
    let other = trace(&[
        s(ServerEvent::Accepted),
        c(ClientEvent::Connected),
        s(request(0, "/c")),
    ]);
    assert_eq!(
        found(&other, Check::Framing),
        ["c0: dispatched req#0 \"GET\" \"/c\", where the client sent \"GET\" \"/b\""]
    );
    let one_more = clean_with(Some(s(ServerEvent::ShutdownWrite)), &[s(request(1, "/c"))]);
    assert_eq!(
        found(&one_more, Check::Framing),
        ["c0: dispatched req#1 \"GET\" \"/c\" but the client sent 1 requests"]
    );
    let body = ServerEvent::Body {
        id: RequestId::from_sequence(0),
        bytes: 2,
    };
    let longer = clean_with(Some(s(ServerEvent::ShutdownWrite)), &[s(body)]);
    assert_eq!(
        found(&longer, Check::Framing),
        ["c0: req#0's body reached 2 bytes, where the client sent 0"]
    );
}

#[test]
fn the_proxy_clients_timers_run_for_its_own_configuration() {
    let mut setup = crate::scenario::ProxySetup::new(crate::scenario::Origin::Down);
    setup.client.timeouts.response_head = std::time::Duration::from_secs(5);
    // The proxy's connection p0 arms its head timer at 2 ms (the second entry).
    let armed_for = |after| {
        let deadline = twine_engine::Instant::from_millis(2) + after;
        let event = ServerEvent::Timer {
            timer: Timer::ResponseHead,
            change: TimerChange::Set(deadline),
        };
        let connected = Some(c(ClientEvent::Connected));
        clean_with(connected, &[Event::ProxyClient { conn: 0, event }])
    };
    let findings = |trace: &Trace| -> Vec<String> {
        let violations = upstream_promises(trace, &setup);
        violations.iter().map(|v| v.to_string()).collect()
    };
    let configured = armed_for(std::time::Duration::from_secs(5));
    assert_eq!(findings(&configured), Vec::<String>::new());
    // The server's header-read duration, not the client's.
    let server_duration = armed_for(std::time::Duration::from_secs(60));
    assert_eq!(
        findings(&server_duration),
        ["run: p0: timer response_head set at 2.000ms for 60002.000ms, not 5002.000ms (5s later)"]
    );
}

#[test]
fn a_proxy_command_refused_is_caught_unless_its_request_went_meanwhile() {
    let refused = |error| {
        s(ServerEvent::AppRefused {
            command: AppAction::Finish {
                request: RequestId::from_sequence(0),
            },
            error,
        })
    };
    let findings = |trace: &Trace| -> Vec<String> {
        let violations = proxy_refused(trace);
        violations.iter().map(|v| v.to_string()).collect()
    };
    let short = clean_with(None, &[refused(twine_engine::UsageError::BodyTooShort)]);
    assert_eq!(
        findings(&short),
        ["run: c0: finish req#0 refused (BodyTooShort)"]
    );
    let lost = clean_with(None, &[refused(twine_engine::UsageError::RequestLost)]);
    assert_eq!(findings(&lost), Vec::<String>::new());
}

#[test]
fn a_100_continue_the_app_never_asked_for_is_caught() {
    let request: &[u8] = b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\
        Content-Length: 2\r\nConnection: close\r\n\r\nhi";
    let response: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
    let scenario = scenario(ClientScript::new().misbehaving());
    let continues = |trace: &Trace| {
        let violations = check_undated(&scenario, trace, &[log(request, response)]);
        violations
            .iter()
            .filter(|v| v.check == Check::Continue)
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
    };
    // No credit granted: the 100 went out before the app asked for the body.
    assert_eq!(
        continues(&clean_with(None, &[])),
        ["c0: 1 100 Continue received, but the app asked for the body of only 0 requests"]
    );
    // Credit granted first: the 100 is owed.
    let consume = s(ServerEvent::App {
        command: crate::event::AppAction::Consume {
            request: RequestId::from_sequence(0),
            bytes: 65536,
        },
    });
    let asked = clean_with(Some(s(ServerEvent::Write { bytes: 59 })), &[consume]);
    assert_eq!(continues(&asked), Vec::<String>::new());
}

#[test]
fn limits_off_their_bounds_are_caught() {
    let limit = twine_engine::Limits::DEFAULT.request_line_bytes_max;
    // A request line of exactly `line` bytes and no field (HTTP/1.0 needs no Host): the head
    // is the line alone, so the head limit (equal by default) is at its bound too.
    let request = |line: usize| {
        let target = format!("/{}", "a".repeat(line - "GET / HTTP/1.0".len()));
        format!("GET {target} HTTP/1.0\r\n\r\n").into_bytes()
    };
    let response = |status: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let limits = |sent: &[u8], received: &[u8]| {
        let scenario = scenario(ClientScript::new().misbehaving());
        let violations = check_undated(&scenario, &clean_with(None, &[]), &[log(sent, received)]);
        violations
            .iter()
            .filter(|v| v.check == Check::Limit)
            .count()
    };
    let ok = response("200 OK");
    let refused = response("414 URI Too Long");
    // At the bound: served is right, refused is a limit one byte too tight.
    assert_eq!(limits(&request(limit), &ok), 0);
    assert_eq!(limits(&request(limit), &refused), 1);
    // One byte over: refused is right, served is a limit not enforced.
    assert_eq!(limits(&request(limit + 1), &refused), 0);
    assert_eq!(limits(&request(limit + 1), &ok), 1);
}

#[test]
fn a_close_after_a_protocol_error_without_lingering_is_caught() {
    let error = s(ServerEvent::ProtocolError {
        id: None,
        kind: ProtocolErrorKind::InvalidHeader,
        status: 400,
    });
    let close = s(ServerEvent::Close {
        reason: CloseReason::Graceful,
    });
    let lingering = |trace: &Trace| found(trace, Check::Lingering);
    // The clean run shuts its write side down before it closes: a lingering close.
    let fine = clean_with(
        Some(s(ServerEvent::Write { bytes: 59 })),
        std::slice::from_ref(&error),
    );
    assert_eq!(lingering(&fine), Vec::<String>::new());
    // Closed straight after the error.
    let abrupt = trace(&[
        s(ServerEvent::Accepted),
        error.clone(),
        s(ServerEvent::Write { bytes: 59 }),
        close.clone(),
        s(ServerEvent::SocketClosed),
    ]);
    assert_eq!(
        lingering(&abrupt),
        ["c0: closed at 4.000ms after a protocol error without a lingering close"]
    );
    // A draining server closes promptly on purpose, told before the error or after it.
    let drain = s(ServerEvent::App {
        command: AppAction::Drain,
    });
    for drained in [
        [
            error.clone(),
            drain.clone(),
            s(ServerEvent::Write { bytes: 59 }),
        ],
        [
            drain.clone(),
            error.clone(),
            s(ServerEvent::Write { bytes: 59 }),
        ],
    ] {
        let mut events = vec![s(ServerEvent::Accepted)];
        events.extend(drained);
        events.extend([close.clone(), s(ServerEvent::SocketClosed)]);
        assert_eq!(lingering(&trace(&events)), Vec::<String>::new());
    }
}

#[test]
fn an_interim_response_to_http10_is_caught() {
    let trace = clean_with(None, &[]);
    let request = b"GET / HTTP/1.0\r\n\r\n";
    let hinted = b"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let got = run_check(
        ClientScript::new().misbehaving(),
        &trace,
        log(request, hinted),
    );
    assert_eq!(
        got,
        ["c0: interim response 103 at byte 0 to HTTP/1.0 request 0"]
    );
    let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let fine = run_check(
        ClientScript::new().misbehaving(),
        &trace,
        log(request, plain),
    );
    assert_eq!(fine, Vec::<String>::new());
}

#[test]
fn a_second_100_for_one_request_is_caught() {
    let consume = s(ServerEvent::App {
        command: AppAction::Consume {
            request: RequestId::from_sequence(0),
            bytes: 1,
        },
    });
    let trace = clean_with(Some(s(ServerEvent::Write { bytes: 59 })), &[consume]);
    let request =
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx";
    let judge = |received: &[u8]| {
        run_check(
            ClientScript::new().misbehaving(),
            &trace,
            log(request, received),
        )
    };
    let end = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let once = format!("HTTP/1.1 100 Continue\r\n\r\n{end}");
    assert_eq!(judge(once.as_bytes()), Vec::<String>::new());
    let twice = format!("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n{end}");
    assert_eq!(
        judge(twice.as_bytes()),
        [
            "c0: a second 100 Continue at byte 25 for request 0: a 100 is a one-time signal \
             (RFC 9110 §15.2.1)"
        ]
    );
}

#[test]
fn an_app_close_that_aborts_or_loses_an_earlier_request_is_caught() {
    let close = |id| {
        s(ServerEvent::App {
            command: AppAction::Close {
                request: RequestId::from_sequence(id),
            },
        })
    };
    let lost = |id| {
        s(ServerEvent::Lost {
            id: RequestId::from_sequence(id),
        })
    };
    let aborted = s(ServerEvent::Close {
        reason: CloseReason::Abort,
    });
    let app_close = |trace: &Trace| found(trace, Check::AppClose);
    // Kept: a later request lost, then the graceful close of the clean trace.
    let fine = clean_with(Some(s(ServerEvent::ShutdownWrite)), &[close(1), lost(2)]);
    assert_eq!(app_close(&fine), Vec::<String>::new());
    // Broken: a request before the closed one lost.
    let earlier = clean_with(Some(s(ServerEvent::ShutdownWrite)), &[close(1), lost(0)]);
    assert_eq!(
        app_close(&earlier),
        ["c0: the app closed req#1 gracefully, yet req#0 before it was lost at 7.000ms"]
    );
    // Broken: aborted.
    let abort = clean_with(
        Some(s(ServerEvent::ShutdownWrite)),
        &[close(0), aborted.clone()],
    );
    assert_eq!(
        app_close(&abort),
        ["c0: the app closed req#0 gracefully, yet the connection was aborted at 7.000ms"]
    );
    // Kept: the peer reset the connection first.
    let reset = [close(0), s(ServerEvent::ConnectionLost), aborted];
    let peer = clean_with(Some(s(ServerEvent::ShutdownWrite)), &reset);
    assert_eq!(app_close(&peer), Vec::<String>::new());
}

#[test]
fn a_response_dated_before_its_request_or_after_its_bytes_left_is_caught() {
    // The clean run's request reaches the engine and its response leaves within the first
    // second of the run: Unix second 1,700,000,000, Tue, 14 Nov 2023 22:13:20 GMT.
    let dated = |date: &str| {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n";
        format!("{head}date:  {date} \r\n\r\nhi").into_bytes()
    };
    let trace = clean_with(None, &[]);
    let script = || ClientScript::new().send(REQUEST);
    let on_time = dated("Tue, 14 Nov 2023 22:13:20 GMT");
    assert_eq!(
        run_check(script(), &trace, log(REQUEST, &on_time)),
        Vec::<String>::new()
    );
    let stale = dated("Tue, 14 Nov 2023 22:13:19 GMT");
    assert_eq!(
        run_check(script(), &trace, log(REQUEST, &stale)),
        [
            "c0: the response at byte 0 is dated 1699999999 (Unix seconds), its request \
          arrived at 1700000000 and its first byte left at 1700000000"
        ]
    );
    let early = dated("Tue, 14 Nov 2023 22:13:21 GMT");
    assert_eq!(
        run_check(script(), &trace, log(REQUEST, &early)),
        [
            "c0: the response at byte 0 is dated 1700000001 (Unix seconds), its request \
          arrived at 1700000000 and its first byte left at 1700000000"
        ]
    );
}

#[test]
fn a_request_the_app_hears_of_behind_the_last_response_is_caught() {
    // Two requests pipelined; the first one's response closes the connection.
    let sent = [REQUEST, REQUEST].concat();
    let script = || ClientScript::new().send(sent.clone()).misbehaving();
    let before_the_head = clean_with(
        Some(s(ServerEvent::Write { bytes: 59 })),
        &[s(request(1, "/c"))],
    );
    assert_eq!(
        found(&before_the_head, Check::ProcessedAfterRejection),
        Vec::<String>::new(),
        "a request dispatched before the last head is lost, not processed behind it"
    );
    let behind_the_head = clean_with(Some(s(ServerEvent::ShutdownWrite)), &[s(request(1, "/c"))]);
    let got = run_check(script(), &behind_the_head, log(&sent, RESPONSE));
    assert_eq!(
        got,
        [
            "c0: \"event request req#1 GET /c HTTP/1.1\" at 6.000ms after the head of the last \
             response (`Connection: close`, at byte 0) left at 5.000ms"
        ]
    );
}

#[test]
fn a_request_the_app_hears_of_out_of_turn_is_caught() {
    let id = RequestId::from_sequence;
    let body = |n| {
        s(ServerEvent::Body {
            id: id(n),
            bytes: 3,
        })
    };
    let end = |n| s(ServerEvent::BodyEnd { id: id(n) });
    let pull = |n| s(ServerEvent::Pull { id: id(n) });
    let lost = |n| s(ServerEvent::Lost { id: id(n) });
    let heard = |trace: &Trace| found(trace, Check::RequestEvents);
    let write = Some(s(ServerEvent::Write { bytes: 59 }));
    // Kept: a body, its end, a pull, then the loss.
    let fine = clean_with(write.clone(), &[body(0), end(0), pull(0), lost(0)]);
    assert_eq!(heard(&fine), Vec::<String>::new());
    let broken: [(&[Event], &str); 5] = [
        (
            &[lost(0), lost(0)],
            "c0: req#0: its loss at 6.000ms, after it was lost",
        ),
        (
            &[lost(0), pull(0)],
            "c0: req#0: a pull at 6.000ms, after it was lost",
        ),
        (
            &[end(0), body(0)],
            "c0: req#0: body at 6.000ms, after its body ended",
        ),
        (
            &[end(0), end(0)],
            "c0: req#0: its body's end at 6.000ms, after its body ended",
        ),
        (&[body(1)], "c0: req#1: body at 5.000ms, before the request"),
    ];
    for (extra, want) in broken {
        assert_eq!(heard(&clean_with(write.clone(), extra)), [want]);
    }
    let again = clean_with(write.clone(), &[s(request(0, "/b"))]);
    assert_eq!(heard(&again), ["c0: req#0 announced again at 5.000ms"]);

    // The app closed it: the engine marks it lost without telling, unless it refused the
    // close.
    let close = || AppAction::Close { request: id(0) };
    let closed = s(ServerEvent::App { command: close() });
    let told_anyway = clean_with(write.clone(), &[closed.clone(), lost(0)]);
    assert_eq!(
        heard(&told_anyway),
        ["c0: req#0: its loss at 6.000ms, after the app closed it"]
    );
    let refused = s(ServerEvent::AppRefused {
        command: close(),
        error: twine_engine::UsageError::RequestLost,
    });
    let close_refused = clean_with(write, &[closed, refused, lost(0)]);
    assert_eq!(heard(&close_refused), Vec::<String>::new());
}

#[test]
fn an_input_writing_once_the_blocked_bytes_reach_the_bound_is_caught() {
    let blocked = s(ServerEvent::Transport {
        state: TransportState::Blocked,
    });
    let write = |bytes| s(ServerEvent::Write { bytes });
    let body = s(ServerEvent::App {
        command: AppAction::Body {
            request: RequestId::from_sequence(0),
            bytes: 65_536,
        },
    });
    let judged = |trace: &Trace| found(trace, Check::WriteWhileBlocked);
    let shutdown = Some(s(ServerEvent::ShutdownWrite));
    // Kept: one app write taken with room left, its chunk's pieces ending past the bound.
    let one_input = [
        blocked.clone(),
        body.clone(),
        write(6),
        write(65_536),
        write(2),
    ];
    assert_eq!(
        judged(&clean_with(shutdown.clone(), &one_input)),
        Vec::<String>::new()
    );
    // Kept: a drain's GOAWAY after the bound was reached (not the app's data).
    let mut drained = one_input.to_vec();
    let drain = s(ServerEvent::App {
        command: AppAction::Drain,
    });
    drained.extend([drain, write(17)]);
    assert_eq!(
        judged(&clean_with(shutdown.clone(), &drained)),
        Vec::<String>::new()
    );
    // Broken: a second input writes after the bound was reached.
    let mut two_inputs = one_input.to_vec();
    two_inputs.extend([body, write(6)]);
    assert_eq!(
        judged(&clean_with(shutdown, &two_inputs)),
        [
            "c0: wrote 6 bytes at 12.000ms while the transport was blocked (since 6.000ms) with \
          65544 bytes already written, the limit being 65536"
        ]
    );
}

#[test]
fn body_past_its_credit_is_caught() {
    let (r0, r1) = (RequestId::from_sequence(0), RequestId::from_sequence(1));
    let consume = |request, bytes| ServerEvent::App {
        command: AppAction::Consume { request, bytes },
    };
    let body = |id, bytes| ServerEvent::Body { id, bytes };
    let events = [
        (1, consume(r0, 10)),
        (2, body(r0, 6)),
        (3, body(r0, 4)),
        // Another request's credit is no credit for this one.
        (4, consume(r1, 100)),
        (5, consume(r0, 5)),
        (6, body(r0, 5)),
        (7, body(r0, 1)),
    ];
    let checked =
        |n: usize| promises::credit(events[..n].iter().map(|(ms, e)| (ms * 1_000_000, e)));
    assert_eq!(checked(6), None);
    assert_eq!(
        checked(7).as_deref(),
        Some("req#0: 16 body bytes delivered by 7.000ms on 15 of credit")
    );
    // Body before any credit.
    let early = [(1, body(r1, 1))];
    assert_eq!(
        promises::credit(early.iter().map(|(ms, e)| (ms * 1_000_000, e))).as_deref(),
        Some("req#1: 1 body bytes delivered by 1.000ms on 0 of credit")
    );
}

#[test]
fn a_client_connection_said_reusable_twice_or_after_its_close_is_caught() {
    let send = ServerEvent::App {
        command: AppAction::SendRequest {
            request: Box::new(crate::event::SentRequest {
                method: twine_engine::Method::new("GET"),
                target: bytes::Bytes::from_static(b"/"),
            }),
        },
    };
    let close = ServerEvent::Close {
        reason: CloseReason::Graceful,
    };
    let reusable = ServerEvent::Reusable;
    let judge = |events: &[&ServerEvent]| {
        let notes: Vec<Note<'_>> = (1..)
            .map(|ms| ms * 1_000_000)
            .zip(events.iter().copied())
            .collect();
        promises::reusable(&notes)
    };
    assert_eq!(judge(&[&send, &reusable, &send, &reusable, &close]), None);
    assert_eq!(
        judge(&[&send, &reusable, &reusable]),
        Some("said reusable at 2.000ms and at 3.000ms with no request between".to_string())
    );
    assert_eq!(
        judge(&[&send, &close, &reusable]),
        Some("said reusable at 3.000ms, after its close at 2.000ms".to_string())
    );
}
