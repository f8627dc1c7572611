//! What a trace records, as types: one enum per source (the scripted client, the server's
//! engine and driver, the fault injectors, the checkers), each with `Display` for the text
//! form of the trace. Checkers, the command line and the catalogue match these variants; none
//! of them reads a rendered line back.
//!
//! This module imports only `escape` of the harness, so every other module can use it.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize, Serializer};
use twine_engine::{
    CloseReason, Method, ProducerKind, ProducerState, ProtocolErrorKind, ReadState, RequestId,
    Timer, TimerChange, TransportState, UsageError, Version,
};

/// One random fault decision: the `n`th decision point on connection `conn`. Every point where
/// a swarm fault may fire is numbered, fired or not, so a run's fault schedule is the set of
/// decisions that fired, and a subset of it can be replayed (that is how a schedule shrinks).
pub type Decision = (u32, u64);

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Event {
    /// A knob of the run (seed, faults chosen, config), printed first.
    Knob {
        /// The knob.
        name: Box<str>,
        /// Its value, for people: nothing reads it back.
        value: Box<str>,
    },
    /// The client wrote these bytes (one segment).
    ClientSent {
        /// Exactly.
        #[serde(serialize_with = "escaped")]
        bytes: Bytes,
    },
    /// The client read these bytes.
    ClientReceived {
        /// Exactly.
        #[serde(serialize_with = "escaped")]
        bytes: Bytes,
    },
    /// Something the client did or saw.
    Client {
        /// What.
        event: ClientEvent,
    },
    /// An engine input or output, or the driver's socket.
    Server {
        /// What.
        event: ServerEvent,
    },
    /// A fault fired.
    Fault {
        /// Which.
        fault: Fault,
        /// The numbered decision that let it fire, for swarm faults.
        decision: Option<Decision>,
    },
    /// A checker's finding.
    Violation {
        /// What (boxed: a finding is rare, and every entry is as large as the largest).
        violation: Box<Violation>,
    },
    /// In a proxy run: an engine input or output of the origin's connection `conn` (`u0`,
    /// `u1`, ... in the order the origin accepted them).
    Upstream {
        /// The origin's connection number (`origin_conn` in JSON: the entry's own `conn` is
        /// the client connection's).
        #[serde(rename = "origin_conn")]
        conn: u32,
        /// What.
        event: ServerEvent,
    },
    /// In a proxy run: an engine input or output of the proxy's own client connection `conn`
    /// to the origin (`p0`, `p1`, ... in the order the proxy opened them).
    ProxyClient {
        /// The proxy's upstream connection number (`proxy_conn` in JSON).
        #[serde(rename = "proxy_conn")]
        conn: u32,
        /// What.
        event: ServerEvent,
    },
    /// In a proxy run with a scripted origin: the origin read these bytes from the proxy.
    UpstreamReceived {
        /// The origin's connection number (`origin_conn` in JSON).
        #[serde(rename = "origin_conn")]
        conn: u32,
        /// Exactly.
        #[serde(serialize_with = "escaped")]
        bytes: Bytes,
    },
    /// In a proxy run with a scripted origin: the origin wrote these bytes to the proxy.
    UpstreamSent {
        /// The origin's connection number (`origin_conn` in JSON).
        #[serde(rename = "origin_conn")]
        conn: u32,
        /// Exactly.
        #[serde(serialize_with = "escaped")]
        bytes: Bytes,
    },
}

impl Event {
    /// A client event.
    pub fn client(event: ClientEvent) -> Event {
        Event::Client { event }
    }

    /// A server event.
    pub fn server(event: ServerEvent) -> Event {
        Event::Server { event }
    }

    /// A fault that no numbered decision chose (a scripted fault, the network's own).
    pub fn fault(fault: Fault) -> Event {
        Event::Fault {
            fault,
            decision: None,
        }
    }

