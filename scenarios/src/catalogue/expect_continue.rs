//! `Expect: 100-continue`, lazy as in web2: the `100 Continue` goes out only once the app asks
//! for body bytes, never to HTTP/1.0, never for a request without a body; a request refused
//! before its body is read gets no 100, and its unsent body is read and discarded by a lingering
//! close.

use std::time::Duration;

use twine_apps::Api;
use twine_sim::{app as app_factory, Action, ClientScript, Fragments, Scenario, Seed};

use super::expect::{
    absent, all, bodies, clean_eof, failed, in_order, received_in_order, statuses,
};
use super::{echo, quick_config, stream, Entry};
use twine_engine::{CloseReason, ProtocolErrorKind, RequestId};
use twine_sim::pattern::{
    any_read, any_request, any_reset, any_write, app, app_where, body_end, body_total,
    bytes_received, bytes_sent, client, close, finish, head, protocol_error, request,
    response_head_with, server, write,
};
use twine_sim::Pattern;
use twine_sim::Violation;
use twine_sim::{AppAction, ClientEvent, ServerEvent};

const FAMILY: &str = "expect_continue";

/// The 100 on the wire, as the client reads it.
fn continue_100() -> Pattern {
    bytes_received(b"HTTP/1.1 100 Continue\r\n\r\n")
}

