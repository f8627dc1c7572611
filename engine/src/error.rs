//! The three classes of error, never mixed (STYLE.md item 3).
//!
//! - Peer violations are values ([`ProtocolError`]): the channel answers them with a status code
//!   and a lingering close, and reports them as [`Event::ProtocolError`](crate::Event). Peer
//!   bytes never make `handle_input` return `Err`.
//! - Application misuse is `Err(`[`UsageError`]`)` from `handle_input`; nothing is written.
//! - Bugs are `assert!`s.

use thiserror::Error;

/// What a peer did wrong, and the status it earns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// What was wrong.
    pub kind: ProtocolErrorKind,
    /// The status code of the automatic response: 400, 408, 413, 414, 431, 501 or 505; on a
    /// client connection, what a gateway answers: 502 or 504.
    pub status: u16,
}

/// The kinds of peer violation. Tests assert these, never messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Error)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// The request line is longer than `request_line_bytes_max` (414).
    #[error("request line too long")]
    UriTooLong,
    /// The head is longer than `head_bytes_max` (431).
    #[error("request head too large")]
    HeadTooLarge,
    /// More than `header_count_max` header fields (431).
    #[error("too many header fields")]
    TooManyHeaders,
    /// More than one empty line before a request line.
    #[error("more than one empty line before the request line")]
    LeadingEmptyLines,
    /// The request line is not `method SP target SP version`.
    #[error("malformed request line")]
    InvalidRequestLine,
    /// The method is not a token.
    #[error("invalid method")]
    InvalidMethod,
    /// The target is empty or has a byte outside visible ASCII.
    #[error("invalid request target")]
    InvalidTarget,
    /// The version is not `HTTP/<digit>.<digit>`.
    #[error("invalid HTTP version")]
    InvalidVersion,
    /// A major version other than 1 (505).
    #[error("HTTP version not supported")]
    UnsupportedVersion,
    /// A header line is malformed: no colon, a name that is not a token, a bad byte in a value,
    /// a bare CR.
    #[error("invalid header field")]
    InvalidHeader,
    /// A header line starts with whitespace (obsolete line folding, RFC 9112 §5.2).
    #[error("obsolete line folding")]
    ObsoleteFold,
    /// An HTTP/1.1 request without a `Host`, or any request with several or with an invalid
    /// one: no `host[:port]` (RFC 9112 §3.2).
    #[error("missing, duplicate or invalid Host")]
    InvalidHost,
    /// A `Content-Length` that is not a plain decimal number, or that overflows.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Two `Content-Length`s, or `Content-Length` with `Transfer-Encoding`.
    #[error("conflicting message framing")]
    ConflictingFraming,
    /// `Transfer-Encoding` whose last coding is not `chunked`, or `chunked` twice (400).
    #[error("chunked is not the final transfer coding")]
    ChunkedNotLast,
    /// A transfer coding twine does not implement (501).
    #[error("unknown transfer coding")]
    UnknownTransferCoding,
    /// A chunk-size line that is not hex, overflows, or is too long.
    #[error("invalid chunk size")]
    InvalidChunkSize,
    /// A chunk extension with bytes outside the allowed set, or too long.
    #[error("invalid chunk extension")]
    InvalidChunkExtension,
    /// Chunk data not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    InvalidChunkEnd,
    /// Trailers longer than `trailer_bytes_max`, or malformed.
    #[error("invalid or oversized trailers")]
    InvalidTrailers,
    /// The body is larger than `body_bytes_max` (413).
    #[error("request body too large")]
    BodyTooLarge,
    /// The request head did not arrive within the head deadline, or the body went idle (408).
    #[error("request timed out")]
    RequestTimeout,
    /// Client role: the status line is not `HTTP-version SP 3DIGIT SP reason`.
    #[error("malformed status line")]
    InvalidStatusLine,
    /// Client role: bytes from the server when no request is in flight, or a `101`.
    #[error("unexpected response")]
    UnexpectedResponse,
    /// Client role: the response head did not come within the response head timeout (504).
    #[error("response timed out")]
    ResponseTimeout,
}

