//! The trace: one ordered log per run, stamped with simulated time, of everything that
//! happened: bytes each way (exact, escaped), the engine's inputs and outputs (producer
//! transitions, reading paused/resumed, timers, shutdown and close), faults as they fire, and
//! the run's knobs at the top.
//!
//! It renders as stable text for snapshots and as JSON lines for tools. Nothing in it depends
//! on the wall clock, on memory addresses or on hash-map order, so the same seed gives the same
//! trace byte for byte.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A knob of the run (seed, faults chosen, config), printed first.
    Knob {
        /// The knob.
        name: String,
        /// Its value.
        value: String,
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
    /// Something the client did or saw: connect, shutdown, reset, EOF, an error.
    Client {
        /// Rendered.
        what: String,
    },
    /// An engine input or output, or the driver closing the socket.
    Server {
        /// Rendered.
        what: String,
    },
    /// A fault fired.
    Fault {
        /// Rendered.
        what: String,
    },
    /// A checker's finding.
    Violation {
        /// Rendered.
        what: String,
    },
}

/// One line of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Simulated time since the start of the run, in nanoseconds.
    pub at_nanos: u64,
    /// The connection it concerns (numbered from 0 in connect order), if any.
    pub conn: Option<u32>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// Who an entry is about while the run goes on: the client side knows its connection number,
/// the server side knows only the peer's port until the client has registered it.
#[derive(Clone, Copy, Debug)]
enum Who {
    Nobody,
    Conn(u32),
    Peer(u16),
}

#[derive(Debug, Default)]
struct Log {
    entries: Vec<(u64, Who, Event)>,
    /// Client port → connection number, registered by each client once connected.
    ports: std::collections::BTreeMap<u16, u32>,
    /// The fault decisions that fired, in order.
    fired: Vec<crate::fault::Decision>,
    /// Bytes each client has read, by connection: with the segments the server wrote, how full
    /// the client's receive queue is (see `FaultyStream::fin_would_be_lost`).
    client_read: std::collections::BTreeMap<u32, u64>,
    /// Bytes the server has read from each client, by connection.
    server_read: std::collections::BTreeMap<u32, u64>,
    /// Server connections accepted and not yet closed.
    open_connections: u32,
    /// Client port → bytes the engine handed out and the socket took, for the backlog check.
    backlog: std::collections::BTreeMap<u16, Backlog>,
}

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

/// The recorder, shared by every task of a run (turmoil runs all hosts on one thread).
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    log: Rc<RefCell<Log>>,
}

impl Recorder {
    /// An empty trace.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Records an event now, for connection `conn` (client side).
    pub fn record(&self, conn: Option<u32>, event: Event) {
        let who = conn.map_or(Who::Nobody, Who::Conn);
        self.push(now(), who, event);
    }

    /// Records an event now, for the connection from client port `port` (server side).
    pub fn record_peer(&self, port: u16, event: Event) {
        self.push(now(), Who::Peer(port), event);
    }

    /// Records an event at a given time (for events outside any host).
    pub fn record_at(&self, at: Duration, conn: Option<u32>, event: Event) {
        let who = conn.map_or(Who::Nobody, Who::Conn);
        self.push(at, who, event);
    }

    /// A client tells which port its connection `conn` uses.
    pub fn register_port(&self, port: u16, conn: u32) {
        self.log.borrow_mut().ports.insert(port, conn);
    }

    /// A fault decision fired.
    pub fn note_fired(&self, decision: crate::fault::Decision) {
        self.log.borrow_mut().fired.push(decision);
    }

    /// The fault decisions that fired: the run's fault schedule.
    pub fn fired(&self) -> Vec<crate::fault::Decision> {
        self.log.borrow().fired.clone()
    }

    /// Client `conn` read `n` more bytes.
    pub fn note_client_read(&self, conn: u32, n: usize) {
        *self.log.borrow_mut().client_read.entry(conn).or_default() += n as u64;
    }

    /// The bytes client `conn` has read.
    pub fn client_read(&self, conn: u32) -> u64 {
        self.log
            .borrow()
            .client_read
            .get(&conn)
            .copied()
            .unwrap_or(0)
    }

    /// The server read `n` more bytes from client `conn`.
    pub fn note_server_read(&self, conn: u32, n: usize) {
        *self.log.borrow_mut().server_read.entry(conn).or_default() += n as u64;
    }

    /// The bytes the server has read from client `conn`.
    pub fn server_read(&self, conn: u32) -> u64 {
        self.log
            .borrow()
            .server_read
            .get(&conn)
            .copied()
            .unwrap_or(0)
    }

    /// The server accepted a connection.
    pub fn connection_opened(&self) {
        self.log.borrow_mut().open_connections += 1;
    }

    /// The server closed a connection.
    pub fn connection_closed(&self) {
        let mut log = self.log.borrow_mut();
        log.open_connections = log.open_connections.saturating_sub(1);
    }

    /// How many server connections are open.
    pub fn open_connections(&self) -> u32 {
        self.log.borrow().open_connections
    }

    /// The engine handed `n` bytes to the driver on the connection from `port`.
    pub fn note_handed(&self, port: u16, n: usize) {
        let mut log = self.log.borrow_mut();
        let backlog = log.backlog.entry(port).or_default();
        backlog.handed += n as u64;
        backlog.max = backlog.max.max(backlog.handed - backlog.written);
    }

    /// The socket took `n` bytes on the connection from `port`.
    pub fn note_written(&self, port: u16, n: usize) {
        let mut log = self.log.borrow_mut();
        log.backlog.entry(port).or_default().written += n as u64;
    }

