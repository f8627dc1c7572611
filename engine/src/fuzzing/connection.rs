//! The `channel` target: a whole connection driven by a script the fuzzer writes.
//!
//! The first bytes choose a [`Config`] with small limits (pipeline depth 1 to 4, buffers and
//! timeouts small enough to be reached); each later byte picks an operation, and the bytes
//! after it its arguments: bytes received (raw or one of a few canned requests, never more
//! than `recv_window`), the peer's EOF, the transport blocked or writable, the connection
//! lost, time passing (firing the due timers as a driver would), and application commands for
//! the newest requests (credit, 1xx, head, body, finish, abort, producers, drain). After every
//! input the outputs are drained, as the run loop requires.
//!
//! Properties, each from the engine's documentation (`io.rs`, `channel/mod.rs`):
//! 1. No panic, and `Channel::invariants` holds after every input and every drained output.
//! 2. Only application commands may return `Err`; peer, transport and clock inputs never do.
//!    An `Err` changes nothing: no output follows it.
//! 3. Nothing follows `Close`; `is_closed` says whether it came; `ShutdownWrite` comes at
//!    most once.
//! 4. Events are consistent: request ids increase; body bytes come only within the credit
//!    granted, never empty, and never after `BodyEnd`; each request ends and is lost at most
//!    once; every command for a lost request returns `RequestLost`.
//! 5. Producer states and pulls concern registered producers only; `Reading` changes are
//!    real changes, and while the peer's EOF has not come, reading is paused exactly when
//!    `recv_window` is 0.
//! 6. Timers: `Set` only for a timer not running, `Cancelled` and `Fired` only for a running
//!    one, and `Fired` only when its deadline has passed. `poll_timeout` is `Some` exactly when
//!    a timer runs, never earlier than the earliest reported deadline (pushing an idle timer
//!    back is silent), and after a `Timeout` input it is later than `now`: every due timer
//!    was handled, so a driver never spins.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::Reader;
use crate::config::{Config, Limits, Timeouts};
use crate::error::UsageError;
use crate::io::{
    AppCommand, Event, Input, Output, ProducerKind, ProducerState, ReadState, RequestId, Timer,
    TimerChange, TransportState,
};
use crate::message::ResponseHead;
use crate::time::{Duration, Instant};
use crate::Channel;

/// Each operation takes at least one byte; this bounds a script however long.
const STEPS_MAX: usize = 20_000;

/// Due timers fired in one step of time (each fire ends a phase of the connection).
const FIRES_MAX: usize = 64;

/// Requests and fragments a client sends, so the fuzzer reaches deep states quickly.
#[rustfmt::skip]
const CANNED: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /l HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\n",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"3\r\nabc\r\n",
    b"0\r\nTrailer: t\r\n\r\n",
    b"GET /old HTTP/1.0\r\n\r\n",
    b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"HEAD /h HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /bad HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
    b"abcdefgh",
    b"\r\n",
];

pub(super) fn check(data: &[u8]) {
    let mut reader = Reader::new(data);
    let config = config(&mut reader);
    let mut run = Run::new(config);
    for _ in 0..STEPS_MAX {
        if reader.is_empty() {
            break;
        }
        run.step(&mut reader);
    }
    // However the script ended, losing the connection closes it.
    run.input(Input::ConnectionLost { now: run.now });
    assert!(
        run.closed && run.channel.is_closed(),
        "open after ConnectionLost"
    );
}

