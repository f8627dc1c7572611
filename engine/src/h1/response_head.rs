//! The response head, for the client role: the status line (RFC 9112 §4), the header lines
//! by the same walk and checks as a request's (`head_parser::walk_head`), and the body framing
//! of RFC 9112 §6.3, which for a response depends on the request it answers.
//!
//! Strictness is the server side's, for the same reason: a proxy that reads a response one way
//! while a cache in front reads it another is a response-splitting vector. Where a response
//! is refused and the RFC would let a recipient guess (both framing fields, an unknown
//! transfer coding, several lengths), the client closes the connection and the gateway answers
//! 502 (RFC 9112 §6.3 items 3-5: "MUST close", "MUST respond with 502").

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::head_parser::{
    check_transfer_codings, fail, open_line_len, parse_content_length, parse_version, take_head,
    StartLine,
};
use crate::config::Limits;
use crate::error::{ProtocolError, ProtocolErrorKind as Kind};
use crate::message::{BodyLength, Headers, ResponseHead, Version};

/// The status line, as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusLine {
    pub(crate) version: Version,
    pub(crate) status: u16,
    /// The reason phrase's place in the buffer (possibly empty).
    reason: Range<usize>,
}

impl StartLine for StatusLine {
    // RFC 9112 §2.2 tolerates empty lines before a request only.
    const LEADING_EMPTY_LINES_MAX: usize = 0;

    fn check_open(tail: &[u8], limits: &Limits) -> Result<(), ProtocolError> {
        if open_line_len(tail) > limits.head_bytes_max {
            return fail(Kind::HeadTooLarge);
        }
        Ok(())
    }

    /// `status-line = HTTP-version SP status-code SP [ reason-phrase ]`. The SP before an empty
    /// reason is optional here: servers that omit it are common, and the line stays
    /// unambiguous.
    fn parse(line: &[u8], at: usize, limits: &Limits) -> Result<StatusLine, ProtocolError> {
        if line.len() > limits.head_bytes_max {
            return fail(Kind::HeadTooLarge);
        }
        let (version, rest) = match line.split_at_checked(8) {
            Some((version, rest)) => (version, rest),
            None => return fail(Kind::InvalidStatusLine),
        };
        let version = parse_version(version).map_err(|_| Kind::InvalidStatusLine)?;
        let status = match rest {
            [b' ', digits @ ..] if digits.len() >= 3 => &digits[..3],
            _ => return fail(Kind::InvalidStatusLine),
        };
        let status = status.iter().try_fold(0_u16, |n, &b| {
            let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
            Some(n * 10 + u16::from(digit))
        });
        // RFC 9110 §15: codes outside 100..=599 are invalid; a client treats one as a 5xx, and
        // a gateway answers it with its own 502 rather than pass an invalid code on.
        let Some(status @ 100..=599) = status else {
            return fail(Kind::InvalidStatusLine);
        };
        // After the code: nothing, or SP and a reason of HTAB, SP, VCHAR, obs-text.
        let reason_start = match &rest[4..] {
            [] => 12,
            [b' ', ..] => 13,
            _ => return fail(Kind::InvalidStatusLine),
        };
        let reason = &line[reason_start.min(line.len())..];
        if !reason
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
        {
            return fail(Kind::InvalidStatusLine);
        }
        Ok(StatusLine {
            version,
            status,
            reason: at + reason_start.min(line.len())..at + line.len(),
        })
    }
}

/// A response head taken off the receive buffer, with what the client needs beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReceivedResponse {
    pub(crate) head: ResponseHead,
    pub(crate) version: Version,
    /// How the body is framed; `Known(0)` when it has none.
    pub(crate) body: BodyLength,
    /// The server wants the connection closed after this response (RFC 9112 §9.3), or the
    /// framing leaves it unusable (close-delimited, a tunnel).
    pub(crate) close_after: bool,
}

/// What the request a response answers says about its framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestKind {
    pub(crate) head: bool,
    pub(crate) connect: bool,
}

/// Parses and, once complete, takes a response head off the front of `buf` (the client's
/// `take_request_head`). `Ok(None)`: not complete yet. `fields` is reusable scratch space.
pub(crate) fn take_response_head(
    buf: &mut BytesMut,
    request: RequestKind,
    limits: &Limits,
    fields: &mut Vec<(Range<usize>, Range<usize>)>,
) -> Result<Option<ReceivedResponse>, ProtocolError> {
    let Some((line, headers, bytes)) = take_head::<StatusLine>(buf, limits, fields)? else {
        return Ok(None);
    };
    finish_response(line, headers, &bytes, request, limits).map(Some)
}

fn finish_response(
    line: StatusLine,
    headers: Headers,
    bytes: &Bytes,
    request: RequestKind,
    limits: &Limits,
) -> Result<ReceivedResponse, ProtocolError> {
    if line.status == 101 {
        // We never ask to upgrade, so a switch is a server error.
        return fail(Kind::UnexpectedResponse);
    }
    let body = response_framing(line.status, &headers, request, limits)?;
    let tunnel = request.connect && (200..300).contains(&line.status);
    let close_after = tunnel
        || body == BodyLength::UntilClose
        || headers.has_token("connection", "close")
        || (line.version == Version::Http10 && !headers.has_token("connection", "keep-alive"));
    let reason = (!line.reason.is_empty()).then(|| bytes.slice(line.reason));
    let head = ResponseHead {
        status: line.status,
        reason,
        headers,
    };
    Ok(ReceivedResponse {
        head,
        version: line.version,
        body,
        close_after,
    })
}

/// RFC 9112 §6.3, in order, for a response.
fn response_framing(
    status: u16,
    headers: &Headers,
    request: RequestKind,
    limits: &Limits,
) -> Result<BodyLength, ProtocolError> {
    // 1: a response to HEAD, a 1xx, 204 and 304 have no body, whatever their fields say.
    if request.head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(BodyLength::Known(0));
    }
    // 2: a 2xx to CONNECT starts a tunnel; no tunnels here, so no body and no reuse.
    if request.connect && (200..300).contains(&status) {
        return Ok(BodyLength::Known(0));
    }
    let mut content_lengths = headers.get_all("content-length");
    if headers.contains("transfer-encoding") {
        // 3: both is "ought to be handled as an error"; for a proxy it is a smuggling vector.
        if content_lengths.next().is_some() {
            return fail(Kind::ConflictingFraming);
        }
        // 4: `chunked` last, or close-delimited with a coding we cannot decode: refused, as a
        // proxy cannot forward a body it cannot frame.
        check_transfer_codings(headers)?;
        return Ok(BodyLength::Chunked);
    }
    // 5 and 6.
    let Some(value) = content_lengths.next() else {
        // 8: read until the server closes.
        return Ok(BodyLength::UntilClose);
    };
    if content_lengths.next().is_some() {
        return fail(Kind::ConflictingFraming);
    }
    let length = parse_content_length(value)?;
    if limits.body_bytes_max.is_some_and(|max| length > max) {
        return fail(Kind::BodyTooLarge);
    }
    Ok(BodyLength::Known(length))
}