    /// The server event, if this is one.
    pub fn as_server(&self) -> Option<&ServerEvent> {
        match self {
            Event::Server { event } => Some(event),
            _ => None,
        }
    }

    /// The client event, if this is one.
    pub fn as_client(&self) -> Option<&ClientEvent> {
        match self {
            Event::Client { event } => Some(event),
            _ => None,
        }
    }

    /// The fault, if this is one.
    pub fn as_fault(&self) -> Option<&Fault> {
        match self {
            Event::Fault { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The column the text form shows for this event's source.
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            Event::Knob { .. } => "#  ",
            Event::ClientSent { .. } => "c→s",
            Event::ClientReceived { .. } => "s→c",
            Event::Client { .. } => "c  ",
            Event::Server { .. } => "s  ",
            Event::Fault { .. } => "!  ",
            Event::Violation { .. } => "✗  ",
            Event::Upstream { .. } => "u  ",
            Event::ProxyClient { .. } => "p  ",
            Event::UpstreamReceived { .. } => "p→u",
            Event::UpstreamSent { .. } => "u→p",
        }
    }
}

/// The event's detail, as the text form shows it after its source column.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Knob { name, value } => write!(f, "{name} = {value}"),
            Event::ClientSent { bytes } | Event::ClientReceived { bytes } => {
                f.write_str(&crate::escape::escape(bytes))
            }
            Event::Client { event } => event.fmt(f),
            Event::Server { event } => event.fmt(f),
            Event::Fault { fault, .. } => fault.fmt(f),
            Event::Violation { violation } => violation.fmt(f),
            Event::Upstream { conn, event } => write!(f, "u{conn} {event}"),
            Event::ProxyClient { conn, event } => write!(f, "p{conn} {event}"),
            Event::UpstreamReceived { conn, bytes } | Event::UpstreamSent { conn, bytes } => {
                write!(f, "u{conn} {}", crate::escape::escape(bytes))
            }
        }
    }
}

