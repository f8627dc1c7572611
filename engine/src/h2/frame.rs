//! HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, every frame type, parsed with limits
//! and the RFC's exact error codes, and written into a caller's buffer.
//!
//! Parsing checks what a frame alone can show (its size, its stream, its flags, its fields);
//! what needs the connection's state (a frame on an idle stream, CONTINUATION out of
//! sequence, a PUSH_PROMISE to a server) is the connection's to judge. Payloads are slices of
//! the received buffer: nothing is copied. A DATA frame's body is written as a header plus the
//! caller's `Bytes`, so a response body is never copied either.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The frame header's length: 24-bit length, type, flags, 31-bit stream id.
pub const FRAME_HEADER_BYTES: usize = 9;

/// The smallest `SETTINGS_MAX_FRAME_SIZE`, and the size every peer must accept (§4.2).
pub const MAX_FRAME_SIZE_DEFAULT: u32 = 16_384;

/// The largest `SETTINGS_MAX_FRAME_SIZE` (2^24 - 1).
pub const MAX_FRAME_SIZE_LIMIT: u32 = (1 << 24) - 1;

/// The largest flow-control window (2^31 - 1, §6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;

/// An error code (RFC 9113 §7). Unknown codes are kept, never treated as errors (§7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0x0: graceful shutdown, or no error.
    NoError,
    /// 0x1: a protocol error the other codes do not name.
    ProtocolError,
    /// 0x2: an internal error.
    InternalError,
    /// 0x3: flow control was violated.
    FlowControlError,
    /// 0x4: a SETTINGS frame was not acknowledged in time.
    SettingsTimeout,
    /// 0x5: a frame on a half-closed stream.
    StreamClosed,
    /// 0x6: a frame of the wrong size.
    FrameSizeError,
    /// 0x7: the stream was refused before any processing.
    RefusedStream,
    /// 0x8: the stream is no longer needed.
    Cancel,
    /// 0x9: the header compression context cannot be maintained.
    CompressionError,
    /// 0xa: a CONNECT tunnel failed.
    ConnectError,
    /// 0xb: the peer behaves in a way that might generate excessive load.
    EnhanceYourCalm,
    /// 0xc: the transport is not secure enough.
    InadequateSecurity,
    /// 0xd: use HTTP/1.1 for this request.
    Http11Required,
    /// A code this implementation does not know.
    Unknown(u32),
}

impl ErrorCode {
    /// The code from the wire.
    pub const fn from_u32(code: u32) -> ErrorCode {
        match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::ProtocolError,
            0x2 => ErrorCode::InternalError,
            0x3 => ErrorCode::FlowControlError,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSizeError,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::CompressionError,
            0xa => ErrorCode::ConnectError,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The code on the wire.
    pub const fn to_u32(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::ProtocolError => 0x1,
            ErrorCode::InternalError => 0x2,
            ErrorCode::FlowControlError => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSizeError => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::CompressionError => 0x9,
            ErrorCode::ConnectError => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Unknown(code) => code,
        }
    }
}

/// A stream identifier: 31 bits, the reserved bit cleared on parse (§4.1). 0 is the
/// connection itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(u32);

impl StreamId {
    /// The connection (stream 0).
    pub const CONNECTION: StreamId = StreamId(0);

    /// A stream id; the reserved high bit is dropped.
    pub const fn new(id: u32) -> StreamId {
        StreamId(id & MAX_WINDOW)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Stream 0, the connection.
    pub const fn is_connection(self) -> bool {
        self.0 == 0
    }

    /// Opened by a client (odd, §5.1.1).
    pub const fn is_client_initiated(self) -> bool {
        self.0 % 2 == 1
    }
}

/// Which frame types there are (§6), by their code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// 0x0
    Data,
    /// 0x1
    Headers,
    /// 0x2
    Priority,
    /// 0x3
    RstStream,
    /// 0x4
    Settings,
    /// 0x5
    PushPromise,
    /// 0x6
    Ping,
    /// 0x7
    GoAway,
    /// 0x8
    WindowUpdate,
    /// 0x9
    Continuation,
    /// Any other type: ignored (§4.1, §5.5).
    Unknown(u8),
}

