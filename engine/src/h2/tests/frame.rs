//! Goal: every frame type of RFC 9113 parses from literal bytes into the right value, is
//! written back byte for byte, and every malformation the RFC names gets its exact error code
//! and scope (connection or stream). Method: literal bytes from the RFC's layouts and from
//! Twisted's server SETTINGS, a table of malformed frames, and a property that any frame
//! written is read back the same through a decoder fed in arbitrary pieces.

use super::hex;
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use crate::h2::frame::{
    ErrorCode, Frame, FrameDecoder, FrameError, Priority, SettingId, StreamId,
    MAX_FRAME_SIZE_DEFAULT,
};

fn decode(bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
    let mut buf = BytesMut::from(bytes);
    let frame = FrameDecoder::new(MAX_FRAME_SIZE_DEFAULT).decode(&mut buf);
    if let Ok(Some(_)) = frame {
        assert!(buf.is_empty(), "one frame, all of it taken");
    }
    frame
}

fn written(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame.write(&mut out);
    out.to_vec()
}

const S1: StreamId = StreamId::new(1);

/// Twisted's server SETTINGS with h2 4.4.1 (notes/twisted.md §5.2).
const TWISTED_SETTINGS: &str = "00002a040000000000 000100001000 000200000000 00040000ffff \
                                000500004000 000800000000 000300000064 000600010000";

#[test]
fn twisteds_server_settings_read_and_write_back() {
    let bytes = hex(TWISTED_SETTINGS);
    let frame = decode(&bytes).unwrap().unwrap();
    let expected = Frame::Settings {
        ack: false,
        settings: vec![
            (SettingId::HeaderTableSize, 4096),
            (SettingId::EnablePush, 0),
            (SettingId::InitialWindowSize, 65_535),
            (SettingId::MaxFrameSize, 16_384),
            (SettingId::EnableConnectProtocol, 0),
            (SettingId::MaxConcurrentStreams, 100),
            (SettingId::MaxHeaderListSize, 65_536),
        ],
    };
    assert_eq!(frame, expected);
    assert_eq!(written(&expected), bytes);
}

#[test]
fn every_frame_type_from_literal_bytes() {
    let cases: Vec<(&str, Frame)> = vec![
        (
            "000005 00 01 00000001 68656c6c6f",
            Frame::Data {
                stream: S1,
                data: Bytes::from_static(b"hello"),
                end_stream: true,
                flow_len: 5,
            },
        ),
        (
            // PADDED: pad length 2, "hi", two bytes of padding; all 5 count for flow control.
            "000005 00 08 00000001 02 6869 0000",
            Frame::Data {
                stream: S1,
                data: Bytes::from_static(b"hi"),
                end_stream: false,
                flow_len: 5,
            },
        ),
        (
            "000003 01 05 00000001 828684",
            Frame::Headers {
                stream: S1,
                priority: None,
                fragment: Bytes::from_static(&[0x82, 0x86, 0x84]),
                end_stream: true,
                end_headers: true,
            },
        ),
        (
            // PRIORITY flag: exclusive dependency on 3, weight 15.
            "000006 01 24 00000001 80000003 0f 82",
            Frame::Headers {
                stream: S1,
                priority: Some(Priority {
                    dependency: StreamId::new(3),
                    exclusive: true,
                    weight: 15,
                }),
                fragment: Bytes::from_static(&[0x82]),
                end_stream: false,
                end_headers: true,
            },
        ),
        (
            "000005 02 00 00000005 00000001 20",
            Frame::Priority {
                stream: StreamId::new(5),
                priority: Priority {
                    dependency: S1,
                    exclusive: false,
                    weight: 32,
                },
            },
        ),
        (
            "000004 03 00 00000001 00000008",
            Frame::RstStream {
                stream: S1,
                code: ErrorCode::Cancel,
            },
        ),
        (
            "000000 04 01 00000000",
            Frame::Settings {
                ack: true,
                settings: vec![],
            },
        ),
        (
            "000005 05 04 00000001 00000002 82",
            Frame::PushPromise {
                stream: S1,
                promised: StreamId::new(2),
                fragment: Bytes::from_static(&[0x82]),
                end_headers: true,
            },
        ),
        (
            "000008 06 01 00000000 0102030405060708",
            Frame::Ping {
                ack: true,
                payload: [1, 2, 3, 4, 5, 6, 7, 8],
            },
        ),
        (
            "00000a 07 00 00000000 00000003 0000000b 6869",
            Frame::GoAway {
                last_stream: StreamId::new(3),
                code: ErrorCode::EnhanceYourCalm,
                debug: Bytes::from_static(b"hi"),
            },
        ),
        (
            "000004 08 00 00000000 00010000",
            Frame::WindowUpdate {
                stream: StreamId::CONNECTION,
                increment: 65_536,
            },
        ),
        (
            "000001 09 04 00000001 84",
            Frame::Continuation {
                stream: S1,
                fragment: Bytes::from_static(&[0x84]),
                end_headers: true,
            },
        ),
        (
            "000003 fa ff 00000007 010203",
            Frame::Unknown {
                kind: 0xfa,
                stream: StreamId::new(7),
            },
        ),
    ];
    for (bytes, expected) in cases {
        let bytes = hex(bytes);
        assert_eq!(decode(&bytes), Ok(Some(expected.clone())), "{bytes:02x?}");
    }
}

