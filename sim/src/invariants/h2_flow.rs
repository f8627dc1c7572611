//! The server's HTTP/2 frames judged against what the client had said by then, from the
//! trace's timed bytes both ways (RFC 9113):
//!
//! - **windows** (§6.9): the DATA a client has read on the connection, and on each stream,
//!   never passes the window it had opened by then: 65 535 (for streams, the
//!   `SETTINGS_INITIAL_WINDOW_SIZE` in force) plus every WINDOW_UPDATE it had sent. A grant
//!   sent after the client read the DATA cannot have allowed it (the server must receive a
//!   grant before it sends, and the DATA must travel back), so the check is sound under any
//!   latency. The setting in force for a DATA frame is the last the server had acknowledged
//!   before writing it (§6.5.3: a SETTINGS is applied before its ACK), or any larger one the
//!   client had sent since, which the server may have applied already: a window taken below
//!   zero by a lowered setting is owed (§6.9.2);
//! - **frame sizes** (§4.2): no frame longer than the `SETTINGS_MAX_FRAME_SIZE` in force
//!   (16 384 by default), read as the windows' setting is: the last acknowledged, or a larger
//!   one sent since;
//! - **header blocks** (§6.10): after HEADERS without END_HEADERS, only CONTINUATION on the
//!   same stream, until one ends the block;
//! - **GOAWAY** (§6.8): no HEADERS or DATA on a stream above the last one it names, and a
//!   later GOAWAY never names a higher one;
//! - **acknowledgements** (§6.5.3, §6.7): a SETTINGS ACK only for a SETTINGS the client
//!   sent, a PING ACK only echoing a PING the client sent, each answered once;
//! - **dates** (RFC 9110 §6.6.1): a response head's `date` (read by the wire checks) is no
//!   older than the second the client opened its stream and no newer than the second the
//!   head arrived: a date formatted once and kept too long, or read off the wrong clock,
//!   shows here.
//!
//! Frames are cut with the engine's frame layer; the rules are written here, independently of
//! the connection's code.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes, BytesMut};
use twine_engine::h2::connection::PREFACE;
use twine_engine::h2::frame::{
    Frame, FrameHeader, FrameKind, SettingId, FRAME_HEADER_BYTES, MAX_FRAME_SIZE_DEFAULT,
};

use super::h2_wire::Dated;
use crate::event::{Check, Event, Violation};
use crate::trace::Trace;

/// The window both ends start with, for the connection and for each stream (§6.9.2).
const WINDOW_INITIAL: u64 = 65_535;

/// A frame and when the client wrote (its frames) or read (the server's) its last byte.
struct Timed {
    at: u64,
    header: FrameHeader,
    /// `None` when the frame layer refuses it.
    frame: Option<Frame>,
}

/// Cuts one direction's timed chunks into timed frames, after `skip` bytes (the preface).
fn timed_frames(chunks: &[(u64, &Bytes)], mut skip: usize) -> Vec<Timed> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for (at, bytes) in chunks {
        let taken = skip.min(bytes.len());
        skip -= taken;
        buf.extend_from_slice(&bytes[taken..]);
        while let Some(head) = buf.first_chunk::<FRAME_HEADER_BYTES>() {
            let header = FrameHeader::parse(head);
            let total = FRAME_HEADER_BYTES + header.length as usize;
            if buf.len() < total {
                break;
            }
            let mut payload = buf.split_to(total).freeze();
            payload.advance(FRAME_HEADER_BYTES);
            let frame = Frame::parse(header, payload).ok();
            out.push(Timed {
                at: *at,
                header,
                frame,
            });
        }
    }
    out
}

/// What the client had granted, asked and sent, in the order it sent it.
#[derive(Default)]
struct ClientSaid {
    /// (when, stream, increment).
    grants: Vec<(u64, u32, u64)>,
    /// (when, which SETTINGS frame: 0 for the first, INITIAL_WINDOW_SIZE).
    initial_windows: Vec<(u64, usize, u64)>,
    /// (when, which SETTINGS frame, MAX_FRAME_SIZE).
    frame_sizes: Vec<(u64, usize, u64)>,
    /// When each SETTINGS (not an ACK) was sent.
    settings: Vec<u64>,
    /// (when, payload) of each PING (not an ACK).
    pings: Vec<(u64, [u8; 8])>,
    /// When each stream's first HEADERS was sent.
    opened: BTreeMap<u32, u64>,
}

