//! The trace: one ordered, append-only log per run, stamped with simulated time, of everything
//! that happened: bytes each way (exact), the engine's inputs and outputs, faults as they
//! fire, the run's knobs at the top and the checkers' findings at the end. Every event is
//! typed ([`crate::event`]); the text form is only for people.
//!
//! Two renderings. JSON lines keep every event, every byte. The text form, for snapshots and
//! `twine replay`, reads as a story, in three folds:
//! - a run of lines that repeat (a block of up to 32 lines, the same events again, only the
//!   time differing) is printed once with its count;
//! - a long run of blocks of the same shape whose sizes or bytes vary (a head read a byte at a
//!   time) shows its first and last block around one line that counts the rest;
//! - a long run of transfer lines on one connection (bytes each way, reads, writes, partial
//!   writes, a full window: nothing that changes a state) shows its first and last line around
//!   one line that sums what moved.
//!
//! Under each bytes line of a connection that spoke HTTP/2, the text form shows the frames
//! that line completes, decoded, header blocks included ([`h2_frames`]); the JSON form keeps
//! only the bytes.
//!
//! Every fold line carries a digest of the lines it hides, so a snapshot still changes if any
//! hidden byte does; what stays visible is every state change: producers, timers, reading,
//! requests, closes, faults that are not mere fragmentation.
//!
//! Nothing in a trace depends on the wall clock, on memory addresses or on hash-map order, so
//! the same seed gives the same trace byte for byte.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;

pub use crate::escape::{digest, escape, escape_all};
use crate::event::{AppAction, Decision, Event, Fault, ServerEvent};
use crate::net::Network;
use twine_engine::{RequestId, TimerChange};

mod h2_frames;

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

/// The recorder, shared by every task of a run (turmoil runs all hosts on one thread). It only
/// appends; what the network knows (which port is which connection) names the server's
/// entries when the trace is taken.
#[derive(Clone, Debug)]
pub struct Recorder {
    log: Rc<RefCell<Log>>,
    net: Network,
}

/// The entries as recorded. The client side knows its connection number; the server side
/// knows only the peer's port until the client has registered it, so its entries wait in
/// `entries` without a connection and `by_peer` says which they are. The entries are the
/// trace's own: taking the trace fills in connections, it copies nothing.
#[derive(Debug, Default)]
struct Log {
    entries: Vec<Entry>,
    /// For each server-side entry, in order: its index and its peer's port.
    by_peer: Vec<(usize, u16)>,
}

impl Recorder {
    /// An empty trace of a run on `net`.
    pub fn new(net: Network) -> Recorder {
        Recorder {
            log: Rc::default(),
            net,
        }
    }

    /// Records an event now, for connection `conn` (client side).
    pub fn record(&self, conn: Option<u32>, event: Event) {
        self.push(now(), conn, event);
    }

    /// Records an event now, for the connection from client port `port` (server side).
    pub fn record_peer(&self, port: u16, event: Event) {
        self.record_peer_at(now(), port, event);
    }

    /// Records an event at a given time (the driver's clock), for the connection from client
    /// port `port` (server side).
    pub fn record_peer_at(&self, at: Duration, port: u16, event: Event) {
        let mut log = self.log.borrow_mut();
        let index = log.entries.len();
        log.by_peer.push((index, port));
        log.entries.push(Entry {
            at_nanos: nanos(at),
            conn: None,
            event,
        });
    }

    /// Records an event at a given time (for events outside any host, or stamped by the
    /// driver's clock).
    pub fn record_at(&self, at: Duration, conn: Option<u32>, event: Event) {
        self.push(at, conn, event);
    }

    /// Records a knob.
    pub fn knob(&self, name: &str, value: impl std::fmt::Display) {
        let event = Event::Knob {
            name: name.into(),
            value: value.to_string().into(),
        };
        self.record_at(Duration::ZERO, None, event);
    }

    /// When the last entry was recorded, if any: the run's last sign of activity.
    pub fn last_at(&self) -> Option<Duration> {
        let log = self.log.borrow();
        log.entries.last().map(|e| Duration::from_nanos(e.at_nanos))
    }

