//! The channel's one way in ([`Input`]) and one way out ([`Output`]), and what crosses them.
//!
//! Application actions are inputs too, so a run is fully described by its input log: the
//! trace recorder and replays need nothing else.

use std::fmt;

use bytes::Bytes;

use crate::error::ProtocolError;
use crate::message::{BodyLength, RequestHead, ResponseHead};
use crate::time::Instant;

/// Identifies one request on a channel. Opaque: the channel makes them, apps compare and
/// order them. The requests of a connection are ordered by arrival, and
/// [`sequence`](RequestId::sequence) numbers them 0, 1, 2, ... on every protocol (an HTTP/2
/// stream id is not a request id).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(u64);

impl RequestId {
    /// The request's place in its connection's arrival order, from 0.
    pub const fn sequence(self) -> u64 {
        self.0
    }

    /// The id of the connection's `sequence`-th request (from 0). For tests, traces and apps
    /// that index their requests; the channel never accepts an id it did not hand out.
    pub const fn from_sequence(sequence: u64) -> RequestId {
        RequestId(sequence)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "req#{}", self.0)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Who is on the two ends of a connection (Twisted's `getPeer` / `getHost` / `isSecure`). The
/// driver learns it at accept and hands it to the app
/// (`twine_driver::App::on_connect`); the engine itself never needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: std::net::SocketAddr,
    /// Our address the client connected to.
    pub local: std::net::SocketAddr,
    /// The connection is TLS.
    pub secure: bool,
}

/// A connection of either role as its driver sees it: the one loop in `twine-driver` runs a
/// server [`Channel`](crate::Channel) and a [`ClientConnection`](crate::ClientConnection)
/// alike. See the crate documentation for the run loop.
pub trait Connection {
    /// Feeds one input; `Err` only for an app command the connection refuses.
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), crate::UsageError>;
    /// The next output, in order.
    fn poll_output(&mut self) -> Option<Output>;
    /// Hands every output there is to `each`, in order: what calling
    /// [`Connection::poll_output`] until `None` gives, for a driver's hot path (a connection
    /// that chooses its protocol at run time dispatches once for all of them, not per output).
    fn drain_outputs(&mut self, mut each: impl FnMut(Output))
    where
        Self: Sized,
    {
        while let Some(output) = self.poll_output() {
            each(output);
        }
    }
    /// When to feed `Input::Timeout` next.
    fn poll_timeout(&self) -> Option<Instant>;
    /// How many bytes the driver may read now.
    fn recv_window(&self) -> usize;
    /// How long the bytes handed out before a graceful [`Output::Close`] may take to leave
    /// (Twisted's `abortTimeout`); past it the driver aborts the connection. The connection's
    /// own policy (a server's `Timeouts::abort`, a client's `ClientTimeouts::send_stall`),
    /// timed by the driver because only the driver sees the flush end.
    fn close_flush_timeout(&self) -> crate::Duration;
    /// Gives back the buffers a connection keeps from one request to the next (so that a busy
    /// connection does not allocate them per request), if nothing is in flight; a busy
    /// connection keeps them. The driver calls this once a connection has been idle a while.
    /// Nothing the peer or the app can see changes, so it is not an input.
    fn release_idle_memory(&mut self) {}
}

impl Connection for crate::Channel {
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), crate::UsageError> {
        crate::Channel::handle_input(self, input)
    }
    fn poll_output(&mut self) -> Option<Output> {
        crate::Channel::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        crate::Channel::poll_timeout(self)
    }
    fn recv_window(&self) -> usize {
        crate::Channel::recv_window(self)
    }
    fn close_flush_timeout(&self) -> crate::Duration {
        self.config().timeouts.abort
    }
    fn release_idle_memory(&mut self) {
        crate::Channel::release_idle_memory(self);
    }
}

impl Connection for crate::ClientConnection {
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), crate::UsageError> {
        crate::ClientConnection::handle_input(self, input)
    }
    fn poll_output(&mut self) -> Option<Output> {
        crate::ClientConnection::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        crate::ClientConnection::poll_timeout(self)
    }
    fn recv_window(&self) -> usize {
        crate::ClientConnection::recv_window(self)
    }
    fn close_flush_timeout(&self) -> crate::Duration {
        self.config().timeouts.send_stall
    }
}