/// A configuration with small limits and timeouts, from the first bytes of the script.
fn config(reader: &mut Reader<'_>) -> Config {
    let mut byte = || reader.byte();
    let limits = Limits {
        request_line_bytes_max: 8 + usize::from(byte() % 120),
        head_bytes_max: 8 + usize::from(byte()),
        header_count_max: usize::from(byte() % 8),
        chunk_line_bytes_max: usize::from(byte() % 32),
        trailer_bytes_max: usize::from(byte() % 64),
        body_bytes_max: match byte() {
            b @ 0..=127 => Some(u64::from(b) * 4),
            _ => None,
        },
        recv_buffer_bytes_max: usize::from(byte()),
        send_buffer_bytes_max: usize::from(byte()) * 4,
        pipeline_depth_max: 1 + usize::from(byte() % 4),
        linger_bytes_max: u64::from(byte()) * 8,
    };
    // At least 1 ms: a zero timeout is armed at `now` and is due at once, which a driver
    // handles but which would make property 6's "later than now" vacuous.
    let mut timeout = || Duration::from_millis(1 + u64::from(byte()) * 4);
    let timeouts = Timeouts {
        header_read: timeout(),
        body_read: timeout(),
        idle_keep_alive: timeout(),
        send_stall: timeout(),
        linger: timeout(),
        abort: timeout(),
    };
    let flags = byte();
    Config {
        limits,
        timeouts,
        h2: crate::config::H2Limits::DEFAULT,
        server_name: (flags & 1 == 0).then_some("twine"),
        date_origin_unix_millis: (flags & 2 == 0).then_some(1_700_000_000_000),
        // The script follows the timers by their reported arms and cancels.
        timer_reports: crate::config::TimerReports::All,
    }
}

/// What the script knows about one request, from the outputs.
#[derive(Debug, Default)]
struct Request {
    /// Credit granted by successful `Consume` commands.
    granted: u64,
    /// Body bytes delivered.
    delivered: u64,
    body_ended: bool,
    lost: bool,
    /// The producer the app registered and the channel has not stopped.
    producer: Option<ProducerKind>,
}

/// The channel, the clock, and what the outputs said so far.
struct Run {
    channel: Channel,
    now: Instant,
    requests: BTreeMap<RequestId, Request>,
    /// A `Close` came.
    closed: bool,
    shutdown_write: bool,
    eof_sent: bool,
    /// The reading state last reported (a new channel reads).
    reading: ReadState,
    /// Each timer's deadline as reported by `Timer` outputs.
    timers: [Option<Instant>; Timer::ALL.len()],
}

impl Run {
    fn new(config: Config) -> Run {
        let now = Instant::ZERO;
        let mut run = Run {
            channel: Channel::new(config, now),
            now,
            requests: BTreeMap::new(),
            closed: false,
            shutdown_write: false,
            eof_sent: false,
            reading: ReadState::Resumed,
            timers: [None; Timer::ALL.len()],
        };
        run.drain();
        run.check_state(false);
        run
    }

    fn step(&mut self, reader: &mut Reader<'_>) {
        match reader.byte() % 24 {
            0..=4 => {
                let len = usize::from(reader.byte());
                let bytes = reader.take(len);
                self.receive(bytes);
            }
            5..=7 => {
                let canned = CANNED[usize::from(reader.byte()) % CANNED.len()];
                self.receive(canned);
            }
            8 => {
                self.eof_sent = true;
                self.input(Input::ReceivedEof { now: self.now });
            }
            9 => self.input(Input::Transport {
                now: self.now,
                state: TransportState::Blocked,
            }),
            10 => self.input(Input::Transport {
                now: self.now,
                state: TransportState::Writable,
            }),
            11 => {
                let to = self.now + Duration::from_millis(u64::from(reader.byte()) * 4);
                self.advance(to);
            }
            12 => {
                if let Some(deadline) = self.channel.poll_timeout() {
                    self.advance(deadline.max(self.now));
                }
            }
            13 => self.input(Input::ConnectionLost { now: self.now }),
            14..=22 => {
                let command = self.command(reader);
                self.app(command);
            }
            _ => {
                // A whole response in three commands, so that responses finish often.
                let request = self.pick_request(reader);
                let length = reader.byte() % 16;
                let head = ResponseHead::new(200).with_header("Content-Length", length.to_string());
                self.app(AppCommand::SendHead { request, head });
                let data = Bytes::from(vec![b'r'; usize::from(length)]);
                self.app(AppCommand::SendBody { request, data });
                self.app(AppCommand::Finish { request });
            }
        }
    }