impl FrameKind {
    const fn from_u8(kind: u8) -> FrameKind {
        match kind {
            0x0 => FrameKind::Data,
            0x1 => FrameKind::Headers,
            0x2 => FrameKind::Priority,
            0x3 => FrameKind::RstStream,
            0x4 => FrameKind::Settings,
            0x5 => FrameKind::PushPromise,
            0x6 => FrameKind::Ping,
            0x7 => FrameKind::GoAway,
            0x8 => FrameKind::WindowUpdate,
            0x9 => FrameKind::Continuation,
            other => FrameKind::Unknown(other),
        }
    }

    const fn to_u8(self) -> u8 {
        match self {
            FrameKind::Data => 0x0,
            FrameKind::Headers => 0x1,
            FrameKind::Priority => 0x2,
            FrameKind::RstStream => 0x3,
            FrameKind::Settings => 0x4,
            FrameKind::PushPromise => 0x5,
            FrameKind::Ping => 0x6,
            FrameKind::GoAway => 0x7,
            FrameKind::WindowUpdate => 0x8,
            FrameKind::Continuation => 0x9,
            FrameKind::Unknown(kind) => kind,
        }
    }

    /// Where a frame of this type goes (§6).
    const fn scope(self) -> Scope {
        match self {
            FrameKind::Data
            | FrameKind::Headers
            | FrameKind::Priority
            | FrameKind::RstStream
            | FrameKind::PushPromise
            | FrameKind::Continuation => Scope::Stream,
            FrameKind::Settings | FrameKind::Ping | FrameKind::GoAway => Scope::Connection,
            FrameKind::WindowUpdate | FrameKind::Unknown(_) => Scope::Either,
        }
    }
}

/// Where a frame may go (§6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// On a stream, never on the connection (stream 0).
    Stream,
    /// On the connection only.
    Connection,
    /// Either (WINDOW_UPDATE; a type we do not know, ignored wherever it comes).
    Either,
}

/// Flag bits (§6).
pub mod flags {
    /// DATA, HEADERS: the last frame the sender sends on this stream.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends here.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a pad length byte and padding.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: the deprecated priority fields are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The 9-byte frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The payload's length.
    pub length: u32,
    /// The type.
    pub kind: FrameKind,
    /// The flags, as received (unknown flags are ignored, §4.1).
    pub flags: u8,
    /// The stream.
    pub stream: StreamId,
}

impl FrameHeader {
    /// Reads a header from its 9 bytes.
    pub fn parse(bytes: &[u8; FRAME_HEADER_BYTES]) -> FrameHeader {
        let length = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        FrameHeader {
            length,
            kind: FrameKind::from_u8(bytes[3]),
            flags: bytes[4],
            stream: StreamId::new(stream),
        }
    }

    /// Appends the 9 bytes.
    pub fn write(&self, out: &mut BytesMut) {
        assert!(self.length <= MAX_FRAME_SIZE_LIMIT, "frame too long");
        out.put_slice(&self.length.to_be_bytes()[1..]);
        out.put_u8(self.kind.to_u8());
        out.put_u8(self.flags);
        out.put_u32(self.stream.get());
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The deprecated priority fields (§5.3.2, §6.3): parsed so they can be checked, then
/// ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// The stream this one depends on.
    pub dependency: StreamId,
    /// Exclusive dependency.
    pub exclusive: bool,
    /// Weight minus one.
    pub weight: u8,
}

/// A setting's identifier (§6.5.2; RFC 8441 for ENABLE_CONNECT_PROTOCOL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingId {
    /// 0x1
    HeaderTableSize,
    /// 0x2
    EnablePush,
    /// 0x3
    MaxConcurrentStreams,
    /// 0x4
    InitialWindowSize,
    /// 0x5
    MaxFrameSize,
    /// 0x6
    MaxHeaderListSize,
    /// 0x8
    EnableConnectProtocol,
    /// Unknown: ignored (§6.5.2).
    Unknown(u16),
}

impl SettingId {
    const fn from_u16(id: u16) -> SettingId {
        match id {
            0x1 => SettingId::HeaderTableSize,
            0x2 => SettingId::EnablePush,
            0x3 => SettingId::MaxConcurrentStreams,
            0x4 => SettingId::InitialWindowSize,
            0x5 => SettingId::MaxFrameSize,
            0x6 => SettingId::MaxHeaderListSize,
            0x8 => SettingId::EnableConnectProtocol,
            other => SettingId::Unknown(other),
        }
    }

