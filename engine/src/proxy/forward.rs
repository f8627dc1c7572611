//! What a reverse proxy changes in the heads it forwards (RFC 9110 §7.6), as pure functions.
//!
//! Both directions: the hop-by-hop fields go (§7.6.1: `Connection` and every field it names,
//! `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`), and so
//! does `Content-Length`: each side's encoder writes its own framing from the body's length,
//! so a body is decoded on one side and re-framed on the other, and no framing field crosses
//! a hop (Twisted forwarded `Transfer-Encoding: chunked` over a decoded body). A `Via` is
//! appended (§7.6.3).
//!
//! Requests also get `Forwarded` (RFC 7239), `X-Forwarded-For` (the chain so far, then the
//! peer: one field, as nginx writes it) and `X-Forwarded-Proto` from the connection; `Host`
//! is kept, or set to the upstream's authority when the proxy rewrites it or the client sent
//! none (HTTP/1.0); and the target is put under the path prefix.

use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::io::ConnectionInfo;
use crate::message::{is_valid_host, BodyLength, Headers, RequestHead, ResponseHead, Version};

/// How the proxy forwards.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// The upstream's authority (`host` or `host:port`), for `Host` when it is rewritten.
    pub upstream_authority: Bytes,
    /// Send `Host: upstream_authority` instead of the client's `Host` (Twisted's
    /// `ReverseProxyResource` always does; `twine proxy --rewrite-host`).
    pub rewrite_host: bool,
    /// Prepended to every origin-form target (`/x` under `/app` is `/app/x`); empty for none.
    pub path_prefix: Bytes,
    /// The pseudonym in `Via` (RFC 9110 §7.6.3).
    pub via_name: &'static str,
}

impl ProxyConfig {
    /// Forwarding to `upstream_authority`, `Host` kept, no prefix, `Via: 1.1 twine`.
    pub fn new(upstream_authority: impl Into<Bytes>) -> ProxyConfig {
        ProxyConfig {
            upstream_authority: upstream_authority.into(),
            rewrite_host: false,
            path_prefix: Bytes::new(),
            via_name: "twine",
        }
    }

    /// With `Host` rewritten to the upstream's authority.
    pub fn with_rewrite_host(mut self, rewrite: bool) -> ProxyConfig {
        self.rewrite_host = rewrite;
        self
    }

    /// With a path prefix (a trailing `/` is dropped).
    pub fn with_path_prefix(mut self, prefix: impl Into<Bytes>) -> ProxyConfig {
        let prefix: Bytes = prefix.into();
        let trimmed = prefix.strip_suffix(b"/").map_or(prefix.len(), <[u8]>::len);
        self.path_prefix = prefix.slice(..trimmed);
        self
    }
}

/// The request as it goes upstream, or `None` for a target that cannot be forwarded:
/// authority-form (only `CONNECT` uses it, and tunnels are not proxied), an absolute-form
/// target whose scheme is not `http` or `https`, or, under a path prefix, a path with dot
/// segments (`/../admin` would leave the prefix once the origin normalises it).
pub fn forward_request(
    head: &RequestHead,
    from: &ConnectionInfo,
    config: &ProxyConfig,
) -> Option<RequestHead> {
    let (target, authority) = upstream_target(&head.target, &config.path_prefix)?;
    let mut headers = Headers::with_capacity(head.headers.len() + 5);
    let hop_by_hop = connection_options(&head.headers);
    let mut forwarded_for: Vec<Bytes> = Vec::new();
    let mut client_host = None;
    for field in &head.headers {
        let name = &field.name;
        if is_hop_by_hop(name, &hop_by_hop) || name.eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        if name.eq_ignore_ascii_case(b"x-forwarded-for") {
            forwarded_for.push(field.value.clone());
            continue;
        }
        if name.eq_ignore_ascii_case(b"x-forwarded-proto") {
            continue;
        }
        if name.eq_ignore_ascii_case(b"host") {
            client_host = Some(field.value.clone());
            if config.rewrite_host || authority.is_some() {
                continue;
            }
        }
        headers.append(field.name.clone(), field.value.clone());
    }
    if config.rewrite_host || client_host.is_none() {
        headers.append("Host", config.upstream_authority.clone());
    } else if let Some(authority) = &authority {
        // RFC 9112 §3.2.2: an absolute-form target's authority is the request's host; a
        // proxy forwarding it generates Host from it, not from the client's Host field.
        headers.append("Host", authority.clone());
    }
    let client_host = authority.or(client_host);
    headers.append("Via", via(head.version, config.via_name));
    let proto = if from.secure { "https" } else { "http" };
    headers.append("Forwarded", forwarded(from, client_host.as_deref(), proto));
    forwarded_for.push(Bytes::from(from.peer.ip().to_string()));
    headers.append("X-Forwarded-For", join(&forwarded_for));
    headers.append("X-Forwarded-Proto", proto);
    Some(RequestHead {
        method: head.method.clone(),
        target,
        version: Version::Http11,
        headers,
        body: match head.body {
            BodyLength::Known(n) => BodyLength::Known(n),
            BodyLength::Chunked | BodyLength::UntilClose => BodyLength::Chunked,
        },
        expect_continue: head.expect_continue,
    })
}

