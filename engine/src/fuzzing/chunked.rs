//! The `chunked_decoder` target's properties, for any bytes taken as a chunked request body
//! (under the default limits, or small ones: see `limits_and_input`):
//! 1. No panic, every `Data` is non-empty and within the credit, and every call ends.
//! 2. Differential against the reference decoder (`chunked_reference.rs`), fed the whole input
//!    with unlimited credit: the same body bytes, the same ending (the same bytes left after
//!    the body), the same need for more input, or the same kind of refusal. Where the RFC and
//!    twine differ by design, the reference says so by name (its module documentation).
//! 3. Split invariance: fed in two reads at split points drawn from the input, or one byte at a
//!    time, with little credit, and with credit-less calls in between, the decoder gives the
//!    same body bytes and the same outcome as fed whole.
//! 4. The decoder's documented promises: after `End` nothing more is consumed; an error is
//!    refused again, with the same kind, on the next call; and after `Pending` with credit at
//!    most a chunk-size line's worth of framing is left buffered.

use bytes::BytesMut;

use super::chunked_reference::{self, Verdict};
use super::{fnv1a, limits_and_input, shown};
use crate::config::Limits;
use crate::error::ProtocolErrorKind as Kind;
use crate::h1::body_decoder::{BodyDecoder, Decoded};

/// Inputs up to this long are also fed one byte at a time.
const BYTE_AT_A_TIME_UP_TO: usize = 512;

/// What feeding an input gave.
#[derive(Clone, PartialEq, Eq)]
struct Outcome {
    /// Every `Data`, concatenated.
    body: Vec<u8>,
    end: End,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "body {}, ", shown(&self.body))?;
        match &self.end {
            End::Ended { left } => write!(f, "End with {} left", shown(left)),
            End::Pending => write!(f, "Pending"),
            End::Refused(kind) => write!(f, "Refused({kind:?})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum End {
    /// `End`, with the bytes left in the buffer after the body.
    Ended {
        left: Vec<u8>,
    },
    /// `Pending`: the body needs more bytes.
    Pending,
    Refused(Kind),
}

pub(super) fn check(data: &[u8]) {
    let (limits, input) = limits_and_input(data);
    let whole = run(&limits, &[input], usize::MAX, false);
    check_reference_agrees(input, &limits, &whole);
    let hash = fnv1a(input);
    let len = input.len() as u64;
    let split = usize::try_from(hash % (len + 1)).unwrap_or(0);
    let credit = 1 + usize::try_from(hash % 7).unwrap_or(0);
    let mut cases = vec![
        (
            format!("split at {split}"),
            vec![&input[..split], &input[split..]],
            usize::MAX,
        ),
        (
            format!("split at {split}, credit {credit}"),
            vec![&input[..split], &input[split..]],
            credit,
        ),
        (
            "halves".into(),
            vec![&input[..input.len() / 2], &input[input.len() / 2..]],
            1,
        ),
    ];
    if input.len() <= BYTE_AT_A_TIME_UP_TO {
        cases.push((
            "one byte at a time".into(),
            input.chunks(1).collect(),
            credit,
        ));
    }
    for (name, feeds, max) in cases {
        for probe in [false, true] {
            let got = run(&limits, &feeds, max, probe);
            assert_eq!(
                got,
                whole,
                "split invariance: {name}, credit {max}, credit-less calls {probe}; input {}",
                shown(input)
            );
        }
    }
}

/// Property 2: the decoder's outcome is the reference's.
fn check_reference_agrees(input: &[u8], limits: &Limits, ours: &Outcome) {
    let reference = chunked_reference::decode(input, limits);
    let agree = ours.body == reference.body
        && match (&ours.end, &reference.verdict) {
            (End::Ended { left }, Verdict::End { consumed }) => left[..] == input[*consumed..],
            (End::Pending, Verdict::Incomplete) => true,
            (End::Refused(ours), Verdict::Refuse { kind, .. }) => ours == kind,
            _ => false,
        };
    assert!(
        agree,
        "the decoder and the reference disagree on {}:\n ours: {:?}, body {}\n reference: \
         {:?}, body {}, leniencies {:?}",
        shown(input),
        ours.end,
        shown(&ours.body),
        reference.verdict,
        shown(&reference.body),
        reference.leniencies
    );
}

/// Feeds `feeds` to a new chunked decoder one after another, draining with credit `max` after
/// each; with `probe`, each drain starts with a credit-less call (framing only, never `Data`).
fn run(limits: &Limits, feeds: &[&[u8]], max: usize, probe: bool) -> Outcome {
    let mut decoder = BodyDecoder::chunked();
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    let mut ended = false;
    for feed in feeds {
        buf.extend_from_slice(feed);
        if ended {
            // Property 4: after End nothing is consumed; the bytes are the next request's.
            let before = buf.clone();
            assert_eq!(decoder.decode(&mut buf, max, limits), Ok(Decoded::End));
            assert_eq!(buf, before, "bytes consumed after the end of the body");
            continue;
        }
        let drained = if probe {
            drain(&mut decoder, &mut buf, 0, limits, &mut body)
                .and_then(|_| drain(&mut decoder, &mut buf, max, limits, &mut body))
        } else {
            drain(&mut decoder, &mut buf, max, limits, &mut body)
        };
        match drained {
            Ok(done) => ended = done,
            Err(kind) => {
                // Property 4: the body is broken for good, and says so again.
                let again = decoder.decode(&mut buf, max, limits).map_err(|e| e.kind);
                assert_eq!(again, Err(kind), "a second call after an error");
                let end = End::Refused(kind);
                return Outcome { body, end };
            }
        }
    }
    let end = if ended {
        End::Ended { left: buf.to_vec() }
    } else {
        End::Pending
    };
    Outcome { body, end }
}

/// Calls `decode` until `Pending` or `End`; `Ok(true)` at `End`.
fn drain(
    decoder: &mut BodyDecoder,
    buf: &mut BytesMut,
    max: usize,
    limits: &Limits,
    body: &mut Vec<u8>,
) -> Result<bool, Kind> {
    // Each `Data` takes at least one byte, so `End` or `Pending` comes within len + 1 calls.
    for _ in 0..=buf.len() {
        let decoded = decoder.decode(buf, max, limits).map_err(|error| {
            assert_eq!(
                error.status,
                error.kind.status(),
                "status of {:?}",
                error.kind
            );
            error.kind
        })?;
        match decoded {
            Decoded::Data(data) => {
                assert!(
                    !data.is_empty() && data.len() <= max,
                    "Data of {} bytes with credit {max}",
                    data.len()
                );
                body.extend_from_slice(&data);
            }
            Decoded::Pending => {
                // Property 4 (the module invariant of `body_decoder.rs`): with credit, at most
                // a partial chunk-size line (and the CR of its CRLF) stays buffered.
                let bound = limits.chunk_line_bytes_max.saturating_add(1).max(1);
                assert!(
                    max == 0 || buf.len() <= bound,
                    "Pending with {} bytes buffered and credit {max}",
                    buf.len()
                );
                return Ok(false);
            }
            Decoded::End => {
                assert!(decoder.is_done(), "End before the decoder is done");
                return Ok(true);
            }
        }
    }
    panic!("decode returned Data without consuming a byte");
}
