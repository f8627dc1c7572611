//! The response head as the app sends it.

use bytes::Bytes;

use super::Headers;

/// A response head: status, optional reason phrase, header fields. The channel adds the
/// framing (`Content-Length` or `Transfer-Encoding`), `Connection`, `Date` and `Server`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code, 100..=599 (RFC 9110 §15; others are refused).
    pub status: u16,
    /// A reason phrase; `None` uses the standard one for the status.
    pub reason: Option<Bytes>,
    /// The header fields, in order.
    pub headers: Headers,
}

impl ResponseHead {
    /// A head with this status and no fields.
    pub fn new(status: u16) -> ResponseHead {
        ResponseHead {
            status,
            reason: None,
            headers: Headers::new(),
        }
    }

    /// With a header field appended.
    pub fn with_header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> ResponseHead {
        self.headers.append(name, value);
        self
    }
}

/// The standard reason phrase of a status (RFC 9110 §15, and the IANA registry's others:
/// WebDAV's, RFC 6585's, 425 and 451), or `""` for an unregistered one.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ => "",
    }
}
