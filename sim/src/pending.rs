//! What can still happen in a run, so the run can stop once nothing can: the engine timers
//! armed on each open server connection, the connections closing (the driver flushes them
//! under its own bound), and what each scripted client waits for.
//!
//! A run is *quiescent* when the chaos phase is over, nothing was recorded for a while (no
//! byte in flight: turmoil's latency is far shorter), no engine timer is armed, no connection
//! is closing and no client waits for a deadline of its own. Then nothing can happen again,
//! and simulating the rest of the run's time budget would only burn CPU: a broken engine
//! whose response stalls forever is reported as soon as it stalls, not after the budget.

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
    /// Something of its own that will end by itself (connecting, a FIN held, a start delay).
    Busy,
    /// Its own deadline (a sleep step, the next read of a slow reader), as time since the
    /// start of the run.
    Until(Duration),
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

#[derive(Debug, Default)]
struct State {
    /// Engine → its timers armed.
    armed: BTreeMap<Engine, ArmedTimers>,
    /// Engines that closed their connection but whose socket the driver has not yet closed
    /// (it flushes under its own bound).
    closing: BTreeSet<Engine>,
    /// What each client waits for, by connection number (dense from 0: a list, not a map,
    /// since every client's wait changes at each of its wake-ups).
    clients: Vec<Option<ClientWait>>,
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
        let armed = state.armed.entry(engine).or_default();
        match change {
            TimerChange::Set(_) => armed.insert(timer),
            TimerChange::Cancelled | TimerChange::Fired => armed.remove(timer),
        }
    }

    /// `engine` closed its connection; the driver now flushes it.
    pub fn closing(&self, engine: Engine) {
        self.state.borrow_mut().closing.insert(engine);
    }

    /// The driver closed `engine`'s socket: nothing of it is pending.
    pub fn ended(&self, engine: Engine) {
        let mut state = self.state.borrow_mut();
        state.armed.remove(&engine);
        state.closing.remove(&engine);
    }

    /// Client `conn` now waits for `wait` (`conn` a client script's index: waits are kept in a
    /// list as long as the highest connection number).
    pub fn client(&self, conn: u32, wait: ClientWait) {
        *by_conn(&mut self.state.borrow_mut().clients, conn) = Some(wait);
    }

    /// Client `conn` waits for its own deadline `at` (simulated time inside a host), or only
    /// for the network if it has none.
    pub fn client_until(&self, conn: u32, at: Option<SimTime>) {
        let wait = match at {
            Some(at) => {
                let ahead = at.saturating_duration_since(SimTime::now());
                ClientWait::Until(turmoil::sim_elapsed().unwrap_or_default() + ahead)
            }
            None => ClientWait::Network,
        };
        self.client(conn, wait);
    }

    /// Whether anything can still happen by itself at or after `now`: an armed timer, a
    /// closing connection, a busy client or a client deadline still ahead.
    pub fn anything_due(&self, now: Duration) -> bool {
        let state = self.state.borrow();
        let timers = state.armed.values().any(|armed| !armed.is_empty());
        let clients = state.clients.iter().flatten().any(|wait| match wait {
            ClientWait::Busy => true,
            ClientWait::Until(at) => *at >= now,
            ClientWait::Network => false,
        });
        timers || !state.closing.is_empty() || clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
