//! Backpressure end to end: a slow reader blocks the transport, the channel pauses the response
//! producer, a paused echo withholds request-body credit so reading pauses too, and a client
//! that never reads can neither make the server buffer without bound nor hold it forever.

use std::time::Duration;

use twine_apps::stream::expected_body;
use twine_sim::{Action, ClientScript, Fragments, Outcome, ReadPolicy};

use super::expect::{absent, all, clean_eof, failed, failed_on, in_order, statuses};
use super::{echo, quick_config, slow_reader, stream, Entry};
use twine_engine::{CloseReason, ProducerState, ReadState, RequestId, Timer, TransportState};
use twine_sim::pattern::{
    any_app_refused, app, body_end, close, fault, finish, producer, request, request_id, server,
    timer_cancelled, timer_fired, timer_set, timer_set_for,
};
use twine_sim::Violation;
use twine_sim::{AppAction, Fault, ServerEvent};

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
    // The record counts up in place: formatting each one cost a fifth of the family's runs.
    let mut record = *b"00000000\n";
    while body.len() < len {
        body.extend_from_slice(&record);
        for digit in record[..8].iter_mut().rev() {
            if *digit == b'9' {
                *digit = b'0';
            } else {
                *digit += 1;
                break;
            }
        }
    }
    body.truncate(len);
    body
}

/// Like `expect::bodies`, for long bodies: a failure names the response, the lengths and the
/// first differing byte instead of printing every byte (also used by other families).
pub(super) fn long_bodies(o: &Outcome, conn: usize, expected: &[Option<&[u8]>]) -> Vec<Violation> {
    let log = &o.clients[conn];
    let exchanges = match twine_sim::invariants::exchanges(&log.sent, &log.received) {
        Ok(exchanges) => exchanges,
        Err(error) => return failed_on(conn, error),
    };
    if exchanges.len() != expected.len() {
        return failed_on(
            conn,
            format!(
                "expected {} exchanges, got {}",
                expected.len(),
                exchanges.len()
            ),
        );
    }
    let mut out = Vec::new();
    for (i, (exchange, want)) in exchanges.iter().zip(expected).enumerate() {
        match (exchange.response_body.as_deref(), want) {
            (None, None) => {}
            (Some(got), Some(want)) if got == *want => {}
            (Some(got), Some(want)) => {
                let at = got.iter().zip(want.iter()).position(|(a, b)| a != b);
                let at = at.unwrap_or(got.len().min(want.len()));
                out.extend(failed_on(
                    conn,
                    format!(
                        "response {i}: {} bytes, expected {}, first difference at byte {at}",
                        got.len(),
                        want.len()
                    ),
                ));
            }
            (got, want) => out.extend(failed_on(
                conn,
                format!(
                    "response {i}: whole body {}, expected {}",
                    got.map_or("missing".to_string(), |b| format!("of {} bytes", b.len())),
                    want.map_or("none".to_string(), |b| format!("{} bytes", b.len()))
                ),
            )),
        }
    }
    out
}

/// The server-side events of connection `conn`, in order.
fn server_events(o: &Outcome, conn: u32) -> impl Iterator<Item = &ServerEvent> {
    o.trace
        .entries
        .iter()
        .filter(move |e| e.conn == Some(conn))
        .filter_map(|e| e.event.as_server())
}

/// Bytes the server read on connection `conn`.
fn server_read_bytes(o: &Outcome, conn: u32) -> usize {
    let read = |e: &ServerEvent| match e {
        ServerEvent::Read { bytes } => Some(*bytes),
        _ => None,
    };
    server_events(o, conn).filter_map(read).sum()
}

/// `n` pipelined GETs of about 1 KB each (a padding header), in one segment.
fn pipelined_gets(n: usize) -> Vec<u8> {
    let pad = "p".repeat(1000);
    (0..n)
        .flat_map(|i| format!("GET /{i} HTTP/1.1\r\nHost: h\r\nX-Pad: {pad}\r\n\r\n").into_bytes())
        .collect()
}

/// On connection `conn`, once the transport first blocked, the server neither reads nor
/// dispatches a request.
fn nothing_read_once_blocked(o: &Outcome, conn: u32) -> Vec<Violation> {
    let blocked = ServerEvent::Transport {
        state: TransportState::Blocked,
    };
    let mut events = server_events(o, conn).skip_while(|e| **e != blocked);
    if events.next().is_none() {
        return failed_on(conn as usize, "the transport never blocked".into());
    }
    events
        .filter(|e| matches!(e, ServerEvent::Read { .. } | ServerEvent::Request { .. }))
        .flat_map(|e| {
            failed_on(
                conn as usize,
                format!("\"{e}\" after the transport blocked"),
            )
        })
        .collect()
}

/// No body credit is granted to request `id` while its producer is paused.
fn no_credit_while_paused(o: &Outcome, conn: u32, id: RequestId) -> Vec<Violation> {
    let mut is_paused = false;
    for event in server_events(o, conn) {
        match event {
            ServerEvent::Producer { request, state } if *request == id => {
                is_paused = *state == ProducerState::Paused;
            }
            ServerEvent::App {
                command: AppAction::Consume { request, .. },
            } if *request == id && is_paused => {
                return failed_on(
                    conn as usize,
                    format!("\"{event}\" while the producer was paused"),
                );
            }
            _ => {}
        }
    }
    Vec::new()
}

