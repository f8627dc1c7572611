//! The server drained as `twine serve` drains on SIGTERM (`NetFault::DrainServer`): it stops
//! accepting, and each connection finishes the requests it has begun, then closes at once:
//! an idle keep-alive connection without waiting for its idle timer, one busy with a response
//! once that response is whole; HTTP/2 says GOAWAY with the last stream taken and lets that
//! stream finish.

use std::time::Duration;

use twine_apps::stream::expected_body;
use twine_apps::Stream;
use twine_engine::h2::frame::{ErrorCode, Frame};
use twine_engine::{CloseReason, Timer};
use twine_sim::pattern::{app, close, fault, finish, timer_fired};
use twine_sim::{app as app_factory, Action, ClientScript, Grants, NetFault, Outcome, Scenario};
use twine_sim::{AppAction, Fault, Violation};

use super::backpressure::long_bodies;
use super::expect::{absent, all, bodies, clean_eof, failed_on, in_order, statuses};
use super::http2::{answered, answers, frames_received, goaway, H2Script};
use super::{echo, quick_config, slow_reader, stream, Entry};

const FAMILY: &str = "drain";

/// When the server drains: after every request of these scenarios was read, under any swarm
/// latency, and long before a 200 000-byte download to a slow reader can end.
const DRAIN_AT: Duration = Duration::from_millis(20);

/// The length of the download in flight when the drain starts.
const DOWNLOAD: usize = 200_000;

fn drain_at(s: &mut Scenario, at: Duration) {
    s.net.push((at, NetFault::DrainServer));
}

/// The drain was applied, told to the app's connection, and the connection then closed
/// gracefully.
fn drained_gracefully(o: &Outcome) -> Vec<Violation> {
    let drained = fault(Fault::Network {
        fault: NetFault::DrainServer,
    });
    in_order(
        o,
        &[drained, app(AppAction::Drain), close(CloseReason::Graceful)],
    )
}