    const fn to_u16(self) -> u16 {
        match self {
            SettingId::HeaderTableSize => 0x1,
            SettingId::EnablePush => 0x2,
            SettingId::MaxConcurrentStreams => 0x3,
            SettingId::InitialWindowSize => 0x4,
            SettingId::MaxFrameSize => 0x5,
            SettingId::MaxHeaderListSize => 0x6,
            SettingId::EnableConnectProtocol => 0x8,
            SettingId::Unknown(id) => id,
        }
    }
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Request or response body bytes.
    Data {
        /// The stream.
        stream: StreamId,
        /// The data, padding removed.
        data: Bytes,
        /// The sender's last frame on the stream.
        end_stream: bool,
        /// What counts against flow control: the whole payload, padding included (§6.1).
        flow_len: u32,
    },
    /// The start of a field block.
    Headers {
        /// The stream.
        stream: StreamId,
        /// The deprecated priority fields, if present.
        priority: Option<Priority>,
        /// The (first part of the) encoded field block, padding removed.
        fragment: Bytes,
        /// The sender's last frame on the stream.
        end_stream: bool,
        /// No CONTINUATION follows.
        end_headers: bool,
    },
    /// A deprecated priority signal.
    Priority {
        /// The stream.
        stream: StreamId,
        /// Its fields.
        priority: Priority,
    },
    /// The stream ends at once.
    RstStream {
        /// The stream.
        stream: StreamId,
        /// Why.
        code: ErrorCode,
    },
    /// Settings, or their acknowledgement.
    Settings {
        /// An acknowledgement (no settings then).
        ack: bool,
        /// The settings, in order; values already checked against their ranges.
        settings: Vec<(SettingId, u32)>,
    },
    /// A server push (a client must never send one, §8.4).
    PushPromise {
        /// The stream it is associated with.
        stream: StreamId,
        /// The stream it reserves.
        promised: StreamId,
        /// The (first part of the) encoded field block.
        fragment: Bytes,
        /// No CONTINUATION follows.
        end_headers: bool,
    },
    /// A liveness check, or its answer.
    Ping {
        /// An answer.
        ack: bool,
        /// Echoed back in the answer.
        payload: [u8; 8],
    },
    /// The connection is ending.
    GoAway {
        /// The last stream the sender may have processed.
        last_stream: StreamId,
        /// Why.
        code: ErrorCode,
        /// For people.
        debug: Bytes,
    },
    /// More room in a flow-control window.
    WindowUpdate {
        /// The stream, or 0 for the connection.
        stream: StreamId,
        /// 1..=2^31-1.
        increment: u32,
    },
    /// More of a field block.
    Continuation {
        /// The stream.
        stream: StreamId,
        /// The next part of the encoded field block.
        fragment: Bytes,
        /// The block ends here.
        end_headers: bool,
    },
    /// A frame of an unknown type: to be ignored.
    Unknown {
        /// Its type.
        kind: u8,
        /// Its stream.
        stream: StreamId,
    },
}

/// Whose error a malformed frame is (§5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The connection ends: GOAWAY with this code.
    Connection(ErrorCode),
    /// Only this stream ends: RST_STREAM with this code.
    Stream(StreamId, ErrorCode),
}

impl Frame {
    /// The stream the frame is on (0 for the connection).
    pub fn stream(&self) -> StreamId {
        match *self {
            Frame::Data { stream, .. }
            | Frame::Headers { stream, .. }
            | Frame::Priority { stream, .. }
            | Frame::RstStream { stream, .. }
            | Frame::PushPromise { stream, .. }
            | Frame::WindowUpdate { stream, .. }
            | Frame::Continuation { stream, .. }
            | Frame::Unknown { stream, .. } => stream,
            Frame::Settings { .. } | Frame::Ping { .. } | Frame::GoAway { .. } => {
                StreamId::CONNECTION
            }
        }
    }

