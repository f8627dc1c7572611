//! Flow control, derived from state after every input: producer states (Twisted's
//! producer/consumer model made explicit), whether to read, and which timers run.
//!
//! Nothing here decides anything that is not a function of the state machines; the functions
//! compare what should be with what was last reported and report the difference.

use super::exchange::{Exchange, Expect};
use super::state::{CloseState, RecvState};
use super::Channel;
use crate::io::{Event, Output, ProducerKind, ProducerState, Timer, TransportState};

impl Channel {
    /// How many received bytes may be held at once.
    pub(super) fn recv_capacity(&self) -> usize {
        let limits = &self.config.limits;
        if self.close == CloseState::Closed || self.recv_eof {
            return 0;
        }
        if self.close == CloseState::Lingering || matches!(self.recv, RecvState::Closed) {
            // Discarding: read in bounded steps until the linger budget is spent.
            let left = limits.linger_bytes_max.saturating_sub(self.discarded_bytes);
            return usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(limits.recv_buffer_bytes_max);
        }
        if self.transport == TransportState::Blocked && self.exchanges.is_empty() {
            // A client that does not read our responses may not send more requests either
            // (Twisted #8868).
            return 0;
        }
        match self.recv {
            RecvState::AwaitingHead => self.recv_buffer_bound(),
            // A whole chunk-size line must fit, or the decoder could never move on.
            RecvState::Body { .. } => limits
                .recv_buffer_bytes_max
                .max(limits.chunk_line_bytes_max + 2),
            RecvState::Done | RecvState::Closed => limits.recv_buffer_bytes_max,
        }
    }

    /// The most received bytes ever held. A legal head may need more than
    /// `recv_buffer_bytes_max`: its line endings are not counted against `head_bytes_max`
    /// (Twisted's counting), so there is room for all of them; likewise a chunk-size line.
    pub(super) fn recv_buffer_bound(&self) -> usize {
        self.config.limits.recv_buffer_bound()
    }

    /// The state each producer should be in.
    fn producer_target(&self, index: usize, exchange: &Exchange) -> ProducerState {
        let bound = self.config.limits.send_buffer_bytes_max;
        if self.is_lost(exchange.id) || exchange.is_settled() || self.close == CloseState::Closed {
            ProducerState::Stopped
        } else if (index == 0 && self.transport == TransportState::Blocked)
            || (index > 0 && exchange.queued_bytes >= bound)
        {
            // At the front the transport decides; behind it, the queue's bound does.
            ProducerState::Paused
        } else {
            ProducerState::Producing
        }
    }

    pub(super) fn sync_producers(&mut self) {
        for index in 0..self.exchanges.len() {
            let target = self.producer_target(index, &self.exchanges[index]);
            let exchange = &mut self.exchanges[index];
            let Some(producer) = &mut exchange.producer else {
                continue;
            };
            if producer.state != Some(target) {
                producer.state = Some(target);
                let request = exchange.id;
                self.outputs.push_back(Output::Producer {
                    request,
                    state: target,
                });
            }
            let wants_pull = producer.kind == ProducerKind::Pull && !producer.pull_outstanding;
            if target == ProducerState::Producing && wants_pull {
                producer.pull_outstanding = true;
                self.outputs
                    .push_back(Output::Event(Event::Pull { id: exchange.id }));
            }
            if target == ProducerState::Stopped {
                exchange.producer = None;
            }
        }
    }

    /// Reports `Stopped` for an exchange's producer that is leaving the queue.
    pub(super) fn stop_producer(&mut self, exchange: &mut Exchange) {
        if let Some(producer) = exchange.producer.take() {
            if producer.state != Some(ProducerState::Stopped) {
                let request = exchange.id;
                let state = ProducerState::Stopped;
                self.outputs.push_back(Output::Producer { request, state });
            }
        }
    }

    pub(super) fn sync_reading(&mut self) {
        if self.close == CloseState::Closed || self.recv_eof {
            return;
        }
        let window = self.recv_window();
        self.reading.follow(window, &mut self.outputs);
    }

    /// The server's timers with whether each should run now. The shared predicates are
    /// computed once, and no duration is looked up: most inputs change no timer. The client
    /// role's three timers never run on a server channel and are not visited.
    fn timers_wanted(&self) -> [(Timer, bool); 6] {
        let open = self.close == CloseState::Open;
        let blocked = self.transport == TransportState::Blocked;
        let lingering = self.close == CloseState::Lingering;
        let awaiting_head = open && !self.recv_eof && matches!(self.recv, RecvState::AwaitingHead);
        let first_request = self.next_id == 0;
        let head_started = awaiting_head && self.head_started();
        let header_read = awaiting_head && (head_started || first_request);
        let idle = awaiting_head && !head_started && !first_request && self.exchanges.is_empty();
        let body_read =
            open && !self.recv_eof && self.body_waits_on_peer() && self.recv_window() > 0;
        [
            (Timer::HeaderRead, header_read),
            (Timer::BodyRead, body_read),
            (Timer::IdleKeepAlive, idle),
            (Timer::SendStall, open && blocked),
            (Timer::Linger, lingering && !blocked),
            (Timer::Abort, lingering && blocked),
        ]
    }

    /// Whether a body is being received and only the peer can move it on. Not when the app
    /// or the channel holds it up: body bytes wait in the buffer for credit, an `Expect:
    /// 100-continue` client waits for the 100 the app has not asked for yet, or for one that
    /// waits in the queue behind earlier responses (a queued exchange writes nothing before
    /// it reaches the front).
    fn body_waits_on_peer(&self) -> bool {
        let RecvState::Body { id, .. } = self.recv else {
            return false;
        };
        let Some(index) = self.exchange_index(id) else {
            // A body drained after its response finished: only the peer moves it.
            return true;
        };
        let exchange = &self.exchanges[index];
        if index > 0 && exchange.expect == Expect::Sent {
            return false;
        }
        exchange.credit > 0 || (self.recv_buf.is_empty() && exchange.expect != Expect::Pending)
    }

    /// Arms the timers the state wants and cancels the others, in table order. A timer already
    /// in the state wanted is left alone (arming an armed timer would not move it anyway).
    pub(super) fn sync_timers(&mut self) {
        let reports = self.config.timer_reports;
        for (timer, wanted) in self.timers_wanted() {
            if wanted == self.timers.get(timer).is_some() {
                continue;
            }
            if wanted {
                // Invariant: timers_wanted lists only server timers, which Timeouts times.
                let duration = self.config.timeouts.of(timer).expect("a server timer");
                let deadline = self.now + duration;
                self.timers.arm(timer, deadline, reports, &mut self.outputs);
            } else {
                self.timers.cancel(timer, reports, &mut self.outputs);
            }
        }
    }

    /// Body bytes arrived: the body idle timer starts over.
    pub(super) fn body_activity(&mut self) {
        let deadline = self.now + self.config.timeouts.body_read;
        self.timers.extend(Timer::BodyRead, deadline);
    }

    /// Whether the exchange at `index` may hand out `len` more body bytes now.
    pub(super) fn send_room(&self, index: usize) -> bool {
        let bound = self.config.limits.send_buffer_bytes_max;
        if index == 0 {
            self.transport == TransportState::Writable || self.blocked_bytes < bound
        } else {
            self.exchanges[index].queued_bytes < bound
        }
    }
}
