//! The wire checks of an HTTP/2 connection (a client that opened with the preface), in place
//! of the HTTP/1 response parser's:
//!
//! - **Safety**, for every connection: the server's bytes are frames, SETTINGS first; its
//!   header blocks decode in one HPACK context, each opening with the table size update the
//!   client's acknowledged SETTINGS call for (RFC 7541 §4.2); it answers only streams the
//!   client named (opened, or sent any frame on), the final head comes before any DATA and
//!   at most once, nothing but WINDOW_UPDATE follows the stream's end (END_STREAM or
//!   RST_STREAM), the response to a HEAD has no body bytes, a response ended by END_STREAM
//!   carries as many as its `content-length` says (§8.1.1: else it is malformed; a cut
//!   response is reset), every final head has a `date`, an HTTP date (`h2_flow` holds it to
//!   the stream's times), and a GOAWAY names as its last stream at least every stream
//!   answered before it.
//! - **Liveness**, for a well-behaved client nothing destructive touched: every stream the
//!   client opened and did not reset itself is ended by the server (a response with
//!   END_STREAM, or a reset), and every SETTINGS and PING the server read is acknowledged, a
//!   PING with its own payload.
//!
//! The frames are read with the engine's frame layer (small, table-tested and fuzzed); the
//! rules applied to them are written here, from RFC 9113, independently of the connection.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes, BytesMut};
use twine_engine::h2::connection::PREFACE;
use twine_engine::h2::frame::{
    Frame, FrameDecoder, FrameHeader, SettingId, FRAME_HEADER_BYTES, MAX_FRAME_SIZE_LIMIT,
};

use super::http_date;
use super::server_trace::Note;
use crate::client::ClientLog;
use crate::escape::escape;
use crate::event::{Check, ServerEvent, Violation};
use crate::hpack_reference::ReferenceDecoder;
use crate::scenario::Negotiation;

/// Whether the client spoke HTTP/2 (prior knowledge).
pub(crate) fn is_h2(log: &ClientLog) -> bool {
    log.sent.starts_with(PREFACE)
}

/// Whether connection `log` is judged as HTTP/2: its client spoke it, or the server had to
/// (ALPN chose `h2`).
pub(crate) fn judged_as_h2(log: &ClientLog, negotiation: Negotiation) -> bool {
    is_h2(log) || negotiation == Negotiation::AlpnH2
}

/// One stream as the server answered it.
#[derive(Debug, Default)]
struct Answer {
    head: bool,
    ended: bool,
    /// The final head's `content-length`, where it describes the body (not for a HEAD
    /// request or a 304).
    declared: Option<u64>,
    /// DATA bytes after the final head.
    body_bytes: u64,
}

/// The server's frames, or the first byte offset where they stop being frames.
fn frames(bytes: &[u8]) -> (Vec<Frame>, Option<String>) {
    let decoder = FrameDecoder::new(MAX_FRAME_SIZE_LIMIT);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(frame)) => out.push(frame),
            // A frame cut short at the end: the connection ended mid-frame.
            Ok(None) => return (out, None),
            Err(error) => {
                let at = bytes.len() - buf.len();
                return (out, Some(format!("no frame at byte {at}: {error:?}")));
            }
        }
    }
}

/// The client's frames, read past frames the frame layer refuses (a malformed frame is the
/// client's to send; its length is known, so what follows it is still read), with the stream
/// of every frame, refused or not.
fn client_frames(sent: &[u8]) -> (Vec<Frame>, Vec<u32>) {
    let Some(after_preface) = sent.strip_prefix(PREFACE) else {
        // No preface, so no frames: what follows is not read as HTTP/2.
        return (Vec::new(), Vec::new());
    };
    let mut buf = Bytes::copy_from_slice(after_preface);
    let (mut frames, mut named) = (Vec::new(), Vec::new());
    while let Some(head) = buf.first_chunk::<FRAME_HEADER_BYTES>() {
        let header = FrameHeader::parse(head);
        let total = FRAME_HEADER_BYTES + header.length as usize;
        if buf.len() < total {
            break;
        }
        let mut payload = buf.split_to(total);
        payload.advance(FRAME_HEADER_BYTES);
        named.push(header.stream.get());
        if let Ok(frame) = Frame::parse(header, payload) {
            frames.push(frame);
        }
    }
    (frames, named)
}

