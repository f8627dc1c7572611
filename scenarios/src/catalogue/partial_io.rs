//! Partial reads and writes everywhere: the server reading one byte at a time and its socket
//! taking one byte per write, clients writing a byte per segment or random pieces. Whatever the
//! cuts, every response is byte-exact (bodies compared whole) and in order.

use std::rc::Rc;
use std::time::Duration;

use twine_apps::stream::expected_body;
use twine_sim::{Action, ClientScript, Fragments, Scenario, StreamFaults};

use twine_sim::Outcome;

use super::expect::{all, bodies, clean_eof, failed_on, in_order, statuses};
use super::{echo, quick_config, stream, Entry};
use twine_engine::CloseReason;
use twine_sim::pattern::{
    any_partial_write, any_read_cut, body, body_end, close, fault, finish, partial_write_of_size,
    read, request, server,
};
use twine_sim::Violation;
use twine_sim::{Fault, ServerEvent};

const FAMILY: &str = "partial_io";

/// Every server read returns 1..=`read` bytes and every write takes 1..=`write` bytes.
fn cut(s: &mut Scenario, read: usize, write: usize) {
    s.faults = Rc::new(move |_| StreamFaults {
        read_fragment_max: Some(read),
        write_fragment_max: Some(write),
        ..StreamFaults::default()
    });
}

/// A chunked upload with a chunk extension and a trailer; decodes to `CHUNKED_BODY`.
const CHUNKED_UPLOAD: &str =
    "POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
5;name=value\r\nhello\r\n1\r\n \r\n10\r\nchunked world!!!\r\n0\r\nTrailer: yes\r\n\r\n";
const CHUNKED_BODY: &[u8] = b"hello chunked world!!!";

/// Three requests, one of each kind, the last closing the connection.
const THREE: &str = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n\
POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world\
GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// Connection `conn` received `needle` somewhere (the trace cannot show it when the bytes
/// arrived one per segment).
fn got(outcome: &Outcome, conn: usize, needle: &str) -> Vec<Violation> {
    let received = &outcome.clients[conn].received;
    if received
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
    {
        Vec::new()
    } else {
        failed_on(conn, format!("never received {needle:?}"))
    }
}

