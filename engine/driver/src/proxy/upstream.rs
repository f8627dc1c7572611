//! One upstream connection: a task that connects and then runs a
//! [`ClientConnection`](twine_engine::ClientConnection) on the same loop as every server
//! connection ([`run_connection`]), with the [`Bridge`] app that carries commands in from
//! the proxy session that holds its [`UpstreamHandle`] and carries events and producer
//! transitions back.
//!
//! The two sides talk over unbounded channels: what crosses is bounded by the session's
//! credit window (`twine_engine::proxy::FLOW_WINDOW_BYTES`), not by the channels.

use std::future::Future;
use std::io;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use twine_engine::{
    AppCommand, ClientConfig, ClientConnection, CloseReason, Event, Instant, ProducerState,
    RequestId,
};

use super::outbox::Outbox;
use crate::{run_connection, App, Clock, ConnectionEnd, Observer, RunOptions};

/// What the upstream task reports.
#[derive(Debug)]
pub(crate) enum Note {
    /// Connected: requests may be sent.
    Connected,
    /// The connection could not be made (refused, reset, unreachable).
    ConnectFailed,
    /// An event of the client connection.
    Event(Event),
    /// A transition of the request body's producer.
    Producer(ProducerState),
    /// The connection took this many request body bytes.
    Took(u64),
    /// The connection closed: a pooled handle that hears this is not reused. Sent as the
    /// engine closes, before the task flushes and ends, so the pool learns of it at once.
    Closing,
}

/// The proxy side's end of an upstream connection. Dropping it closes the connection: at
/// once if an exchange is in flight (an abort), else gracefully.
#[derive(Debug)]
pub struct UpstreamHandle {
    commands: mpsc::UnboundedSender<AppCommand>,
    notes: mpsc::UnboundedReceiver<Note>,
    /// The sequence number the connection's next request gets.
    next_sequence: u64,
    connected: bool,
    /// The connection said its last exchange left it open and idle (`Event::Reusable`);
    /// cleared by the next request. Only such a connection goes back to the pool.
    reusable: bool,
}

