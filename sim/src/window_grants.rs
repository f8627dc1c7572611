//! What a well-behaved HTTP/2 client owes back: WINDOW_UPDATE frames for the DATA it has
//! read, as nghttp2 and the Python `h2` package do. A scripted client with grants on feeds
//! every byte it reads through [`WindowGrants::read`] and sends what it returns.
//!
//! The rule: DATA counts against a window with its whole payload, padding included (RFC 9113
//! §6.9.1). Bytes read on the connection and on each stream are given back once at least
//! [`GRANT_THRESHOLD_BYTES`] of them are owed, well inside the 65 535-byte initial windows,
//! so a server never waits on a granting client; a stream that ended (END_STREAM or
//! RST_STREAM) gets no more grants of its own, only the connection's. A stream can be left
//! without grants on purpose (a stalled reader): its window runs out while the others go on.
//!
//! Pure: no IO, no time. Frames are cut with the engine's frame layer; bytes that are not
//! frames (a connection that is not HTTP/2, or garbage) stop the grants for good.

use std::collections::BTreeMap;

use bytes::BytesMut;
use twine_engine::h2::frame::{Frame, FrameDecoder, StreamId, MAX_FRAME_SIZE_LIMIT};

/// Bytes owed on a window before they are given back.
pub const GRANT_THRESHOLD_BYTES: u32 = 16_384;

/// The grants of one connection.
#[derive(Debug)]
pub struct WindowGrants {
    buf: BytesMut,
    decoder: FrameDecoder,
    /// Bytes read on the connection and not yet given back.
    connection_owed: u32,
    /// Bytes read on each open stream and not yet given back.
    streams_owed: BTreeMap<u32, u32>,
    /// Streams that ended: no grants of their own any more.
    ended: Vec<u32>,
    /// A stream never granted (a stalled reader), if any.
    withheld: Option<u32>,
    /// The bytes stopped being frames.
    broken: bool,
}

impl WindowGrants {
    /// Grants for every stream but `withheld`.
    pub fn new(withheld: Option<u32>) -> WindowGrants {
        WindowGrants {
            buf: BytesMut::new(),
            decoder: FrameDecoder::new(MAX_FRAME_SIZE_LIMIT),
            connection_owed: 0,
            streams_owed: BTreeMap::new(),
            ended: Vec::new(),
            withheld,
            broken: false,
        }
    }

    /// Takes bytes the client read; returns the WINDOW_UPDATE frames now due, encoded (empty
    /// when none are): the streams' first, in stream order, then the connection's.
    pub fn read(&mut self, bytes: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        if self.broken {
            return out;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(frame)) => self.on_frame(&frame),
                Ok(None) => break,
                Err(_) => {
                    self.broken = true;
                    break;
                }
            }
        }
        for (&stream, owed) in &mut self.streams_owed {
            if *owed >= GRANT_THRESHOLD_BYTES {
                grant(stream, std::mem::take(owed), &mut out);
            }
        }
        if self.connection_owed >= GRANT_THRESHOLD_BYTES {
            grant(0, std::mem::take(&mut self.connection_owed), &mut out);
        }
        out
    }

    fn on_frame(&mut self, frame: &Frame) {
        match frame {
            Frame::Data {
                stream,
                end_stream,
                flow_len,
                ..
            } => {
                self.connection_owed += flow_len;
                let id = stream.get();
                if *end_stream {
                    self.end(id);
                } else if self.withheld != Some(id) && !self.ended.contains(&id) {
                    *self.streams_owed.entry(id).or_default() += flow_len;
                }
            }
            Frame::RstStream { stream, .. } => self.end(stream.get()),
            Frame::Headers {
                stream,
                end_stream: true,
                ..
            } => self.end(stream.get()),
            _ => {}
        }
    }

    fn end(&mut self, stream: u32) {
        self.streams_owed.remove(&stream);
        if !self.ended.contains(&stream) {
            self.ended.push(stream);
        }
    }
}

fn grant(stream: u32, increment: u32, out: &mut BytesMut) {
    Frame::WindowUpdate {
        stream: StreamId::new(stream),
        increment,
    }
    .write(out);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn data(stream: u32, len: usize, end_stream: bool) -> Vec<u8> {
        let mut out = BytesMut::new();
        Frame::Data {
            stream: StreamId::new(stream),
            data: Bytes::from(vec![b'x'; len]),
            end_stream,
            flow_len: len as u32,
        }
        .write(&mut out);
        out.to_vec()
    }

    fn updates(bytes: &[u8]) -> Vec<(u32, u32)> {
        let mut buf = BytesMut::from(bytes);
        let decoder = FrameDecoder::new(MAX_FRAME_SIZE_LIMIT);
        let mut out = Vec::new();
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            match frame {
                Frame::WindowUpdate { stream, increment } => out.push((stream.get(), increment)),
                other => panic!("not a WINDOW_UPDATE: {other:?}"),
            }
        }
        out
    }

    #[test]
    fn bytes_are_given_back_once_the_threshold_is_owed_even_across_split_frames() {
        let mut grants = WindowGrants::new(None);
        let frame = data(1, 10_000, false);
        assert!(grants.read(&frame).is_empty());
        // The second frame arrives in two pieces: nothing is due until it is whole.
        let frame = data(1, 10_000, false);
        assert!(grants.read(&frame[..5]).is_empty());
        assert_eq!(
            updates(&grants.read(&frame[5..])),
            [(1, 20_000), (0, 20_000)]
        );
        assert!(grants.read(&data(1, 100, false)).is_empty());
    }

    #[test]
    fn an_ended_stream_gets_no_grant_of_its_own_but_the_connection_does() {
        let mut grants = WindowGrants::new(None);
        assert!(grants.read(&data(3, 10_000, false)).is_empty());
        assert_eq!(updates(&grants.read(&data(3, 10_000, true))), [(0, 20_000)]);
        assert_eq!(
            updates(&grants.read(&data(3, 20_000, false))),
            [(0, 20_000)]
        );
    }

    #[test]
    fn a_withheld_stream_is_never_granted() {
        let mut grants = WindowGrants::new(Some(5));
        assert_eq!(
            updates(&grants.read(&data(5, 20_000, false))),
            [(0, 20_000)]
        );
        let mut both = data(5, 20_000, false);
        both.extend(data(7, 20_000, false));
        assert_eq!(updates(&grants.read(&both)), [(7, 20_000), (0, 40_000)]);
    }

    #[test]
    fn bytes_that_are_not_frames_stop_the_grants() {
        let mut grants = WindowGrants::new(None);
        // DATA on stream 0 is a connection error.
        assert!(grants
            .read(b"\x00\x00\x00\x00\x00\x00\x00\x00\x00")
            .is_empty());
        assert!(grants.read(&data(1, 20_000, false)).is_empty());
    }
}
