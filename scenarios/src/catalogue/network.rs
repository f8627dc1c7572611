//! Network faults at turmoil's level: links held and released, partitions, and latency jitter.
//! A held link only delays; a partition drops what is in flight and wedges the stream for good
//! (turmoil does not retransmit, notes/turmoil.md A2.6), so only the engine's own timers can
//! end such a connection, which is what these scenarios show; jitter must never reorder bytes.

use std::time::Duration;

use twine_sim::{Action, ClientScript, Latency, NetFault, Seed};

use super::expect::{absent, all, bodies, clean_eof, in_order, statuses};
use super::{echo, quick_config, stream, Entry};
use twine_engine::{CloseReason, ProducerState, ProtocolErrorKind, Timer};
use twine_sim::pattern::{
    any_request, close, fault, lost, producer, protocol_error, request, server, timer_fired,
};
use twine_sim::{Fault, ServerEvent};

const FAMILY: &str = "network";

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "held_link_delays_but_completes",
        about: "a link held for 2 s delays the request, then everything arrives once it is released, well within the timers",
        seed: 1,
        build: |_: Seed| {
            let mut s = echo("network/held_link_delays_but_completes", quick_config());
            s.net = vec![
                (Duration::from_millis(3), NetFault::Hold),
                (Duration::from_millis(2003), NetFault::Release),
            ];
            s.clients.push(
                ClientScript::new()
                    .then(Action::Sleep(Duration::from_millis(5)))
                    .send("POST /held HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: close\r\n\r\nheld"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(b"held")]),
                clean_eof(o, 0),
                in_order(o, &[fault(Fault::Network { fault: NetFault::Hold }), fault(Fault::Network { fault: NetFault::Release }), request(0, "POST", "/held")]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "partition_mid_head_ends_by_header_read",
        about: "a partition while a head is half sent wedges the stream; the head deadline ends the connection (its 408 goes nowhere) and the dead peer's reset closes it",
        seed: 1,
        build: |_| {
            let mut s = echo("network/partition_mid_head_ends_by_header_read", quick_config());
            s.net = vec![(Duration::from_millis(20), NetFault::Partition)];
            s.clients.push(
                ClientScript::new()
                    .send("GET / HTTP/1.1\r\nHost: h\r\n")
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .send("\r\n")
                    .not_waiting()
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([
                in_order(
                    o,
                    &[
                        fault(Fault::Network { fault: NetFault::Partition }),
                        timer_fired(Timer::HeaderRead),
                        protocol_error(ProtocolErrorKind::RequestTimeout),
                        server(ServerEvent::ShutdownWrite),
                        // Healed at the end of the chaos phase, the link carries our FIN to a
                        // client long gone: its host answers with a reset.
                        server(ServerEvent::ConnectionLost),
                        server(ServerEvent::SocketAborted),
                    ],
                ),
                absent(o, any_request()),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "partition_mid_response_ends_by_send_stall",
        about: "a partition while a large body streams to a blocked writer: no segment comes back, no credit returns, and the send stall timer aborts the connection",
        seed: 1,
        build: |_| {
            let mut s = stream("network/partition_mid_response_ends_by_send_stall", quick_config());
            s.net = vec![(Duration::from_millis(4), NetFault::Partition)];
            s.clients.push(
                ClientScript::new()
                    .send("GET /stream/50000000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(20)))
                    .not_waiting()
                    .misbehaving(),
            );
            s
        },
        expect: |o| {
            all([in_order(
                o,
                &[
                    producer(0, ProducerState::Paused),
                    fault(Fault::Network { fault: NetFault::Partition }),
                    timer_fired(Timer::SendStall),
                    lost(0),
                    close(CloseReason::Abort),
                    server(ServerEvent::SocketAborted),
                ],
            )])
        },
    },
    Entry {
        family: FAMILY,
        name: "partition_repaired_while_idle",
        about: "a partition healed while nothing was in flight leaves the keep-alive connection intact: the next request is served on it",
        seed: 1,
        build: |_| {
            let mut s = echo("network/partition_repaired_while_idle", quick_config());
            s.net = vec![
                (Duration::from_millis(100), NetFault::Partition),
                (Duration::from_millis(600), NetFault::Repair),
            ];
            s.clients.push(
                ClientScript::new()
                    .send("GET /before HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(900)))
                    .send("GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                clean_eof(o, 0),
                in_order(o, &[fault(Fault::Network { fault: NetFault::Repair }), request(1, "GET", "/after")]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "jitter_keeps_byte_order",
        about: "random latency (1..=40 ms per segment) reorders segments in the network, never bytes on the stream: 12 segments of pipelined requests are answered in order",
        seed: 3,
        build: |_| {
            let mut s = echo("network/jitter_keeps_byte_order", quick_config());
            s.latency = Latency { min: Duration::from_millis(1), max: Duration::from_millis(40) };
            let mut script = ClientScript::new();
            for i in 0..12 {
                let close = if i == 11 { "Connection: close\r\n" } else { "" };
                script = script.send(format!(
                    "POST /{i} HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n{close}\r\n{i:02}"
                ));
            }
            s.clients.push(script);
            s
        },
        expect: |o| {
            let expected: Vec<String> = (0..12).map(|i| format!("{i:02}")).collect();
            let expected: Vec<Option<&[u8]>> = expected.iter().map(|b| Some(b.as_bytes())).collect();
            all([statuses(o, 0, &[200; 12]), bodies(o, 0, &expected), clean_eof(o, 0)])
        },
    },
];