    /// Bytes from the peer, as much as the channel's window takes (a driver reads no more).
    fn receive(&mut self, bytes: &[u8]) {
        let window = self.channel.recv_window();
        let bytes = &bytes[..bytes.len().min(window)];
        if !bytes.is_empty() {
            self.input(Input::Received {
                now: self.now,
                bytes,
            });
        }
    }

    /// Time passes until `to`; a driver wakes at every deadline on the way.
    fn advance(&mut self, to: Instant) {
        for _ in 0..FIRES_MAX {
            match self.channel.poll_timeout() {
                Some(deadline) if deadline <= to => {
                    self.now = self.now.max(deadline);
                    self.input(Input::Timeout { now: self.now });
                }
                _ => break,
            }
        }
        self.now = self.now.max(to);
    }

    /// An application command, from the script.
    fn command(&mut self, reader: &mut Reader<'_>) -> AppCommand {
        let op = reader.byte();
        let request = self.pick_request(reader);
        let arg = reader.byte();
        match op % 12 {
            0 => AppCommand::Consume {
                request,
                bytes: [0, 1, 3, 16, 1000, u64::MAX, u64::from(arg)][usize::from(arg % 7)],
            },
            1 => {
                let status = [100, 102, 103, 101, 200, 199][usize::from(arg % 6)];
                let head = ResponseHead::new(status);
                AppCommand::SendInformational { request, head }
            }
            2 => AppCommand::SendHead {
                request,
                head: response_head(arg, reader.byte()),
            },
            3 => {
                let len = match arg {
                    0..=191 => usize::from(arg % 48),
                    _ => usize::from(arg - 191) * 64,
                };
                let data = Bytes::from(vec![b'b'; len]);
                AppCommand::SendBody { request, data }
            }
            4 => AppCommand::Finish { request },
            5 => AppCommand::Abort { request },
            6 => {
                let kind = match arg % 2 {
                    0 => ProducerKind::Push,
                    _ => ProducerKind::Pull,
                };
                AppCommand::RegisterProducer { request, kind }
            }
            7 => AppCommand::UnregisterProducer { request },
            8 => {
                let sizes = [0, 1, 7, 48, 300];
                let parts = (0..arg % 4)
                    .map(|i| {
                        Bytes::from(vec![
                            b'p';
                            sizes[usize::from((arg >> 2).wrapping_add(i)) % 5]
                        ])
                    })
                    .collect();
                AppCommand::SendBodyParts { request, parts }
            }
            9 => AppCommand::Close { request },
            10 => AppCommand::Respond {
                request,
                head: response_head(arg, reader.byte()),
                body: Bytes::from(vec![b'r'; usize::from(arg % 9)]),
            },
            _ => AppCommand::Drain,
        }
    }

    /// One of the four newest requests, mostly; sometimes an id never dispatched.
    fn pick_request(&self, reader: &mut Reader<'_>) -> RequestId {
        let byte = reader.byte();
        let newest = self.requests.keys().rev().take(4).collect::<Vec<_>>();
        if byte >= 0xf0 || newest.is_empty() {
            let after = self
                .requests
                .keys()
                .next_back()
                .map_or(0, |id| id.sequence() + 1);
            return RequestId::from_sequence(after + u64::from(byte % 4));
        }
        *newest[usize::from(byte) % newest.len()]
    }

