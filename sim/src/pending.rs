//! What can still happen in a run, so the run can stop once nothing can: the engine timers
//! armed on each open server connection, the connections closing (the driver flushes them
//! under its own bound), and what each scripted client waits for.
//!
//! A run is *quiescent* when the chaos phase is over, nothing was recorded for a while (no
//! byte in flight: turmoil's latency is far shorter), no engine timer is armed, no connection
//! is closing and no client waits for a deadline of its own. Then nothing can happen again,
//! and simulating the rest of the run's time budget would only burn CPU: a broken engine
//! whose response stalls forever is reported as soon as it stalls, not after the budget.
//!
//! Its [`Pending::horizon`] is the other use: the earliest time at which any host can act by
//! itself (each driver's alarm, each server socket's own timed wait, each client's
//! deadlines), or now if something acts on its own at a time only it knows (a client
//! connecting or holding its FIN, a connection closing, a scripted origin's sleep). The run
//! steps to just before it at once when nothing is in flight (`run::idle_ticks`), so every
//! source of such a wake-up must be told here, or the span would swallow it: debug builds
//! check each span for anything recorded or sent inside it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use std::time::Duration;

use tokio::time::Instant as SimTime;
use twine_engine::{Timer, TimerChange};

use crate::net::by_conn;

/// What a client waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientWait {
    /// Something of its own that will end by itself (connecting, a FIN held).
    Busy,
    /// Its own deadlines (the next read of a slow reader, a sleep step), as time since the
    /// start of the run: the first, and the other one if both are set (once a paced read's
    /// time has come, the read waits for bytes while the sleep goes on).
    Until(Duration, Option<Duration>),
    /// Only the network: bytes to read, a write to be taken, or nothing at all (finished).
    Network,
}

/// A connection whose engine may still act: a server connection by its client's port, or
/// one of a proxy's upstream connections (its client side in the proxy, its server side in
/// the origin), numbered in the order they were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Engine {
    /// The server connection from this client port.
    Server(u16),
    /// The proxy's n-th upstream connection, its client side.
    ProxyClient(u32),
    /// The origin's n-th connection.
    Origin(u32),
}

/// The timers armed on one engine, a bit each (in [`Timer::ALL`]'s order): they change at
/// almost every request, and a set of a few kinds needs no tree.
#[derive(Clone, Copy, Debug, Default)]
struct ArmedTimers(u16);

const _: () = assert!(Timer::ALL.len() <= 16, "a bit per timer in ArmedTimers");

impl ArmedTimers {
    fn bit(timer: Timer) -> u16 {
        let index = Timer::ALL.iter().position(|&t| t == timer);
        1 << index.expect("Timer::ALL lists every timer")
    }

    fn insert(&mut self, timer: Timer) {
        self.0 |= ArmedTimers::bit(timer);
    }

    fn remove(&mut self, timer: Timer) {
        self.0 &= !ArmedTimers::bit(timer);
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What one engine may still do by itself.
#[derive(Clone, Copy, Debug, Default)]
struct EngineTimers {
    armed: ArmedTimers,
    /// When its driver's alarm rings (as time since the start of the run, as are the
    /// others): told before each of the driver's waits, so it follows idle timers pushed back
    /// by activity (which `armed` hears of only when they are first set).
    alarm: Option<Duration>,
    /// When its socket wakes it by itself (`fault::FaultyStream`): the end of a read stall,
    /// or the next try of a write or a shutdown waiting a millisecond at a time (a slow
    /// reader's window, the FIN hold, a full receive buffer during the chaos phase).
    socket: [Option<Duration>; SocketWait::COUNT],
}

/// A server socket's own timed waits (`fault::FaultyStream`), each with its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketWait {
    /// A read stall's end.
    Read,
    /// A write's or a shutdown's next try.
    Write,
}

impl SocketWait {
    const COUNT: usize = 2;
}

#[derive(Debug, Default)]
struct State {
    /// Engine → its timers.
    engines: BTreeMap<Engine, EngineTimers>,
    /// Engines that closed their connection but whose socket the driver has not yet closed
    /// (it flushes under its own bound).
    closing: BTreeSet<Engine>,
    /// What each client waits for, by connection number (dense from 0: a list, not a map,
    /// since every client's wait changes at each of its wake-ups).
    clients: Vec<Option<ClientWait>>,
    /// Scripted origins sleeping or holding their FIN: they act on their own, at a time only
    /// they know.
    busy_origins: u32,
}

/// How long after its time a wake-up surely happened.
const STALE_AFTER: Duration = Duration::from_millis(2);

/// How long a run may go on with nothing happening, as far as [`Pending`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Horizon {
    /// Something may happen at any moment: a busy client, a closing connection, a scripted
    /// origin's own wait.
    Now,
    /// Nothing happens by itself before this time (since the start of the run).
    At(Duration),
    /// Nothing happens by itself ever again: only the network or the run can wake anyone.
    Never,
}

