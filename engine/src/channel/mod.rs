//! [`Channel`]: one HTTP/1.1 server connection as a sans-IO state machine.
//!
//! The state machines live in `state.rs` (with the theory of operation), the receive path in
//! `recv.rs`, the application commands and response writing in `send.rs`, and everything that
//! is derived from state after each input (producer states, reading, timers) in `flow.rs`.

mod exchange;
mod flow;
mod recv;
mod send;
mod state;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::error::UsageError;
use crate::io::{CloseReason, Event, Input, Output, ReadState, RequestId, Timer, TransportState};
use crate::time::Instant;
use crate::timer::TimerTable;
use exchange::Exchange;
use state::{CloseState, RecvState};

/// Field-range scratch space an idle connection may keep (a usual head has a few dozen).
const HEAD_FIELDS_KEPT_MAX: usize = 64;

/// One HTTP/1.1 server connection. See the crate documentation for the run loop.
#[derive(Debug)]
pub struct Channel {
    /// Shared by the connections of a server when it passes an `Arc` (a copy per connection
    /// was 272 bytes of its idle cost).
    config: Arc<Config>,
    now: Instant,
    recv: RecvState,
    /// Received bytes not yet parsed: a partial head, unconsumed body, pipelined requests.
    /// Invariant: at most `recv_capacity()` bytes.
    recv_buf: BytesMut,
    /// Where response heads are written, each split off and frozen: one allocation serves
    /// the heads of a pipeline and of the requests that follow (a split-off head is copied
    /// into the driver's write buffer and dropped, so the next reserve reuses the space).
    /// Released by [`Channel::release_idle_memory`].
    head_buf: BytesMut,
    /// The peer sent its FIN.
    recv_eof: bool,
    /// No request after the ones already received will be read (a non-persistent request, a
    /// drain, a peer FIN).
    no_more_requests: bool,
    /// The server is shutting down (`AppCommand::Drain`): close without lingering.
    draining: bool,
    /// Requests in flight, in arrival order. Invariant: ids strictly increase.
    exchanges: VecDeque<Exchange>,
    next_id: u64,
    close: CloseState,
    transport: TransportState,
    /// Bytes handed out since the transport blocked.
    blocked_bytes: usize,
    /// Scratch space for the field ranges of a head being parsed, reused across requests.
    head_fields: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    /// The buffer length at the last `Partial` head parse (0: parse again).
    head_scanned_bytes: usize,
    /// Bytes read and thrown away since the receive side closed.
    discarded_bytes: u64,
    /// The reading state last reported.
    reading: ReadState,
    timers: TimerTable,
    outputs: VecDeque<Output>,
    /// The first request the app may no longer act on: every later one is lost too (a loss
    /// ends the connection; [`Channel::mark_lost`]).
    lost_from: Option<RequestId>,
    /// The channel's own answer to a bad request head (400, 408, 413, 431, ...): written once
    /// the responses in front of it are, and the connection's last. Never an exchange: the
    /// app never hears of it, and it is no request in the pipeline's count. Boxed: refusals
    /// are rare, and the channel's size is most of an idle connection's cost.
    refusal: Option<Box<Bytes>>,
    /// What the response heads repeat, worked out once: our `Date` (formatted once per second,
    /// not per response) and `Server` fields and the blank line, the app's static field list
    /// checked and written. Released by [`Channel::release_idle_memory`].
    head_memo: crate::h1::head_memo::HeadMemo,
}

impl Channel {
    /// A new connection, accepted at `now`. The head deadline starts at once.
    ///
    /// Panics if the limits are unusable (`pipeline_depth_max` 0): that is a bug in the caller.
    pub fn new(config: impl Into<Arc<Config>>, now: Instant) -> Channel {
        let config = config.into();
        assert!(
            config.limits.pipeline_depth_max >= 1,
            "pipeline_depth_max must be at least 1"
        );
        let mut channel = Channel {
            config,
            now,
            recv: RecvState::AwaitingHead,
            recv_buf: BytesMut::new(),
            head_buf: BytesMut::new(),
            recv_eof: false,
            no_more_requests: false,
            draining: false,
            exchanges: VecDeque::new(),
            next_id: 0,
            close: CloseState::Open,
            transport: TransportState::Writable,
            blocked_bytes: 0,
            head_fields: Vec::new(),
            head_scanned_bytes: 0,
            discarded_bytes: 0,
            reading: ReadState::Resumed,
            timers: TimerTable::default(),
            outputs: VecDeque::new(),
            lost_from: None,
            refusal: None,
            head_memo: crate::h1::head_memo::HeadMemo::default(),
        };
        channel.sync();
        channel
    }

