//! The named timers: head deadline (one per head, not extended by dribbled bytes), body idle,
//! keep-alive idle (also after a stray CRLF), send stall, linger and abort; and odd inputs (huge
//! credit, time going backwards, a timeout before any deadline) are harmless.

use super::harness::{answer, bare, consume, count, depth, fired, Harness, R0, R1};
use crate::{
    AppCommand, CloseReason, Config, Duration, Event, Input, Instant, Output, ProtocolErrorKind,
    ResponseHead, Timeouts, Timer, TimerChange, TimerReports, TransportState,
};

/// Every timer change reported, in order.
fn timer_changes(h: &Harness) -> Vec<(Timer, TimerChange)> {
    h.log
        .iter()
        .filter_map(|o| match o {
            Output::Timer { timer, change } => Some((*timer, *change)),
            _ => None,
        })
        .collect()
}

/// Twisted case 11: an idle new connection is closed after the head deadline, without a
/// response; then the linger.
#[test]
fn a_silent_connection_is_closed_at_the_head_deadline() {
    let mut h = Harness::new(bare());
    h.advance_secs(59);
    assert!(!h.shut_down());
    h.advance_secs(1);
    assert!(h.shut_down());
    assert_eq!(h.take_wire(), "");
    assert_eq!(fired(&h), [Timer::HeaderRead]);
    h.advance_secs(20);
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(fired(&h), [Timer::HeaderRead, Timer::Linger]);
}

/// Slowloris: a head dribbled one byte a second is cut off at 60 s with 408, although bytes
/// kept arriving (Twisted reset its timer on every byte).
#[test]
fn dribbled_bytes_do_not_extend_the_head_deadline() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\n");
    for _ in 0..70 {
        h.advance_secs(1);
        if h.shut_down() {
            break;
        }
        h.send("X");
    }
    assert_eq!(h.now.since_epoch(), Duration::from_secs(60));
    assert!(h
        .take_wire()
        .starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    assert_eq!(h.protocol_errors(), [ProtocolErrorKind::RequestTimeout]);
}

/// Twisted case 10 (`test_requestBodyTimeout`) with a 100 s body timeout: each byte starts the
/// idle period over.
#[test]
fn body_bytes_keep_the_body_timer_alive() {
    let mut timeouts = Timeouts::default();
    timeouts.body_read = Duration::from_secs(100);
    let mut h = Harness::dummy(Config { timeouts, ..bare() });
    h.send("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n");
    h.advance_secs(99);
    h.send("x");
    h.advance_secs(99);
    h.send("x");
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK"));
    assert_eq!(fired(&h), []);
}

/// A body that goes silent gets 408 when no response has started.
#[test]
fn a_silent_body_gets_408() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 10,
    })
    .unwrap();
    h.advance_secs(60);
    assert_eq!(fired(&h), [Timer::BodyRead]);
    assert!(h
        .take_wire()
        .starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::Lost { id: R0 })));
}

/// A body that goes silent while its response streams truncates the response.
#[test]
fn a_silent_body_truncates_a_started_response() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 10,
    })
    .unwrap();
    h.app(AppCommand::SendHead {
        request: R0,
        head: ResponseHead::new(200),
    })
    .unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "01".into(),
    })
    .unwrap();
    h.advance_secs(60);
    let wire = h.take_wire();
    assert!(
        wire.ends_with("2\r\n01\r\n"),
        "no terminating chunk: {wire}"
    );
    assert!(h.shut_down());
}

/// The keep-alive idle timer (15 s, web2) runs between requests only.
#[test]
fn idle_keep_alive_closes_between_requests() {
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.advance_secs(14);
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.advance_secs(14);
    assert!(!h.shut_down());
    h.advance_secs(1);
    assert!(h.shut_down());
    assert_eq!(count(&h.take_wire(), "HTTP/1.1 200 OK"), 2);
    assert_eq!(fired(&h), [Timer::IdleKeepAlive]);
}

/// A client that stops reading is cut off by the send stall timer.
#[test]
fn send_stall_aborts() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.transport(TransportState::Blocked);
    h.advance_secs(59);
    assert_eq!(h.closed(), None);
    h.advance_secs(1);
    assert_eq!(h.closed(), Some(CloseReason::Abort));
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::Lost { id: R0 })));
}

/// Twisted case 12 (`test_transportForciblyClosed`): a graceful close whose output cannot be
/// flushed is aborted 15 s later.
#[test]
fn a_stuck_graceful_close_is_aborted() {
    let mut h = Harness::new(bare());
    h.advance_secs(60);
    assert!(h.shut_down());
    h.transport(TransportState::Blocked);
    h.advance_secs(14);
    assert_eq!(h.closed(), None);
    h.advance_secs(1);
    assert_eq!(h.closed(), Some(CloseReason::Abort));
    assert_eq!(fired(&h), [Timer::HeaderRead, Timer::Abort]);
}