    fn push(&self, at: Duration, conn: Option<u32>, event: Event) {
        self.log.borrow_mut().entries.push(Entry {
            at_nanos: nanos(at),
            conn,
            event,
        });
    }

    /// The trace recorded, with every server-side entry named by its connection number. The
    /// recorder is left empty: a run takes its trace once, when it has ended.
    pub fn take(&self) -> Trace {
        let Log {
            mut entries,
            by_peer,
        } = std::mem::take(&mut *self.log.borrow_mut());
        // A connection's entries come in runs: the last port looked up is usually the next.
        let mut last_peer: Option<(u16, Option<u32>)> = None;
        for (index, port) in by_peer {
            let conn = match last_peer {
                Some((last, conn)) if last == port => conn,
                _ => {
                    let conn = self.net.conn_of(port);
                    last_peer = Some((port, conn));
                    conn
                }
            };
            entries[index].conn = conn;
        }
        Trace { entries }
    }
}

/// A time in the trace's unit.
fn nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX)
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

/// The longest repeating block the text form folds.
const FOLD_PERIOD_MAX: usize = 32;

/// A run of blocks whose sizes or bytes vary is folded from this many blocks on (the first and
/// the last are shown).
const FOLD_VARIED_BLOCKS_MIN: usize = 4;

/// A run of transfer lines (bytes each way, reads, writes, partial writes, a full window) with
/// nothing else between them is folded from this many lines on.
const FOLD_TRANSFER_LINES_MIN: usize = 8;

impl Trace {
    /// Appends an event at `at` that concerns no connection (a checker's finding).
    pub fn push(&mut self, at: Duration, event: Event) {
        let at_nanos = nanos(at);
        self.entries.push(Entry {
            at_nanos,
            conn: None,
            event,
        });
    }

    /// The stable text form, folded to read as a story (see the module documentation).
    ///
    /// ```text
    ///      0.000ms #   seed = 7
    ///      1.000ms c0 c→s "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    ///      2.000ms c0 s   event request req#0 GET /
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let entries = &self.entries;
        let lines = Lines {
            entries,
            frames: h2_frames::decode(entries),
        };
        let mut i = 0;
        while i < entries.len() {
            let fold = Fold::find(&entries[i..]);
            fold.render(&lines, i, &mut out);
            i += fold.lines();
        }
        out
    }

    /// The text form with every entry on its own line, unfolded.
    pub fn to_text_unfolded(&self) -> String {
        let lines = Lines {
            entries: &self.entries,
            frames: h2_frames::decode(&self.entries),
        };
        let mut out = String::new();
        for i in 0..self.entries.len() {
            lines.write(i, &mut out);
        }
        out
    }

    /// One JSON object per line, every event and every byte.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            // Invariant: serializing plain strings and numbers cannot fail.
            out.push_str(&serde_json::to_string(entry).expect("an entry serializes"));
            out.push('\n');
        }
        out
    }

    /// The fault decisions that fired, in order: the run's fault schedule.
    pub fn fired(&self) -> Vec<Decision> {
        self.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Fault { decision, .. } => *decision,
                _ => None,
            })
            .collect()
    }

    /// A digest of the whole trace (every entry, unabbreviated), for comparing runs.
    pub fn digest(&self) -> u64 {
        digest(self.to_json_lines().as_bytes())
    }

    /// The first entry where two traces differ, for determinism reports: its index and both
    /// entries rendered (`<end>` past the end of one).
    pub fn first_difference(&self, other: &Trace) -> Option<(usize, String, String)> {
        let len = self.entries.len().max(other.entries.len());
        let show = |e: Option<&Entry>| e.map(render).unwrap_or_else(|| "<end>".into());
        (0..len)
            .find(|&i| self.entries.get(i) != other.entries.get(i))
            .map(|i| (i, show(self.entries.get(i)), show(other.entries.get(i))))
    }
}

/// How the text form prints the entries from some point on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fold {
    /// One line as it is.
    Single,
    /// A block of `period` lines, then the same events again, `count` blocks in all.
    Repeat { period: usize, count: usize },
    /// `count` blocks of `period` lines of the same shape whose sizes or bytes vary.
    Varied { period: usize, count: usize },
    /// `lines` transfer lines of one connection: bytes moving, nothing changing state.
    Transfer { lines: usize },
}