    fn app(&mut self, command: AppCommand) {
        let request = match &command {
            AppCommand::Consume { request, .. }
            | AppCommand::SendInformational { request, .. }
            | AppCommand::SendHead { request, .. }
            | AppCommand::SendBody { request, .. }
            | AppCommand::SendBodyParts { request, .. }
            | AppCommand::Finish { request }
            | AppCommand::Respond { request, .. }
            | AppCommand::Abort { request }
            | AppCommand::Close { request }
            | AppCommand::RegisterProducer { request, .. }
            | AppCommand::UnregisterProducer { request } => Some(*request),
            AppCommand::Drain | AppCommand::SendRequest { .. } => None,
        };
        let lost = request.is_some_and(|id| self.requests.get(&id).is_some_and(|r| r.lost));
        let shown = format!("{command:?}");
        let (granted, registered) = match &command {
            AppCommand::Consume { bytes, .. } => (*bytes, None),
            AppCommand::RegisterProducer { kind, .. } => (0, Some(Some(*kind))),
            AppCommand::UnregisterProducer { .. } => (0, Some(None)),
            _ => (0, None),
        };
        let now = self.now;
        let result = self.channel.handle_input(Input::App { now, command });
        if lost {
            // Property 4: `Event::Lost` promises this for every later command.
            assert_eq!(result, Err(UsageError::RequestLost), "{shown} after Lost");
        }
        if let Err(error) = result {
            // Property 2: nothing changed, so nothing is output.
            let output = self.channel.poll_output();
            assert_eq!(
                output, None,
                "{shown} returned {error:?} and output something"
            );
            self.check_state(false);
            return;
        }
        if let Some(request) = request.and_then(|id| self.requests.get_mut(&id)) {
            request.granted = request.granted.saturating_add(granted);
            if let Some(producer) = registered {
                request.producer = producer;
            }
        }
        self.drain();
        self.check_state(false);
    }

    /// A peer, transport or clock input: never `Err` (property 2).
    fn input(&mut self, input: Input<'_>) {
        let is_timeout = matches!(input, Input::Timeout { .. });
        let shown = format!("{input:?}");
        let result = self.channel.handle_input(input);
        assert_eq!(result, Ok(()), "{shown} is not an app command");
        self.drain();
        self.check_state(is_timeout);
    }

    /// Drains the outputs, checking each (properties 1, 3 to 6).
    fn drain(&mut self) {
        while let Some(output) = self.channel.poll_output() {
            self.channel.invariants();
            assert!(!self.closed, "{output:?} after Close");
            match output {
                Output::Transmit(_) => {}
                Output::Event(event) => self.event(event),
                Output::Producer { request, state } => self.producer(request, state),
                Output::Reading(state) => {
                    assert_ne!(state, self.reading, "Reading reported without a change");
                    self.reading = state;
                }
                Output::Timer { timer, change } => self.timer(timer, change),
                Output::ShutdownWrite => {
                    assert!(!self.shutdown_write, "ShutdownWrite twice");
                    self.shutdown_write = true;
                }
                Output::Close(_) => self.closed = true,
            }
        }
    }

    fn event(&mut self, event: Event) {
        let known = |run: &Run, id: RequestId| {
            assert!(
                run.requests.contains_key(&id),
                "{event:?} for an unknown request"
            );
        };
        match &event {
            Event::Request { id, .. } => {
                let newest = self.requests.keys().next_back();
                assert!(
                    newest < Some(id),
                    "{event:?} after {newest:?}: ids must increase"
                );
                self.requests.insert(*id, Request::default());
            }
            Event::Body { id, data } => {
                known(self, *id);
                let request = self.requests.get_mut(id).expect("Invariant: known");
                assert!(!data.is_empty(), "an empty Body");
                assert!(!request.body_ended, "{event:?} after BodyEnd");
                request.delivered += data.len() as u64;
                assert!(
                    request.delivered <= request.granted,
                    "{} body bytes delivered with {} granted",
                    request.delivered,
                    request.granted
                );
            }
            Event::BodyEnd { id } => {
                known(self, *id);
                let request = self.requests.get_mut(id).expect("Invariant: known");
                assert!(!request.body_ended, "BodyEnd twice for {id:?}");
                request.body_ended = true;
            }
            Event::Lost { id } => {
                known(self, *id);
                let request = self.requests.get_mut(id).expect("Invariant: known");
                assert!(!request.lost, "Lost twice for {id:?}");
                request.lost = true;
            }
            Event::Pull { id } => {
                known(self, *id);
                let producer = self.requests[id].producer;
                assert_eq!(producer, Some(ProducerKind::Pull), "{event:?} without one");
            }
            Event::ProtocolError { id, .. } => {
                if let Some(id) = id {
                    known(self, *id);
                }
            }
            Event::Informational { .. } | Event::Response { .. } | Event::Reusable => {
                panic!("{event:?}: a client-role event from a server channel")
            }
        }
    }

