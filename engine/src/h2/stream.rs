//! The stream state machine of RFC 9113 §5.1, every transition in this file.
//!
//! ```text
//!                          +--------+
//!                  send PP |        | recv PP
//!                 ,--------+  idle  +--------.
//!                /         |        |         \
//!               v          +--------+          v
//!        +----------+          |           +----------+
//!        |          |          | send H /  |          |
//! ,------+ reserved |          | recv H    | reserved +------.
//! |      | (local)  |          |           | (remote) |      |
//! |      +---+------+          v           +------+---+      |
//! |          |             +--------+             |          |
//! |          |     recv ES |        | send ES     |          |
//! |   send H |     ,-------+  open  +-------.     | recv H   |
//! |          |    /        |        |        \    |          |
//! |          v   v         +---+----+         v   v          |
//! |      +----------+          |           +----------+      |
//! |      |   half-  |          |           |   half-  |      |
//! |      |  closed  |          | send R /  |  closed  |      |
//! |      | (remote) |          | recv R    | (local)  |      |
//! |      +----+-----+          |           +-----+----+      |
//! |           |                |                 |           |
//! |           | send ES /      |       recv ES / |           |
//! |           |  send R /      v        send R / |           |
//! |           |  recv R    +--------+   recv R   |           |
//! | send R /  `----------->|        |<-----------'  send R / |
//! | recv R                 | closed |               recv R   |
//! `----------------------->|        |<-----------------------'
//!                          +--------+
//! ```
//!
//! A closed stream remembers how it closed, because what may still arrive on it differs
//! (§5.1, "closed"): after *our* RST_STREAM, frames the peer sent before seeing it are ignored;
//! after *its* RST_STREAM, anything but PRIORITY is a stream error STREAM_CLOSED; after both
//! ends' END_STREAM, DATA or HEADERS is a connection error STREAM_CLOSED, while
//! WINDOW_UPDATE and RST_STREAM may still be in flight and are ignored.
//!
//! Frames that must be *processed* even when ignored (a HEADERS block for HPACK's table,
//! DATA for the connection's flow-control window) are the connection's business: the verdict
//! here is only whether the stream takes the frame.

use super::frame::{ErrorCode, FrameError, StreamId};

/// Where a stream stands (§5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Not yet used.
    Idle,
    /// We sent a PUSH_PROMISE for it.
    ReservedLocal,
    /// The peer sent a PUSH_PROMISE for it.
    ReservedRemote,
    /// Both ends may send.
    Open,
    /// We sent END_STREAM; the peer may still send.
    HalfClosedLocal,
    /// The peer sent END_STREAM; we may still send.
    HalfClosedRemote,
    /// Done, and how.
    Closed(ClosedBy),
}

/// How a stream closed: it decides what may still arrive on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedBy {
    /// Both ends sent END_STREAM.
    EndStream,
    /// We sent RST_STREAM.
    LocalReset,
    /// The peer sent RST_STREAM.
    RemoteReset,
}

/// A frame received on the stream, as far as its state cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// HEADERS (the start of a block; its CONTINUATIONs belong to it).
    Headers {
        /// With END_STREAM.
        end_stream: bool,
    },
    /// DATA.
    Data {
        /// With END_STREAM.
        end_stream: bool,
    },
    /// RST_STREAM.
    RstStream,
    /// WINDOW_UPDATE for the stream.
    WindowUpdate,
    /// PRIORITY.
    Priority,
    /// PUSH_PROMISE reserving this stream.
    PushPromise,
}

/// A frame we send on the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// HEADERS.
    Headers {
        /// With END_STREAM.
        end_stream: bool,
    },
    /// DATA.
    Data {
        /// With END_STREAM.
        end_stream: bool,
    },
    /// RST_STREAM.
    RstStream,
    /// WINDOW_UPDATE for the stream.
    WindowUpdate,
}

/// What the stream makes of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The stream takes it.
    Accept,
    /// Legal, but nothing for the stream to do (it is closed, or the frame is a deprecated
    /// signal).
    Ignore,
}

/// A send the state forbids: a bug in the connection, never the peer's doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IllegalSend {
    /// The state.
    pub state: StreamState,
    /// What was to be sent.
    pub sent: Sent,
}