/// A slow download of `DOWNLOAD` bytes on HTTP/1.1, the drain starting midway.
fn download(name: &str) -> Scenario {
    let mut s = stream(name, quick_config());
    s.faults = slow_reader(8192, 4096);
    let get = format!("GET /stream/{DOWNLOAD} HTTP/1.1\r\nHost: h\r\n\r\n");
    s.clients.push(ClientScript::new().send(get));
    drain_at(&mut s, DRAIN_AT);
    s
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "idle_connections_close_at_once",
        about: "two keep-alive connections idle after their responses close as soon as the server drains, gracefully, without waiting for their idle timer",
        seed: 1,
        build: |_| {
            let mut s = echo("drain/idle_connections_close_at_once", quick_config());
            for path in ["/a", "/b"] {
                let get = format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n");
                s.clients.push(ClientScript::new().send(get));
            }
            drain_at(&mut s, DRAIN_AT);
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                statuses(o, 1, &[200]),
                bodies(o, 0, &[Some(b"")]),
                clean_eof(o, 0),
                clean_eof(o, 1),
                drained_gracefully(o),
                absent(o, timer_fired(Timer::IdleKeepAlive)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "download_in_flight_finishes",
        about: "a 200 000-byte download to a slow reader, midway when the server drains, is finished whole before the connection closes gracefully",
        seed: 1,
        build: |_| download("drain/download_in_flight_finishes"),
        expect: |o| {
            let body = expected_body(DOWNLOAD);
            all([
                long_bodies(o, 0, &[Some(&body)]),
                clean_eof(o, 0),
                drained_gracefully(o),
                in_order(o, &[app(AppAction::Drain), finish(0), close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "newcomer_refused",
        about: "a client connecting after the drain began is refused (the server no longer accepts), while the download in flight still finishes whole",
        seed: 1,
        build: |_| {
            let mut s = download("drain/newcomer_refused");
            let get = "GET /stream/10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
            s.clients.push(ClientScript::new().starting_at(Duration::from_millis(40)).send(get));
            s
        },
        expect: |o| {
            let body = expected_body(DOWNLOAD);
            let newcomer = &o.clients[1];
            let refused = if newcomer.error.is_some() && newcomer.received.is_empty() {
                Vec::new()
            } else {
                failed_on(1, format!("the newcomer was not refused: {:?}", newcomer.error))
            };
            all([long_bodies(o, 0, &[Some(&body)]), clean_eof(o, 0), refused])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_stream_in_flight_finishes",
        about: "an HTTP/2 download of 200 000 bytes to a slow reader, midway when the server drains: GOAWAY(NO_ERROR) names stream 1 as the last taken, before the stream's end, and the stream finishes whole",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", &format!("/stream/{DOWNLOAD}"), true);
            let mut s = Scenario::new("drain/http2_stream_in_flight_finishes", quick_config(), app_factory::<Stream>());
            s.faults = slow_reader(8192, 4096);
            s.clients.push(ClientScript::new().send(script.bytes()).granting(Grants::All));
            drain_at(&mut s, DRAIN_AT);
            s
        },
        expect: |o| {
            let frames = frames_received(o, 0);
            let goaway_at = frames.iter().position(|f| matches!(f, Frame::GoAway { last_stream, code: ErrorCode::NoError, .. } if last_stream.get() == 1));
            let end_at = frames.iter().position(|f| matches!(f, Frame::Data { end_stream: true, .. }));
            let order = match (goaway_at, end_at) {
                (Some(g), Some(e)) if g < e => Vec::new(),
                other => failed_on(0, format!("GOAWAY(NO_ERROR, last 1) and the stream's end at frames {other:?}: the GOAWAY must come first")),
            };
            all([
                answered(o, 1, &[200], &expected_body(DOWNLOAD)),
                goaway(o, ErrorCode::NoError),
                order,
                drained_gracefully(o),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_stream_after_goaway_ignored",
        about: "a stream the client opens after the drain's GOAWAY (stream 3, above the last one taken) is not processed (RFC 9113 §6.8), while stream 1 finishes whole",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "GET", &format!("/stream/{DOWNLOAD}"), true);
            let mut late = H2Script::empty();
            late.request(3, "GET", "/stream/10", true);
            let mut s = Scenario::new("drain/http2_stream_after_goaway_ignored", quick_config(), app_factory::<Stream>());
            s.faults = slow_reader(8192, 4096);
            let wait = Action::Sleep(DRAIN_AT * 2);
            let client = ClientScript::new().send(first.bytes()).then(wait).send(late.bytes());
            s.clients.push(client.granting(Grants::All));
            drain_at(&mut s, DRAIN_AT);
            s
        },
        expect: |o| {
            let late = match answers(o, 0).get(&3) {
                None => Vec::new(),
                Some(answer) => failed_on(0, format!("stream 3, opened after the GOAWAY, was processed: {answer:?}")),
            };
            all([
                answered(o, 1, &[200], &expected_body(DOWNLOAD)),
                late,
                absent(o, twine_sim::pattern::request_id(1)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http2_upload_after_goaway_ignored",
        about: "an upload the client starts after the drain's GOAWAY (HEADERS and DATA on stream 3, above the last one taken, as a client whose request crossed the GOAWAY sends them) is discarded, its DATA counted against the connection's window and given back (RFC 9113 §6.8, §6.9): not a connection error, and stream 1 finishes whole",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "GET", &format!("/stream/{DOWNLOAD}"), true);
            let mut late = H2Script::empty();
            late.request(3, "POST", "/upload", false).data(3, &[b'u'; 1000], false).data(3, &[b'v'; 1000], true);
            let mut s = Scenario::new("drain/http2_upload_after_goaway_ignored", quick_config(), app_factory::<Stream>());
            s.faults = slow_reader(8192, 4096);
            // Sent as the GOAWAY (NO_ERROR, last stream 1) arrives: the request crossed it.
            let goaway = bytes::Bytes::from_static(&[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
            let client = ClientScript::new().send(first.bytes()).then(Action::WaitFor(goaway)).send(late.bytes());
            s.clients.push(client.granting(Grants::All));
            drain_at(&mut s, DRAIN_AT);
            s
        },
        expect: |o| {
            let late = match answers(o, 0).get(&3) {
                None => Vec::new(),
                Some(answer) => failed_on(0, format!("stream 3, opened after the GOAWAY, was answered: {answer:?}")),
            };
            all([
                answered(o, 1, &[200], &expected_body(DOWNLOAD)),
                late,
                goaway(o, ErrorCode::NoError),
                drained_gracefully(o),
            ])
        },
    },
];
