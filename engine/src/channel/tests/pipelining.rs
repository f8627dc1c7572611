//! Pipelining: strict order of dispatch and responses, the eager-read bound, the CVE
//! regressions, and depth > 1 with out-of-order completion.

use super::harness::{bare, count, depth, AutoAnswer, Harness};
use crate::{AppCommand, ReadState, RequestId, ResponseHead, TransportState};

fn answer(h: &mut Harness, id: u64, body: &'static str) {
    let request = RequestId::from_sequence(id);
    let head = ResponseHead::new(200).with_header("Content-Length", body.len().to_string());
    h.app(AppCommand::SendHead { request, head }).unwrap();
    h.app(AppCommand::SendBody {
        request,
        data: body.into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request }).unwrap();
}

const FOUR: &str = "GET / HTTP/1.1\r\nHost: h\r\n\r\n\
    POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789\
    POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789\
    HEAD / HTTP/1.1\r\nHost: h\r\n\r\n";

/// Twisted case 2 (`HTTP1_1Tests`): four pipelined requests, four responses in order.
#[test]
fn four_pipelined_requests() {
    for bytewise in [false, true] {
        let mut h = Harness::dummy(bare());
        if bytewise {
            h.send_bytewise(FOUR);
        } else {
            h.send(FOUR);
        }
        let wire = h.take_wire();
        assert_eq!(count(&wire, "HTTP/1.1 200 OK\r\n"), 4);
        assert_eq!(
            count(&wire, "Content-Length: 21\r\n\r\n'''\n10\n0123456789'''\n"),
            2
        );
        assert!(wire.ends_with("Command: HEAD\r\nVersion: HTTP/1.1\r\nContent-Length: 13\r\n\r\n"));
    }
}

/// Twisted cases 5 and 8 (`test_noPipelining`, CVE-2023-46137): with depth 1 nothing after a
/// request is parsed or answered until its response finished, whether the next request came
/// in the same segment or byte by byte.
#[test]
fn one_request_at_a_time() {
    let input = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789\
                 POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                 a\r\n0123456789\r\n0\r\n\r\n";
    for bytewise in [false, true] {
        let mut h = Harness::new(bare());
        if bytewise {
            h.send_bytewise(input);
        } else {
            h.send(input);
        }
        assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
        assert_eq!(h.take_wire(), "");
        h.app(AppCommand::Consume {
            request: RequestId::from_sequence(0),
            bytes: 10,
        })
        .unwrap();
        assert_eq!(
            h.request_ids(),
            [RequestId::from_sequence(0)],
            "a complete body does not dispatch the next"
        );
        answer(&mut h, 0, "a");
        assert_eq!(
            h.request_ids(),
            [RequestId::from_sequence(0), RequestId::from_sequence(1)],
            "dispatched at once"
        );
        h.app(AppCommand::Consume {
            request: RequestId::from_sequence(1),
            bytes: 100,
        })
        .unwrap();
        assert_eq!(h.body(RequestId::from_sequence(1)), b"0123456789");
        answer(&mut h, 1, "b");
        assert_eq!(count(&h.take_wire(), "HTTP/1.1 200 OK"), 2);
    }
}

/// Twisted case 6 (`test_immediateDumpTruck` / `…ABiggerTruck`, CVE-2024-41671): many
/// requests in one read, answered synchronously, come back complete and in order.
#[test]
fn a_truck_of_requests_in_one_read() {
    let one = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789\
               POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
               a\r\n0123456789\r\n0\r\n\r\n";
    let copies = (16_384 / one.len()) * 10;
    let mut h = Harness::dummy(bare());
    h.send(one.repeat(copies));
    let wire = h.take_wire();
    let expected = "Content-Length: 21\r\n\r\n'''\n10\n0123456789'''\nHTTP/1.1 200 OK\r\n\
        Request: /\r\n\
                    Command: POST\r\nVersion: HTTP/1.1\r\nContent-Length: 23\r\n\r\n\
                    '''\nNone\n0123456789'''\n";
    assert_eq!(count(&wire, expected), copies);
    assert_eq!(h.request_ids().len(), 2 * copies);
}

