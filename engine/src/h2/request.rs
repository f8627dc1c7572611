//! A decoded HTTP/2 header list made into the [`RequestHead`] apps already know (RFC 9113
//! §8.1-8.3), so an app written for HTTP/1.1 serves HTTP/2 unchanged.
//!
//! Malformed requests (§8.1.1) are refused here and answered by the connection with
//! RST_STREAM(PROTOCOL_ERROR) on that stream only: pseudo-header fields after regular ones,
//! unknown, repeated or response pseudo-headers, a missing `:method`, `:scheme` or `:path`
//! (`CONNECT` excepted), upper-case names, connection-specific fields, `TE` other than
//! `trailers`, values with NUL, CR or LF or surrounding whitespace, conflicting
//! `Content-Length`s. `:authority` becomes `Host` when the request has none (Twisted's
//! `H2Stream._convertHeaders`); `:scheme` is checked, then dropped (Twisted ignores it).
//! Trailers are held to the same rules for regular fields (one check serves both) and carry
//! no pseudo-header field (§8.1); they are checked, then dropped.

use bytes::{Bytes, BytesMut};

use super::hpack::Field;
use crate::message::{is_token, is_valid_host, BodyLength, Headers, Method, RequestHead, Version};

/// Why a header list is no request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// A pseudo-header field after a regular one.
    PseudoAfterRegular,
    /// A pseudo-header field twice, or one no request carries.
    BadPseudo,
    /// `:method`, `:scheme` or `:path` missing or empty.
    MissingPseudo,
    /// A field name with upper-case letters or bytes outside a token.
    BadName,
    /// A value with NUL, CR or LF, or leading or trailing whitespace.
    BadValue,
    /// `Connection`, `Keep-Alive`, `Proxy-Connection`, `Transfer-Encoding`, `Upgrade`, or
    /// `TE` other than `trailers`.
    ConnectionSpecific,
    /// `Content-Length` not a number, or two that differ.
    BadContentLength,
    /// `:authority` or `host` not a `host[:port]`, two `host` fields, or a `host` naming
    /// another host than `:authority` (§8.3.1).
    BadHost,
}

/// §8.3.1: `:authority` is a `host[:port]`, userinfo excluded, as a `host` field must be (RFC
/// 9112 §3.2); there is one `host` at most, and with both they name the same host (a server
/// "SHOULD treat a request as malformed" otherwise: an app reading `host` and a proxy
/// routing on `:authority` would disagree).
fn check_host(authority: Option<&Bytes>, headers: &Headers) -> Result<(), Malformed> {
    let mut hosts = headers.get_all("host");
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Malformed::BadHost);
    }
    if authority
        .into_iter()
        .chain(host)
        .any(|value| !is_valid_host(value))
    {
        return Err(Malformed::BadHost);
    }
    match (authority, host) {
        (Some(authority), Some(host)) if !authority.eq_ignore_ascii_case(host) => {
            Err(Malformed::BadHost)
        }
        _ => Ok(()),
    }
}

/// The connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2), lower-case.
const CONNECTION_SPECIFIC: [&[u8]; 5] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];

/// Whether a field name (lower-case) is connection-specific: refused in a request, dropped
/// from a response.
pub(crate) fn is_connection_specific(name: &[u8]) -> bool {
    CONNECTION_SPECIFIC.contains(&name)
}