/// The requests the client's header blocks asked for, in order, read in one HPACK context
/// with the reference decoder, not the engine's (lenient on the table's size: a larger table
/// decodes an encoder's blocks the same); and whether every block decoded (one that does
/// not ends the reading: what follows it cannot be read either). Trailers name no method
/// and ask for nothing.
fn asked_requests(frames: &[Frame]) -> (Vec<Asked>, bool) {
    let mut hpack = ReferenceDecoder::allowing(1 << 20);
    let mut asked = Vec::new();
    let mut block: Option<(u32, BytesMut)> = None;
    for frame in frames {
        let (stream, fragment, end_headers) = match frame {
            Frame::Headers {
                stream,
                fragment,
                end_headers,
                ..
            } => (stream.get(), fragment, *end_headers),
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => (stream.get(), fragment, *end_headers),
            _ => continue,
        };
        let (_, bytes) = block.get_or_insert_with(|| (stream, BytesMut::new()));
        bytes.extend_from_slice(fragment);
        if !end_headers {
            continue;
        }
        let Some((stream, bytes)) = block.take() else {
            continue;
        };
        let Ok(fields) = hpack.decode(&bytes) else {
            return (asked, false);
        };
        let field = |name: &[u8]| fields.iter().find(|(n, _)| &n[..] == name).map(|(_, v)| v);
        if let Some(method) = field(b":method") {
            let target = match &method[..] {
                b"CONNECT" => field(b":authority"),
                _ => field(b":path"),
            };
            asked.push(Asked {
                stream,
                method: method.clone(),
                target: target.cloned().unwrap_or_default(),
            });
        }
    }
    (asked, true)
}

/// One request a client's header block asked for.
struct Asked {
    stream: u32,
    method: Bytes,
    /// Its `:path` (`:authority` for CONNECT), empty without one.
    target: Bytes,
}

/// The streams the client opened with a HEAD request.
fn head_streams(frames: &[Frame]) -> Vec<u32> {
    let (asked, _) = asked_requests(frames);
    let heads = asked.into_iter().filter(|a| &a.method[..] == b"HEAD");
    heads.map(|a| a.stream).collect()
}

/// The requests the engine dispatched are requests the client asked for, in the order its
/// streams opened: the method and `:path` (`:authority` for CONNECT) of each request header
/// block the client sent, read with an independent HPACK decoder, not the engine's. The
/// engine refuses some streams (malformed, too large, past its limits), so what it
/// dispatches is a subsequence, not a prefix. A client block that does not decode ends the
/// reading: what follows cannot be read either, and is not judged.
pub(crate) fn check_requests(conn: u32, log: &ClientLog, notes: &[Note<'_>]) -> Option<Violation> {
    let (frames, _) = client_frames(&log.sent);
    let (asked, readable) = asked_requests(&frames);
    let mut next = 0;
    for (_, event) in notes {
        let ServerEvent::Request { id, line } = event else {
            continue;
        };
        let method = line.method.as_bytes();
        let matching = |a: &Asked| &a.method[..] == method && a.target[..] == line.target[..];
        match asked[next..].iter().position(matching) {
            Some(at) => next += at + 1,
            None if !readable => return None,
            None => {
                let detail = format!(
                    "dispatched {id} {} {}, which no stream the client opened after the \
                     previous one asked for",
                    escape(method),
                    escape(&line.target)
                );
                return Some(Violation::on(conn, Check::Framing, detail));
            }
        }
    }
    None
}

/// The streams the client opened (HEADERS it sent), in order.
fn client_streams(sent: &[u8]) -> Vec<u32> {
    let (frames, _) = client_frames(sent);
    let mut streams: Vec<u32> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Headers { stream, .. } => Some(stream.get()),
            _ => None,
        })
        .collect();
    streams.dedup();
    streams
}