/// `THREE` with the connection kept open after the third request.
fn three_kept_open() -> String {
    THREE.replace("Connection: close", "X: y")
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "keep_alive_byte_at_a_time",
        about: "keep-alive requests read one byte per read and answered one byte per write arrive byte-exact",
        seed: 1,
        build: |_| {
            let mut s = echo("partial_io/keep_alive_byte_at_a_time", quick_config());
            cut(&mut s, 1, 1);
            s.clients.push(
                ClientScript::new()
                    .send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::WaitFor("\r\n\r\n".into()))
                    .send("POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world")
                    .then(Action::WaitFor("hello world".into()))
                    .send("GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200, 200]),
                bodies(o, 0, &[Some(b""), Some(b"hello world"), Some(b"")]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        fault(Fault::ReadCut { bytes: 1 }),
                        request(0, "GET", "/one"),
                        partial_write_of_size(1),
                        request(1, "POST", "/two"),
                        body(1, 1),
                        request(2, "GET", "/three"),
                        close(CloseReason::Graceful),
                    ],
                ),
                got(o, 0, "Content-Length: 0\r\nConnection: close\r\n"),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "pipelined_byte_at_a_time",
        about: "three pipelined requests in one segment, read a byte at a time and answered a byte per write, get their responses in order, byte-exact",
        seed: 1,
        build: |_| {
            let mut s = echo("partial_io/pipelined_byte_at_a_time", quick_config());
            cut(&mut s, 1, 1);
            s.clients.push(ClientScript::new().send(THREE));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200, 200]),
                bodies(o, 0, &[Some(b""), Some(b"hello world"), Some(b"")]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        request(0, "GET", "/one"),
                        finish(0),
                        request(1, "POST", "/two"),
                        finish(1),
                        request(2, "GET", "/three"),
                        finish(2),
                        close(CloseReason::Graceful),
                    ],
                ),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "chunked_upload_byte_at_a_time",
        about: "a chunked upload with an extension and a trailer, read a byte at a time, is decoded exactly and echoed back chunked a byte per write",
        seed: 1,
        build: |_| {
            let mut s = echo("partial_io/chunked_upload_byte_at_a_time", quick_config());
            cut(&mut s, 1, 1);
            s.clients.push(
                ClientScript::new()
                    .send(CHUNKED_UPLOAD)
                    .then(Action::WaitFor("0\r\n\r\n".into()))
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(CHUNKED_BODY)]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/chunked"),
                        body(0, 1),
                        body_end(0),
                        finish(0),
                        server(ServerEvent::ReadEof),
                        close(CloseReason::Graceful),
                    ],
                ),
                got(o, 0, "Transfer-Encoding: chunked\r\n"),
                got(o, 0, "\r\n0\r\n\r\n"),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "stream_100k_partial_writes",
        about: "a 100 KB streamed response written in pieces of 1..=1000 bytes (request read a byte at a time) arrives whole and byte-exact",
        seed: 1,
        build: |_| {
            let mut s = stream("partial_io/stream_100k_partial_writes", quick_config());
            cut(&mut s, 1, 1000);
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/100000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            let body = expected_body(100_000);
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(&body)]),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        fault(Fault::ReadCut { bytes: 1 }),
                        request(0, "GET", "/stream/100000"),
                        any_partial_write(),
                        finish(0),
                        close(CloseReason::Graceful),
                    ],
                ),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_one_byte_segments",
        about: "a client writing every byte as its own segment (keep-alive, a body, pipelining, a chunked upload) gets every response byte-exact",
        seed: 1,
        build: |_| {
            let mut s = echo("partial_io/client_one_byte_segments", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send_in(three_kept_open(), Fragments::Each(1), Duration::ZERO)
                    .send_in(CHUNKED_UPLOAD, Fragments::Each(1), Duration::ZERO)
                    .then(Action::ShutdownWrite),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200, 200, 200]),
                bodies(
                    o,
                    0,
                    &[Some(b""), Some(b"hello world"), Some(b""), Some(CHUNKED_BODY)],
                ),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        read(1),
                        request(0, "GET", "/one"),
                        request(1, "POST", "/two"),
                        request(2, "GET", "/three"),
                        request(3, "POST", "/chunked"),
                        body_end(3),
                        server(ServerEvent::ReadEof),
                        close(CloseReason::Graceful),
                    ],
                ),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "random_cuts_both_ways",
        about: "random client segments (1..=7 bytes, 1 ms apart) and random server cuts (reads of 1..=3, writes of 1..=5 bytes) on every kind of request keep every byte exact",
        seed: 7,
        build: |_| {
            let mut s = echo("partial_io/random_cuts_both_ways", quick_config());
            cut(&mut s, 3, 5);
            s.clients.push(
                ClientScript::new()
                    .send_in(
                        three_kept_open(),
                        Fragments::Random { max: 7 },
                        Duration::from_millis(1),
                    )
                    .send_in(CHUNKED_UPLOAD, Fragments::Random { max: 7 }, Duration::from_millis(1))
                    .send_in(
                        "GET /last HTTP/1.0\r\n\r\n",
                        Fragments::Random { max: 7 },
                        Duration::from_millis(1),
                    ),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200, 200, 200, 200]),
                bodies(
                    o,
                    0,
                    &[Some(b""), Some(b"hello world"), Some(b""), Some(CHUNKED_BODY), Some(b"")],
                ),
                clean_eof(o, 0),
                in_order(
                    o,
                    &[
                        any_read_cut(),
                        any_partial_write(),
                        request(3, "POST", "/chunked"),
                        request(4, "GET", "/last"),
                        close(CloseReason::Graceful),
                    ],
                ),
                got(o, 0, "Transfer-Encoding: chunked\r\n"),
                got(o, 0, "Content-Length: 0\r\nConnection: close\r\n"),
            ])
        },
    },
];
