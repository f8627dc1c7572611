//! Goal: the body idle timer runs only while the channel is reading the body from the peer.
//! While the transport is blocked the channel itself stops reading, so a silent client is not
//! to blame, and the timer waits; it starts over, with its full duration, once reading resumes.
//! Nor does it run while the channel waits on the app (a buffered body without credit) or the
//! client waits on us (`Expect: 100-continue` before the 100).
//! Method: a body still arriving after its response finished (the rest is drained), a blocked
//! transport, short timeouts, virtual time, and the exact timers fired at exact times.

use super::harness::{bare, consume, fired, lost, Harness, R0};
use crate::{
    AppCommand, Config, Duration, ProtocolErrorKind, ReadState, ResponseHead, Timeouts, Timer,
    TransportState,
};

#[test]
fn no_body_timer_while_a_blocked_transport_pauses_reading() {
    let mut timeouts = Timeouts::default();
    timeouts.body_read = Duration::from_secs(10);
    timeouts.send_stall = Duration::from_secs(100);
    let mut h = Harness::new(Config { timeouts, ..bare() });
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 5,
    })
    .unwrap();
    let head = ResponseHead::new(200).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    // The rest of the body is drained; the client stops reading our bytes.
    h.transport(TransportState::Blocked);
    assert_eq!(h.channel.recv_window(), 0);
    assert_eq!(h.reading(), ReadState::Paused);
    h.advance_secs(20);
    assert_eq!(fired(&h), []);
    assert_eq!(h.protocol_errors(), []);
    // Reading again: the body timer starts over from now.
    h.transport(TransportState::Writable);
    h.advance(Duration::from_millis(9_999));
    assert_eq!(fired(&h), []);
    h.advance(Duration::from_millis(1));
    assert_eq!(fired(&h), [Timer::BodyRead]);
    assert_eq!(h.protocol_errors(), [ProtocolErrorKind::RequestTimeout]);
}

/// The whole request is buffered but the app has not granted credit: the channel waits on the
/// app, not the peer, so the body idle timer does not run and no 408 blames the client
/// (DESIGN.md §2 Timeouts). (A bug once: a 408 came after 60 s.)
#[test]
fn no_body_timer_while_the_app_holds_a_buffered_body() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789");
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(
        !wire.contains("408"),
        "408 for a complete request: {wire:?}"
    );
    assert!(!lost(&h, R0), "the request was lost while the app held it");
    consume(&mut h, R0, 10);
    assert_eq!(h.body(R0), b"0123456789");
}

/// `Expect: 100-continue` and no credit yet: the client waits for our 100 (RFC 9110 §10.1.1), so
/// the body idle timer does not run against it. (A bug once: a 408 came after 60 s.)
#[test]
fn no_body_timer_while_the_client_waits_for_100_continue() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(
        !wire.contains("408"),
        "408 before the 100 was sent: {wire:?}"
    );
    assert!(!lost(&h, R0));
}