    /// Parses one frame from its header and exactly its payload. The header's length has
    /// been checked against `SETTINGS_MAX_FRAME_SIZE` by the caller ([`FrameDecoder`]).
    pub fn parse(header: FrameHeader, mut payload: Bytes) -> Result<Frame, FrameError> {
        use ErrorCode::{FrameSizeError, ProtocolError};
        let stream = header.stream;
        let connection = |code| Err(FrameError::Connection(code));
        debug_assert_eq!(payload.len(), header.length as usize);
        // §6: each type says whether it goes on a stream or on the connection; a frame on
        // the wrong one is a connection error, checked before anything else of it.
        match (header.kind.scope(), stream.is_connection()) {
            (Scope::Stream, true) | (Scope::Connection, false) => return connection(ProtocolError),
            (Scope::Stream, false) | (Scope::Connection, true) | (Scope::Either, _) => {}
        }
        match header.kind {
            FrameKind::Data => {
                let flow_len = header.length;
                let data = strip_padding(&header, &mut payload)?;
                Ok(Frame::Data {
                    stream,
                    data,
                    end_stream: header.has(flags::END_STREAM),
                    flow_len,
                })
            }
            FrameKind::Headers => parse_headers(&header, payload),
            FrameKind::Priority => parse_priority(stream, payload),
            FrameKind::RstStream => {
                if payload.len() != 4 {
                    return connection(FrameSizeError);
                }
                let code = ErrorCode::from_u32(payload.get_u32());
                Ok(Frame::RstStream { stream, code })
            }
            FrameKind::Settings => parse_settings(&header, payload),
            FrameKind::PushPromise => parse_push_promise(&header, payload),
            FrameKind::Ping => {
                let Ok(payload) = <[u8; 8]>::try_from(&payload[..]) else {
                    return connection(FrameSizeError);
                };
                Ok(Frame::Ping {
                    ack: header.has(flags::ACK),
                    payload,
                })
            }
            FrameKind::GoAway => parse_goaway(payload),
            FrameKind::WindowUpdate => parse_window_update(stream, payload),
            FrameKind::Continuation => Ok(Frame::Continuation {
                stream,
                fragment: payload,
                end_headers: header.has(flags::END_HEADERS),
            }),
            FrameKind::Unknown(kind) => Ok(Frame::Unknown { kind, stream }),
        }
    }

    /// Appends the whole frame (header and payload) to `out`. For DATA with a large body,
    /// prefer [`write_data_header`] and the body's own `Bytes`, which copies nothing.
    pub fn write(&self, out: &mut BytesMut) {
        let (kind, flags, stream, payload_len) = self.shape();
        FrameHeader {
            length: payload_len,
            kind,
            flags,
            stream,
        }
        .write(out);
        match self {
            Frame::Data { data, .. } => out.put_slice(data),
            Frame::Headers {
                priority, fragment, ..
            } => {
                if let Some(priority) = priority {
                    write_priority(priority, out);
                }
                out.put_slice(fragment);
            }
            Frame::Priority { priority, .. } => write_priority(priority, out),
            Frame::RstStream { code, .. } => out.put_u32(code.to_u32()),
            Frame::Settings { settings, .. } => {
                for (id, value) in settings {
                    out.put_u16(id.to_u16());
                    out.put_u32(*value);
                }
            }
            Frame::PushPromise {
                promised, fragment, ..
            } => {
                out.put_u32(promised.get());
                out.put_slice(fragment);
            }
            Frame::Ping { payload, .. } => out.put_slice(payload),
            Frame::GoAway {
                last_stream,
                code,
                debug,
            } => {
                out.put_u32(last_stream.get());
                out.put_u32(code.to_u32());
                out.put_slice(debug);
            }
            Frame::WindowUpdate { increment, .. } => out.put_u32(*increment),
            Frame::Continuation { fragment, .. } => out.put_slice(fragment),
            Frame::Unknown { .. } => {}
        }
    }

    /// Type, flags, stream and payload length as written (never padded).
    fn shape(&self) -> (FrameKind, u8, StreamId, u32) {
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let len = |n: usize| u32::try_from(n).expect("payload fits a frame");
        match self {
            Frame::Data {
                stream,
                data,
                end_stream,
                ..
            } => (
                FrameKind::Data,
                flag(*end_stream, flags::END_STREAM),
                *stream,
                len(data.len()),
            ),
            Frame::Headers {
                stream,
                priority,
                fragment,
                end_stream,
                end_headers,
            } => (
                FrameKind::Headers,
                flag(*end_stream, flags::END_STREAM)
                    | flag(*end_headers, flags::END_HEADERS)
                    | flag(priority.is_some(), flags::PRIORITY),
                *stream,
                len(fragment.len() + if priority.is_some() { 5 } else { 0 }),
            ),
            Frame::Priority { stream, .. } => (FrameKind::Priority, 0, *stream, 5),
            Frame::RstStream { stream, .. } => (FrameKind::RstStream, 0, *stream, 4),
            Frame::Settings { ack, settings } => (
                FrameKind::Settings,
                flag(*ack, flags::ACK),
                StreamId::CONNECTION,
                len(settings.len() * 6),
            ),
            Frame::PushPromise {
                stream,
                fragment,
                end_headers,
                ..
            } => (
                FrameKind::PushPromise,
                flag(*end_headers, flags::END_HEADERS),
                *stream,
                len(fragment.len() + 4),
            ),
            Frame::Ping { ack, .. } => (
                FrameKind::Ping,
                flag(*ack, flags::ACK),
                StreamId::CONNECTION,
                8,
            ),
            Frame::GoAway { debug, .. } => (
                FrameKind::GoAway,
                0,
                StreamId::CONNECTION,
                len(8 + debug.len()),
            ),
            Frame::WindowUpdate { stream, .. } => (FrameKind::WindowUpdate, 0, *stream, 4),
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => (
                FrameKind::Continuation,
                flag(*end_headers, flags::END_HEADERS),
                *stream,
                len(fragment.len()),
            ),
            Frame::Unknown { kind, stream } => (FrameKind::Unknown(*kind), 0, *stream, 0),
        }
    }
}