/// The response as it goes back to the client: hop-by-hop fields and the framing dropped
/// (the server channel frames it again; a `Content-Length` is kept only where it is the
/// body's framing, so the client sees the same length), `Via` appended.
pub fn forward_response(
    head: &ResponseHead,
    body: BodyLength,
    upstream: Version,
    config: &ProxyConfig,
) -> ResponseHead {
    let hop_by_hop = connection_options(&head.headers);
    let mut headers = Headers::with_capacity(head.headers.len() + 1);
    for field in &head.headers {
        let name = &field.name;
        let framing = name.eq_ignore_ascii_case(b"content-length");
        if is_hop_by_hop(name, &hop_by_hop) || (framing && body == BodyLength::Chunked) {
            continue;
        }
        // Close-delimited bodies have none; RFC 9110 §8.6 forbids one on a 1xx or a 204.
        let no_length = body == BodyLength::UntilClose || head.status < 200 || head.status == 204;
        if framing && no_length {
            continue;
        }
        headers.append(field.name.clone(), field.value.clone());
    }
    headers.append("Via", via(upstream, config.via_name));
    ResponseHead {
        status: head.status,
        reason: head.reason.clone(),
        headers,
    }
}

/// RFC 9110 §7.6.1: the fields a hop consumes.
const HOP_BY_HOP: [&[u8]; 7] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
];

/// The field names listed in `Connection` (lower-cased), which are hop-by-hop too.
fn connection_options(headers: &Headers) -> Vec<Bytes> {
    headers
        .get_all("connection")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(|name| Bytes::from(name.trim_ascii().to_ascii_lowercase()))
        .filter(|name| !name.is_empty())
        .collect()
}

fn is_hop_by_hop(name: &[u8], listed: &[Bytes]) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
        || listed.iter().any(|l| name.eq_ignore_ascii_case(l))
}

/// The target upstream and, for an absolute-form target, its authority: origin-form under
/// the prefix; absolute-form `http`/`https` reduced to origin-form (RFC 9112 §3.2.2: a server
/// takes the path from it); `*` kept; anything else refused.
fn upstream_target(target: &Bytes, prefix: &Bytes) -> Option<(Bytes, Option<Bytes>)> {
    let (origin, authority) = if target.starts_with(b"/") {
        (target.clone(), None)
    } else if target.as_ref() == b"*" {
        return Some((target.clone(), None));
    } else {
        let scheme_end = [&b"http://"[..], b"https://"]
            .iter()
            .find(|scheme| {
                target.len() >= scheme.len() && target[..scheme.len()].eq_ignore_ascii_case(scheme)
            })?
            .len();
        let rest = &target[scheme_end..];
        let end = rest.iter().position(|&b| b == b'/' || b == b'?');
        let authority = target.slice(scheme_end..scheme_end + end.unwrap_or(rest.len()));
        if authority.is_empty() || !is_valid_host(&authority) {
            // No host, or not a `host[:port]` (userinfo, deprecated by RFC 9110 §4.2.4,
            // included): not forwarded.
            return None;
        }
        let origin = match end {
            Some(at) if rest[at] == b'/' => target.slice(scheme_end + at..),
            Some(at) => {
                let mut path = BytesMut::with_capacity(rest.len() - at + 1);
                path.put_u8(b'/');
                path.put_slice(&rest[at..]);
                path.freeze()
            }
            None => Bytes::from_static(b"/"),
        };
        (origin, Some(authority))
    };
    if prefix.is_empty() {
        return Some((origin, authority));
    }
    if has_dot_segment(&origin) {
        return None;
    }
    let mut joined = BytesMut::with_capacity(prefix.len() + origin.len());
    joined.put_slice(prefix);
    joined.put_slice(&origin);
    Some((joined.freeze(), authority))
}

/// Whether the path (before any query) has a `.` or `..` segment, plainly or percent-encoded.
fn has_dot_segment(target: &[u8]) -> bool {
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    path.split(|&b| b == b'/').any(|segment| {
        let decoded = String::from_utf8_lossy(segment)
            .to_ascii_lowercase()
            .replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

fn via(version: Version, name: &str) -> Bytes {
    let protocol = match version {
        Version::Http10 => "1.0",
        Version::Http11 => "1.1",
        Version::Http2 => "2",
    };
    Bytes::from(format!("{protocol} {name}"))
}

/// RFC 7239 §4: `for` is the peer (an IPv6 address quoted and bracketed), `host` the client's
/// `Host` as a quoted-string, `proto` the scheme.
fn forwarded(from: &ConnectionInfo, host: Option<&[u8]>, proto: &str) -> Bytes {
    let mut value = BytesMut::with_capacity(64);
    match from.peer.ip() {
        IpAddr::V4(ip) => value.put_slice(format!("for={ip}").as_bytes()),
        IpAddr::V6(ip) => value.put_slice(format!("for=\"[{ip}]\"").as_bytes()),
    }
    if let Some(host) = host {
        value.put_slice(b";host=\"");
        for &b in host {
            if b == b'"' || b == b'\\' {
                value.put_u8(b'\\');
            }
            value.put_u8(b);
        }
        value.put_u8(b'"');
    }
    value.put_slice(b";proto=");
    value.put_slice(proto.as_bytes());
    value.freeze()
}

fn join(values: &[Bytes]) -> Bytes {
    let mut joined = BytesMut::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            joined.put_slice(b", ");
        }
        joined.put_slice(value);
    }
    joined.freeze()
}

#[cfg(test)]
#[path = "tests/forward.rs"]
mod tests;
