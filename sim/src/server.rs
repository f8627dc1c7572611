//! The server host: the real engine and driver on turmoil sockets, each connection wrapped in
//! a `FaultyStream`, every engine input and output written to the trace.

use std::cell::RefCell;
use std::rc::Rc;

use tokio::sync::Notify;
use twine_driver::proxy::Proxy;
use twine_driver::{run_connection, App, Clock, Drain, RunOptions};
use twine_engine::ConnectionInfo;
use twine_engine::{AutoConnection, CloseReason, Config};

use crate::event::{Event, ServerEvent};
use crate::fault::{FaultyStream, StreamWorld};
use crate::net::hold_fin;
use crate::observer::{Sink, TraceObserver};
use crate::pending::{Engine, Pending};
use crate::scenario::{AppFactory, Negotiation, ProxySetup};

/// The port the server listens on.
pub const PORT: u16 = 80;

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
    pub proxy: Option<ProxySetup>,
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