/// What a scripted client did or saw, besides bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "error", rename_all = "snake_case")]
pub enum ClientEvent {
    /// Connected.
    Connected,
    /// The connection could not be made.
    ConnectFailed(#[serde(serialize_with = "display")] std::io::ErrorKind),
    /// Shut down its write side: a FIN.
    ShutdownWrite,
    /// The shutdown failed.
    ShutdownWriteFailed(#[serde(serialize_with = "display")] std::io::ErrorKind),
    /// A second shutdown: turmoil refuses it and sends nothing.
    ShutdownWriteAgain,
    /// Reset the connection (dropped the socket unread).
    Reset,
    /// Read the server's FIN.
    Eof,
    /// A read failed.
    ReadError(#[serde(serialize_with = "display")] std::io::ErrorKind),
    /// A write failed.
    WriteError(#[serde(serialize_with = "display")] std::io::ErrorKind),
    /// Nothing left to read, write or wait for.
    Stuck,
    /// Waiting for bytes that can no longer arrive.
    GaveUp,
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Connected => f.write_str("connected"),
            ClientEvent::ConnectFailed(kind) => write!(f, "connect failed: {kind}"),
            ClientEvent::ShutdownWrite => f.write_str("shutdown write (FIN)"),
            ClientEvent::ShutdownWriteFailed(kind) => write!(f, "shutdown write failed: {kind}"),
            ClientEvent::ShutdownWriteAgain => f.write_str("shutdown write again: nothing sent"),
            ClientEvent::Reset => f.write_str("reset"),
            ClientEvent::Eof => f.write_str("EOF"),
            ClientEvent::ReadError(kind) => write!(f, "read error: {kind}"),
            ClientEvent::WriteError(kind) => write!(f, "write error: {kind}"),
            ClientEvent::Stuck => f.write_str("stuck: nothing to read, write or wait for"),
            ClientEvent::GaveUp => f.write_str("gave up waiting: nothing more can arrive"),
        }
    }
}

/// An engine input or output, or the driver's socket. Bytes are not repeated here (the client
/// side records them exactly): the server side records sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The driver accepted the connection.
    Accepted,
    /// Input: bytes read.
    Read {
        /// How many.
        bytes: usize,
    },
    /// Input: the peer's FIN.
    ReadEof,
    /// Input: the transport blocked or became writable.
    Transport {
        /// Which.
        #[serde(serialize_with = "lower_debug")]
        state: TransportState,
    },
    /// Input: still blocked, but the socket took some bytes (progress, not a new block).
    TransportStillBlocked,
    /// Input: the connection was lost (a read or write error).
    ConnectionLost,
    /// Input: an app command.
    App {
        /// Which.
        command: AppAction,
    },
    /// An app command the engine refused.
    AppRefused {
        /// Which.
        command: AppAction,
        /// Why.
        #[serde(serialize_with = "display")]
        error: UsageError,
    },
    /// Output: bytes to write.
    Write {
        /// How many.
        bytes: usize,
    },
    /// Output: a request head.
    Request {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
        /// Its line.
        #[serde(flatten)]
        line: Box<RequestLine>,
    },
    /// Output: request body bytes.
    Body {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
        /// How many.
        bytes: usize,
    },
    /// Output: the request body ended.
    BodyEnd {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
    },
    /// Output: a pull producer is asked for data.
    Pull {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
    },
    /// Output: the request was lost (connection gone or timed out before it was answered).
    Lost {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
    },
    /// Output: the peer broke the protocol.
    ProtocolError {
        /// The request it concerns, if any.
        #[serde(serialize_with = "display_option")]
        id: Option<RequestId>,
        /// What was wrong.
        #[serde(serialize_with = "lower_debug")]
        kind: ProtocolErrorKind,
        /// The automatic response's status.
        status: u16,
    },
    /// Output, client role: an informational (1xx) response to a request.
    Informational {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
        /// Its status.
        status: u16,
    },
    /// Output, client role: the final response head to a request.
    Response {
        /// The request.
        #[serde(serialize_with = "display")]
        id: RequestId,
        /// Its status.
        status: u16,
    },
    /// Output, client role: the exchange that ended left the connection open and idle.
    Reusable,
    /// Output: an engine event this harness does not know yet.
    OtherEvent {
        /// Its debug form, for people.
        debug: String,
    },
    /// Output: a producer moved.
    Producer {
        /// Whose.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// To what.
        #[serde(serialize_with = "lower_debug")]
        state: ProducerState,
    },
    /// Output: reading paused or resumed.
    Reading {
        /// Which.
        #[serde(serialize_with = "lower_debug")]
        state: ReadState,
    },
    /// Output: a named timer changed.
    Timer {
        /// Which.
        #[serde(serialize_with = "timer_name")]
        timer: Timer,
        /// How.
        #[serde(serialize_with = "timer_change")]
        change: TimerChange,
    },
    /// Output: shut down the write side.
    ShutdownWrite,
    /// Output: close.
    Close {
        /// Graceful or abort.
        #[serde(serialize_with = "lower_debug")]
        reason: CloseReason,
    },
    /// The driver closed the socket gracefully (FIN).
    SocketClosed,
    /// The driver aborted the socket.
    SocketAborted,
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::Accepted => f.write_str("accepted"),
            ServerEvent::Read { bytes } => write!(f, "read {bytes} bytes"),
            ServerEvent::ReadEof => f.write_str("read EOF"),
            ServerEvent::Transport { state } => write!(f, "transport {}", lower(state)),
            ServerEvent::TransportStillBlocked => {
                f.write_str("transport still blocked, bytes taken")
            }
            ServerEvent::ConnectionLost => f.write_str("connection lost"),
            ServerEvent::App { command } => write!(f, "app {command}"),
            ServerEvent::AppRefused { command, error } => {
                write!(f, "app error: {command} refused: {error}")
            }
            ServerEvent::Write { bytes } => write!(f, "write {bytes} bytes"),
            ServerEvent::Request { id, line } => write!(
                f,
                "event request {id} {:?} {} {}",
                line.method,
                String::from_utf8_lossy(&line.target),
                line.version.as_str()
            ),
            ServerEvent::Body { id, bytes } => write!(f, "event body {id} {bytes} bytes"),
            ServerEvent::BodyEnd { id } => write!(f, "event body end {id}"),
            ServerEvent::Pull { id } => write!(f, "event pull {id}"),
            ServerEvent::Lost { id } => write!(f, "event lost {id}"),
            ServerEvent::ProtocolError { id, kind, status } => match id {
                Some(id) => write!(f, "event protocol error {id}: {kind} ({status})"),
                None => write!(f, "event protocol error: {kind} ({status})"),
            },
            ServerEvent::Informational { id, status } => {
                write!(f, "event informational {id} {status}")
            }
            ServerEvent::Response { id, status } => write!(f, "event response {id} {status}"),
            ServerEvent::Reusable => f.write_str("event reusable"),
            ServerEvent::OtherEvent { debug } => write!(f, "event {debug}"),
            ServerEvent::Producer { request, state } => {
                write!(f, "producer {request} {}", lower(state))
            }
            ServerEvent::Reading { state } => write!(f, "reading {}", lower(state)),
            ServerEvent::Timer { timer, change } => match change {
                TimerChange::Set(at) => write!(f, "timer {} set for {at}", timer.name()),
                TimerChange::Cancelled => write!(f, "timer {} cancelled", timer.name()),
                TimerChange::Fired => write!(f, "timer {} fired", timer.name()),
            },
            ServerEvent::ShutdownWrite => f.write_str("shutdown write"),
            ServerEvent::Close { reason } => write!(f, "close {}", lower(reason)),
            ServerEvent::SocketClosed => f.write_str("socket closed (FIN)"),
            ServerEvent::SocketAborted => f.write_str("socket aborted"),
        }
    }
}