/// Everything that can happen to a channel.
#[derive(Debug)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Bytes read from the peer.
    Received {
        /// The current time.
        now: Instant,
        /// The bytes, at most [`Channel::recv_window`](crate::Channel::recv_window) of them.
        bytes: &'a [u8],
    },
    /// The peer shut down its write side (a read returned 0).
    ReceivedEof {
        /// The current time.
        now: Instant,
    },
    /// The transport's send buffer filled up or drained.
    Transport {
        /// The current time.
        now: Instant,
        /// The new state.
        state: TransportState,
    },
    /// The connection failed: a reset, or a read or write error. Everything in flight is lost.
    ConnectionLost {
        /// The current time.
        now: Instant,
    },
    /// The deadline from [`Channel::poll_timeout`](crate::Channel::poll_timeout) passed.
    Timeout {
        /// The current time.
        now: Instant,
    },
    /// The application acts.
    App {
        /// The current time.
        now: Instant,
        /// What it does.
        command: AppCommand,
    },
}

impl Input<'_> {
    /// The time the input carries.
    pub fn now(&self) -> Instant {
        match *self {
            Input::Received { now, .. }
            | Input::ReceivedEof { now }
            | Input::Transport { now, .. }
            | Input::ConnectionLost { now }
            | Input::Timeout { now }
            | Input::App { now, .. } => now,
        }
    }
}

/// The state of the transport's send side, as the driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportState {
    /// A write did not complete: the peer is not reading fast enough. Producers are paused.
    /// Reported again while blocked each time the socket takes some bytes (progress), which
    /// pushes the send stall deadline back.
    Blocked,
    /// Everything handed to the driver has been written.
    Writable,
}

/// What the application tells the connection about one request.
///
/// The commands are shared by both roles (h11's single vocabulary): on a server
/// [`Channel`](crate::Channel) `SendHead`/`SendBody`/`Finish` write the response and `Consume`
/// grants credit for the request body; on a [`ClientConnection`](crate::ClientConnection)
/// `SendRequest`/`SendBody`/`Finish` write the request and `Consume` grants credit for the
/// response body. A command of the other role is refused with `UsageError::WrongRole`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppCommand {
    /// Grant credit for `bytes` more request-body bytes. Body chunks are delivered only against
    /// credit, which is how request-body backpressure and lazy `100 Continue` work.
    Consume {
        /// The request.
        request: RequestId,
        /// More bytes the app will take.
        bytes: u64,
    },
    /// Send an informational (1xx) response. Dropped for HTTP/1.0 clients.
    SendInformational {
        /// The request.
        request: RequestId,
        /// A head with a status in 100..=199, except 101.
        head: ResponseHead,
    },
    /// Send the final response head.
    SendHead {
        /// The request.
        request: RequestId,
        /// The head.
        head: ResponseHead,
    },
    /// Send response body bytes.
    SendBody {
        /// The request.
        request: RequestId,
        /// The bytes; empty is allowed and sends nothing.
        data: Bytes,
    },
    /// Send several buffers of response body as one write (Twisted's `writeSequence`): one
    /// chunk on a chunked body, one length check against `Content-Length`, one backpressure
    /// check, so either every part is accepted or none is. Empty parts are skipped; nothing is
    /// copied.
    SendBodyParts {
        /// The request.
        request: RequestId,
        /// The buffers, in order.
        parts: Vec<Bytes>,
    },
    /// The response is complete.
    Finish {
        /// The request.
        request: RequestId,
    },
    /// A whole response at once: `SendHead`, then `SendBody` unless `body` is empty, then
    /// `Finish`, as one input. Most responses are known whole when they are answered (hyper's
    /// service returns a complete `Response`); one input instead of three lets the engine
    /// settle its state once. Refused as the first of the three that would be refused: a head
    /// already taken stays sent.
    Respond {
        /// The request.
        request: RequestId,
        /// The final head (not 1xx).
        head: ResponseHead,
        /// The whole body (empty: none is sent).
        body: Bytes,
    },
    /// Give up on the response, in any state: before its head, in the middle of its body,
    /// while its producer is paused or a pull is outstanding, while its request body is still
    /// arriving. At the front of the queue the connection is closed at once, as web2's
    /// `abortConnection`: output not yet written is discarded and the client sees a truncated
    /// response (a reset where the transport can send one). Behind other responses, those
    /// finish first and the connection closes where this one would start. Requests after it are
    /// lost. A response already complete and retired cannot be aborted
    /// (`UsageError::AlreadyFinished`).
    Abort {
        /// The request.
        request: RequestId,
    },
    /// End the connection gracefully at this request (Twisted's `loseConnection`): everything
    /// already sent is written, then the connection closes (FIN, then the lingering close).
    ///
    /// - Responses before this one finish first: a close never cuts another response short.
    /// - This request's response ends where it stands. Not started: nothing of it is written
    ///   (Twisted's test_losingConnection). Complete: the client gets all of it. Part-way: the
    ///   client sees it cut short (a close-delimited body is thereby complete). Later commands
    ///   for it are refused with `UsageError::RequestLost`.
    /// - Requests after it are not answered: those already dispatched are reported
    ///   [`Event::Lost`], the rest are never read. Twisted drops them silently too; reporting
    ///   them lets the app stop work nobody will see, and the client, seeing the connection end
    ///   after the last response, knows they were not processed and may retry them (RFC 9112
    ///   §9.3.2).
    /// - On a request whose response is already complete and retired, the connection closes
    ///   once what was written is flushed, and every later request is treated as above.
    ///
    /// To send a complete response and then close, put `Connection: close` on its head
    /// instead: the client is told, and the connection ends when the response does.
    Close {
        /// The request.
        request: RequestId,
    },
    /// Register a producer for the response body. The channel reports its state changes as
    /// [`Output::Producer`].
    RegisterProducer {
        /// The request.
        request: RequestId,
        /// Push (produces until paused) or pull (produces one chunk per [`Event::Pull`]).
        kind: ProducerKind,
    },
    /// Unregister the request's producer.
    UnregisterProducer {
        /// The request.
        request: RequestId,
    },
    /// The server is shutting down: finish the requests already received, take no new ones,
    /// then close. On a client connection: finish the exchange in flight, then close.
    Drain,
    /// Client role: send a request. It gets the connection's next id
    /// ([`ClientConnection::next_request_id`](crate::ClientConnection::next_request_id)). The
    /// head's `body` says how the body is framed on the wire (`Known(n)`: `Content-Length: n`,
    /// `Chunked`: `Transfer-Encoding: chunked`); the head must not carry those fields itself.
    SendRequest {
        /// The head. Its `version` is not used: the client always speaks HTTP/1.1.
        head: RequestHead,
    },
}