#[test]
fn malformed_frames_get_the_rfcs_code_and_scope() {
    use ErrorCode::*;
    let conn = FrameError::Connection;
    let stream = |id, code| FrameError::Stream(StreamId::new(id), code);
    let cases: Vec<(&str, &str, FrameError)> = vec![
        (
            "DATA on stream 0",
            "000001 00 00 00000000 61",
            conn(ProtocolError),
        ),
        (
            "DATA padding past the end",
            "000002 00 08 00000001 0261",
            conn(ProtocolError),
        ),
        (
            "DATA PADDED and empty",
            "000000 00 08 00000001",
            conn(FrameSizeError),
        ),
        (
            "HEADERS on stream 0",
            "000001 01 04 00000000 82",
            conn(ProtocolError),
        ),
        (
            "HEADERS priority cut",
            "000002 01 24 00000001 0000",
            conn(FrameSizeError),
        ),
        (
            "PRIORITY on stream 0",
            "000005 02 00 00000000 00000001 0f",
            conn(ProtocolError),
        ),
        (
            "PRIORITY of 4 bytes",
            "000004 02 00 00000003 00000001",
            stream(3, FrameSizeError),
        ),
        (
            "PRIORITY on itself",
            "000005 02 00 00000003 00000003 0f",
            stream(3, ProtocolError),
        ),
        (
            "RST_STREAM on stream 0",
            "000004 03 00 00000000 00000008",
            conn(ProtocolError),
        ),
        (
            "RST_STREAM of 3 bytes",
            "000003 03 00 00000001 000008",
            conn(FrameSizeError),
        ),
        (
            "SETTINGS on a stream",
            "000000 04 00 00000001",
            conn(ProtocolError),
        ),
        (
            "SETTINGS ACK with a body",
            "000006 04 01 00000000 000100001000",
            conn(FrameSizeError),
        ),
        (
            "SETTINGS of 5 bytes",
            "000005 04 00 00000000 0001000010",
            conn(FrameSizeError),
        ),
        (
            "ENABLE_PUSH 2",
            "000006 04 00 00000000 000200000002",
            conn(ProtocolError),
        ),
        (
            "INITIAL_WINDOW_SIZE 2^31",
            "000006 04 00 00000000 000480000000",
            conn(FlowControlError),
        ),
        (
            "MAX_FRAME_SIZE 16383",
            "000006 04 00 00000000 000500003fff",
            conn(ProtocolError),
        ),
        (
            "MAX_FRAME_SIZE 2^24",
            "000006 04 00 00000000 000501000000",
            conn(ProtocolError),
        ),
        (
            "ENABLE_CONNECT_PROTOCOL 2",
            "000006 04 00 00000000 000800000002",
            conn(ProtocolError),
        ),
        (
            "PUSH_PROMISE on stream 0",
            "000004 05 04 00000000 00000002",
            conn(ProtocolError),
        ),
        (
            "PUSH_PROMISE without its id",
            "000002 05 04 00000001 0000",
            conn(FrameSizeError),
        ),
        (
            "PING on a stream",
            "000008 06 00 00000001 0000000000000000",
            conn(ProtocolError),
        ),
        (
            "PING of 7 bytes",
            "000007 06 00 00000000 00000000000000",
            conn(FrameSizeError),
        ),
        (
            "GOAWAY on a stream",
            "000008 07 00 00000001 0000000000000000",
            conn(ProtocolError),
        ),
        (
            "GOAWAY of 7 bytes",
            "000007 07 00 00000000 00000000000000",
            conn(FrameSizeError),
        ),
        (
            "WINDOW_UPDATE of 0 on the connection",
            "000004 08 00 00000000 00000000",
            conn(ProtocolError),
        ),
        (
            "WINDOW_UPDATE of 0 on a stream",
            "000004 08 00 00000003 00000000",
            stream(3, ProtocolError),
        ),
        (
            "WINDOW_UPDATE of 5 bytes",
            "000005 08 00 00000001 0000000100",
            conn(FrameSizeError),
        ),
        (
            "CONTINUATION on stream 0",
            "000001 09 04 00000000 82",
            conn(ProtocolError),
        ),
        (
            "a frame over MAX_FRAME_SIZE",
            "004001 00 00 00000001",
            conn(FrameSizeError),
        ),
    ];
    for (what, bytes, expected) in cases {
        assert_eq!(decode(&hex(bytes)), Err(expected), "{what}");
    }
}