impl UpstreamHandle {
    /// The id the next request on this connection gets.
    pub(crate) fn next_request_id(&self) -> RequestId {
        RequestId::from_sequence(self.next_sequence)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether the task is gone (the connection closed).
    pub(crate) fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    pub(crate) fn send(&mut self, command: AppCommand) {
        if matches!(command, AppCommand::SendRequest { .. }) {
            self.next_sequence += 1;
            self.reusable = false;
        }
        // A closed connection reports its end as a note; a command to it goes nowhere.
        let _ = self.commands.send(command);
    }

    /// The next note, registering `cx` when there is none. `None`: the task ended.
    pub(crate) fn poll_note(&mut self, cx: &mut Context<'_>) -> Poll<Option<Note>> {
        let polled = self.notes.poll_recv(cx);
        match &polled {
            Poll::Ready(Some(Note::Connected)) => self.connected = true,
            Poll::Ready(Some(Note::Event(Event::Reusable))) => self.reusable = true,
            _ => {}
        }
        polled
    }

    /// Whether the connection may carry another request: it said so after its last exchange
    /// (a `BodyEnd` alone is not enough: its close may be on the way, from another thread),
    /// and nothing came since but that (a pooled connection reports only its end).
    pub(crate) fn is_idle_and_open(&mut self) -> bool {
        loop {
            match self.notes.try_recv() {
                Ok(Note::Connected) => self.connected = true,
                Ok(Note::Event(Event::Reusable)) => self.reusable = true,
                Ok(_) => return false,
                Err(mpsc::error::TryRecvError::Empty) => return self.reusable && !self.is_closed(),
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
    }
}

/// The task's ends of a new upstream connection, for whoever spawns it.
#[derive(Debug)]
pub struct UpstreamTask {
    commands: mpsc::UnboundedReceiver<AppCommand>,
    notes: mpsc::UnboundedSender<Note>,
}

/// A handle and the task ends it talks to.
pub(crate) fn upstream_pair() -> (UpstreamHandle, UpstreamTask) {
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (notes_tx, notes_rx) = mpsc::unbounded_channel();
    let handle = UpstreamHandle {
        commands: commands_tx,
        notes: notes_rx,
        next_sequence: 0,
        connected: false,
        reusable: false,
    };
    let task = UpstreamTask {
        commands: commands_rx,
        notes: notes_tx,
    };
    (handle, task)
}

impl UpstreamTask {
    /// Connects with `connect`, then runs the connection until it closes. Returns the stream
    /// and how it ended (`None` when the connection was never made), so the caller can reset
    /// it on an abort where its transport supports that.
    pub async fn run<S, F, O>(
        self,
        connect: F,
        config: ClientConfig,
        clock: Clock,
        observer: &mut O,
    ) -> Option<ConnectionEnd<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
        F: Future<Output = io::Result<S>>,
        O: Observer,
    {
        let stream = match connect.await {
            Ok(stream) => stream,
            Err(_) => {
                let _ = self.notes.send(Note::ConnectFailed);
                return None;
            }
        };
        let _ = self.notes.send(Note::Connected);
        let connection = ClientConnection::new(config, clock.now());
        let mut bridge = Bridge {
            commands: self.commands,
            notes: self.notes,
            outbox: Outbox::default(),
            in_flight: None,
            requests_sent: 0,
            owner_gone: false,
        };
        let options = RunOptions::default();
        let end = run_connection(stream, connection, &mut bridge, clock, observer, options).await;
        Some(end)
    }
}

/// The upstream connection's app: commands from the session in, notes out.
struct Bridge {
    commands: mpsc::UnboundedReceiver<AppCommand>,
    notes: mpsc::UnboundedSender<Note>,
    outbox: Outbox,
    /// The request in flight, from its `SendRequest` to its last event.
    in_flight: Option<RequestId>,
    /// Requests sent so far: the connection numbers them the same way.
    requests_sent: u64,
    owner_gone: bool,
}

impl Bridge {
    fn note(&mut self, note: Note) {
        let _ = self.notes.send(note);
    }

    /// Hands the connection what it can take now, and tells the session how much body it
    /// took. Whether anything was handed over.
    fn hand_over(&mut self, commands: &mut Vec<AppCommand>) -> bool {
        let released = self.outbox.release(commands);
        if released.body_bytes > 0 {
            self.note(Note::Took(released.body_bytes));
        }
        released.any
    }
}

impl App for Bridge {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        if matches!(
            event,
            Event::BodyEnd { .. } | Event::Lost { .. } | Event::ProtocolError { .. }
        ) {
            self.in_flight = None;
        }
        self.note(Note::Event(event));
        self.hand_over(commands);
    }

    fn on_producer(
        &mut self,
        _now: Instant,
        request: RequestId,
        state: ProducerState,
        commands: &mut Vec<AppCommand>,
    ) {
        self.outbox.producer(request, state);
        self.note(Note::Producer(state));
        self.hand_over(commands);
    }

    fn on_close(&mut self, _now: Instant, _reason: CloseReason) {
        self.note(Note::Closing);
    }

    fn produce(&mut self, _now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        self.outbox.between_batches();
        self.hand_over(commands)
    }

    fn poll_wake(
        &mut self,
        cx: &mut Context<'_>,
        _now: Instant,
        commands: &mut Vec<AppCommand>,
    ) -> Poll<()> {
        self.outbox.between_batches();
        while !self.owner_gone {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(command)) => {
                    match command {
                        AppCommand::SendRequest { .. } => {
                            self.in_flight = Some(RequestId::from_sequence(self.requests_sent));
                            self.requests_sent += 1;
                        }
                        // Already abandoned: no second abort when the session lets go.
                        AppCommand::Abort { .. } => self.in_flight = None,
                        _ => {}
                    }
                    self.outbox.push(command);
                }
                Poll::Ready(None) => {
                    // The session let go: abandon an exchange midway, else close quietly.
                    self.owner_gone = true;
                    let close = match self.in_flight.take() {
                        Some(request) => AppCommand::Abort { request },
                        None => AppCommand::Drain,
                    };
                    self.outbox.push(close);
                }
                Poll::Pending => break,
            }
        }
        if self.hand_over(commands) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// How an upstream connection ended, for a spawner that can reset its stream.
pub fn ended_with_abort<S>(end: &Option<ConnectionEnd<S>>) -> bool {
    end.as_ref().is_some_and(|e| e.reason == CloseReason::Abort)
}
