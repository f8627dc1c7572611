//! The server host: the real engine and driver on turmoil sockets, each connection wrapped in
//! a `FaultyStream`, every engine input and output written to the trace.

use std::cell::RefCell;
use std::rc::Rc;

use tokio::sync::Notify;
use twine_driver::proxy::Proxy;
use twine_driver::{run_connection, App, Clock, Drain, Observer, RunOptions};
use twine_engine::ConnectionInfo;
use twine_engine::{
    AppCommand, AutoConnection, CloseReason, Config, Event as EngineEvent, Input, Instant, Output,
    TransportState, UsageError,
};

use crate::event::{AppAction, Event, RequestLine, SentRequest, ServerEvent};
use crate::fault::{FaultyStream, StreamWorld};
use crate::net::hold_fin;
use crate::pending::{Engine, Pending};
use crate::scenario::Negotiation;

/// The port the server listens on.
pub const PORT: u16 = 80;

/// Makes the app for each connection.
pub type AppFactory = Rc<dyn Fn() -> Box<dyn App>>;

/// Everything the server host needs; cloned into it at each (re)start.
#[derive(Clone)]
pub struct ServerEnv {
    /// The engine configuration.
    pub config: Config,
    /// The app.
    pub app: AppFactory,
    /// What each connection's `FaultyStream` shares with the run: faults, trace, network.
    pub world: StreamWorld,
    /// What can still happen: each connection's armed timers and closing state go here.
    pub pending: Pending,
    /// Sabotage for the checkers' own tests: the engine breaks this promise.
    pub sabotage: Option<crate::sabotage::Sabotage>,
    /// In a proxy run, the server is `twine proxy`: this is what it forwards to, and `app` is
    /// not used.
    pub proxy: Option<crate::proxy::ProxySetup>,
    /// The byte windows of the proxy's upstream links.
    pub links: crate::link::Links,
    /// The drain signal of the host's current incarnation.
    pub drain: DrainSwitch,
    /// How each connection's protocol is chosen.
    pub negotiation: Negotiation,
}

/// The server's drain signal, as `twine serve` raises it on SIGTERM: one per incarnation of
/// the host (a restarted server has not been told to drain), started by the step loop when
/// the scenario says ([`crate::NetFault::DrainServer`]).
#[derive(Clone, Default)]
pub struct DrainSwitch(Rc<RefCell<Incarnation>>);

#[derive(Default)]
struct Incarnation {
    /// What every connection of the incarnation watches.
    drain: Drain,
    /// Wakes the accept loop, which then stops accepting (a permit, so it is never missed).
    stop_accepting: Rc<Notify>,
}

impl DrainSwitch {
    /// A fresh signal for a new incarnation of the host.
    fn renew(&self) -> (Drain, Rc<Notify>) {
        let fresh = Incarnation::default();
        let handles = (fresh.drain.clone(), Rc::clone(&fresh.stop_accepting));
        *self.0.borrow_mut() = fresh;
        handles
    }

    /// Starts the current incarnation's drain: no more accepts, every connection drains.
    pub(crate) fn start(&self) {
        let current = self.0.borrow();
        current.drain.start();
        current.stop_accepting.notify_one();
    }
}

/// The server host's main future: accept until the server drains, then let its connections
/// finish.
pub async fn serve(env: ServerEnv) -> turmoil::Result {
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
    let (drain, stop_accepting) = env.drain.renew();
    // Engine time counts from the start of the run, across server restarts.
    let clock = Clock::started_ago(turmoil::sim_elapsed().unwrap_or_default());
    // One pool per incarnation of the host: a restart loses its upstream connections too.
    let pool = env.proxy.as_ref().map(|setup| {
        let world = (
            env.world.recorder.clone(),
            env.world.net.clone(),
            env.pending.clone(),
        );
        crate::proxy::upstream_pool(setup, world, env.links.clone(), clock)
    });
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop_accepting.notified() => break,
        };
        let (stream, peer) = accepted?;
        let from = ConnectionInfo {
            peer,
            local: stream.local_addr()?,
            secure: env.negotiation == Negotiation::AlpnH2,
        };
        let app: Box<dyn App> = match (&env.proxy, &pool) {
            (Some(setup), Some(pool)) => {
                Box::new(Proxy::new(setup.forward.clone(), from, pool.clone()))
            }
            _ => (env.app)(),
        };
        let drain = drain.clone();
        let task = serve_connection(env.clone(), clock, (stream, from), app, drain);
        tokio::task::spawn_local(task);
    }
    // Draining: new connections are refused, as by a server that closed its listening
    // socket; the host lives on while its connections finish.
    drop(listener);
    std::future::pending().await
}

/// One connection: the engine and the app behind a `FaultyStream`, traced, until it closes.
async fn serve_connection(
    env: ServerEnv,
    clock: Clock,
    (stream, from): (turmoil::net::TcpStream, ConnectionInfo),
    mut app: Box<dyn App>,
    drain: Drain,
) {
    let port = from.peer.port();
    let recorder = env.world.recorder.clone();
    recorder.record_peer(port, Event::server(ServerEvent::Accepted));
    let _open = OpenConnection::new(env.world.net.clone(), env.pending.clone(), port);
    let stream = FaultyStream::new(stream, port, env.world.clone());
    let mut channel = AutoConnection::new(env.config.clone(), clock.now());
    if env.negotiation == Negotiation::AlpnH2 {
        // What the real listener does once the TLS handshake chose `h2`.
        channel.require_http2(clock.now());
    }
    let (net, pending) = (env.world.net.clone(), env.pending.clone());
    let mut observer = TraceObserver::new(recorder.clone(), net, pending, Sink::Server(port));
    let options = RunOptions {
        connection: Some(from),
        drain: Some(drain),
        ..RunOptions::default()
    };
    let end = match env.sabotage {
        None => run_connection(stream, channel, &mut app, clock, &mut observer, options).await,
        Some(sabotage) => {
            let channel = crate::sabotage::Sabotaged::new(channel, sabotage);
            run_connection(stream, channel, &mut app, clock, &mut observer, options).await
        }
    };
    let ended = match end.reason {
        CloseReason::Graceful => ServerEvent::SocketClosed,
        CloseReason::Abort => ServerEvent::SocketAborted,
    };
    let mut stream = end.stream;
    if end.reason == CloseReason::Graceful {
        // Dropping the socket sends the FIN; hold it while turmoil would lose it.
        hold_fin(|| stream.fin_would_be_lost()).await;
    }
    recorder.record_peer(port, Event::server(ended));
    drop(stream);
}

/// Counts a server connection as open while it lives, so the run can wait for every
/// connection to end, and forgets its pending timers when it ends. A guard, because a server
/// restart drops connection tasks mid-flight.
struct OpenConnection {
    net: crate::net::Network,
    pending: Pending,
    port: u16,
}

impl OpenConnection {
    fn new(net: crate::net::Network, pending: Pending, port: u16) -> OpenConnection {
        net.connection_opened();
        OpenConnection { net, pending, port }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.net.connection_closed(self.port);
        self.pending.ended(Engine::Server(self.port));
    }
}

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

/// An app factory for any app with a default constructor.
pub fn app<A: App + Default + 'static>() -> AppFactory {
    Rc::new(|| Box::new(A::default()))
}
