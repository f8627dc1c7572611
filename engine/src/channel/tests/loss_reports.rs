//! Goal: `Event::Lost` is told exactly once for each request the app was handed whose response
//! can no longer reach the wire (even one finished but still queued), and never for one the app
//! gave up itself; and the last response on a connection starts the close at once, without
//! waiting for a request body nobody will read. Method: pipelined requests, an error response
//! queued behind a dispatched request, an aborted queued request, finished responses queued
//! at a connection loss or behind a close-delimited one, and a non-persistent upload, driven
//! through the harness; the `Lost` ids and the close outputs are compared with literal lists.

use super::harness::{answer, bare, body, depth, finish, head, lost, lost_ids, Harness, R0, R1};
use crate::{AppCommand, Input, Output, ProtocolErrorKind, ResponseHead, Timer, TimerChange};

fn connection_lost(h: &mut Harness) {
    let now = h.now;
    h.input(Input::ConnectionLost { now });
}

/// The channel's own error response behind a dispatched request was never the app's: when the
/// connection is lost only the dispatched request is reported.
#[test]
fn a_queued_error_response_is_not_reported_lost() {
    let mut h = Harness::new(depth(2));
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    assert_eq!(h.protocol_errors(), [ProtocolErrorKind::InvalidHost]);
    connection_lost(&mut h);
    assert_eq!(lost_ids(&h), [R0]);
}

/// The app that aborted queued request 1 knows about it: a later connection loss reports
/// request 0 only, once.
#[test]
fn an_aborted_request_is_not_reported_lost_later() {
    let mut h = Harness::new(depth(2));
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    assert_eq!(lost_ids(&h), []);
    connection_lost(&mut h);
    assert_eq!(lost_ids(&h), [R0]);
}

/// A request lost mid-body is reported once, not again when the connection then closes.
#[test]
fn a_request_lost_mid_body_is_reported_once() {
    let mut h = Harness::new(depth(2));
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 5,
    })
    .unwrap();
    h.send_eof();
    assert_eq!(lost_ids(&h), [R0]);
    assert!(h.channel.is_closed());
    assert_eq!(lost_ids(&h), [R0]);
}

/// HTTP/1.0 without keep-alive: the response to a partly read upload is the last one, so the
/// lingering close starts as soon as it is finished. The rest of the body is discarded by the
/// lingering close; the channel does not wait for it before shutting down its write side.
#[test]
fn the_last_response_closes_without_waiting_for_the_body() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.0\r\nContent-Length: 10\r\n\r\n01");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 10,
    })
    .unwrap();
    assert_eq!(h.body(R0), b"01");
    let head = ResponseHead::new(200).with_header("Content-Length", "2");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "ok".into(),
    })
    .unwrap();
    assert!(!h.shut_down(), "not before the response is finished");
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
    assert!(h.shut_down());
    let linger_set = h.log.iter().any(|o| {
        matches!(
            o,
            Output::Timer {
                timer: Timer::Linger,
                change: TimerChange::Set(_)
            }
        )
    });
    assert!(linger_set);
    // The rest of the body is read and thrown away, not delivered.
    h.send("23456789");
    assert_eq!(h.body(R0), b"01");
    assert_eq!(lost_ids(&h), []);
}

/// With depth 2, request 1's response is finished but queued behind request 0's when the
/// connection is lost: it never reached the wire, so the app is told `Lost` for it too. (A bug
/// once: only request 0 was reported.)
#[test]
fn a_finished_but_queued_response_lost_with_the_connection_is_reported() {
    let mut h = Harness::new(depth(2));
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "two");
    assert_eq!(h.take_wire(), "", "queued behind request 0");
    let now = h.now;
    h.input(Input::ConnectionLost { now });
    assert!(lost(&h, R0));
    assert!(
        lost(&h, R1),
        "request 1's response never left the queue, but the app was not told"
    );
}

/// Request 0's response turns out to be the last (close-delimited HTTP/1.0) after request 1 was
/// answered: request 1's response can never be sent, so the app is told `Lost`. (A bug once: it
/// was dropped silently.)
#[test]
fn a_response_dropped_behind_a_close_delimited_one_is_reported() {
    let mut h = Harness::new(depth(2));
    h.send(
        "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
         GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "two");
    head(&mut h, R0, ResponseHead::new(200));
    body(&mut h, R0, "one");
    finish(&mut h, R0);
    let wire = h.take_wire();
    assert!(
        wire.contains("two") || lost(&h, R1),
        "response 1 neither sent nor reported lost: {wire:?}"
    );
}
