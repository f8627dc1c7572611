//! Single requests: framing of requests and responses (and heads that must not be framed),
//! 100-continue, body credit and limits, HEAD, and misuse refused without effect.

use super::harness::{answer, bare, body, consume, count, depth, finish, head, Harness, R0, R1};
use crate::{
    AppCommand, BodyLength, CloseReason, Config, Event, Limits, RequestId, ResponseHead, UsageError,
};

fn respond(h: &mut Harness, id: RequestId, head: ResponseHead, body: &'static str) {
    h.app(AppCommand::SendHead { request: id, head }).unwrap();
    h.app(AppCommand::SendBody {
        request: id,
        data: body.into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: id }).unwrap();
}

#[test]
fn a_get_is_answered_and_the_connection_stays_open() {
    let mut h = Harness::new(bare());
    h.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    respond(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "2"),
        "ok",
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    );
    assert_eq!(h.closed(), None);
    assert!(!h.shut_down());
}

/// Twisted case 29 (`test_chunkedResponses`): no Content-Length on HTTP/1.1 → chunked.
#[test]
fn unknown_length_is_chunked_for_http11() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.app(AppCommand::SendHead {
        request: R0,
        head: ResponseHead::new(200).with_header("test", "lemur"),
    })
    .unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "Hello".into(),
    })
    .unwrap();
    h.app(AppCommand::SendBody {
        request: R0,
        data: "World!".into(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\ntest: lemur\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nHello\r\n6\r\nWorld!\r\n0\r\n\r\n"
    );
}

/// Twisted case 30 / web2 case 55: HTTP/1.0 with no length is close-delimited. twine's status
/// line says HTTP/1.1 (RFC 9110 §2.5, as web2), where Twisted echoed HTTP/1.0.
#[test]
fn unknown_length_closes_for_http10() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    respond(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Test", "lemur"),
        "Hello",
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nTest: lemur\r\nConnection: close\r\n\r\nHello"
    );
    assert!(h.shut_down());
}

/// Twisted case 39: HEAD keeps the app's Content-Length and sends no body; 204 and 304 are
/// head only.
#[test]
fn head_204_and_304_have_no_body() {
    let mut h = Harness::new(bare());
    h.send("HEAD /cl HTTP/1.1\r\nHost: h\r\n\r\n");
    respond(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "2"),
        "ok",
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    );
    for (i, status) in [(1, 204), (2, 304)] {
        h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        respond(
            &mut h,
            RequestId::from_sequence(i),
            ResponseHead::new(status),
            "dropped",
        );
        let reason = if status == 204 {
            "No Content"
        } else {
            "Not Modified"
        };
        assert_eq!(h.take_wire(), format!("HTTP/1.1 {status} {reason}\r\n\r\n"));
    }
    assert_eq!(h.closed(), None);
}

#[test]
fn body_arrives_only_against_credit() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(h.heads[0].1.body, BodyLength::Known(10));
    assert_eq!(h.body(R0), b"");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 4,
    })
    .unwrap();
    assert_eq!(h.body(R0), b"0123");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 100,
    })
    .unwrap();
    assert_eq!(h.body(R0), b"0123456789");
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::BodyEnd { id: R0 })));
}

/// Twisted case 26: a chunked HTTP/1.0 body is decoded (and, RFC 9112 §6.1, the connection
/// closes after it).
#[test]
fn chunked_http10_body_is_decoded() {
    let mut h = Harness::dummy(bare());
    h.send(
        "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n\
         6\r\nHello,\r\n14\r\n spam,eggs spam spam\r\n0\r\n\r\n",
    );
    assert_eq!(h.body(R0), b"Hello, spam,eggs spam spam");
    assert!(h.take_wire().contains("Connection: close\r\n"));
}

/// web2 case 58: chunk extensions and trailers are accepted and ignored.
#[test]
fn chunked_upload_with_extensions_and_trailers() {
    let mut h = Harness::dummy(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nInput\r\n");
    h.send("1; blahblahblah\r\na\r\n10\r\nabcdefghijklmnop\r\n");
    h.send("0\r\nRandom-Ignored-Trailer: foo\r\n\r\n");
    assert_eq!(h.body(R0), b"Inputaabcdefghijklmnop");
    assert!(h
        .take_wire()
        .ends_with("'''\nNone\nInputaabcdefghijklmnop'''\n"));
}

/// Twisted case 33 (`test_expect100ContinueHeader`), made lazy as web2 (case 59): nothing is
/// sent until the app asks for the body.
#[test]
fn expect_continue_is_lazy() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    assert!(h.heads[0].1.expect_continue);
    assert_eq!(h.take_wire(), "");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 3,
    })
    .unwrap();
    assert_eq!(h.take_wire(), "HTTP/1.1 100 Continue\r\n\r\n");
    h.send("abc");
    assert_eq!(h.body(R0), b"abc");
    respond(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "0"),
        "",
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(h.closed(), None);
}

/// Twisted case 33 (`test_HTTP10`): never a 100 for HTTP/1.0.
#[test]
fn expect_continue_is_ignored_for_http10() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 3,
    })
    .unwrap();
    assert_eq!(h.take_wire(), "");
}