    /// Feeds one input. `Err` only for misuse by the application, in which case nothing
    /// changed; peer bytes never return `Err`.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        self.now = self.now.max(input.now());
        let result = match input {
            Input::Received { bytes, .. } => {
                self.handle_input_received(bytes);
                Ok(())
            }
            Input::ReceivedEof { .. } => {
                self.handle_input_eof();
                Ok(())
            }
            Input::Transport { state, .. } => {
                self.handle_input_transport(state);
                Ok(())
            }
            Input::ConnectionLost { .. } => {
                self.close_now(CloseReason::Abort);
                Ok(())
            }
            Input::Timeout { .. } => {
                while let Some(timer) = self.timers.take_expired(self.now, &mut self.outputs) {
                    self.handle_input_timeout(timer);
                }
                Ok(())
            }
            Input::App { command, .. } => self.handle_input_app(command),
        };
        self.sync();
        self.invariants();
        result
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration it runs with, shared.
    pub(crate) fn shared_config(&self) -> Arc<Config> {
        Arc::clone(&self.config)
    }

    /// Gives back the buffers kept from one request to the next (receive buffer, head buffer,
    /// the exchange and output queues' space, the field scratch space, the head's end) when
    /// nothing is in flight, buffered or waiting to be taken; a busy connection keeps them.
    /// DESIGN.md §8: buffers are released while a connection is idle, and not allocated per
    /// request while it is busy. The driver calls this once the connection has been idle a
    /// while.
    pub fn release_idle_memory(&mut self) {
        if self.exchanges.is_empty() && self.recv_buf.is_empty() && self.outputs.is_empty() {
            self.recv_buf = BytesMut::new();
            self.head_buf = BytesMut::new();
            self.exchanges = VecDeque::new();
            self.outputs = VecDeque::new();
            self.head_fields = Vec::new();
            self.head_memo.release();
        }
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

    /// How many bytes the driver may read now (0 while reading is paused). Feeding more than
    /// this in one `Input::Received` is a driver bug.
    pub fn recv_window(&self) -> usize {
        self.recv_capacity().saturating_sub(self.recv_buf.len())
    }

    /// Whether the connection is closed: nothing more will be output.
    pub fn is_closed(&self) -> bool {
        self.close == CloseState::Closed
    }

    fn handle_input_transport(&mut self, state: TransportState) {
        if self.transport == state {
            if state == TransportState::Blocked {
                // Still blocked, but the client took bytes: it is slow, not stalled. The
                // send stall timer measures time without progress.
                let deadline = self.now + self.config.timeouts.send_stall;
                self.timers.extend(Timer::SendStall, deadline);
            }
            return;
        }
        self.transport = state;
        self.blocked_bytes = 0;
    }

    /// Everything that follows from the state after an input: finished responses leave the
    /// queue, waiting requests are parsed, the connection closes when nothing is left, and
    /// producers, reading and timers are brought in line.
    fn sync(&mut self) {
        self.advance_queue();
        self.receive();
        self.advance_queue();
        self.maybe_close();
        self.sync_producers();
        self.sync_reading();
        self.sync_timers();
        if self.exchanges.is_empty() && self.head_fields.capacity() > HEAD_FIELDS_KEPT_MAX {
            // A head with many fields passed: give the scratch space back. A usual one keeps
            // it, so keep-alive requests allocate nothing for it.
            self.head_fields = Vec::new();
        }
    }

    /// Pops finished exchanges off the front, flushing the next one's queued bytes, and then
    /// the refusal of a bad head; closes the connection after the last response or a truncated
    /// one.
    fn advance_queue(&mut self) {
        while let Some(front) = self.exchanges.front_mut() {
            if !front.queued.is_empty() {
                let queued = std::mem::take(&mut front.queued);
                front.queued_bytes = 0;
                for bytes in queued {
                    self.transmit(bytes);
                }
            }
            let front = &self.exchanges[0];
            if !front.is_settled() {
                return;
            }
            if matches!(front.send, state::SendState::Aborted) {
                // A truncated response: the client can only learn it by the connection ending.
                self.close_gracefully_after_loss();
                return;
            }
            let persistent = front.persistent;
            let done = self.exchanges.pop_front();
            if let Some(mut done) = done {
                self.stop_producer(&mut done);
            }
            if !persistent {
                self.lose_exchanges_from(0);
                self.recv_close();
            }
        }
        if let Some(refusal) = self.refusal.take() {
            self.transmit(*refusal);
        }
    }

    fn close_gracefully_after_loss(&mut self) {
        self.lose_exchanges_from(0);
        self.recv_close();
        self.close_gracefully();
    }

    /// When no request is in flight and none will come, the connection closes.
    fn maybe_close(&mut self) {
        if matches!(self.recv, RecvState::Closed) && self.exchanges.is_empty() {
            self.close_gracefully();
        }
    }

    /// Drops every exchange from index `from` on, and the refusal behind them, telling the app
    /// of each request it did not know lost whose response will not reach the wire in full.
    /// Their producers stop.
    fn lose_exchanges_from(&mut self, from: usize) {
        self.refusal = None;
        let lost: Vec<Exchange> = self.exchanges.drain(from..).collect();
        // Which were lost before this call: telling the first one below moves the watermark,
        // and the rest must still be told.
        let lost_before = self.lost_from;
        for (offset, mut exchange) in lost.into_iter().enumerate() {
            // A finished response behind the front never reached the wire: lost too. (A
            // finished front one has left the queue already.)
            let unsent = !exchange.is_settled() || from + offset > 0;
            let known = lost_before.is_some_and(|first| exchange.id >= first);
            if !known && unsent {
                self.tell_lost(exchange.id);
            }
            self.stop_producer(&mut exchange);
        }
    }

    /// Hands bytes to the driver.
    fn transmit(&mut self, bytes: Bytes) {
        if bytes.is_empty() || self.close == CloseState::Closed {
            return;
        }
        if self.transport == TransportState::Blocked {
            self.blocked_bytes += bytes.len();
        }
        self.outputs.push_back(Output::Transmit(bytes));
    }

    /// Tells the app a request is lost; commands for it will say so.
    fn tell_lost(&mut self, id: RequestId) {
        self.outputs.push_back(Output::Event(Event::Lost { id }));
        self.mark_lost(id);
    }

    fn exchange_index(&self, id: RequestId) -> Option<usize> {
        self.exchanges.iter().position(|e| e.id == id)
    }

    /// Cross-field invariants, checked after every input (TigerBeetle). Crate-visible so the
    /// fuzz target (`crate::fuzzing`) also checks them after every drained output.
    pub(crate) fn invariants(&self) {
        assert!(
            self.recv_buf.len() <= self.recv_buffer_bound(),
            "receive buffer over its bound: {} bytes",
            self.recv_buf.len()
        );
        // One pass over the queue for the two invariants that need it.
        let mut previous: Option<RequestId> = None;
        for exchange in &self.exchanges {
            assert!(
                previous.is_none_or(|id| id < exchange.id),
                "exchanges out of order"
            );
            previous = Some(exchange.id);
        }
        assert!(
            self.exchanges.len() <= self.config.limits.pipeline_depth_max,
            "pipeline deeper than max"
        );
        assert!(
            self.refusal.is_none() || matches!(self.recv, RecvState::Closed),
            "a refusal is the last thing written"
        );
        if self.close == CloseState::Closed {
            assert!(
                self.exchanges.is_empty() && self.refusal.is_none(),
                "a closed channel has no exchanges"
            );
            assert!(
                self.timers.next_deadline().is_none(),
                "a closed channel runs no timer"
            );
        }
        let lingering = self.close == CloseState::Lingering;
        assert!(
            lingering || self.timers.get(Timer::Linger).is_none(),
            "linger timer while open"
        );
    }
}

#[cfg(test)]
mod tests;