/// Safety: every broken rule of the server's side of the connection; and the dates of its
/// response heads, for `h2_flow` to hold to the times their streams opened and their heads
/// arrived.
pub(crate) fn check_safety(conn: u32, log: &ClientLog) -> (Vec<Violation>, Vec<Dated>) {
    let mut out = Vec::new();
    let mut dated = Vec::new();
    let mut undated = Vec::new();
    // The engine dates every final head (the run configures its clock's origin).
    let mut read_date = |head: &Result<Head, String>, frame: usize, stream: u32| {
        let Ok(head) = head else {
            return;
        };
        let detail = match (&head.date, head.status >= 200) {
            (Some(Ok(date)), _) => {
                let date = *date;
                dated.push(Dated {
                    frame,
                    stream,
                    date,
                });
                return;
            }
            (Some(Err(value)), _) => format!("stream {stream} is dated {value}, not an HTTP date"),
            (None, true) => format!("stream {stream}'s final head has no date"),
            (None, false) => return,
        };
        undated.push(Violation::on(conn, Check::Date, detail));
    };
    let mut fail = |detail: String| out.push(Violation::on(conn, Check::Malformed, detail));
    let (frames, error) = frames(&log.received);
    if let Some(error) = error {
        fail(error);
    }
    if !frames.is_empty() && !matches!(frames[0], Frame::Settings { ack: false, .. }) {
        fail(format!(
            "the server's first frame is {:?}, not SETTINGS",
            frames[0]
        ));
    }
    // The server may answer (reset) any stream the client named, opened or not.
    let (client, named) = client_frames(&log.sent);
    let heads = head_streams(&client);
    // The server's blocks are read as a client reads them, not by the engine's own HPACK,
    // and held to the table sizes the client's SETTINGS allow once each is acknowledged.
    let mut hpack = ReferenceDecoder::new();
    let mut table_sizes = client.iter().filter_map(|frame| match frame {
        Frame::Settings {
            ack: false,
            settings,
        } => Some(
            (settings.iter())
                .filter(|(id, _)| *id == SettingId::HeaderTableSize)
                .map(|&(_, value)| usize::try_from(value).unwrap_or(usize::MAX)),
        ),
        _ => None,
    });
    let mut answers: BTreeMap<u32, Answer> = BTreeMap::new();
    let mut block: Option<(u32, BytesMut, bool)> = None;
    // The highest stream the server sent a head on: a stream it acted on.
    let mut highest_answered = 0;
    for (index, frame) in frames.iter().enumerate() {
        let stream = frame.stream().get();
        if let Frame::GoAway { last_stream, .. } = frame {
            // §6.8: the last stream is the highest the sender acted on; naming a lower one
            // tells the client a request it answered was not processed, and may be retried.
            let last = last_stream.get();
            if highest_answered > last {
                fail(format!(
                    "GOAWAY names stream {last} the last processed, after answering stream \
                     {highest_answered}"
                ));
            }
        }
        if stream != 0 && !named.contains(&stream) {
            fail(format!(
                "a frame on stream {stream}, which the client never named"
            ));
            continue;
        }
        if let Frame::Settings { ack: true, .. } = frame {
            // Acknowledges the client's next SETTINGS, its sizes applied in order.
            for size in table_sizes.next().into_iter().flatten() {
                hpack.settings_acknowledged(size);
            }
        }
        let answer = answers.entry(stream).or_default();
        let ended_before = answer.ended;
        match frame {
            Frame::Headers {
                fragment,
                end_stream,
                end_headers,
                ..
            } => {
                highest_answered = highest_answered.max(stream);
                let mut bytes = BytesMut::from(&fragment[..]);
                if *end_headers {
                    let head = decode_head(&mut hpack, &bytes);
                    read_date(&head, index, stream);
                    let describes_body = !heads.contains(&stream);
                    on_head(answer, head, describes_body, *end_stream, stream, &mut fail);
                } else {
                    block = Some((stream, std::mem::take(&mut bytes), *end_stream));
                }
            }
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => match &mut block {
                Some((on, bytes, end_stream)) if *on == stream => {
                    bytes.extend_from_slice(fragment);
                    if *end_headers {
                        let head = decode_head(&mut hpack, bytes);
                        read_date(&head, index, stream);
                        let describes_body = !heads.contains(&stream);
                        on_head(answer, head, describes_body, *end_stream, stream, &mut fail);
                        block = None;
                    }
                }
                _ => fail(format!(
                    "CONTINUATION on stream {stream} outside a header block"
                )),
            },
            Frame::Data {
                data, end_stream, ..
            } => {
                if !answer.head {
                    fail(format!("DATA on stream {stream} before its response head"));
                }
                if !data.is_empty() && heads.contains(&stream) {
                    let n = data.len();
                    fail(format!(
                        "{n} body bytes on stream {stream}, a HEAD request's"
                    ));
                }
                answer.body_bytes += data.len() as u64;
                if *end_stream && !answer.ended {
                    answer.ended = true;
                    check_length(answer, stream, &mut fail);
                }
            }
            Frame::RstStream { .. } => answer.ended = true,
            _ => {}
        }
        let after_end =
            ended_before && !matches!(frame, Frame::WindowUpdate { .. } | Frame::RstStream { .. });
        if stream != 0 && after_end {
            fail(format!("{} on stream {stream} after its end", kind(frame)));
        }
    }
    out.extend(undated);
    (out, dated)
}