/// An echo scenario whose client uploads `UPLOAD_BYTES` of a numbered body in 16 KiB segments
/// and reads slowly (a 16 KiB window drained at 4 KiB/ms).
fn echo_upload(name: &str, config: twine_engine::Config) -> twine_sim::Scenario {
    let mut s = echo(name, config);
    s.faults = slow_reader(16384, 4096);
    s.clients.push(
        ClientScript::new()
            .send(format!(
                "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: {UPLOAD_BYTES}\r\n\
                 Connection: close\r\n\r\n"
            ))
            .send_in(
                numbered_body(UPLOAD_BYTES),
                Fragments::Each(16384),
                Duration::ZERO,
            ),
    );
    s
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
            let pauses = producer(0, ProducerState::Paused).count(&o.trace);
            let many = if pauses >= 10 {
                Vec::new()
            } else {
                failed(format!("expected the producer to pause again and again, it paused {pauses} times"))
            };
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        // Blocked, by the full window or a write it (or a cut) cuts short.
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        producer(0, ProducerState::Paused),
                        timer_set(Timer::SendStall),
                        server(ServerEvent::Transport { state: TransportState::Writable }),
                        producer(0, ProducerState::Producing),
                        timer_cancelled(Timer::SendStall),
                        finish(0),
                        close(CloseReason::Graceful),
                    ],
                ),
                absent(o, timer_fired(Timer::SendStall)),
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
        build: |_| echo_upload("backpressure/echo_upload_slow_reader", quick_config()),
        expect: |o| {
            let body = numbered_body(UPLOAD_BYTES);
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                in_order(
                    o,
                    &[
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        producer(0, ProducerState::Paused),
                        server(ServerEvent::Reading { state: ReadState::Paused }),
                        server(ServerEvent::Transport { state: TransportState::Writable }),
                        producer(0, ProducerState::Producing),
                        server(ServerEvent::Reading { state: ReadState::Resumed }),
                        body_end(0),
                        close(CloseReason::Graceful),
                    ],
                ),
                // Credit withheld while paused is granted again, in one piece, on resume.
                in_order(o, &[producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), app(AppAction::Consume { request: RequestId::from_sequence(0), bytes: 65536 })]),
                no_credit_while_paused(o, 0, RequestId::from_sequence(0)),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "held_body_runs_no_body_timer",
        about: "an echo upload of 300 KB sent at once by a client that reads nothing for 600 ms, with a 200 ms body_read: once the paused app has used its 64 KB of credit, the rest of the body waits in a 512 KB buffer with room to spare and the client has nothing more to send; the connection waits on its own app, not the client, so the body timer does not run, and all 300 KB come back",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.body_read = Duration::from_millis(200);
            config.limits.recv_buffer_bytes_max = 512 * 1024;
            let mut s = echo("backpressure/held_body_runs_no_body_timer", config);
            s.clients.push(
                ClientScript::new()
                    .send(format!("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: {UPLOAD_BYTES}\r\nConnection: close\r\n\r\n"))
                    .send_in(numbered_body(UPLOAD_BYTES), Fragments::Each(16384), Duration::ZERO)
                    .reading(ReadPolicy::After(Duration::from_millis(600))),
            );
            s
        },
        expect: |o| {
            let body = numbered_body(UPLOAD_BYTES);
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                absent(o, timer_fired(Timer::BodyRead)),
                in_order(o, &[producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), body_end(0), finish(0), close(CloseReason::Graceful)]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "echo_send_buffer_under_credit",
        about: "found by the config knob: with a send buffer (4 KiB) smaller than echo's 64 KiB credit, body bytes that arrive while the producer is paused are held by the app, never written past the bound and refused; all 300 KB come back",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.limits.send_buffer_bytes_max = 4096;
            echo_upload("backpressure/echo_send_buffer_under_credit", config)
        },
        expect: |o| {
            let body = numbered_body(UPLOAD_BYTES);
            all([
                statuses(o, 0, &[200]),
                long_bodies(o, 0, &[Some(&body)]),
                // Before the fix, body writes past the bound were refused and lost, and the
                // response could never finish: "body shorter than Content-Length".
                absent(o, any_app_refused()),
                in_order(o, &[producer(0, ProducerState::Paused), finish(0), close(CloseReason::Graceful)]),
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
                failed(format!("the server read {read} of the {sent} bytes sent"))
            };
            all([
                in_order(
                    o,
                    &[
                        request(0, "GET", "/0"),
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        server(ServerEvent::Reading { state: ReadState::Paused }),
                        timer_set_for(Timer::SendStall, 2003),
                        timer_fired(Timer::SendStall),
                        close(CloseReason::Abort),
                        server(ServerEvent::SocketAborted),
                    ],
                ),
                // Once the transport blocks, nothing more is read, nor dispatched.
                nothing_read_once_blocked(o, 0),
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
                        server(ServerEvent::Transport { state: TransportState::Blocked }),
                        producer(0, ProducerState::Paused),
                        timer_set(Timer::SendStall),
                        fault(Fault::ChaosOver),
                        server(ServerEvent::Transport { state: TransportState::Writable }),
                        producer(0, ProducerState::Producing),
                        timer_cancelled(Timer::SendStall),
                        request(21, "GET", "/stream/10"),
                        close(CloseReason::Graceful),
                    ],
                ),
                // Nothing after the first request is dispatched before the client reads.
                in_order(o, &[fault(Fault::ChaosOver), request_id(1)]),
                absent(o, timer_fired(Timer::SendStall)),
                clean_eof(o, 0),
            ])
        },
    },
];

#[cfg(test)]
mod tests {
    use super::numbered_body;

    #[test]
    fn numbered_body_is_its_records_in_order() {
        // Past 10,000 records: every carry up to the fifth digit, and a cut last record.
        let len = 9 * 10_012 + 4;
        let records: String = (0..10_013).map(|i| format!("{i:08}\n")).collect();
        assert_eq!(numbered_body(len), records.as_bytes()[..len]);
        assert_eq!(&numbered_body(27)[18..], b"00000002\n");
    }
}