/// web2 case 59 (`…_early_reply`): answering before reading the body closes the connection.
#[test]
fn early_reply_closes_and_discards_the_body() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    respond(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "6"),
        "Output",
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nOutput"
    );
    assert!(h.shut_down(), "lingering close");
    h.send("Input and then much more than the declared body");
    assert_eq!(h.body(R0), b"", "the body is discarded");
    h.send_eof();
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

#[test]
fn informational_responses() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let hints = ResponseHead::new(103).with_header("Link", "</s.css>; rel=preload");
    h.app(AppCommand::SendInformational {
        request: R0,
        head: hints,
    })
    .unwrap();
    assert_eq!(
        h.app(AppCommand::SendInformational {
            request: R0,
            head: ResponseHead::new(101)
        }),
        Err(UsageError::InvalidStatus)
    );
    assert_eq!(
        h.app(AppCommand::SendHead {
            request: R0,
            head: ResponseHead::new(100)
        }),
        Err(UsageError::InvalidStatus)
    );
    respond(&mut h, R0, ResponseHead::new(204), "");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n"
    );
}

/// Twisted case 36 and the misuse classes: every mistake is a typed error and writes nothing.
#[test]
fn misuse_is_refused_without_writing() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let data = || bytes::Bytes::from_static(b"x");
    assert_eq!(
        h.app(AppCommand::SendBody {
            request: R0,
            data: data()
        }),
        Err(UsageError::HeadNotSent)
    );
    assert_eq!(
        h.app(AppCommand::Finish { request: R0 }),
        Err(UsageError::HeadNotSent)
    );
    let bad = ResponseHead::new(200).with_header("X", "a\r\nInjected: 1");
    assert_eq!(
        h.app(AppCommand::SendHead {
            request: R0,
            head: bad
        }),
        Err(UsageError::InvalidHeader)
    );
    assert_eq!(
        h.app(AppCommand::SendHead {
            request: RequestId::from_sequence(7),
            head: ResponseHead::new(200)
        }),
        Err(UsageError::UnknownRequest)
    );
    assert_eq!(h.take_wire(), "");
    let head = ResponseHead::new(200).with_header("Content-Length", "1");
    h.app(AppCommand::SendHead {
        request: R0,
        head: head.clone(),
    })
    .unwrap();
    assert_eq!(
        h.app(AppCommand::SendHead { request: R0, head }),
        Err(UsageError::HeadAlreadySent)
    );
    assert_eq!(
        h.app(AppCommand::Finish { request: R0 }),
        Err(UsageError::BodyTooShort)
    );
    let two = bytes::Bytes::from_static(b"xy");
    assert_eq!(
        h.app(AppCommand::SendBody {
            request: R0,
            data: two
        }),
        Err(UsageError::BodyTooLong)
    );
    let push = crate::ProducerKind::Push;
    h.app(AppCommand::RegisterProducer {
        request: R0,
        kind: push,
    })
    .unwrap();
    assert_eq!(
        h.app(AppCommand::RegisterProducer {
            request: R0,
            kind: push
        }),
        Err(UsageError::ProducerAlreadyRegistered)
    );
    h.app(AppCommand::SendBody {
        request: R0,
        data: data(),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    // The exchange left the queue: later commands are refused as finished.
    assert_eq!(
        h.app(AppCommand::SendBody {
            request: R0,
            data: data()
        }),
        Err(UsageError::AlreadyFinished)
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
    );
}

/// Twisted case 36: after the connection is lost, commands report it.
#[test]
fn commands_after_connection_loss_report_it() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let now = h.now;
    h.input(crate::Input::ConnectionLost { now });
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::Lost { id: R0 })));
    assert_eq!(h.closed(), Some(CloseReason::Abort));
    assert_eq!(
        h.app(AppCommand::Finish { request: R0 }),
        Err(UsageError::RequestLost)
    );
}

#[test]
fn date_and_server_are_added_unless_the_app_set_them() {
    let mut h = Harness::new(crate::Config::new().with_date_origin(784_111_777));
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    respond(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "0"),
        "",
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
            Server: twine\r\n\r\n"
    );
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = ResponseHead::new(200)
        .with_header("Server", "mine")
        .with_header("Content-Length", "0");
    respond(&mut h, RequestId::from_sequence(1), head, "");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nServer: mine\r\nContent-Length: 0\r\n\
            Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    );
}

/// Twisted case 39 deliberately differs: Twisted sent `100 Continue` for every HTTP/1.1
/// `Expect: 100-continue`, even with no body; twine sends it only when there is a body to ask
/// for (RFC 9110 §10.1.1 lets a server skip it when no body is coming).
#[test]
fn no_continue_without_a_body() {
    let mut h = Harness::dummy(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n");
    let wire = h.take_wire();
    assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"), "{wire}");
    assert!(!wire.contains("100 Continue"));
}

/// web2 case 55 (`testHTTP1_0`): a 1.0 request with a body, then a second request; only the
/// first is handled and the connection closes.
#[test]
fn http10_with_a_body_then_close() {
    let mut h = Harness::new(bare());
    h.send(
        "GET / HTTP/1.0\r\nContent-Length: 5\r\nHost: localhost\r\n\r\nInput\
         GET /two HTTP/1.0\r\n\r\n",
    );
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 5,
    })
    .unwrap();
    assert_eq!(h.body(R0), b"Input");
    let head = ResponseHead::new(200)
        .with_header("Yo", "One")
        .with_header("Yo", "Two");
    respond(&mut h, R0, head, "Output");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nYo: One\r\nYo: Two\r\nConnection: close\r\n\r\nOutput"
    );
    assert_eq!(h.request_ids(), [R0]);
    assert!(h.shut_down());
}

