//! Patterns over trace entries, for expectations written against a run ("the producer of
//! req#0 paused, then the linger timer fired"): each pattern matches events by variant and
//! value, never by rendered text, and says what it looks for in a failure message.

use std::fmt;
use std::rc::Rc;

use twine_engine::{
    CloseReason, Instant, ProducerState, ProtocolErrorKind, ReadState, RequestId, Timer,
    TimerChange,
};

use crate::event::{AppAction, ClientEvent, Event, Fault, ServerEvent};
use crate::trace::{Entry, Trace};

/// A test of a whole trace entry, its time included.
type EntryTest = Rc<dyn Fn(&Entry) -> bool>;

/// A predicate over one trace entry, with a label for messages.
#[derive(Clone)]
pub struct Pattern {
    label: String,
    conn: Option<u32>,
    at_nanos: Option<u64>,
    test: Rc<dyn Fn(&Event) -> bool>,
    /// A test of the whole entry (its time), on top of `test` ([`timer_set_after`]).
    entry_test: Option<EntryTest>,
    /// Set when the pattern is about what a connection accumulated rather than one entry:
    /// `test` is true for an entry that could contribute, but [`Pattern::find`] and
    /// [`Pattern::count`] match the entries that complete it, however the bytes were cut.
    accumulated: Option<Accumulated>,
}

/// What a connection accumulates, for patterns that hold however its bytes were cut.
#[derive(Clone, Copy)]
enum Accumulated {
    /// A needle in one direction's stream ([`bytes_received`], [`bytes_sent`]).
    Stream(StreamNeedle),
    /// A request's body reaching a total ([`body_total`]).
    BodyTotal { id: RequestId, bytes: usize },
    /// A response head with a field line, in the stream to the client
    /// ([`response_head_with`]).
    HeadWith {
        start: &'static [u8],
        field: &'static [u8],
    },
}

/// A needle looked for in a connection's stream in one direction.
#[derive(Clone, Copy)]
struct StreamNeedle {
    toward: Toward,
    needle: &'static [u8],
}

/// Which stream a [`StreamNeedle`] is looked for in: the bytes going toward whom.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Toward {
    /// What a client received, per client connection.
    Client,
    /// What a client sent, per client connection.
    Server,
    /// What a scripted origin read from the proxy, per origin connection.
    Origin,
}

impl StreamNeedle {
    /// The bytes of `event` if it carries this direction's stream.
    fn bytes<'e>(&self, event: &'e Event) -> Option<&'e [u8]> {
        match (self.toward, event) {
            (Toward::Client, Event::ClientReceived { bytes })
            | (Toward::Server, Event::ClientSent { bytes })
            | (Toward::Origin, Event::UpstreamReceived { bytes, .. }) => Some(bytes),
            _ => None,
        }
    }

    /// The connection whose stream `entry` continues: the client's it is recorded on, or for
    /// what a scripted origin read, the origin's.
    fn stream_of(entry: &Entry) -> Option<u32> {
        match &entry.event {
            Event::UpstreamReceived { conn, .. } => Some(*conn),
            _ => entry.conn,
        }
    }
}

impl Pattern {
    /// Events for which `test` holds, described by `label`.
    pub fn new(label: impl Into<String>, test: impl Fn(&Event) -> bool + 'static) -> Pattern {
        Pattern {
            label: label.into(),
            conn: None,
            at_nanos: None,
            test: Rc::new(test),
            entry_test: None,
            accumulated: None,
        }
    }

    /// `needle` in the stream toward `toward`.
    fn stream(label: String, toward: Toward, needle: &'static [u8]) -> Pattern {
        let looked_for = StreamNeedle { toward, needle };
        let mut pattern = Pattern::new(label, move |e| {
            looked_for
                .bytes(e)
                .is_some_and(|bytes| contains(bytes, needle))
        });
        pattern.accumulated = Some(Accumulated::Stream(looked_for));
        pattern
    }

    /// Exactly this event.
    pub fn exact(event: Event) -> Pattern {
        let label = format!("{} {event}", event.tag().trim_end());
        Pattern::new(label, move |e| *e == event)
    }

