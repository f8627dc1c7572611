//! Request head serialization, for the client role, and the checks on what the app asks us to
//! write. The same invariant as the response writer's (`head_writer`): nothing written here
//! can break the framing of the connection. The framing fields are the client's, from the
//! head's `body`; the app's `Connection` is kept (it may name hop-by-hop fields it adds).

use bytes::{BufMut, BytesMut};

use super::body_encoder::BodyEncoder;
use super::head_parser::all_field_bytes;
use super::head_writer::{decimal, write_field};
use crate::error::UsageError;
use crate::message::{is_token, BodyLength, RequestHead};

/// What a checked request head says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckedRequest {
    /// How its body goes on the wire.
    pub(crate) encoder: BodyEncoder,
    /// The app sent `Connection: close`: the connection ends after this exchange.
    pub(crate) wants_close: bool,
    /// `Expect: 100-continue` with a body to send.
    pub(crate) expect_continue: bool,
}

/// Checks a head before anything of it is written: a token method, a target of visible ASCII,
/// valid fields, exactly one `Host` (RFC 9112 §3.2), no framing field.
pub(crate) fn check_request_head(head: &RequestHead) -> Result<CheckedRequest, UsageError> {
    let target_ok =
        !head.target.is_empty() && head.target.iter().all(|b| (0x21..=0x7e).contains(b));
    if !is_token(head.method.as_bytes()) || !target_ok {
        return Err(UsageError::InvalidRequest);
    }
    let mut hosts = 0;
    let mut wants_close = false;
    let mut expect_continue = false;
    for field in &head.headers {
        if !is_token(&field.name) || !all_field_bytes(&field.value) {
            return Err(UsageError::InvalidHeader);
        }
        let name = &field.name;
        if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"content-length")
        {
            return Err(UsageError::FramingHeader);
        }
        hosts += usize::from(name.eq_ignore_ascii_case(b"host"));
        if name.eq_ignore_ascii_case(b"connection") {
            wants_close |= field
                .value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        }
        expect_continue |= name.eq_ignore_ascii_case(b"expect")
            && field
                .value
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue");
    }
    if hosts != 1 {
        return Err(UsageError::InvalidRequest);
    }
    let encoder = match head.body {
        BodyLength::Known(remaining) => BodyEncoder::Length { remaining },
        BodyLength::Chunked => BodyEncoder::Chunked,
        // A request body cannot be delimited by closing: the response comes after it.
        BodyLength::UntilClose => return Err(UsageError::InvalidRequest),
    };
    let has_body = head.body != BodyLength::Known(0);
    Ok(CheckedRequest {
        encoder,
        wants_close,
        expect_continue: expect_continue && has_body,
    })
}

/// Writes a checked head: `METHOD target HTTP/1.1`, the app's fields in order, then the
/// framing field: `Content-Length` when the body has a known length (also 0 for the methods
/// whose requests usually carry a body, RFC 9110 §8.6), or `Transfer-Encoding: chunked`.
pub(crate) fn write_request_head(out: &mut BytesMut, head: &RequestHead) {
    let method = head.method.as_bytes();
    out.reserve(method.len() + head.target.len() + 12);
    out.put_slice(method);
    out.put_u8(b' ');
    out.put_slice(&head.target);
    out.put_slice(b" HTTP/1.1\r\n");
    for field in &head.headers {
        write_field(out, &field.name, &field.value);
    }
    match head.body {
        BodyLength::Known(0) if !matches!(method, b"POST" | b"PUT" | b"PATCH") => {}
        BodyLength::Known(length) => {
            let mut digits = [0u8; 20];
            write_field(out, b"Content-Length", decimal(length, &mut digits));
        }
        BodyLength::Chunked => write_field(out, b"Transfer-Encoding", b"chunked"),
        BodyLength::UntilClose => unreachable!("refused by check_request_head"),
    }
    out.put_slice(b"\r\n");
}
