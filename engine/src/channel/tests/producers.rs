//! The producer/consumer model (Twisted's `ChannelProductionTests`, made explicit): every
//! producer state change is an output, driven by the transport and the response queue.

use super::harness::{bare, body, finish, head, Harness, R0, R1};
use crate::{
    AppCommand, Config, Event, Limits, ProducerKind, ProducerState, ReadState, RequestId,
    ResponseHead, SendError, TransportState, UsageError,
};
use ProducerState::{Paused, Producing, Stopped};

fn streaming(h: &mut Harness, id: RequestId, kind: ProducerKind) {
    h.app(AppCommand::SendHead {
        request: id,
        head: ResponseHead::new(200),
    })
    .unwrap();
    h.app(AppCommand::RegisterProducer { request: id, kind })
        .unwrap();
}

/// `PropagatesProducingFromTransportToRequest`: the transport's pause and resume reach the
/// response producer, and finishing stops it.
#[test]
fn push_producer_follows_the_transport() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    streaming(&mut h, R0, ProducerKind::Push);
    h.transport(TransportState::Blocked);
    h.transport(TransportState::Blocked);
    h.transport(TransportState::Writable);
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.producer_states(R0),
        [Producing, Paused, Producing, Stopped]
    );
}

/// A producer registered while the transport is blocked starts paused (Twisted's pull
/// producers were not paused at once, `notes/twisted.md` 1.8; twine does not repeat that).
#[test]
fn registering_while_blocked_starts_paused() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.transport(TransportState::Blocked);
    streaming(&mut h, R0, ProducerKind::Push);
    assert_eq!(h.producer_states(R0), [Paused]);
}

/// `ToleratesPullProducers`: a pull producer is asked for one chunk at a time, and not while
/// the transport is blocked.
#[test]
fn pull_producer_is_asked_one_chunk_at_a_time() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    streaming(&mut h, R0, ProducerKind::Pull);
    let pulls = |h: &Harness| {
        h.events()
            .iter()
            .filter(|e| matches!(e, Event::Pull { .. }))
            .count()
    };
    assert_eq!(pulls(&h), 1);
    for i in 0..9u8 {
        h.app(AppCommand::SendBody {
            request: R0,
            data: vec![b'0' + i].into(),
        })
        .unwrap();
        assert_eq!(pulls(&h), usize::from(i) + 2);
    }
    h.transport(TransportState::Blocked);
    h.app(AppCommand::SendBody {
        request: R0,
        data: "9".into(),
    })
    .unwrap();
    assert_eq!(pulls(&h), 10, "no pull while blocked");
    h.transport(TransportState::Writable);
    assert_eq!(pulls(&h), 11);
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    let wire = h.take_wire();
    assert!(wire.ends_with(
        "1\r\n0\r\n1\r\n1\r\n1\r\n2\r\n1\r\n3\r\n1\r\n4\r\n1\r\n5\r\n1\r\n\
        6\r\n1\r\n7\r\n1\r\n8\r\n1\r\n9\r\n0\r\n\r\n"
    ));
}

/// While blocked, at most `send_buffer_bytes_max` more bytes are accepted; then `Blocked`.
#[test]
fn the_send_buffer_is_bounded_while_blocked() {
    let mut limits = Limits::default();
    limits.send_buffer_bytes_max = 10;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = ResponseHead::new(200).with_header("Content-Length", "100");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.transport(TransportState::Blocked);
    let chunk = || bytes::Bytes::from_static(b"0123456789");
    h.app(AppCommand::SendBody {
        request: R0,
        data: chunk(),
    })
    .unwrap();
    assert_eq!(
        h.app(AppCommand::SendBody {
            request: R0,
            data: chunk()
        }),
        Err(UsageError::Send(SendError::Blocked))
    );
    h.transport(TransportState::Writable);
    h.app(AppCommand::SendBody {
        request: R0,
        data: chunk(),
    })
    .unwrap();
}

/// With depth > 1 a response that is not at the front is buffered up to the bound, its
/// producer paused until it reaches the front.
#[test]
fn a_queued_response_pauses_at_the_bound() {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = 2;
    limits.send_buffer_bytes_max = 8;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    let r1 = RequestId::from_sequence(1);
    streaming(&mut h, r1, ProducerKind::Push);
    assert_eq!(
        h.producer_states(r1),
        [Paused],
        "the head alone fills the queue bound"
    );
    let head = ResponseHead::new(200).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.producer_states(r1),
        [Paused, Producing],
        "at the front it produces"
    );
    let wire = h.take_wire();
    assert!(
        wire.ends_with("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
        "{wire}"
    );
}

