//! The HTTP/2 frames of a trace, decoded for its text form: under each `c→s` and `s→c` line of
//! a connection that opened with the client preface, one line per frame that line completes,
//! with its header blocks decoded (`HEADERS s1 END_STREAM :method GET :path /`).
//!
//! A frame's bytes may arrive over several lines (segments, partial reads): each direction of
//! each connection keeps a buffer, and a frame is shown under the line that brings its last
//! byte. Each direction has its own HPACK context, decoded in order, as the receiver decodes
//! it; a block that does not decode is shown as such, and the context is lost from there on
//! (later blocks are not guessed at).
//!
//! The frame layer is the engine's (table-tested and fuzzed); a frame the engine would refuse
//! is still shown, by its header and the engine's verdict, and decoding goes on after it (its
//! length is known). What this module owns is only the wording. The JSON form of the trace
//! keeps the raw bytes alone: frames are derived, never recorded.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::{Buf, Bytes, BytesMut};
use twine_engine::h2::connection::PREFACE;
use twine_engine::h2::frame::{
    ErrorCode, Frame, FrameError, FrameHeader, FrameKind, Priority, SettingId, FRAME_HEADER_BYTES,
};
use twine_engine::h2::hpack::{HpackDecoder, TABLE_SIZE_DEFAULT};

use super::Entry;
use crate::escape::escape;
use crate::event::Event;

/// At most this many frame lines under one bytes line; the rest are counted by kind.
const LINES_PER_ENTRY_MAX: usize = 16;

/// A header block's fields are shown up to about this many characters, then counted.
const FIELDS_SHOWN_CHARS_MAX: usize = 400;

/// Header values longer than this are abbreviated (the bytes line above has them all).
const VALUE_SHOWN_MAX: usize = 64;

/// The frame lines to show under each entry, by entry index. Entries of connections that did
/// not speak HTTP/2, and lines that complete no frame, have none.
pub(crate) fn decode(entries: &[Entry]) -> BTreeMap<usize, Vec<String>> {
    let mut sides: BTreeMap<(u32, Direction), Side> = BTreeMap::new();
    let mut out = BTreeMap::new();
    let h2 = h2_connections(entries);
    for (index, entry) in entries.iter().enumerate() {
        let (Some(conn), Some((direction, bytes))) = (entry.conn, direction(&entry.event)) else {
            continue;
        };
        if !h2.contains(&conn) {
            continue;
        }
        let side = sides
            .entry((conn, direction))
            .or_insert_with(|| Side::new(direction));
        let lines = side.feed(bytes);
        if !lines.is_empty() {
            out.insert(index, fold(lines));
        }
    }
    out
}

/// The connections whose client opened with the HTTP/2 preface (prior knowledge).
fn h2_connections(entries: &[Entry]) -> Vec<u32> {
    let mut sent: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for entry in entries {
        if let (Some(conn), Event::ClientSent { bytes }) = (entry.conn, &entry.event) {
            let start = sent.entry(conn).or_default();
            let wanted = PREFACE.len().saturating_sub(start.len());
            start.extend_from_slice(&bytes[..wanted.min(bytes.len())]);
        }
    }
    sent.into_iter()
        .filter(|(_, start)| start.as_slice() == PREFACE)
        .map(|(conn, _)| conn)
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    ClientToServer,
    ServerToClient,
}

fn direction(event: &Event) -> Option<(Direction, &Bytes)> {
    match event {
        Event::ClientSent { bytes } => Some((Direction::ClientToServer, bytes)),
        Event::ClientReceived { bytes } => Some((Direction::ServerToClient, bytes)),
        _ => None,
    }
}

/// One direction of one connection.
struct Side {
    /// Preface bytes still to come (client to server only).
    preface_left: usize,
    buf: BytesMut,
    hpack: Option<HpackDecoder>,
    /// The header block being gathered: its stream and its bytes so far.
    block: Option<(u32, BytesMut)>,
}

