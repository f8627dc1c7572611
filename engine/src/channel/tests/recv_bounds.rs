//! Goal: the receive window is exactly as large as the limits require, no more and no less. A
//! request head may need `head_bytes_max` plus two bytes per line ending (`header_count_max`
//! fields, the request line, one tolerated empty line before it and the final empty line), a
//! chunk-size line `chunk_line_bytes_max` plus its CRLF, even when `recv_buffer_bytes_max` is
//! smaller; and bytes discarded while the last response is pending count against
//! `linger_bytes_max`. Method: small limits so that each bound is the largest term, the exact
//! `recv_window()` the driver is given, and a legal input of exactly the bound's size, which
//! must be served (one byte less of window and it would wait forever).

use super::harness::{bare, Harness, R0};
use crate::{AppCommand, CloseReason, Config, Event, Limits, ReadState, ResponseHead};

fn config(change: impl FnOnce(&mut Limits)) -> Config {
    let mut limits = Limits::default();
    limits.recv_buffer_bytes_max = 16;
    change(&mut limits);
    Config { limits, ..bare() }
}

/// 64 bytes of head content over 3 fields: 76 bytes on the wire with every line ending and
/// the tolerated leading empty line, all of which must fit in the window at once.
#[test]
fn a_largest_legal_head_fits_the_window() {
    let mut h = Harness::dummy(config(|l| {
        l.head_bytes_max = 64;
        l.header_count_max = 3;
        l.chunk_line_bytes_max = 8;
    }));
    assert_eq!(h.channel.recv_window(), 64 + 2 * (3 + 3));
    let head = format!(
        "\r\nGET / HTTP/1.1\r\nHost: h\r\nA: {}\r\nB: {}\r\n\r\n",
        "a".repeat(20),
        "b".repeat(17)
    );
    assert_eq!(head.len(), 76);
    h.send(&head);
    assert_eq!(h.request_ids(), [R0]);
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
}

/// When the chunk-size line is the largest bound, the idle window is that line and its CRLF.
#[test]
fn the_idle_window_covers_a_longest_chunk_size_line() {
    let h = Harness::new(config(|l| {
        l.head_bytes_max = 20;
        l.header_count_max = 2;
        l.chunk_line_bytes_max = 40;
    }));
    assert_eq!(h.channel.recv_window(), 42);
}

/// During a body the window is `max(recv_buffer_bytes_max, chunk_line_bytes_max + 2)`: a
/// chunk-size line of exactly 40 bytes is read whole although the buffer bound is 16.
#[test]
fn a_longest_chunk_size_line_fits_the_body_window() {
    let mut h = Harness::dummy(config(|l| l.chunk_line_bytes_max = 40));
    h.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    assert_eq!(h.channel.recv_window(), 42);
    let size_line = format!("5;{}\r\n", "x".repeat(38));
    assert_eq!(size_line.len(), 42);
    h.send(size_line);
    h.send("hello\r\n0\r\n\r\n");
    assert_eq!(h.body(R0), b"hello");
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::BodyEnd { id: R0 })));
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
}

/// After a `Connection: close` request nothing more is parsed, and what the client still sends
/// is read and dropped only within `linger_bytes_max` (10 here): then reading pauses until the
/// response is out, and the spent budget closes the connection without a lingering close.
#[test]
fn discarding_before_the_last_response_is_bounded() {
    let mut h = Harness::new(config(|l| l.linger_bytes_max = 10));
    h.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    assert_eq!(h.channel.recv_window(), 10);
    h.send("x".repeat(100));
    assert_eq!(h.pending_len(), 90);
    assert_eq!(h.channel.recv_window(), 0);
    assert_eq!(h.reading(), ReadState::Paused);
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
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert!(!h.shut_down(), "the budget is spent: no lingering close");
    assert_eq!(h.pending_len(), 90);
}

/// A body whose response finished first is drained so the connection can go on, but only
/// within `linger_bytes_max` (10 here): 9 drained bytes keep the connection, the 10th closes it.
#[test]
fn draining_a_body_after_its_response_is_bounded() {
    let mut h = Harness::new(config(|l| l.linger_bytes_max = 10));
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n01234");
    h.app(AppCommand::Consume {
        request: R0,
        bytes: 5,
    })
    .unwrap();
    let head = ResponseHead::new(200).with_header("Content-Length", "0");
    h.app(AppCommand::SendHead { request: R0, head }).unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "persistent: the rest of the body is drained"
    );
    h.send("x".repeat(9));
    assert_eq!(h.closed(), None);
    h.send("x");
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
    assert_eq!(h.body(R0), b"01234");
}