    /// The same pattern, on connection `conn` only.
    pub fn on(mut self, conn: u32) -> Pattern {
        self.conn = Some(conn);
        self
    }

    /// The same pattern, at exactly `millis` after the start of the run only.
    pub fn at_millis(mut self, millis: u64) -> Pattern {
        self.at_nanos = Some(millis * 1_000_000);
        self
    }

    /// Events that match this pattern or `other`.
    pub fn or(self, other: Pattern) -> Pattern {
        let label = format!("{self} or {other}");
        Pattern::new(label, move |e| (self.test)(e) || (other.test)(e))
    }

    /// Whether `entry` matches.
    pub fn matches(&self, entry: &Entry) -> bool {
        self.conn.is_none_or(|c| entry.conn == Some(c))
            && self.at_nanos.is_none_or(|at| entry.at_nanos == at)
            && (self.test)(&entry.event)
            && self.entry_test.as_ref().is_none_or(|test| test(entry))
    }

    /// The index of the first entry from `from` on that matches.
    pub fn find(&self, trace: &Trace, from: usize) -> Option<usize> {
        if self.accumulated.is_some() {
            return self
                .accumulated_matches(trace)
                .into_iter()
                .find(|&i| i >= from);
        }
        let rest = trace.entries.get(from..)?;
        rest.iter().position(|e| self.matches(e)).map(|i| from + i)
    }

    /// How many entries match.
    pub fn count(&self, trace: &Trace) -> usize {
        if self.accumulated.is_some() {
            return self.accumulated_matches(trace).len();
        }
        trace.entries.iter().filter(|e| self.matches(e)).count()
    }

    /// The entries that complete what the pattern accumulates, on the connections and at the
    /// time it asks for.
    fn accumulated_matches(&self, trace: &Trace) -> Vec<usize> {
        let found = match self.accumulated {
            Some(Accumulated::Stream(looked_for)) => stream_matches(looked_for, trace),
            Some(Accumulated::BodyTotal { id, bytes }) => body_total_matches(id, bytes, trace),
            Some(Accumulated::HeadWith { start, field }) => head_with_matches(start, field, trace),
            None => Vec::new(),
        };
        found
            .into_iter()
            .filter(|&index| {
                let entry = &trace.entries[index];
                self.conn.is_none_or(|c| entry.conn == Some(c))
                    && self.at_nanos.is_none_or(|at| entry.at_nanos == at)
            })
            .collect()
    }
}

/// The entries whose bytes complete an occurrence of the needle in their connection's stream
/// (occurrences do not overlap; an entry completing several counts once, as a segment holding
/// several did).
fn stream_matches(looked_for: StreamNeedle, trace: &Trace) -> Vec<usize> {
    let needle = looked_for.needle;
    // Per connection: the stream so far, and where the next occurrence may start.
    let mut streams: std::collections::BTreeMap<u32, (Vec<u8>, usize)> = Default::default();
    let mut found = Vec::new();
    for (index, entry) in trace.entries.iter().enumerate() {
        let (Some(conn), Some(bytes)) = (
            StreamNeedle::stream_of(entry),
            looked_for.bytes(&entry.event),
        ) else {
            continue;
        };
        let (stream, next) = streams.entry(conn).or_default();
        let before = stream.len();
        stream.extend_from_slice(bytes);
        // Only occurrences that end inside this entry's bytes.
        let start = (*next).max((before + 1).saturating_sub(needle.len()));
        let Some(at) = find(&stream[start..], needle) else {
            continue;
        };
        *next = start + at + needle.len();
        found.push(index);
    }
    found
}