impl StreamState {
    /// The state after receiving `frame` on stream `id`, and whether the stream takes it; or
    /// the error the frame earns (§5.1, §5.4).
    pub fn recv(self, id: StreamId, frame: Received) -> Result<(StreamState, Verdict), FrameError> {
        use ClosedBy::{EndStream, LocalReset, RemoteReset};
        use Received as R;
        use StreamState as S;
        use Verdict::{Accept, Ignore};
        let connection = |code| Err(FrameError::Connection(code));
        let stream = |code| Err(FrameError::Stream(id, code));
        let closed = |by| S::Closed(by);
        match (self, frame) {
            // Idle: only HEADERS opens it; PRIORITY may name it.
            (S::Idle, R::Headers { end_stream: false }) => Ok((S::Open, Accept)),
            (S::Idle, R::Headers { end_stream: true }) => Ok((S::HalfClosedRemote, Accept)),
            (S::Idle, R::Priority) => Ok((S::Idle, Ignore)),
            (S::Idle, R::PushPromise) => Ok((S::ReservedRemote, Accept)),
            (S::Idle, R::Data { .. } | R::RstStream | R::WindowUpdate) => {
                connection(ErrorCode::ProtocolError)
            }

            // Reserved (local): the peer may only reset, reprioritise or grant window.
            (S::ReservedLocal, R::RstStream) => Ok((closed(RemoteReset), Accept)),
            (S::ReservedLocal, R::WindowUpdate) => Ok((S::ReservedLocal, Accept)),
            (S::ReservedLocal, R::Priority) => Ok((S::ReservedLocal, Ignore)),
            (S::ReservedLocal, R::Headers { .. } | R::Data { .. } | R::PushPromise) => {
                connection(ErrorCode::ProtocolError)
            }

            // Reserved (remote): the peer's HEADERS starts its half.
            (S::ReservedRemote, R::Headers { end_stream: false }) => {
                Ok((S::HalfClosedLocal, Accept))
            }
            (S::ReservedRemote, R::Headers { end_stream: true }) => Ok((closed(EndStream), Accept)),
            (S::ReservedRemote, R::RstStream) => Ok((closed(RemoteReset), Accept)),
            (S::ReservedRemote, R::Priority) => Ok((S::ReservedRemote, Ignore)),
            (S::ReservedRemote, R::Data { .. } | R::WindowUpdate | R::PushPromise) => {
                connection(ErrorCode::ProtocolError)
            }

            // Open: anything; END_STREAM half-closes it.
            (S::Open, R::Headers { end_stream } | R::Data { end_stream }) => {
                let next = if end_stream {
                    S::HalfClosedRemote
                } else {
                    S::Open
                };
                Ok((next, Accept))
            }
            (S::Open, R::RstStream) => Ok((closed(RemoteReset), Accept)),
            (S::Open, R::WindowUpdate) => Ok((S::Open, Accept)),
            (S::Open, R::Priority) => Ok((S::Open, Ignore)),
            (S::Open, R::PushPromise) => connection(ErrorCode::ProtocolError),

            // Half-closed (local): the peer still sends.
            (S::HalfClosedLocal, R::Headers { end_stream } | R::Data { end_stream }) => {
                let next = if end_stream {
                    closed(EndStream)
                } else {
                    S::HalfClosedLocal
                };
                Ok((next, Accept))
            }
            (S::HalfClosedLocal, R::RstStream) => Ok((closed(RemoteReset), Accept)),
            (S::HalfClosedLocal, R::WindowUpdate) => Ok((S::HalfClosedLocal, Accept)),
            (S::HalfClosedLocal, R::Priority) => Ok((S::HalfClosedLocal, Ignore)),
            (S::HalfClosedLocal, R::PushPromise) => connection(ErrorCode::ProtocolError),

            // Half-closed (remote): the peer is done sending.
            (S::HalfClosedRemote, R::Headers { .. } | R::Data { .. }) => {
                stream(ErrorCode::StreamClosed)
            }
            (S::HalfClosedRemote, R::RstStream) => Ok((closed(RemoteReset), Accept)),
            (S::HalfClosedRemote, R::WindowUpdate) => Ok((S::HalfClosedRemote, Accept)),
            (S::HalfClosedRemote, R::Priority) => Ok((S::HalfClosedRemote, Ignore)),
            (S::HalfClosedRemote, R::PushPromise) => connection(ErrorCode::ProtocolError),

            // Closed by our reset: what the peer sent before seeing it is ignored.
            (
                S::Closed(LocalReset),
                R::Headers { .. } | R::Data { .. } | R::RstStream | R::WindowUpdate | R::Priority,
            ) => Ok((closed(LocalReset), Ignore)),
            (S::Closed(LocalReset), R::PushPromise) => connection(ErrorCode::ProtocolError),

            // Closed by the peer's reset: it knows; only PRIORITY may follow. A second reset
            // is ignored, never answered with one (§5.4.2).
            (S::Closed(RemoteReset), R::Priority | R::RstStream) => {
                Ok((closed(RemoteReset), Ignore))
            }
            (S::Closed(RemoteReset), R::Headers { .. } | R::Data { .. } | R::WindowUpdate) => {
                stream(ErrorCode::StreamClosed)
            }
            (S::Closed(RemoteReset), R::PushPromise) => connection(ErrorCode::ProtocolError),

            // Closed by both ends' END_STREAM: no more data or headers; a late WINDOW_UPDATE
            // or RST_STREAM may have crossed our END_STREAM.
            (S::Closed(EndStream), R::Headers { .. } | R::Data { .. }) => {
                connection(ErrorCode::StreamClosed)
            }
            (S::Closed(EndStream), R::RstStream | R::WindowUpdate | R::Priority) => {
                Ok((closed(EndStream), Ignore))
            }
            (S::Closed(EndStream), R::PushPromise) => connection(ErrorCode::ProtocolError),
        }
    }

