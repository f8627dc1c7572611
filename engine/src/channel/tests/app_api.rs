//! Goal: the app commands that mirror Twisted's request-side methods keep the semantics their
//! doc comments promise: `Close` (`loseConnection`) at every point of a response and of a
//! pipeline, `SendBodyParts` (`writeSequence`) as one all-or-nothing write, app-sent 1xx
//! (`writeIntermediateResponse`), a producer handed over mid-response, and `Abort` from every
//! state. Method: literal wire bytes, events, producer reports and command results.

use super::harness::{answer, bare, depth, lost_ids, Harness, R0, R1};
use crate::{
    AppCommand, CloseReason, Event, ProducerKind, ProducerState, RequestId, ResponseHead,
    TransportState, UsageError,
};

const R2: RequestId = RequestId::from_sequence(2);

const GET: &str = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";

fn head(h: &mut Harness, id: RequestId, content_length: Option<usize>) {
    let mut head = ResponseHead::new(200);
    if let Some(n) = content_length {
        head = head.with_header("Content-Length", n.to_string());
    }
    h.app(AppCommand::SendHead { request: id, head }).unwrap();
}

fn body(h: &mut Harness, id: RequestId, data: &'static str) -> Result<(), UsageError> {
    h.app(AppCommand::SendBody {
        request: id,
        data: data.into(),
    })
}

#[test]
fn close_before_the_head_writes_nothing_and_closes() {
    // Twisted's ShutdownTests.test_losingConnection: output b"", the connection disconnecting.
    let mut h = Harness::new(bare());
    h.send(GET);
    h.app(AppCommand::Close { request: R0 }).unwrap();
    assert_eq!(h.take_wire(), "");
    assert!(h.shut_down());
    assert_eq!(
        h.app(AppCommand::SendHead {
            request: R0,
            head: ResponseHead::new(200),
        }),
        Err(UsageError::RequestLost)
    );
    assert_eq!(lost_ids(&h), [], "the app closed it itself");
}

#[test]
fn close_mid_body_flushes_what_was_sent_then_closes() {
    let mut h = Harness::new(bare());
    h.send(GET);
    head(&mut h, R0, None);
    body(&mut h, R0, "part").unwrap();
    h.app(AppCommand::Close { request: R0 }).unwrap();
    // Chunked without its last chunk: the client sees the response cut short.
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npart\r\n"
    );
    assert!(h.shut_down());
    assert_eq!(h.closed(), None, "a graceful close lingers first");
    assert_eq!(body(&mut h, R0, "more"), Err(UsageError::RequestLost));
}

#[test]
fn close_while_blocked_keeps_the_bytes_already_handed_out() {
    let mut h = Harness::new(bare());
    h.send(GET);
    head(&mut h, R0, Some(10));
    h.transport(TransportState::Blocked);
    body(&mut h, R0, "01234").unwrap();
    h.app(AppCommand::Close { request: R0 }).unwrap();
    // Unlike `Abort`, nothing handed to the driver is taken back: it is written, then FIN.
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"
    );
    assert!(h.shut_down());
    assert_ne!(h.closed(), Some(CloseReason::Abort));
}

#[test]
fn close_on_a_finished_request_loses_the_ones_after_it() {
    let mut h = Harness::new(depth(2));
    h.send(format!("{GET}{GET}{GET}{GET}"));
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R0, "a");
    // R0 is retired; R1 and R2 are dispatched, the fourth request waits for room.
    assert_eq!(h.request_ids(), [R0, R1, R2]);
    h.app(AppCommand::Close { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
    );
    assert!(h.shut_down());
    assert_eq!(lost_ids(&h), [R1, R2]);
    assert_eq!(h.request_ids(), [R0, R1, R2], "the fourth is never read");
}

#[test]
fn close_behind_another_response_lets_it_finish_first() {
    let mut h = Harness::new(depth(3));
    h.send(format!("{GET}{GET}{GET}"));
    assert_eq!(h.request_ids(), [R0, R1, R2]);
    answer(&mut h, R1, "b");
    h.app(AppCommand::Close { request: R1 }).unwrap();
    assert_eq!(lost_ids(&h), [R2]);
    assert!(!h.shut_down(), "R0 is not answered yet");
    answer(&mut h, R0, "a");
    // R1, queued and complete, is still written in full after R0. R0's head does not say
    // `Connection: close`: the close was asked for on R1, which had already sent its head.
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
         HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
    );
    assert!(h.shut_down());
}