/// The two producer kinds of Twisted's model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerKind {
    /// Produces continuously until paused (`IPushProducer`).
    Push,
    /// Produces one chunk each time it is asked (`IPullProducer`).
    Pull,
}

/// A producer's state (Twisted's `pauseProducing` / `resumeProducing` / `stopProducing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerState {
    /// May produce.
    Producing,
    /// Must not produce until `Producing` again.
    Paused,
    /// Will never be asked again: the response ended or the request was lost.
    Stopped,
}

/// Whether the driver should read from the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadState {
    /// Reading is paused: the receive buffer is full, or the client is not reading our
    /// responses while we are idle (Twisted #8868).
    Paused,
    /// Read again.
    Resumed,
}

impl ReadState {
    /// Follows a connection's receive window (reading while it has room), reporting each
    /// change as an output: the one rule every role and protocol derives reading by.
    pub(crate) fn follow(
        &mut self,
        window: usize,
        outputs: &mut std::collections::VecDeque<Output>,
    ) {
        let target = if window > 0 {
            ReadState::Resumed
        } else {
            ReadState::Paused
        };
        if target != *self {
            *self = target;
            outputs.push_back(Output::Reading(target));
        }
    }
}

/// How a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Write what was handed out, then close the socket.
    Graceful,
    /// Close at once, discarding unwritten bytes (a reset where the transport supports one).
    Abort,
}