    /// The backlog record of each connection, by connection number.
    pub fn backlogs(&self) -> Vec<(Option<u32>, Backlog)> {
        let log = self.log.borrow();
        log.backlog
            .iter()
            .map(|(port, b)| (log.ports.get(port).copied(), *b))
            .collect()
    }

    /// The connection number a client registered for `port`.
    pub fn conn_of(&self, port: u16) -> Option<u32> {
        self.log.borrow().ports.get(&port).copied()
    }

    fn push(&self, at: Duration, who: Who, event: Event) {
        let at_nanos = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.log.borrow_mut().entries.push((at_nanos, who, event));
    }

    /// Records a knob.
    pub fn knob(&self, name: &str, value: impl std::fmt::Display) {
        let event = Event::Knob {
            name: name.to_string(),
            value: value.to_string(),
        };
        self.record_at(Duration::ZERO, None, event);
    }

    /// The trace so far, with every server-side entry named by its connection number.
    pub fn snapshot(&self) -> Trace {
        let log = self.log.borrow();
        let entries = log
            .entries
            .iter()
            .map(|(at_nanos, who, event)| {
                let conn = match who {
                    Who::Nobody => None,
                    Who::Conn(c) => Some(*c),
                    Who::Peer(port) => log.ports.get(port).copied(),
                };
                Entry {
                    at_nanos: *at_nanos,
                    conn,
                    event: event.clone(),
                }
            })
            .collect();
        Trace { entries }
    }
}

/// Simulated time now: turmoil's global clock inside a host.
fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// A finished trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The entries, in the order they happened.
    pub entries: Vec<Entry>,
}

/// Payloads longer than this are shown as a prefix plus their length and digest.
const SHOWN_BYTES_MAX: usize = 400;

impl Trace {
    /// The stable text form: one line per entry.
    ///
    /// ```text
    ///      0.000ms #   seed = 7
    ///      1.000ms c0 c→s "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    ///      2.000ms c0 s   event request req#0 GET /
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            let _ = writeln!(out, "{}", render(entry));
        }
        out
    }

    /// One JSON object per line.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            // Invariant: serializing plain strings and numbers cannot fail.
            out.push_str(&serde_json::to_string(entry).expect("an entry serializes"));
            out.push('\n');
        }
        out
    }

    /// The first entry where two traces differ, for determinism reports.
    pub fn first_difference(&self, other: &Trace) -> Option<(usize, String, String)> {
        let len = self.entries.len().max(other.entries.len());
        (0..len).find_map(|i| {
            let a = self
                .entries
                .get(i)
                .map(render)
                .unwrap_or_else(|| "<end>".into());
            let b = other
                .entries
                .get(i)
                .map(render)
                .unwrap_or_else(|| "<end>".into());
            (a != b).then_some((i, a, b))
        })
    }
}

fn render(entry: &Entry) -> String {
    let micros = entry.at_nanos / 1_000;
    let time = format!("{}.{:03}ms", micros / 1_000, micros % 1_000);
    let conn = entry.conn.map_or("  ".to_string(), |c| format!("c{c}"));
    let (tag, detail) = match &entry.event {
        Event::Knob { name, value } => ("#  ", format!("{name} = {value}")),
        Event::ClientSent { bytes } => ("c→s", escape(bytes)),
        Event::ClientReceived { bytes } => ("s→c", escape(bytes)),
        Event::Client { what } => ("c  ", what.clone()),
        Event::Server { what } => ("s  ", what.clone()),
        Event::Fault { what } => ("!  ", what.clone()),
        Event::Violation { what } => ("✗  ", what.clone()),
    };
    format!("{time:>12} {conn:<3} {tag} {detail}")
}

/// Bytes as a quoted, escaped string: printable ASCII as is, `\r \n \t \\ \"`, and `\xNN`
/// for the rest. Long payloads show a prefix, the length and an FNV-1a digest of the whole.
pub fn escape(bytes: &[u8]) -> String {
    let shown = if bytes.len() > SHOWN_BYTES_MAX {
        &bytes[..96]
    } else {
        bytes
    };
    let mut out = escape_all(shown);
    if shown.len() < bytes.len() {
        let _ = write!(
            out,
            "…(+{} bytes, {} total, digest {:016x})",
            bytes.len() - shown.len(),
            bytes.len(),
            digest(bytes)
        );
    }
    out
}

/// Every byte as a quoted, escaped string (see [`escape`]).
pub fn escape_all(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    out.push('"');
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// JSON lines are for tools: every byte, never abbreviated.
fn escaped<S: serde::Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&escape_all(bytes))
}

/// A stable fingerprint for long payloads (FNV-1a; checked against an independent
/// implementation in the tests).
pub fn digest(bytes: &[u8]) -> u64 {
    crate::rng::fnv1a(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape(b"GET / HTTP/1.1\r\n\"\\\x00\xff"),
            r#""GET / HTTP/1.1\r\n\"\\\x00\xff""#
        );
        let long = vec![b'a'; 1000];
        assert!(
            escape(&long).ends_with("…(+904 bytes, 1000 total, digest 3c835852fbac676d)"),
            "{}",
            escape(&long)
        );
    }

    #[test]
    fn rendering() {
        let trace = Trace {
            entries: vec![Entry {
                at_nanos: 1_500_000,
                conn: Some(3),
                event: Event::ClientSent {
                    bytes: Bytes::from_static(b"x\r\n"),
                },
            }],
        };
        assert_eq!(trace.to_text(), "     1.500ms c3  c→s \"x\\r\\n\"\n");
        assert_eq!(
            trace.to_json_lines(),
            "{\"at_nanos\":1500000,\"conn\":3,\"kind\":\"client_sent\",\
             \"bytes\":\"\\\"x\\\\r\\\\n\\\"\"}\n"
        );
    }
}