impl Fold {
    /// The fold that covers most lines from the start of `rest`.
    fn find(rest: &[Entry]) -> Fold {
        let transfer = rest
            .iter()
            .take_while(|e| e.conn == rest[0].conn && is_transfer(&e.event))
            .count();
        let mut best = match transfer {
            n if n >= FOLD_TRANSFER_LINES_MIN => Fold::Transfer { lines: n },
            _ => Fold::Single,
        };
        for period in 1..=FOLD_PERIOD_MAX.min(rest.len() / 2) {
            let block = &rest[..period];
            let blocks = rest.chunks_exact(period);
            let shaped = blocks.take_while(|b| same_shape(b, block)).count();
            let repeated = rest
                .chunks_exact(period)
                .take_while(|b| same_events(b, block))
                .count();
            let candidate = if repeated >= 2 {
                Fold::Repeat {
                    period,
                    count: repeated,
                }
            } else if shaped >= FOLD_VARIED_BLOCKS_MIN {
                Fold::Varied {
                    period,
                    count: shaped,
                }
            } else {
                continue;
            };
            if candidate.lines() > best.lines() {
                best = candidate;
            }
        }
        best
    }

    fn lines(self) -> usize {
        match self {
            Fold::Single => 1,
            Fold::Repeat { period, count } | Fold::Varied { period, count } => period * count,
            Fold::Transfer { lines } => lines,
        }
    }

    /// Writes the entries this fold covers, from `start` on.
    fn render(self, lines: &Lines, start: usize, out: &mut String) {
        let all = &lines.entries[start..start + self.lines()];
        match self {
            Fold::Single => lines.write(start, out),
            Fold::Repeat { period: 1, count } => {
                let (first, last) = (&all[0], &all[count - 1]);
                let _ = write!(out, "{} × {count}", render(first));
                if last.at_nanos != first.at_nanos {
                    let _ = write!(out, " (to {})", ms(last.at_nanos));
                }
                out.push('\n');
                lines.write_frames(start, out);
            }
            Fold::Repeat { period, count } => {
                for i in start..start + period {
                    lines.write(i, out);
                }
                let last = &all[all.len() - 1];
                let _ = writeln!(
                    out,
                    "{:>12} {:<3} ⋮   the {period} lines above × {count} in all (to {})",
                    "",
                    conn_column(&all[..period]),
                    ms(last.at_nanos)
                );
            }
            Fold::Transfer { lines: n } => {
                lines.write(start, out);
                let hidden = &all[1..n - 1];
                let text: String = hidden.iter().map(|e| render(e) + "\n").collect();
                let _ = writeln!(
                    out,
                    "{:>12} {:<3} ⋮   {} lines of transfer, to {}: {} (digest {:016x})",
                    ms(hidden[0].at_nanos),
                    conn_column(all),
                    hidden.len(),
                    ms(hidden[hidden.len() - 1].at_nanos),
                    transfer_summary(hidden),
                    digest(text.as_bytes())
                );
                lines.write(start + n - 1, out);
            }
            Fold::Varied { period, count } => {
                for i in start..start + period {
                    lines.write(i, out);
                }
                let hidden = &all[period..all.len() - period];
                let text: String = hidden.iter().map(|e| render(e) + "\n").collect();
                let bytes: usize = hidden.iter().map(|e| payload_len(&e.event)).sum();
                let bytes = match bytes {
                    0 => String::new(),
                    n => format!(", {n} bytes each way in all"),
                };
                let _ = writeln!(
                    out,
                    "{:>12} {:<3} ⋮   {} more like the {period} line{} above, to {}{bytes} \
                     (digest {:016x})",
                    ms(hidden[0].at_nanos),
                    conn_column(&all[..period]),
                    count - 2,
                    if period == 1 { "" } else { "s" },
                    ms(hidden[hidden.len() - 1].at_nanos),
                    digest(text.as_bytes())
                );
                for i in start + all.len() - period..start + all.len() {
                    lines.write(i, out);
                }
            }
        }
    }
}

/// The entries with what the text form derives from them: the HTTP/2 frames each bytes line
/// completes ([`h2_frames`]).
struct Lines<'a> {
    entries: &'a [Entry],
    frames: BTreeMap<usize, Vec<String>>,
}

