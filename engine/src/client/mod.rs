//! [`ClientConnection`]: one HTTP/1.1 connection to a server, as a sans-IO state machine (the
//! client role; the server role is [`Channel`](crate::Channel)).
//!
//! The same boundary as the server's: [`Input`]s in (bytes, EOF, transport state, timeouts, app
//! commands), [`Output`]s out, and the same run loop. The app sends a request with
//! `AppCommand::SendRequest`, its body with `SendBody` and `Finish` (a push or pull producer
//! may be registered for it), and takes the response with `Consume` credit, exactly as a server
//! app takes a request body. The wire code (head walk, body decoders and encoders) is shared
//! with the server role; this file holds only the client's state machine.
//!
//! One exchange at a time: a request is sent only when the previous response has ended
//! (requests are never pipelined upstream, so a failed exchange can never take a later one
//! with it). After the exchange the connection is either reusable (both sides kept it alive
//! and both messages ended cleanly) or it closes.
//!
//! Every exchange ends with exactly one of `Event::BodyEnd` (the response is complete),
//! `Event::ProtocolError` (the server broke the protocol or was too slow; `error.status` is the
//! 502 or 504 a gateway answers) or `Event::Lost` (the connection ended before the response
//! did: a response cut short is lost, never complete), unless the app aborted it.
//!
//! The response head timer runs from the end of the request to the response head; the body
//! idle timer runs while the app wants body bytes and the server sends none; the send stall
//! timer while the transport is blocked; the idle timer while the connection waits for reuse;
//! the expect-continue timer while a request with `Expect: 100-continue` waits for its `100`.

mod exchange;
mod recv;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::config::{ClientConfig, TimerReports};
use crate::error::{ProtocolError, SendError, UsageError};
use crate::h1::body_encoder::BodyEncoder;
use crate::h1::request_writer::{check_request_head, write_request_head};
use crate::h1::response_head::RequestKind;
use crate::io::{
    AppCommand, CloseReason, Event, Input, Output, ProducerKind, ProducerState, ReadState,
    RequestId, Timer, TransportState,
};
use crate::message::RequestHead;
use crate::time::{Duration, Instant};
use crate::timer::TimerTable;
use exchange::{Exchange, Recv};