/// Twisted case 35 (`test_finishCleansConnection`), with a tiny eager-read bound: reading
/// pauses while the request is handled and resumes once it finished.
#[test]
fn finishing_resumes_reading() {
    let mut limits = Limits::default();
    limits.recv_buffer_bytes_max = 4;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("GET /path HTTP/1.1\r\nHost: h\r\n\r\nGET ");
    assert_eq!(h.reading(), ReadState::Paused);
    let head = ResponseHead::new(200).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(h.reading(), ReadState::Resumed);
}

/// Request-body backpressure: without credit the body stays in the buffer and reading pauses
/// at the bound; credit resumes it.
#[test]
fn request_body_waits_for_credit() {
    let mut limits = Limits::default();
    limits.recv_buffer_bytes_max = 1024;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4096\r\n\r\n");
    h.send(vec![b'x'; 4096]);
    assert_eq!(h.reading(), ReadState::Paused);
    assert_eq!(h.body(R0).len(), 0);
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 4096,
    })
    .unwrap();
    assert_eq!(h.body(R0).len(), 4096);
    assert_eq!(h.pending_len(), 0);
}

/// An abort drops the connection at once; other requests are lost.
#[test]
fn abort_resets_the_connection() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    streaming(&mut h, R0, ProducerKind::Push);
    h.app(AppCommand::Abort { request: R0 }).unwrap();
    assert_eq!(h.closed(), Some(crate::CloseReason::Abort));
    assert_eq!(h.producer_states(R0), [Producing, Stopped]);
}

/// `UnregistersSelfWhenTimingOut`: a timeout that ends the connection stops the producer.
#[test]
fn a_timeout_stops_the_producer() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    streaming(&mut h, R0, ProducerKind::Push);
    h.transport(TransportState::Blocked);
    h.advance_secs(60);
    assert_eq!(h.producer_states(R0), [Producing, Paused, Stopped]);
    assert_eq!(h.closed(), Some(crate::CloseReason::Abort));
}

/// A producer: registered, then the response finishes (Stopped), then the app unregisters:
/// refused as finished, with nothing else reported.
#[test]
fn register_finish_unregister() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    head(&mut h, R0, ResponseHead::new(200));
    h.app(AppCommand::RegisterProducer {
        request: R0,
        kind: ProducerKind::Push,
    })
    .unwrap();
    finish(&mut h, R0);
    assert_eq!(
        h.app(AppCommand::UnregisterProducer { request: R0 }),
        Err(UsageError::AlreadyFinished)
    );
    assert_eq!(
        h.producer_states(R0),
        [ProducerState::Producing, ProducerState::Stopped]
    );
}

/// Pull producers with depth 2: the queued one is pulled until its queue reaches the bound,
/// then paused; at the front it is pulled again; responses stay in order.
#[test]
fn pull_producers_with_depth_two() {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = 2;
    limits.send_buffer_bytes_max = 64;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    let pulls = |h: &Harness, id: RequestId| {
        h.events()
            .iter()
            .filter(|e| matches!(e, Event::Pull { id: i } if *i == id))
            .count()
    };
    for id in [R0, R1] {
        head(&mut h, id, ResponseHead::new(200));
        h.app(AppCommand::RegisterProducer {
            request: id,
            kind: ProducerKind::Pull,
        })
        .unwrap();
    }
    let mut sent = 0;
    while h.producer_states(R1).last() == Some(&ProducerState::Producing) {
        assert_eq!(pulls(&h, R1), sent + 1);
        body(&mut h, R1, "0123456789");
        sent += 1;
        assert!(sent < 20, "the queue bound never paused the producer");
    }
    assert_eq!(h.producer_states(R1).last(), Some(&ProducerState::Paused));
    finish(&mut h, R1);
    body(&mut h, R0, "first");
    finish(&mut h, R0);
    let wire = h.take_wire();
    let first = wire.find("first").unwrap();
    let second = wire.find("0123456789").unwrap();
    assert!(first < second, "{wire:?}");
    assert!(wire.ends_with("0\r\n\r\n"));
}