impl Lines<'_> {
    /// Entry `i`'s line, then its frames.
    fn write(&self, i: usize, out: &mut String) {
        let _ = writeln!(out, "{}", render(&self.entries[i]));
        self.write_frames(i, out);
    }

    /// Under a bytes line, one line per HTTP/2 frame it completes.
    fn write_frames(&self, i: usize, out: &mut String) {
        let Some(frames) = self.frames.get(&i) else {
            return;
        };
        let entry = &self.entries[i];
        let conn = entry.conn.map_or(String::new(), |c| format!("c{c}"));
        for frame in frames {
            let _ = writeln!(out, "{:>12} {conn:<3} {}   {frame}", "", entry.event.tag());
        }
    }
}

/// The connection column for a block: its connection if all of it is about one.
fn conn_column(block: &[Entry]) -> String {
    match block[0].conn {
        Some(c) if block.iter().all(|e| e.conn == Some(c)) => format!("c{c}"),
        _ => String::new(),
    }
}

/// The same events on the same connections, whatever the times.
fn same_events(a: &[Entry], b: &[Entry]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x.conn == y.conn && x.event == y.event)
}

/// The same events up to sizes, bytes and deadlines, on the same connections.
fn same_shape(a: &[Entry], b: &[Entry]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| x.conn == y.conn && shape_of(&x.event) == shape_of(&y.event))
}

/// An event with its sizes, bytes and deadlines blanked: what stays the same while a body is
/// written a byte at a time.
fn shape_of(event: &Event) -> Event {
    let mut shape = event.clone();
    match &mut shape {
        Event::ClientSent { bytes } | Event::ClientReceived { bytes } => {
            *bytes = Default::default()
        }
        Event::Server { event }
        | Event::Upstream { event, .. }
        | Event::ProxyClient { event, .. } => blank_server_event(event),
        Event::Fault { fault, decision } => {
            *decision = decision.map(|(conn, _)| (conn, 0));
            match fault {
                Fault::ReadCut { bytes } | Fault::LinkReadCut { bytes, .. } => *bytes = 0,
                Fault::PartialWrite { written, offered }
                | Fault::WindowWrite { written, offered }
                | Fault::LinkPartialWrite {
                    written, offered, ..
                } => (*written, *offered) = (0, 0),
                Fault::ReadStall { millis } => *millis = 0,
                _ => {}
            }
        }
        _ => {}
    }
    shape
}

/// An engine event with its sizes, deadlines and request ids blanked: the same work for the
/// next request (a hundred streams answered alike) has the same shape.
fn blank_server_event(event: &mut ServerEvent) {
    const ANY: RequestId = RequestId::from_sequence(0);
    match event {
        ServerEvent::Read { bytes } | ServerEvent::Write { bytes } => *bytes = 0,
        ServerEvent::Body { id, bytes } => (*id, *bytes) = (ANY, 0),
        ServerEvent::Request { id, .. }
        | ServerEvent::BodyEnd { id }
        | ServerEvent::Pull { id }
        | ServerEvent::Lost { id }
        | ServerEvent::Informational { id, .. }
        | ServerEvent::Response { id, .. } => *id = ANY,
        ServerEvent::ProtocolError { id, .. } => *id = id.map(|_| ANY),
        ServerEvent::Producer { request, .. } => *request = ANY,
        ServerEvent::App { command } | ServerEvent::AppRefused { command, .. } => {
            blank_command(command)
        }
        ServerEvent::Timer {
            change: change @ TimerChange::Set(_),
            ..
        } => *change = TimerChange::Set(twine_engine::Instant::ZERO),
        _ => {}
    }
}

/// An app command with its sizes and request id blanked.
fn blank_command(command: &mut AppAction) {
    const ANY: RequestId = RequestId::from_sequence(0);
    match command {
        AppAction::Consume { request, bytes } => (*request, *bytes) = (ANY, 0),
        AppAction::Body { request, bytes } => (*request, *bytes) = (ANY, 0),
        AppAction::BodyParts { request, bytes, .. } => (*request, *bytes) = (ANY, 0),
        AppAction::Respond { request, bytes, .. } => (*request, *bytes) = (ANY, 0),
        AppAction::Informational { request, .. }
        | AppAction::Head { request, .. }
        | AppAction::Finish { request }
        | AppAction::Close { request }
        | AppAction::Abort { request }
        | AppAction::RegisterProducer { request, .. }
        | AppAction::UnregisterProducer { request } => *request = ANY,
        AppAction::Drain | AppAction::SendRequest { .. } | AppAction::Other { .. } => {}
    }
}

