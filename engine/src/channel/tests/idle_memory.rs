//! Goal (DESIGN.md section 8): between requests a connection keeps its buffers (receive, head,
//! queues), so a busy connection does not allocate them per request; `release_idle_memory`
//! gives them all back once nothing is in flight, and does nothing while something is; the
//! scratch space for header field ranges is kept only up to `HEAD_FIELDS_KEPT_MAX` entries.
//! Method: drive requests through the harness, then read the capacities of the buffers, the
//! only place this promise shows (no output reports memory). The bounds are literal: 64
//! entries kept, 65 given back.

use super::harness::{bare, Harness};
use crate::{AppCommand, RequestId, ResponseHead};

/// Answers request `id` with an empty body, which leaves the connection idle.
fn answer(h: &mut Harness, id: RequestId) {
    let head = ResponseHead::new(204);
    h.app(AppCommand::SendHead { request: id, head }).unwrap();
    h.app(AppCommand::Finish { request: id }).unwrap();
}

/// A request with `Host` and `extra` more fields.
fn request_with_fields(extra: usize) -> String {
    let fields: String = (0..extra).map(|i| format!("X-{i}: v\r\n")).collect();
    format!("GET / HTTP/1.1\r\nHost: h\r\n{fields}\r\n")
}

/// A head that arrives in two reads leaves spare capacity behind the bytes taken off the
/// buffer; the finished exchange keeps the buffers for the next request, and a release gives
/// them all back.
#[test]
fn an_idle_connection_keeps_its_buffers_until_released() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\n");
    h.send("Host: h\r\n\r\n");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    answer(&mut h, RequestId::from_sequence(0));
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 204 No Content\r\n\r\n",
        "the exchange is over"
    );
    assert!(h.channel.recv_buf.capacity() > 0, "kept between requests");
    assert!(h.channel.head_buf.capacity() > 0, "kept between requests");
    assert!(h.channel.exchanges.capacity() > 0, "kept between requests");
    h.channel.release_idle_memory();
    assert_eq!(h.channel.recv_buf.capacity(), 0);
    assert_eq!(h.channel.head_buf.capacity(), 0);
    assert_eq!(h.channel.exchanges.capacity(), 0);
    assert_eq!(h.channel.outputs.capacity(), 0);
    assert_eq!(h.channel.head_fields.capacity(), 0);
    // Still persistent: the next request is read into a fresh buffer and answered.
    h.send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    answer(&mut h, RequestId::from_sequence(1));
    assert_eq!(h.take_wire(), "HTTP/1.1 204 No Content\r\n\r\n");
}

/// While a request is in flight (or bytes wait in the buffer), a release changes nothing:
/// the exchange, its buffered pipelined successor and the response all come through.
#[test]
fn a_busy_connection_keeps_its_buffers_on_release() {
    let mut h = Harness::new(bare());
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHo");
    assert_eq!(h.request_ids(), [RequestId::from_sequence(0)]);
    let buffered = h.channel.recv_buf.len();
    h.channel.release_idle_memory();
    assert_eq!(
        h.channel.recv_buf.len(),
        buffered,
        "the partial head is kept"
    );
    assert!(h.channel.exchanges.capacity() > 0);
    answer(&mut h, RequestId::from_sequence(0));
    h.send("st: h\r\n\r\n");
    answer(&mut h, RequestId::from_sequence(1));
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    );
}

/// A usual head's field scratch space outlives the request, so keep-alive requests allocate
/// nothing for it.
#[test]
fn a_usual_head_keeps_its_field_scratch_space() {
    let mut h = Harness::new(bare());
    h.send(request_with_fields(2));
    assert_eq!(h.heads[0].1.headers.len(), 3);
    answer(&mut h, RequestId::from_sequence(0));
    let kept = h.channel.head_fields.capacity();
    assert!((3..=64).contains(&kept), "kept {kept} entries");
}

/// Exactly 64 entries may be kept; a head that needed more gives them back once idle.
#[test]
fn field_scratch_space_is_kept_up_to_64_entries() {
    let mut h = Harness::new(bare());
    h.send(request_with_fields(63));
    assert_eq!(h.heads[0].1.headers.len(), 64);
    let during = h.channel.head_fields.capacity();
    assert_eq!(during, 64, "64 fields fill 64 entries (doubling from 4)");
    answer(&mut h, RequestId::from_sequence(0));
    assert_eq!(h.channel.head_fields.capacity(), 64, "at the bound: kept");

    h.send(request_with_fields(64));
    assert_eq!(h.heads[1].1.headers.len(), 65);
    assert!(
        h.channel.head_fields.capacity() > 64,
        "in use while the request is"
    );
    answer(&mut h, RequestId::from_sequence(1));
    assert_eq!(
        h.channel.head_fields.capacity(),
        0,
        "over the bound: given back"
    );
}