/// The request a header list describes; `end_stream` says the HEADERS frame ended the stream
/// (no body).
pub fn request_head(fields: Vec<Field>, end_stream: bool) -> Result<RequestHead, Malformed> {
    let mut method = None;
    let mut scheme = None;
    let mut path = None;
    let mut authority = None;
    let mut headers = Headers::with_capacity(fields.len());
    let mut regular_seen = false;
    let mut content_length: Option<u64> = None;
    // §8.2.3: cookie crumbs, which clients split a Cookie into for HPACK, are one field for
    // the app: where the first one stood, the values joined by "; " (HTTP/1.1 allows one).
    // Where the first stands, and the joined value once a second comes (a lone cookie field,
    // the common case, costs nothing).
    let mut cookie_at: Option<usize> = None;
    let mut joined: Option<BytesMut> = None;
    for (name, value) in fields {
        check_value(&value)?;
        if let Some(pseudo) = name.strip_prefix(b":") {
            if regular_seen {
                return Err(Malformed::PseudoAfterRegular);
            }
            let slot = match pseudo {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"path" => &mut path,
                b"authority" => &mut authority,
                _ => return Err(Malformed::BadPseudo),
            };
            if slot.replace(value).is_some() {
                return Err(Malformed::BadPseudo);
            }
            continue;
        }
        regular_seen = true;
        check_regular_name(&name, &value)?;
        if &name[..] == b"content-length" {
            let length = parse_length(&value).ok_or(Malformed::BadContentLength)?;
            if content_length
                .replace(length)
                .is_some_and(|before| before != length)
            {
                return Err(Malformed::BadContentLength);
            }
        }
        if &name[..] == b"cookie" {
            if let Some(at) = cookie_at {
                let joined = joined.get_or_insert_with(|| {
                    let first = headers.iter().nth(at).map(|f| &f.value[..]);
                    BytesMut::from(first.unwrap_or_default())
                });
                joined.extend_from_slice(b"; ");
                joined.extend_from_slice(&value);
                continue;
            }
            cookie_at = Some(headers.len());
        }
        headers.append(name, value);
    }
    if let (Some(at), Some(joined)) = (cookie_at, joined) {
        headers.set_value_at(at, joined.freeze());
    }
    let method = method
        .filter(|m| is_token(m))
        .ok_or(Malformed::MissingPseudo)?;
    let target = if &method[..] == b"CONNECT" {
        // §8.5: only :method and :authority.
        if scheme.is_some() || path.is_some() {
            return Err(Malformed::BadPseudo);
        }
        authority.clone().ok_or(Malformed::MissingPseudo)?
    } else {
        if scheme.is_none_or(|s| s.is_empty()) {
            return Err(Malformed::MissingPseudo);
        }
        path.filter(|p| !p.is_empty())
            .ok_or(Malformed::MissingPseudo)?
    };
    check_host(authority.as_ref(), &headers)?;
    if let Some(authority) = authority {
        if !headers.contains("host") {
            headers.append(Bytes::from_static(b"host"), authority);
        }
    }
    let body = match (end_stream, content_length) {
        (true, _) => BodyLength::Known(0),
        (false, Some(length)) => BodyLength::Known(length),
        // Length unknown: DATA frames until END_STREAM.
        (false, None) => BodyLength::Chunked,
    };
    let expect_continue = headers
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    Ok(RequestHead {
        method: Method::new(method),
        target,
        version: Version::Http2,
        headers,
        body,
        expect_continue,
    })
}

/// A trailer section (§8.1): regular fields only, each as a request's must be. Trailers
/// reach no app (Twisted drops them too), but a malformed one is answered like a malformed
/// head, so a request is never taken whole on the strength of a section that is not HTTP.
pub fn check_trailers(fields: &[Field]) -> Result<(), Malformed> {
    for (name, value) in fields {
        check_value(value)?;
        if name.starts_with(b":") {
            return Err(Malformed::BadPseudo);
        }
        check_regular_name(name, value)?;
    }
    Ok(())
}

/// A regular field's name (§8.2): a lower-case token, not connection-specific, and `TE` only
/// as `trailers` (§8.2.2).
fn check_regular_name(name: &[u8], value: &[u8]) -> Result<(), Malformed> {
    if !is_token(name) || name.iter().any(u8::is_ascii_uppercase) {
        return Err(Malformed::BadName);
    }
    if is_connection_specific(name) {
        return Err(Malformed::ConnectionSpecific);
    }
    if name == b"te" && !value.eq_ignore_ascii_case(b"trailers") {
        return Err(Malformed::ConnectionSpecific);
    }
    Ok(())
}

/// §8.2.1: no NUL, CR or LF; no leading or trailing SP or HTAB.
fn check_value(value: &[u8]) -> Result<(), Malformed> {
    let bad_byte = value.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'));
    let padded =
        matches!(value.first(), Some(b' ' | b'\t')) || matches!(value.last(), Some(b' ' | b'\t'));
    if bad_byte || padded {
        return Err(Malformed::BadValue);
    }
    Ok(())
}

fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}
