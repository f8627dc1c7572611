//! Goal: the body idle timer measures the peer's progress, so only bytes restart it: an empty
//! `Input::Received` (a read that returned nothing) is not activity, and neither is time. A
//! chunk-size line that stops half way is the peer's to finish, so the timer runs over it.
//! Method: a body read timeout of 10 s, inputs at chosen virtual times, and the exact instant
//! the timer fires (with the 408 it brings while no response has started).

use super::harness::{bare, Harness, R0};
use crate::{
    AppCommand, Config, Duration, Input, Output, ProtocolErrorKind, Timeouts, Timer, TimerChange,
};

fn ten_second_body_timer() -> Config {
    let mut timeouts = Timeouts::default();
    timeouts.body_read = Duration::from_secs(10);
    Config { timeouts, ..bare() }
}

fn body_timer_fired(h: &Harness) -> bool {
    h.log.iter().any(|o| {
        matches!(
            o,
            Output::Timer {
                timer: Timer::BodyRead,
                change: TimerChange::Fired
            }
        )
    })
}

/// Sends `head_and_body` with all the credit it needs, then checks the body timer fires at
/// exactly 10 s and not a millisecond before, with a 408.
fn assert_body_times_out_at_ten_seconds(h: &mut Harness, head_and_body: &str) {
    h.send(head_and_body);
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 100,
    })
    .unwrap();
    h.advance(Duration::from_millis(9_000));
    let now = h.now;
    h.input(Input::Received { now, bytes: b"" });
    h.advance(Duration::from_millis(999));
    assert!(!body_timer_fired(h));
    h.advance(Duration::from_millis(1));
    assert!(body_timer_fired(h));
    assert_eq!(h.protocol_errors(), [ProtocolErrorKind::RequestTimeout]);
    assert!(h
        .take_wire()
        .starts_with("HTTP/1.1 408 Request Timeout\r\n"));
}

#[test]
fn an_empty_read_does_not_restart_the_body_timer() {
    let mut h = Harness::new(ten_second_body_timer());
    let request = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01";
    assert_body_times_out_at_ten_seconds(&mut h, request);
    assert_eq!(h.body(R0), b"01");
}

/// The first chunk is delivered; the next chunk-size line stops after `3;a`: that is not
/// the app's doing, so the silence is the peer's and times out.
#[test]
fn a_half_sent_chunk_size_line_times_out() {
    let mut h = Harness::new(ten_second_body_timer());
    let request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                   5\r\nhello\r\n3;a";
    assert_body_times_out_at_ten_seconds(&mut h, request);
    assert_eq!(h.body(R0), b"hello");
}
