//! The simulated network's shared state, as both ends of every connection see it: which client
//! port is which connection, how many bytes each side has read (which bounds what the other
//! may have in flight, `IN_FLIGHT_BYTES_MAX`), which server connections are open or closed, how
//! much the engine handed out against what the socket took, and the one rule for holding a FIN
//! that turmoil 0.7.2 would lose.
//!
//! Every host of a run lives on turmoil's one thread, so this is an `Rc<RefCell<_>>` shared by
//! the server, the clients and the run. Of the harness it imports only `event::Side`.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use crate::event::Side;

/// turmoil's TCP window and receive queue, in segments (notes/turmoil.md A2.4).
pub const TCP_CAPACITY: usize = 1024;

/// The simulated wall clock at the start of every run: fixed, so `Date` headers replay.
pub const EPOCH_UNIX_SECS: u64 = 1_700_000_000;

/// The simulated wall clock's second (Unix seconds) at `at_nanos` into a run: what an
/// engine's `Date` names then.
pub fn unix_second(at_nanos: u64) -> u64 {
    EPOCH_UNIX_SECS + at_nanos / 1_000_000_000
}

/// Bytes one side may have written that its peer has not read: the peer's receive buffer
/// (Linux's `tcp_rmem` default, 128 KiB) plus the writer's send buffer (`tcp_wmem` default,
/// 16 KiB). turmoil counts segments, not bytes (1024 of them, of any size), so without this a
/// server could "write" 16 MiB to a client that reads nothing.
pub const IN_FLIGHT_BYTES_MAX: u64 = 128 * 1024 + 16 * 1024;

/// Longest a FIN waits for its peer to make room, in milliseconds.
pub const FIN_HOLD_MS_MAX: u64 = 30_000;

/// Bytes the engine handed to the driver and bytes the socket took, on one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Handed out by the engine (`Output::Transmit`).
    pub handed: u64,
    /// Taken by the socket.
    pub written: u64,
    /// The most ever handed out but not yet taken.
    pub max: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Client port → connection number, registered by each client once connected.
    ports: BTreeMap<u16, u32>,
    /// Connection number → its client port: the same registrations, looked up the other way.
    port_of: BTreeMap<u32, u16>,
    /// Bytes each client has read, by connection number (dense from 0: a list, not a map,
    /// since every read of either side counts here).
    client_read: Vec<u64>,
    /// Bytes the server has read from each client, by connection number.
    server_read: Vec<u64>,
    /// Server connections accepted and not yet closed.
    open_connections: u32,
    /// Client ports whose server connection has closed its socket.
    closed: std::collections::BTreeSet<u16>,
    /// Client port → bytes the engine handed out and the socket took.
    backlog: BTreeMap<u16, Backlog>,
}

/// The shared state. Cheap to clone (a handle).
#[derive(Clone, Debug, Default)]
pub struct Network {
    state: Rc<RefCell<State>>,
}

impl Network {
    /// A network with no connection yet.
    pub fn new() -> Network {
        Network::default()
    }

    /// A client tells which port its connection `conn` uses.
    pub fn register_port(&self, port: u16, conn: u32) {
        let mut state = self.state.borrow_mut();
        state.ports.insert(port, conn);
        state.port_of.insert(conn, port);
    }

    /// The connection number a client registered for `port`.
    pub fn conn_of(&self, port: u16) -> Option<u32> {
        self.state.borrow().ports.get(&port).copied()
    }

    /// `reader` read `n` more bytes on connection `conn` (a client script's index: counts are
    /// kept in a list as long as the highest connection number).
    pub fn note_read(&self, reader: Side, conn: u32, n: usize) {
        let mut state = self.state.borrow_mut();
        let counts = match reader {
            Side::Client => &mut state.client_read,
            Side::Server => &mut state.server_read,
        };
        *by_conn(counts, conn) += n as u64;
    }

    /// The bytes `reader` has read on connection `conn`.
    pub fn read(&self, reader: Side, conn: u32) -> u64 {
        let state = self.state.borrow();
        let counts = match reader {
            Side::Client => &state.client_read,
            Side::Server => &state.server_read,
        };
        let index = usize::try_from(conn).ok();
        index.and_then(|i| counts.get(i)).copied().unwrap_or(0)
    }