/// A request's line as the server side of the trace records it, boxed in
/// [`ServerEvent::Request`]: a trace holds one entry per event, each as large as the largest
/// variant, so the few large payloads live behind a pointer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestLine {
    /// The method.
    #[serde(serialize_with = "method_str")]
    pub method: Method,
    /// The target, as sent.
    #[serde(serialize_with = "escaped")]
    pub target: Bytes,
    /// The version.
    #[serde(serialize_with = "version_str")]
    pub version: Version,
}

/// What a client-role app asked to send (`AppAction::SendRequest`), boxed like
/// [`RequestLine`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SentRequest {
    /// The method.
    #[serde(serialize_with = "method_str")]
    pub method: Method,
    /// The target.
    #[serde(serialize_with = "escaped")]
    pub target: Bytes,
}

/// An app command as the trace shows it: the request and sizes, not the payloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AppAction {
    /// Credit for request body bytes.
    Consume {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// How many bytes.
        bytes: u64,
    },
    /// An informational (1xx) response.
    Informational {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// Its status.
        status: u16,
    },
    /// The final response head.
    Head {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// Its status.
        status: u16,
    },
    /// Response body bytes.
    Body {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// How many.
        bytes: usize,
    },
    /// Response body bytes in several buffers, as one write.
    BodyParts {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// How many buffers.
        parts: usize,
        /// How many bytes in all.
        bytes: usize,
    },
    /// The response is complete.
    Finish {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
    },
    /// A whole response in one command: head, body, finish.
    Respond {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// Its status.
        status: u16,
        /// Body bytes.
        bytes: usize,
    },
    /// End the connection gracefully at this request.
    Close {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
    },
    /// Abort the response (and the connection).
    Abort {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
    },
    /// Register a producer.
    RegisterProducer {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
        /// Push or pull.
        #[serde(serialize_with = "lower_debug")]
        kind: ProducerKind,
    },
    /// Unregister the producer.
    UnregisterProducer {
        /// The request.
        #[serde(serialize_with = "display")]
        request: RequestId,
    },
    /// Finish what is in flight, then close (shutdown).
    Drain,
    /// Client role: send a request.
    SendRequest {
        /// Its method and target.
        #[serde(flatten)]
        request: Box<SentRequest>,
    },
    /// A command this harness does not know yet.
    Other {
        /// Its debug form, for people.
        debug: String,
    },
}

