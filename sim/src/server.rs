//! The server host: the real engine and driver on turmoil sockets, each connection wrapped in
//! a `FaultyStream`, every engine input and output written to the trace.

use std::fmt::Write as _;
use std::rc::Rc;

use twine_driver::{run_connection, App, Clock, Observer, RunOptions};
use twine_engine::{
    AppCommand, Channel, CloseReason, Config, Event as EngineEvent, Input, Instant, Output,
    TimerChange, TransportState, UsageError,
};

use crate::fault::{Chaos, FaultPlan, FaultyStream, Keep};
use crate::rng::Seed;
use crate::trace::{Event, Recorder};

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
    /// Faults per connection.
    pub faults: FaultPlan,
    /// The fault decisions allowed to fire (all when `None`).
    pub keep: Keep,
    /// The run's seed, for the faults' forks.
    pub seed: Seed,
    /// Chaos on or off.
    pub chaos: Chaos,
    /// The trace.
    pub recorder: Recorder,
    /// Sabotage for the checkers' own tests: the driver never tells the engine the transport
    /// blocked.
    pub ignore_transport_blocked: bool,
}

/// The server host's main future: accept forever.
pub async fn serve(env: ServerEnv) -> turmoil::Result {
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
    // Engine time counts from the start of the run, across server restarts.
    let clock = Clock::started_ago(turmoil::sim_elapsed().unwrap_or_default());
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::task::spawn_local(serve_connection(env.clone(), clock, stream, peer.port()));
    }
}

/// One connection: the engine and the app behind a `FaultyStream`, traced, until it closes.
async fn serve_connection(
    env: ServerEnv,
    clock: Clock,
    stream: turmoil::net::TcpStream,
    port: u16,
) {
    let recorder = env.recorder.clone();
    recorder.record_peer(
        port,
        Event::Server {
            what: "accepted".into(),
        },
    );
    let _open = OpenConnection::new(recorder.clone());
    let stream = FaultyStream::new(
        stream,
        port,
        env.faults.clone(),
        env.keep.clone(),
        env.seed,
        env.chaos.clone(),
        recorder.clone(),
    );
    let channel = Channel::new(env.config.clone(), clock.now());
    let mut app = (env.app)();
    let mut observer = TraceObserver {
        recorder: recorder.clone(),
        port,
        transport: None,
        last_command: None,
    };
    let options = RunOptions {
        flush_timeout: env.config.timeouts.abort,
        report_blocked: !env.ignore_transport_blocked,
        ..RunOptions::default()
    };
    let end = run_connection(stream, channel, &mut app, clock, &mut observer, options).await;
    let what = match end.reason {
        CloseReason::Graceful => "socket closed (FIN)",
        CloseReason::Abort => "socket aborted",
    };
    let mut stream = end.stream;
    if end.reason == CloseReason::Graceful {
        // Dropping the socket sends the FIN; hold it while turmoil would lose it.
        let mut waited = 0;
        while stream.fin_would_be_lost() && waited < FIN_HOLD_MS_MAX {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            waited += 1;
        }
    }
    recorder.record_peer(port, Event::Server { what: what.into() });
    drop(stream);
}

/// Longest a closing socket waits for its client to make room for the FIN.
const FIN_HOLD_MS_MAX: u64 = 30_000;

/// Counts a server connection as open while it lives, so the run can wait for every
/// connection to end. A guard, because a server restart drops connection tasks mid-flight.
struct OpenConnection(Recorder);

