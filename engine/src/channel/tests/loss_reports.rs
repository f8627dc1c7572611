//! Goal: `Event::Lost` is told exactly once, and only for a request the app was handed and did
//! not give up itself; and the last response on a connection starts the close at once, without
//! waiting for a request body nobody will read. Method: pipelined requests, an error response
//! queued behind a dispatched request, an aborted queued request and a non-persistent upload,
//! driven through the harness; the `Lost` ids and the close outputs are compared with literal
//! lists.

use super::harness::{bare, Harness};
use crate::{
    AppCommand, Config, Event, Input, Limits, Output, ProtocolErrorKind, RequestId, ResponseHead,
    Timer, TimerChange,
};

const R0: RequestId = RequestId::from_sequence(0);
const R1: RequestId = RequestId::from_sequence(1);

fn depth(n: usize) -> Config {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = n;
    Config { limits, ..bare() }
}

/// The ids of every `Event::Lost`, in order.
fn lost_ids(h: &Harness) -> Vec<RequestId> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Lost { id } => Some(*id),
            _ => None,
        })
        .collect()
}

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