impl fmt::Display for AppAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppAction::Consume { request, bytes } => write!(f, "consume {request} {bytes}"),
            AppAction::Informational { request, status } => {
                write!(f, "informational {request} {status}")
            }
            AppAction::Head { request, status } => write!(f, "head {request} {status}"),
            AppAction::Body { request, bytes } => write!(f, "body {request} {bytes} bytes"),
            AppAction::BodyParts {
                request,
                parts,
                bytes,
            } => write!(f, "body {request} {bytes} bytes in {parts} parts"),
            AppAction::Finish { request } => write!(f, "finish {request}"),
            AppAction::Respond {
                request,
                status,
                bytes,
            } => write!(f, "respond {request} {status} with {bytes} bytes"),
            AppAction::Close { request } => write!(f, "close {request}"),
            AppAction::SendRequest { request } => write!(
                f,
                "send request {:?} {}",
                request.method,
                String::from_utf8_lossy(&request.target)
            ),
            AppAction::Abort { request } => write!(f, "abort {request}"),
            AppAction::RegisterProducer { request, kind } => {
                write!(f, "register {} producer {request}", lower(kind))
            }
            AppAction::UnregisterProducer { request } => write!(f, "unregister producer {request}"),
            AppAction::Drain => f.write_str("drain"),
            AppAction::Other { debug } => f.write_str(debug),
        }
    }
}

/// Which side of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The scripted client.
    Client,
    /// The server.
    Server,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Server => "server",
        })
    }
}

/// A network fault of turmoil's own, applied by the run at a point in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetFault {
    /// Hold messages between client and server (they queue).
    Hold,
    /// Release held messages.
    Release,
    /// Drop everything between them; wedges streams with data in flight (notes/turmoil.md
    /// A2.6), so only the engine's timers can end those connections.
    Partition,
    /// Heal a partition.
    Repair,
    /// Restart the server host: its connections drop (FIN or RST), new ones reach a new server.
    RestartServer,
    /// In a proxy run, restart the origin host behind the proxy.
    RestartOrigin,
    /// Drain the server, as `twine serve` does on SIGTERM: it stops accepting, and each
    /// connection finishes the requests it has begun, then closes (HTTP/2: GOAWAY with the
    /// last stream taken, and the open streams finish).
    DrainServer,
}

impl fmt::Display for NetFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetFault::Hold => "hold client↔server",
            NetFault::Release => "release client↔server",
            NetFault::Partition => "partition client↔server",
            NetFault::Repair => "repair client↔server",
            NetFault::RestartServer => "restart server",
            NetFault::RestartOrigin => "restart origin",
            NetFault::DrainServer => "drain server (as on SIGTERM)",
        })
    }
}

/// One end of a proxy's upstream link: the proxy's client connection `p<n>` or the origin's
/// server connection `u<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "end", content = "conn", rename_all = "snake_case")]
pub enum LinkEnd {
    /// The proxy's n-th connection to the origin.
    Proxy(u32),
    /// The origin's n-th accepted connection.
    Origin(u32),
}

impl fmt::Display for LinkEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkEnd::Proxy(n) => write!(f, "p{n}"),
            LinkEnd::Origin(n) => write!(f, "u{n}"),
        }
    }
}