impl ProtocolErrorKind {
    /// The status code this violation is answered with.
    pub const fn status(self) -> u16 {
        use ProtocolErrorKind::*;
        match self {
            UriTooLong => 414,
            HeadTooLarge | TooManyHeaders => 431,
            UnsupportedVersion => 505,
            UnknownTransferCoding => 501,
            BodyTooLarge => 413,
            RequestTimeout => 408,
            ResponseTimeout => 504,
            InvalidStatusLine | UnexpectedResponse => 502,
            LeadingEmptyLines
            | InvalidRequestLine
            | InvalidMethod
            | InvalidTarget
            | InvalidVersion
            | InvalidHeader
            | ObsoleteFold
            | InvalidHost
            | InvalidContentLength
            | ConflictingFraming
            | ChunkedNotLast
            | InvalidChunkSize
            | InvalidChunkExtension
            | InvalidChunkEnd
            | InvalidTrailers => 400,
        }
    }
}

impl ProtocolError {
    /// A violation by a server we are the client of: a gateway answers 502 whatever the kind
    /// (RFC 9110 §15.6.3), 504 for a response that did not come in time.
    pub const fn upstream(kind: ProtocolErrorKind) -> ProtocolError {
        let status = match kind {
            ProtocolErrorKind::ResponseTimeout => 504,
            _ => 502,
        };
        ProtocolError { kind, status }
    }
}

impl From<ProtocolErrorKind> for ProtocolError {
    fn from(kind: ProtocolErrorKind) -> ProtocolError {
        ProtocolError {
            kind,
            status: kind.status(),
        }
    }
}

/// Misuse of the channel by the application. Nothing was written; each variant says what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UsageError {
    /// No request with this id was ever dispatched to the app (or it is the channel's own
    /// error response). Check the id.
    #[error("unknown request")]
    UnknownRequest,
    /// The request was lost (connection lost, timed out, or its body was malformed) and its
    /// response can no longer be sent. Stop producing for it.
    #[error("request lost")]
    RequestLost,
    /// A head was already sent for this request. Send body data or finish instead.
    #[error("response head already sent")]
    HeadAlreadySent,
    /// Body data or finish before the head. Send the head first.
    #[error("response head not sent yet")]
    HeadNotSent,
    /// The response is finished (whether or not it has left the queue). Nothing more can be
    /// sent for this request.
    #[error("response already finished")]
    AlreadyFinished,
    /// A status outside 100..=599 (RFC 9110 §15), a 1xx as the final head or a final status as an
    /// informational one, or `101` (protocol switching is not supported).
    #[error("invalid status code for this response")]
    InvalidStatus,
    /// A header name that is not a token, or a value with CR, LF or NUL. Fix the header.
    #[error("invalid response header")]
    InvalidHeader,
    /// The app set `Transfer-Encoding`, or `Content-Length` on a 1xx or 204 (RFC 9110 §8.6):
    /// the channel owns the framing. Set `Content-Length` only where a body may follow.
    #[error("the channel owns the framing headers")]
    FramingHeader,
    /// A 2xx answer to `CONNECT`, which would turn the connection into a tunnel: the channel
    /// does not tunnel. Answer with an error status.
    #[error("tunnels (a 2xx to CONNECT) are not supported")]
    Unsupported,
    /// More body bytes than the response's `Content-Length`. Send at most the declared length.
    #[error("body longer than Content-Length")]
    BodyTooLong,
    /// Finish with fewer body bytes than the response's `Content-Length`. Send the rest, or
    /// abort.
    #[error("body shorter than Content-Length")]
    BodyTooShort,
    /// A producer is already registered for this request. Unregister it first.
    #[error("a producer is already registered")]
    ProducerAlreadyRegistered,
    /// A command of the other role: `SendRequest` on a server channel, `SendHead` or
    /// `SendInformational` on a client connection.
    #[error("command not for this role")]
    WrongRole,
    /// A request head the client cannot write: an HTTP/1.1 request needs one `Host`, a method
    /// that is a token, a target of visible ASCII; and no framing field (the head's `body`
    /// says the framing). Fix the head.
    #[error("invalid request head")]
    InvalidRequest,
    /// A request while another is in flight on the connection: a client connection carries
    /// one exchange at a time (no pipelining upstream). Wait for the response's end.
    #[error("connection busy")]
    Busy,
    /// Body data refused because the send buffer is full. Wait for `Producing`.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Why body data could not be accepted now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendError {
    /// The transport is blocked and the send buffer is at `send_buffer_bytes_max`. Stop sending
    /// until the producer is `Producing` again.
    #[error("send buffer full")]
    Blocked,
}