    /// The state after we send `frame`, or the send the state forbids.
    pub fn send(self, frame: Sent) -> Result<StreamState, IllegalSend> {
        use ClosedBy::{EndStream, LocalReset, RemoteReset};
        use Sent as T;
        use StreamState as S;
        let illegal = Err(IllegalSend {
            state: self,
            sent: frame,
        });
        match (self, frame) {
            (S::Idle, T::Headers { end_stream: false }) => Ok(S::Open),
            (S::Idle, T::Headers { end_stream: true }) => Ok(S::HalfClosedLocal),
            (S::Idle, T::Data { .. } | T::RstStream | T::WindowUpdate) => illegal,

            (S::ReservedLocal, T::Headers { end_stream: false }) => Ok(S::HalfClosedRemote),
            (S::ReservedLocal, T::Headers { end_stream: true }) => Ok(S::Closed(EndStream)),
            (S::ReservedLocal, T::RstStream) => Ok(S::Closed(LocalReset)),
            (S::ReservedLocal, T::Data { .. } | T::WindowUpdate) => illegal,

            (S::ReservedRemote, T::RstStream) => Ok(S::Closed(LocalReset)),
            (S::ReservedRemote, T::WindowUpdate) => Ok(S::ReservedRemote),
            (S::ReservedRemote, T::Headers { .. } | T::Data { .. }) => illegal,

            (S::Open, T::Headers { end_stream } | T::Data { end_stream }) => Ok(if end_stream {
                S::HalfClosedLocal
            } else {
                S::Open
            }),
            (S::Open, T::RstStream) => Ok(S::Closed(LocalReset)),
            (S::Open, T::WindowUpdate) => Ok(S::Open),

            (S::HalfClosedLocal, T::RstStream) => Ok(S::Closed(LocalReset)),
            (S::HalfClosedLocal, T::WindowUpdate) => Ok(S::HalfClosedLocal),
            (S::HalfClosedLocal, T::Headers { .. } | T::Data { .. }) => illegal,

            (S::HalfClosedRemote, T::Headers { end_stream } | T::Data { end_stream }) => {
                Ok(if end_stream {
                    S::Closed(EndStream)
                } else {
                    S::HalfClosedRemote
                })
            }
            (S::HalfClosedRemote, T::RstStream) => Ok(S::Closed(LocalReset)),
            // The peer sends nothing more: no window to grant, but harmless.
            (S::HalfClosedRemote, T::WindowUpdate) => Ok(S::HalfClosedRemote),

            (
                S::Closed(EndStream | LocalReset | RemoteReset),
                T::Headers { .. } | T::Data { .. } | T::RstStream | T::WindowUpdate,
            ) => illegal,
        }
    }

    /// Counts against `SETTINGS_MAX_CONCURRENT_STREAMS` (§5.1.2: open or half-closed).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            StreamState::Open | StreamState::HalfClosedLocal | StreamState::HalfClosedRemote
        )
    }
}
