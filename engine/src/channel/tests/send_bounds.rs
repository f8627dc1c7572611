//! Goal: a response queued behind another is buffered up to exactly `send_buffer_bytes_max`
//! bytes: below the bound its producer produces and `SendBody` is accepted; at the bound the
//! producer is paused and `SendBody` is refused with `SendError::Blocked`, until the response
//! reaches the front. Method: depth 2, a bound of 50, a queued response whose head is 40 bytes,
//! body writes that land one byte below and exactly on the bound, and literal producer states
//! and response bytes.

use super::harness::{bare, Harness, R0, R1};
use crate::{
    AppCommand, Config, Limits, ProducerKind, ProducerState, RequestId, ResponseHead, SendError,
    UsageError,
};
use ProducerState::{Paused, Producing, Stopped};

fn send_body(h: &mut Harness, request: RequestId, data: &'static str) -> Result<(), UsageError> {
    h.app(AppCommand::SendBody {
        request,
        data: data.into(),
    })
}

#[test]
fn a_queued_response_is_refused_exactly_at_the_bound() {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = 2;
    limits.send_buffer_bytes_max = 50;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    // A head of 40 bytes: "HTTP/1.1 200 OK\r\n" (17), "Content-Length: 120\r\n" (21), "\r\n".
    let head = ResponseHead::new(200).with_header("Content-Length", "120");
    h.app(AppCommand::SendHead { request: R1, head }).unwrap();
    h.app(AppCommand::RegisterProducer {
        request: R1,
        kind: ProducerKind::Push,
    })
    .unwrap();
    assert_eq!(h.producer_states(R1), [Producing]);
    send_body(&mut h, R1, "abcdefghi").unwrap();
    assert_eq!(h.producer_states(R1), [Producing], "49 bytes queued");
    send_body(&mut h, R1, "j").unwrap();
    assert_eq!(
        h.producer_states(R1),
        [Producing, Paused],
        "50 bytes queued"
    );
    assert_eq!(
        send_body(&mut h, R1, "k"),
        Err(UsageError::Send(SendError::Blocked))
    );
    assert_eq!(h.take_wire(), "");
    // Request 0 finishes: request 1 is at the front, flushed, and produces again.
    let head = ResponseHead::new(200).with_header("Content-Length", "1");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    send_body(&mut h, R0, "a").unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(h.producer_states(R1), [Producing, Paused, Producing]);
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
         HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\nabcdefghij"
    );
    send_body(&mut h, R1, "k").unwrap();
    assert_eq!(h.producer_states(R1), [Producing, Paused, Producing]);
    assert_eq!(h.take_wire(), "k");
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    assert_eq!(
        h.producer_states(R1),
        [Producing, Paused, Producing, Stopped]
    );
}