/// Whether an event only moves bytes: what a transfer fold hides.
fn is_transfer(event: &Event) -> bool {
    match event {
        Event::ClientSent { .. } | Event::ClientReceived { .. } => true,
        Event::Server { event } => matches!(
            event,
            ServerEvent::Read { .. }
                | ServerEvent::Write { .. }
                | ServerEvent::TransportStillBlocked
        ),
        Event::Fault { fault, .. } => matches!(
            fault,
            Fault::ReadCut { .. }
                | Fault::LinkReadCut { .. }
                | Fault::LinkPartialWrite { .. }
                | Fault::PartialWrite { .. }
                | Fault::WindowWrite { .. }
                | Fault::WindowFull
        ),
        _ => false,
    }
}

/// What a run of transfer lines moved, by kind: how many lines, how many bytes.
fn transfer_summary(lines: &[Entry]) -> String {
    // (what, lines, bytes), in a fixed order.
    let mut kinds: [(&str, usize, usize); 6] = [
        ("c→s", 0, 0),
        ("s→c", 0, 0),
        ("server reads", 0, 0),
        ("engine writes", 0, 0),
        ("partial writes", 0, 0),
        ("other", 0, 0),
    ];
    for entry in lines {
        let (kind, bytes) = match &entry.event {
            Event::ClientSent { bytes } => (0, bytes.len()),
            Event::ClientReceived { bytes } => (1, bytes.len()),
            Event::Server {
                event: ServerEvent::Read { bytes },
            } => (2, *bytes),
            Event::Server {
                event: ServerEvent::Write { bytes },
            } => (3, *bytes),
            Event::Fault {
                fault: Fault::PartialWrite { written, .. } | Fault::WindowWrite { written, .. },
                ..
            } => (4, *written),
            _ => (5, 0),
        };
        kinds[kind].1 += 1;
        kinds[kind].2 += bytes;
    }
    let shown: Vec<String> = kinds
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(what, n, bytes)| match *what {
            "other" => format!("{n} other"),
            _ => format!("{what} {n} ({bytes} bytes)"),
        })
        .collect();
    shown.join(", ")
}

/// The bytes an event carries on the wire, for the fold's summary.
fn payload_len(event: &Event) -> usize {
    match event {
        Event::ClientSent { bytes } | Event::ClientReceived { bytes } => bytes.len(),
        _ => 0,
    }
}

/// Simulated time as the trace prints it.
pub fn ms(at_nanos: u64) -> String {
    let micros = at_nanos / 1_000;
    format!("{}.{:03}ms", micros / 1_000, micros % 1_000)
}