/// Liveness: the streams the client opened that the server never ended, and the SETTINGS and
/// PINGs it read and never acknowledged.
pub(crate) fn check_liveness(conn: u32, log: &ClientLog, server_read: usize) -> Vec<Violation> {
    let (received, _) = frames(&log.received);
    let ended: Vec<u32> = received
        .iter()
        .filter_map(|f| match f {
            Frame::Data {
                stream,
                end_stream: true,
                ..
            }
            | Frame::Headers {
                stream,
                end_stream: true,
                ..
            }
            | Frame::RstStream { stream, .. } => Some(stream.get()),
            _ => None,
        })
        .collect();
    let (sent, _) = client_frames(&log.sent);
    let reset_by_client: Vec<u32> = sent
        .iter()
        .filter_map(|f| match f {
            Frame::RstStream { stream, .. } => Some(stream.get()),
            _ => None,
        })
        .collect();
    let mut out: Vec<Violation> = client_streams(&log.sent)
        .into_iter()
        .filter(|s| !ended.contains(s) && !reset_by_client.contains(s))
        .map(|s| {
            Violation::on(
                conn,
                Check::Unanswered,
                format!("stream {s} was never ended"),
            )
        })
        .collect();
    let read = &log.sent[..server_read.min(log.sent.len())];
    out.extend(unacknowledged(conn, &client_frames(read).0, &received));
    out
}

/// Every SETTINGS and PING the server read (`read`: the client's whole frames within the
/// bytes the server read) is acknowledged, a PING with its own payload (RFC 9113 §6.5.3,
/// §6.7).
fn unacknowledged(conn: u32, read: &[Frame], received: &[Frame]) -> Vec<Violation> {
    let settings = |frames: &[Frame], ack: bool| {
        (frames.iter())
            .filter(|f| matches!(f, Frame::Settings { ack: a, .. } if *a == ack))
            .count()
    };
    let pings = |frames: &[Frame], ack: bool| -> Vec<[u8; 8]> {
        (frames.iter())
            .filter_map(|f| match f {
                Frame::Ping { ack: a, payload } if *a == ack => Some(*payload),
                _ => None,
            })
            .collect()
    };
    let mut out = Vec::new();
    let (owed, acks) = (settings(read, false), settings(received, true));
    if acks < owed {
        let detail = format!("{owed} SETTINGS read, {acks} acknowledged");
        out.push(Violation::on(conn, Check::Unanswered, detail));
    }
    let answered = pings(received, true);
    let unanswered = pings(read, false)
        .into_iter()
        .filter(|payload| !answered.contains(payload))
        .count();
    if unanswered > 0 {
        let detail = format!("{unanswered} PINGs read and never answered with their payload");
        out.push(Violation::on(conn, Check::Unanswered, detail));
    }
    out
}

/// What the checks need of a response head.
struct Head {
    status: u16,
    content_length: Option<u64>,
    /// Its `date`, read as Unix seconds: `Err` with the value when it is not an HTTP date.
    date: Option<Result<u64, String>>,
}