/// Appends the header of a DATA frame carrying `len` bytes; the caller sends the bytes
/// themselves next, as they are.
pub fn write_data_header(stream: StreamId, len: u32, end_stream: bool, out: &mut BytesMut) {
    let flags = if end_stream { flags::END_STREAM } else { 0 };
    FrameHeader {
        length: len,
        kind: FrameKind::Data,
        flags,
        stream,
    }
    .write(out);
}

/// Removes the pad length byte and the padding of a PADDED frame (§6.1): padding as long as
/// the payload or longer is a PROTOCOL_ERROR.
fn strip_padding(header: &FrameHeader, payload: &mut Bytes) -> Result<Bytes, FrameError> {
    if !header.has(flags::PADDED) {
        return Ok(std::mem::take(payload));
    }
    if payload.is_empty() {
        return Err(FrameError::Connection(ErrorCode::FrameSizeError));
    }
    let pad = usize::from(payload.get_u8());
    if pad > payload.len() {
        return Err(FrameError::Connection(ErrorCode::ProtocolError));
    }
    let data_len = payload.len() - pad;
    Ok(payload.split_to(data_len))
}

fn read_priority(bytes: &mut Bytes) -> Priority {
    let word = bytes.get_u32();
    Priority {
        dependency: StreamId::new(word),
        exclusive: word & !MAX_WINDOW != 0,
        weight: bytes.get_u8(),
    }
}

fn write_priority(priority: &Priority, out: &mut BytesMut) {
    let exclusive = if priority.exclusive { 1 << 31 } else { 0 };
    out.put_u32(priority.dependency.get() | exclusive);
    out.put_u8(priority.weight);
}

/// HEADERS (§6.2): padding, then a priority block if flagged, then the header block fragment.
fn parse_headers(header: &FrameHeader, mut payload: Bytes) -> Result<Frame, FrameError> {
    let mut block = strip_padding(header, &mut payload)?;
    let priority = if header.has(flags::PRIORITY) {
        if block.len() < 5 {
            return Err(FrameError::Connection(ErrorCode::FrameSizeError));
        }
        // A stream depending on itself (§5.3.1) is the connection's to refuse, once it has
        // decoded the block: HPACK's state must stay in step (§4.3).
        Some(read_priority(&mut block))
    } else {
        None
    };
    Ok(Frame::Headers {
        stream: header.stream,
        priority,
        fragment: block,
        end_stream: header.has(flags::END_STREAM),
        end_headers: header.has(flags::END_HEADERS),
    })
}

/// PRIORITY (§6.3): five bytes; another length, or a stream depending on itself, is a
/// stream error.
fn parse_priority(stream: StreamId, mut payload: Bytes) -> Result<Frame, FrameError> {
    if payload.len() != 5 {
        return Err(FrameError::Stream(stream, ErrorCode::FrameSizeError));
    }
    let priority = read_priority(&mut payload);
    if priority.dependency == stream {
        return Err(FrameError::Stream(stream, ErrorCode::ProtocolError));
    }
    Ok(Frame::Priority { stream, priority })
}

/// PUSH_PROMISE (§6.6): padding, the promised stream, the header block fragment. (A server
/// refuses it later: clients do not push.)
fn parse_push_promise(header: &FrameHeader, mut payload: Bytes) -> Result<Frame, FrameError> {
    let mut block = strip_padding(header, &mut payload)?;
    if block.len() < 4 {
        return Err(FrameError::Connection(ErrorCode::FrameSizeError));
    }
    let promised = StreamId::new(block.get_u32());
    Ok(Frame::PushPromise {
        stream: header.stream,
        promised,
        fragment: block,
        end_headers: header.has(flags::END_HEADERS),
    })
}