fn render(entry: &Entry) -> String {
    let conn = entry.conn.map_or(String::new(), |c| format!("c{c}"));
    let time = ms(entry.at_nanos);
    format!("{time:>12} {conn:<3} {} {}", entry.event.tag(), entry.event)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::event::ServerEvent;

    fn at(ms: u64, conn: u32, event: Event) -> Entry {
        Entry {
            at_nanos: ms * 1_000_000,
            conn: Some(conn),
            event,
        }
    }

    fn write(bytes: usize) -> Event {
        Event::server(ServerEvent::Write { bytes })
    }

    fn received(bytes: &'static [u8]) -> Event {
        Event::ClientReceived {
            bytes: Bytes::from_static(bytes),
        }
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
            "{\"at_nanos\":1500000,\"conn\":3,\"source\":\"client_sent\",\
             \"bytes\":\"\\\"x\\\\r\\\\n\\\"\"}\n"
        );
    }

    #[test]
    fn identical_lines_fold_into_one_with_a_count() {
        let mut entries: Vec<Entry> = (0..5).map(|i| at(3 + i, 0, write(16))).collect();
        entries.push(at(9, 0, write(7)));
        let trace = Trace { entries };
        assert_eq!(
            trace.to_text(),
            "     3.000ms c0  s   write 16 bytes × 5 (to 7.000ms)\n\
             \x20    9.000ms c0  s   write 7 bytes\n"
        );
        // JSON lines keep every event.
        assert_eq!(trace.to_json_lines().lines().count(), 6);
    }

    #[test]
    fn a_repeating_pair_folds_into_the_pair_and_a_count() {
        let body = Event::server(ServerEvent::App {
            command: AppAction::Body {
                request: twine_engine::RequestId::from_sequence(0),
                bytes: 4,
            },
        });
        let entries = (0..3)
            .flat_map(|_| [at(3, 0, body.clone()), at(3, 0, write(4))])
            .collect();
        let folded = concat!(
            "     3.000ms c0  s   app body req#0 4 bytes\n",
            "     3.000ms c0  s   write 4 bytes\n",
            "             c0  ⋮   the 2 lines above × 3 in all (to 3.000ms)\n",
        );
        assert_eq!(Trace { entries }.to_text(), folded);
    }

    #[test]
    fn varied_runs_show_first_and_last_around_a_digest() {
        let bytes: [&'static [u8]; 5] = [b"a", b"b", b"c", b"d", b"e"];
        let entries: Vec<Entry> = bytes
            .iter()
            .enumerate()
            .map(|(i, b)| at(i as u64, 1, received(b)))
            .collect();
        let text = Trace {
            entries: entries.clone(),
        }
        .to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], "     0.000ms c1  s→c \"a\"");
        assert!(
            lines[1].starts_with(
                "     1.000ms c1  ⋮   3 more like the 1 line above, to 3.000ms, \
                 3 bytes each way in all (digest "
            ),
            "{text}"
        );
        assert_eq!(lines[2], "     4.000ms c1  s→c \"e\"");
        // A hidden byte that changes changes the text.
        let mut changed = entries;
        changed[2] = at(2, 1, received(b"X"));
        assert_ne!(Trace { entries: changed }.to_text(), text);
    }

    #[test]
    fn transfer_runs_fold_into_a_summary() {
        let mut entries: Vec<Entry> = (0..4)
            .flat_map(|i| [at(i, 0, write(10)), at(i, 0, received(b"0123456789"))])
            .collect();
        entries[2] = at(1, 0, write(7));
        entries.push(at(9, 0, Event::server(ServerEvent::ReadEof)));
        let text = Trace { entries }.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[0], "     0.000ms c0  s   write 10 bytes");
        assert!(
            lines[1].starts_with(
                "     0.000ms c0  ⋮   6 lines of transfer, to 3.000ms: \
                 s→c 3 (30 bytes), engine writes 3 (27 bytes) (digest "
            ),
            "{text}"
        );
        assert_eq!(lines[2], "     3.000ms c0  s→c \"0123456789\"");
        assert_eq!(lines[3], "     9.000ms c0  s   read EOF");
    }

    #[test]
    fn different_events_are_never_folded() {
        let entries = vec![
            at(1, 0, Event::server(ServerEvent::ReadEof)),
            at(1, 0, Event::server(ServerEvent::ShutdownWrite)),
            at(1, 0, Event::server(ServerEvent::SocketClosed)),
        ];
        assert_eq!(Trace { entries }.to_text().lines().count(), 3);
    }

    /// The same work for one request after another (a hundred streams answered alike) folds
    /// though the request ids differ, as sizes may; the first and last blocks stay whole.
    #[test]
    fn blocks_that_differ_only_in_request_ids_fold() {
        let entries: Vec<Entry> = (0..6u64)
            .flat_map(|i| {
                let id = RequestId::from_sequence(i);
                [
                    at(1, 0, Event::server(ServerEvent::BodyEnd { id })),
                    at(1, 0, Event::server(ServerEvent::Lost { id })),
                ]
            })
            .collect();
        let text = Trace { entries }.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[0], "     1.000ms c0  s   event body end req#0");
        assert!(
            lines[2].starts_with("     1.000ms c0  ⋮   4 more like the 2 lines above, to 1.000ms"),
            "{text}"
        );
        assert_eq!(lines[4], "     1.000ms c0  s   event lost req#5");
    }
}