/// The `:status`, `content-length` and `date` of a header block, if it decodes.
fn decode_head(hpack: &mut ReferenceDecoder, block: &[u8]) -> Result<Head, String> {
    let mut status = None;
    let mut content_length = None;
    let mut date = None;
    hpack
        .decode_each(block, |name, value| {
            if status.is_none() && name == b":status" {
                status = number(value);
            } else if content_length.is_none() && name == b"content-length" {
                content_length = number(value);
            } else if date.is_none() && name == b"date" {
                date = Some(http_date(value).ok_or_else(|| escape(value)));
            }
        })
        .map_err(|e| format!("a header block that does not decode: {e}"))?;
    let status = status.ok_or_else(|| "a response head without :status".to_string())?;
    Ok(Head {
        status,
        content_length,
        date,
    })
}

/// A response head's `date` on a stream, and the index among the server's frames of the frame
/// that ended its block: `h2_flow` knows when each frame arrived, and holds the date to it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dated {
    pub(crate) frame: usize,
    pub(crate) stream: u32,
    /// Unix seconds.
    pub(crate) date: u64,
}

/// A decimal field value.
fn number<T: std::str::FromStr>(value: &[u8]) -> Option<T> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A head on `stream`; `describes_body`: its `content-length` counts body bytes (the request
/// was not HEAD).
fn on_head(
    answer: &mut Answer,
    head: Result<Head, String>,
    describes_body: bool,
    end_stream: bool,
    stream: u32,
    fail: &mut impl FnMut(String),
) {
    match head {
        Err(error) => fail(format!("stream {stream}: {error}")),
        Ok(head) if head.status >= 200 => {
            if answer.head {
                fail(format!("a second final response on stream {stream}"));
            }
            answer.head = true;
            if describes_body && head.status != 304 {
                answer.declared = head.content_length;
            }
        }
        Ok(_) if answer.head => fail(format!(
            "an interim response on stream {stream} after its head"
        )),
        Ok(_) => {}
    }
    if end_stream && !answer.ended {
        answer.ended = true;
        check_length(answer, stream, fail);
    }
}

/// A response ended by END_STREAM: its body is as long as its `content-length` said.
fn check_length(answer: &Answer, stream: u32, fail: &mut impl FnMut(String)) {
    match answer.declared {
        Some(declared) if answer.head && declared != answer.body_bytes => fail(format!(
            "stream {stream} ended after {} body bytes, its content-length {declared}",
            answer.body_bytes
        )),
        _ => {}
    }
}

fn kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::Data { .. } => "DATA",
        Frame::Headers { .. } => "HEADERS",
        Frame::Continuation { .. } => "CONTINUATION",
        Frame::Priority { .. } => "PRIORITY",
        Frame::PushPromise { .. } => "PUSH_PROMISE",
        _ => "a frame",
    }
}

#[cfg(test)]
mod tests {
    use twine_engine::h2::frame::StreamId;

    use super::*;

    /// `:status: 200` from the static table.
    const STATUS_200: &[u8] = &[0x88];
    /// `:method: GET`, `:scheme: http`, `:path: /` from the static table.
    const GET: &[u8] = &[0x82, 0x86, 0x84];

    fn bytes(frames: &[Frame]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for frame in frames {
            frame.write(&mut out);
        }
        out.to_vec()
    }

    fn settings(ack: bool) -> Frame {
        Frame::Settings {
            ack,
            settings: Vec::new(),
        }
    }

    fn ping(ack: bool, payload: &[u8; 8]) -> Frame {
        Frame::Ping {
            ack,
            payload: *payload,
        }
    }

    fn headers(block: &'static [u8]) -> Frame {
        Frame::Headers {
            stream: StreamId::new(1),
            priority: None,
            fragment: Bytes::from_static(block),
            end_stream: true,
            end_headers: true,
        }
    }

    /// A client that sent SETTINGS, a PING and a GET, and what the server answered: its
    /// violations when the server read `read` bytes, as `check: detail`.
    fn liveness(answer: &[Frame], read: usize) -> Vec<String> {
        let mut sent = PREFACE.to_vec();
        sent.extend(bytes(&[
            settings(false),
            ping(false, b"12345678"),
            headers(GET),
        ]));
        let log = ClientLog {
            sent,
            received: bytes(answer),
            ..ClientLog::default()
        };
        check_liveness(0, &log, read.min(log.sent.len()))
            .into_iter()
            .map(|v| format!("{}: {}", v.check.name(), v.detail))
            .collect()
    }

