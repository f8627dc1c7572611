//! Goal: a FIN in the middle of a request body is a connection loss for that request (DESIGN.md
//! section 2, Half-close) as soon as nothing the app could still take is buffered: with no body
//! bytes buffered, even before the app granted any credit; with credit granted, even when an
//! incomplete chunk-size line is buffered (it can never complete). Until then, and after a
//! complete body, the app still gets what was sent. Method: uploads cut by a FIN at those
//! points; `Event::Lost`, the close and the wire are compared with literal values.

use super::harness::{answer, bare, consume, lost, lost_ids, Harness, R0};
use crate::{AppCommand, CloseReason, RequestId};

#[test]
fn a_fin_before_any_body_byte_loses_the_request_without_credit() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    h.send_eof();
    assert_eq!(lost_ids(&h), [R0]);
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(h.take_wire(), "");
}

#[test]
fn a_fin_inside_a_chunk_size_line_loses_the_request() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 100,
    })
    .unwrap();
    assert_eq!(h.body(R0), b"hello");
    assert_eq!(lost_ids(&h), []);
    h.send_eof();
    assert_eq!(lost_ids(&h), [R0]);
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(h.take_wire(), "");
}

/// With depth 2, the queued request 1 is lost to a FIN mid-body: the response to request 0 is
/// then the last on the connection and says so.
#[test]
fn a_fin_mid_body_behind_a_response_makes_that_response_the_last() {
    let mut limits = crate::Limits::default();
    limits.pipeline_depth_max = 2;
    let mut h = Harness::new(crate::Config { limits, ..bare() });
    h.send(
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
         POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234",
    );
    let r1 = RequestId::from_sequence(1);
    h.app(AppCommand::Consume {
        request: r1,
        bytes: 10,
    })
    .unwrap();
    h.send_eof();
    assert_eq!(lost_ids(&h), [r1]);
    let head = crate::ResponseHead::new(200).with_header("Content-Length", "1");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "a".into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\na"
    );
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// A FIN in the middle of a body, before the app granted any credit, does not lose the request
/// while buffered body bytes remain for the app; once they are consumed the request is lost and
/// the connection closes (no hang).
#[test]
fn fin_mid_body_without_credit_waits_for_the_app_then_loses() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    h.send_eof();
    assert!(!lost(&h, R0));
    consume(&mut h, R0, 100);
    assert_eq!(h.body(R0), b"01234");
    assert!(lost(&h, R0));
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// A FIN after a body that was complete on the wire but not yet consumed: the app still gets
/// the whole body and can answer.
#[test]
fn fin_after_a_complete_unconsumed_body_still_answers() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd");
    h.send_eof();
    consume(&mut h, R0, 4);
    assert_eq!(h.body(R0), b"abcd");
    answer(&mut h, R0, "ok");
    let wire = h.take_wire();
    assert!(wire.contains("Connection: close\r\n"), "{wire:?}");
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}
