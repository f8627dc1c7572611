//! The request head as the app receives it.

use bytes::Bytes;

use super::Headers;

/// The request method, a token (RFC 9110 §9), kept as sent: methods are case-sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct Method(Bytes);

impl Method {
    /// A method from its bytes. The parser has checked that they are a token.
    pub fn new(bytes: impl Into<Bytes>) -> Method {
        Method(bytes.into())
    }

    /// The method's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is `HEAD`, whose response never has a body.
    pub fn is_head(&self) -> bool {
        self.0 == "HEAD"
    }

    /// Whether this is `GET`.
    pub fn is_get(&self) -> bool {
        self.0 == "GET"
    }
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

/// The HTTP version of a request. A higher 1.x minor version is processed as HTTP/1.1
/// (RFC 9110 §2.5); another major version is refused with 505.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// HTTP/1.0: persistent only with `Connection: keep-alive`; no chunked responses.
    Http10,
    /// HTTP/1.1.
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the request body is framed (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// Exactly this many bytes (`Content-Length`, or 0 when neither framing header is present).
    Known(u64),
    /// `Transfer-Encoding: chunked`: unknown until the last chunk.
    Chunked,
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target, as sent (origin-form, absolute-form, authority-form or `*`).
    pub target: Bytes,
    /// The version.
    pub version: Version,
    /// The header fields, in order, names in their original case.
    pub headers: Headers,
    /// How the body is framed.
    pub body: BodyLength,
    /// Whether the client sent `Expect: 100-continue` on HTTP/1.1: the channel sends
    /// `100 Continue` when the app first asks for body bytes.
    pub expect_continue: bool,
}

impl RequestHead {
    /// The path the target names, without query or fragment: for origin-form (`/a?q`) the part
    /// before `?` or `#`; for absolute-form (`http://host/a?q`), which a server must accept
    /// (RFC 9112 §3.2.2), the same after the authority, and `/` when it is empty (§3.2.4);
    /// authority-form and `*` as they are.
    pub fn path(&self) -> &[u8] {
        let target = &self.target[..];
        let after_authority = match target.iter().position(|&b| b == b':') {
            Some(colon) if target[colon..].starts_with(b"://") => {
                let scheme = &target[..colon];
                if !(scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https"))
                {
                    return target;
                }
                let rest = &target[colon + 3..];
                match rest.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')) {
                    Some(at) if rest[at] == b'/' => &rest[at..],
                    _ => return b"/",
                }
            }
            _ if target.starts_with(b"/") => target,
            _ => return target,
        };
        let end = after_authority
            .iter()
            .position(|&b| matches!(b, b'?' | b'#'));
        &after_authority[..end.unwrap_or(after_authority.len())]
    }

    /// Whether the request has a body (chunked, or a non-zero length).
    pub fn has_body(&self) -> bool {
        self.body != BodyLength::Known(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &'static str) -> RequestHead {
        RequestHead {
            method: Method::new("GET"),
            target: Bytes::from_static(target.as_bytes()),
            version: Version::Http11,
            headers: Headers::new(),
            body: BodyLength::Known(0),
            expect_continue: false,
        }
    }

    #[test]
    fn paths_of_every_target_form() {
        assert_eq!(head("/a/b?c").path(), b"/a/b");
        assert_eq!(head("/a#f").path(), b"/a");
        assert_eq!(head("http://h/a/b?c").path(), b"/a/b");
        assert_eq!(head("HTTPS://h:8443/x").path(), b"/x");
        // RFC 9112 §3.2.4: an empty path in absolute-form is "/".
        assert_eq!(head("http://h").path(), b"/");
        assert_eq!(head("http://h?q").path(), b"/");
        assert_eq!(head("h:443").path(), b"h:443");
        assert_eq!(head("*").path(), b"*");
        assert_eq!(head("ftp://h/x").path(), b"ftp://h/x");
    }
}