    /// The safety violations of a connection where the client sent `sent` and the server
    /// answered `answer`, as `check: detail`, but for dates (the heads here have none: their
    /// own test reads them).
    fn safety(sent: &[u8], answer: &[Frame]) -> Vec<String> {
        dated_safety(sent, answer)
            .0
            .into_iter()
            .filter(|finding| !finding.starts_with("date:"))
            .collect()
    }

    /// Every safety violation, and the dates read.
    fn dated_safety(sent: &[u8], answer: &[Frame]) -> (Vec<String>, Vec<(u32, u64)>) {
        let log = ClientLog {
            sent: sent.to_vec(),
            received: bytes(answer),
            ..ClientLog::default()
        };
        let (violations, dated) = check_safety(0, &log);
        let findings = (violations.into_iter())
            .map(|v| format!("{}: {}", v.check.name(), v.detail))
            .collect();
        (findings, dated.iter().map(|d| (d.stream, d.date)).collect())
    }

    #[test]
    fn requests_no_stream_asked_for_are_caught() {
        let mut sent = PREFACE.to_vec();
        // `GET /` on stream 1 (the static table's `:method GET`, `:scheme http`, `:path /`).
        sent.extend(bytes(&[settings(false), headers(GET)]));
        let log = ClientLog {
            sent,
            ..ClientLog::default()
        };
        let dispatched = |target: &'static str| {
            let event = ServerEvent::Request {
                id: twine_engine::RequestId::from_sequence(0),
                line: Box::new(crate::event::RequestLine {
                    method: twine_engine::Method::new("GET"),
                    target: Bytes::from_static(target.as_bytes()),
                    version: twine_engine::Version::Http2,
                }),
            };
            let notes = [(1_000_000, &event)];
            check_requests(0, &log, &notes).map(|v| v.to_string())
        };
        assert_eq!(dispatched("/"), None);
        assert_eq!(
            dispatched("/x").as_deref(),
            Some(
                "c0: dispatched req#0 \"GET\" \"/x\", which no stream the client opened \
                 after the previous one asked for"
            )
        );
    }

    #[test]
    fn final_heads_are_dated_with_http_dates() {
        let mut sent = PREFACE.to_vec();
        sent.extend(bytes(&[settings(false), headers(GET)]));
        let head = |status: &'static [u8], date: Option<&'static [u8]>| {
            let mut block = BytesMut::new();
            let fields = [(&b":status"[..], status)]
                .into_iter()
                .chain(date.map(|date| (&b"date"[..], date)));
            twine_engine::h2::hpack::HpackEncoder::new().encode(fields, &mut block);
            headers(Box::leak(block.to_vec().into_boxed_slice()))
        };
        let answer = |status, date| dated_safety(&sent, &[settings(false), head(status, date)]);
        let dated = answer(b"200", Some(b"Tue, 14 Nov 2023 22:13:20 GMT"));
        assert_eq!(dated, (Vec::new(), vec![(1, 1_700_000_000)]));
        assert_eq!(
            answer(b"200", Some(b"Tue, 14 Nov 2023 22:13:20 GMX")),
            (
                vec![
                    "date: stream 1 is dated \"Tue, 14 Nov 2023 22:13:20 GMX\", not an HTTP date"
                        .to_string()
                ],
                Vec::new()
            )
        );
        assert_eq!(
            answer(b"404", None),
            (
                vec!["date: stream 1's final head has no date".to_string()],
                Vec::new()
            )
        );
        // An interim head need not be dated.
        assert_eq!(answer(b"103", None).0, Vec::<String>::new());
    }

    #[test]
    fn every_settings_and_ping_read_is_acknowledged() {
        let acked = [
            settings(false),
            settings(true),
            ping(true, b"12345678"),
            headers(STATUS_200),
        ];
        assert_eq!(liveness(&acked, usize::MAX), Vec::<String>::new());
        let no_settings_ack = [
            settings(false),
            ping(true, b"12345678"),
            headers(STATUS_200),
        ];
        assert_eq!(
            liveness(&no_settings_ack, usize::MAX),
            ["unanswered: 1 SETTINGS read, 0 acknowledged"]
        );
        let wrong_payload = [
            settings(false),
            settings(true),
            ping(true, b"87654321"),
            headers(STATUS_200),
        ];
        assert_eq!(
            liveness(&wrong_payload, usize::MAX),
            ["unanswered: 1 PINGs read and never answered with their payload"]
        );
    }

    #[test]
    fn a_goaway_below_a_stream_already_answered_is_caught() {
        let mut sent = PREFACE.to_vec();
        sent.extend(bytes(&[settings(false), headers(GET)]));
        let goaway = |last: u32| Frame::GoAway {
            last_stream: StreamId::new(last),
            code: twine_engine::h2::frame::ErrorCode::NoError,
            debug: Bytes::new(),
        };
        let answer = |last: u32| [settings(false), headers(STATUS_200), goaway(last)];
        assert_eq!(safety(&sent, &answer(1)), Vec::<String>::new());
        assert_eq!(
            safety(&sent, &answer(0)),
            ["malformed: GOAWAY names stream 0 the last processed, after answering stream 1"]
        );
    }

    #[test]
    fn body_bytes_answering_a_head_are_caught() {
        // `:method: HEAD` (a literal with the static table's name), `:scheme: http`, `:path: /`.
        const HEAD: &[u8] = &[0x02, 0x04, b'H', b'E', b'A', b'D', 0x86, 0x84];
        let mut sent = PREFACE.to_vec();
        sent.extend(bytes(&[settings(false), headers(HEAD)]));
        let data = |body: &'static [u8]| Frame::Data {
            stream: StreamId::new(1),
            data: Bytes::from_static(body),
            end_stream: true,
            flow_len: body.len() as u32,
        };
        let head = Frame::Headers {
            stream: StreamId::new(1),
            priority: None,
            fragment: Bytes::from_static(STATUS_200),
            end_stream: false,
            end_headers: true,
        };
        let answer = |body| [settings(false), head.clone(), data(body)];
        assert_eq!(safety(&sent, &answer(b"")), Vec::<String>::new());
        assert_eq!(
            safety(&sent, &answer(b"hello")),
            ["malformed: 5 body bytes on stream 1, a HEAD request's"]
        );
    }

    #[test]
    fn a_response_ended_short_of_its_content_length_is_caught() {
        // `:status: 200` and `content-length: 5` (a literal with the static table's name).
        const STATUS_200_LENGTH_5: &[u8] = &[0x88, 0x0f, 0x0d, 0x01, b'5'];
        let mut sent = PREFACE.to_vec();
        sent.extend(bytes(&[settings(false), headers(GET)]));
        let head = Frame::Headers {
            stream: StreamId::new(1),
            priority: None,
            fragment: Bytes::from_static(STATUS_200_LENGTH_5),
            end_stream: false,
            end_headers: true,
        };
        let data = |body: &'static [u8], end_stream| Frame::Data {
            stream: StreamId::new(1),
            data: Bytes::from_static(body),
            end_stream,
            flow_len: body.len() as u32,
        };
        let whole = [
            settings(false),
            head.clone(),
            data(b"hel", false),
            data(b"lo", true),
        ];
        assert_eq!(safety(&sent, &whole), Vec::<String>::new());
        let short = [settings(false), head.clone(), data(b"hel", true)];
        assert_eq!(
            safety(&sent, &short),
            ["malformed: stream 1 ended after 3 body bytes, its content-length 5"]
        );
        let long = [settings(false), head.clone(), data(b"hello!", true)];
        assert_eq!(
            safety(&sent, &long),
            ["malformed: stream 1 ended after 6 body bytes, its content-length 5"]
        );
        // Cut and reset: the client knows it is not whole.
        let reset = Frame::RstStream {
            stream: StreamId::new(1),
            code: twine_engine::h2::frame::ErrorCode::Cancel,
        };
        let cut = [settings(false), head, data(b"hel", false), reset];
        assert_eq!(safety(&sent, &cut), Vec::<String>::new());
    }

    #[test]
    fn a_frame_the_server_never_read_is_not_owed_an_answer() {
        // The preface and the client's SETTINGS (9 bytes), not the PING after them.
        let read = PREFACE.len() + FRAME_HEADER_BYTES;
        let answer = [settings(false), settings(true), headers(STATUS_200)];
        assert_eq!(liveness(&answer, read), Vec::<String>::new());
        assert_eq!(
            liveness(&answer, usize::MAX),
            ["unanswered: 1 PINGs read and never answered with their payload"]
        );
    }
}
