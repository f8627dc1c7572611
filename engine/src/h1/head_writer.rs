//! Response head serialization, and the checks on what the app asks us to write.
//!
//! Invariant: nothing written here can break the framing of the connection. Header names are
//! tokens, values carry no CR, LF or NUL (refused with `UsageError::InvalidHeader`, never
//! sanitised into something the app did not say), and the framing headers are the channel's.

use bytes::{BufMut, Bytes, BytesMut};

use super::head_parser::all_field_bytes;
use crate::error::{ProtocolError, UsageError};
use crate::message::{is_token, reason_phrase, Headers, ResponseHead};

/// What the app's head says about framing and persistence, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AppHead {
    /// The app's `Content-Length`, if it set one.
    pub(crate) content_length: Option<u64>,
    /// The app sent `Connection: close`: this is the last response on the connection.
    pub(crate) wants_close: bool,
    /// The app set `Date` or `Server` itself (then ours are not added).
    pub(crate) sets_date_or_server: bool,
}

/// Checks a head before anything of it is written.
pub(crate) fn check_response_head(head: &ResponseHead) -> Result<AppHead, UsageError> {
    check_status_line(head)?;
    let app = check_fields(&head.headers)?;
    check_framing_for_status(app, head.status)
}

/// The status is 100 to 599 (RFC 9110 §15: values outside that range are invalid, and a
/// client treats them as a 5xx) and the reason phrase holds no control but HTAB.
pub(super) fn check_status_line(head: &ResponseHead) -> Result<(), UsageError> {
    if !(100..=599).contains(&head.status) {
        return Err(UsageError::InvalidStatus);
    }
    if let Some(reason) = &head.reason {
        // reason-phrase = *( HTAB / SP / VCHAR / obs-text ), RFC 9112 §4.
        if reason
            .iter()
            .any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f))
        {
            return Err(UsageError::InvalidHeader);
        }
    }
    Ok(())
}

/// Checks the app's fields: names are tokens, values hold no CR, LF, NUL or other control but
/// HTAB, no `Transfer-Encoding`, at most one valid `Content-Length`. What they say about
/// framing and persistence, whatever the status.
pub(super) fn check_fields(headers: &Headers) -> Result<AppHead, UsageError> {
    let mut app = AppHead {
        content_length: None,
        wants_close: false,
        sets_date_or_server: false,
    };
    for field in headers {
        // `field-value` without CR, LF, NUL or other controls but HTAB (RFC 9110 §5.5).
        if !is_token(&field.name) || !all_field_bytes(&field.value) {
            return Err(UsageError::InvalidHeader);
        }
        // The names that matter here differ in length: one comparison per field at most.
        let name = &field.name[..];
        match name.len() {
            17 if is_named(name, b"Transfer-Encoding") => {
                return Err(UsageError::FramingHeader);
            }
            14 if is_named(name, b"Content-Length") => {
                let length = parse_decimal(&field.value).ok_or(UsageError::InvalidHeader)?;
                if app.content_length.replace(length).is_some() {
                    return Err(UsageError::InvalidHeader);
                }
            }
            10 if is_named(name, b"Connection") => {
                app.wants_close |= field
                    .value
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
            }
            4 | 6 if is_named(name, b"Date") || is_named(name, b"Server") => {
                app.sets_date_or_server = true;
            }
            _ => {}
        }
    }
    Ok(app)
}

/// RFC 9110 §8.6: no `Content-Length` on a 1xx or a 204.
pub(super) fn check_framing_for_status(app: AppHead, status: u16) -> Result<AppHead, UsageError> {
    if app.content_length.is_some() && (status < 200 || status == 204) {
        return Err(UsageError::FramingHeader);
    }
    Ok(app)
}