/// A fault as it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// A server read returned fewer bytes than it could have.
    ReadCut {
        /// How many it returned.
        bytes: usize,
    },
    /// A server write took fewer bytes than offered (a random decision).
    PartialWrite {
        /// Taken.
        written: usize,
        /// Offered.
        offered: usize,
    },
    /// A server write took fewer bytes than offered: the slow reader's window was full.
    WindowWrite {
        /// Taken.
        written: usize,
        /// Offered.
        offered: usize,
    },
    /// The slow reader's window is full: the server's writes wait.
    WindowFull,
    /// A server read stalls for a while.
    ReadStall {
        /// For how long, in milliseconds.
        millis: u64,
    },
    /// The client's reset reaches the server at this byte offset: unread data discarded.
    ResetAt {
        /// Bytes the server had read.
        byte: u64,
    },
    /// The connection stalls forever at this byte offset.
    StallAt {
        /// Bytes the server had read.
        byte: u64,
    },
    /// The server sees the peer's FIN at this byte offset.
    PeerFinAt {
        /// Bytes the server had read.
        byte: u64,
    },
    /// The client sends slowly: every send dribbled in small pieces, a gap apart.
    SlowSender {
        /// The largest piece.
        bytes_max: usize,
        /// The gap between pieces, in milliseconds.
        gap_millis: u64,
    },
    /// The client gives up: it resets the connection after reading this many bytes.
    GaveUp {
        /// Bytes it had read.
        after_bytes: u64,
    },
    /// A FIN waits until the peer has read enough: turmoil would lose it (notes/turmoil.md).
    FinHeld {
        /// Whose FIN.
        sender: Side,
    },
    /// A read on a proxy's upstream link returned fewer bytes than it could have.
    LinkReadCut {
        /// Which end read.
        end: LinkEnd,
        /// How many it returned.
        bytes: usize,
    },
    /// A write on a proxy's upstream link took fewer bytes than offered.
    LinkPartialWrite {
        /// Which end wrote.
        end: LinkEnd,
        /// Taken.
        written: usize,
        /// Offered.
        offered: usize,
    },
    /// A network fault of turmoil's own.
    Network {
        /// Which.
        fault: NetFault,
    },
    /// The chaos phase is over: faults stop.
    ChaosOver,
}

impl Fault {
    /// The kind's name, as the command line and the explore table give it.
    pub const fn kind_name(&self) -> &'static str {
        match self {
            Fault::ReadCut { .. } | Fault::LinkReadCut { .. } => "read-fragments",
            Fault::PartialWrite { .. } | Fault::LinkPartialWrite { .. } => "write-fragments",
            Fault::WindowWrite { .. } | Fault::WindowFull => "slow-reader",
            Fault::ReadStall { .. } => "read-stalls",
            Fault::ResetAt { .. } => "reset",
            Fault::StallAt { .. } => "stall",
            Fault::PeerFinAt { .. } => "half-close",
            Fault::SlowSender { .. } => "slow-sender",
            Fault::GaveUp { .. } => "give-up",
            Fault::FinHeld { .. } => "fin-held",
            Fault::Network {
                fault: NetFault::Hold | NetFault::Release,
            } => "hold",
            Fault::Network {
                fault: NetFault::Partition | NetFault::Repair,
            } => "partition",
            Fault::Network {
                fault: NetFault::RestartServer | NetFault::RestartOrigin,
            } => "restart",
            Fault::Network {
                fault: NetFault::DrainServer,
            } => "drain",
            Fault::ChaosOver => "chaos-over",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::ReadCut { bytes } => write!(f, "read cut to {bytes} bytes"),
            Fault::PartialWrite { written, offered } => {
                write!(f, "partial write {written} of {offered}")
            }
            Fault::WindowWrite { written, offered } => {
                write!(f, "partial write {written} of {offered}: window")
            }
            Fault::WindowFull => f.write_str("send window full: the peer reads slowly"),
            Fault::ReadStall { millis } => write!(f, "read stalls {millis}ms"),
            Fault::ResetAt { byte } => write!(f, "reset at byte {byte}: unread data discarded"),
            Fault::StallAt { byte } => write!(f, "stall forever at byte {byte}"),
            Fault::PeerFinAt { byte } => write!(f, "peer FIN at byte {byte}"),
            Fault::SlowSender {
                bytes_max,
                gap_millis,
            } => write!(
                f,
                "slow sender: pieces of 1..={bytes_max} bytes, {gap_millis}ms apart"
            ),
            Fault::GaveUp { after_bytes } => {
                write!(f, "client gives up after {after_bytes} bytes: reset")
            }
            Fault::FinHeld { sender } => {
                let reader = match sender {
                    Side::Client => Side::Server,
                    Side::Server => Side::Client,
                };
                write!(
                    f,
                    "FIN held until the {reader} reads: turmoil would lose it"
                )
            }
            Fault::Network { fault } => write!(f, "network: {fault}"),
            Fault::LinkReadCut { end, bytes } => write!(f, "{end} read cut to {bytes} bytes"),
            Fault::LinkPartialWrite {
                end,
                written,
                offered,
            } => write!(f, "{end} partial write {written} of {offered}"),
            Fault::ChaosOver => f.write_str("chaos over: faults stop"),
        }
    }
}