/// The shared record. Cheap to clone (a handle).
#[derive(Clone, Debug, Default)]
pub struct Pending {
    state: Rc<RefCell<State>>,
}

impl Pending {
    /// Nothing pending yet.
    pub fn new() -> Pending {
        Pending::default()
    }

    /// A timer of `engine` changed.
    pub fn timer(&self, engine: Engine, timer: Timer, change: TimerChange) {
        let mut state = self.state.borrow_mut();
        let armed = &mut state.engines.entry(engine).or_default().armed;
        match change {
            TimerChange::Set(_) => armed.insert(timer),
            TimerChange::Cancelled | TimerChange::Fired => armed.remove(timer),
        }
    }

    /// `engine`'s driver's alarm now rings at `at` (time since the start of the run), or not.
    pub fn alarm(&self, engine: Engine, at: Option<Duration>) {
        let mut state = self.state.borrow_mut();
        state.engines.entry(engine).or_default().alarm = at;
    }

    /// `engine`'s socket wakes it `after` from now, for `wait` (a fault).
    pub fn socket_wait(&self, engine: Engine, wait: SocketWait, after: Duration) {
        let at = turmoil::sim_elapsed().unwrap_or_default() + after;
        let mut state = self.state.borrow_mut();
        state.engines.entry(engine).or_default().socket[wait as usize] = Some(at);
    }

    /// A scripted origin is busy on its own (a sleep, a FIN held) while the guard lives.
    pub fn origin_busy(&self) -> OriginBusy {
        self.state.borrow_mut().busy_origins += 1;
        OriginBusy(self.clone())
    }

    /// `engine` closed its connection; the driver now flushes it.
    pub fn closing(&self, engine: Engine) {
        self.state.borrow_mut().closing.insert(engine);
    }

    /// The driver closed `engine`'s socket: nothing of it is pending.
    pub fn ended(&self, engine: Engine) {
        let mut state = self.state.borrow_mut();
        state.engines.remove(&engine);
        state.closing.remove(&engine);
    }

    /// Client `conn` now waits for `wait` (`conn` a client script's index: waits are kept in a
    /// list as long as the highest connection number).
    pub fn client(&self, conn: u32, wait: ClientWait) {
        *by_conn(&mut self.state.borrow_mut().clients, conn) = Some(wait);
    }

    /// Client `conn` waits for its own deadlines (simulated time inside its host, where it is
    /// `now` and the run started at `epoch`), or only for the network if it has none. A
    /// deadline already past counts as now.
    pub fn client_until(
        &self,
        conn: u32,
        deadlines: [Option<SimTime>; 2],
        (now, epoch): (SimTime, SimTime),
    ) {
        let run_time = |at: SimTime| at.max(now).saturating_duration_since(epoch);
        let wait = match deadlines.map(|at| at.map(run_time)) {
            [Some(a), Some(b)] => ClientWait::Until(a.min(b), Some(a.max(b))),
            [Some(at), None] | [None, Some(at)] => ClientWait::Until(at, None),
            [None, None] => ClientWait::Network,
        };
        self.client(conn, wait);
    }

    /// Whether anything can still happen by itself at or after `now`: an armed timer, a
    /// closing connection, a busy client or a client deadline still ahead.
    pub fn anything_due(&self, now: Duration) -> bool {
        let state = self.state.borrow();
        let timers = state.engines.values().any(|e| !e.armed.is_empty());
        let clients = state.clients.iter().flatten().any(|wait| match wait {
            ClientWait::Busy => true,
            // Either deadline: once a paced read's has passed, a sleep step's may not have.
            ClientWait::Until(first, then) => *first >= now || then.is_some_and(|at| at >= now),
            ClientWait::Network => false,
        });
        timers || !state.closing.is_empty() || clients
    }

