//! Goal: after the peer's FIN, the response in flight knows whether it is the last one. When
//! what is buffered after the complete request is only the start of another head, that head
//! can never complete, so the response in flight is the last and says `Connection: close`
//! (DESIGN.md section 2: the last response carries it), and the partial head is never
//! dispatched. Method: a complete request plus part of the next one, then a FIN, then the
//! answer; the exact response bytes and the close are compared with literal values.

use super::harness::{bare, Harness, R0};
use crate::{AppCommand, CloseReason, ResponseHead};

#[test]
fn a_fin_after_a_partial_head_makes_the_response_in_flight_the_last() {
    let mut h = Harness::new(bare());
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHo");
    h.send_eof();
    assert_eq!(h.request_ids(), [R0]);
    let head = ResponseHead::new(200).with_header("Content-Length", "1");
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
    assert_eq!(h.request_ids(), [R0]);
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}
