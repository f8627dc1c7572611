//! The trace's view of an engine: a [`TraceObserver`] is the driver's observer for one
//! traced connection (a server connection, the origin's, or the proxy's client role) and
//! writes every engine input and output it sees into the trace, in order, at the driver's
//! `now`.

use twine_driver::Observer;
use twine_engine::{
    AppCommand, Event as EngineEvent, Input, Instant, Output, TransportState, UsageError,
};

use crate::event::{AppAction, Event, RequestLine, SentRequest, ServerEvent};
use crate::pending::{Engine, Pending};

/// Where a traced engine's events go.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sink {
    /// A server connection, named in the trace by its client's port.
    Server(u16),
    /// The origin's n-th connection, in a proxy run.
    Origin(u32),
    /// The proxy's n-th connection to the origin (its client role), in a proxy run.
    ProxyClient(u32),
}

/// Writes the engine's inputs and outputs into the trace. Bytes are not repeated here: the
/// client side records them exactly; the server side records sizes.
pub(crate) struct TraceObserver {
    recorder: crate::trace::Recorder,
    net: crate::net::Network,
    pending: Pending,
    sink: Sink,
    /// The transport state last reported, to tell progress from a new block.
    transport: Option<TransportState>,
    /// The last app command, in case it is refused.
    last_command: Option<AppAction>,
    /// When the driver's alarm rings, as last told to `pending`.
    alarm: Option<Instant>,
}

impl TraceObserver {
    pub(crate) fn new(
        recorder: crate::trace::Recorder,
        net: crate::net::Network,
        pending: Pending,
        sink: Sink,
    ) -> TraceObserver {
        TraceObserver {
            recorder,
            net,
            pending,
            sink,
            transport: None,
            last_command: None,
            alarm: None,
        }
    }

    /// Records `event` at the driver's `now`: the engine's clock counts from the start of the
    /// run, as turmoil's does, so it stamps the same time without asking turmoil for it.
    fn note(&self, now: Instant, event: ServerEvent) {
        let at = now.since_epoch();
        match self.sink {
            Sink::Server(port) => self.recorder.record_peer_at(at, port, Event::server(event)),
            Sink::Origin(conn) => {
                let event = Event::Upstream { conn, event };
                self.recorder.record_at(at, None, event);
            }
            Sink::ProxyClient(conn) => {
                let event = Event::ProxyClient { conn, event };
                self.recorder.record_at(at, None, event);
            }
        }
    }

    fn engine(&self) -> Engine {
        match self.sink {
            Sink::Server(port) => Engine::Server(port),
            Sink::Origin(conn) => Engine::Origin(conn),
            Sink::ProxyClient(conn) => Engine::ProxyClient(conn),
        }
    }
}

impl Observer for TraceObserver {
    const WATCHES_ALARM: bool = true;

    fn on_input(&mut self, input: &Input<'_>) {
        let event = match input {
            Input::Received { bytes, .. } => ServerEvent::Read { bytes: bytes.len() },
            Input::ReceivedEof { .. } => ServerEvent::ReadEof,
            Input::Transport { state, .. } => {
                let repeated = self.transport == Some(*state);
                self.transport = Some(*state);
                match (state, repeated) {
                    (TransportState::Blocked, true) => ServerEvent::TransportStillBlocked,
                    _ => ServerEvent::Transport { state: *state },
                }
            }
            Input::ConnectionLost { .. } => ServerEvent::ConnectionLost,
            Input::Timeout { .. } => return,
            Input::App { command, .. } => {
                let command = app_action(command);
                self.last_command = Some(command.clone());
                ServerEvent::App { command }
            }
            other => ServerEvent::OtherEvent {
                debug: format!("{other:?}"),
            },
        };
        self.note(input.now(), event);
    }