    /// The server accepted a connection.
    pub fn connection_opened(&self) {
        self.state.borrow_mut().open_connections += 1;
    }

    /// The server closed the connection from client port `port`.
    pub fn connection_closed(&self, port: u16) {
        let mut state = self.state.borrow_mut();
        state.open_connections = state.open_connections.saturating_sub(1);
        state.closed.insert(port);
    }

    /// In a proxy run, the origin closed one of its connections (opened with
    /// `connection_opened`): a run waits for these to end too.
    pub fn origin_connection_closed(&self) {
        let mut state = self.state.borrow_mut();
        state.open_connections = state.open_connections.saturating_sub(1);
    }

    /// Whether the server closed connection `conn`'s socket: the client's writes no longer
    /// wait for it to read (a real peer would answer them with a reset).
    pub fn server_closed(&self, conn: u32) -> bool {
        let state = self.state.borrow();
        // A port a later connection registered again is that connection's now.
        let port = state
            .port_of
            .get(&conn)
            .filter(|p| state.ports.get(p) == Some(&conn));
        port.is_some_and(|port| state.closed.contains(port))
    }

    /// How many server connections are open.
    pub fn open_connections(&self) -> u32 {
        self.state.borrow().open_connections
    }

    /// The engine handed `n` bytes to the driver on the connection from `port`.
    pub fn note_handed(&self, port: u16, n: usize) {
        let mut state = self.state.borrow_mut();
        let backlog = state.backlog.entry(port).or_default();
        backlog.handed += n as u64;
        backlog.max = backlog.max.max(backlog.handed - backlog.written);
    }

    /// The socket took `n` bytes on the connection from `port`.
    pub fn note_written(&self, port: u16, n: usize) {
        let mut state = self.state.borrow_mut();
        state.backlog.entry(port).or_default().written += n as u64;
    }

    /// The backlog record of each connection, by connection number.
    pub fn backlogs(&self) -> Vec<(Option<u32>, Backlog)> {
        let state = self.state.borrow();
        state
            .backlog
            .iter()
            .map(|(port, b)| (state.ports.get(port).copied(), *b))
            .collect()
    }
}

/// Connection `conn`'s slot in a list indexed by connection number, the list grown to hold
/// it. Connection numbers are the client scripts' indices, dense from 0: the harness keeps
/// what it counts per connection in lists rather than maps, which cost a search per update.
pub(crate) fn by_conn<T: Default>(list: &mut Vec<T>, conn: u32) -> &mut T {
    let index = usize::try_from(conn).expect("a connection number fits a usize");
    if list.len() <= index {
        list.resize_with(index + 1, T::default);
    }
    &mut list[index]
}

/// The segments one side of a connection has written, for the FIN rule: turmoil 0.7.2 lets a
/// FIN (which takes no send credit) reach a receive queue that already holds `TCP_CAPACITY`
/// segments, and then parks it until another segment arrives, which after a FIN never happens
/// (the peer would wait for EOF forever; real TCP delivers it). So a FIN waits while the peer
/// has not yet begun to read enough of what was sent.
#[derive(Debug, Default)]
pub struct SentSegments {
    /// Where each segment the peer may not have begun to read starts.
    starts: VecDeque<u64>,
    /// Bytes written so far.
    written: u64,
}

impl SentSegments {
    /// Nothing sent yet.
    pub fn new() -> SentSegments {
        SentSegments::default()
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// One segment of `n` bytes was written.
    pub fn push(&mut self, n: usize) {
        self.starts.push_back(self.written);
        self.written += n as u64;
    }

    /// Whether a FIN sent now would be lost, given that the peer has read `peer_read` bytes.
    pub fn fin_would_be_lost(&mut self, peer_read: u64) -> bool {
        while self.starts.front().is_some_and(|&start| start < peer_read) {
            self.starts.pop_front();
        }
        self.starts.len() + 1 >= TCP_CAPACITY
    }
}

/// Waits, a millisecond at a time and at most [`FIN_HOLD_MS_MAX`], while `fin_would_be_lost`
/// says a FIN sent now would be lost (see [`SentSegments`]). Both ends of a connection hold
/// their FIN with this.
pub async fn hold_fin(mut fin_would_be_lost: impl FnMut() -> bool) {
    for _ in 0..FIN_HOLD_MS_MAX {
        if !fin_would_be_lost() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}