/// The first entry matching `a` comes before the first matching `b`, both present.
fn first_before(o: &twine_sim::Outcome, a: Pattern, b: Pattern) -> Vec<Violation> {
    match (a.find(&o.trace, 0), b.find(&o.trace, 0)) {
        (Some(i), Some(j)) if i < j => Vec::new(),
        _ => failed(format!(
            "trace: the first {a} should come before the first {b}"
        )),
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
                        request(0, "POST", "/up"),
                        app(AppAction::Consume { request: RequestId::from_sequence(0), bytes: 65536 }),
                        write(25),
                        continue_100(),
                        bytes_sent(b"hello"),
                        body_total(0, 5),
                        body_end(0),
                        client(ClientEvent::Eof),
                    ],
                ),
                // Nothing at all is written before the app's first credit.
                first_before(o, app_where("consume", |c| matches!(c, AppAction::Consume { .. })), any_write()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "expectation_in_any_case",
        about: "the expectation's value is case-insensitive (RFC 9110 §10.1.1): `Expect: 100-Continue` gets its lazy 100 once the app grants credit, and the body follows",
        seed: 1,
        build: |_: Seed| {
            let mut s = echo("expect_continue/expectation_in_any_case", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-Continue\r\nConnection: close\r\n\r\n")
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("hello"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[100, 200]), bodies(o, 0, &[Some(b"hello")]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "app_100_after_the_lazy_one_dropped",
        about: "an app that sends its own 100 Continue after its first credit (the lazy 100 already out) gets no second one on the wire: a 100 is a one-time signal (RFC 9110 §15.2.1)",
        seed: 1,
        build: |_: Seed| {
            let mut s = Scenario::new("expect_continue/app_100_after_the_lazy_one_dropped", quick_config(), app_factory::<Api>());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /continue-again HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\
                         Expect: 100-continue\r\nConnection: close\r\n\r\n",
                    )
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("twenty bytes of body"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[100, 200]),
                bodies(o, 0, &[Some(b"received 20 bytes\n")]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "app_100_before_its_credit_is_the_only_one",
        about: "an app that sends its own 100 Continue before granting any credit tells the client to go on at once (`HTTP/1.1 100 Continue`, its reason phrase written by the channel); the channel sends no lazy one after it when the credit comes",
        seed: 1,
        build: |_: Seed| {
            let mut s = Scenario::new("expect_continue/app_100_before_its_credit_is_the_only_one", quick_config(), app_factory::<Api>());
            s.clients.push(
                ClientScript::new()
                    .send(
                        "POST /continue-first HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\
                         Expect: 100-continue\r\nConnection: close\r\n\r\n",
                    )
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("twenty bytes of body"),
            );
            s
        },
        expect: |o| {
            all([
                received_in_order(o, 0, &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"]),
                statuses(o, 0, &[100, 200]),
                bodies(o, 0, &[Some(b"received 20 bytes\n")]),
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
                absent(o, bytes_received(b"100 Continue")),
                in_order(
                    o,
                    &[
                        app(AppAction::Consume { request: RequestId::from_sequence(0), bytes: 65536 }),
                        bytes_received(b"Connection: close\r\n"),
                        bytes_sent(b"hello"),
                        body_total(0, 5),
                        bytes_received(b"hello"),
                        client(ClientEvent::Eof),
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
                absent(o, bytes_received(b"100 Continue")),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "app_refuses_without_reading",
        about: "an app that answers an Expect request without asking for its body (the stream app's 404 for a POST) sends no 100 at all: the 404 with Connection: close, then a lingering close while the client uploads anyway",
        seed: 1,
        build: |_| {
            let mut s = stream("expect_continue/app_refuses_without_reading", quick_config());
            let head = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\
                        Expect: 100-continue\r\n\r\n";
            s.clients.push(
                ClientScript::new()
                    .send(head)
                    // curl waits a second for the 100, then uploads regardless.
                    .then(Action::Sleep(Duration::from_millis(1000)))
                    .send(vec![b'x'; 5000]),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[404]),
                absent(o, bytes_received(b"100 Continue")),
                absent(o, app_where("consume", |c| matches!(c, AppAction::Consume { .. }))),
                in_order(
                    o,
                    &[
                        request(0, "POST", "/upload"),
                        head(0, 404),
                        server(ServerEvent::ShutdownWrite),
                        response_head_with(b"HTTP/1.1 404 ", b"Connection: close\r\n"),
                        close(CloseReason::Graceful),
                    ],
                ),
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
            // Every byte of the upload reached the server and was discarded, none refused.
            let read_after_shutdown: usize = o
                .trace
                .entries
                .iter()
                .filter_map(|e| e.event.as_server())
                .skip_while(|e| **e != ServerEvent::ShutdownWrite)
                .map(|e| match e {
                    ServerEvent::Read { bytes } => *bytes,
                    _ => 0,
                })
                .sum();
            let discarded = if read_after_shutdown == UPLOAD_BYTES {
                Vec::new()
            } else {
                failed(format!(
                    "the lingering close read {read_after_shutdown} bytes, not the {UPLOAD_BYTES} uploaded"
                ))
            };
            all([
                statuses(o, 0, &[413]),
                absent(o, bytes_received(b"100 Continue")),
                absent(o, any_request()),
                in_order(
                    o,
                    &[
                        protocol_error(ProtocolErrorKind::BodyTooLarge),
                        server(ServerEvent::ShutdownWrite),
                        bytes_received(b"HTTP/1.1 413 "),
                        client(ClientEvent::Eof),
                        bytes_sent(b"xxxx"),
                        any_read(),
                        server(ServerEvent::ReadEof),
                        close(CloseReason::Graceful),
                    ],
                ),
                in_order(o, &[response_head_with(b"HTTP/1.1 413 ", b"Connection: close\r\n")]),
                absent(o, any_reset()),
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
                        request(0, "POST", "/first"),
                        finish(0),
                        request(1, "POST", "/second"),
                        app(AppAction::Consume { request: RequestId::from_sequence(1), bytes: 65536 }),
                        continue_100(),
                        bytes_sent(b"two"),
                        body_total(1, 3),
                        client(ClientEvent::Eof),
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
                in_order(o, &[app(AppAction::Consume { request: RequestId::from_sequence(0), bytes: 65536 }), continue_100(), bytes_sent(b"4\r\nabcd\r\n")]),
                clean_eof(o, 0),
            ])
        },
    },
];