/// RFC 9110 §8.6: no Content-Length on a 204 (or a 1xx): the head is refused with
/// `UsageError::FramingHeader`. (A bug once: it was written as is.)
#[test]
fn a_204_with_a_content_length_is_refused() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let result = h.app(AppCommand::SendHead {
        request: R0,
        head: ResponseHead::new(204).with_header("Content-Length", "5"),
    });
    let wire = h.take_wire();
    assert!(
        result.is_err() || !wire.contains("Content-Length"),
        "{wire:?}"
    );
}

/// A 2xx to CONNECT would start a tunnel (RFC 9110 §9.3.6), which twine does not do: refused
/// with `UsageError::Unsupported`, never framed chunked (Twisted #9076).
#[test]
fn a_2xx_to_connect_is_refused() {
    let mut h = Harness::new(bare());
    h.send("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    let result = h.app(AppCommand::SendHead {
        request: R0,
        head: ResponseHead::new(200),
    });
    let wire = h.take_wire();
    assert!(
        result.is_err() || !wire.contains("Transfer-Encoding"),
        "{wire:?}"
    );
}

/// `Expect: 100-continue`: after the lazy 100 went out, an app's own 100 is not sent again (a
/// one-time signal, RFC 9110 §15.2.1). (A bug once: two went out.)
#[test]
fn only_one_100_continue() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    consume(&mut h, R0, 3);
    h.app(AppCommand::SendInformational {
        request: R0,
        head: ResponseHead::new(100),
    })
    .unwrap();
    let wire = h.take_wire();
    assert_eq!(count(&wire, "100 Continue"), 1, "{wire:?}");
}

/// Bad commands between good ones change nothing: the wire is the same as without them
/// (error.rs: "Nothing was written").
#[test]
fn misuse_between_good_commands_changes_nothing() {
    let run = |misuse: bool| {
        let mut h = Harness::new(depth(2));
        h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        let bad = |h: &mut Harness| {
            if !misuse {
                return;
            }
            for command in [
                AppCommand::SendBody {
                    request: R0,
                    data: "x".into(),
                },
                AppCommand::Finish { request: R0 },
                AppCommand::SendHead {
                    request: R0,
                    head: ResponseHead::new(200).with_header("A", "b\nc"),
                },
                AppCommand::SendHead {
                    request: R0,
                    head: ResponseHead::new(99),
                },
                AppCommand::SendInformational {
                    request: R0,
                    head: ResponseHead::new(200),
                },
                AppCommand::SendHead {
                    request: RequestId::from_sequence(9),
                    head: ResponseHead::new(200),
                },
            ] {
                assert!(h.app(command).is_err());
            }
        };
        bad(&mut h);
        consume(&mut h, R0, 4);
        bad(&mut h);
        h.send("abcd");
        head(
            &mut h,
            R0,
            ResponseHead::new(200).with_header("Content-Length", "2"),
        );
        if misuse {
            let long = AppCommand::SendBody {
                request: R0,
                data: "xyz".into(),
            };
            assert_eq!(h.app(long), Err(UsageError::BodyTooLong));
            assert_eq!(
                h.app(AppCommand::Finish { request: R0 }),
                Err(UsageError::BodyTooShort)
            );
        }
        body(&mut h, R0, "ok");
        finish(&mut h, R0);
        (h.take_wire(), h.log.clone())
    };
    assert_eq!(run(true), run(false));
}

/// HEAD keeps the app's Content-Length, drops the body, and the connection stays in sync: the
/// next request is parsed from the right byte.
#[test]
fn head_with_a_length_and_a_body_stays_in_sync() {
    let mut h = Harness::new(bare());
    h.send("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    answer(&mut h, R0, "hello");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    );
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "x");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
    );
}

/// `body_bytes_max` with a chunked body whose size lines arrive split across reads: refused
/// with 413 once the sizes add up past the limit, whatever the split.
#[test]
fn chunked_body_limit_across_reads() {
    for bytewise in [false, true] {
        let mut limits = Limits::default();
        limits.body_bytes_max = Some(8);
        let mut h = Harness::dummy(Config { limits, ..bare() });
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5\r\nabcde\r\n4\r\nfghi\r\n0\r\n\r\n";
        if bytewise {
            h.send_bytewise(input);
        } else {
            h.send(input);
        }
        let wire = h.take_wire();
        assert!(wire.starts_with("HTTP/1.1 413 "), "{wire:?}");
        assert_eq!(h.body(R0), b"abcde");
    }
}
