//! Persistence: HTTP/1.0 and 1.1, `Connection` tokens, half-close, lingering close, drain.

use super::harness::{answer, bare, consume, count, Harness, R0, R1};
use crate::{AppCommand, CloseReason, Event, RequestId};

/// Twisted case 1 (`HTTP1_0Tests.test_buffer`), byte by byte: HTTP/1.0 without keep-alive
/// answers once and drops the pipelined second request.
#[test]
fn http10_answers_once() {
    let mut h = Harness::dummy(bare());
    h.send_bytewise("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nAccept: text/html\r\n\r\n");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nRequest: /\r\nCommand: GET\r\nVersion: HTTP/1.0\r\n\
            Content-Length: 13\r\n\
         Connection: close\r\n\r\n'''\nNone\n'''\n"
    );
    assert!(h.shut_down());
}

/// web2 case 56 (`testHTTP1_0_keepalive`): a 1.0 client with keep-alive gets
/// `Connection: keep-alive`; its second, non-persistent request ends the connection.
#[test]
fn http10_keep_alive() {
    let mut h = Harness::dummy(bare());
    h.send(
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /two HTTP/1.0\r\n\r\n\
        GET /three HTTP/1.0\r\n\r\n",
    );
    let wire = h.take_wire();
    assert_eq!(
        h.request_ids(),
        [RequestId::from_sequence(0), RequestId::from_sequence(1)],
        "/three is never read"
    );
    let (first, second) = wire.split_at(wire.find("HTTP/1.1 200 OK\r\nRequest: /two").unwrap());
    assert!(first.contains("\r\nConnection: keep-alive\r\n"), "{first}");
    assert!(second.contains("\r\nConnection: close\r\n"), "{second}");
    assert!(h.shut_down());
}

/// Twisted case 3 (`HTTP1_1_close_Tests`) and 32: `Connection: close` answers once, with the
/// header, and drops what follows.
#[test]
fn connection_close_is_honoured() {
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    let wire = h.take_wire();
    assert_eq!(count(&wire, "HTTP/1.1 200"), 1);
    assert!(wire.contains("\r\nConnection: close\r\n"));
}

/// Twisted case 39, deliberately different: `Connection: close,TE` is a token list containing
/// `close` (RFC 9110 §7.6.1); Twisted split on spaces and stayed persistent.
#[test]
fn connection_tokens_are_a_comma_list() {
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close,TE\r\n\r\n");
    assert!(h.take_wire().contains("\r\nConnection: close\r\n"));
    assert!(h.shut_down());
}

/// web2 case 60 (`testConnectionCloseRequested`): `close` on the second pipelined request
/// marks only the second response.
#[test]
fn close_on_a_later_request_marks_only_its_response() {
    let mut h = Harness::dummy(bare());
    h.send(
        "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    let wire = h.take_wire();
    let second = wire.find("HTTP/1.1 200 OK\r\nRequest: /2").unwrap();
    assert!(!wire[..second].contains("Connection"));
    assert!(wire[second..].contains("\r\nConnection: close\r\n"));
}

/// Half-close (web2, which Twisted lost): a FIN after complete requests still gets every
/// response, then the connection closes without lingering (the peer is already done).
#[test]
fn fin_after_complete_requests_gets_the_responses() {
    let mut h = Harness::dummy(bare());
    h.auto = super::harness::AutoAnswer::Off;
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    h.send_eof();
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    for i in 0..2 {
        let id = RequestId::from_sequence(i);
        let head = crate::ResponseHead::new(200).with_header("Content-Length", "1");
        h.app(AppCommand::SendHead { request: id, head }).unwrap();
        h.app(AppCommand::SendBody {
            request: id,
            data: "x".into(),
        })
        .unwrap();
        assert_eq!(h.closed(), None, "still answering");
        h.app(AppCommand::Finish { request: id }).unwrap();
    }
    let wire = h.take_wire();
    assert_eq!(count(&wire, "HTTP/1.1 200 OK"), 2);
    assert!(
        wire.ends_with("Connection: close\r\n\r\nx"),
        "the last response says so: {wire}"
    );
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert!(!h.shut_down(), "no lingering after the peer's FIN");
}

/// A FIN in the middle of a body is a connection loss for that request.
#[test]
fn fin_mid_body_loses_the_request() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    h.app(AppCommand::Consume {
        request: RequestId::from_sequence(0),
        bytes: 100,
    })
    .unwrap();
    h.send_eof();
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::Lost { id } if id.sequence() == 0)));
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(h.take_wire(), "");
}

