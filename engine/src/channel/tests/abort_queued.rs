//! Goal: `AppCommand::Abort` on a request that waits behind another ends the connection where
//! that request's response would start: the request is refused as lost from then on (without
//! an `Event::Lost`, the app knows), nothing more of its body is delivered, the response in
//! front is completed and is the last one, so it says `Connection: close` (DESIGN.md section
//! 2, Persistence), and then the connection closes. Method: depth 2, a queued request aborted
//! at different points, and literal response bytes, events and command results.

use super::harness::{answer, body, depth, finish, head, lost, Harness, R0, R1};
use crate::{AppCommand, Event, ResponseHead, UsageError};

#[test]
fn the_response_in_front_of_an_aborted_request_is_the_last() {
    let mut h = Harness::new(depth(2));
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    assert_eq!(
        h.app(AppCommand::SendHead {
            request: R1,
            head: ResponseHead::new(200),
        }),
        Err(UsageError::RequestLost)
    );
    assert!(!h.shut_down());
    answer(&mut h, R0, "a");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\na"
    );
    assert!(h.shut_down());
    let lost = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Lost { .. }))
        .count();
    assert_eq!(lost, 0, "the app aborted request 1 itself");
}

#[test]
fn no_body_is_delivered_for_an_aborted_request() {
    let mut h = Harness::new(depth(2));
    h.send(
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
         POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234",
    );
    assert_eq!(h.request_ids(), [R0, R1]);
    h.app(AppCommand::Consume {
        request: R1,
        bytes: 10,
    })
    .unwrap();
    assert_eq!(h.body(R1), b"01234");
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    h.send("56789");
    assert_eq!(h.body(R1), b"01234");
    let ends = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::BodyEnd { id: R1 }))
        .count();
    assert_eq!(ends, 0);
    answer(&mut h, R0, "a");
    assert!(h.take_wire().ends_with("\r\n\r\na"));
    assert!(h.shut_down());
}

/// An aborted request whose response head was already queued ends the connection after that
/// head (a truncated response): the response in front is then not the last on the wire, and
/// says nothing about closing.
#[test]
fn a_queued_head_of_an_aborted_request_still_follows() {
    let mut h = Harness::new(depth(2));
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = ResponseHead::new(200).with_header("Content-Length", "5");
    h.app(AppCommand::SendHead { request: R1, head }).unwrap();
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    answer(&mut h, R0, "a");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
         HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    );
    assert!(h.shut_down());
}

/// With depth 2, aborting queued request 1 lets request 0's response finish (a response in
/// progress is never corrupted), then the connection closes. (A bug once: the abort closed the
/// connection at once and truncated request 0.)
#[test]
fn aborting_a_queued_request_lets_the_one_in_front_finish() {
    let mut h = Harness::new(depth(2));
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    head(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "5"),
    );
    body(&mut h, R0, "hel");
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    assert!(!lost(&h, R0), "request 0 did nothing wrong");
    body(&mut h, R0, "lo");
    finish(&mut h, R0);
    assert!(h.take_wire().ends_with("\r\n\r\nhello"));
}