    fn on_output(&mut self, now: Instant, output: &Output) {
        let event = match output {
            Output::Transmit(bytes) => {
                if let Sink::Server(port) = self.sink {
                    self.net.note_handed(port, bytes.len());
                }
                ServerEvent::Write { bytes: bytes.len() }
            }
            Output::Event(event) => engine_event(event),
            Output::Producer { request, state } => ServerEvent::Producer {
                request: *request,
                state: *state,
            },
            Output::Reading(state) => ServerEvent::Reading { state: *state },
            Output::Timer { timer, change } => {
                self.pending.timer(self.engine(), *timer, *change);
                ServerEvent::Timer {
                    timer: *timer,
                    change: *change,
                }
            }
            Output::ShutdownWrite => ServerEvent::ShutdownWrite,
            Output::Close(reason) => {
                self.pending.closing(self.engine());
                ServerEvent::Close { reason: *reason }
            }
            other => ServerEvent::OtherEvent {
                debug: format!("{other:?}"),
            },
        };
        self.note(now, event);
    }

    fn on_alarm(&mut self, at: Option<Instant>) {
        // Told before every wait; mostly unchanged.
        if at != self.alarm {
            self.alarm = at;
            self.pending
                .alarm(self.engine(), at.map(Instant::since_epoch));
        }
    }

    fn on_usage_error(&mut self, now: Instant, error: UsageError) {
        let command = self.last_command.take().unwrap_or(AppAction::Other {
            debug: "(unknown command)".into(),
        });
        self.note(now, ServerEvent::AppRefused { command, error });
    }
}

/// An app command as the trace shows it.
fn app_action(command: &AppCommand) -> AppAction {
    match command {
        AppCommand::Consume { request, bytes } => AppAction::Consume {
            request: *request,
            bytes: *bytes,
        },
        AppCommand::SendInformational { request, head } => AppAction::Informational {
            request: *request,
            status: head.status,
        },
        AppCommand::SendHead { request, head } => AppAction::Head {
            request: *request,
            status: head.status,
        },
        AppCommand::SendBody { request, data } => AppAction::Body {
            request: *request,
            bytes: data.len(),
        },
        AppCommand::SendBodyParts { request, parts } => AppAction::BodyParts {
            request: *request,
            parts: parts.len(),
            bytes: parts.iter().map(|part| part.len()).sum(),
        },
        AppCommand::Finish { request } => AppAction::Finish { request: *request },
        AppCommand::Respond {
            request,
            head,
            body,
        } => AppAction::Respond {
            request: *request,
            status: head.status,
            bytes: body.len(),
        },
        AppCommand::Close { request } => AppAction::Close { request: *request },
        AppCommand::Abort { request } => AppAction::Abort { request: *request },
        AppCommand::RegisterProducer { request, kind } => AppAction::RegisterProducer {
            request: *request,
            kind: *kind,
        },
        AppCommand::UnregisterProducer { request } => {
            AppAction::UnregisterProducer { request: *request }
        }
        AppCommand::Drain => AppAction::Drain,
        AppCommand::SendRequest { head } => AppAction::SendRequest {
            request: Box::new(SentRequest {
                method: head.method.clone(),
                target: head.target.clone(),
            }),
        },
        other => AppAction::Other {
            debug: format!("{other:?}"),
        },
    }
}

/// An engine event as the trace shows it.
fn engine_event(event: &EngineEvent) -> ServerEvent {
    match event {
        EngineEvent::Request { id, head } => ServerEvent::Request {
            id: *id,
            line: Box::new(RequestLine {
                method: head.method.clone(),
                target: head.target.clone(),
                version: head.version,
            }),
        },
        EngineEvent::Body { id, data } => ServerEvent::Body {
            id: *id,
            bytes: data.len(),
        },
        EngineEvent::BodyEnd { id } => ServerEvent::BodyEnd { id: *id },
        EngineEvent::Pull { id } => ServerEvent::Pull { id: *id },
        EngineEvent::Lost { id } => ServerEvent::Lost { id: *id },
        EngineEvent::Informational { id, head } => ServerEvent::Informational {
            id: *id,
            status: head.status,
        },
        EngineEvent::Response { id, head, .. } => ServerEvent::Response {
            id: *id,
            status: head.status,
        },
        EngineEvent::Reusable => ServerEvent::Reusable,
        EngineEvent::ProtocolError { id, error } => ServerEvent::ProtocolError {
            id: *id,
            kind: error.kind,
            status: error.status,
        },
        other => ServerEvent::OtherEvent {
            debug: format!("{other:?}"),
        },
    }
}