/// A FIN in the middle of a head: nobody to answer, the connection closes.
#[test]
fn fin_mid_head_closes_silently() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHo");
    h.send_eof();
    assert_eq!(h.request_ids(), []);
    assert_eq!(h.take_wire(), "");
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// web2 case 62 (`testLingeringClose`): an error answered while the client keeps uploading;
/// the channel shuts down its write side, discards the upload, and closes on the client's FIN.
#[test]
fn lingering_close_discards_the_upload() {
    let mut h = Harness::new(bare());
    h.send("POST /error HTTP/1.0\r\nContent-Length: 1000000\r\n\r\n");
    let head = crate::ResponseHead::new(402).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead {
        request: RequestId::from_sequence(0),
        head,
    })
    .unwrap();
    h.app(AppCommand::Finish {
        request: RequestId::from_sequence(0),
    })
    .unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 402 Payment Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(h.shut_down());
    h.send(vec![b'X'; 1_000_000]);
    assert_eq!(h.pending_len(), 0, "the whole upload is read and discarded");
    assert_eq!(h.closed(), None);
    h.send_eof();
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// A drain (server shutdown) finishes the request in flight, then closes at once, without a
/// lingering close; it marks the last response `Connection: close`.
#[test]
fn drain_finishes_in_flight_requests() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.app(AppCommand::Drain).unwrap();
    assert_eq!(h.closed(), None);
    let head = crate::ResponseHead::new(200).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead {
        request: RequestId::from_sequence(0),
        head,
    })
    .unwrap();
    h.app(AppCommand::Finish {
        request: RequestId::from_sequence(0),
    })
    .unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(!h.shut_down(), "no lingering while the server shuts down");
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// Idle connections drain at once.
#[test]
fn drain_closes_an_idle_connection() {
    let mut h = Harness::new(bare());
    h.app(AppCommand::Drain).unwrap();
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// The lingering close discards at most `linger_bytes_max`, then closes.
#[test]
fn lingering_close_is_bounded() {
    let mut limits = crate::Limits::default();
    limits.linger_bytes_max = 1000;
    let mut h = Harness::new(crate::Config { limits, ..bare() });
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
    let head = crate::ResponseHead::new(413).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead {
        request: RequestId::from_sequence(0),
        head,
    })
    .unwrap();
    h.app(AppCommand::Finish {
        request: RequestId::from_sequence(0),
    })
    .unwrap();
    assert!(h.shut_down());
    h.send(vec![b'x'; 999]);
    assert_eq!(h.closed(), None);
    h.send("xx");
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(h.pending_len(), 1, "nothing past the budget is read");
}

/// The app reads part of a body, then answers and finishes before the rest has arrived. The
/// response promised persistence (no `Connection: close`), so the rest of the body is read and
/// dropped and the connection goes on (DESIGN.md §2 Persistence; RFC 9112 §9.6). (A bug once:
/// the channel closed without saying so.)
#[test]
fn a_response_finished_before_its_body_ends_keeps_the_connection() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    consume(&mut h, R0, 5);
    assert_eq!(h.body(R0), b"01234");
    answer(&mut h, R0, "ok");
    let wire = h.take_wire();
    assert!(!wire.contains("Connection: close"), "{wire:?}");
    assert!(
        !h.shut_down() && h.closed().is_none(),
        "the connection goes on"
    );
    h.send("56789GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    assert_eq!(h.body(R0), b"01234", "the rest was dropped, not delivered");
}