#[test]
fn parts_are_one_chunk_and_all_or_nothing() {
    let mut h = Harness::new(bare());
    h.send(GET);
    head(&mut h, R0, None);
    let parts = vec!["Hello".into(), "".into(), ", world!".into()];
    h.app(AppCommand::SendBodyParts { request: R0, parts })
        .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nHello, world!\r\n0\r\n\r\n"
    );

    h.send(GET);
    head(&mut h, R1, Some(6));
    let parts = vec!["abc".into(), "defg".into()];
    assert_eq!(
        h.app(AppCommand::SendBodyParts { request: R1, parts }),
        Err(UsageError::BodyTooLong)
    );
    let parts = vec!["abc".into(), "def".into()];
    h.app(AppCommand::SendBodyParts { request: R1, parts })
        .unwrap();
    h.app(AppCommand::Finish { request: R1 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef"
    );
}

#[test]
fn early_hints_precede_the_final_head_and_not_after_it() {
    let mut h = Harness::new(bare());
    h.send(GET);
    let hints = ResponseHead::new(103).with_header("Link", "</style.css>; rel=preload");
    h.app(AppCommand::SendInformational {
        request: R0,
        head: hints.clone(),
    })
    .unwrap();
    answer(&mut h, R0, "ok");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    );

    h.send(GET);
    head(&mut h, R1, None);
    assert_eq!(
        h.app(AppCommand::SendInformational {
            request: R1,
            head: hints,
        }),
        Err(UsageError::HeadAlreadySent)
    );
    assert_eq!(
        h.app(AppCommand::SendInformational {
            request: R1,
            head: ResponseHead::new(101),
        }),
        Err(UsageError::InvalidStatus)
    );
}

#[test]
fn early_hints_are_dropped_for_http_1_0() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.0\r\n\r\n");
    h.app(AppCommand::SendInformational {
        request: R0,
        head: ResponseHead::new(103),
    })
    .unwrap();
    answer(&mut h, R0, "ok");
    assert_eq!(
        h.take_wire(),
        // The status line says 1.1, the version the server speaks (web2, RFC 9110 §2.5).
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

#[test]
fn a_producer_handed_over_mid_response_gets_its_own_reports() {
    let mut h = Harness::new(bare());
    h.send(GET);
    head(&mut h, R0, None);
    let push = ProducerKind::Push;
    h.app(AppCommand::RegisterProducer {
        request: R0,
        kind: push,
    })
    .unwrap();
    assert_eq!(
        h.app(AppCommand::RegisterProducer {
            request: R0,
            kind: ProducerKind::Pull,
        }),
        Err(UsageError::ProducerAlreadyRegistered)
    );
    body(&mut h, R0, "push").unwrap();
    h.app(AppCommand::UnregisterProducer { request: R0 })
        .unwrap();
    // Unregistered without a `Stopped` (Twisted's unregisterProducer does not stop it): the
    // app took it back. A new producer is told its state at once, and a pull one is asked.
    h.app(AppCommand::RegisterProducer {
        request: R0,
        kind: ProducerKind::Pull,
    })
    .unwrap();
    let pulls = |h: &Harness| {
        h.events()
            .into_iter()
            .filter(|e| matches!(e, Event::Pull { id: R0 }))
            .count()
    };
    assert_eq!(pulls(&h), 1);
    body(&mut h, R0, "pull").unwrap();
    assert_eq!(pulls(&h), 2);
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.producer_states(R0),
        [
            ProducerState::Producing,
            ProducerState::Producing,
            ProducerState::Stopped
        ]
    );
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
         4\r\npush\r\n4\r\npull\r\n0\r\n\r\n"
    );
}

