//! Goal: when a response becomes the last on the connection (HTTP/1.0, or the app's
//! `Connection: close`), its own request body, which the app is reading, is still delivered
//! to the end while the response streams; the body of a later request is given up at once: no
//! more of it is read as a body and no body timer runs for it. Method: an HTTP/1.0 upload
//! answered while it arrives, and depth 2 with a queued upload behind a `Connection: close`
//! response; body bytes, events, timers and response bytes are compared with literal values.

use super::harness::{bare, Harness, R0, R1};
use crate::{
    AppCommand, Config, Duration, Event, Limits, Output, RequestId, ResponseHead, Timer,
    TimerChange,
};

fn body_ends(h: &Harness, id: RequestId) -> usize {
    h.events()
        .into_iter()
        .filter(|e| matches!(e, Event::BodyEnd { id: i } if *i == id))
        .count()
}

fn body_timer_set(h: &Harness) -> usize {
    h.log
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Timer {
                    timer: Timer::BodyRead,
                    change: TimerChange::Set(_)
                }
            )
        })
        .count()
}

/// The echo shape: the app answers an HTTP/1.0 upload as soon as it starts reading it.
#[test]
fn the_last_responses_own_body_is_still_delivered() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.0\r\nContent-Length: 10\r\n\r\n01234");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 10,
    })
    .unwrap();
    let head = ResponseHead::new(200).with_header("Content-Length", "10");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "01234".into(),
    })
    .unwrap();
    h.send("56789");
    assert_eq!(h.body(R0), b"0123456789");
    assert_eq!(body_ends(&h, R0), 1);
    h.app(AppCommand::SendBody {
        request: R0,
        data: "56789".into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789"
    );
    assert!(h.shut_down());
}

/// Depth 2: request 1's upload is arriving when request 0's response says `Connection: close`.
/// Request 1 is lost at once; the rest of its body is not read as a body, so no body timer
/// runs against it while request 0's response is still open.
#[test]
fn a_later_requests_body_is_given_up_when_the_last_response_starts() {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = 2;
    let mut h = Harness::new(Config { limits, ..bare() });
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
    assert_eq!(body_timer_set(&h), 1, "request 1's body is awaited");
    let head = ResponseHead::new(200)
        .with_header("Content-Length", "1")
        .with_header("Connection", "close");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    let lost: Vec<_> = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Lost { .. }))
        .cloned()
        .collect();
    assert_eq!(lost, [Event::Lost { id: R1 }]);
    // More of the body, not all of it: what is left would be awaited if it were still read.
    h.send("567");
    assert_eq!(h.body(R1), b"01234");
    h.advance(Duration::from_secs(120));
    assert_eq!(
        body_timer_set(&h),
        1,
        "no body timer once request 1 is given up"
    );
    assert_eq!(h.protocol_errors(), []);
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
    assert!(h.shut_down());
}