/// Which check a violation broke: what failures are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Something panicked (engine, driver, app or harness).
    Panic,
    /// The simulation did not run to its end (turmoil's time limit or an error).
    Incomplete,
    /// The harness lost a client's log.
    ClientLogs,
    /// Bytes that are no HTTP response.
    Malformed,
    /// A response cut short though the connection ended gracefully.
    CutShort,
    /// Bytes after a response with `Connection: close`.
    AfterClose,
    /// More final responses than requests.
    ExtraResponse,
    /// A response after the request that closes the connection.
    AfterClosingRequest,
    /// An interim response that answers nothing or was not asked for.
    Interim,
    /// A well-behaved client did not finish its script.
    Unfinished,
    /// A well-behaved client waited for the server's close in vain.
    CloseNotSeen,
    /// A well-behaved client's request was not answered in full.
    Unanswered,
    /// The server wrote after shutting down or closing.
    WriteAfterClose,
    /// The server processed a request after rejecting one, shutting down, or sending the
    /// head of the connection's last response.
    ProcessedAfterRejection,
    /// The server kept writing while the transport was blocked.
    WriteWhileBlocked,
    /// More bytes handed out than the send buffer bound allows.
    Backlog,
    /// A connection the server accepted never ended.
    Unended,
    /// A timer was set for the wrong duration, fired unarmed, early or late.
    Timer,
    /// A producer moved illegally or was left unstopped.
    Producer,
    /// Reading paused or resumed twice in a row.
    Reading,
    /// A client connection said it was reusable twice for one exchange, or after its close.
    Reusable,
    /// A `100 Continue` the app never asked for.
    Continue,
    /// A limit enforced off its bound: a request over it served, or one within refused.
    Limit,
    /// A graceful close after a protocol error without a lingering close.
    Lingering,
    /// An app's graceful close (`Close`) that aborted, or lost a request before it.
    AppClose,
    /// The app heard of a request out of turn: before its announcement, twice, body after
    /// the body's end, or anything after its loss.
    RequestEvents,
    /// A scenario's own expectation.
    Expectation,
    /// A proxy's origin received requests other than its clients': one the proxy never
    /// accepted, out of order, or with a body the client never finished.
    Desync,
    /// HTTP/2 DATA past a flow-control window the client had opened, or a frame past the
    /// client's frame size.
    FlowControl,
    /// A final response without a `Date`, or dated before its request reached the engine or
    /// after its bytes left it.
    Date,
    /// Body bytes delivered to an app past the credit it granted.
    Credit,
    /// A command of the proxy's own refused by a connection (the proxy holds each until it
    /// can be taken: `proxy::outbox`).
    ProxyRefused,
    /// The server saw something before its cause: the peer's FIN read before the client
    /// sent it (the driver stamping an input with a clock left behind).
    Causality,
    /// The server took requests other than the client's: a method or target that is not the
    /// next one sent (on HTTP/2, that no stream asked for), a request never sent, or a body
    /// longer than the one sent (a framing bug, the way to request smuggling).
    Framing,
}