impl Side {
    fn new(direction: Direction) -> Side {
        Side {
            preface_left: match direction {
                Direction::ClientToServer => PREFACE.len(),
                Direction::ServerToClient => 0,
            },
            buf: BytesMut::new(),
            hpack: Some(HpackDecoder::new(TABLE_SIZE_DEFAULT, usize::MAX)),
            block: None,
        }
    }

    /// The lines for every frame these bytes complete.
    fn feed(&mut self, mut bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        if self.preface_left > 0 {
            let taken = self.preface_left.min(bytes.len());
            self.preface_left -= taken;
            bytes = &bytes[taken..];
            if self.preface_left == 0 {
                lines.push("preface".to_string());
            }
        }
        self.buf.extend_from_slice(bytes);
        while let Some(head) = self.buf.first_chunk::<FRAME_HEADER_BYTES>() {
            let header = FrameHeader::parse(head);
            let total = FRAME_HEADER_BYTES + header.length as usize;
            if self.buf.len() < total {
                break;
            }
            let mut payload = self.buf.split_to(total).freeze();
            payload.advance(FRAME_HEADER_BYTES);
            let line = match Frame::parse(header, payload) {
                Ok(frame) => self.describe(&frame),
                Err(error) => refused(&header, error),
            };
            lines.extend(line);
        }
        lines
    }

    /// The frame's line; a header block's line waits for its last CONTINUATION.
    fn describe(&mut self, frame: &Frame) -> Option<String> {
        let line = match frame {
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            } => {
                let mut line = format!(
                    "DATA s{}{} {} bytes",
                    stream.get(),
                    end(*end_stream),
                    data.len()
                );
                if *flow_len as usize > data.len() {
                    let _ = write!(line, " (padded to {flow_len})");
                }
                line
            }
            Frame::Headers {
                stream,
                priority,
                fragment,
                end_stream,
                end_headers,
            } => {
                let mut words = format!("HEADERS s{}{}", stream.get(), end(*end_stream));
                if let Some(priority) = priority {
                    words.push_str(&priority_words(priority));
                }
                return self.block_part(stream.get(), Some(words), fragment, *end_headers);
            }
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => return self.block_part(stream.get(), None, fragment, *end_headers),
            Frame::Priority { stream, priority } => {
                format!("PRIORITY s{}{}", stream.get(), priority_words(priority))
            }
            Frame::RstStream { stream, code } => {
                format!("RST_STREAM s{} {}", stream.get(), code_name(*code))
            }
            Frame::Settings { ack: true, .. } => "SETTINGS ACK".to_string(),
            Frame::Settings {
                ack: false,
                settings,
            } => {
                let mut line = "SETTINGS".to_string();
                for (id, value) in settings {
                    let _ = write!(line, " {}={value}", setting_name(*id));
                }
                line
            }
            Frame::PushPromise {
                stream, promised, ..
            } => format!(
                "PUSH_PROMISE s{} promises s{}",
                stream.get(),
                promised.get()
            ),
            Frame::Ping { ack, payload } => {
                let ack = if *ack { " ACK" } else { "" };
                format!("PING{ack} {}", hex(payload))
            }
            Frame::GoAway {
                last_stream,
                code,
                debug,
            } => {
                let mut line = format!("GOAWAY last s{} {}", last_stream.get(), code_name(*code));
                if !debug.is_empty() {
                    let _ = write!(line, " {}", escape(debug));
                }
                line
            }
            Frame::WindowUpdate { stream, increment } => {
                format!("WINDOW_UPDATE s{} +{increment}", stream.get())
            }
            Frame::Unknown { kind, stream } => {
                format!(
                    "unknown frame type 0x{kind:02x} s{} (ignored)",
                    stream.get()
                )
            }
        };
        Some(line)
    }

    /// A HEADERS (`first` its words) or CONTINUATION fragment. Every fragment has its line;
    /// the one that ends the block shows the whole block's fields.
    fn block_part(
        &mut self,
        stream: u32,
        first: Option<String>,
        fragment: &Bytes,
        end_headers: bool,
    ) -> Option<String> {
        let (words, mut block) = match (first, self.block.take()) {
            (Some(words), None) => (words, BytesMut::new()),
            (None, Some((on, block))) if on == stream => (format!("CONTINUATION s{stream}"), block),
            (Some(words), Some(_)) => return Some(format!("{words} inside another header block")),
            (None, _) => return Some(format!("CONTINUATION s{stream} outside a header block")),
        };
        block.extend_from_slice(fragment);
        if !end_headers {
            let line = format!("{words} {} bytes, the block goes on", fragment.len());
            self.block = Some((stream, block));
            return Some(line);
        }
        Some(format!("{words}{}", self.fields(&block)))
    }

    /// A whole header block's fields, as words.
    fn fields(&mut self, block: &[u8]) -> String {
        let Some(hpack) = &mut self.hpack else {
            return " (not decoded: the HPACK context was lost earlier)".to_string();
        };
        let Ok(fields) = hpack.decode(block) else {
            self.hpack = None;
            return format!(" (HPACK block that does not decode: {})", escape(block));
        };
        let mut words = String::new();
        let total = fields.len();
        for (shown, (name, value)) in fields.into_iter().enumerate() {
            if words.len() > FIELDS_SHOWN_CHARS_MAX {
                let _ = write!(words, " …and {} more fields", total - shown);
                break;
            }
            let _ = write!(words, " {} {}", word(&name), value_word(&value));
        }
        words
    }
}

