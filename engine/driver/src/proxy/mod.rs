//! The reverse proxy on the driver: [`Proxy`] is the downstream connection's app; it runs
//! the engine's sans-IO [`ProxySession`] and talks to upstream connections, each a task
//! running a [`ClientConnection`](twine_engine::ClientConnection) on the same loop
//! (`upstream.rs`), checked out of and back into an [`UpstreamPool`].
//!
//! Nothing here decides anything about HTTP: the session decides, this carries its orders
//! out and brings back what happened, in order. Commands for each connection go through an
//! [`Outbox`](outbox::Outbox), so body data is only handed over when it will be taken.

mod outbox;
mod upstream;

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use twine_engine::proxy::{ProxyConfig, ProxyOutput, ProxySession};
use twine_engine::ConnectionInfo;
use twine_engine::{AppCommand, Event, Instant, ProducerState, RequestId};

use crate::App;
use outbox::Outbox;
pub use upstream::{ended_with_abort, UpstreamHandle, UpstreamTask};
use upstream::{upstream_pair, Note};

/// The keep-alive connections to one upstream, shared by every downstream connection.
/// Bounded: at most `idle_max` idle connections are kept; more are closed when released.
/// The most recently used one is reused first (the one least likely to have timed out).
///
/// `open` starts the task of a new upstream connection: it connects, then runs
/// [`UpstreamTask::run`]. The real server spawns it on tokio with a TCP connect (and needs
/// `open` to be `Send + Sync`); the simulation spawns it on its host with turmoil's.
pub struct UpstreamPool<F> {
    idle: Mutex<Vec<UpstreamHandle>>,
    idle_max: usize,
    open: F,
}

impl<F> std::fmt::Debug for UpstreamPool<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamPool")
            .field("idle_max", &self.idle_max)
            .finish_non_exhaustive()
    }
}

impl<F: Fn(UpstreamTask)> UpstreamPool<F> {
    /// A pool keeping at most `idle_max` idle connections, opening new ones with `open`.
    pub fn new(idle_max: usize, open: F) -> Arc<UpstreamPool<F>> {
        Arc::new(UpstreamPool {
            idle: Mutex::new(Vec::new()),
            idle_max,
            open,
        })
    }

    /// An idle connection still open, or a new one being opened; whether it was reused.
    fn checkout(&self) -> (UpstreamHandle, bool) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut handle) = idle.pop() {
            if handle.is_idle_and_open() {
                return (handle, true);
            }
        }
        drop(idle);
        let (handle, task) = upstream_pair();
        (self.open)(task);
        (handle, false)
    }

    /// A connection whose exchange ended cleanly; kept if there is room.
    fn checkin(&self, mut handle: UpstreamHandle) {
        if !handle.is_idle_and_open() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.idle_max {
            idle.push(handle);
        }
    }

    /// How many idle connections are kept now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The app of one downstream connection of `twine proxy`.
#[derive(Debug)]
pub struct Proxy<F> {
    session: ProxySession,
    pool: Arc<UpstreamPool<F>>,
    /// The upstream connection in use, connected or connecting.
    upstream: Option<UpstreamHandle>,
    /// Commands for the downstream channel, released as it can take them.
    downstream: Outbox,
}

impl<F: Fn(UpstreamTask)> Proxy<F> {
    /// The app for a downstream connection from `from`.
    pub fn new(config: ProxyConfig, from: ConnectionInfo, pool: Arc<UpstreamPool<F>>) -> Proxy<F> {
        Proxy {
            session: ProxySession::new(config, from),
            pool,
            upstream: None,
            downstream: Outbox::default(),
        }
    }

    /// Carries out the session's orders: downstream commands into the outbox, upstream ones
    /// to the connection in use, connections checked out and back in.
    fn pump(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                ProxyOutput::Downstream(command) => self.downstream.push(command),
                ProxyOutput::Upstream(command) => {
                    if let Some(upstream) = &mut self.upstream {
                        upstream.send(command);
                    }
                }
                ProxyOutput::Connect => {
                    let (handle, reused) = self.pool.checkout();
                    let next = handle.next_request_id();
                    self.upstream = Some(handle);
                    if reused {
                        self.session.upstream_ready(next, true);
                    }
                }
                ProxyOutput::Release { abort } => {
                    // Dropping a handle closes its connection (an abort midway).
                    if let Some(handle) = self.upstream.take() {
                        if !abort {
                            self.pool.checkin(handle);
                        }
                    }
                }
            }
        }
    }

    /// Hands the downstream channel what it can take now, and tells the session how much body
    /// it took. Whether anything was handed over.
    fn hand_over(&mut self, commands: &mut Vec<AppCommand>) -> bool {
        let released = self.downstream.release(commands);
        if released.body_bytes > 0 {
            self.session.downstream_took(released.body_bytes);
            self.pump();
        }
        released.any
    }

    /// One note from the upstream connection in use.
    fn upstream_note(&mut self, note: Option<Note>) {
        match note {
            Some(Note::Connected) => {
                if let Some(handle) = &self.upstream {
                    let next = handle.next_request_id();
                    self.session.upstream_ready(next, false);
                }
            }
            Some(Note::ConnectFailed) => {
                self.upstream = None;
                self.session.upstream_failed();
            }
            Some(Note::Event(event)) => self.session.upstream_event(event),
            Some(Note::Producer(state)) => self.session.upstream_producer(state),
            Some(Note::Took(bytes)) => self.session.upstream_took(bytes),
            // An exchange in flight learns of a close by its last event (`Lost` or a protocol
            // error); only the pool needs this note (`is_idle_and_open`).
            Some(Note::Closing) => {}
            None => {
                // The task ended without a last word (it panicked or was cancelled): the
                // exchange is lost, as if the connection had been.
                let connected = self.upstream.take().is_some_and(|h| h.is_connected());
                if connected {
                    let id = RequestId::from_sequence(0);
                    self.session.upstream_event(Event::Lost { id });
                } else {
                    self.session.upstream_failed();
                }
            }
        }
        self.pump();
    }
}

impl<F: Fn(UpstreamTask)> App for Proxy<F> {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        self.session.downstream_event(event);
        self.pump();
        self.hand_over(commands);
    }

    fn on_producer(
        &mut self,
        _now: Instant,
        request: RequestId,
        state: ProducerState,
        commands: &mut Vec<AppCommand>,
    ) {
        self.downstream.producer(request, state);
        self.session.downstream_producer(request, state);
        self.pump();
        self.hand_over(commands);
    }

    fn produce(&mut self, _now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        self.downstream.between_batches();
        self.hand_over(commands)
    }

    fn poll_wake(
        &mut self,
        cx: &mut Context<'_>,
        _now: Instant,
        commands: &mut Vec<AppCommand>,
    ) -> Poll<()> {
        self.downstream.between_batches();
        while let Some(upstream) = &mut self.upstream {
            match upstream.poll_note(cx) {
                Poll::Ready(note) => self.upstream_note(note),
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