impl OpenConnection {
    fn new(recorder: Recorder) -> OpenConnection {
        recorder.connection_opened();
        OpenConnection(recorder)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

/// Writes the engine's inputs and outputs into the trace. Bytes are not repeated here: the
/// client side records them exactly; the server side records sizes.
struct TraceObserver {
    recorder: Recorder,
    port: u16,
    /// The transport state last reported, to tell progress from a new block.
    transport: Option<TransportState>,
    /// The last app command, as rendered, in case it is refused.
    last_command: Option<String>,
}

impl TraceObserver {
    fn note(&self, what: String) {
        self.recorder.record_peer(self.port, Event::Server { what });
    }
}

impl Observer for TraceObserver {
    fn on_input(&mut self, input: &Input<'_>) {
        let what = match input {
            Input::Received { bytes, .. } => format!("read {} bytes", bytes.len()),
            Input::ReceivedEof { .. } => "read EOF".into(),
            Input::Transport { state, .. } => {
                let repeated = self.transport == Some(*state);
                self.transport = Some(*state);
                match (state, repeated) {
                    (TransportState::Blocked, true) => {
                        "transport still blocked, bytes taken".into()
                    }
                    _ => format!("transport {}", lower(&format!("{state:?}"))),
                }
            }
            Input::ConnectionLost { .. } => "connection lost".into(),
            Input::Timeout { .. } => return,
            Input::App { command, .. } => {
                let rendered = render_command(command);
                self.last_command = Some(rendered.clone());
                format!("app {rendered}")
            }
        };
        self.note(what);
    }

    fn on_output(&mut self, _now: Instant, output: &Output) {
        let what = match output {
            Output::Transmit(bytes) => {
                self.recorder.note_handed(self.port, bytes.len());
                format!("write {} bytes", bytes.len())
            }
            Output::Event(event) => format!("event {}", render_event(event)),
            Output::Producer { request, state } => {
                format!("producer {request} {}", lower(&format!("{state:?}")))
            }
            Output::Reading(state) => format!("reading {}", lower(&format!("{state:?}"))),
            Output::Timer { timer, change } => match change {
                TimerChange::Set(at) => format!("timer {} set for {at}", timer.name()),
                TimerChange::Cancelled => format!("timer {} cancelled", timer.name()),
                TimerChange::Fired => format!("timer {} fired", timer.name()),
            },
            Output::ShutdownWrite => "shutdown write".into(),
            Output::Close(reason) => format!("close {}", lower(&format!("{reason:?}"))),
        };
        self.note(what);
    }

    fn on_usage_error(&mut self, _now: Instant, error: UsageError) {
        let command = self.last_command.take().unwrap_or_default();
        self.note(format!("app error: {command} refused: {error}"));
    }
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn render_command(command: &AppCommand) -> String {
    match command {
        AppCommand::Consume { request, bytes } => format!("consume {request} {bytes}"),
        AppCommand::SendInformational { request, head } => {
            format!("informational {request} {}", head.status)
        }
        AppCommand::SendHead { request, head } => format!("head {request} {}", head.status),
        AppCommand::SendBody { request, data } => format!("body {request} {} bytes", data.len()),
        AppCommand::Finish { request } => format!("finish {request}"),
        AppCommand::Abort { request } => format!("abort {request}"),
        AppCommand::RegisterProducer { request, kind } => {
            format!(
                "register {} producer {request}",
                lower(&format!("{kind:?}"))
            )
        }
        AppCommand::UnregisterProducer { request } => format!("unregister producer {request}"),
        AppCommand::Drain => "drain".into(),
        other => format!("{other:?}"),
    }
}

fn render_event(event: &EngineEvent) -> String {
    match event {
        EngineEvent::Request { id, head } => {
            let mut s = format!("request {id} {:?} ", head.method);
            s.push_str(&String::from_utf8_lossy(&head.target));
            let _ = write!(s, " {}", head.version.as_str());
            s
        }
        EngineEvent::Body { id, data } => format!("body {id} {} bytes", data.len()),
        EngineEvent::BodyEnd { id } => format!("body end {id}"),
        EngineEvent::Pull { id } => format!("pull {id}"),
        EngineEvent::Lost { id } => format!("lost {id}"),
        EngineEvent::ProtocolError { id, error } => match id {
            Some(id) => format!("protocol error {id}: {} ({})", error.kind, error.status),
            None => format!("protocol error: {} ({})", error.kind, error.status),
        },
        other => format!("{other:?}"),
    }
}

/// An app factory for any app with a default constructor.
pub fn app<A: App + Default + 'static>() -> AppFactory {
    Rc::new(|| Box::new(A::default()))
}