impl ClientSaid {
    fn read(frames: &[Timed]) -> ClientSaid {
        let mut said = ClientSaid::default();
        for timed in frames {
            let at = timed.at;
            match &timed.frame {
                Some(Frame::WindowUpdate { stream, increment }) => {
                    said.grants.push((at, stream.get(), u64::from(*increment)));
                }
                Some(Frame::Settings {
                    ack: false,
                    settings,
                }) => {
                    let index = said.settings.len();
                    said.settings.push(at);
                    for &(id, value) in settings {
                        match id {
                            SettingId::InitialWindowSize => {
                                said.initial_windows.push((at, index, u64::from(value)))
                            }
                            SettingId::MaxFrameSize => {
                                said.frame_sizes.push((at, index, u64::from(value)))
                            }
                            _ => {}
                        }
                    }
                }
                Some(Frame::Ping {
                    ack: false,
                    payload,
                }) => said.pings.push((at, *payload)),
                Some(Frame::Headers { stream, .. }) => {
                    said.opened.entry(stream.get()).or_insert(at);
                }
                _ => {}
            }
        }
        said
    }

    /// The most the window of `stream` (0: the connection) can have allowed by `at`, in a
    /// frame the server wrote after acknowledging `acked` SETTINGS.
    fn window(&self, stream: u32, at: u64, acked: usize) -> u64 {
        let initial = match stream {
            0 => WINDOW_INITIAL,
            _ => in_force(&self.initial_windows, WINDOW_INITIAL, at, acked),
        };
        let granted: u64 = self
            .grants
            .iter()
            .filter(|(when, on, _)| *when <= at && *on == stream)
            .map(|(_, _, increment)| increment)
            .sum();
        initial + granted
    }

    /// The longest frame the client had allowed by `at`, for a frame the server wrote after
    /// acknowledging `acked` SETTINGS.
    fn frame_size(&self, at: u64, acked: usize) -> u64 {
        let default = u64::from(MAX_FRAME_SIZE_DEFAULT);
        in_force(&self.frame_sizes, default, at, acked)
    }
}

/// The largest value of a setting (`values`: when sent, in which SETTINGS frame, the value)
/// that may govern a frame the server wrote after acknowledging `acked` SETTINGS and the client
/// read by `at`: the last value acknowledged (`default` if none was), or any sent since that
/// the server may have applied before acknowledging it (§6.5.3: applied, then acknowledged).
fn in_force(values: &[(u64, usize, u64)], default: u64, at: u64, acked: usize) -> u64 {
    let acknowledged = values
        .iter()
        .rev()
        .find(|(_, index, _)| *index < acked)
        .map_or(default, |(_, _, value)| *value);
    values
        .iter()
        .filter(|(when, index, _)| *index >= acked && *when <= at)
        .map(|(_, _, value)| *value)
        .fold(acknowledged, u64::max)
}

/// Every rule of the module documentation the server broke on connection `conn`. A client
/// that did not open with the preface (on a connection HTTP/2 from its first byte) said
/// nothing the server must heed: its bytes are not frames.
pub(crate) fn check(
    conn: u32,
    trace: &Trace,
    client_opened: bool,
    dated: &[Dated],
) -> Vec<Violation> {
    let (mut sent, mut received) = (Vec::new(), Vec::new());
    for entry in trace.entries.iter().filter(|e| e.conn == Some(conn)) {
        match &entry.event {
            Event::ClientSent { bytes } => sent.push((entry.at_nanos, bytes)),
            Event::ClientReceived { bytes } => received.push((entry.at_nanos, bytes)),
            _ => {}
        }
    }
    let said = if client_opened {
        ClientSaid::read(&timed_frames(&sent, PREFACE.len()))
    } else {
        ClientSaid::default()
    };
    let server = timed_frames(&received, 0);
    let mut out = judge(conn, &said, &server);
    out.extend(check_dates(conn, &said, &server, dated));
    out
}

/// The first head dated outside the seconds its stream was open: from the second the client
/// sent the stream's first HEADERS (the server cannot have read it earlier; no bound when
/// the client did not open with the preface, and said nothing) to the second the head's
/// last frame arrived (the server wrote it no later).
fn check_dates(
    conn: u32,
    said: &ClientSaid,
    server: &[Timed],
    dated: &[Dated],
) -> Option<Violation> {
    let second = crate::net::unix_second;
    dated.iter().find_map(|head| {
        let arrived = second(server.get(head.frame)?.at);
        let opened = said.opened.get(&head.stream).map_or(0, |&at| second(at));
        let date = head.date;
        (date < opened || date > arrived).then(|| {
            let detail = format!(
                "stream {}'s head is dated {date} (Unix seconds), the stream opened at {opened} \
                 and the head arrived at {arrived}",
                head.stream
            );
            Violation::on(conn, Check::Date, detail)
        })
    })
}