    /// The earliest time at which anything may happen by itself, as seen at `now`: a
    /// driver's alarm, a server socket's own wait, a client's deadline. Now, if a client is
    /// busy, a connection is closing or a scripted origin waits on its own.
    pub fn horizon(&self, now: Duration) -> Horizon {
        let state = self.state.borrow();
        let busy_client = || {
            state
                .clients
                .iter()
                .flatten()
                .any(|w| *w == ClientWait::Busy)
        };
        if !state.closing.is_empty() || state.busy_origins > 0 || busy_client() {
            return Horizon::Now;
        }
        let engines = state.engines.values();
        let wakes = engines.flat_map(|e| std::iter::once(e.alarm).chain(e.socket).flatten());
        let clients = state.clients.iter().flatten().flat_map(|wait| match wait {
            ClientWait::Until(first, then) => [Some(*first), *then],
            _ => [None, None],
        });
        let clients = clients.flatten();
        // A time more than a tick past woke its task then (a timer due at a tick's end may
        // wake its task only at the start of the next): it is no deadline any more.
        let live = |at: &Duration| *at + STALE_AFTER > now;
        match wakes.chain(clients).filter(live).min() {
            Some(at) => Horizon::At(at),
            None => Horizon::Never,
        }
    }
}

/// Marks a scripted origin busy until dropped (see [`Pending::origin_busy`]).
pub struct OriginBusy(Pending);

impl Drop for OriginBusy {
    fn drop(&mut self) {
        self.0.state.borrow_mut().busy_origins -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A paced read's deadline passing leaves the client's sleep: still due, still a stop.
    #[test]
    fn a_clients_second_deadline_counts_once_the_first_has_passed() {
        let pending = Pending::new();
        pending.client(0, ClientWait::Until(ms(10), Some(ms(500))));
        assert!(pending.anything_due(ms(100)));
        assert_eq!(pending.horizon(ms(100)), Horizon::At(ms(500)));
        assert!(!pending.anything_due(ms(501)));
        assert_eq!(pending.horizon(ms(600)), Horizon::Never);
    }

    /// The horizon is the first of the alarms, the socket waits and the client deadlines
    /// still ahead (a time more than two ticks past is stale); anything busy makes it now.
    #[test]
    fn the_horizon_is_the_first_wake_up_ahead() {
        let pending = Pending::new();
        assert_eq!(pending.horizon(ms(0)), Horizon::Never);
        pending.alarm(Engine::Server(1), Some(ms(900)));
        pending.alarm(Engine::Origin(0), Some(ms(700)));
        pending.client(0, ClientWait::Until(ms(800), None));
        assert_eq!(pending.horizon(ms(100)), Horizon::At(ms(700)));
        // Overdue by a tick: its task may not have run yet.
        assert_eq!(pending.horizon(ms(701)), Horizon::At(ms(700)));
        assert_eq!(pending.horizon(ms(702)), Horizon::At(ms(800)));
        pending.ended(Engine::Origin(0));
        assert_eq!(pending.horizon(ms(100)), Horizon::At(ms(800)));
        pending.client(1, ClientWait::Busy);
        assert_eq!(pending.horizon(ms(100)), Horizon::Now);
        pending.client(1, ClientWait::Network);
        pending.closing(Engine::Server(1));
        assert_eq!(pending.horizon(ms(100)), Horizon::Now);
        pending.ended(Engine::Server(1));
        let busy = pending.origin_busy();
        assert_eq!(pending.horizon(ms(100)), Horizon::Now);
        drop(busy);
        assert_eq!(pending.horizon(ms(100)), Horizon::At(ms(800)));
    }

    /// Each timer has a bit of its own: arming one and cancelling another leaves the first.
    #[test]
    fn armed_timers_are_a_set() {
        for armed in Timer::ALL {
            for other in Timer::ALL.into_iter().filter(|&t| t != armed) {
                let mut timers = ArmedTimers::default();
                timers.insert(armed);
                timers.insert(other);
                timers.remove(other);
                assert!(!timers.is_empty(), "{armed:?} survives {other:?}'s removal");
                timers.remove(armed);
                assert!(timers.is_empty(), "{armed:?} removed");
            }
        }
    }
}
