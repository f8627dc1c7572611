//! Goal: a head that arrives in pieces is refused as soon as it crosses a limit, even when the
//! read that crosses it holds no line end. The channel skips re-parsing a partial head until a
//! new line end arrives (a dribbled head must not cost a full parse per byte), and crossing a
//! limit is the one other event that can change the answer. Method: a partial head first, so
//! the channel has scanned it, then one read without LF that takes the request line one byte
//! past `request_line_bytes_max` (414) or the header section one byte past `head_bytes_max`
//! (431); and the same reads one byte shorter, which stay partial and then complete.

use super::harness::{bare, Harness};
use crate::{AppCommand, ProtocolErrorKind, RequestId, ResponseHead};

fn fill(n: usize) -> String {
    "a".repeat(n)
}

/// `GET /`, then `a` × (16_370 + extra) and ` HTTP/1.0` in one read without LF: the request
/// line so far is 16_384 + extra bytes.
fn request_line_reads(extra: usize) -> Harness {
    let mut h = Harness::new(bare());
    h.send("GET /");
    assert_eq!(h.take_wire(), "");
    h.send(fill(16_370 + extra) + " HTTP/1.0");
    h
}

#[test]
fn a_request_line_crossing_its_limit_without_lf_gets_414_at_once() {
    let mut h = request_line_reads(1);
    assert!(h.take_wire().starts_with("HTTP/1.1 414 URI Too Long\r\n"));
    assert_eq!(h.protocol_errors(), [ProtocolErrorKind::UriTooLong]);
}

#[test]
fn a_request_line_at_its_limit_is_served() {
    let mut h = request_line_reads(0);
    assert_eq!(h.take_wire(), "");
    assert_eq!(h.protocol_errors(), []);
    // The request line is the whole head: 16_384 bytes is also `head_bytes_max`.
    h.send("\r\n\r\n");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    assert_eq!(h.heads[0].1.target.len(), 16_371);
}

/// `GET / HTTP/1.1`, `Host: h` and `X: ` are 14 + 7 + 3 = 24 bytes of the 16_384.
fn header_reads(extra: usize) -> Harness {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\nX: ");
    assert_eq!(h.take_wire(), "");
    h.send(fill(16_360 + extra));
    h
}

#[test]
fn a_header_section_crossing_its_limit_without_lf_gets_431_at_once() {
    let mut h = header_reads(1);
    assert!(h
        .take_wire()
        .starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    assert_eq!(h.protocol_errors(), [ProtocolErrorKind::HeadTooLarge]);
}

#[test]
fn a_header_section_at_its_limit_is_served() {
    let mut h = header_reads(0);
    assert_eq!(h.take_wire(), "");
    h.send("\r\n\r\n");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    let head = ResponseHead::new(204);
    let request = RequestId::from_sequence(0);
    h.app(AppCommand::SendHead { request, head }).unwrap();
    h.app(AppCommand::Finish { request }).unwrap();
    assert_eq!(h.take_wire(), "HTTP/1.1 204 No Content\r\n\r\n");
}