/// Whether a field is named `canonical`, in any case. The usual spelling is tried first with
/// a plain comparison: most apps write it, and it costs a fraction of the case-folding one.
fn is_named(name: &[u8], canonical: &[u8]) -> bool {
    name == canonical || name.eq_ignore_ascii_case(canonical)
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The `Connection` header the channel adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnectionHeader {
    /// None: HTTP/1.1 persistence is the default.
    Omit,
    /// `Connection: keep-alive`, for a persistent HTTP/1.0 client (web2).
    KeepAlive,
    /// `Connection: close`: the last response on the connection.
    Close,
}

/// The headers the channel adds after the app's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AddedHeaders<'a> {
    /// `Content-Length: n` when the channel knows a length the app did not set.
    pub(crate) content_length: Option<u64>,
    /// `Transfer-Encoding: chunked`.
    pub(crate) chunked: bool,
    pub(crate) connection: ConnectionHeader,
    pub(crate) date: Option<&'a [u8]>,
    pub(crate) server: Option<&'a str>,
    /// `date` and `server` as fields and the blank line, already formatted
    /// ([`super::head_memo::HeadMemo`]): given only when the app set neither field.
    pub(crate) end: Option<&'a [u8]>,
    /// The app's fields as [`write_app_fields`] writes them, already written (its static
    /// list's, [`super::head_memo::HeadMemo`]).
    pub(crate) app_fields: Option<&'a [u8]>,
}

/// Writes a checked head: the status line (always `HTTP/1.1`, RFC 9110 §2.5: a server sends
/// its highest version), the app's fields in order minus `Connection`, then ours.
pub(crate) fn write_response_head(out: &mut BytesMut, head: &ResponseHead, added: AddedHeaders) {
    write_status_line(out, head);
    match added.app_fields {
        Some(written) => out.put_slice(written),
        None => write_app_fields(out, &head.headers),
    }
    if let Some(length) = added.content_length {
        let mut digits = [0u8; 20];
        write_field(out, b"Content-Length", decimal(length, &mut digits));
    }
    if added.chunked {
        write_field(out, b"Transfer-Encoding", b"chunked");
    }
    match added.connection {
        ConnectionHeader::Omit => {}
        ConnectionHeader::KeepAlive => write_field(out, b"Connection", b"keep-alive"),
        ConnectionHeader::Close => write_field(out, b"Connection", b"close"),
    }
    if let Some(end) = added.end {
        out.put_slice(end);
        return;
    }
    if let Some(date) = added.date.filter(|_| !head.headers.contains("date")) {
        write_field(out, b"Date", date);
    }
    if let Some(server) = added.server.filter(|_| !head.headers.contains("server")) {
        write_field(out, b"Server", server.as_bytes());
    }
    out.put_slice(b"\r\n");
}

/// Writes the app's fields of a final response, in order, but `Connection` (the channel
/// writes its own).
pub(super) fn write_app_fields(out: &mut BytesMut, headers: &Headers) {
    for field in headers {
        if is_named(&field.name, b"Connection") {
            continue;
        }
        write_field(out, &field.name, &field.value);
    }
}

/// Writes an informational (1xx) head: status line and the app's fields only.
pub(crate) fn write_informational(out: &mut BytesMut, head: &ResponseHead) {
    write_status_line(out, head);
    for field in &head.headers {
        write_field(out, &field.name, &field.value);
    }
    out.put_slice(b"\r\n");
}

