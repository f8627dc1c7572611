//! Goal: every producer transition is reported when it happens, and only the transitions that
//! apply to the producer's kind: a queued response that finishes stops its producer at once
//! (not when it later reaches the front), and a push producer is never asked to pull. Method:
//! pipelined requests with registered producers; the `Output::Producer` states and
//! `Event::Pull`s are compared with literal lists at each step.

use super::harness::{depth, Harness, R0, R1};
use crate::{AppCommand, Event, ProducerKind, ProducerState, RequestId, ResponseHead};
use ProducerState::{Producing, Stopped};

fn pulls(h: &Harness) -> Vec<RequestId> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Pull { id } => Some(*id),
            _ => None,
        })
        .collect()
}

fn respond(h: &mut Harness, id: RequestId, body: &'static str) {
    let head = ResponseHead::new(200).with_header("Content-Length", body.len().to_string());
    h.app(AppCommand::SendHead { request: id, head }).unwrap();
    h.app(AppCommand::RegisterProducer {
        request: id,
        kind: ProducerKind::Push,
    })
    .unwrap();
    h.app(AppCommand::SendBody {
        request: id,
        data: body.into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: id }).unwrap();
}

#[test]
fn a_queued_response_that_finishes_stops_its_producer_at_once() {
    let mut h = Harness::new(depth(2));
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    respond(&mut h, R1, "b");
    assert_eq!(h.producer_states(R1), [Producing, Stopped]);
    assert_eq!(h.take_wire(), "", "queued behind request 0");
    respond(&mut h, R0, "a");
    assert_eq!(h.producer_states(R0), [Producing, Stopped]);
    assert_eq!(
        h.producer_states(R1),
        [Producing, Stopped],
        "no second Stopped"
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
         HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
    );
}

#[test]
fn a_push_producer_is_never_asked_to_pull() {
    let mut h = Harness::new(depth(2));
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    respond(&mut h, R0, "a");
    respond(&mut h, R1, "b");
    assert_eq!(pulls(&h), []);
    // A pull producer on the next request is asked once, right away.
    h.send("GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
    let r2 = RequestId::from_sequence(2);
    h.app(AppCommand::SendHead {
        request: r2,
        head: ResponseHead::new(200),
    })
    .unwrap();
    h.app(AppCommand::RegisterProducer {
        request: r2,
        kind: ProducerKind::Pull,
    })
    .unwrap();
    assert_eq!(pulls(&h), [r2]);
}
