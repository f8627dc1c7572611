//! The reverse proxy (`twine proxy`, DESIGN.md §5): the server host runs the proxy, an origin
//! host behind it runs a built-in app or a misbehaving script, and the trace shows the
//! client's connection (`c0`) and the origin's (`u0`). What is forwarded, how failures are
//! answered (502, 504, a cut), and that the origin sees exactly the client's requests.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use twine_apps::{Echo, Stream};
use twine_engine::proxy::ProxyConfig;
use twine_engine::{ClientConfig, ClientTimeouts};
use twine_sim::{app, Action, ClientEvent, ClientScript, Origin, OriginStep, ProxySetup, Scenario};

use super::chunked::cut_chunked_response;
use super::expect::{
    absent, all, before_first, bodies, count, failed, failed_on, in_order, received_in_order,
    statuses,
};
use super::{quick_config, Entry};
use twine_engine::RequestId;
use twine_engine::{CloseReason, ProducerState, Timer, TimerChange};
use twine_sim::pattern::{self, bytes_received, client, close, origin_received, producer, server};
use twine_sim::{AppAction, NetFault, ServerEvent};

const FAMILY: &str = "proxy";

/// The body of the proxy's 502.
const BAD_GATEWAY: &[u8] = b"the upstream server could not be reached or answered badly\n";

/// Connection `conn` received `head` first, exactly.
fn received_head(o: &twine_sim::Outcome, conn: usize, head: &[u8]) -> Vec<twine_sim::Violation> {
    let got = &o.clients[conn].received;
    if got.starts_with(head) {
        Vec::new()
    } else {
        let shown = String::from_utf8_lossy(&got[..got.len().min(head.len())]).into_owned();
        failed_on(
            conn,
            format!(
                "expected the head {:?}, got {shown:?}",
                String::from_utf8_lossy(head)
            ),
        )
    }
}

/// A proxy in front of `origin`, with the server's quick timers on both hops.
fn proxy(name: &str, origin: Origin) -> Scenario {
    let mut s = Scenario::new(name, quick_config(), app::<Echo>());
    let mut timeouts = ClientTimeouts::default();
    timeouts.response_head = Duration::from_secs(5);
    timeouts.response_body_idle = Duration::from_secs(5);
    timeouts.send_stall = Duration::from_secs(10);
    timeouts.idle_keep_alive = Duration::from_secs(1);
    let mut setup = ProxySetup::new(origin);
    setup.client = ClientConfig::new().with_timeouts(timeouts);
    s.proxy = Some(setup);
    s
}

/// The proxy's response head timer on its first upstream connection ran `secs` seconds from
/// its arming to its firing: read off the trace against a literal, not against the
/// configuration the scenario built (the judge holds every timer to that).
fn head_timer_ran(o: &twine_sim::Outcome, secs: u64) -> Vec<twine_sim::Violation> {
    let (mut set, mut fired) = (None, None);
    for entry in &o.trace.entries {
        let twine_sim::Event::ProxyClient {
            conn: 0,
            event:
                ServerEvent::Timer {
                    timer: Timer::ResponseHead,
                    change,
                },
        } = &entry.event
        else {
            continue;
        };
        match change {
            TimerChange::Set(_) => set = set.or(Some(entry.at_nanos)),
            TimerChange::Fired => fired = fired.or(Some(entry.at_nanos)),
            _ => {}
        }
    }
    match (set, fired) {
        (Some(set), Some(fired)) if fired - set == secs * 1_000_000_000 => Vec::new(),
        (set, fired) => failed(format!(
            "p0's response head timer set at {set:?} ns and fired at {fired:?} ns, not {secs} s \
             apart"
        )),
    }
}

/// A GET through the proxy to an origin that answers `head`, then `abc` and `def`, 300 ms
/// apart.
fn slow_origin(name: &str, head: &'static [u8]) -> Scenario {
    let mut s = proxy(
        name,
        script(vec![
            OriginStep::ReadHead,
            write(head),
            OriginStep::Sleep(Duration::from_millis(300)),
            write(b"abc"),
            OriginStep::Sleep(Duration::from_millis(300)),
            write(b"def"),
            OriginStep::Hang,
        ]),
    );
    s.clients.push(
        ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
    );
    s
}

/// The pieces of `slow_reading_origin_not_stalled`'s upload, each read by the origin 100 ms
/// after the one before.
const SLOW_UPLOAD_PIECES: usize = 100;
const SLOW_UPLOAD_PIECE_BYTES: usize = 2 * 1024;

fn origin_app(app: twine_sim::AppFactory) -> Origin {
    Origin::App {
        config: Box::new(quick_config()),
        app,
    }
}

fn script(steps: Vec<OriginStep>) -> Origin {
    Origin::Script(Rc::new(move |_| steps.clone()))
}

fn write(bytes: &'static [u8]) -> OriginStep {
    OriginStep::Write(Bytes::from_static(bytes))
}

