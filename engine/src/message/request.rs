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
#[non_exhaustive]
pub enum Version {
    /// HTTP/1.0: persistent only with `Connection: keep-alive`; no chunked responses.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2: one request per stream (`twine_engine::h2`).
    Http2,
}

impl Version {
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
            Version::Http2 => "HTTP/2",
        }
    }
}

/// How a message body is framed (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLength {
    /// Exactly this many bytes (`Content-Length`, or 0 when neither framing header is present).
    Known(u64),
    /// Unknown until it ends: `Transfer-Encoding: chunked` on HTTP/1.1, DATA frames until
    /// END_STREAM on HTTP/2.
    Chunked,
    /// Responses only: the body is everything until the server closes the connection.
    UntilClose,
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
        // Origin-form first: its query may itself hold `scheme://` (`/login?next=http://a`).
        let after_authority = if target.starts_with(b"/") {
            target
        } else if let Some(rest) = strip_http_scheme(target) {
            match rest.iter().position(|&b| matches!(b, b'/' | b'?' | b'#')) {
                Some(at) if rest[at] == b'/' => &rest[at..],
                _ => return b"/",
            }
        } else {
            return target;
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

/// What follows `http://` or `https://` (scheme case-insensitive), if the target starts so.
fn strip_http_scheme(target: &[u8]) -> Option<&[u8]> {
    let colon = target.iter().position(|&b| b == b':')?;
    let scheme = &target[..colon];
    let http = scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https");
    target[colon..].strip_prefix(b"://").filter(|_| http)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(target: &str) -> RequestHead {
        RequestHead {
            method: Method::new("GET"),
            target: Bytes::copy_from_slice(target.as_bytes()),
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
        // Found in review: a query holding a URL must not turn origin-form into absolute-form.
        assert_eq!(head("/x?next=http://a/b").path(), b"/x");
        assert_eq!(head("/a://b?q").path(), b"/a://b");
        assert_eq!(head("http://h/x?next=http://a/b").path(), b"/x");
    }

    proptest::proptest! {
        /// Any origin-form target, and the same path in absolute-form, name the same path:
        /// whatever the path and the query hold (colons, slashes, `://`).
        #[test]
        fn origin_and_absolute_form_agree(
            path in "(/[a-z:.%0-9]{0,6}){1,4}",
            query in proptest::option::of("[a-z:/?#=.]{0,12}"),
        ) {
            let suffix = query.map(|q| format!("?{q}")).unwrap_or_default();
            let origin = format!("{path}{suffix}");
            let absolute = format!("http://host:80{origin}");
            let (origin, absolute) = (head(&origin), head(&absolute));
            proptest::prop_assert_eq!(origin.path(), path.as_bytes());
            proptest::prop_assert_eq!(absolute.path(), path.as_bytes());
        }
    }
}