#[test]
fn the_reserved_bits_are_ignored() {
    // The stream id's high bit (§4.1) and the WINDOW_UPDATE increment's (§6.9).
    let frame = decode(&hex("000004 08 00 80000001 80000001")).unwrap();
    let expected = Frame::WindowUpdate {
        stream: S1,
        increment: 1,
    };
    assert_eq!(frame, Some(expected));
}

#[test]
fn an_incomplete_frame_waits_and_an_oversized_one_is_refused_at_its_header() {
    let decoder = FrameDecoder::new(MAX_FRAME_SIZE_DEFAULT);
    let bytes = hex("000005 00 01 00000001 68656c6c6f");
    for cut in 0..bytes.len() {
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(decoder.decode(&mut buf), Ok(None), "{cut} bytes");
        assert_eq!(buf.len(), cut, "nothing taken");
    }
    // 16385 bytes announced: refused before the payload arrives.
    let mut buf = BytesMut::from(&hex("004001 00 00 00000001")[..]);
    let refused = decoder.decode(&mut buf);
    assert_eq!(
        refused,
        Err(FrameError::Connection(ErrorCode::FrameSizeError))
    );
}

fn stream_id() -> impl Strategy<Value = StreamId> {
    (1u32..=0x7fff_ffff).prop_map(StreamId::new)
}

fn payload(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn priority() -> impl Strategy<Value = Priority> {
    (stream_id(), any::<bool>(), any::<u8>()).prop_map(|(dependency, exclusive, weight)| Priority {
        dependency,
        exclusive,
        weight,
    })
}

/// Frames as this implementation writes them (never padded).
fn frame() -> impl Strategy<Value = Frame> {
    let setting = prop_oneof![
        (0u32..=1).prop_map(|v| (SettingId::EnablePush, v)),
        (0u32..=0x7fff_ffff).prop_map(|v| (SettingId::InitialWindowSize, v)),
        (16_384u32..=0xff_ffff).prop_map(|v| (SettingId::MaxFrameSize, v)),
        any::<u32>().prop_map(|v| (SettingId::MaxConcurrentStreams, v)),
        (9u16..=0xffff).prop_map(|id| (SettingId::Unknown(id), 7)),
    ];
    prop_oneof![
        (stream_id(), payload(100), any::<bool>()).prop_map(|(stream, data, end_stream)| {
            let flow_len = data.len() as u32;
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            }
        }),
        (
            stream_id(),
            proptest::option::of(priority()),
            payload(100),
            any::<bool>(),
            any::<bool>()
        )
            .prop_filter("no self-dependency", |(s, p, ..)| p
                .is_none_or(|p| p.dependency != *s))
            .prop_map(
                |(stream, priority, fragment, end_stream, end_headers)| Frame::Headers {
                    stream,
                    priority,
                    fragment,
                    end_stream,
                    end_headers,
                }
            ),
        (stream_id(), priority())
            .prop_filter("no self-dependency", |(s, p)| p.dependency != *s)
            .prop_map(|(stream, priority)| Frame::Priority { stream, priority }),
        (stream_id(), any::<u32>()).prop_map(|(stream, code)| Frame::RstStream {
            stream,
            code: ErrorCode::from_u32(code),
        }),
        proptest::collection::vec(setting, 0..8).prop_map(|settings| Frame::Settings {
            ack: false,
            settings
        }),
        Just(Frame::Settings {
            ack: true,
            settings: vec![]
        }),
        (stream_id(), stream_id(), payload(50), any::<bool>()).prop_map(
            |(stream, promised, fragment, end_headers)| Frame::PushPromise {
                stream,
                promised,
                fragment,
                end_headers,
            }
        ),
        (any::<bool>(), any::<[u8; 8]>()).prop_map(|(ack, payload)| Frame::Ping { ack, payload }),
        (stream_id(), any::<u32>(), payload(50)).prop_map(|(last_stream, code, debug)| {
            Frame::GoAway {
                last_stream,
                code: ErrorCode::from_u32(code),
                debug,
            }
        }),
        (0u32..=0x7fff_ffff, 1u32..=0x7fff_ffff).prop_map(|(stream, increment)| {
            Frame::WindowUpdate {
                stream: StreamId::new(stream),
                increment,
            }
        }),
        (stream_id(), payload(50), any::<bool>()).prop_map(|(stream, fragment, end_headers)| {
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            }
        }),
    ]
}

proptest! {
    /// Whatever is written is read back the same, however the bytes arrive.
    #[test]
    fn written_frames_are_read_back(frames in proptest::collection::vec(frame(), 1..6),
                                    cuts in proptest::collection::vec(1usize..40, 0..20)) {
        let mut wire = BytesMut::new();
        for frame in &frames {
            frame.write(&mut wire);
        }
        let decoder = FrameDecoder::new(MAX_FRAME_SIZE_DEFAULT);
        let mut buf = BytesMut::new();
        let mut read = Vec::new();
        let mut rest = &wire[..];
        let mut cuts = cuts.into_iter().chain(std::iter::repeat(usize::MAX));
        while !rest.is_empty() {
            let n = cuts.next().unwrap().min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                read.push(frame);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(read, frames);
    }
}
