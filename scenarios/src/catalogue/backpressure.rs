//! Backpressure end to end: a slow reader blocks the transport, the channel pauses the response
//! producer, a paused echo withholds request-body credit so reading pauses too, and a client
//! that never reads can neither make the server buffer without bound nor hold it forever.

use std::time::Duration;

use twine_driver::apps::stream::expected_body;
use twine_sim::{Action, ClientScript, Fragments, Outcome, ReadPolicy};

use super::expect::{absent, all, clean_eof, in_order, statuses};
use super::{echo, quick_config, slow_reader, stream, Entry};

const FAMILY: &str = "backpressure";

/// The streamed body of `slow_window_stream`.
const STREAM_BYTES: usize = 2_000_000;

/// The upload of `echo_upload_slow_reader`.
const UPLOAD_BYTES: usize = 300_000;

/// Requests pipelined by the client that never reads.
const PIPELINED: usize = 100;

/// A body whose every 9-byte record is different (`00000000\n`, `00000001\n`, ...), so any
/// reordering or loss shows.
fn numbered_body(len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(len + 9);
    let mut i = 0u32;
    while body.len() < len {
        body.extend_from_slice(format!("{i:08}\n").as_bytes());
        i += 1;
    }
    body.truncate(len);
    body
}

/// Like `expect::bodies`, for long bodies: a failure names the response, the lengths and the
/// first differing byte instead of printing every byte (also used by other families).
pub(super) fn long_bodies(o: &Outcome, conn: usize, expected: &[Option<&[u8]>]) -> Vec<String> {
    let log = &o.clients[conn];
    let exchanges = match twine_sim::invariants::exchanges(&log.sent, &log.received) {
        Ok(exchanges) => exchanges,
        Err(error) => return vec![format!("c{conn}: {error}")],
    };
    if exchanges.len() != expected.len() {
        return vec![format!(
            "c{conn}: expected {} exchanges, got {}",
            expected.len(),
            exchanges.len()
        )];
    }
    let mut out = Vec::new();
    for (i, (exchange, want)) in exchanges.iter().zip(expected).enumerate() {
        match (exchange.response_body.as_deref(), want) {
            (None, None) => {}
            (Some(got), Some(want)) if got == *want => {}
            (Some(got), Some(want)) => {
                let at = got.iter().zip(want.iter()).position(|(a, b)| a != b);
                let at = at.unwrap_or(got.len().min(want.len()));
                out.push(format!(
                    "c{conn}: response {i}: {} bytes, expected {}, first difference at byte {at}",
                    got.len(),
                    want.len()
                ));
            }
            (got, want) => out.push(format!(
                "c{conn}: response {i}: whole body {}, expected {}",
                got.map_or("missing".to_string(), |b| format!("of {} bytes", b.len())),
                want.map_or("none".to_string(), |b| format!("{} bytes", b.len()))
            )),
        }
    }
    out
}

/// The server-side trace lines of connection `conn`.
fn server_lines(o: &Outcome, conn: u32) -> Vec<&str> {
    o.trace
        .entries
        .iter()
        .filter(|e| e.conn == Some(conn))
        .filter_map(|e| match &e.event {
            twine_sim::Event::Server { what } => Some(what.as_str()),
            _ => None,
        })
        .collect()
}