/// Twisted case 7 (`test_pipeliningReadLimit`): while a request is handled, pipelined bytes are
/// buffered up to 16 KiB, then reading pauses. Deliberately: twine pauses when the buffer is
/// full (16384 bytes), Twisted only once it is over (16385), so the bound is never exceeded.
#[test]
fn eager_read_is_bounded() {
    let one = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    let fit = 16_384 / one.len();
    let mut h = Harness::new(bare());
    h.send(one.repeat(fit + 1));
    assert_eq!(h.request_ids().len(), 1);
    assert_eq!(h.reading(), ReadState::Resumed);
    h.send(one);
    assert_eq!(h.reading(), ReadState::Paused);
    assert!(h.pending_len() > 0, "the rest waits in the client");
    answer(&mut h, 0, "");
    assert_eq!(
        h.reading(),
        ReadState::Resumed,
        "room again once the buffer drained"
    );
    assert_eq!(h.request_ids().len(), 2);
}

/// Twisted case 40: a POST with no length has no body; what follows is the next request.
#[test]
fn bytes_after_a_bodiless_request_are_the_next_request() {
    let mut h = Harness::dummy(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\n\r\nGARBAGE\r\n\r\n");
    let wire = h.take_wire();
    assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(wire.contains("HTTP/1.1 400 Bad Request\r\n"));
    assert!(h.shut_down());
}

/// web2 case 61 (`PipelinedErrorTestCase`) and Twisted #4894: an error in a pipelined request
/// waits for the response before it, which is never corrupted.
#[test]
fn a_pipelined_error_waits_its_turn() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nBAD LINE\r\n\r\n");
    assert_eq!(h.take_wire(), "");
    let request = RequestId::from_sequence(0);
    h.app(AppCommand::SendHead {
        request,
        head: ResponseHead::new(200),
    })
    .unwrap();
    h.app(AppCommand::SendBody {
        request,
        data: "partial".into(),
    })
    .unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n"
    );
    h.app(AppCommand::Finish { request }).unwrap();
    let wire = h.take_wire();
    assert!(
        wire.starts_with("0\r\n\r\nHTTP/1.1 400 Bad Request\r\n"),
        "{wire}"
    );
    assert!(h.shut_down());
}

/// web2 case 57 (`testHTTP1_1_pipelining`) with depth 2: two dispatched at once, the third
/// after the first finished; a later response that finishes first waits, buffered.
#[test]
fn depth_two_orders_out_of_order_completion() {
    let mut h = Harness::new(depth(2));
    h.send(
        "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n\
        GET /three HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(
        h.request_ids(),
        [RequestId::from_sequence(0), RequestId::from_sequence(1)]
    );
    answer(&mut h, 0, "One");
    assert_eq!(
        h.request_ids(),
        [
            RequestId::from_sequence(0),
            RequestId::from_sequence(1),
            RequestId::from_sequence(2)
        ]
    );
    answer(&mut h, 2, "Three");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOne"
    );
    answer(&mut h, 1, "Two");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nTwo\
         HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nThree"
    );
}

/// With depth 2 a bad head is refused while the request before it is still being answered:
/// that response is not the connection's last (the 400 after it is), so it does not say
/// `Connection: close`; the 400 does, and the write side shuts after it. The bad head is no
/// request: the app hears only of request 0.
#[test]
fn a_refusal_behind_a_response_is_the_last_one() {
    let mut h = Harness::new(depth(2));
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nBAD LINE\r\n\r\n");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    assert_eq!(h.take_wire(), "");
    assert!(!h.shut_down());
    answer(&mut h, 0, "One");
    let wire = h.take_wire();
    assert!(
        wire.starts_with(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOne\
             HTTP/1.1 400 Bad Request\r\n"
        ),
        "{wire}"
    );
    assert_eq!(count(&wire, "Connection: close\r\n"), 1, "{wire}");
    assert!(h.shut_down());
}

/// Twisted #8868 and `test_HTTPChannelStaysPausedWhenRequestCompletes`: a blocked transport
/// pauses reading while idle, and finishing a request does not resume it.
#[test]
fn a_client_that_never_reads_cannot_pipeline_without_bound() {
    let mut h = Harness::new(bare());
    h.auto = AutoAnswer::Off;
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.transport(TransportState::Blocked);
    assert_eq!(
        h.reading(),
        ReadState::Resumed,
        "a request is in flight: eager read goes on"
    );
    answer(&mut h, 0, "x");
    assert_eq!(h.reading(), ReadState::Paused, "idle and blocked");
    h.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids().len(), 1);
    h.transport(TransportState::Writable);
    assert_eq!(h.reading(), ReadState::Resumed);
    assert_eq!(h.request_ids().len(), 2);
}