/// The entries that complete, in their connection's stream to the client, a response head
/// that begins with `start` and holds the line `field` (heads do not overlap).
fn head_with_matches(start: &[u8], field: &[u8], trace: &Trace) -> Vec<usize> {
    const HEAD_END: &[u8] = b"\r\n\r\n";
    // Per connection: the stream so far, and where the next head may start.
    let mut streams: std::collections::BTreeMap<u32, (Vec<u8>, usize)> = Default::default();
    let mut found = Vec::new();
    for (index, entry) in trace.entries.iter().enumerate() {
        let (Some(conn), Event::ClientReceived { bytes }) = (entry.conn, &entry.event) else {
            continue;
        };
        let (stream, next) = streams.entry(conn).or_default();
        let before = stream.len();
        stream.extend_from_slice(bytes);
        while let Some(at) = find(&stream[*next..], start).map(|at| *next + at) {
            let Some(end) = find(&stream[at..], HEAD_END).map(|e| at + e + HEAD_END.len()) else {
                break; // The head is not complete yet: look again with more bytes.
            };
            *next = end;
            // `\r\n` before the field: a line of the head, not a substring of another line.
            let head = &stream[at..end];
            let has_field = head
                .windows(field.len() + 2)
                .any(|w| w.starts_with(b"\r\n") && &w[2..] == field);
            if has_field && end > before {
                found.push(index);
                break;
            }
        }
        if find(&stream[*next..], start).is_none() {
            // No head starts before the last bytes that could begin one.
            *next = (*next).max((stream.len() + 1).saturating_sub(start.len()));
        }
    }
    found
}