/// A frame the engine's frame layer refuses: its header, and the verdict.
fn refused(header: &FrameHeader, error: FrameError) -> Option<String> {
    let verdict = match error {
        FrameError::Connection(code) => format!("a connection error, {}", code_name(code)),
        FrameError::Stream(stream, code) => {
            format!("a stream error on s{}, {}", stream.get(), code_name(code))
        }
    };
    Some(format!(
        "malformed {} s{} flags 0x{:02x} length {}: {verdict}",
        kind_name(header.kind),
        header.stream.get(),
        header.flags,
        header.length
    ))
}

/// Runs of the same line are shown once with their count; lines past the cap are counted by
/// their first word.
fn fold(all: Vec<String>) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut run = 0;
    for (i, line) in all.iter().enumerate() {
        run += 1;
        if all.get(i + 1) != Some(line) {
            lines.push(match run {
                1 => line.clone(),
                n => format!("{line} × {n}"),
            });
            run = 0;
        }
    }
    if lines.len() <= LINES_PER_ENTRY_MAX {
        return lines;
    }
    let rest = lines.split_off(LINES_PER_ENTRY_MAX - 1);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &rest {
        *kinds
            .entry(line.split(' ').next().unwrap_or(""))
            .or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} × {n}")).collect();
    lines.push(format!(
        "⋮ {} more frames: {}",
        rest.len(),
        kinds.join(", ")
    ));
    lines
}

fn end(end_stream: bool) -> &'static str {
    if end_stream {
        " END_STREAM"
    } else {
        ""
    }
}

fn priority_words(priority: &Priority) -> String {
    let exclusive = if priority.exclusive { " exclusive" } else { "" };
    format!(
        " (depends on s{}{exclusive}, weight {})",
        priority.dependency.get(),
        u16::from(priority.weight) + 1
    )
}

/// A field name as it is when plain, escaped and quoted otherwise.
fn word(bytes: &[u8]) -> String {
    let plain = !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'"');
    match plain {
        true => String::from_utf8_lossy(bytes).into_owned(),
        false => escape(bytes),
    }
}

