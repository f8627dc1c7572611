//! Size limits: a request line over 16384 bytes gets 414, a head over 16384 bytes or with more
//! than 500 fields gets 431, a `Content-Length` over `body_bytes_max` gets 413, each with
//! `Content-Length`, `Connection: close` and a lingering close that lets the client read it
//! all; and requests exactly at each limit pass.

use std::time::Duration;

use twine_engine::{Config, Limits};
use twine_sim::{ClientScript, Fragments, Outcome};

use super::chunked::refused;
use super::expect::{absent, all, bodies, clean_eof, failed, in_order, in_order_on, statuses};
use super::{echo, quick_config, Entry};
use twine_engine::ProtocolErrorKind;
use twine_sim::pattern::{
    any_protocol_error, any_request, bytes_sent, client, finish, protocol_error, read, request,
    request_id, server,
};
use twine_sim::Violation;
use twine_sim::{ClientEvent, Pattern, ServerEvent};

const FAMILY: &str = "limits";

/// `GET <target> HTTP/1.0` whose request line is exactly `len` bytes, without headers.
fn request_line_of(len: usize) -> String {
    let fixed = "GET / HTTP/1.0".len();
    format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(len - fixed))
}

/// `GET <target> HTTP/1.1` whose head counts exactly `len` bytes as `head_bytes_max` counts
/// them (the request line and each field line, without line ends): a Host and one padding
/// field.
fn head_of(target: &str, len: usize) -> String {
    let line = format!("GET {target} HTTP/1.1");
    let host = "Host: h";
    let pad_name = "X-Pad: ";
    let pad = len - line.len() - host.len() - pad_name.len();
    format!("{line}\r\n{host}\r\n{pad_name}{}\r\n\r\n", "p".repeat(pad))
}

/// An HTTP/1.1 GET with `n` header fields in all: Host, `Connection: close` and `n - 2`
/// small ones.
fn fields(n: usize) -> String {
    let mut out = String::from("GET /many HTTP/1.1\r\nHost: h\r\nConnection: close\r\n");
    for i in 0..n - 2 {
        out.push_str(&format!("X-{i}: v\r\n"));
    }
    out.push_str("\r\n");
    out
}

/// Exactly `n` entries match `pattern` before the first that matches `marker`.
fn count_before(o: &Outcome, pattern: Pattern, marker: Pattern, n: usize) -> Vec<Violation> {
    let end = marker.find(&o.trace, 0).unwrap_or(o.trace.entries.len());
    let found = o.trace.entries[..end]
        .iter()
        .filter(|e| pattern.matches(e))
        .count();
    if found == n {
        Vec::new()
    } else {
        failed(format!(
            "trace: {found} entries {pattern} before {marker}, expected {n}"
        ))
    }
}

