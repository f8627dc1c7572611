//! The app API: every request-side method of the seeds (Twisted's `HTTPChannel` and `Request`,
//! web2's `ChannelRequest`, `H2Stream`) as an app command, each shown on the wire with its
//! producer transitions, through the `api` app (one route per command) and the stream app's
//! pull route. Misuse is answered by a typed `UsageError` in the trace and never by bad bytes.

use std::time::Duration;

use twine_apps::stream::expected_body;
use twine_apps::{Api, Stream};
use twine_engine::{CloseReason, Config, ProducerKind, ProducerState, RequestId, UsageError};
use twine_sim::pattern::{
    app, app_where, body_total, bytes_received, client, close, lost, producer, server,
};
use twine_sim::{app as app_factory, Action, ClientScript, Outcome, Scenario, Violation};
use twine_sim::{AppAction, ClientEvent, ServerEvent};

use super::backpressure::long_bodies;
use super::expect::{
    absent, all, bodies, clean_eof, count, failed, failed_on, from_first, in_order, received,
    received_dated, received_in_order, server_read_bytes, statuses,
};
use super::{quick_config, slow_reader, Entry};

const FAMILY: &str = "app_api";

const R0: RequestId = RequestId::from_sequence(0);

/// The final statuses with a registered reason phrase, and the phrase (RFC 9110 §15).
const REASONS: &[(u16, &str)] = &[
    (200, "OK"),
    (201, "Created"),
    (202, "Accepted"),
    (203, "Non-Authoritative Information"),
    (204, "No Content"),
    (205, "Reset Content"),
    (206, "Partial Content"),
    (207, "Multi-Status"),
    (208, "Already Reported"),
    (226, "IM Used"),
    (300, "Multiple Choices"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (303, "See Other"),
    (304, "Not Modified"),
    (305, "Use Proxy"),
    (307, "Temporary Redirect"),
    (308, "Permanent Redirect"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (402, "Payment Required"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (406, "Not Acceptable"),
    (407, "Proxy Authentication Required"),
    (408, "Request Timeout"),
    (409, "Conflict"),
    (410, "Gone"),
    (411, "Length Required"),
    (412, "Precondition Failed"),
    (413, "Content Too Large"),
    (414, "URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Range Not Satisfiable"),
    (417, "Expectation Failed"),
    (421, "Misdirected Request"),
    (422, "Unprocessable Content"),
    (423, "Locked"),
    (424, "Failed Dependency"),
    (425, "Too Early"),
    (426, "Upgrade Required"),
    (428, "Precondition Required"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (451, "Unavailable For Legal Reasons"),
    (500, "Internal Server Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (504, "Gateway Timeout"),
    (505, "HTTP Version Not Supported"),
    (506, "Variant Also Negotiates"),
    (507, "Insufficient Storage"),
    (508, "Loop Detected"),
    (511, "Network Authentication Required"),
];

/// Request `request` was never given more body than the app's `Consume` credit allowed:
/// at every body piece, the bytes delivered so far are at most the credit granted so far.
pub(super) fn within_credit(o: &Outcome, request: RequestId) -> Vec<Violation> {
    let (mut credit, mut delivered) = (0_u64, 0_u64);
    for entry in &o.trace.entries {
        match entry.event.as_server() {
            Some(ServerEvent::App {
                command: AppAction::Consume { request: of, bytes },
            }) if *of == request => credit += *bytes,
            Some(ServerEvent::Body { id, bytes }) if *id == request => {
                delivered += *bytes as u64;
                if delivered > credit {
                    return failed(format!(
                        "{request}: {delivered} body bytes delivered on {credit} of credit"
                    ));
                }
            }
            _ => {}
        }
    }
    Vec::new()
}

/// A scenario running the api app.
fn api(name: &str, config: Config) -> Scenario {
    Scenario::new(name, config, app_factory::<Api>())
}

/// The quick config with two requests dispatched at once.
fn depth_two() -> Config {
    let mut config = quick_config();
    config.limits.pipeline_depth_max = 2;
    config
}

/// A 100 000-byte response streamed to a slow reader (about a second), and behind it, pipelined,
/// an upload of `upload` bytes to `/close`, which the app closes at once.
fn upload_closed_behind_a_response(name: &str, config: Config, upload: usize) -> Scenario {
    let mut s = api(name, config);
    s.faults = slow_reader(8192, 100);
    let post = format!(
        "POST /close HTTP/1.1\r\nHost: h\r\nContent-Length: {upload}\r\n\r\n{}",
        "u".repeat(upload)
    );
    s.clients
        .push(ClientScript::new().send(format!("{}{post}", get("/handover/100000"))));
    s
}

/// A POST to `/early-answer` declaring `declared` body bytes and carrying `sent` of them.
fn early_answer_upload(declared: usize, sent: usize) -> String {
    let head =
        format!("POST /early-answer HTTP/1.1\r\nHost: h\r\nContent-Length: {declared}\r\n\r\n");
    head + &"u".repeat(sent)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n")
}

fn get_close(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
}

/// One `api` request on one connection.
fn one(name: &str, request: String) -> Scenario {
    let mut s = api(name, quick_config());
    s.clients.push(ClientScript::new().send(request));
    s
}

/// The app's command was refused with `error`.
pub(super) fn refused(command: AppAction, error: UsageError) -> twine_sim::Pattern {
    server(ServerEvent::AppRefused { command, error })
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "whoami",
        about: "the driver hands the app both ends of the connection before any request (Twisted's `getPeer`, `getHost`, `isSecure`)",
        seed: 1,
        build: |_| one("app_api/whoami", get_close("/whoami")),
        expect: |o| all([bodies(o, 0, &[Some(b"peer 192.168.0.2:49152\nlocal 192.168.0.1:80\nsecure false\n")]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "respond_whole",
        about: "`Respond` (head, whole body and end in one command) gives the wire the three commands give, and keeps the connection",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/respond_whole", quick_config());
            s.clients.push(ClientScript::new().send(format!("{}{}", get("/respond"), get_close("/respond"))));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"whole\n"), Some(b"whole\n")]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "accept_data_paces_the_upload",
        about: "`Consume` credit (web2's `acceptData`) sends the lazy `100 Continue` and then takes the body 8 bytes at a time",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/accept_data_paces_the_upload", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /accept HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .send("0123456789abcdefghij"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[100, 200]),
                bodies(o, 0, &[Some(b"received 20 bytes\n")]),
                in_order(o, &[app(AppAction::Consume { request: R0, bytes: 8 }), bytes_received(b"HTTP/1.1 100 Continue\r\n\r\n")]),
                // 8 bytes of credit at a time, however the body was cut: the app gives back
                // what each piece took, so no piece is over 8 bytes and 20 take three or more.
                within_credit(o, R0),
                in_order(o, &[body_total(0, 20)]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_hints",
        about: "the app sends `103 Early Hints` before its final response (web2's `writeIntermediateResponse`)",
        seed: 1,
        build: |_| one("app_api/early_hints", get_close("/hints")),
        expect: |o| {
            all([
                statuses(o, 0, &[103, 200]),
                bodies(o, 0, &[Some(b"hinted\n")]),
                received(o, 0, b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\nhinted\n"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "processing",
        about: "the app sends `102 Processing` (RFC 2518) before its final response, with its reason phrase and no fields",
        seed: 1,
        build: |_| one("app_api/processing", get_close("/processing")),
        expect: |o| {
            all([
                statuses(o, 0, &[102, 200]),
                received(o, 0, b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\nprocessed\n"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_hints_dropped_for_http10",
        about: "an HTTP/1.0 client never gets a 1xx (RFC 9110 §15.2): the app's 103 is dropped, not refused",
        seed: 1,
        build: |_| one("app_api/early_hints_dropped_for_http10", "GET /hints HTTP/1.0\r\n\r\n".into()),
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                absent(o, bytes_received(b"103")),
                absent(o, twine_sim::pattern::any_app_refused()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "body_parts_one_chunk",
        about: "`SendBodyParts` (Twisted's `writeSequence`) of four buffers goes out as one chunk",
        seed: 1,
        build: |_| one("app_api/body_parts_one_chunk", get_close("/parts")),
        expect: |o| {
            all([
                bodies(o, 0, &[Some(b"Hello, world!\n")]),
                received(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\ne\r\nHello, world!\n\r\n0\r\n\r\n"),
                count(o, app(AppAction::BodyParts { request: R0, parts: 4, bytes: 14 }), 1),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_before_head",
        about: "`Close` before any head writes nothing and closes gracefully (Twisted's test_losingConnection)",
        seed: 1,
        build: |_| one("app_api/close_before_head", get("/close")),
        expect: |o| {
            all([
                received(o, 0, b""),
                in_order(o, &[app(AppAction::Close { request: R0 }), server(ServerEvent::ShutdownWrite), client(ClientEvent::Eof), close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_during_upload",
        about: "`Close` on a POST whose body is still coming stops reading it: the body that follows never reaches the app, nothing is written, and the connection closes gracefully",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/close_during_upload", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("POST /close HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(5)))
                    .send("0123456789"),
            );
            s
        },
        expect: |o| {
            all([
                received(o, 0, b""),
                absent(o, twine_sim::pattern::any_body()),
                in_order(o, &[app(AppAction::Close { request: R0 }), server(ServerEvent::ShutdownWrite), client(ClientEvent::Eof), close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_mid_body",
        about: "`Close` mid-body writes what was sent, then FIN: the client sees 10 of 20 declared bytes and a clean end, no reset",
        seed: 1,
        build: |_| one("app_api/close_mid_body", get("/close-mid-body")),
        expect: |o| {
            all([
                received(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\nfirst half"),
                in_order(o, &[app(AppAction::Close { request: R0 }), client(ClientEvent::Eof)]),
                absent(o, twine_sim::pattern::any_reset()),
                in_order(o, &[close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_after_a_whole_body",
        about: "`Close` after every byte the `Content-Length` declares but before `Finish` (Twisted's `loseConnection` after the last `write`): the head went out before the `Close`, so without `Connection: close`, but the response on the wire is whole, then FIN; a GET pipelined behind it is never answered",
        seed: 1,
        build: |_| one("app_api/close_after_a_whole_body", format!("{}{}", get("/close-after-body"), get("/hints"))),
        expect: |o| {
            all([
                received(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 22\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\nwhole body, no finish\n"),
                in_order(o, &[app(AppAction::Close { request: R0 }), client(ClientEvent::Eof)]),
                absent(o, twine_sim::pattern::any_reset()),
                in_order(o, &[close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_after_loses_pipelined",
        about: "`Close` after a complete response: the two requests dispatched behind it are reported lost (their commands refused), the fourth is never read",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/close_after_loses_pipelined", depth_two());
            s.clients.push(ClientScript::new().send(format!("{}{}{}{}", get("/close-after"), get("/hints"), get("/parts"), get("/hints"))));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"bye\n"), None, None, None]),
                in_order(o, &[app(AppAction::Close { request: R0 }), client(ClientEvent::Eof)]),
                // Whichever pipelined requests had arrived when the app closed (all that fit
                // the pipeline, when they came in one read) are lost, none answered.
                all((1..=2).map(|k| match count(o, twine_sim::pattern::request_id(k), 1).is_empty() {
                    true => in_order(o, &[app(AppAction::Close { request: R0 }), lost(k)]),
                    false => absent(o, lost(k)),
                })),
                absent(o, twine_sim::pattern::request_id(3)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_waits_for_the_response_before_it",
        about: "`Close` on a pipelined request never cuts the response in front of it: that one finishes in full, then the connection ends",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/close_waits_for_the_response_before_it", depth_two());
            s.faults = slow_reader(8192, 4096);
            s.clients.push(ClientScript::new().send(format!("{}{}", get("/handover/100000"), get("/close"))));
            s
        },
        expect: |o| {
            let body = expected_body(100_000);
            all([
                long_bodies(o, 0, &[Some(&body), None]),
                in_order(o, &[app(AppAction::Close { request: RequestId::from_sequence(1) }), twine_sim::pattern::finish(0), client(ClientEvent::Eof)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_on_an_upload_behind_a_response",
        about: "`Close` on a pipelined upload of 100 000 bytes while a 100 000-byte response streams to a slow reader for about a second: the rest of the upload is discarded as it comes (reading never pauses for it), the response in front finishes in full, then the connection ends",
        seed: 1,
        build: |_| upload_closed_behind_a_response("app_api/close_on_an_upload_behind_a_response", depth_two(), 100_000),
        expect: |o| {
            let body = expected_body(100_000);
            let closed = || app(AppAction::Close { request: RequestId::from_sequence(1) });
            // Before it, reading may pause: the upload's head waits while the transport is
            // blocked (cut into small reads, it may not have been read at once).
            let paused = server(ServerEvent::Reading { state: twine_engine::ReadState::Paused });
            let paused_after = from_first(o, &closed()).map_or(0, |after| after.iter().filter(|e| paused.matches(e)).count());
            all([
                long_bodies(o, 0, &[Some(&body), None]),
                in_order(o, &[closed(), twine_sim::pattern::finish(0), client(ClientEvent::Eof)]),
                if paused_after == 0 { Vec::new() } else { failed_on(0, format!("reading paused {paused_after} times after the app's Close: the rest of the upload is for discarding")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "close_on_an_upload_past_the_discard_budget",
        about: "as `close_on_an_upload_behind_a_response` with an upload of 300 000 bytes and linger_bytes_max 16 384: after the app's `Close`, at most 16 384 bytes of it are read and discarded, then reading pauses for good; the response in front still finishes in full",
        seed: 1,
        build: |_| {
            let mut config = depth_two();
            config.limits.linger_bytes_max = 16_384;
            upload_closed_behind_a_response("app_api/close_on_an_upload_past_the_discard_budget", config, 300_000)
        },
        expect: |o| {
            let body = expected_body(100_000);
            let closed = app(AppAction::Close { request: RequestId::from_sequence(1) });
            let read_after = from_first(o, &closed).map_or(0, server_read_bytes);
            all([
                long_bodies(o, 0, &[Some(&body), None]),
                if read_after <= 16_384 { Vec::new() } else { failed_on(0, format!("{read_after} bytes read after the app's Close, past the discard budget of 16384")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_answer_keeps_the_connection",
        about: "an upload of 50 000 bytes answered at its first 8 bytes (`/early-answer`, web2's early reply after reading some of the body), then a GET pipelined behind it: the rest of the body is read and dropped so the connection stays in step, and the GET is answered on it",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/early_answer_keeps_the_connection", quick_config());
            s.clients.push(ClientScript::new().send(format!("{}{}", early_answer_upload(50_000, 50_000), get_close("/respond"))));
            s
        },
        expect: |o| all([bodies(o, 0, &[Some(b"early\n"), Some(b"whole\n")]), absent(o, twine_sim::pattern::any_protocol_error())]),
    },
    Entry {
        family: FAMILY,
        name: "early_answer_then_a_body_past_the_discard_budget",
        about: "an upload of 300 000 bytes answered at its first 8 bytes, under linger_bytes_max 16 384: the rest of the body is read and dropped only up to the discard budget, then reading stops and the connection ends (the response promised no close: a server may end a persistent connection, and this one will not read 300 000 bytes to keep it). The client is owed no answer: closing on unread bytes resets the connection, which may destroy the answer before it is read",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.linger_bytes_max = 16_384;
            let mut s = api("app_api/early_answer_then_a_body_past_the_discard_budget", config);
            // It sends on past what the server will drop, so it is owed no answer: when the server
            // closes on bytes it has not read, the reset may come before the answer is read.
            s.clients.push(ClientScript::new().send(early_answer_upload(300_000, 300_000)).misbehaving());
            s
        },
        expect: |o| {
            let answered = app_where("the early answer", |a| matches!(a, AppAction::Respond { status: 200, .. }));
            let read_after = from_first(o, &answered).map_or(0, server_read_bytes);
            all([
                bodies(o, 0, &[Some(b"early\n")]),
                in_order(o, &[answered.clone(), close(CloseReason::Graceful)]),
                // The read that spends the budget may fill the receive buffer; none follows it.
                if read_after <= 16_384 + 16_384 { Vec::new() } else { failed_on(0, format!("{read_after} bytes read after the answer, past the discard budget of 16384 and one receive buffer")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_answer_then_a_malformed_chunk",
        about: "a chunked upload answered at its first bytes, whose next chunk size is not hex: the body being dropped is malformed, so it can never end and the connection cannot stay in step; it closes there, at once (no 400: a response has been sent; no timer), and the GET behind it is never read",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/early_answer_then_a_malformed_chunk", quick_config());
            let upload = "POST /early-answer HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n";
            let client = ClientScript::new().send(upload).then(Action::Sleep(Duration::from_millis(50))).send(format!("zz\r\n{}", get_close("/respond"))).misbehaving();
            s.clients.push(client);
            s
        },
        expect: |o| {
            all([
                bodies(o, 0, &[Some(b"early\n")]),
                absent(o, twine_sim::pattern::request_id(1)),
                absent(o, bytes_received(b"HTTP/1.1 4")),
                absent(o, twine_sim::pattern::any_timer_fired()),
                in_order(o, &[client(ClientEvent::Eof), close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "early_answer_then_the_client_stops_mid_body",
        about: "an upload declaring 1 000 bytes answered at its first bytes, whose client sends 10 and, 50 ms later, its FIN: the body being dropped can never end, so the connection closes as the FIN arrives, without waiting for a timer",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/early_answer_then_the_client_stops_mid_body", quick_config());
            let client = ClientScript::new().send(early_answer_upload(1_000, 10)).then(Action::Sleep(Duration::from_millis(50))).then(Action::ShutdownWrite);
            s.clients.push(client);
            s
        },
        expect: |o| {
            all([
                bodies(o, 0, &[Some(b"early\n")]),
                in_order(o, &[client(ClientEvent::ShutdownWrite), server(ServerEvent::ReadEof), close(CloseReason::Graceful), client(ClientEvent::Eof)]),
                absent(o, twine_sim::pattern::any_timer_fired()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "reset_loses_the_queued_response",
        about: "a client resets its connection while a 100 000-byte response streams to it and a second, complete response waits behind it (pipeline depth 2): the app is told both requests are lost, the finished one too, since its bytes never reached the wire (when the second was read before the reset)",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/reset_loses_the_queued_response", depth_two());
            s.faults = slow_reader(8192, 4096);
            let client = ClientScript::new()
                .send(format!("{}{}", get("/handover/100000"), get("/respond")))
                .then(Action::WaitFor("\r\n\r\n".into()))
                .then(Action::Reset)
                .misbehaving();
            s.clients.push(client);
            s
        },
        expect: |o| {
            let finished = || app(AppAction::Respond { request: RequestId::from_sequence(1), status: 200, bytes: 6 });
            let reset = || client(ClientEvent::Reset);
            // Cut into small reads, the second request may not have been read before the
            // reset: then the app never heard of it, and there is nothing to lose.
            let answered_first = in_order(o, &[finished(), reset()]).is_empty();
            all([
                in_order(o, &[reset(), lost(0)]),
                if answered_first { in_order(o, &[reset(), lost(1)]) } else { absent(o, lost(1)) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "reset_after_a_close_behind_a_response",
        about: "a client resets its connection while a 100 000-byte response streams to it and the app has closed the pipelined request behind it (`Close`, pipeline depth 2): the first is reported lost, the closed one never (the app knows its end)",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/reset_after_a_close_behind_a_response", depth_two());
            s.faults = slow_reader(8192, 4096);
            let client = ClientScript::new()
                .send(format!("{}{}", get("/handover/100000"), get("/close")))
                .then(Action::WaitFor("\r\n\r\n".into()))
                .then(Action::Sleep(Duration::from_millis(2)))
                .then(Action::Reset)
                .misbehaving();
            s.clients.push(client);
            s
        },
        expect: |o| all([in_order(o, &[client(ClientEvent::Reset), lost(0)]), absent(o, lost(1))]),
    },
    Entry {
        family: FAMILY,
        name: "abort_before_head",
        about: "`Abort` before any head (web2's `abortConnection`) aborts the connection (a reset on a real socket) with nothing written",
        seed: 1,
        build: |_| one("app_api/abort_before_head", get("/abort")),
        expect: |o| all([received(o, 0, b""), in_order(o, &[close(CloseReason::Abort), server(ServerEvent::SocketAborted), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "abort_behind_a_response",
        about: "`Abort` on the second of four pipelined requests (depth 3) while a 100 000-byte response in front streams to a slow reader: the one in front is never corrupted, it finishes in full; the aborted request gets nothing, the third, dispatched already, is lost (the app is told), the fourth is never read, and the connection then closes gracefully (no reset)",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.pipeline_depth_max = 3;
            let mut s = api("app_api/abort_behind_a_response", config);
            s.faults = slow_reader(8192, 100);
            let requests = format!("{}{}{}{}", get("/handover/100000"), get("/abort"), get("/respond"), get("/respond"));
            s.clients.push(ClientScript::new().send(requests));
            s
        },
        expect: |o| {
            let body = expected_body(100_000);
            let aborted = || app(AppAction::Abort { request: RequestId::from_sequence(1) });
            all([
                long_bodies(o, 0, &[Some(&body), None, None, None]),
                in_order(o, &[aborted(), twine_sim::pattern::finish(0), client(ClientEvent::Eof), close(CloseReason::Graceful)]),
                // The third is lost if it was read before the abort (bytes cut otherwise may
                // bring it later, when nothing more is read).
                if count(o, twine_sim::pattern::request_id(2), 1).is_empty() { in_order(o, &[aborted(), lost(2)]) } else { absent(o, twine_sim::pattern::request_id(2)) },
                absent(o, server(ServerEvent::SocketAborted)),
                absent(o, twine_sim::pattern::request_id(3)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "respond_past_the_inline_bound",
        about: "`Respond` with bodies of 1 024 bytes (copied after the head, one output) and of 1 025, 5 000 and 60 000 (head and body as two outputs, the body never copied; one app write, within the judge's bound on what the engine may hold past its send buffer), keep-alive to a slow reader, a HEAD among them: each body arrives whole under its `Content-Length`, the HEAD's head says 5 000 and no byte of its body is sent",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/respond_past_the_inline_bound", quick_config());
            s.faults = slow_reader(8192, 100);
            let head = "HEAD /respond/5000 HTTP/1.1\r\nHost: h\r\n\r\n";
            let requests = format!("{}{}{head}{}{}", get("/respond/1024"), get("/respond/1025"), get("/respond/5000"), get_close("/respond/60000"));
            s.clients.push(ClientScript::new().send(requests));
            s
        },
        expect: |o| {
            let bodies = [1_024, 1_025, 0, 5_000, 60_000].map(expected_body);
            let field = b"Content-Length: 5000\r\n";
            let heads = o.clients[0].received.windows(field.len()).filter(|w| w == field).count();
            let heads_length = if heads == 2 { Vec::new() } else { failed_on(0, format!("{heads} heads with Content-Length: 5000, expected 2 (the HEAD's and the GET's)")) };
            all([long_bodies(o, 0, &bodies.iter().map(|b| Some(&b[..])).collect::<Vec<_>>()), heads_length])
        },
    },
    Entry {
        family: FAMILY,
        name: "abort_discards_unwritten_output",
        about: "`Abort` mid-body discards what the driver has not written yet, unlike `Close`: here head and body were still queued, so the client gets nothing before the abort",
        seed: 1,
        build: |_| one("app_api/abort_discards_unwritten_output", get("/abort-mid-body")),
        expect: |o| all([received(o, 0, b""), in_order(o, &[close(CloseReason::Abort), server(ServerEvent::SocketAborted), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "producer_handover",
        about: "a push producer sends half a body under backpressure, is unregistered, and a pull producer sends the rest",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/producer_handover", quick_config());
            s.faults = slow_reader(8192, 4096);
            s.clients.push(ClientScript::new().send(get_close("/handover/40000")));
            s
        },
        expect: |o| {
            let body = expected_body(40_000);
            all([
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        app(AppAction::RegisterProducer { request: R0, kind: ProducerKind::Push }),
                        producer(0, ProducerState::Paused),
                        producer(0, ProducerState::Producing),
                        app(AppAction::UnregisterProducer { request: R0 }),
                        app(AppAction::RegisterProducer { request: R0, kind: ProducerKind::Pull }),
                        server(ServerEvent::Pull { id: R0 }),
                        producer(0, ProducerState::Paused),
                        producer(0, ProducerState::Stopped),
                    ],
                ),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "pull_producer_slow_reader",
        about: "the stream app's pull route sends one chunk per pull, each pull handed on only once the last chunk is written, and a slow reader pauses the pulls",
        seed: 1,
        build: |_| {
            let mut s = Scenario::new("app_api/pull_producer_slow_reader", quick_config(), app_factory::<Stream>());
            s.faults = slow_reader(16384, 8192);
            s.clients.push(ClientScript::new().send(get_close("/pull/100000")));
            s
        },
        expect: |o| {
            let body = expected_body(100_000);
            all([
                long_bodies(o, 0, &[Some(&body)]),
                in_order(o, &[app(AppAction::RegisterProducer { request: R0, kind: ProducerKind::Pull }), producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), producer(0, ProducerState::Stopped)]),
                // Seven chunks, each asked for once; the eighth pull, asked for as the last
                // chunk was taken, dies with the producer when the app finishes.
                count(o, server(ServerEvent::Pull { id: R0 }), 8),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_second_producer",
        about: "a second producer is refused (`ProducerAlreadyRegistered`; Twisted raises RuntimeError) and the response is unharmed",
        seed: 1,
        build: |_| one("app_api/misuse_second_producer", get_close("/misuse/second-producer")),
        expect: |o| {
            all([
                bodies(o, 0, &[Some(b"ok\n")]),
                count(o, refused(AppAction::RegisterProducer { request: R0, kind: ProducerKind::Pull }, UsageError::ProducerAlreadyRegistered), 1),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_body_after_finish",
        about: "body after finish is refused (`AlreadyFinished`; Twisted raises RuntimeError) and nothing follows the response",
        seed: 1,
        build: |_| one("app_api/misuse_body_after_finish", get_close("/misuse/body-after-finish")),
        expect: |o| {
            all([
                received_body_then_eof(o),
                count(o, refused(AppAction::Body { request: R0, bytes: 4 }, UsageError::AlreadyFinished), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_late_hints",
        about: "a 1xx after the final head is refused (`HeadAlreadySent`), never written into the body",
        seed: 1,
        build: |_| one("app_api/misuse_late_hints", get_close("/misuse/late-hints")),
        expect: |o| {
            all([
                received_body_then_eof(o),
                absent(o, bytes_received(b"103")),
                count(o, refused(AppAction::Informational { request: R0, status: 103 }, UsageError::HeadAlreadySent), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_informational_statuses",
        about: "a 101 and a 200 sent as informational heads are refused (`InvalidStatus`: a 1xx other than 101 only), nothing of them written; the app's final head goes out",
        seed: 1,
        build: |_| one("app_api/misuse_informational_statuses", get_close("/misuse/informational-statuses")),
        expect: |o| {
            all([
                received_body_then_eof(o),
                absent(o, bytes_received(b"101")),
                count(o, refused(AppAction::Informational { request: R0, status: 101 }, UsageError::InvalidStatus), 1),
                count(o, refused(AppAction::Informational { request: R0, status: 200 }, UsageError::InvalidStatus), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_framing_header",
        about: "a head carrying `Transfer-Encoding` is refused (`FramingHeader`: the channel owns framing); the app's next head goes out",
        seed: 1,
        build: |_| one("app_api/misuse_framing_header", get_close("/misuse/framing")),
        expect: |o| {
            all([
                received_body_then_eof(o),
                absent(o, bytes_received(b"Transfer-Encoding")),
                count(o, refused(AppAction::Head { request: R0, status: 200 }, UsageError::FramingHeader), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_body_lengths",
        about: "bodies that do not match their `Content-Length` are refused and write nothing: a `Respond` short of it or past it, a `SendBody` past it (`BodyTooLong`), a `Finish` short of it (`BodyTooShort`); the body then completed goes out",
        seed: 1,
        build: |_| one("app_api/misuse_body_lengths", get_close("/misuse/body-lengths")),
        expect: |o| {
            all([
                received_body_then_eof(o),
                absent(o, bytes_received(b"too long")),
                count(o, refused(AppAction::Respond { request: R0, status: 200, bytes: 3 }, UsageError::BodyTooShort), 1),
                count(o, refused(AppAction::Respond { request: R0, status: 200, bytes: 3 }, UsageError::BodyTooLong), 1),
                count(o, refused(AppAction::Body { request: R0, bytes: 9 }, UsageError::BodyTooLong), 1),
                count(o, refused(AppAction::Finish { request: R0 }, UsageError::BodyTooShort), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_heads",
        about: "heads the channel must not write are refused one by one: statuses of 1000 and 600 (`InvalidStatus`: RFC 9110 §15 allows 100 to 599), a reason phrase and a field value carrying a CRLF and a second field (`InvalidHeader`: no response splitting), a 204 with a `Content-Length` (`FramingHeader`), two `Content-Length`s and an empty one (`InvalidHeader`: a length the client would read one way or another); the app's next head goes out",
        seed: 1,
        build: |_| one("app_api/misuse_heads", get_close("/misuse/heads")),
        expect: |o| {
            all([
                received_body_then_eof(o),
                absent(o, bytes_received(b"smuggled")),
                absent(o, bytes_received(b"1000")),
                count(o, refused(AppAction::Head { request: R0, status: 1000 }, UsageError::InvalidStatus), 1),
                count(o, refused(AppAction::Head { request: R0, status: 600 }, UsageError::InvalidStatus), 1),
                count(o, refused(AppAction::Head { request: R0, status: 200 }, UsageError::InvalidHeader), 4),
                count(o, refused(AppAction::Head { request: R0, status: 204 }, UsageError::FramingHeader), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "fields_mirrored",
        about: "response fields the app copies from the request (`/mirror`) go out as they came, in order: a 14-letter name that is not `Content-Length` (`X-Checksum-Md5`), a 10-letter one that is not `Connection` though its value is `close`, a 4-letter one that is not `Date` (the channel still adds its own `Date` and `Server`), a lower-case name, a value with an inner tab, an empty value and one with an obs-text byte (RFC 9110 §5.5); the app's lower-case `content-length` frames the body, and the connection serves the next request",
        seed: 1,
        build: |_| {
            let first = "GET /mirror HTTP/1.1\r\nHost: h\r\nX-Checksum-Md5: abc\r\nX-Close-It: close\r\nx-lower: a\tb\r\nX-Empty:\r\nX-Ab: 4\r\nX-Obs: caf\u{e9}\r\n\r\n";
            let mut bytes = first.as_bytes().to_vec();
            // The obs-text byte as itself (0xE9), not as the two bytes of UTF-8's é.
            let e = bytes.windows(2).position(|w| w == "\u{e9}".as_bytes()).expect("é");
            bytes.splice(e..e + 2, [0xe9]);
            bytes.extend_from_slice(get_close("/mirror").as_bytes());
            let mut s = api("app_api/fields_mirrored", quick_config());
            s.clients.push(ClientScript::new().send(bytes));
            s
        },
        expect: |o| {
            all([
                received_dated(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Checksum-Md5: abc\r\nX-Close-It: close\r\nx-lower: a\tb\r\nX-Empty: \r\nX-Ab: 4\r\nX-Obs: caf\xe9\r\ncontent-length: 3\r\nDate: *\r\nServer: twine\r\n\r\nok\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 3\r\nConnection: close\r\nDate: *\r\nServer: twine\r\n\r\nok\n"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "static_field_heads_told_apart",
        about: "responses under one static field list (`/fixed/`), whose head the channel keeps and reuses while nothing in it changes: a reason phrase of the app's, another status, a HEAD, a 500, an HTTP/1.0 keep-alive and a last `Connection: close` each get their own head, and the plain 200 between them its first one again",
        seed: 1,
        build: |_| {
            let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n");
            let requests = [
                get("/fixed/200"),
                get("/fixed/200/Fine"),
                get("/fixed/200"),
                get("/fixed/404"),
                "HEAD /fixed/200 HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
                get("/fixed/500"),
                "GET /fixed/200 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_owned(),
                get_close("/fixed/200"),
            ];
            let mut s = api("app_api/static_field_heads_told_apart", quick_config());
            s.clients.push(ClientScript::new().send(requests.concat()));
            s
        },
        expect: |o| {
            let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nDate: *\r\nServer: twine\r\n\r\n";
            let stream = [
                ok,
                "ok\n",
                "HTTP/1.1 200 Fine\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nDate: *\r\nServer: twine\r\n\r\nok\n",
                ok,
                "ok\n",
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nDate: *\r\nServer: twine\r\n\r\nok\n",
                ok,
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nDate: *\r\nServer: twine\r\n\r\nok\n",
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\nDate: *\r\nServer: twine\r\n\r\nok\n",
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\nDate: *\r\nServer: twine\r\n\r\nok\n",
            ]
            .concat();
            all([received_dated(o, 0, stream.as_bytes()), clean_eof(o, 0)])
        },
    },
    Entry {
        family: FAMILY,
        name: "http10_keep_alive_close_delimited",
        about: "an HTTP/1.0 request asking for keep-alive, answered by an app that gives no length (`/parts`): the body can only be delimited by closing, so the response says `Connection: close`, the connection closes after it and the request pipelined behind is never answered (RFC 9112 §6.3, 8)",
        seed: 1,
        build: |_| {
            let requests = "GET /parts HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /respond HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
            let mut s = api("app_api/http10_keep_alive_close_delimited", quick_config());
            s.clients.push(ClientScript::new().send(requests));
            s
        },
        expect: |o| {
            all([
                received_dated(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nDate: *\r\nServer: twine\r\n\r\nHello, world!\n"),
                absent(o, bytes_received(b"whole")),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "own_fields",
        about: "a head naming its own `Server` and `Connection: keep-alive, Close` goes out with one `Server` and one `Connection: close`; the connection closes after it and the request pipelined behind it is never answered",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/own_fields", quick_config());
            s.clients.push(ClientScript::new().send(format!("{}{}", get("/own-fields"), get("/respond"))));
            s
        },
        expect: |o| {
            all([
                received_dated(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: api\r\nContent-Length: 3\r\nConnection: close\r\nDate: *\r\n\r\nok\n"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "empty_writes_send_nothing",
        about: "empty `SendBody` and `SendBodyParts` pieces in a chunked body write nothing (an empty chunk would end the body early, Twisted's `write(b\"\")`)",
        seed: 1,
        build: |_| one("app_api/empty_writes_send_nothing", get_close("/empty-writes")),
        expect: |o| {
            all([
                received_dated(o, 0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nDate: *\r\nServer: twine\r\n\r\n3\r\nok\n\r\n2\r\n!\n\r\n0\r\n\r\n"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "misuse_write_while_paused",
        about: "an app that answers its first pause with 8 writes of 16 KiB: the channel takes them while the bytes handed out since the transport blocked stay under the send buffer's bound (64 KiB: 4 writes) and refuses the other 4 (`Blocked`, nothing written); the response then completes with what was taken",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/misuse_write_while_paused", quick_config());
            s.faults = slow_reader(8192, 4096);
            s.clients.push(ClientScript::new().send(get_close("/misuse/write-while-paused")));
            s
        },
        expect: |o| {
            let blocked = UsageError::Send(twine_engine::SendError::Blocked);
            let write = AppAction::Body { request: R0, bytes: 16_384 };
            all([
                count(o, refused(write, blocked), 4),
                statuses(o, 0, &[200]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "expect_continue_behind_a_slow_response",
        about: "with depth 2, an upload asking `Expect: 100-continue` pipelined behind a response streamed to a slow reader (about a second): its 100 waits for the response before it, and the client with it, so its body timer (200 ms here) does not run meanwhile; the upload then goes through",
        seed: 1,
        build: |_| {
            let mut config = depth_two();
            config.timeouts.body_read = Duration::from_millis(200);
            let mut s = api("app_api/expect_continue_behind_a_slow_response", config);
            s.faults = slow_reader(8192, 100);
            s.clients.push(
                ClientScript::new()
                    .send(format!("{}POST /accept HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", get("/handover/100000")))
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("hello"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 100, 200]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "expect_continue_while_the_app_waits",
        about: "an upload asking `Expect: 100-continue` to an app that looks at the request for a second before it asks for the body (`/accept-after/1000`, a `callLater`): the client rightly waits for its 100 all that while, so the body timer (200 ms here) does not run; the 100 comes a second in and the upload goes through",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.body_read = Duration::from_millis(200);
            let mut s = api("app_api/expect_continue_while_the_app_waits", config);
            s.clients.push(
                ClientScript::new()
                    .send("POST /accept-after/1000 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
                    .then(Action::WaitFor("100 Continue".into()))
                    .send("hello"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[100, 200]), bodies(o, 0, &[Some(b"received 5 bytes\n")]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "deferred_reader_and_answer",
        about: "an app that leaves a request alone for a while (`/accept-after/<ms>`, a `callLater`): a body sent at once waits in the channel's buffer for the app's credit, not counted as a stalled upload (body timer 200 ms here, the app waiting 1 s), and a GET it answers 5 s later, past the idle and linger timeouts, is answered on the same connection: no timer runs while the connection waits on its app",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.body_read = Duration::from_millis(200);
            let mut s = api("app_api/deferred_reader_and_answer", config);
            let post = "POST /accept-after/1000 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
            s.clients.push(ClientScript::in_turn([post, "GET /accept-after/5000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"], "bytes\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"received 5 bytes\n"), Some(b"received 0 bytes\n")]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "deferred_answer_while_a_body_comes",
        about: "a GET the app answers 300 ms later (`/accept-after/300`) with, pipelined behind it (depth 2), an upload whose second half comes 2 s later: the channel's body timer runs for the upload meanwhile, and the connection's one alarm rings at the earlier of the two times, so the GET is answered at 300 ms, not when the upload next moves",
        seed: 1,
        build: |_| {
            let mut s = api("app_api/deferred_answer_while_a_body_comes", depth_two());
            let requests = format!("{}POST /accept HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\nConnection: close\r\n\r\n0123456789", get("/accept-after/300"));
            s.clients.push(ClientScript::new().send(requests).then(Action::Sleep(Duration::from_secs(2))).send("0123456789"));
            s
        },
        expect: |o| {
            let answered = twine_sim::pattern::head(0, 200);
            let at = answered.find(&o.trace, 0).map(|i| o.trace.entries[i].at_nanos / 1_000_000);
            let in_time = match at {
                Some(ms) if ms < 1_000 => Vec::new(),
                at => failed_on(0, format!("the GET answered at {at:?} ms, expected about 300")),
            };
            all([in_time, bodies(o, 0, &[Some(b"received 0 bytes\n"), Some(b"received 20 bytes\n")])])
        },
    },
    Entry {
        family: FAMILY,
        name: "field_values_with_tabs_and_obs_text",
        about: "field values as RFC 9110 §5.5 and RFC 9112 §5 allow them: no space after the colon, tabs as the whitespace around a value (trimmed, a `Content-Length` too), a tab inside one and UTF-8 bytes (obs-text, kept as sent), an empty value; the api app's `/request` shows what it got, and `/accept` counts the body a tab-padded length framed",
        seed: 1,
        build: |_| {
            let get = "GET /request HTTP/1.1\r\nHost:h\r\nX-Tabbed:\t a b \t\r\nX-Name: caf\u{e9}\tbar\t\r\nX-Empty:\r\n\r\n";
            let post = "POST /accept HTTP/1.1\r\nHost: h\r\nContent-Length:\t5\t\r\nConnection: close\r\n\r\nhello";
            one("app_api/field_values_with_tabs_and_obs_text", format!("{get}{post}"))
        },
        expect: |o| {
            let described = "GET /request HTTP/1.1\nHost: h\nX-Tabbed: a b\nX-Name: caf\u{e9}\tbar\nX-Empty: \nbody: length 0\n100 continue owed: no\n";
            all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(described.as_bytes()), Some(b"received 5 bytes\n")])])
        },
    },
    Entry {
        family: FAMILY,
        name: "request_as_the_app_sees_it",
        about: "what the channel hands the app (the api app's `/request` describes it): the request line as sent, every field in order with its name's case and its value trimmed, the body's framing and whether a `100 Continue` is owed; an absolute-form target is routed by its path",
        seed: 1,
        build: |_| {
            let get = "GET /request?q=1 HTTP/1.1\r\nHost: h\r\nX-Mixed-Case:  a b  \r\nAccept: */*\r\n\r\n";
            let absolute = "POST http://h/request HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
            let chunked = "PUT /request HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n0\r\n\r\n";
            one("app_api/request_as_the_app_sees_it", format!("{get}{absolute}{chunked}"))
        },
        expect: |o| {
            all([
                bodies(o, 0, &[
                    Some(b"GET /request?q=1 HTTP/1.1\nHost: h\nX-Mixed-Case: a b\nAccept: */*\nbody: length 0\n100 continue owed: no\n"),
                    Some(b"POST http://h/request HTTP/1.1\nHost: h\nContent-Length: 0\nbody: length 0\n100 continue owed: no\n"),
                    Some(b"PUT /request HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\nExpect: 100-continue\nConnection: close\nbody: until its end\n100 continue owed: yes\n"),
                ]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "reason_phrases",
        about: "every final status with a registered reason phrase (RFC 9110 §15), asked of the api app's `/status/<n>`, goes out with that phrase; an unregistered one (599) with an empty one",
        seed: 1,
        build: |_| {
            let gets: String = REASONS.iter().map(|(status, _)| get(&format!("/status/{status}"))).collect();
            one("app_api/reason_phrases", format!("{gets}{}", get_close("/status/599")))
        },
        expect: |o| {
            let lines: Vec<String> = REASONS.iter().map(|(status, reason)| format!("HTTP/1.1 {status} {reason}\r\n")).chain(["HTTP/1.1 599 \r\n".to_owned()]).collect();
            let parts: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
            all([received_in_order(o, 0, &parts), clean_eof(o, 0)])
        },
    },
];

/// Exactly one `200` with body `ok\n`, then a clean end.
fn received_body_then_eof(o: &twine_sim::Outcome) -> Vec<twine_sim::Violation> {
    all([
        statuses(o, 0, &[200]),
        bodies(o, 0, &[Some(b"ok\n")]),
        clean_eof(o, 0),
    ])
}