/// Twisted case 13: losing the connection cancels every timer.
#[test]
fn connection_loss_cancels_timers() {
    let mut h = Harness::new(bare());
    h.advance_secs(60);
    let now = h.now;
    h.input(crate::Input::ConnectionLost { now });
    assert_eq!(h.channel.poll_timeout(), None);
    h.advance_secs(1 << 32);
    assert_eq!(fired(&h), [Timer::HeaderRead]);
}

/// The timers are named in the outputs when set, cancelled and fired.
#[test]
fn timer_changes_are_outputs() {
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let changes = timer_changes(&h);
    let secs = |s| TimerChange::Set(crate::Instant::ZERO + Duration::from_secs(s));
    assert_eq!(
        changes,
        [
            (Timer::HeaderRead, secs(60)),
            (Timer::HeaderRead, TimerChange::Cancelled),
            (Timer::IdleKeepAlive, secs(15)),
        ]
    );
}

/// Reporting fires only changes no byte and no deadline: the same keep-alive exchanges and
/// idle timeout, with the arms and cancels left out of the outputs and the fire kept.
#[test]
fn fires_only_reports_changes_no_behaviour() {
    let run = |config: Config| {
        let mut h = Harness::dummy(config);
        h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
        let deadline = h.channel.poll_timeout();
        h.advance_secs(15);
        let timers = timer_changes(&h);
        (h.take_wire(), deadline, h.closed(), h.shut_down(), timers)
    };
    let all = run(bare());
    let fires = run(bare().with_timer_reports(TimerReports::FiresOnly));
    assert_eq!(fires.0, all.0, "the same bytes");
    assert_eq!(count(&fires.0, "HTTP/1.1 200 OK"), 2);
    assert_eq!(
        fires.1,
        Some(crate::Instant::ZERO + Duration::from_secs(15))
    );
    assert_eq!((fires.1, fires.2, fires.3), (all.1, all.2, all.3));
    assert!(fires.3, "the idle timeout shut the connection down");
    assert_eq!(fires.4, [(Timer::IdleKeepAlive, TimerChange::Fired)]);
    assert!(all.4.len() > 1, "all: the arms and cancels too");
}

/// A slow reader is not a stalled one: progress while blocked (the transport reported
/// blocked again after taking bytes) pushes the send stall deadline back.
#[test]
fn progress_while_blocked_keeps_the_send_stall_away() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.transport(TransportState::Blocked);
    for _ in 0..10 {
        h.advance_secs(50);
        h.transport(TransportState::Blocked);
    }
    assert_eq!(h.closed(), None, "500 s of slow progress");
    h.advance_secs(60);
    assert_eq!(
        h.closed(),
        Some(CloseReason::Abort),
        "60 s without progress"
    );
    assert_eq!(fired(&h), [Timer::SendStall]);
}

/// With depth 2, a head that starts in the same read as the end of the previous one gets a
/// deadline of its own (`Timeouts::header_read`: from its first byte). (A bug once: it
/// inherited the previous head's deadline.)
#[test]
fn each_pipelined_head_gets_its_own_deadline() {
    let mut h = Harness::new(depth(2));
    h.advance_secs(59);
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n");
    assert_eq!(h.request_ids(), [R0]);
    h.advance_secs(2);
    assert_eq!(
        h.protocol_errors(),
        [],
        "the head of /2 started 2 s ago, not 60 s ago"
    );
    h.send("Host: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
}

/// The CRLF old clients send after a POST body (RFC 9112 §2.2) does not start a request: the
/// connection is idle, closed silently by the 15 s keep-alive timer, never with an unsolicited
/// 408. (A bug once: the 60 s head deadline ran and a 408 went out.)
#[test]
fn a_stray_crlf_after_a_body_leaves_the_connection_idle() {
    let mut h = Harness::dummy(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab\r\n");
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(
        !wire.contains("408"),
        "unsolicited 408 on an idle connection: {wire:?}"
    );
    assert_eq!(h.protocol_errors(), []);
    let fired = fired(&h);
    assert_eq!(
        fired[0],
        Timer::IdleKeepAlive,
        "15 s idle, not the 60 s head deadline"
    );
}

/// Huge and repeated credit saturates; time going backwards and a timeout before any deadline
/// are harmless.
#[test]
fn huge_credit_backwards_time_and_early_timeouts() {
    let mut h = Harness::new(bare());
    h.now = Instant::from_millis(10_000);
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    consume(&mut h, R0, u64::MAX);
    consume(&mut h, R0, u64::MAX);
    consume(&mut h, R0, u64::MAX);
    assert_eq!(h.body(R0), b"abc");
    let deadline = h.channel.poll_timeout();
    h.input(Input::Timeout {
        now: Instant::from_millis(1),
    });
    h.input(Input::Timeout {
        now: Instant::from_millis(10_001),
    });
    assert_eq!(h.channel.poll_timeout(), deadline);
    h.now = Instant::from_millis(5);
    answer(&mut h, R0, "ok");
    assert!(h.take_wire().ends_with("ok"));
    assert_eq!(h.closed(), None);
    assert!(h.channel.poll_timeout().unwrap() >= Instant::from_millis(10_000));
}