fn judge(conn: u32, said: &ClientSaid, server: &[Timed]) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut fail = |check, detail: String| out.push(Violation::on(conn, check, detail));
    let mut used: BTreeMap<u32, u64> = BTreeMap::new();
    let mut over: Vec<u32> = Vec::new();
    let mut block: Option<u32> = None;
    let mut goaway: Option<u32> = None;
    let mut settings_acks = 0;
    let mut pings_answered: Vec<usize> = Vec::new();
    for timed in server {
        let (at, header) = (timed.at, &timed.header);
        let stream = header.stream.get();
        let length = u64::from(header.length);
        let max = said.frame_size(at, settings_acks);
        if length > max {
            let detail = format!("a {length}-byte frame past the client's frame size {max}");
            fail(Check::FlowControl, detail);
        }
        if let Some(open) = block {
            if !(header.kind == FrameKind::Continuation && stream == open) {
                let detail = format!("{:?} inside the header block of stream {open}", header.kind);
                fail(Check::Malformed, detail);
            }
        }
        let Some(frame) = &timed.frame else {
            // The wire checks report frames that do not parse.
            continue;
        };
        match frame {
            Frame::Headers { end_headers, .. } | Frame::Continuation { end_headers, .. } => {
                block = (!end_headers).then_some(stream);
            }
            Frame::Data { .. } => {
                for on in [0, stream] {
                    let total = used.entry(on).or_default();
                    *total += length;
                    let window = said.window(on, at, settings_acks);
                    // Once per window: every later frame would be over too.
                    if *total > window && !over.contains(&on) {
                        over.push(on);
                        let what = match on {
                            0 => "the connection".to_string(),
                            _ => format!("stream {on}"),
                        };
                        let detail = format!(
                            "{total} DATA bytes on {what} by {}, past the {window} its window \
                             allowed",
                            crate::trace::ms(at)
                        );
                        fail(Check::FlowControl, detail);
                    }
                }
            }
            Frame::GoAway { last_stream, .. } => {
                let last = last_stream.get();
                if goaway.is_some_and(|before| last > before) {
                    fail(
                        Check::Malformed,
                        format!("a GOAWAY naming stream {last}, above an earlier one's"),
                    );
                }
                goaway = Some(goaway.map_or(last, |before| before.min(last)));
            }
            Frame::Settings { ack: true, .. } => {
                settings_acks += 1;
                let asked = said.settings.iter().filter(|when| **when <= at).count();
                if settings_acks > asked {
                    let detail = format!("{settings_acks} SETTINGS ACKs for {asked} SETTINGS");
                    fail(Check::Malformed, detail);
                }
            }
            Frame::Ping { ack: true, payload } => {
                let asked = said.pings.iter().enumerate().find(|(i, (when, sent))| {
                    *when <= at && sent == payload && !pings_answered.contains(i)
                });
                match asked {
                    Some((i, _)) => pings_answered.push(i),
                    None => fail(
                        Check::Malformed,
                        format!("a PING ACK {payload:?} that answers no PING"),
                    ),
                }
            }
            _ => {}
        }
        let answers = matches!(frame, Frame::Headers { .. } | Frame::Data { .. });
        if let Some(last) = goaway.filter(|last| answers && stream > *last) {
            fail(
                Check::Malformed,
                format!("a frame on stream {stream} after a GOAWAY naming {last}"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use twine_engine::h2::frame::{ErrorCode, StreamId};

    use super::*;

    fn timed(at_ms: u64, frame: Frame) -> Timed {
        let mut bytes = BytesMut::new();
        frame.write(&mut bytes);
        let header = FrameHeader::parse(bytes.first_chunk().unwrap());
        Timed {
            at: at_ms * 1_000_000,
            header,
            frame: Some(frame),
        }
    }

    fn data(stream: u32, len: usize) -> Frame {
        Frame::Data {
            stream: StreamId::new(stream),
            data: Bytes::from(vec![b'x'; len]),
            end_stream: false,
            flow_len: len as u32,
        }
    }

    fn grant(stream: u32, increment: u32) -> Frame {
        Frame::WindowUpdate {
            stream: StreamId::new(stream),
            increment,
        }
    }

    fn found(client: &[Timed], server: &[Timed]) -> Vec<String> {
        judge(0, &ClientSaid::read(client), server)
            .into_iter()
            .map(|v| format!("{}: {}", v.check.name(), v.detail))
            .collect()
    }

    #[test]
    fn data_within_the_windows_passes_and_past_them_is_caught() {
        let client = [timed(1, grant(0, 10_000)), timed(1, grant(1, 10_000))];
        let within = [timed(2, data(1, 16_384)), timed(2, data(1, 16_384))];
        assert_eq!(found(&client, &within), Vec::<String>::new());
        // 4 x 16 384 + 10 000 = 75 536 > 75 535.
        let past: Vec<Timed> = (0..4)
            .map(|_| timed(2, data(1, 16_384)))
            .chain([timed(2, data(1, 10_000))])
            .collect();
        assert_eq!(
            found(&client, &past),
            [
                "flow-control: 75536 DATA bytes on the connection by 2.000ms, past the 75535 \
                 its window allowed",
                "flow-control: 75536 DATA bytes on stream 1 by 2.000ms, past the 75535 its \
                 window allowed"
            ]
        );
    }

    #[test]
    fn a_head_dated_outside_its_streams_seconds_is_caught() {
        let headers = |stream| Frame::Headers {
            stream: StreamId::new(stream),
            priority: None,
            fragment: Bytes::new(),
            end_stream: true,
            end_headers: true,
        };
        // Stream 1 opened at 1.5 s, its head arrived at 3.2 s (the server's second frame).
        let client = [timed(1_500, headers(1))];
        let server = [timed(10, data(0, 0)), timed(3_200, headers(1))];
        let epoch = crate::net::EPOCH_UNIX_SECS;
        let dated = |seconds_in| {
            let head = Dated {
                frame: 1,
                stream: 1,
                date: epoch + seconds_in,
            };
            let found = check_dates(0, &ClientSaid::read(&client), &server, &[head]);
            found.map(|v| v.detail)
        };
        for within in [1, 2, 3] {
            assert_eq!(dated(within), None, "{within} s in");
        }
        assert_eq!(
            dated(0),
            Some(format!(
                "stream 1's head is dated {epoch} (Unix seconds), the stream opened at {} and \
                 the head arrived at {}",
                epoch + 1,
                epoch + 3
            ))
        );
        assert!(dated(4).is_some(), "a date from after the head arrived");
    }

    #[test]
    fn a_grant_sent_after_the_data_was_read_does_not_count() {
        let client = [timed(5, grant(0, 100)), timed(5, grant(1, 100))];
        let server: Vec<Timed> = (0..4)
            .map(|_| timed(3, data(1, 16_384)))
            .chain([timed(3, data(1, 99))])
            .collect();
        assert_eq!(found(&client, &server).len(), 2);
        let server: Vec<Timed> = (0..4)
            .map(|_| timed(6, data(1, 16_384)))
            .chain([timed(6, data(1, 99))])
            .collect();
        assert_eq!(found(&client, &server), Vec::<String>::new());
    }

    #[test]
    fn a_larger_initial_window_counts_for_streams_only() {
        let settings = Frame::Settings {
            ack: false,
            settings: vec![(SettingId::InitialWindowSize, 100_000)],
        };
        let client = [timed(1, settings), timed(1, grant(0, 100_000))];
        let server: Vec<Timed> = (0..6).map(|_| timed(2, data(1, 16_384))).collect();
        assert_eq!(found(&client, &server), Vec::<String>::new());
        let server: Vec<Timed> = (0..6).map(|_| timed(2, data(1, 16_384))).collect();
        let client = [timed(1, grant(0, 100_000))];
        assert_eq!(
            found(&client, &server),
            [
                "flow-control: 65536 DATA bytes on stream 1 by 2.000ms, past the 65535 its window \
              allowed"
            ]
        );
    }

    #[test]
    fn a_window_lowered_below_zero_is_owed_once_acknowledged() {
        let settings = |values| Frame::Settings {
            ack: false,
            settings: values,
        };
        let ack = || Frame::Settings {
            ack: true,
            settings: vec![],
        };
        // 65 535 spent by 2 ms; at 3 ms the client lowers the setting to 1 000 (the stream's
        // window -64 535), at 5 ms gives back 64 535: the window is 0.
        let client = [
            timed(1, settings(vec![])),
            timed(1, grant(0, 200_000)),
            timed(3, settings(vec![(SettingId::InitialWindowSize, 1_000)])),
            timed(5, grant(1, 64_535)),
        ];
        let spent = || [16_384, 16_384, 16_384, 16_383].map(|len| timed(2, data(1, len)));
        let acked: Vec<Timed> = [timed(2, ack())]
            .into_iter()
            .chain(spent())
            .chain([timed(4, ack()), timed(6, data(1, 1))])
            .collect();
        assert_eq!(
            found(&client, &acked),
            [
                "flow-control: 65536 DATA bytes on stream 1 by 6.000ms, past the 65535 its window \
              allowed"
            ]
        );
        // Before its ACK the server may not have applied the lower setting yet.
        let unacked: Vec<Timed> = [timed(2, ack())]
            .into_iter()
            .chain(spent())
            .chain([timed(6, data(1, 1)), timed(6, ack())])
            .collect();
        assert_eq!(found(&client, &unacked), Vec::<String>::new());
    }

    #[test]
    fn a_frame_past_the_frame_size_is_caught() {
        let client = [timed(1, grant(0, 100_000)), timed(1, grant(1, 100_000))];
        assert_eq!(
            found(&client, &[timed(2, data(1, 16_385))]),
            ["flow-control: a 16385-byte frame past the client's frame size 16384"]
        );
        let bigger = Frame::Settings {
            ack: false,
            settings: vec![(SettingId::MaxFrameSize, 32_768)],
        };
        let client = [timed(1, bigger), timed(1, grant(0, 100_000))];
        assert_eq!(
            found(&client, &[timed(2, data(1, 16_385))]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_frame_size_lowered_again_holds_once_acknowledged() {
        let frame_size = |value| Frame::Settings {
            ack: false,
            settings: vec![(SettingId::MaxFrameSize, value)],
        };
        let ack = || Frame::Settings {
            ack: true,
            settings: vec![],
        };
        let client = [
            timed(1, frame_size(32_768)),
            timed(1, grant(0, 100_000)),
            timed(1, grant(1, 100_000)),
            timed(3, frame_size(16_384)),
        ];
        let server = |last: Vec<Timed>| -> Vec<Timed> {
            [timed(2, ack()), timed(2, data(1, 20_000))]
                .into_iter()
                .chain(last)
                .collect()
        };
        assert_eq!(
            found(
                &client,
                &server(vec![timed(4, ack()), timed(4, data(1, 16_385))])
            ),
            ["flow-control: a 16385-byte frame past the client's frame size 16384"]
        );
        let unacked = server(vec![timed(4, data(1, 16_385)), timed(4, ack())]);
        assert_eq!(found(&client, &unacked), Vec::<String>::new());
    }

    #[test]
    fn a_frame_inside_a_header_block_is_caught() {
        let open = Frame::Headers {
            stream: StreamId::new(1),
            priority: None,
            fragment: Bytes::from_static(&[0x88]),
            end_stream: false,
            end_headers: false,
        };
        let found = found(&[], &[timed(1, open), timed(1, data(1, 1))]);
        assert_eq!(
            found,
            ["malformed: Data inside the header block of stream 1"]
        );
    }

    #[test]
    fn answers_after_goaway_and_a_rising_goaway_are_caught() {
        let goaway = |last| Frame::GoAway {
            last_stream: StreamId::new(last),
            code: ErrorCode::NoError,
            debug: Bytes::new(),
        };
        let found = found(
            &[],
            &[
                timed(1, goaway(3)),
                timed(1, data(3, 1)),
                timed(1, data(5, 1)),
                timed(1, goaway(5)),
            ],
        );
        assert_eq!(
            found,
            [
                "malformed: a frame on stream 5 after a GOAWAY naming 3",
                "malformed: a GOAWAY naming stream 5, above an earlier one's"
            ]
        );
    }

    #[test]
    fn acknowledgements_of_nothing_are_caught() {
        let settings = Frame::Settings {
            ack: false,
            settings: vec![],
        };
        let ack = Frame::Settings {
            ack: true,
            settings: vec![],
        };
        let ping = |ack, payload| Frame::Ping { ack, payload };
        let client = [timed(1, settings), timed(1, ping(false, [1; 8]))];
        let good = [timed(2, ack.clone()), timed(2, ping(true, [1; 8]))];
        assert_eq!(found(&client, &good), Vec::<String>::new());
        let bad = [
            timed(2, ack.clone()),
            timed(2, ack),
            timed(2, ping(true, [1; 8])),
            timed(2, ping(true, [1; 8])),
        ];
        assert_eq!(
            found(&client, &bad),
            [
                "malformed: 2 SETTINGS ACKs for 1 SETTINGS",
                "malformed: a PING ACK [1, 1, 1, 1, 1, 1, 1, 1] that answers no PING"
            ]
        );
    }
}