/// GOAWAY (§6.8): the last stream, the code, then opaque debug data.
fn parse_goaway(mut payload: Bytes) -> Result<Frame, FrameError> {
    if payload.len() < 8 {
        return Err(FrameError::Connection(ErrorCode::FrameSizeError));
    }
    let last_stream = StreamId::new(payload.get_u32());
    let code = ErrorCode::from_u32(payload.get_u32());
    Ok(Frame::GoAway {
        last_stream,
        code,
        debug: payload,
    })
}

/// WINDOW_UPDATE (§6.9): four bytes; an increment of 0 is a stream error on a stream and a
/// connection error on the connection.
fn parse_window_update(stream: StreamId, mut payload: Bytes) -> Result<Frame, FrameError> {
    use ErrorCode::{FrameSizeError, ProtocolError};
    if payload.len() != 4 {
        return Err(FrameError::Connection(FrameSizeError));
    }
    let increment = payload.get_u32() & MAX_WINDOW;
    if increment == 0 {
        return Err(match stream.is_connection() {
            true => FrameError::Connection(ProtocolError),
            false => FrameError::Stream(stream, ProtocolError),
        });
    }
    Ok(Frame::WindowUpdate { stream, increment })
}

/// SETTINGS (§6.5): a multiple of 6 bytes, empty when an ACK, and every known value within
/// its range (that it is on the connection, `Frame::parse` checked).
fn parse_settings(header: &FrameHeader, mut payload: Bytes) -> Result<Frame, FrameError> {
    use ErrorCode::{FlowControlError, FrameSizeError, ProtocolError};
    let error = |code| Err(FrameError::Connection(code));
    let ack = header.has(flags::ACK);
    if ack {
        return match payload.is_empty() {
            true => Ok(Frame::Settings {
                ack,
                settings: Vec::new(),
            }),
            false => error(FrameSizeError),
        };
    }
    if payload.len() % 6 != 0 {
        return error(FrameSizeError);
    }
    let mut settings = Vec::with_capacity(payload.len() / 6);
    while payload.has_remaining() {
        let id = SettingId::from_u16(payload.get_u16());
        let value = payload.get_u32();
        match id {
            SettingId::EnablePush | SettingId::EnableConnectProtocol if value > 1 => {
                return error(ProtocolError);
            }
            SettingId::InitialWindowSize if value > MAX_WINDOW => {
                return error(FlowControlError);
            }
            SettingId::MaxFrameSize
                if !(MAX_FRAME_SIZE_DEFAULT..=MAX_FRAME_SIZE_LIMIT).contains(&value) =>
            {
                return error(ProtocolError);
            }
            _ => {}
        }
        settings.push((id, value));
    }
    Ok(Frame::Settings { ack, settings })
}

/// Cuts frames off a receive buffer.
#[derive(Debug)]
pub struct FrameDecoder {
    /// Our `SETTINGS_MAX_FRAME_SIZE`: a longer frame is a FRAME_SIZE_ERROR (§4.2).
    max_frame_size: u32,
}

impl FrameDecoder {
    /// A decoder accepting frames of at most `max_frame_size` payload bytes.
    pub fn new(max_frame_size: u32) -> FrameDecoder {
        assert!(
            (MAX_FRAME_SIZE_DEFAULT..=MAX_FRAME_SIZE_LIMIT).contains(&max_frame_size),
            "max_frame_size out of range"
        );
        FrameDecoder { max_frame_size }
    }

    /// The next whole frame at the front of `buf`, taken off it; `Ok(None)` while it is
    /// incomplete. A frame over the size limit is refused as soon as its header is in.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(head) = buf.first_chunk::<FRAME_HEADER_BYTES>() else {
            return Ok(None);
        };
        let header = FrameHeader::parse(head);
        if header.length > self.max_frame_size {
            return Err(FrameError::Connection(ErrorCode::FrameSizeError));
        }
        let total = FRAME_HEADER_BYTES + header.length as usize;
        if buf.len() < total {
            return Ok(None);
        }
        let mut frame = buf.split_to(total).freeze();
        frame.advance(FRAME_HEADER_BYTES);
        Frame::parse(header, frame).map(Some)
    }
}