    fn producer(&mut self, request: RequestId, state: ProducerState) {
        let registered = self
            .requests
            .get_mut(&request)
            .and_then(|r| r.producer.as_mut());
        assert!(
            registered.is_some(),
            "{state:?} for {request:?}, no producer registered"
        );
        if state == ProducerState::Stopped {
            if let Some(request) = self.requests.get_mut(&request) {
                request.producer = None;
            }
        }
    }

    fn timer(&mut self, timer: Timer, change: TimerChange) {
        let slot = &mut self.timers[timer as usize];
        match change {
            TimerChange::Set(deadline) => {
                assert_eq!(*slot, None, "{timer:?} set while running");
                assert!(deadline >= self.now, "{timer:?} set in the past");
                *slot = Some(deadline);
            }
            TimerChange::Cancelled => {
                assert!(slot.is_some(), "{timer:?} cancelled while not running");
                *slot = None;
            }
            TimerChange::Fired => {
                let deadline = slot.take();
                assert!(deadline.is_some(), "{timer:?} fired while not running");
                assert!(
                    deadline <= Some(self.now),
                    "{timer:?} fired before its deadline"
                );
            }
        }
    }

    /// Properties 1, 3, 5 and 6 on the state after an input and its outputs.
    fn check_state(&self, after_timeout: bool) {
        self.channel.invariants();
        assert_eq!(
            self.channel.is_closed(),
            self.closed,
            "is_closed and Close disagree"
        );
        if !self.closed && !self.eof_sent {
            let paused = self.reading == ReadState::Paused;
            let window = self.channel.recv_window();
            assert_eq!(
                paused,
                window == 0,
                "reading {:?} with a window of {window}",
                self.reading
            );
        }
        let earliest = self.timers.iter().flatten().min().copied();
        let next = self.channel.poll_timeout();
        assert_eq!(
            next.is_some(),
            earliest.is_some(),
            "poll_timeout {next:?}, log {earliest:?}"
        );
        assert!(
            next >= earliest,
            "poll_timeout {next:?} before the log's {earliest:?}"
        );
        if after_timeout {
            assert!(
                next.is_none_or(|next| next > self.now),
                "due at {next:?} after a Timeout"
            );
        }
    }
}

/// A response head from two script bytes: a status (some invalid) and a header set (some
/// refused: the channel owns the framing).
fn response_head(status: u8, fields: u8) -> ResponseHead {
    const STATUSES: [u16; 12] = [200, 200, 204, 304, 404, 500, 206, 100, 101, 999, 1000, 0];
    let head = ResponseHead::new(STATUSES[usize::from(status) % STATUSES.len()]);
    match fields % 8 {
        0 | 1 => head,
        2 => head.with_header("Content-Length", (fields / 8 % 8).to_string()),
        3 => head.with_header("Connection", "close"),
        4 => head.with_header("Content-Length", "0"),
        5 => head.with_header("Transfer-Encoding", "chunked"),
        6 => head.with_header("Bad Name", "x"),
        _ => head.with_header("X-Long", "v".repeat(usize::from(fields))),
    }
}