/// One HTTP/1.1 client connection. See the module documentation.
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    now: Instant,
    /// Received bytes not yet parsed or delivered. Invariant: at most
    /// `limits.recv_buffer_bound()` bytes (a legal head always fits).
    recv_buf: BytesMut,
    /// The server sent its FIN.
    recv_eof: bool,
    /// The exchange in flight.
    exchange: Option<Exchange>,
    next_id: u64,
    /// No exchange after the current one: the server or our request said close, the app
    /// drained, or a message did not end cleanly.
    last_exchange: bool,
    /// An exchange ended with `BodyEnd` in this input: `Reusable` follows if the connection
    /// may carry another request.
    exchange_ended: bool,
    closed: bool,
    transport: TransportState,
    /// Bytes handed out since the transport blocked.
    blocked_bytes: usize,
    reading: ReadState,
    timers: TimerTable,
    outputs: VecDeque<Output>,
    /// Scratch space for the field ranges of a response head.
    head_fields: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl ClientConnection {
    /// A new connection, established at `now`, idle: ready for a request.
    pub fn new(config: ClientConfig, now: Instant) -> ClientConnection {
        let mut connection = ClientConnection {
            config,
            now,
            recv_buf: BytesMut::new(),
            recv_eof: false,
            exchange: None,
            next_id: 0,
            last_exchange: false,
            exchange_ended: false,
            closed: false,
            transport: TransportState::Writable,
            blocked_bytes: 0,
            reading: ReadState::Resumed,
            timers: TimerTable::default(),
            outputs: VecDeque::new(),
            head_fields: Vec::new(),
        };
        connection.sync();
        connection
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Feeds one input. `Err` only for misuse by the application, in which case nothing
    /// changed; server bytes never return `Err`.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        self.now = self.now.max(input.now());
        let result = match input {
            Input::Received { bytes, .. } => {
                self.handle_received(bytes);
                Ok(())
            }
            Input::ReceivedEof { .. } => {
                self.recv_eof = true;
                Ok(())
            }
            Input::Transport { state, .. } => {
                self.handle_transport(state);
                Ok(())
            }
            Input::ConnectionLost { .. } => {
                self.lose_exchange();
                self.close(CloseReason::Abort);
                Ok(())
            }
            Input::Timeout { .. } => {
                while let Some(timer) = self.timers.take_expired(self.now, &mut self.outputs) {
                    self.handle_timeout(timer);
                }
                Ok(())
            }
            Input::App { command, .. } => self.handle_command(command),
        };
        self.sync();
        self.invariants();
        result
    }

    /// The next output, in order. Drain to `None` after every `handle_input`.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed `Input::Timeout` next; `None` when no timer runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// How many bytes the driver may read now (0 while reading is paused).
    pub fn recv_window(&self) -> usize {
        if self.closed || self.recv_eof {
            return 0;
        }
        let max = self.config.limits.recv_buffer_bound();
        max.saturating_sub(self.recv_buf.len())
    }

    /// Whether the connection is closed: nothing more will be output.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether a request may be sent now: open, idle, and kept alive by both sides.
    pub fn is_reusable(&self) -> bool {
        !self.closed && !self.last_exchange && !self.recv_eof && self.exchange.is_none()
    }

    /// The id the next `SendRequest` gets.
    pub fn next_request_id(&self) -> RequestId {
        RequestId::from_sequence(self.next_id)
    }

    fn handle_received(&mut self, bytes: &[u8]) {
        if self.closed {
            return;
        }
        assert!(
            bytes.len() <= self.recv_window(),
            "driver read past recv_window"
        );
        self.recv_buf.extend_from_slice(bytes);
    }

    fn handle_transport(&mut self, state: TransportState) {
        if self.transport == state {
            if state == TransportState::Blocked {
                // Slow, not stalled: the stall timer measures time without progress.
                let deadline = self.now + self.config.timeouts.send_stall;
                self.timers.extend(Timer::SendStall, deadline);
            }
            return;
        }
        self.transport = state;
        self.blocked_bytes = 0;
    }

    fn handle_timeout(&mut self, timer: Timer) {
        match timer {
            Timer::ResponseHead => {
                self.fail(ProtocolError::upstream(
                    crate::ProtocolErrorKind::ResponseTimeout,
                ));
            }
            Timer::ResponseBodyIdle | Timer::SendStall => {
                self.lose_exchange();
                self.close(CloseReason::Abort);
            }
            Timer::IdleKeepAlive => self.close(CloseReason::Graceful),
            Timer::ExpectContinue => {
                if let Some(exchange) = &mut self.exchange {
                    exchange.awaiting_continue = false;
                }
            }
            // The server role's timers are never armed here.
            Timer::HeaderRead | Timer::BodyRead | Timer::Linger | Timer::Abort => {}
        }
    }

    fn handle_command(&mut self, command: AppCommand) -> Result<(), UsageError> {
        match command {
            AppCommand::SendRequest { head } => self.send_request(head),
            AppCommand::SendBody { request, data } => {
                self.send_body(request, data.len() as u64, std::iter::once(data))
            }
            AppCommand::SendBodyParts { request, parts } => {
                let len = parts.iter().map(|part| part.len() as u64).sum();
                self.send_body(request, len, parts)
            }
            AppCommand::Finish { request } => self.finish(request),
            AppCommand::Consume { request, bytes } => {
                let exchange = self.exchange_mut(request)?;
                exchange.credit = exchange.credit.saturating_add(bytes);
                Ok(())
            }
            AppCommand::Abort { request } => {
                self.exchange_mut(request)?;
                if let Some(mut exchange) = self.exchange.take() {
                    self.stop_producer(&mut exchange);
                }
                self.close(CloseReason::Abort);
                Ok(())
            }
            AppCommand::RegisterProducer { request, kind } => {
                let exchange = self.exchange_mut(request)?;
                if exchange.producer.is_some() {
                    return Err(UsageError::ProducerAlreadyRegistered);
                }
                if exchange.request_finished {
                    return Err(UsageError::AlreadyFinished);
                }
                exchange.producer = Some(exchange::Producer::new(kind));
                Ok(())
            }
            AppCommand::UnregisterProducer { request } => {
                self.exchange_mut(request)?;
                if let Some(mut exchange) = self.exchange.take() {
                    self.stop_producer(&mut exchange);
                    self.exchange = Some(exchange);
                }
                Ok(())
            }
            AppCommand::Drain => {
                self.last_exchange = true;
                Ok(())
            }
            // A client ends its connection with `Drain` (after the exchange) or `Abort`.
            AppCommand::SendHead { .. }
            | AppCommand::Respond { .. }
            | AppCommand::SendInformational { .. }
            | AppCommand::Close { .. } => Err(UsageError::WrongRole),
        }
    }

    fn send_request(&mut self, head: RequestHead) -> Result<(), UsageError> {
        if self.closed || self.recv_eof {
            return Err(UsageError::RequestLost);
        }
        if self.exchange.is_some() || self.last_exchange {
            return Err(UsageError::Busy);
        }
        let checked = check_request_head(&head)?;
        let mut out = BytesMut::new();
        write_request_head(&mut out, &head);
        let id = RequestId::from_sequence(self.next_id);
        self.next_id += 1;
        self.last_exchange |= checked.wants_close;
        let kind = RequestKind {
            head: head.method.is_head(),
            connect: head.method.as_bytes() == b"CONNECT",
        };
        self.exchange = Some(Exchange::new(id, kind, checked));
        self.transmit(out.freeze());
        Ok(())
    }

    fn send_body(
        &mut self,
        request: RequestId,
        len: u64,
        parts: impl IntoIterator<Item = Bytes>,
    ) -> Result<(), UsageError> {
        let room = self.send_room();
        let exchange = self.exchange_mut(request)?;
        if exchange.request_finished {
            return Err(UsageError::AlreadyFinished);
        }
        if exchange.awaiting_continue || !room {
            return Err(SendError::Blocked.into());
        }
        let mut encoder = exchange.encoder;
        // The encoder checks everything before it emits the first piece, so an `Err` leaves
        // the connection unchanged.
        encoder.encode_parts(len, parts, |piece| self.transmit(piece))?;
        if let Some(exchange) = &mut self.exchange {
            exchange.encoder = encoder;
            if let Some(producer) = &mut exchange.producer {
                producer.pull_outstanding = false;
            }
        }
        Ok(())
    }

    fn finish(&mut self, request: RequestId) -> Result<(), UsageError> {
        let exchange = self.exchange_mut(request)?;
        if exchange.request_finished {
            return Err(UsageError::AlreadyFinished);
        }
        let mut last = None;
        exchange.encoder.finish(|bytes| last = Some(bytes))?;
        if exchange.awaiting_continue && last.is_some() {
            // The last chunk is body framing: not before the 100.
            return Err(SendError::Blocked.into());
        }
        exchange.request_finished = true;
        exchange.awaiting_continue = false;
        exchange.encoder = BodyEncoder::Empty;
        if let Some(mut taken) = self.exchange.take() {
            self.stop_producer(&mut taken);
            self.exchange = Some(taken);
        }
        if let Some(bytes) = last {
            self.transmit(bytes);
        }
        Ok(())
    }

    /// The exchange in flight, if `request` is it.
    fn exchange_mut(&mut self, request: RequestId) -> Result<&mut Exchange, UsageError> {
        match &mut self.exchange {
            Some(exchange) if exchange.id == request => Ok(exchange),
            _ if request.sequence() < self.next_id && self.closed => Err(UsageError::RequestLost),
            // An earlier exchange, over (its response ended).
            _ if request.sequence() < self.next_id => Err(UsageError::AlreadyFinished),
            _ => Err(UsageError::UnknownRequest),
        }
    }

    /// Whether body bytes may be handed out now.
    fn send_room(&self) -> bool {
        self.transport == TransportState::Writable
            || self.blocked_bytes < self.config.limits.send_buffer_bytes_max
    }

    fn transmit(&mut self, bytes: Bytes) {
        if bytes.is_empty() || self.closed {
            return;
        }
        if self.transport == TransportState::Blocked {
            self.blocked_bytes += bytes.len();
        }
        self.outputs.push_back(Output::Transmit(bytes));
    }

    /// The server broke the protocol (or was too slow): the exchange ends with `error`, and
    /// the connection closes at once; nothing it sends can be trusted.
    fn fail(&mut self, error: ProtocolError) {
        let id = match self.exchange.take() {
            Some(mut exchange) => {
                self.stop_producer(&mut exchange);
                Some(exchange.id)
            }
            None => None,
        };
        self.outputs
            .push_back(Output::Event(Event::ProtocolError { id, error }));
        self.close(CloseReason::Abort);
    }

    /// The connection ended under the exchange: its response, if any, is lost.
    fn lose_exchange(&mut self) {
        if let Some(mut exchange) = self.exchange.take() {
            self.stop_producer(&mut exchange);
            self.outputs
                .push_back(Output::Event(Event::Lost { id: exchange.id }));
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.lose_exchange();
        self.closed = true;
        self.last_exchange = true;
        for timer in Timer::ALL {
            self.timers
                .cancel(timer, TimerReports::All, &mut self.outputs);
        }
        self.recv_buf = BytesMut::new();
        self.outputs.push_back(Output::Close(reason));
    }

    fn stop_producer(&mut self, exchange: &mut Exchange) {
        if let Some(producer) = exchange.producer.take() {
            if producer.state != Some(ProducerState::Stopped) {
                let (request, state) = (exchange.id, ProducerState::Stopped);
                self.outputs.push_back(Output::Producer { request, state });
            }
        }
    }

    /// Everything that follows from the state after an input.
    fn sync(&mut self) {
        if !self.closed {
            self.receive();
        }
        if !self.closed && self.exchange.is_none() && (self.last_exchange || self.recv_eof) {
            self.close(CloseReason::Graceful);
        }
        if std::mem::take(&mut self.exchange_ended) && self.is_reusable() {
            // Said with the exchange's end, so a pool never reuses a connection on the
            // strength of `BodyEnd` alone while its close is on the way.
            self.outputs.push_back(Output::Event(Event::Reusable));
        }
        self.sync_producer();
        self.sync_reading();
        self.sync_timers();
        if self.recv_buf.is_empty() && self.exchange.is_none() && self.recv_buf.capacity() > 0 {
            // An idle pooled connection holds no buffer.
            self.recv_buf = BytesMut::new();
        }
    }

    pub(super) fn sync_producer(&mut self) {
        let room = self.send_room();
        let Some(exchange) = &mut self.exchange else {
            return;
        };
        let Some(producer) = &mut exchange.producer else {
            return;
        };
        let target = if room && !exchange.awaiting_continue {
            ProducerState::Producing
        } else {
            ProducerState::Paused
        };
        if producer.state != Some(target) {
            producer.state = Some(target);
            let (request, state) = (exchange.id, target);
            self.outputs.push_back(Output::Producer { request, state });
        }
        let wants_pull = producer.kind == ProducerKind::Pull && !producer.pull_outstanding;
        if target == ProducerState::Producing && wants_pull {
            producer.pull_outstanding = true;
            self.outputs
                .push_back(Output::Event(Event::Pull { id: exchange.id }));
        }
    }

    fn sync_reading(&mut self) {
        if self.closed || self.recv_eof {
            return;
        }
        let window = self.recv_window();
        self.reading.follow(window, &mut self.outputs);
    }

    fn timer_wanted(&self, timer: Timer) -> Option<Duration> {
        let exchange = self.exchange.as_ref();
        let wanted = !self.closed
            && match timer {
                Timer::ResponseHead => exchange
                    .is_some_and(|e| e.request_finished && matches!(e.recv, Recv::AwaitingHead)),
                Timer::ResponseBodyIdle => {
                    exchange.is_some_and(|e| matches!(e.recv, Recv::Body(_)) && e.credit > 0)
                }
                Timer::SendStall => self.transport == TransportState::Blocked,
                Timer::IdleKeepAlive => self.exchange.is_none(),
                Timer::ExpectContinue => exchange.is_some_and(|e| e.awaiting_continue),
                Timer::HeaderRead | Timer::BodyRead | Timer::Linger | Timer::Abort => false,
            };
        if wanted {
            self.config.timeouts.of(timer)
        } else {
            None
        }
    }

    fn sync_timers(&mut self) {
        for timer in Timer::ALL {
            match self.timer_wanted(timer) {
                Some(duration) => self.timers.arm(
                    timer,
                    self.now + duration,
                    TimerReports::All,
                    &mut self.outputs,
                ),
                None => self
                    .timers
                    .cancel(timer, TimerReports::All, &mut self.outputs),
            }
        }
    }

    /// Cross-field invariants, checked after every input.
    fn invariants(&self) {
        assert!(
            self.recv_buf.len() <= self.config.limits.recv_buffer_bound(),
            "receive buffer over its bound"
        );
        if self.closed {
            assert!(
                self.exchange.is_none(),
                "a closed connection has no exchange"
            );
            assert!(
                self.timers.next_deadline().is_none(),
                "a closed connection runs no timer"
            );
        }
    }
}

#[cfg(test)]
mod tests;