#[test]
fn abort_from_every_state_closes_at_once() {
    // Before the head, mid-body, paused, with a pull outstanding, mid-upload.
    type Setup = fn(&mut Harness);
    let setups: [(&str, Setup); 5] = [
        ("before the head", |_| {}),
        ("mid-body", |h| {
            head(h, R0, None);
            body(h, R0, "x").unwrap();
        }),
        ("paused", |h| {
            head(h, R0, None);
            let kind = ProducerKind::Push;
            h.app(AppCommand::RegisterProducer { request: R0, kind })
                .unwrap();
            h.transport(TransportState::Blocked);
        }),
        ("pull outstanding", |h| {
            head(h, R0, None);
            let kind = ProducerKind::Pull;
            h.app(AppCommand::RegisterProducer { request: R0, kind })
                .unwrap();
        }),
        ("mid-upload", |h| {
            h.app(AppCommand::Consume {
                request: R0,
                bytes: 100,
            })
            .unwrap();
            h.send("012");
        }),
    ];
    for (state, setup) in setups {
        let mut h = Harness::new(bare());
        h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n");
        setup(&mut h);
        h.app(AppCommand::Abort { request: R0 }).unwrap();
        assert_eq!(h.closed(), Some(CloseReason::Abort), "{state}");
        assert_eq!(
            body(&mut h, R0, "late"),
            Err(UsageError::RequestLost),
            "{state}"
        );
    }
}

#[test]
fn a_retired_response_cannot_be_aborted() {
    let mut h = Harness::new(bare());
    h.send(GET);
    answer(&mut h, R0, "a");
    assert_eq!(
        h.app(AppCommand::Abort { request: R0 }),
        Err(UsageError::AlreadyFinished)
    );
    assert_eq!(h.closed(), None);
}

#[test]
fn close_is_refused_for_an_unknown_request() {
    let mut h = Harness::new(bare());
    h.send(GET);
    assert_eq!(
        h.app(AppCommand::Close { request: R1 }),
        Err(UsageError::UnknownRequest)
    );
    assert!(!h.shut_down());
}

#[test]
fn respond_is_the_three_commands_in_one_input() {
    // The same wire as SendHead, SendBody, Finish; a keep-alive connection goes on.
    let mut h = Harness::new(bare());
    h.send(GET);
    let head = ResponseHead::new(200).with_header("Content-Length", "5");
    let body = "hello".into();
    h.app(AppCommand::Respond {
        request: R0,
        head,
        body,
    })
    .unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    );

    // No Content-Length and an empty body: the channel frames it, chunked, with no chunk.
    h.send(GET);
    let head = ResponseHead::new(204);
    let body = bytes::Bytes::new();
    h.app(AppCommand::Respond {
        request: R1,
        head,
        body,
    })
    .unwrap();
    assert_eq!(h.take_wire(), "HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(
        h.app(AppCommand::Finish { request: R1 }),
        Err(UsageError::AlreadyFinished)
    );
}

#[test]
fn a_refused_respond_changes_nothing() {
    // Every check of SendHead, SendBody and Finish runs first: a refusal writes nothing, and
    // the request can still be answered.
    let mut h = Harness::new(bare());
    h.send(GET);
    let cases = [
        (
            ResponseHead::new(200).with_header("Transfer-Encoding", "chunked"),
            "x",
            UsageError::FramingHeader,
        ),
        (ResponseHead::new(103), "", UsageError::InvalidStatus),
        (
            ResponseHead::new(200).with_header("Content-Length", "2"),
            "abc",
            UsageError::BodyTooLong,
        ),
        (
            ResponseHead::new(200).with_header("Content-Length", "4"),
            "abc",
            UsageError::BodyTooShort,
        ),
    ];
    for (head, body, error) in cases {
        let refused = h.app(AppCommand::Respond {
            request: R0,
            head,
            body: body.into(),
        });
        assert_eq!(refused, Err(error));
        assert_eq!(h.take_wire(), "");
    }
    let head = ResponseHead::new(200).with_header("Content-Length", "3");
    h.app(AppCommand::Respond {
        request: R0,
        head,
        body: "abc".into(),
    })
    .unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    );
    let head = ResponseHead::new(200);
    let again = h.app(AppCommand::Respond {
        request: R0,
        head,
        body: "abc".into(),
    });
    assert_eq!(again, Err(UsageError::AlreadyFinished));
}