/// Bytes the server read on connection `conn`.
fn server_read_bytes(o: &Outcome, conn: u32) -> usize {
    server_lines(o, conn)
        .iter()
        .filter_map(|w| {
            w.strip_prefix("read ")?
                .strip_suffix(" bytes")?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// How many times the server-side trace of `conn` has exactly this line.
fn count(o: &Outcome, conn: u32, line: &str) -> usize {
    server_lines(o, conn).iter().filter(|w| **w == line).count()
}

/// `n` pipelined GETs of about 1 KB each (a padding header), in one segment.
fn pipelined_gets(n: usize) -> Vec<u8> {
    let pad = "p".repeat(1000);
    (0..n)
        .flat_map(|i| format!("GET /{i} HTTP/1.1\r\nHost: h\r\nX-Pad: {pad}\r\n\r\n").into_bytes())
        .collect()
}

/// On connection `conn`, no server line after the first `marker` starts with any of `prefixes`.
fn nothing_after(o: &Outcome, conn: u32, marker: &str, prefixes: &[&str]) -> Vec<String> {
    let lines = server_lines(o, conn);
    let Some(start) = lines.iter().position(|l| *l == marker) else {
        return vec![format!("c{conn}: no \"{marker}\"")];
    };
    lines[start..]
        .iter()
        .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
        .map(|l| format!("c{conn}: \"{l}\" after \"{marker}\""))
        .collect()
}

/// No body credit is granted to request `id` while its producer is paused.
fn no_credit_while_paused(o: &Outcome, conn: u32, id: &str) -> Vec<String> {
    let (paused, producing, consume) = (
        format!("producer {id} paused"),
        format!("producer {id} producing"),
        format!("app consume {id} "),
    );
    let mut is_paused = false;
    for line in server_lines(o, conn) {
        if line == paused {
            is_paused = true;
        } else if line == producing {
            is_paused = false;
        } else if is_paused && line.starts_with(&consume) {
            return vec![format!("c{conn}: \"{line}\" while the producer was paused")];
        }
    }
    Vec::new()
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "slow_window_stream",
        about: "a reader slower than the producer (64 KB window, drained 32 KB/ms) of a 2 MB stream blocks the transport; the producer pauses and resumes again and again, and every byte arrives",
        seed: 1,
        build: |_| {
            let mut s = stream("backpressure/slow_window_stream", quick_config());
            s.faults = slow_reader(65536, 32768);
            s.clients.push(ClientScript::new().send(format!(
                "GET /stream/{STREAM_BYTES} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
            )));
            s
        },
        expect: |o| {
            let body = expected_body(STREAM_BYTES);
            let pauses = count(o, 0, "producer req#0 paused");
            let many = if pauses >= 10 {
                Vec::new()
            } else {
                vec![format!("expected the producer to pause again and again, it paused {pauses} times")]
            };
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        "send window full",
                        "transport blocked",
                        "producer req#0 paused",
                        "timer send_stall set",
                        "transport writable",
                        "producer req#0 producing",
                        "timer send_stall cancelled",
                        "app finish req#0",
                        "close graceful",
                    ],
                ),
                absent(o, "send_stall fired"),
                many,
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "echo_upload_slow_reader",
        about: "an echo upload to a slow reader: the paused producer withholds body credit, reading pauses, and all 300 KB come back in order",
        seed: 1,
        build: |_| {
            let mut s = echo("backpressure/echo_upload_slow_reader", quick_config());
            s.faults = slow_reader(16384, 4096);
            s.clients.push(
                ClientScript::new()
                    .send(format!(
                        "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: {UPLOAD_BYTES}\r\n\
                         Connection: close\r\n\r\n"
                    ))
                    .send_in(numbered_body(UPLOAD_BYTES), Fragments::Each(16384), Duration::ZERO),
            );
            s
        },
        expect: |o| {
            let body = numbered_body(UPLOAD_BYTES);
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        "transport blocked",
                        "producer req#0 paused",
                        "reading paused",
                        "transport writable",
                        "producer req#0 producing",
                        "reading resumed",
                        "event body end req#0",
                        "close graceful",
                    ],
                ),
                // Credit withheld while paused is granted again, in one piece, on resume.
                in_order(o, &["producer req#0 paused", "producer req#0 producing", "app consume req#0 65536"]),
                no_credit_while_paused(o, 0, "req#0"),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "never_reading_pipeliner",
        about: "a client pipelining 100 GETs that never reads: once its responses block the transport nothing more is read or dispatched, and send_stall aborts it (Twisted #8868)",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.send_stall = Duration::from_secs(2);
            let mut s = echo("backpressure/never_reading_pipeliner", config);
            // The client reads nothing: its socket buffer (2 KB here) fills and stays full.
            s.faults = slow_reader(2048, 0);
            s.clients.push(
                ClientScript::new()
                    .send(pipelined_gets(PIPELINED))
                    // Keep the connection open, reading nothing.
                    .then(Action::Sleep(Duration::from_secs(5)))
                    .reading(ReadPolicy::Never)
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            let sent = o.clients[0].sent.len();
            let read = server_read_bytes(o, 0);
            let bounded = if read < sent / 2 {
                Vec::new()
            } else {
                vec![format!("the server read {read} of the {sent} bytes sent")]
            };
            all([
                in_order(
                    o,
                    &[
                        "event request req#0 GET /0 HTTP/1.1",
                        "transport blocked",
                        "reading paused",
                        "timer send_stall set for 2003.000ms",
                        "timer send_stall fired",
                        "close abort",
                        "socket aborted",
                    ],
                ),
                // Once the transport blocks, nothing more is read, nor dispatched.
                nothing_after(o, 0, "transport blocked", &["read ", "event request "]),
                bounded,
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "read_after_pause_recovers",
        about: "a client that reads nothing for 1 s blocks a 200 KB stream and 20 pipelined GETs; once it reads, everything arrives in order",
        seed: 1,
        build: |_| {
            let mut s = stream("backpressure/read_after_pause_recovers", quick_config());
            // Nothing drains until the client starts reading at 1 s (the end of the chaos
            // phase lifts the window).
            s.faults = slow_reader(4096, 0);
            s.chaos_phase = Duration::from_secs(1);
            let mut requests = b"GET /stream/200000 HTTP/1.1\r\nHost: h\r\n\r\n".to_vec();
            for i in 0..20 {
                requests.extend_from_slice(
                    format!("GET /stream/{} HTTP/1.1\r\nHost: h\r\n\r\n", 100 + i).as_bytes(),
                );
            }
            requests.extend_from_slice(b"GET /stream/10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            s.clients.push(
                ClientScript::new()
                    .send(requests)
                    .reading(ReadPolicy::After(Duration::from_secs(1))),
            );
            s
        },
        expect: |o| {
            let big = expected_body(200_000);
            let small: Vec<Vec<u8>> = (0..20).map(|i| expected_body(100 + i)).collect();
            let last = expected_body(10);
            let mut want: Vec<Option<&[u8]>> = vec![Some(&big)];
            want.extend(small.iter().map(|b| Some(b.as_slice())));
            want.push(Some(&last));
            let statuses_ok = statuses(o, 0, &[200; 22]);
            all([
                statuses_ok,
                long_bodies(o, 0, &want),
                in_order(
                    o,
                    &[
                        "transport blocked",
                        "producer req#0 paused",
                        "timer send_stall set",
                        "chaos over",
                        "transport writable",
                        "producer req#0 producing",
                        "timer send_stall cancelled",
                        "event request req#21 GET /stream/10 HTTP/1.1",
                        "close graceful",
                    ],
                ),
                // Nothing after the first request is dispatched before the client reads.
                in_order(o, &["chaos over", "event request req#1 "]),
                absent(o, "send_stall fired"),
                clean_eof(o, 0),
            ])
        },
    },
];