fn write_status_line(out: &mut BytesMut, head: &ResponseHead) {
    if head.status == 200 && head.reason.is_none() {
        // Most responses: one copy instead of five pieces.
        out.put_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.put_slice(b"HTTP/1.1 ");
    let mut digits = [0u8; 20];
    out.put_slice(decimal(u64::from(head.status), &mut digits));
    out.put_u8(b' ');
    match &head.reason {
        Some(reason) => out.put_slice(reason),
        None => out.put_slice(reason_phrase(head.status).as_bytes()),
    }
    out.put_slice(b"\r\n");
}

/// `n` in decimal, written at the end of `buf`: no allocation on the per-response path.
pub(super) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

pub(super) fn write_field(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// The automatic answer to a protocol error: the status, `Content-Length`, `Connection: close`
/// and a one-line body naming the problem (web2 did the same; Twisted sent a bare 400).
pub(crate) fn error_response(
    error: ProtocolError,
    date: Option<&[u8]>,
    server: Option<&str>,
) -> Bytes {
    let body = format!("{}\n", error.kind);
    let head = ResponseHead::new(error.status).with_header("Content-Type", "text/plain");
    let mut out = BytesMut::with_capacity(160 + body.len());
    let added = AddedHeaders {
        content_length: Some(body.len() as u64),
        chunked: false,
        connection: ConnectionHeader::Close,
        date,
        server,
        end: None,
        app_fields: None,
    };
    write_response_head(&mut out, &head, added);
    out.put_slice(body.as_bytes());
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProtocolErrorKind;
    use crate::message::Headers;

    #[test]
    fn refuses_what_would_break_framing() {
        let with = |name: &'static str, value: &'static str| ResponseHead {
            headers: Headers::new().with(name, value),
            ..ResponseHead::new(200)
        };
        // Twisted replaced CR/LF with a space (test_writeHeadersSanitizesLinearWhitespace);
        // twine refuses the head instead, so the app learns of its bug.
        assert_eq!(
            check_response_head(&with("Foo", "a\r\nb")),
            Err(UsageError::InvalidHeader)
        );
        assert_eq!(
            check_response_head(&with("Foo", "a\nb")),
            Err(UsageError::InvalidHeader)
        );
        assert_eq!(
            check_response_head(&with("Foo", "a\0b")),
            Err(UsageError::InvalidHeader)
        );
        assert_eq!(
            check_response_head(&with("Fo o", "a")),
            Err(UsageError::InvalidHeader)
        );
        assert_eq!(
            check_response_head(&with("Transfer-Encoding", "chunked")),
            Err(UsageError::FramingHeader)
        );
        assert_eq!(
            check_response_head(&with("Content-Length", "+1")),
            Err(UsageError::InvalidHeader)
        );
        for invalid in [99, 600, 999, 1000] {
            assert_eq!(
                check_response_head(&ResponseHead::new(invalid)),
                Err(UsageError::InvalidStatus),
                "{invalid}"
            );
        }
        assert!(check_response_head(&ResponseHead::new(599)).is_ok());
        let ok = check_response_head(&with("Content-Length", "12")).unwrap();
        assert_eq!(
            ok,
            AppHead {
                content_length: Some(12),
                wants_close: false,
                sets_date_or_server: false,
            }
        );
        assert!(
            check_response_head(&with("Connection", "x, Close"))
                .unwrap()
                .wants_close
        );
    }

    #[test]
    fn writes_app_fields_in_order_then_ours() {
        let head = ResponseHead::new(200)
            .with_header("Yo", "One")
            .with_header("yo", "Two");
        let mut out = BytesMut::new();
        let added = AddedHeaders {
            content_length: None,
            chunked: true,
            connection: ConnectionHeader::Close,
            date: Some(b"Thu, 01 Jan 1970 00:00:00 GMT"),
            server: Some("twine"),
            end: None,
            app_fields: None,
        };
        write_response_head(&mut out, &head, added);
        assert_eq!(
            &out[..],
            &b"HTTP/1.1 200 OK\r\nYo: One\r\nyo: Two\r\nTransfer-Encoding: chunked\r\n\
               Connection: close\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
               Server: twine\r\n\r\n"[..]
        );
    }

    #[test]
    fn an_app_date_or_server_in_any_case_is_noticed() {
        for name in ["Date", "date", "SERVER", "server"] {
            let head = ResponseHead::new(200).with_header(name, "x");
            assert!(
                check_response_head(&head).unwrap().sets_date_or_server,
                "{name}"
            );
        }
        for name in ["Dates", "Serve", "X-Date"] {
            let head = ResponseHead::new(200).with_header(name, "x");
            assert!(
                !check_response_head(&head).unwrap().sets_date_or_server,
                "{name}"
            );
        }
    }

    #[test]
    fn decimals() {
        for n in [0u64, 7, 10, 204, 65_536, u64::MAX] {
            assert_eq!(decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }

    #[test]
    fn error_responses_are_complete_and_close() {
        let error = ProtocolError::from(ProtocolErrorKind::UriTooLong);
        let bytes = error_response(error, None, Some("twine"));
        assert_eq!(
            &bytes[..],
            &b"HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\
               Connection: close\r\nServer: twine\r\n\r\nrequest line too long\n"[..]
        );
    }
}