/// The channel's named timers (STYLE.md item 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// The total time to receive a request head.
    HeaderRead,
    /// Silence while a request body is received.
    BodyRead,
    /// Idle time between requests.
    IdleKeepAlive,
    /// The transport blocked with output pending.
    SendStall,
    /// A lingering close waiting for the peer's FIN.
    Linger,
    /// A graceful close whose output does not flush.
    Abort,
    /// Client role: the time from the end of the request to the response head.
    ResponseHead,
    /// Client role: silence while a response body is received.
    ResponseBodyIdle,
    /// Client role: how long a request with `Expect: 100-continue` waits for the `100` before
    /// its body is sent anyway (RFC 9110 §10.1.1: not indefinitely).
    ExpectContinue,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 9] = [
        Timer::HeaderRead,
        Timer::BodyRead,
        Timer::IdleKeepAlive,
        Timer::SendStall,
        Timer::Linger,
        Timer::Abort,
        Timer::ResponseHead,
        Timer::ResponseBodyIdle,
        Timer::ExpectContinue,
    ];

    /// The snake-case name used in traces.
    pub const fn name(self) -> &'static str {
        match self {
            Timer::HeaderRead => "header_read",
            Timer::BodyRead => "body_read",
            Timer::IdleKeepAlive => "idle_keep_alive",
            Timer::SendStall => "send_stall",
            Timer::Linger => "linger",
            Timer::Abort => "abort",
            Timer::ResponseHead => "response_head",
            Timer::ResponseBodyIdle => "response_body_idle",
            Timer::ExpectContinue => "expect_continue",
        }
    }
}

/// A change to a named timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerChange {
    /// Armed to fire at this deadline. Idle timers that are merely pushed back by activity are
    /// not reported again.
    Set(Instant),
    /// Disarmed before it fired.
    Cancelled,
    /// It fired.
    Fired,
}

/// What the application learns about its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A request head arrived. No body bytes come until the app grants credit.
    Request {
        /// The new request.
        id: RequestId,
        /// Its head.
        head: RequestHead,
    },
    /// Request body bytes, within the credit granted.
    Body {
        /// The request.
        id: RequestId,
        /// The bytes (never empty).
        data: Bytes,
    },
    /// The request body is complete. Every request gets one, right after `Request` when it
    /// has no body.
    BodyEnd {
        /// The request.
        id: RequestId,
    },
    /// For a pull producer: produce one more chunk. The channel asks once the producer may
    /// produce and its last chunk was taken; a driver hands the pull on when the data is
    /// needed, i.e. when everything it was given has been written (Twisted's
    /// `resumeProducing` for an `IPullProducer`), so a pull producer never runs ahead of the
    /// transport.
    Pull {
        /// The request.
        id: RequestId,
    },
    /// The request is lost: the connection closed or timed out, or its body was malformed.
    /// Its response can no longer be sent; commands for it return `UsageError::RequestLost`.
    Lost {
        /// The request.
        id: RequestId,
    },
    /// Client role: the exchange that just ended (`BodyEnd`) left the connection open and
    /// idle, ready for another request. Sent right after `BodyEnd`, in the same input; a
    /// connection that closes instead never sends it.
    Reusable,
    /// Client role: an informational (1xx) response to request `id` arrived.
    Informational {
        /// The request.
        id: RequestId,
        /// The head (status 100..=199, never 101).
        head: ResponseHead,
    },
    /// Client role: the final response head to request `id` arrived. No body bytes come
    /// until the app grants credit; a response without a body gets `BodyEnd` at once.
    Response {
        /// The request.
        id: RequestId,
        /// The head, the framing fields included as received.
        head: ResponseHead,
        /// How its body is framed (RFC 9112 §6.3), `Known(0)` when it has none.
        body: BodyLength,
        /// The version the server answered with (a proxy's `Via` names it).
        version: crate::message::Version,
    },
    /// The peer violated the protocol. A server channel answers with `error.status` and
    /// closes; a client connection closes, and `error.status` is what a gateway answers its
    /// own client (502, or 504 for a response that did not come in time).
    ProtocolError {
        /// The request it concerns, if one had been dispatched.
        id: Option<RequestId>,
        /// What was wrong.
        error: ProtocolError,
    },
}

/// Everything the channel asks of its driver and app, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// Bytes to write, in order.
    Transmit(Bytes),
    /// Something for the application.
    Event(Event),
    /// A producer state transition.
    Producer {
        /// The request whose producer it is.
        request: RequestId,
        /// The new state.
        state: ProducerState,
    },
    /// Pause or resume reading the socket.
    Reading(ReadState),
    /// A named timer changed.
    Timer {
        /// Which timer.
        timer: Timer,
        /// How.
        change: TimerChange,
    },
    /// Shut down our write side once everything before it is written (lingering close: keep
    /// reading and discarding until the peer's FIN or the linger timer).
    ShutdownWrite,
    /// Close the connection. Nothing follows.
    Close(CloseReason),
}