/// `quick_config` with a head deadline of 30 s instead of 10: a 16 KiB head read 1 to 5 bytes
/// at a time with read stalls (swarm faults) can take longer than 10 s to arrive, and the
/// head deadline would rightly answer 408; these scenarios are about sizes, not time.
fn big_head_config() -> Config {
    let mut config = quick_config();
    config.timeouts.header_read = Duration::from_secs(30);
    config
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "request_line_too_long",
        about: "a 20000-byte request target sent in 1000-byte segments gets 414 once the line passes 16384 bytes; the rest is read and discarded by the lingering close",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/request_line_too_long", quick_config());
            let request = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "t".repeat(19_999));
            s.clients.push(
                ClientScript::new()
                    .send_in(request, Fragments::Each(1000), Duration::from_millis(1))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                refused(o, 0, 414, ProtocolErrorKind::UriTooLong),
                // Refused with the 17th segment, the first to take the line over 16384 bytes.
                count_before(o, read(1000), protocol_error(ProtocolErrorKind::UriTooLong), 17),
                in_order_on(
                    o,
                    0,
                    &[
                        protocol_error(ProtocolErrorKind::UriTooLong),
                        client(ClientEvent::Eof),
                        // The client is still sending: the lingering close reads on.
                        bytes_sent(b"tttt"),
                        bytes_sent(b"tttt HTTP/1.1\r\nHost: h\r\n\r\n"),
                        read(26),
                        server(ServerEvent::ReadEof),
                    ],
                ),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "request_line_at_limit",
        about: "a request line of exactly 16384 bytes (HTTP/1.0, no headers) is served: 200",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/request_line_at_limit", big_head_config());
            s.clients.push(ClientScript::new().send(request_line_of(16_384)));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"")]),
                in_order(o, &[request_id(0), finish(0)]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "request_line_one_over",
        about: "a request line of 16385 bytes, one over the limit, gets 414",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/request_line_one_over", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send(request_line_of(16_385))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                refused(o, 0, 414, ProtocolErrorKind::UriTooLong),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "head_too_large",
        about: "a head of 20 fields of 1000 bytes (over 16384 in all) gets 431 before it ends",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/head_too_large", quick_config());
            let mut head = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
            for i in 0..20 {
                head.push_str(&format!("X-{i:02}: {}\r\n", "f".repeat(994)));
            }
            head.push_str("\r\n");
            s.clients.push(
                ClientScript::new()
                    .send_in(head, Fragments::Each(4096), Duration::from_millis(1))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                refused(o, 0, 431, ProtocolErrorKind::HeadTooLarge),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "head_bytes_boundary",
        about: "a head of exactly head_bytes_max (16384, line ends not counted) is served; one byte more gets 431",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/head_bytes_boundary", big_head_config());
            let at = head_of("/at", 16_384);
            s.clients.push(ClientScript::new().send(format!(
                "{at}GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
            )));
            s.clients.push(
                ClientScript::new()
                    .starting_at(Duration::from_millis(100))
                    .send(head_of("/over", 16_385))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                in_order_on(o, 0, &[request(0, "GET", "/at"), request(1, "GET", "/last")]),
                clean_eof(o, 0),
                refused(o, 1, 431, ProtocolErrorKind::HeadTooLarge),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "too_many_headers",
        about: "501 header fields get 431",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/too_many_headers", quick_config());
            s.clients.push(ClientScript::new().send(fields(501)).misbehaving());
            s
        },
        expect: |o| {
            all([
                refused(o, 0, 431, ProtocolErrorKind::TooManyHeaders),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "headers_at_limit",
        about: "exactly 500 header fields are served: 200",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/headers_at_limit", big_head_config());
            s.clients.push(ClientScript::new().send(fields(500)));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                in_order(o, &[request(0, "GET", "/many"), finish(0)]),
                absent(o, any_protocol_error()),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "content_length_over_limit",
        about: "with body_bytes_max 1000, Content-Length 5000 gets 413 from the head alone; the 5000 body bytes still arriving are discarded by the lingering close",
        seed: 1,
        build: |_| {
            let mut limits = Limits::default();
            limits.body_bytes_max = Some(1000);
            let mut config = quick_config();
            config.limits = limits;
            let mut s = echo("limits/content_length_over_limit", config);
            s.clients.push(
                ClientScript::new()
                    .send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n")
                    .send_in("b".repeat(5000), Fragments::Each(1000), Duration::from_millis(1))
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                refused(o, 0, 413, ProtocolErrorKind::BodyTooLarge),
                in_order_on(
                    o,
                    0,
                    &[
                        read(53),
                        protocol_error(ProtocolErrorKind::BodyTooLarge),
                        client(ClientEvent::Eof),
                        // The client is still sending its body: the lingering close reads on.
                        bytes_sent(b"bbbb"),
                        read(1000),
                        server(ServerEvent::ReadEof),
                    ],
                ),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "content_length_at_limit",
        about: "with body_bytes_max 1000, a body of exactly 1000 bytes is served and echoed",
        seed: 1,
        build: |_| {
            let mut limits = Limits::default();
            limits.body_bytes_max = Some(1000);
            let mut config = quick_config();
            config.limits = limits;
            let mut s = echo("limits/content_length_at_limit", config);
            s.clients.push(ClientScript::new().send(format!(
                "POST /fits HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{}",
                "b".repeat(1000)
            )));
            s
        },
        expect: |o| {
            let body = vec![b'b'; 1000];
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(&body)]),
                absent(o, any_protocol_error()),
                clean_eof(o, 0),
            ])
        },
    },
];
