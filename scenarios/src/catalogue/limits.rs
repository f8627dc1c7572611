//! Size limits: a request line over 16384 bytes gets 414, a head over 16384 bytes or with more
//! than 500 fields gets 431, a `Content-Length` over `body_bytes_max` gets 413, each with
//! `Content-Length`, `Connection: close` and a lingering close that lets the client read it
//! all; and requests exactly at each limit pass.

use std::time::Duration;

use twine_engine::{Config, Limits};
use twine_sim::{ClientScript, Fragments, Outcome};

use super::chunked::refused;
use super::expect::{
    absent, all, before_first, bodies, clean_eof, failed, from_first, in_order, in_order_on,
    server_read_bytes, statuses,
};
use super::{echo, quick_config, Entry};
use twine_engine::ProtocolErrorKind;
use twine_sim::pattern::{
    any_protocol_error, any_request, finish, protocol_error, request, request_id, server,
};
use twine_sim::ServerEvent;
use twine_sim::Violation;

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

/// An HTTP/1.1 GET of exactly `len` bytes, line ends not counted, in exactly `n` header
/// fields: Host, `Connection: close`, `n - 3` small ones and a pad.
fn head_at_both_bounds(len: usize, n: usize) -> String {
    let mut lines = vec![
        "GET /both HTTP/1.1".to_string(),
        "Host: h".into(),
        "Connection: close".into(),
    ];
    lines.extend((0..n - 3).map(|i| format!("X-{i}: v")));
    let pad_name = "X-Pad: ";
    let used: usize = lines.iter().map(String::len).sum::<usize>() + pad_name.len();
    lines.push(format!("{pad_name}{}", "p".repeat(len - used)));
    lines
        .iter()
        .map(|line| format!("{line}\r\n"))
        .collect::<String>()
        + "\r\n"
}

/// The server refused (`kind`) on the read that first brought what it had read to `bytes` or
/// more: at once, however the bytes were cut into reads. (One connection.)
fn refused_on_the_read_reaching(
    o: &Outcome,
    kind: ProtocolErrorKind,
    bytes: u64,
) -> Vec<Violation> {
    let error = protocol_error(kind);
    let before = before_first(o, &error);
    let total = server_read_bytes(before);
    let last = before.iter().rev().find_map(|e| match e.event.as_server() {
        Some(ServerEvent::Read { bytes }) => Some(*bytes as u64),
        _ => None,
    });
    match last {
        Some(last) if total >= bytes && total - last < bytes => Vec::new(),
        _ => failed(format!(
            "{error} should come on the read reaching {bytes} bytes: {total} read, the last {last:?}"
        )),
    }
}

/// The lingering close read everything the client sent, some of it after the refusal
/// (`kind`), and then its EOF. (One connection.)
fn lingering_close_read_it_all(o: &Outcome, kind: ProtocolErrorKind) -> Vec<Violation> {
    let sent = o.clients[0].sent.len() as u64;
    let read = server_read_bytes(&o.trace.entries);
    let after = from_first(o, &protocol_error(kind)).map_or(0, server_read_bytes);
    let counts = if read == sent && after > 0 {
        Vec::new()
    } else {
        failed(format!(
            "the server read {read} of the {sent} bytes sent, {after} after the refusal"
        ))
    };
    all([
        counts,
        in_order_on(o, 0, &[protocol_error(kind), server(ServerEvent::ReadEof)]),
    ])
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
                // Refused once the line passed 16384 bytes, before its end arrived.
                refused_on_the_read_reaching(o, ProtocolErrorKind::UriTooLong, 16_385),
                lingering_close_read_it_all(o, ProtocolErrorKind::UriTooLong),
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
        name: "head_at_both_bounds",
        about: "a head of exactly head_bytes_max (16384, line ends not counted) in exactly header_count_max (500) fields is served: its 17388 bytes on the wire fit the receive buffer, which makes room for a legal head's 1004 bytes of line ends",
        seed: 1,
        build: |_| {
            let mut s = echo("limits/head_at_both_bounds", big_head_config());
            s.clients.push(ClientScript::new().send(head_at_both_bounds(16_384, 500)));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                in_order(o, &[request(0, "GET", "/both"), finish(0)]),
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
                // From the head alone (53 bytes), before any of the body.
                refused_on_the_read_reaching(o, ProtocolErrorKind::BodyTooLarge, 53),
                lingering_close_read_it_all(o, ProtocolErrorKind::BodyTooLarge),
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
