//! `Expect: 100-continue`, lazy as in web2: the `100 Continue` goes out only once the app asks
//! for body bytes, never to HTTP/1.0, never for a request without a body; a request refused
//! before its body is read gets no 100, and its unsent body is read and discarded by a lingering
//! close.

use std::time::Duration;

use twine_sim::{Action, ClientScript, Fragments, Seed};

use super::expect::{absent, all, bodies, clean_eof, in_order, statuses};
use super::{echo, quick_config, Entry};

const FAMILY: &str = "expect_continue";

/// The 100 as it appears on the wire, escaped as in the trace.
const CONTINUE: &str = "HTTP/1.1 100 Continue\\r\\n\\r\\n";

/// The first line with `a` comes before the first line with `b`, both present.
fn first_before(o: &twine_sim::Outcome, a: &str, b: &str) -> Vec<String> {
    let text = o.trace.to_text();
    match (text.find(a), text.find(b)) {
        (Some(i), Some(j)) if i < j => Vec::new(),
        _ => vec![format!(
            "trace: the first {a:?} should come before the first {b:?}"
        )],
    }
}

/// A 100 KB upload, for the early reply.
const UPLOAD_BYTES: usize = 100_000;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "lazy_100",
        about: "the 100 Continue goes out only when the app grants credit, and the client's body follows it",
        seed: 1,
        build: |_: Seed| {
            let mut s = echo("expect_continue/lazy_100", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\
                         Expect: 100-continue\r\nConnection: close\r\n\r\n",
                    )
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("hello"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[100, 200]),
                bodies(o, 0, &[Some(b"hello")]),
                // Dispatch, then credit, then (only then) the 100 on the wire, then the body.
                in_order(
                    o,
                    &[
                        "event request req#0 POST /up HTTP/1.1",
                        "app consume req#0 65536",
                        "write 25 bytes",
                        CONTINUE,
                        "c→s \"hello\"",
                        "event body req#0 5 bytes",
                        "event body end req#0",
                        "EOF",
                    ],
                ),
                // Nothing at all is written before the app's first credit.
                first_before(o, "app consume req#0", "s   write"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http10_no_100",
        about: "an HTTP/1.0 request with Expect: 100-continue never gets a 100; its body, sent after a wait, is echoed",
        seed: 1,
        build: |_| {
            let mut s = echo("expect_continue/http10_no_100", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /up HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                    // What curl does when no 100 comes: wait a while, then send the body anyway.
                    .then(Action::Sleep(Duration::from_millis(1000)))
                    .send("hello"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"hello")]),
                absent(o, "100 Continue"),
                in_order(
                    o,
                    &[
                        "app consume req#0 65536",
                        "Connection: close\\r\\n",
                        "c→s \"hello\"",
                        "event body req#0 5 bytes",
                        "s→c \"hello\"",
                        "EOF",
                    ],
                ),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "no_body_no_100",
        about: "Expect: 100-continue on a request without a body (Content-Length: 0, or a GET) gets no 100, unlike Twisted",
        seed: 1,
        build: |_| {
            let mut s = echo("expect_continue/no_body_no_100", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /empty HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\
                         Expect: 100-continue\r\n\r\n",
                    )
                    .then(Action::WaitFor("\r\n\r\n".into()))
                    .send(
                        "GET /get HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\
                         Connection: close\r\n\r\n",
                    ),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                bodies(o, 0, &[Some(b""), Some(b"")]),
                absent(o, "100 Continue"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_413_lingers",
        about: "a declared body over body_bytes_max with Expect gets 413 at once, no 100, Connection: close; a client that uploads anyway still reads it all and a clean EOF",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.body_bytes_max = Some(1000);
            let mut s = echo("expect_continue/early_413_lingers", config);
            let head = format!(
                "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: {UPLOAD_BYTES}\r\n\
                 Expect: 100-continue\r\n\r\n"
            );
            s.clients.push(
                ClientScript::new()
                    .send(head)
                    // curl waits a second for the 100, then uploads regardless.
                    .then(Action::Sleep(Duration::from_millis(1000)))
                    .send_in(
                        vec![b'x'; UPLOAD_BYTES],
                        Fragments::Each(16 * 1024),
                        Duration::from_millis(10),
                    ),
            );
            s
        },
        expect: |o| {
            let text = o.trace.to_text();
            // Every byte of the upload reached the server and was discarded, none refused.
            let read_after_shutdown: usize = text
                .split_once("s   shutdown write")
                .map(|(_, rest)| {
                    rest.lines()
                        .filter_map(|l| l.split_once("s   read ")?.1.strip_suffix(" bytes"))
                        .filter_map(|n| n.parse::<usize>().ok())
                        .sum()
                })
                .unwrap_or(0);
            let discarded = if read_after_shutdown == UPLOAD_BYTES {
                Vec::new()
            } else {
                vec![format!(
                    "the lingering close read {read_after_shutdown} bytes, not the {UPLOAD_BYTES} uploaded"
                )]
            };
            all([
                statuses(o, 0, &[413]),
                absent(o, "100 Continue"),
                absent(o, "event request"),
                in_order(
                    o,
                    &[
                        "event protocol error: request body too large (413)",
                        "s   shutdown write",
                        "s→c \"HTTP/1.1 413 ",
                        "EOF",
                        "c→s \"xxxx",
                        "s   read 16384 bytes",
                        "s   read EOF",
                        "close graceful",
                    ],
                ),
                in_order(o, &["s→c \"HTTP/1.1 413 ", "Connection: close\\r\\n"]),
                absent(o, "reset"),
                clean_eof(o, 0),
                discarded,
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "pipelined_after_first",
        about: "a request with Expect pipelined after another gets its 100 only after the first response is complete",
        seed: 1,
        build: |_| {
            let mut s = echo("expect_continue/pipelined_after_first", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /first HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\none\
                         POST /second HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\
                         Expect: 100-continue\r\nConnection: close\r\n\r\n",
                    )
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("two"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 100, 200]),
                bodies(o, 0, &[Some(b"one"), Some(b"two")]),
                in_order(
                    o,
                    &[
                        "event request req#0 POST /first HTTP/1.1",
                        "app finish req#0",
                        "event request req#1 POST /second HTTP/1.1",
                        "app consume req#1 65536",
                        CONTINUE,
                        "c→s \"two\"",
                        "event body req#1 3 bytes",
                        "EOF",
                    ],
                ),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "chunked_upload",
        about: "Expect with a chunked body gets its 100 on the first credit; the chunks sent after it are echoed",
        seed: 1,
        build: |_| {
            let mut s = echo("expect_continue/chunked_upload", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
                         Expect: 100-continue\r\nConnection: close\r\n\r\n",
                    )
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("4\r\nabcd\r\n")
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .send("2\r\nef\r\n0\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[100, 200]),
                bodies(o, 0, &[Some(b"abcdef")]),
                in_order(o, &["app consume req#0 65536", CONTINUE, "c→s \"4\\r\\nabcd\\r\\n\""]),
                clean_eof(o, 0),
            ])
        },
    },
];