impl Check {
    /// The check's name, for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Check::Panic => "panic",
            Check::Incomplete => "incomplete",
            Check::ClientLogs => "client-logs",
            Check::Malformed => "malformed",
            Check::CutShort => "cut-short",
            Check::AfterClose => "after-close",
            Check::ExtraResponse => "extra-response",
            Check::AfterClosingRequest => "after-closing-request",
            Check::Interim => "interim",
            Check::Unfinished => "unfinished",
            Check::CloseNotSeen => "close-not-seen",
            Check::Unanswered => "unanswered",
            Check::WriteAfterClose => "write-after-close",
            Check::ProcessedAfterRejection => "processed-after-rejection",
            Check::WriteWhileBlocked => "write-while-blocked",
            Check::Reusable => "reusable",
            Check::Backlog => "backlog",
            Check::Unended => "unended",
            Check::Timer => "timer",
            Check::Producer => "producer",
            Check::Reading => "reading",
            Check::Continue => "continue",
            Check::Limit => "limit",
            Check::Lingering => "lingering",
            Check::AppClose => "app-close",
            Check::RequestEvents => "request-events",
            Check::Expectation => "expectation",
            Check::Desync => "desync",
            Check::FlowControl => "flow-control",
            Check::Date => "date",
            Check::Credit => "credit",
            Check::ProxyRefused => "proxy-refused",
            Check::Causality => "causality",
            Check::Framing => "framing",
        }
    }
}

/// A checker's finding: which check, on which connection, and what it saw (for people).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The check broken.
    pub check: Check,
    /// The connection, or `None` for the run as a whole.
    pub conn: Option<u32>,
    /// What was seen.
    pub detail: String,
}

impl Violation {
    /// A finding on connection `conn`.
    pub fn on(conn: u32, check: Check, detail: impl Into<String>) -> Violation {
        Violation {
            check,
            conn: Some(conn),
            detail: detail.into(),
        }
    }

    /// A finding about the whole run.
    pub fn run(check: Check, detail: impl Into<String>) -> Violation {
        Violation {
            check,
            conn: None,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.check, self.conn) {
            (Check::Panic, _) => write!(f, "panic: {}", self.detail),
            (_, Some(conn)) => write!(f, "c{conn}: {}", self.detail),
            (_, None) => write!(f, "run: {}", self.detail),
        }
    }
}

/// `Paused` → `paused`.
fn lower(value: &impl fmt::Debug) -> String {
    format!("{value:?}").to_ascii_lowercase()
}

fn display<T: fmt::Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn display_option<T: fmt::Display, S: Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.collect_str(value),
        None => serializer.serialize_none(),
    }
}

fn lower_debug<T: fmt::Debug, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&lower(value))
}

fn method_str<S: Serializer>(value: &Method, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(value.as_bytes()))
}

fn version_str<S: Serializer>(value: &Version, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_str())
}

fn timer_name<S: Serializer>(value: &Timer, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.name())
}

fn timer_change<S: Serializer>(value: &TimerChange, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        TimerChange::Set(at) => serializer.collect_str(&format_args!("set for {at}")),
        TimerChange::Cancelled => serializer.serialize_str("cancelled"),
        TimerChange::Fired => serializer.serialize_str("fired"),
    }
}

/// JSON lines are for tools: every byte, never abbreviated.
fn escaped<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::escape::escape_all(bytes))
}
