//! Goal: a closed channel is silent and reads nothing: `Output::Close` is the last output, and
//! `recv_window()` is 0 once the connection is closed or the peer has sent its FIN; a drain or
//! a connection loss in any state ends closed, a loss with every request in flight lost, every
//! producer stopped and no timer left. Method: close the channel in the ways a connection ends
//! (peer gone, abort, drain, FIN after a complete request) and in every state, and compare the
//! outputs that follow with literal values.

use super::harness::{bare, consume, head, lost, Harness, R0};
use crate::{
    AppCommand, CloseReason, Input, Output, ProducerKind, ProducerState, ResponseHead,
    TransportState,
};

/// The outputs after the first `Close`.
fn after_close(h: &Harness) -> &[Output] {
    let at = h
        .log
        .iter()
        .position(|o| matches!(o, Output::Close(_)))
        .expect("the channel closed");
    &h.log[at + 1..]
}

#[test]
fn nothing_is_output_after_a_connection_loss() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let now = h.now;
    h.input(Input::ConnectionLost { now });
    assert_eq!(h.closed(), Some(CloseReason::Abort));
    assert_eq!(after_close(&h), []);
    assert_eq!(h.channel.recv_window(), 0);
    assert_eq!(h.channel.poll_timeout(), None);
}

#[test]
fn nothing_is_output_after_an_abort() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.app(AppCommand::Abort { request: R0 }).unwrap();
    assert_eq!(h.closed(), Some(CloseReason::Abort));
    assert_eq!(after_close(&h), []);
    assert_eq!(h.channel.recv_window(), 0);
}

#[test]
fn a_drained_idle_connection_reads_nothing_more() {
    let mut h = Harness::new(bare());
    h.app(AppCommand::Drain).unwrap();
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(after_close(&h), []);
    assert_eq!(h.channel.recv_window(), 0);
}

/// After the peer's FIN there is nothing left to read, while the response is still owed.
#[test]
fn after_the_peers_fin_the_window_is_shut() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    h.send_eof();
    assert_eq!(h.channel.recv_window(), 0);
    assert_eq!(h.closed(), None);
    let head = ResponseHead::new(200).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(after_close(&h), []);
}

/// Drain in each state: idle, mid-head, mid-body, while the app answers, while lingering and
/// while blocked; every run ends closed, and no panic.
#[test]
fn drain_in_every_state_ends_closed() {
    let scripts: [&dyn Fn(&mut Harness); 6] = [
        &|_| {},
        &|h| h.send("GET / HT"),
        &|h| {
            h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
            consume(h, R0, 4);
        },
        &|h| h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
        &|h| h.advance_secs(60),
        &|h| {
            h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            head(h, R0, ResponseHead::new(200));
            h.transport(TransportState::Blocked);
        },
    ];
    for script in scripts {
        let mut h = Harness::new(bare());
        script(&mut h);
        h.app(AppCommand::Drain).unwrap();
        if h.closed().is_none() {
            h.send("cd");
            h.transport(TransportState::Writable);
            let head = ResponseHead::new(200).with_header("Content-Length", "0");
            let _ = h.app(AppCommand::SendHead { request: R0, head });
            let _ = h.app(AppCommand::Finish { request: R0 });
        }
        assert!(h.channel.is_closed(), "{:?}", h.log);
    }
}

/// Connection loss in each state: every request in flight is lost, every producer stopped, no
/// timer left.
#[test]
fn connection_lost_in_every_state() {
    let scripts: [&dyn Fn(&mut Harness); 4] = [
        &|h| h.send("GET / HT"),
        &|h| h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"),
        &|h| {
            h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            head(h, R0, ResponseHead::new(200));
            h.app(AppCommand::RegisterProducer {
                request: R0,
                kind: ProducerKind::Push,
            })
            .unwrap();
        },
        &|h| h.advance_secs(60),
    ];
    for script in scripts {
        let mut h = Harness::new(bare());
        script(&mut h);
        let now = h.now;
        h.input(Input::ConnectionLost { now });
        assert!(h.channel.is_closed());
        assert_eq!(h.channel.poll_timeout(), None);
        for id in h.request_ids() {
            assert!(lost(&h, id));
            let states = h.producer_states(id);
            assert!(states.is_empty() || states.last() == Some(&ProducerState::Stopped));
        }
        let closes = h
            .log
            .iter()
            .filter(|o| matches!(o, Output::Close(_)))
            .count();
        assert_eq!(closes, 1);
    }
}