/// A 5-byte upload with `Expect: 100-continue` through the proxy to `origin`: the client
/// sends its body once a `100 Continue` arrives.
fn expect_upload(name: &str, origin: Origin) -> Scenario {
    let mut s = proxy(name, origin);
    s.clients.push(
        ClientScript::new()
            .send("POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            .then(Action::WaitFor("100 Continue".into()))
            .send("hello"),
    );
    s
}

/// The proxy's client role stopped waiting for the origin's `100 Continue`.
fn expect_continue_timer_fired() -> twine_sim::Pattern {
    proxy_client(|e| {
        matches!(
            e,
            ServerEvent::Timer {
                timer: Timer::ExpectContinue,
                change: TimerChange::Fired
            }
        )
    })
}

/// An origin connection that reads one request head, writes `answer` and closes.
fn answer_once(answer: &'static [u8]) -> Vec<OriginStep> {
    vec![OriginStep::ReadHead, write(answer), OriginStep::Close]
}

/// An origin connection that reads one request head, writes `answer`, then keeps the
/// connection open, reading and dropping what comes.
fn answer_then_hang(answer: &'static [u8]) -> Vec<OriginStep> {
    vec![OriginStep::ReadHead, write(answer), OriginStep::Hang]
}

/// A client's GET answered `ok` by an origin that then closes its connection without saying
/// so, and 100 ms later the client's `second` request, which the origin answers `fresh` on a
/// new connection.
fn after_the_origin_closed(name: &str, second: &'static str) -> Scenario {
    let origin = Origin::Script(Rc::new(|conn| match conn {
        0 => answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        _ => answer_then_hang(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh"),
    }));
    let mut s = proxy(name, origin);
    s.clients.push(
        ClientScript::new()
            .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
            .then(Action::WaitFor("ok".into()))
            .then(Action::Sleep(Duration::from_millis(100)))
            .send(second),
    );
    s
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "get_through",
        about: "a GET goes to the origin with forwarding fields and comes back with `Via`",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/get_through", origin_app(app::<Stream>()));
            s.clients.push(ClientScript::new().send("GET /stream/5 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(b"01234")]), in_order(o, &[bytes_received(b"Via: 1.1 twine\r\n"), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "hop_by_hop_stripped",
        about: "hop-by-hop fields (and those `Connection` names) never reach the origin, nor come back; forwarding fields are added",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/hop_by_hop_stripped",
                script(answer_once(b"HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok")),
            );
            s.clients.push(ClientScript::new().send(
                "GET /a HTTP/1.1\r\nHost: front\r\nConnection: keep-alive, X-Foo\r\nX-Foo: 1\r\nKeep-Alive: 300\r\n\
                 Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nAccept: text/html\r\n\r\n",
            ));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), absent(o, bytes_received(b"X-Hop")), absent(o, bytes_received(b"Keep-Alive"))]),
    },
    Entry {
        family: FAMILY,
        name: "chunked_upload_reframed",
        about: "a chunked upload with extensions and trailers is decoded and framed again for the origin, and echoed back; no `Expect` was sent, so the body goes upstream without waiting for a 100",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/chunked_upload_reframed", origin_app(app::<Echo>()));
            s.clients.push(ClientScript::new().send(
                "POST /up HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                 3;ext=\"a b\"\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            let wait = proxy_client(|e| matches!(e, ServerEvent::Timer { timer: Timer::ExpectContinue, .. }));
            all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(b"abcdefg")]), absent(o, wait), absent(o, origin_received(b"Expect"))])
        },
    },
    Entry {
        family: FAMILY,
        name: "keep_alive_reuses_one_upstream",
        about: "three requests on one client connection travel on one pooled upstream connection, one at a time",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/keep_alive_reuses_one_upstream", origin_app(app::<Stream>()));
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/1 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .send("GET /stream/2 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .send("GET /stream/3 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200, 200]), bodies(o, 0, &[Some(b"0"), Some(b"01"), Some(b"012")]), count(o, upstream_accepted(), 1)]),
    },
    Entry {
        family: FAMILY,
        name: "origin_restart_loses_forwarded_request",
        about: "the origin restarts after the proxy forwarded a request but before reading it: 502, and the client's next request is served by the new origin (found by explore: the desync check wrongly wanted the lost request at the origin)",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/origin_restart_loses_forwarded_request", origin_app(app::<Stream>()));
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/2 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .send("GET /stream/3 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            // The proxy forwards at 4 ms; the origin would read at 5.
            s.net.push((Duration::from_millis(5), NetFault::RestartOrigin));
            s
        },
        expect: |o| all([statuses(o, 0, &[502, 200]), bodies(o, 0, &[Some(BAD_GATEWAY), Some(b"012")]), count(o, upstream_accepted(), 2)]),
    },
    Entry {
        family: FAMILY,
        name: "pipelined_one_at_a_time",
        about: "pipelined requests go upstream one at a time, in order, never pipelined on the upstream connection",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/pipelined_one_at_a_time", origin_app(app::<Stream>()));
            s.config.limits.pipeline_depth_max = 4;
            s.clients.push(ClientScript::new().send(
                "GET /stream/1 HTTP/1.1\r\nHost: front\r\n\r\nGET /stream/2 HTTP/1.1\r\nHost: front\r\n\r\n\
                 GET /stream/3 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200, 200]), bodies(o, 0, &[Some(b"0"), Some(b"01"), Some(b"012")])]),
    },
    Entry {
        family: FAMILY,
        name: "pipelined_uploads_wait_their_turn",
        about: "with depth 4, two GETs, a chunked POST whose body is empty (ended before it goes upstream, without any credit) and a POST with a length, pipelined in one write: the uploads wait while the first GET is upstream, each keeps its own body and its own end, and the origin (echo) gets each whole, one request at a time",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/pipelined_uploads_wait_their_turn", origin_app(app::<Echo>()));
            s.config.limits.pipeline_depth_max = 4;
            s.clients.push(ClientScript::new().send(
                "GET /first HTTP/1.1\r\nHost: front\r\n\r\n\
                 GET /second HTTP/1.1\r\nHost: front\r\n\r\n\
                 POST /chunked HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
                 POST /sized HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\nConnection: close\r\n\r\nworld",
            ));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200, 200, 200]), bodies(o, 0, &[Some(b""), Some(b""), Some(b""), Some(b"world")])]),
    },
    Entry {
        family: FAMILY,
        name: "origin_closes_at_once_502",
        about: "an origin that closes before answering: 502 with a body saying so, and the client connection lives on",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/origin_closes_at_once_502", script(vec![OriginStep::Close]));
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502])]),
    },
    Entry {
        family: FAMILY,
        name: "silent_origin_504",
        about: "an origin that reads the request and never answers: 504 when the response head timer fires, 5 s after the request went upstream",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/silent_origin_504", script(vec![OriginStep::ReadHead, OriginStep::Hang]));
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[504]), received_in_order(o, 0, &[b"\r\n\r\nthe upstream server did not answer in time\n"]), head_timer_ran(o, 5)]),
    },
    Entry {
        family: FAMILY,
        name: "silent_origin_504_before_any_body",
        about: "a silent origin is the response head timer's to end (504 at 5 s), never the body idle timer's, even one shorter (2 s): no body is idle before a head",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/silent_origin_504_before_any_body", script(vec![OriginStep::ReadHead, OriginStep::Hang]));
            if let Some(setup) = s.proxy.as_mut() {
                setup.client.timeouts.response_body_idle = Duration::from_secs(2);
            }
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[504]), head_timer_ran(o, 5), absent(o, proxy_client(|e| matches!(e, ServerEvent::Timer { timer: Timer::ResponseBodyIdle, .. })))]),
    },
    Entry {
        family: FAMILY,
        name: "origin_down_502",
        about: "an origin whose port is closed: the proxy's connection attempt is refused, and the client gets a 502 at once, not a wait for a timer; its next request is tried afresh and answered the same",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/origin_down_502", Origin::Down);
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            let prompt = match o.trace.entries.last() {
                Some(last) if last.at_nanos < 1_000_000_000 => Vec::new(),
                last => failed_on(0, format!("the run went on to {:?} ns", last.map(|e| e.at_nanos))),
            };
            all([statuses(o, 0, &[502, 502]), bodies(o, 0, &[Some(BAD_GATEWAY), Some(BAD_GATEWAY)]), prompt])
        },
    },
    Entry {
        family: FAMILY,
        name: "status_lines_read_as_sent",
        about: "the origin's status line read by RFC 9112 §4: a code of fewer than three digits and a code run into its reason are each a 502 (the connection dropped), while a code with no reason and no space after it is a 200 like any other",
        seed: 1,
        build: |_| {
            let origin = Origin::Script(Rc::new(|conn| match conn {
                0 => answer_then_hang(b"HTTP/1.1 20\r\nContent-Length: 0\r\n\r\n"),
                1 => answer_then_hang(b"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n"),
                _ => answer_then_hang(b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"),
            }));
            let mut s = proxy("proxy/status_lines_read_as_sent", origin);
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /c HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[502, 502, 200]), bodies(o, 0, &[Some(BAD_GATEWAY), Some(BAD_GATEWAY), Some(b"ok")]), count(o, upstream_accepted(), 3)]),
    },
    Entry {
        family: FAMILY,
        name: "status_codes_out_of_range_502",
        about: "the origin's status code read by RFC 9112 §4 and RFC 9110 §15 (`3DIGIT` from 100 to 599: a client treats others as a 5xx, so a gateway answers with its own 502 rather than pass an invalid code on): a line too short to hold a version, a code under 100, a code with a letter in it and 999 are each a 502 (the connection dropped); a 599 is relayed with its body",
        seed: 1,
        build: |_| {
            let origin = Origin::Script(Rc::new(|conn| match conn {
                0 => answer_then_hang(b"HTTP/1\r\n\r\n"),
                1 => answer_then_hang(b"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n"),
                2 => answer_then_hang(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
                3 => answer_then_hang(b"HTTP/1.1 999 Nines\r\nContent-Length: 0\r\n\r\n"),
                _ => answer_then_hang(b"HTTP/1.1 599 Last\r\nContent-Length: 2\r\n\r\nok"),
            }));
            let mut s = proxy("proxy/status_codes_out_of_range_502", origin);
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /c HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /d HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /e HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[502, 502, 502, 502, 599]), bodies(o, 0, &[Some(BAD_GATEWAY), Some(BAD_GATEWAY), Some(BAD_GATEWAY), Some(BAD_GATEWAY), Some(b"ok")]), count(o, upstream_accepted(), 5)]),
    },
    Entry {
        family: FAMILY,
        name: "reason_phrases_read_as_sent",
        about: "the origin's reason phrase read by RFC 9112 §4 (HTAB, SP, VCHAR, obs-text): a control byte in it is a 502 (the connection dropped), a tab is relayed as sent",
        seed: 1,
        build: |_| {
            let origin = Origin::Script(Rc::new(|conn| match conn {
                0 => answer_then_hang(b"HTTP/1.1 200 Bad\x01Byte\r\nContent-Length: 0\r\n\r\n"),
                _ => answer_then_hang(b"HTTP/1.1 200 Fine\tTab\r\nContent-Length: 2\r\n\r\nok"),
            }));
            let mut s = proxy("proxy/reason_phrases_read_as_sent", origin);
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[502, 200]), bodies(o, 0, &[Some(BAD_GATEWAY), Some(b"ok")]), received_in_order(o, 0, &[b"HTTP/1.1 200 Fine\tTab\r\n"])]),
    },
    Entry {
        family: FAMILY,
        name: "origin_status_line_past_the_limit_502",
        about: "an origin whose status line, whole and ended, is longer than the head limit (16 KiB), sent at once: a 502, however it arrives",
        seed: 1,
        build: |_| {
            let mut answer = b"HTTP/1.1 200 ".to_vec();
            answer.resize(20_000, b'x');
            answer.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            let origin = script(vec![OriginStep::ReadHead, OriginStep::Write(Bytes::from(answer)), OriginStep::Hang]);
            let mut s = proxy("proxy/origin_status_line_past_the_limit_502", origin);
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502]), bodies(o, 0, &[Some(BAD_GATEWAY)])]),
    },
    Entry {
        family: FAMILY,
        name: "empty_post_keeps_its_length",
        about: "a POST with `Content-Length: 0` goes upstream with it (RFC 9110 §8.6: a request whose method usually carries a body says so even when empty), a GET without one",
        seed: 1,
        build: |_| {
            let answer = || write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            let origin = script(vec![OriginStep::ReadHead, answer(), OriginStep::ReadHead, answer(), OriginStep::Hang]);
            let mut s = proxy("proxy/empty_post_keeps_its_length", origin);
            s.clients.push(
                ClientScript::new()
                    .send("GET /get HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("POST /post HTTP/1.1\r\nHost: front\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            // The GET's head goes first, the POST's ends with its length.
            let post_end = origin_received(b"X-Forwarded-Proto: http\r\nContent-Length: 0\r\n\r\n");
            all([statuses(o, 0, &[200, 200]), count(o, origin_received(b"Content-Length"), 1), count(o, post_end, 1)])
        },
    },
    Entry {
        family: FAMILY,
        name: "origin_endless_status_line_502",
        about: "an origin whose status line runs on past the head limit with no end of line: a 502 as soon as the line passes the limit, not a 504 when the head timer fires",
        seed: 1,
        build: |_| {
            let mut line = b"HTTP/1.1 200 ".to_vec();
            line.resize(100_000, b'x');
            let origin = script(vec![OriginStep::ReadHead, OriginStep::Write(Bytes::from(line)), OriginStep::Hang]);
            let mut s = proxy("proxy/origin_endless_status_line_502", origin);
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502]), absent(o, proxy_client(|e| matches!(e, ServerEvent::Timer { timer: Timer::ResponseHead, change: TimerChange::Fired })))]),
    },
    Entry {
        family: FAMILY,
        name: "connect_not_tunnelled",
        about: "a CONNECT (authority-form) asks for a tunnel, which this proxy does not make: 501 from the proxy, nothing sent upstream for it, and the GET behind it on the same connection is forwarded as usual",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/connect_not_tunnelled", script(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
            s.clients.push(ClientScript::new().send("CONNECT origin:443 HTTP/1.1\r\nHost: origin:443\r\n\r\nGET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[501, 200]), bodies(o, 0, &[Some(b"tunnels are not proxied\n"), Some(b"ok")]), absent(o, origin_received(b"CONNECT")), count(o, upstream_accepted(), 1)]),
    },
    Entry {
        family: FAMILY,
        name: "origin_switching_protocols_502",
        about: "an origin answering 101 Switching Protocols to a request that asked for no upgrade: the proxy never asks for one, so it is an origin error, 502, and nothing of the origin's head is relayed",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/origin_switching_protocols_502", script(answer_then_hang(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n")));
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502]), bodies(o, 0, &[Some(BAD_GATEWAY)]), absent(o, bytes_received(b"Upgrade"))]),
    },
    Entry {
        family: FAMILY,
        name: "origin_breaks_its_chunking_mid_body",
        about: "an origin whose chunked body turns to garbage after its first chunk: its head and first chunk have been relayed, so no 502 can follow; the proxy ends the client's connection there, with no last chunk, so the client can never take the cut body for a whole one (as `truncated_body_is_cut`)",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/origin_breaks_its_chunking_mid_body", script(vec![OriginStep::ReadHead, write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), OriginStep::Sleep(Duration::from_millis(50)), write(b"zz\r\n"), OriginStep::Hang]));
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\n\r\n"));
            s
        },
        expect: |o| {
            all([
                received_head(o, 0, b"HTTP/1.1 200 OK\r\nVia: 1.1 twine\r\nTransfer-Encoding: chunked\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\n"),
                cut_chunked_response(o, 0, b"hello"),
                in_order(o, &[server(ServerEvent::App { command: AppAction::Close { request: RequestId::from_sequence(0) } }), client(ClientEvent::Eof)]),
                absent(o, bytes_received(b"502")),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "expect_continue_origin_silent",
        about: "an upload with `Expect: 100-continue` to an origin that never sends a 100 and waits for the body: the proxy's client role waits its expect-continue time (RFC 9110 §10.1.1: a client need not wait forever), then sends the body, and the origin's answer is relayed",
        seed: 1,
        build: |_| {
            let origin = script(vec![OriginStep::ReadHead, OriginStep::Read(5), write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), OriginStep::Hang]);
            expect_upload("proxy/expect_continue_origin_silent", origin)
        },
        expect: |o| {
            let waited = expect_continue_timer_fired();
            all([statuses(o, 0, &[100, 200]), bodies(o, 0, &[Some(b"ok")]), in_order(o, &[origin_received(b"Expect: 100-continue\r\n"), waited, origin_received(b"hello")])])
        },
    },
    Entry {
        family: FAMILY,
        name: "garbage_origin_502",
        about: "an origin answering something that is not HTTP/1.x: 502",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/garbage_origin_502", script(answer_then_hang(b"ICY 200 OK\r\n\r\n")));
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502])]),
    },
    Entry {
        family: FAMILY,
        name: "truncated_body_is_cut",
        about: "an origin cutting its chunked body short: the client gets every relayed byte, then a FIN with no last chunk, never a finished response (Twisted finished it)",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/truncated_body_is_cut",
                script(answer_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")),
            );
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\n\r\n"));
            s
        },
        expect: |o| {
            all([
                // Every relayed byte, in however many chunks the origin's body was read.
                received_head(o, 0, b"HTTP/1.1 200 OK\r\nVia: 1.1 twine\r\nTransfer-Encoding: chunked\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nServer: twine\r\n\r\n"),
                cut_chunked_response(o, 0, b"hello"),
                in_order(o, &[server(ServerEvent::App { command: AppAction::Close { request: RequestId::from_sequence(0) } }), client(ClientEvent::Eof), close(CloseReason::Graceful)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "truncated_body_is_reset_over_http2",
        about: "an origin cutting its chunked body short for an HTTP/2 client: the response has no length to fall short of, so the proxy resets the stream (RST_STREAM) after the bytes relayed, never ends it with END_STREAM as if whole (Twisted's bug, on HTTP/2)",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/truncated_body_is_reset_over_http2",
                script(answer_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")),
            );
            let mut request = super::http2::H2Script::new();
            request.request(1, "GET", "/", true);
            s.clients.push(ClientScript::new().send(request.bytes()));
            s
        },
        expect: |o| {
            let answer = super::http2::answers(o, 0).remove(&1).unwrap_or_default();
            let cut = answer.statuses == [200] && answer.body == b"hello" && answer.reset.is_some();
            if cut {
                Vec::new()
            } else {
                failed_on(0, format!("stream 1: {answer:?}; expected a 200, `hello`, then a reset"))
            }
        },
    },
    Entry {
        family: FAMILY,
        name: "truncated_close_delimited_is_reset",
        about: "an origin cutting its body short for an HTTP/1.0 client, whose response ends at the close: the proxy aborts, as a FIN would pass the cut off as the end",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/truncated_close_delimited_is_reset",
                script(answer_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")),
            );
            s.clients.push(ClientScript::new().send("GET / HTTP/1.0\r\n\r\n"));
            s
        },
        expect: |o| all([in_order(o, &[server(ServerEvent::App { command: AppAction::Abort { request: RequestId::from_sequence(0) } }), close(CloseReason::Abort), server(ServerEvent::SocketAborted)])]),
    },
    Entry {
        family: FAMILY,
        name: "close_delimited_reframed",
        about: "Twisted's proxy case 51: an HTTP/1.0 close-delimited answer with a repeated field reaches a 1.1 client chunked, both fields kept",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/close_delimited_reframed",
                script(answer_once(b"HTTP/1.0 200 OK\r\nFoo: bar\r\nFoo: baz\r\n\r\nSome data\r\n")),
            );
            s.clients.push(ClientScript::new().send("GET /foo HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(b"Some data\r\n")]), in_order(o, &[bytes_received(b"Foo: bar\r\nFoo: baz\r\nVia: 1.0 twine\r\nTransfer-Encoding: chunked\r\n")])]),
    },
    Entry {
        family: FAMILY,
        name: "informational_stream",
        about: "1xx answers other than 100 are relayed in order before the final one",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/informational_stream",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"),
                    write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>\r\n\r\n"),
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::Hang,
                ]),
            );
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[103, 103, 200]), received_in_order(o, 0, &[&b"Link: </a.css>"[..], b"Link: </b.js>", b"\r\n\r\nok"])]),
    },
    Entry {
        family: FAMILY,
        name: "informational_length_dropped",
        about: "a 1xx from the origin carrying a `Content-Length` (RFC 9110 §8.6 forbids one there) is relayed without it, and the final answer keeps its own",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/informational_length_dropped",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nContent-Length: 0\r\n\r\n"),
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::Hang,
                ]),
            );
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[103, 200]), received_in_order(o, 0, &[&b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nVia: 1.1 twine\r\n\r\n"[..], b"Content-Length: 2\r\n"])]),
    },
    Entry {
        family: FAMILY,
        name: "expect_continue_through",
        about: "an upload with `Expect: 100-continue`: the proxy's lazy 100 lets the client send its body, the expectation goes upstream, and the origin's own 100 (not relayed: the client has had one), which it sends before it answers, releases the body to it at once, not after the proxy's 1 s wait for a 100",
        seed: 1,
        build: |_| {
            let origin = script(vec![
                OriginStep::ReadHead,
                write(b"HTTP/1.1 100 Continue\r\n\r\n"),
                OriginStep::Read(5),
                write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                OriginStep::Hang,
            ]);
            expect_upload("proxy/expect_continue_through", origin)
        },
        expect: |o| {
            let waited = expect_continue_timer_fired();
            all([statuses(o, 0, &[100, 200]), bodies(o, 0, &[Some(b"ok")]), in_order(o, &[origin_received(b"Expect: 100-continue\r\n"), origin_received(b"hello")]), count(o, bytes_received(b"100 Continue"), 1), absent(o, waited)])
        },
    },
    Entry {
        family: FAMILY,
        name: "expect_continue_refused_upstream",
        about: "an upload with `Expect: 100-continue` that the origin refuses with a final status before its body (417): the proxy's client side waits for the origin's word before it sends the body, which the client sent at once, so the origin never receives it; the client gets the 417 (after the lazy 100 the proxy's credit for the body it drains brings)",
        seed: 1,
        build: |_| {
            let origin = script(vec![OriginStep::ReadHead, write(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"), OriginStep::Hang]);
            let mut s = proxy("proxy/expect_continue_refused_upstream", origin);
            // The body at once, as a client that does not wait for its 100 may send it.
            s.clients.push(ClientScript::new().send("POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello"));
            s
        },
        expect: |o| all([statuses(o, 0, &[100, 417]), count(o, origin_received(b"Expect: 100-continue\r\n"), 1), absent(o, origin_received(b"hello"))]),
    },
    Entry {
        family: FAMILY,
        name: "early_answer_before_the_body",
        about: "an origin answering before the upload ends: the answer is relayed, the rest of the upload read and dropped, and the client connection kept",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/early_answer_before_the_body",
                script(answer_once(b"HTTP/1.1 413 Too Big\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")),
            );
            s.clients.push(
                ClientScript::new()
                    .send("POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: 10\r\n\r\nabc")
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .send("defghij"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[413]), absent(o, bytes_received(b"Connection: close\r\n"))]),
    },
    Entry {
        family: FAMILY,
        name: "slow_origin",
        about: "an origin sending its body in slow pieces: each piece is relayed as it comes",
        seed: 1,
        build: |_| slow_origin("proxy/slow_origin", b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"),
        expect: |o| all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(b"abcdef")])]),
    },
    Entry {
        family: FAMILY,
        name: "slow_origin_closing_after_its_answer",
        about: "an origin whose answer is its last (`Connection: close`), its body in slow pieces: the proxy reads the whole body before it closes the upstream connection, and relays every piece",
        seed: 1,
        build: |_| slow_origin("proxy/slow_origin_closing_after_its_answer", b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"),
        expect: |o| all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(b"abcdef")])]),
    },
    Entry {
        family: FAMILY,
        name: "client_leaves_mid_upload",
        about: "a client leaving mid-upload: the upstream exchange is aborted at once, so the origin never sees the body end, and loses the request without waiting for its body timer",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/client_leaves_mid_upload", origin_app(app::<Echo>()));
            s.clients.push(
                ClientScript::new()
                    .send("POST /up HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .then(Action::Reset)
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            let aborted = proxy_client(|e| matches!(e, ServerEvent::App { command: AppAction::Abort { .. } }));
            let waited = upstream(|e| matches!(e, ServerEvent::Timer { timer: Timer::BodyRead, change: TimerChange::Fired }));
            all([absent(o, upstream(|e| matches!(e, ServerEvent::BodyEnd { .. }))), count(o, upstream(|e| matches!(e, ServerEvent::Body { .. })), 1), in_order(o, &[aborted, upstream(|e| matches!(e, ServerEvent::Lost { .. }))]), absent(o, waited)])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_leaves_mid_download",
        about: "a client leaving mid-download: the proxy aborts its upstream connection, which the origin sees lost",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/client_leaves_mid_download", origin_app(app::<Stream>()));
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/10000000 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .then(Action::WaitFor(Bytes::from_static(b"0123456789")))
                    .then(Action::Reset)
                    .misbehaving(),
            );
            s.faults = super::slow_reader(4096, 64);
            s
        },
        expect: |o| all([in_order(o, &[client(ClientEvent::Reset), upstream(|e| matches!(e, ServerEvent::ConnectionLost | ServerEvent::ReadEof))])]),
    },
    Entry {
        family: FAMILY,
        name: "slow_client_pauses_the_origin",
        about: "backpressure end to end: a slow reader pauses the proxy's response producer, the proxy stops granting the origin credit and stops reading from it, and the origin's producer pauses",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/slow_client_pauses_the_origin", origin_app(app::<Stream>()));
            s.clients.push(ClientScript::new().send("GET /stream/280000 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s.faults = super::slow_reader(32_768, 4096);
            s
        },
        expect: |o| {
            let reading_paused = proxy_client(|e| *e == ServerEvent::Reading { state: twine_engine::ReadState::Paused });
            all([statuses(o, 0, &[200]), in_order(o, &[producer(0, ProducerState::Paused), upstream(|e| matches!(e, ServerEvent::Producer { state: ProducerState::Paused, .. })), client(ClientEvent::Eof)]), in_order(o, &[reading_paused])])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_pause_not_charged_to_the_origin",
        about: "a client that reads nothing for 7 s in the middle of a 280 000-byte download, longer than the proxy's 5 s wait for an origin's next body bytes: while the proxy grants the origin no credit the wait is the client's, not the origin's, so no body timer runs and the whole answer arrives once the client reads",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/client_pause_not_charged_to_the_origin", origin_app(app::<Stream>()));
            let read = twine_sim::ReadPolicy::After(Duration::from_secs(7));
            s.clients.push(ClientScript::new().send("GET /stream/280000 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n").reading(read));
            // Nothing drains until the client reads (the chaos phase's end lifts the window).
            s.faults = super::slow_reader(32_768, 0);
            s.chaos_phase = Duration::from_secs(7);
            s
        },
        expect: |o| {
            let body = twine_apps::stream::expected_body(280_000);
            let body_timer = proxy_client(|e| matches!(e, ServerEvent::Timer { timer: Timer::ResponseBodyIdle, change: TimerChange::Fired }));
            all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(&body)]), absent(o, body_timer)])
        },
    },
    Entry {
        family: FAMILY,
        name: "origin_closes_while_its_answer_waits",
        about: "an origin that writes a 200 000-byte answer and closes at once, to a client that reads slowly: the origin's FIN comes while the answer's bytes still wait in the proxy for credit, and the whole answer is relayed, not cut short",
        seed: 1,
        build: |_| {
            let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n".to_vec();
            answer.resize(answer.len() + 200_000, b'z');
            let origin = script(vec![OriginStep::ReadHead, OriginStep::Write(Bytes::from(answer)), OriginStep::Close]);
            let mut s = proxy("proxy/origin_closes_while_its_answer_waits", origin);
            s.clients.push(ClientScript::new().send("GET /big HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s.faults = super::slow_reader(32_768, 4096);
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(&[b'z'; 200_000][..])])]),
    },
    Entry {
        family: FAMILY,
        name: "origin_cut_at_its_credit",
        about: "an origin that declares 200 000 bytes, writes exactly the proxy's 64 KiB of credit and closes, to a client that reads slowly: its FIN comes when every byte it sent was taken and no credit is left, and the cut is still seen as one (the client gets the 65 536 bytes, then the connection closes on an unfinished response), not waited on for credit that would never bring more",
        seed: 1,
        build: |_| {
            let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n".to_vec();
            answer.resize(answer.len() + 65_536, b'z');
            let origin = script(vec![OriginStep::ReadHead, OriginStep::Write(Bytes::from(answer)), OriginStep::Close]);
            let mut s = proxy("proxy/origin_cut_at_its_credit", origin);
            s.clients.push(ClientScript::new().send("GET /big HTTP/1.1\r\nHost: front\r\n\r\n"));
            s.faults = super::slow_reader(32_768, 4096);
            s
        },
        expect: |o| {
            let received = &o.clients[0].received;
            let body = received.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |at| received.len() - at - 4);
            let whole = if body == 65_536 { Vec::new() } else { failed_on(0, format!("{body} body bytes relayed, not 65536")) };
            all([whole, in_order(o, &[server(ServerEvent::App { command: AppAction::Close { request: RequestId::from_sequence(0) } }), client(ClientEvent::Eof)])])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_origin_withholds_upload_credit",
        about: "backpressure the other way: an origin not reading a 1 MB upload stops the proxy granting the client credit, so the proxy reads only a bounded part of it",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/slow_origin_withholds_upload_credit",
                script(vec![
                    OriginStep::ReadHead,
                    OriginStep::Sleep(Duration::from_millis(1000)),
                    OriginStep::Read(1_000_000),
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::Hang,
                ]),
            );
            let mut upload = b"POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n".to_vec();
            upload.resize(upload.len() + 1_000_000, b'x');
            s.clients.push(ClientScript::new().send(upload));
            s
        },
        expect: |o| {
            // What the proxy read from the client in the second the origin reads nothing.
            let proxy_read: u64 = o
                .trace
                .entries
                .iter()
                .filter(|entry| entry.at_nanos < 1_000_000_000)
                .map(|entry| match &entry.event {
                    twine_sim::Event::Server { event: ServerEvent::Read { bytes } } => *bytes as u64,
                    _ => 0,
                })
                .sum();
            let bounded = if proxy_read < 400_000 {
                Vec::new()
            } else {
                super::expect::failed(format!("the proxy read {proxy_read} bytes of the upload in the second the origin read none"))
            };
            all([statuses(o, 0, &[200]), bounded])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_reading_origin_not_stalled",
        about: "an origin reading a 200 KiB upload 2 KiB every 100 ms, so that the proxy's upstream connection stays blocked for seconds at a time while it makes progress: the upstream send-stall timer (1 s here) measures time without progress, so it is pushed back by every piece taken and never fires; the upload goes through whole",
        seed: 1,
        build: |_| {
            let mut steps = vec![OriginStep::ReadHead];
            for _ in 0..SLOW_UPLOAD_PIECES {
                steps.push(OriginStep::Read(SLOW_UPLOAD_PIECE_BYTES));
                steps.push(OriginStep::Sleep(Duration::from_millis(100)));
            }
            steps.extend([write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), OriginStep::Hang]);
            let mut s = proxy("proxy/slow_reading_origin_not_stalled", script(steps));
            if let Some(setup) = s.proxy.as_mut() {
                setup.client.timeouts.send_stall = Duration::from_secs(1);
                // The answer comes once the origin has read what the sockets hold at the
                // request's end: seconds at this pace.
                setup.client.timeouts.response_head = Duration::from_secs(30);
            }
            let size = SLOW_UPLOAD_PIECES * SLOW_UPLOAD_PIECE_BYTES;
            let mut upload = format!("POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n").into_bytes();
            upload.resize(upload.len() + size, b'x');
            s.clients.push(ClientScript::new().send(upload));
            s
        },
        expect: |o| {
            let stalled = proxy_client(|e| matches!(e, ServerEvent::Timer { timer: Timer::SendStall, change: TimerChange::Fired }));
            all([statuses(o, 0, &[200]), bodies(o, 0, &[Some(b"ok")]), absent(o, stalled)])
        },
    },
    Entry {
        family: FAMILY,
        name: "upload_cut_short_still_relayed",
        about: "a client that sends 600 000 of a 1 MB upload and shuts down its write side while the origin reads nothing: the proxy withholds credit, so bytes wait in its channel when the client's FIN comes, and all 600 000 reach the proxy app (to be relayed) before the request is lost",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/upload_cut_short_still_relayed",
                script(vec![
                    OriginStep::ReadHead,
                    OriginStep::Sleep(Duration::from_millis(1000)),
                    OriginStep::Read(1_000_000),
                    OriginStep::Close,
                ]),
            );
            let mut upload = b"POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: 1000000\r\n\r\n".to_vec();
            upload.resize(upload.len() + 600_000, b'z');
            s.clients.push(ClientScript::new().send(upload).then(Action::ShutdownWrite).misbehaving());
            s
        },
        expect: |o| in_order(o, &[pattern::body_total(0, 600_000), pattern::lost(0)]),
    },
    Entry {
        family: FAMILY,
        name: "two_clients_share_the_pool",
        about: "two clients at once: each gets its own answers in order, and a connection one of them released is reused by the other",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/two_clients_share_the_pool", origin_app(app::<Stream>()));
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/3 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(30)))
                    .send("GET /stream/5 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s.clients.push(
                ClientScript::new()
                    .then(Action::Sleep(Duration::from_millis(15)))
                    .send("GET /stream/4 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(30)))
                    .send("GET /stream/6 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                bodies(o, 0, &[Some(b"012"), Some(b"01234")]),
                statuses(o, 1, &[200, 200]),
                bodies(o, 1, &[Some(b"0123"), Some(b"012345")]),
                count(o, upstream_accepted(), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "pool_keeps_at_most_its_bound",
        about: "a pool that keeps one idle upstream connection and two clients at once on an origin that answers after 300 ms: each gets a connection of its own; once both are done, one is kept and the other closed at once, gracefully, not left open until its idle timer",
        seed: 1,
        build: |_| {
            let steps = vec![
                OriginStep::ReadHead,
                OriginStep::Sleep(Duration::from_millis(300)),
                write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                OriginStep::Hang,
            ];
            let mut s = proxy("proxy/pool_keeps_at_most_its_bound", script(steps));
            if let Some(setup) = &mut s.proxy {
                setup.idle_max = 1;
            }
            for _ in 0..2 {
                s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\n\r\n"));
            }
            s
        },
        expect: |o| {
            let idle_fired = proxy_client(|e| matches!(e, ServerEvent::Timer { timer: Timer::IdleKeepAlive, change: TimerChange::Fired }));
            let closed = proxy_client(|e| matches!(e, ServerEvent::Close { reason: CloseReason::Graceful }));
            let closed_early = before_first(o, &idle_fired).iter().filter(|e| closed.matches(e)).count();
            all([
                statuses(o, 0, &[200]),
                statuses(o, 1, &[200]),
                count(o, upstream_accepted(), 2),
                if closed_early == 1 { Vec::new() } else { failed_on(0, format!("{closed_early} upstream connections closed before an idle timer fired, expected the one the pool had no room for")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "forwarding_fields_appended",
        about: "a client's own X-Forwarded-For is kept with its address appended, its X-Forwarded-Proto replaced, and the origin reads exactly the forwarded head",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/forwarding_fields_appended",
                script(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
            );
            s.clients.push(ClientScript::new().send(
                "GET /a?b=c HTTP/1.1\r\nHost: front\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\
                 Connection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                count(
                    o,
                    origin_received(
                        b"GET /a?b=c HTTP/1.1\r\nHost: front\r\nVia: 1.1 twine\r\n\
                          Forwarded: for=192.168.0.3;host=\"front\";proto=http\r\n\
                          X-Forwarded-For: 10.0.0.1, 192.168.0.3\r\nX-Forwarded-Proto: http\r\n\r\n",
                    ),
                    1,
                ),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "host_rewritten",
        about: "with the Host rewritten to the origin's, the origin reads that Host and the client's in Forwarded",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/host_rewritten",
                script(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
            );
            if let Some(setup) = s.proxy.as_mut() {
                setup.forward = ProxyConfig::new("upstream").with_rewrite_host(true);
            }
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                count(o, origin_received(b"\r\nHost: upstream\r\n"), 1),
                count(o, origin_received(b";host=\"front\";"), 1),
                absent(o, origin_received(b"Host: front")),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "absolute_form_forwarded",
        about: "absolute-form targets (RFC 9112 §3.2.2) go upstream in origin form: the path and query kept, a query with no path given the root path, the scheme matched without regard to case, and the target's authority sent as the Host in place of the client's",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/absolute_form_forwarded",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"),
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"),
                    OriginStep::Hang,
                ]),
            );
            s.clients.push(
                ClientScript::new()
                    .send("GET http://one.example/a/b?x=1 HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET HTTP://two.example:8080?y=2 HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                bodies(o, 0, &[Some(b"one"), Some(b"two")]),
                in_order(o, &[origin_received(b"GET /a/b?x=1 HTTP/1.1\r\nHost: one.example\r\n"), origin_received(b"GET /?y=2 HTTP/1.1\r\nHost: two.example:8080\r\n")]),
                absent(o, origin_received(b"Host: front")),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "other_schemes_not_forwarded",
        about: "absolute-form targets of a scheme other than `http` or `https` (`ftp://files.example/x`, the short `ws:x`, `httpx://h/`) are no request for an HTTP origin: each refused with 400, never forwarded, and the connection serves the `http` one after them",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/other_schemes_not_forwarded", script(answer_then_hang(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
            let requests = ["ftp://files.example/x", "ws:x", "httpx://h/"].map(|target| format!("GET {target} HTTP/1.1\r\nHost: front\r\n\r\n"));
            let last = "GET http://h/ok HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n";
            s.clients.push(ClientScript::new().send(requests.concat()).send(last));
            s
        },
        expect: |o| all([statuses(o, 0, &[400, 400, 400, 200]), count(o, upstream_accepted(), 1), count(o, origin_received(b"GET /ok HTTP/1.1\r\nHost: h\r\n"), 1)]),
    },
    Entry {
        family: FAMILY,
        name: "status_line_and_length_relayed",
        about: "a final response other than 200, with a reason phrase of the origin's own: the client reads the origin's status line as it was sent (Twisted's proxy relays the message too) and its Content-Length (only a 1xx, a 204 or a close-delimited body drops one, RFC 9110 §8.6), not a chunked body",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/status_line_and_length_relayed",
                script(answer_then_hang(b"HTTP/1.1 404 Nothing Here\r\nContent-Length: 9\r\n\r\nnot found")),
            );
            s.clients.push(ClientScript::new().send("GET /gone HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([received_head(o, 0, b"HTTP/1.1 404 Nothing Here\r\n"), bodies(o, 0, &[Some(b"not found")]), count(o, bytes_received(b"\r\nContent-Length: 9\r\n"), 1), absent(o, bytes_received(b"chunked"))]),
    },
    Entry {
        family: FAMILY,
        name: "prefixed_targets_forwarded",
        about: "under a path prefix, targets whose segments only look like dot segments (`.hidden`, `a..b`, `...`, `%2e%2ex`) are no escape from it: each forwarded under the prefix",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/prefixed_targets_forwarded",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1"),
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2"),
                    OriginStep::Hang,
                ]),
            );
            if let Some(setup) = s.proxy.as_mut() {
                setup.forward = ProxyConfig::new("upstream").with_path_prefix("/app");
            }
            s.clients.push(
                ClientScript::new()
                    .send("GET /.hidden/a..b HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /.../%2e%2ex?q=.. HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), in_order(o, &[origin_received(b"GET /app/.hidden/a..b HTTP/1.1\r\n"), origin_received(b"GET /app/.../%2e%2ex?q=.. HTTP/1.1\r\n")])]),
    },
    Entry {
        family: FAMILY,
        name: "unsafe_targets_refused",
        about: "under a path prefix, a target with a dot segment (plain or percent-encoded) would climb out of it, and one with userinfo could forge the authority: each refused with 400, never forwarded",
        seed: 1,
        build: |_| {
            let mut s = proxy("proxy/unsafe_targets_refused", origin_app(app::<Stream>()));
            if let Some(setup) = s.proxy.as_mut() {
                setup.forward = ProxyConfig::new("upstream").with_path_prefix("/app");
            }
            s.clients.push(
                ClientScript::new()
                    .send("GET /../secret HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /stream/%2E%2e/x HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET http://front/a/./b HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET http://user@front/ HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[400, 400, 400, 400]), count(o, upstream_accepted(), 0)]),
    },
    Entry {
        family: FAMILY,
        name: "origin_sends_both_lengths",
        about: "an origin answering with both Content-Length and chunked, a smuggling sign RFC 9112 §6.3 says to handle as an error: 502, nothing of its body relayed",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/origin_sends_both_lengths",
                script(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")),
            );
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502]), absent(o, bytes_received(b"hello"))]),
    },
    Entry {
        family: FAMILY,
        name: "origin_204_with_a_length",
        about: "an origin's 204 with `Content-Length: 0` (RFC 9110 §8.6 forbids it) reaches the client without it, and the connection serves the next request",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/origin_204_with_a_length",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::Close,
                ]),
            );
            s.clients.push(
                ClientScript::new()
                    .send("DELETE /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[204, 200]), bodies(o, 0, &[Some(b""), Some(b"ok")])]),
    },
    Entry {
        family: FAMILY,
        name: "origin_204_without_a_length",
        about: "an origin's 204 with no framing field at all: it has no body (RFC 9112 §6.3, 1), not one read until the origin closes, so it is relayed at once and the same upstream connection serves the next request",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/origin_204_without_a_length",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 204 No Content\r\n\r\n"),
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::Close,
                ]),
            );
            s.clients.push(
                ClientScript::new()
                    .send("DELETE /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[204, 200]), bodies(o, 0, &[Some(b""), Some(b"ok")]), count(o, upstream_accepted(), 1)]),
    },
    Entry {
        family: FAMILY,
        name: "get_replayed_once",
        about: "the origin drops a reused connection on a GET it read without answering (it had closed it as idle, say): the GET, idempotent and bodiless, goes once more on a fresh connection and its answer is relayed (RFC 9110 §9.2.2)",
        seed: 1,
        build: |_| {
            let origin = Origin::Script(Rc::new(|conn| match conn {
                0 => vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::ReadHead,
                    OriginStep::Close,
                ],
                _ => answer_then_hang(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nretried"),
            }));
            let mut s = proxy("proxy/get_replayed_once", origin);
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"ok"), Some(b"retried")]), count(o, origin_received(b"GET /b "), 2), count(o, upstream_accepted(), 2)]),
    },
    Entry {
        family: FAMILY,
        name: "post_after_the_origin_closed_goes_fresh",
        about: "an origin that closes its connection after answering, then a POST from the same client: a POST cannot be replayed if a dead connection fails it, so it must never be put on the closed one; it goes on a fresh connection and is answered",
        seed: 1,
        build: |_| {
            let post = "POST /b HTTP/1.1\r\nHost: front\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody";
            after_the_origin_closed("proxy/post_after_the_origin_closed_goes_fresh", post)
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"ok"), Some(b"fresh")]), count(o, upstream_accepted(), 2)]),
    },
    Entry {
        family: FAMILY,
        name: "origin_close_ends_the_pooled_connection",
        about: "an origin that closes its connection after answering, without saying so: the pooled connection is closed the moment its EOF is read (not left for its keep-alive timer), and the client's next request goes on a fresh one",
        seed: 1,
        build: |_| {
            let get = "GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n";
            after_the_origin_closed("proxy/origin_close_ends_the_pooled_connection", get)
        },
        expect: |o| {
            let events = |wanted: fn(&ServerEvent) -> bool| -> Vec<u64> {
                o.trace.entries.iter().filter(|e| matches!(&e.event, twine_sim::Event::ProxyClient { conn: 0, event } if wanted(event))).map(|e| e.at_nanos).collect()
            };
            let (eof, closed) = (events(|e| *e == ServerEvent::ReadEof), events(|e| matches!(e, ServerEvent::Close { .. })));
            let at_eof = match (eof.first(), closed.first()) {
                (Some(eof), Some(closed)) if eof == closed => Vec::new(),
                (eof, closed) => failed_on(0, format!("p0 read EOF at {eof:?} ns and closed at {closed:?} ns")),
            };
            all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"ok"), Some(b"fresh")]), count(o, upstream_accepted(), 2), at_eof])
        },
    },
    Entry {
        family: FAMILY,
        name: "post_not_replayed",
        about: "the origin drops a reused connection on a POST it read: 502, never a replay on a fresh one (RFC 9110 §9.2.2: only idempotent requests are retried)",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/post_not_replayed",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::ReadHead,
                    OriginStep::Close,
                ]),
            );
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("POST /p HTTP/1.1\r\nHost: front\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 502]), count(o, origin_received(b"POST /p "), 1)]),
    },
    Entry {
        family: FAMILY,
        name: "origin_closing_answers_not_reused",
        about: "an origin answering with `Connection: close`, or as HTTP/1.0 without keep-alive, then leaving the connection open: the next request goes on a fresh connection, never the one it said it would close",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/origin_closing_answers_not_reused",
                Origin::Script(Rc::new(|conn| {
                    let answer: &'static [u8] = match conn {
                        0 => b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\na",
                        1 => b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb",
                        _ => b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
                    };
                    answer_then_hang(answer)
                })),
            );
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /c HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200, 200]), bodies(o, 0, &[Some(b"a"), Some(b"b"), Some(b"c")])]),
    },
    Entry {
        family: FAMILY,
        name: "bodiless_answers_keep_the_connection",
        about: "an origin's answers to HEAD and a 304, each with a Content-Length and no body: relayed with their lengths, and the upstream connection serves the next request",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/bodiless_answers_keep_the_connection",
                script(vec![
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nETag: \"x\"\r\n\r\n"),
                    OriginStep::ReadHead,
                    write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    OriginStep::Close,
                ]),
            );
            s.clients.push(
                ClientScript::new()
                    .send("HEAD /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nIf-None-Match: \"x\"\r\n\r\n")
                    .send("GET /c HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 304, 200]),
                bodies(o, 0, &[Some(b""), Some(b""), Some(b"ok")]),
                count(o, bytes_received(b"Content-Length: 5\r\n"), 1),
                count(o, upstream_accepted(), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "origin_sends_two_lengths",
        about: "an origin answering with two different Content-Lengths: 502, nothing of its body relayed (RFC 9112 §6.3: unrecoverable framing)",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/origin_sends_two_lengths",
                script(answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello")),
            );
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[502]), absent(o, bytes_received(b"hello"))]),
    },
    Entry {
        family: FAMILY,
        name: "origin_answers_twice",
        about: "an origin sending a second response nobody asked for: its connection is dropped, and the next request goes on a fresh one, so the stray response never answers it (a desync)",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/origin_answers_twice",
                Origin::Script(Rc::new(|conn| match conn {
                    0 => vec![
                        OriginStep::ReadHead,
                        write(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"),
                        OriginStep::Hang,
                    ],
                    _ => answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
                })),
            );
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.1\r\nHost: front\r\n\r\n")
                    .send("GET /b HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"a"), Some(b"b")]), absent(o, bytes_received(b"stale"))]),
    },
    Entry {
        family: FAMILY,
        name: "early_answer_not_reused",
        about: "an origin answering before the upload ended may not have read it: that connection carries no other request (RFC 9112 §9.3), the next goes on a fresh one",
        seed: 1,
        build: |_| {
            let mut s = proxy(
                "proxy/early_answer_not_reused",
                Origin::Script(Rc::new(|conn| match conn {
                    0 => answer_then_hang(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                    _ => answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nn"),
                })),
            );
            s.clients.push(
                ClientScript::new()
                    .send("POST /up HTTP/1.1\r\nHost: front\r\nContent-Length: 10\r\n\r\n01234")
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .send("56789")
                    .send("GET /next HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b"ok"), Some(b"n")])]),
    },
];

/// The origin accepted a connection.
fn upstream_accepted() -> twine_sim::Pattern {
    upstream(|e| matches!(e, ServerEvent::Accepted))
}

/// An event of the proxy's upstream connection for which `test` holds.
fn proxy_client(test: fn(&ServerEvent) -> bool) -> twine_sim::Pattern {
    twine_sim::Pattern::new(
        "a proxy upstream connection event",
        move |e| matches!(e, twine_sim::Event::ProxyClient { event, .. } if test(event)),
    )
}

/// An origin engine event for which `test` holds.
fn upstream(test: fn(&ServerEvent) -> bool) -> twine_sim::Pattern {
    twine_sim::Pattern::new(
        "an origin event",
        move |e| matches!(e, twine_sim::Event::Upstream { event, .. } if test(event)),
    )
}
