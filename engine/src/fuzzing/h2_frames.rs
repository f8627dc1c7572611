//! The `h2_frames` property: HTTP/2 frames cut off arbitrary bytes.
//!
//! 1. Decoding never panics, and every frame taken is exactly its header's length.
//! 2. However the bytes arrive (whole, or in reads of the sizes the input picks), the same
//!    frames and the same first error come out.
//! 3. A frame read, written back and read again is the same frame, up to what writing drops on
//!    purpose: padding (a DATA frame's flow-controlled length is then its data's length) and
//!    an unknown frame's payload and flags.

use bytes::BytesMut;

use crate::h2::frame::{Frame, FrameDecoder, FrameError, MAX_FRAME_SIZE_DEFAULT};

pub(super) fn check(data: &[u8]) {
    let decoder = FrameDecoder::new(MAX_FRAME_SIZE_DEFAULT);
    let whole = decode_all(&decoder, data, &[]);
    // Read sizes from the input itself, so the fuzzer steers the split too.
    let sizes: Vec<usize> = data.iter().map(|&b| usize::from(b % 17) + 1).collect();
    let split = decode_all(&decoder, data, &sizes);
    assert_eq!(whole, split, "property 2: the split changed the frames");
    for frame in whole.0 {
        let mut wire = BytesMut::new();
        frame.write(&mut wire);
        let again = decoder
            .decode(&mut wire)
            .expect("property 3: a written frame parses")
            .expect("property 3: a written frame is whole");
        assert!(wire.is_empty(), "property 3: one frame written, one read");
        assert_eq!(
            again,
            normalised(frame),
            "property 3: written and read back"
        );
    }
}

/// The frames and the first error, reading `data` in reads of `sizes` (then all the rest).
fn decode_all(
    decoder: &FrameDecoder,
    data: &[u8],
    sizes: &[usize],
) -> (Vec<Frame>, Option<FrameError>) {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = data;
    let mut sizes = sizes.iter().copied().chain(std::iter::repeat(usize::MAX));
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(usize::MAX).min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(
                        before - buf.len() >= 9,
                        "property 1: a frame is 9 bytes or more"
                    );
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(error) => return (frames, Some(error)),
            }
        }
    }
    (frames, None)
}

/// What a frame becomes once written: unpadded, an unknown frame without payload or flags.
fn normalised(frame: Frame) -> Frame {
    match frame {
        Frame::Data {
            stream,
            data,
            end_stream,
            ..
        } => Frame::Data {
            stream,
            flow_len: data.len() as u32,
            data,
            end_stream,
        },
        other => other,
    }
}
