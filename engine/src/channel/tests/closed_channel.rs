//! Goal: a closed channel is silent and reads nothing: `Output::Close` is the last output, and
//! `recv_window()` is 0 once the connection is closed or the peer has sent its FIN. Method:
//! close the channel in the ways a connection ends (peer gone, abort, drain, FIN after a
//! complete request) and compare the outputs that follow with literal values.

use super::harness::{bare, Harness};
use crate::{AppCommand, CloseReason, Input, Output, RequestId, ResponseHead};

const R0: RequestId = RequestId::from_sequence(0);

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