/// A field value as a [`word`], abbreviated past [`VALUE_SHOWN_MAX`] bytes.
fn value_word(bytes: &[u8]) -> String {
    if bytes.len() <= VALUE_SHOWN_MAX {
        return word(bytes);
    }
    format!(
        "{}…(+{} bytes)",
        word(&bytes[..VALUE_SHOWN_MAX]),
        bytes.len() - VALUE_SHOWN_MAX
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn kind_name(kind: FrameKind) -> String {
    match kind {
        FrameKind::Data => "DATA".into(),
        FrameKind::Headers => "HEADERS".into(),
        FrameKind::Priority => "PRIORITY".into(),
        FrameKind::RstStream => "RST_STREAM".into(),
        FrameKind::Settings => "SETTINGS".into(),
        FrameKind::PushPromise => "PUSH_PROMISE".into(),
        FrameKind::Ping => "PING".into(),
        FrameKind::GoAway => "GOAWAY".into(),
        FrameKind::WindowUpdate => "WINDOW_UPDATE".into(),
        FrameKind::Continuation => "CONTINUATION".into(),
        FrameKind::Unknown(kind) => format!("type 0x{kind:02x}"),
    }
}

fn setting_name(id: SettingId) -> String {
    match id {
        SettingId::HeaderTableSize => "HEADER_TABLE_SIZE".into(),
        SettingId::EnablePush => "ENABLE_PUSH".into(),
        SettingId::MaxConcurrentStreams => "MAX_CONCURRENT_STREAMS".into(),
        SettingId::InitialWindowSize => "INITIAL_WINDOW_SIZE".into(),
        SettingId::MaxFrameSize => "MAX_FRAME_SIZE".into(),
        SettingId::MaxHeaderListSize => "MAX_HEADER_LIST_SIZE".into(),
        SettingId::EnableConnectProtocol => "ENABLE_CONNECT_PROTOCOL".into(),
        SettingId::Unknown(id) => format!("0x{id:04x}"),
    }
}

fn code_name(code: ErrorCode) -> String {
    match code {
        ErrorCode::NoError => "NO_ERROR".into(),
        ErrorCode::ProtocolError => "PROTOCOL_ERROR".into(),
        ErrorCode::InternalError => "INTERNAL_ERROR".into(),
        ErrorCode::FlowControlError => "FLOW_CONTROL_ERROR".into(),
        ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT".into(),
        ErrorCode::StreamClosed => "STREAM_CLOSED".into(),
        ErrorCode::FrameSizeError => "FRAME_SIZE_ERROR".into(),
        ErrorCode::RefusedStream => "REFUSED_STREAM".into(),
        ErrorCode::Cancel => "CANCEL".into(),
        ErrorCode::CompressionError => "COMPRESSION_ERROR".into(),
        ErrorCode::ConnectError => "CONNECT_ERROR".into(),
        ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM".into(),
        ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY".into(),
        ErrorCode::Http11Required => "HTTP_1_1_REQUIRED".into(),
        ErrorCode::Unknown(code) => format!("error 0x{code:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(conn: u32, event: Event) -> Entry {
        Entry {
            at_nanos: 0,
            conn: Some(conn),
            event,
        }
    }

    fn sent(conn: u32, bytes: &[u8]) -> Entry {
        entry(
            conn,
            Event::ClientSent {
                bytes: Bytes::copy_from_slice(bytes),
            },
        )
    }

    fn received(conn: u32, bytes: &[u8]) -> Entry {
        entry(
            conn,
            Event::ClientReceived {
                bytes: Bytes::copy_from_slice(bytes),
            },
        )
    }

    /// HEADERS s1 END_STREAM|END_HEADERS: GET http / with `:authority sim` (literal with
    /// incremental indexing, so the second block can refer to it as index 62).
    const GET_S1: &[u8] = b"\x00\x00\x08\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x03sim";
    const GET_S3_INDEXED: &[u8] = b"\x00\x00\x04\x01\x05\x00\x00\x00\x03\x82\x86\x84\xbe";

    #[test]
    fn frames_split_across_lines_are_shown_under_the_line_with_their_last_byte() {
        let mut stream = PREFACE.to_vec();
        stream.extend_from_slice(GET_S1);
        stream.extend_from_slice(GET_S3_INDEXED);
        // The preface and half of the first frame, then the rest.
        let entries = vec![
            sent(0, &stream[..30]),
            sent(0, &stream[30..]),
            received(0, b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"),
            received(
                0,
                b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00",
            ),
        ];
        let frames = decode(&entries);
        assert_eq!(frames[&0], ["preface"]);
        assert_eq!(
            frames[&1],
            [
                "HEADERS s1 END_STREAM :method GET :scheme http :path / :authority sim",
                "HEADERS s3 END_STREAM :method GET :scheme http :path / :authority sim",
            ]
        );
        assert_eq!(frames[&2], ["SETTINGS ACK"]);
        assert_eq!(frames[&3], ["GOAWAY last s3 NO_ERROR"]);
    }

    #[test]
    fn http1_connections_and_lines_that_complete_nothing_have_no_frames() {
        let mut h2 = PREFACE.to_vec();
        h2.extend_from_slice(&GET_S1[..5]);
        let entries = vec![
            sent(0, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            received(0, b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
            sent(1, &h2[..10]),
            sent(1, &h2[10..]),
        ];
        let frames = decode(&entries);
        assert_eq!(frames.keys().copied().collect::<Vec<_>>(), [3]);
        assert_eq!(frames[&3], ["preface"]);
    }

    #[test]
    fn refused_frames_show_the_verdict_and_decoding_goes_on() {
        let mut stream = PREFACE.to_vec();
        // PING of 7 bytes, then WINDOW_UPDATE of 0 on stream 1, then a good PING.
        stream.extend_from_slice(b"\x00\x00\x07\x06\x00\x00\x00\x00\x00abcdefg");
        stream.extend_from_slice(b"\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x00\x00");
        stream.extend_from_slice(
            b"\x00\x00\x08\x06\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08",
        );
        let frames = decode(&[sent(0, &stream)]);
        assert_eq!(
            frames[&0],
            [
                "preface",
                "malformed PING s0 flags 0x00 length 7: a connection error, FRAME_SIZE_ERROR",
                "malformed WINDOW_UPDATE s1 flags 0x00 length 4: a stream error on s1, \
                 PROTOCOL_ERROR",
                "PING 0102030405060708",
            ]
        );
    }

    #[test]
    fn a_block_that_does_not_decode_loses_the_context() {
        let mut stream = PREFACE.to_vec();
        // Index 70 does not exist in an empty dynamic table.
        stream.extend_from_slice(b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\xc6");
        stream.extend_from_slice(GET_S3_INDEXED);
        let frames = decode(&[sent(0, &stream)]);
        assert_eq!(
            frames[&0],
            [
                "preface",
                "HEADERS s1 END_STREAM (HPACK block that does not decode: \"\\xc6\")",
                "HEADERS s3 END_STREAM (not decoded: the HPACK context was lost earlier)",
            ]
        );
    }

    #[test]
    fn continued_blocks_show_every_fragment_and_repeats_fold() {
        let mut stream = PREFACE.to_vec();
        stream.extend_from_slice(b"\x00\x00\x02\x01\x01\x00\x00\x00\x01\x82\x86");
        for _ in 0..3 {
            stream.extend_from_slice(b"\x00\x00\x00\x09\x00\x00\x00\x00\x01");
        }
        stream.extend_from_slice(b"\x00\x00\x06\x09\x04\x00\x00\x00\x01\x84\x41\x03sim");
        let frames = decode(&[sent(0, &stream)]);
        assert_eq!(
            frames[&0],
            [
                "preface",
                "HEADERS s1 END_STREAM 2 bytes, the block goes on",
                "CONTINUATION s1 0 bytes, the block goes on × 3",
                "CONTINUATION s1 :method GET :scheme http :path / :authority sim",
            ]
        );
    }

    #[test]
    fn many_frames_under_one_line_are_capped_and_counted() {
        let mut stream = PREFACE.to_vec();
        for i in 0..40u32 {
            stream.extend_from_slice(b"\x00\x00\x04\x08\x00\x00\x00\x00\x00");
            stream.extend_from_slice(&(i + 1).to_be_bytes());
        }
        let frames = decode(&[sent(0, &stream)]);
        assert_eq!(frames[&0].len(), LINES_PER_ENTRY_MAX);
        assert_eq!(frames[&0][1], "WINDOW_UPDATE s0 +1");
        assert_eq!(
            frames[&0][LINES_PER_ENTRY_MAX - 1],
            "⋮ 26 more frames: WINDOW_UPDATE × 26"
        );
    }
}
