//! Goal: a drain (server shutdown) that comes while a request body is arriving lets that body
//! finish: the app still gets every byte and `BodyEnd`, answers, and the connection then
//! closes without a lingering close; bytes after the body are never parsed. Method: a
//! Content-Length upload split around `AppCommand::Drain`, followed by a pipelined request,
//! and literal body bytes, events and response bytes.

use super::harness::{bare, Harness, R0};
use crate::{AppCommand, CloseReason, Event, ResponseHead};

#[test]
fn a_drain_lets_the_body_in_flight_finish() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 10,
    })
    .unwrap();
    h.app(AppCommand::Drain).unwrap();
    assert_eq!(h.closed(), None);
    h.send("56789GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.body(R0), b"0123456789");
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::BodyEnd { id: R0 })));
    assert_eq!(h.request_ids(), [R0], "nothing after the body is parsed");
    let head = ResponseHead::new(200).with_header("Content-Length", "2");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "ok".into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
    assert!(
        !h.shut_down(),
        "no lingering close while the server shuts down"
    );
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}