/// The body events that bring request `id`'s body, on their connection, to `bytes` in all.
fn body_total_matches(id: RequestId, bytes: usize, trace: &Trace) -> Vec<usize> {
    let mut totals: std::collections::BTreeMap<u32, usize> = Default::default();
    let mut found = Vec::new();
    for (index, entry) in trace.entries.iter().enumerate() {
        let (
            Some(conn),
            Some(ServerEvent::Body {
                id: body_of,
                bytes: n,
            }),
        ) = (entry.conn, entry.event.as_server())
        else {
            continue;
        };
        if *body_of != id {
            continue;
        }
        let total = totals.entry(conn).or_default();
        let before = *total;
        *total += n;
        if before < bytes && *total >= bytes {
            found.push(index);
        }
    }
    found
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = self.at_nanos {
            write!(f, "{} ", crate::trace::ms(at))?;
        }
        match self.conn {
            Some(conn) => write!(f, "c{conn} {}", self.label),
            None => f.write_str(&self.label),
        }
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl From<ServerEvent> for Pattern {
    fn from(event: ServerEvent) -> Pattern {
        Pattern::exact(Event::server(event))
    }
}

impl From<ClientEvent> for Pattern {
    fn from(event: ClientEvent) -> Pattern {
        Pattern::exact(Event::client(event))
    }
}

/// Exactly this server event.
pub fn server(event: ServerEvent) -> Pattern {
    event.into()
}

/// Exactly this client event.
pub fn client(event: ClientEvent) -> Pattern {
    event.into()
}

/// A server event for which `test` holds.
pub fn server_where(label: &str, test: impl Fn(&ServerEvent) -> bool + 'static) -> Pattern {
    Pattern::new(format!("s {label}"), move |e| {
        e.as_server().is_some_and(&test)
    })
}

/// A fault for which `test` holds.
pub fn fault_where(label: &str, test: impl Fn(&Fault) -> bool + 'static) -> Pattern {
    Pattern::new(format!("! {label}"), move |e| {
        e.as_fault().is_some_and(&test)
    })
}

/// The server closed: `close graceful` or `close abort`.
pub fn close(reason: CloseReason) -> Pattern {
    server(ServerEvent::Close { reason })
}

/// The producer of request `request` moved to `state`.
pub fn producer(request: u64, state: ProducerState) -> Pattern {
    server(ServerEvent::Producer {
        request: RequestId::from_sequence(request),
        state,
    })
}

/// Exactly this app command.
pub fn app(command: AppAction) -> Pattern {
    server(ServerEvent::App { command })
}

/// The app finished request `request`.
pub fn finish(request: u64) -> Pattern {
    app(AppAction::Finish {
        request: RequestId::from_sequence(request),
    })
}

/// The app sent a head with `status` for request `request`.
pub fn head(request: u64, status: u16) -> Pattern {
    app(AppAction::Head {
        request: RequestId::from_sequence(request),
        status,
    })
}

/// Any app command for which `test` holds.
pub fn app_where(label: &str, test: impl Fn(&AppAction) -> bool + 'static) -> Pattern {
    server_where(&format!("app {label}"), move |e| match e {
        ServerEvent::App { command } => test(command),
        _ => false,
    })
}

/// The app finished some request.
pub fn any_finish() -> Pattern {
    app_where("finish", |c| matches!(c, AppAction::Finish { .. }))
}

/// The app sent some response head.
pub fn any_head() -> Pattern {
    app_where("head", |c| matches!(c, AppAction::Head { .. }))
}

/// The app sent body bytes for request `request`, however many.
pub fn app_body(request: u64) -> Pattern {
    app_where(
        &format!("body req#{request}"),
        move |c| matches!(c, AppAction::Body { request: r, .. } if r.sequence() == request),
    )
}

/// The engine refused some app command.
pub fn any_app_refused() -> Pattern {
    server_where("app error", |e| matches!(e, ServerEvent::AppRefused { .. }))
}

/// Some engine event reached the app (a request, body bytes, a loss, a protocol error...).
pub fn any_engine_event() -> Pattern {
    server_where("event", |e| {
        matches!(
            e,
            ServerEvent::Request { .. }
                | ServerEvent::Body { .. }
                | ServerEvent::BodyEnd { .. }
                | ServerEvent::Pull { .. }
                | ServerEvent::Lost { .. }
                | ServerEvent::ProtocolError { .. }
                | ServerEvent::OtherEvent { .. }
        )
    })
}

/// Any server event that concerns request `request`: an engine event, an app command on it,
/// or its producer.
pub fn concerning(request: u64) -> Pattern {
    let id = RequestId::from_sequence(request);
    server_where(&format!("anything of req#{request}"), move |e| match e {
        ServerEvent::Request { id: i, .. }
        | ServerEvent::Body { id: i, .. }
        | ServerEvent::BodyEnd { id: i }
        | ServerEvent::Pull { id: i }
        | ServerEvent::Lost { id: i } => *i == id,
        ServerEvent::ProtocolError { id: i, .. } => *i == Some(id),
        ServerEvent::Producer { request: r, .. } => *r == id,
        ServerEvent::App { command } | ServerEvent::AppRefused { command, .. } => {
            app_request(command) == Some(id)
        }
        _ => false,
    })
}

/// The request an app command is about.
fn app_request(command: &AppAction) -> Option<RequestId> {
    match command {
        AppAction::Consume { request, .. }
        | AppAction::Informational { request, .. }
        | AppAction::Head { request, .. }
        | AppAction::Body { request, .. }
        | AppAction::BodyParts { request, .. }
        | AppAction::Finish { request }
        | AppAction::Respond { request, .. }
        | AppAction::Close { request }
        | AppAction::Abort { request }
        | AppAction::RegisterProducer { request, .. }
        | AppAction::UnregisterProducer { request } => Some(*request),
        AppAction::Drain | AppAction::SendRequest { .. } | AppAction::Other { .. } => None,
    }
}

/// Request `request` was lost.
pub fn lost(request: u64) -> Pattern {
    server(ServerEvent::Lost {
        id: RequestId::from_sequence(request),
    })
}

/// Any request was lost.
pub fn any_lost() -> Pattern {
    server_where("event lost", |e| matches!(e, ServerEvent::Lost { .. }))
}

/// The body of request `request` ended.
pub fn body_end(request: u64) -> Pattern {
    server(ServerEvent::BodyEnd {
        id: RequestId::from_sequence(request),
    })
}

/// `bytes` body bytes of request `request` reached the app.
pub fn body(request: u64, bytes: usize) -> Pattern {
    server(ServerEvent::Body {
        id: RequestId::from_sequence(request),
        bytes,
    })
}

/// The body of request `request` reached `bytes` bytes in all, in however many pieces: the
/// piece that got it there.
pub fn body_total(request: u64, bytes: usize) -> Pattern {
    let id = RequestId::from_sequence(request);
    let label = format!("body of req#{request} reaching {bytes} bytes");
    let mut pattern = Pattern::new(
        label,
        move |e| matches!(e.as_server(), Some(ServerEvent::Body { id: of, .. }) if *of == id),
    );
    pattern.accumulated = Some(Accumulated::BodyTotal { id, bytes });
    pattern
}

/// Request `request` arrived with this method and target.
pub fn request(request: u64, method: &'static str, target: &'static str) -> Pattern {
    let label = format!("event request req#{request} {method} {target}");
    server_where(&label, move |e| match e {
        ServerEvent::Request { id, line } => {
            *id == RequestId::from_sequence(request)
                && line.method.as_bytes() == method.as_bytes()
                && line.target == target
        }
        _ => false,
    })
}

/// Request `request` arrived, whatever its method and target.
pub fn request_id(request: u64) -> Pattern {
    server_where(
        &format!("event request req#{request}"),
        move |e| matches!(e, ServerEvent::Request { id, .. } if id.sequence() == request),
    )
}

/// Some request body bytes reached the app.
pub fn any_body() -> Pattern {
    server_where("event body", |e| {
        matches!(e, ServerEvent::Body { .. } | ServerEvent::BodyEnd { .. })
    })
}

/// Some request body ended.
pub fn any_body_end() -> Pattern {
    server_where("event body end", |e| {
        matches!(e, ServerEvent::BodyEnd { .. })
    })
}

/// Any request arrived.
pub fn any_request() -> Pattern {
    server_where("event request", |e| {
        matches!(e, ServerEvent::Request { .. })
    })
}

/// A protocol error of this kind (on any request, or none).
pub fn protocol_error(kind: ProtocolErrorKind) -> Pattern {
    server_where(
        &format!("event protocol error: {kind}"),
        move |e| matches!(e, ServerEvent::ProtocolError { kind: k, .. } if *k == kind),
    )
}

/// Any protocol error.
pub fn any_protocol_error() -> Pattern {
    server_where("event protocol error", |e| {
        matches!(e, ServerEvent::ProtocolError { .. })
    })
}

/// Any change of `timer`.
pub fn timer(timer: Timer) -> Pattern {
    server_where(
        &format!("timer {}", timer.name()),
        move |e| matches!(e, ServerEvent::Timer { timer: t, .. } if *t == timer),
    )
}

/// `timer` set, for whatever deadline.
pub fn timer_set(timer: Timer) -> Pattern {
    server_where(&format!("timer {} set", timer.name()), move |e| match e {
        ServerEvent::Timer { timer: t, change } => {
            *t == timer && matches!(change, TimerChange::Set(_))
        }
        _ => false,
    })
}

/// `timer` set for `millis` after the start of the run.
pub fn timer_set_for(timer: Timer, millis: u64) -> Pattern {
    server(ServerEvent::Timer {
        timer,
        change: TimerChange::Set(Instant::from_millis(millis)),
    })
}

/// `timer` set for `millis` after the moment it was set: its duration, wherever the run's
/// times fall (a cut of the bytes or another latency moves them).
pub fn timer_set_after(timer: Timer, millis: u64) -> Pattern {
    let label = format!("timer {} set for {millis}ms later", timer.name());
    let mut pattern = server_where(&label, move |e| match e {
        ServerEvent::Timer { timer: t, change } => {
            *t == timer && matches!(change, TimerChange::Set(_))
        }
        _ => false,
    });
    pattern.entry_test = Some(Rc::new(move |entry: &Entry| {
        match entry.event.as_server() {
            Some(ServerEvent::Timer {
                change: TimerChange::Set(at),
                ..
            }) => at.as_nanos() == entry.at_nanos + millis * 1_000_000,
            _ => false,
        }
    }));
    pattern
}

/// `timer` fired.
pub fn timer_fired(timer: Timer) -> Pattern {
    server(ServerEvent::Timer {
        timer,
        change: TimerChange::Fired,
    })
}

/// Some timer fired.
pub fn any_timer_fired() -> Pattern {
    server_where("timer fired", |e| {
        matches!(
            e,
            ServerEvent::Timer {
                change: TimerChange::Fired,
                ..
            }
        )
    })
}

/// `timer` cancelled.
pub fn timer_cancelled(timer: Timer) -> Pattern {
    server(ServerEvent::Timer {
        timer,
        change: TimerChange::Cancelled,
    })
}

/// Reading paused or resumed.
pub fn reading(state: ReadState) -> Pattern {
    server(ServerEvent::Reading { state })
}

/// The server read exactly `bytes` bytes in one read.
pub fn read(bytes: usize) -> Pattern {
    server(ServerEvent::Read { bytes })
}

/// The server read some bytes.
pub fn any_read() -> Pattern {
    server_where("read", |e| matches!(e, ServerEvent::Read { .. }))
}

/// The engine handed out exactly `bytes` bytes in one write.
pub fn write(bytes: usize) -> Pattern {
    server(ServerEvent::Write { bytes })
}

/// The engine handed out some bytes.
pub fn any_write() -> Pattern {
    server_where("write", |e| matches!(e, ServerEvent::Write { .. }))
}

/// The client received `needle`: in [`Pattern::find`] and [`Pattern::count`], the entry
/// whose bytes complete it in the connection's stream, however the stream was cut.
pub fn bytes_received(needle: &'static [u8]) -> Pattern {
    let label = format!("s→c {}", crate::escape::escape(needle));
    Pattern::stream(label, Toward::Client, needle)
}

/// The client received a response head that begins with `start` (its status line, or the
/// start of it) and holds the field line `field` (`Name: value\r\n`): the entry that
/// completes that head, however the stream was cut.
pub fn response_head_with(start: &'static [u8], field: &'static [u8]) -> Pattern {
    let label = format!(
        "s→c a head {} … {}",
        crate::escape::escape(start),
        crate::escape::escape(field)
    );
    let mut pattern = Pattern::new(label, |e| matches!(e, Event::ClientReceived { .. }));
    pattern.accumulated = Some(Accumulated::HeadWith { start, field });
    pattern
}

/// The client sent `needle`, found as [`bytes_received`] finds its needle.
pub fn bytes_sent(needle: &'static [u8]) -> Pattern {
    let label = format!("c→s {}", crate::escape::escape(needle));
    Pattern::stream(label, Toward::Server, needle)
}

/// A scripted origin read `needle` from the proxy, found as [`bytes_received`] finds its
/// needle, in the origin connection's stream (`u0`, ...: not a client's, so not for
/// [`Pattern::on`]).
pub fn origin_received(needle: &'static [u8]) -> Pattern {
    let label = format!("p→u {}", crate::escape::escape(needle));
    Pattern::stream(label, Toward::Origin, needle)
}

/// The client received some bytes.
pub fn any_received() -> Pattern {
    Pattern::new("s→c", |e| matches!(e, Event::ClientReceived { .. }))
}

/// A client read failed.
pub fn any_read_error() -> Pattern {
    Pattern::new("c read error", |e| {
        matches!(e.as_client(), Some(ClientEvent::ReadError(_)))
    })
}

/// A reset of any kind: the client reset, a read or write failed with a reset, or a reset
/// fault fired.
pub fn any_reset() -> Pattern {
    Pattern::new("reset", |e| match e {
        Event::Client { event } => matches!(
            event,
            ClientEvent::Reset
                | ClientEvent::ReadError(std::io::ErrorKind::ConnectionReset)
                | ClientEvent::WriteError(std::io::ErrorKind::ConnectionReset)
        ),
        Event::Fault { fault, .. } => matches!(fault, Fault::ResetAt { .. }),
        _ => false,
    })
}

/// A server read was cut short.
pub fn any_read_cut() -> Pattern {
    fault_where("read cut", |f| matches!(f, Fault::ReadCut { .. }))
}

/// A server write was partial, by decision or by the window.
pub fn any_partial_write() -> Pattern {
    fault_where("partial write", |f| {
        matches!(f, Fault::PartialWrite { .. } | Fault::WindowWrite { .. })
    })
}

/// A server write took exactly `written` bytes of whatever it was offered, by decision.
pub fn partial_write_of_size(written: usize) -> Pattern {
    fault_where(
        &format!("partial write {written} of"),
        move |f| matches!(f, Fault::PartialWrite { written: w, .. } if *w == written),
    )
}

/// This fault, whichever decision fired it.
pub fn fault(fault: Fault) -> Pattern {
    let label = format!("! {fault}");
    Pattern::new(label, move |e| e.as_fault() == Some(&fault))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn received(conn: u32, bytes: &'static [u8]) -> Entry {
        Entry {
            at_nanos: 0,
            conn: Some(conn),
            event: Event::ClientReceived {
                bytes: Bytes::from_static(bytes),
            },
        }
    }

    /// A needle cut across segments matches the entry that completes it; other connections'
    /// bytes do not join its stream; occurrences are counted, not overlapping.
    #[test]
    fn byte_patterns_look_in_the_stream_however_it_was_cut() {
        let trace = Trace {
            entries: vec![
                received(0, b"HTTP/1.1 200 OK\r\nConn"),
                received(1, b"ection: close\r\n"),
                received(0, b"ection: close\r\n\r\n"),
                received(0, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"),
            ],
        };
        let close = bytes_received(b"Connection: close\r\n");
        assert_eq!(close.find(&trace, 0), Some(2));
        assert_eq!(close.find(&trace, 3), Some(3));
        assert_eq!(close.count(&trace), 2);
        assert_eq!(close.clone().on(1).count(&trace), 0);
        assert_eq!(
            bytes_received(b"ction: close").on(1).find(&trace, 0),
            Some(1)
        );
        assert_eq!(bytes_received(b"close\r\n\r\nHTTP").count(&trace), 1);
        assert_eq!(bytes_sent(b"HTTP").count(&trace), 0);
    }

    /// A body's total is matched on the piece that reaches it, per connection and request.
    #[test]
    fn a_body_total_is_matched_however_the_body_was_cut() {
        let piece = |conn: u32, request: u64, bytes: usize| Entry {
            at_nanos: 0,
            conn: Some(conn),
            event: Event::server(ServerEvent::Body {
                id: RequestId::from_sequence(request),
                bytes,
            }),
        };
        let trace = Trace {
            entries: vec![
                piece(0, 0, 2),
                piece(1, 0, 4),
                piece(0, 1, 3),
                piece(0, 0, 3),
                piece(0, 0, 1),
            ],
        };
        assert_eq!(body_total(0, 5).find(&trace, 0), Some(3));
        assert_eq!(body_total(0, 5).count(&trace), 1);
        assert_eq!(body_total(0, 6).find(&trace, 0), Some(4));
        assert_eq!(body_total(0, 4).on(1).find(&trace, 0), Some(1));
        assert_eq!(body_total(1, 5).count(&trace), 0);
        assert_eq!(body_total(0, 7).count(&trace), 0);
    }

    /// A head is matched on the entry that completes it, only with the field in that head.
    #[test]
    fn a_head_with_a_field_is_matched_however_it_was_cut() {
        let trace = Trace {
            entries: vec![
                received(
                    0,
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 4",
                ),
                received(0, b"04 Not Found\r\nConn"),
                received(1, b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n"),
                received(0, b"ection: close\r\n"),
                received(0, b"\r\n"),
            ],
        };
        let close = response_head_with(b"HTTP/1.1 404 ", b"Connection: close\r\n");
        assert_eq!(close.find(&trace, 0), Some(2));
        assert_eq!(close.clone().on(0).find(&trace, 0), Some(4));
        assert_eq!(close.count(&trace), 2);
        let length = response_head_with(b"HTTP/1.1 404 ", b"Content-Length: 0\r\n");
        assert_eq!(length.count(&trace), 1);
        let reason = response_head_with(b"HTTP/1.1 404 ", b"Not Found\r\n");
        assert_eq!(reason.count(&trace), 0, "a field is a whole line");
    }

    /// A timer's duration is matched relative to the entry that set it.
    #[test]
    fn a_timer_is_matched_by_its_duration() {
        let set = |at_ms: u64, deadline_ms: u64| Entry {
            at_nanos: at_ms * 1_000_000,
            conn: Some(0),
            event: Event::server(ServerEvent::Timer {
                timer: Timer::IdleKeepAlive,
                change: TimerChange::Set(Instant::from_millis(deadline_ms)),
            }),
        };
        let trace = Trace {
            entries: vec![set(3, 1003), set(7, 2007), set(9, 2009)],
        };
        let two_seconds = timer_set_after(Timer::IdleKeepAlive, 2000);
        assert_eq!(two_seconds.find(&trace, 0), Some(1));
        assert_eq!(two_seconds.count(&trace), 2);
        assert_eq!(timer_set_after(Timer::HeaderRead, 2000).count(&trace), 0);
    }
}
