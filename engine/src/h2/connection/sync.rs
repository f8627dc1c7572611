//! What follows from the state after every input: request bodies handed to apps within their
//! credit and the room given back as WINDOW_UPDATE; response bodies sent as DATA within both
//! windows, streams taking turns; finished streams retired; producers paused and resumed (a
//! stream's send window *is* its producer's pause and resume); the close once nothing is left;
//! reading and timers.

use bytes::BytesMut;

use super::{CloseState, H2Connection, Stream};
use crate::h2::frame::{write_data_header, ErrorCode, Frame, StreamId};
use crate::h2::stream::{Sent, StreamState};
use crate::io::{Event, Output, ProducerKind, ProducerState, Timer, TransportState};

impl H2Connection {
    pub(super) fn sync(&mut self) {
        if self.close == CloseState::Open {
            self.deliver_bodies();
            self.send_window_updates();
            self.send_data();
            self.retire_streams();
            self.maybe_close();
        }
        self.sync_producers();
        self.sync_reading();
        self.sync_timers();
        if self.close != CloseState::Open {
            self.peer_data_is_no_concern();
        }
    }

    /// Request body bytes to the apps, as far as each has credit; `BodyEnd` after the last.
    fn deliver_bodies(&mut self) {
        for stream in self.streams.values_mut() {
            if stream.lost || stream.discarding {
                continue;
            }
            while stream.credit > 0 {
                let Some(mut data) = stream.body.pop_front() else {
                    break;
                };
                let take = usize::try_from(stream.credit)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                if take < data.len() {
                    stream.body.push_front(data.split_off(take));
                }
                stream.credit -= take as u64;
                // Taken by the app: room to give back (Twisted acknowledges only this).
                stream.recv_window.release(take as u32);
                self.recv_window.release(take as u32);
                let id = stream.id;
                self.outputs
                    .push_back(Output::Event(Event::Body { id, data }));
            }
            if stream.body_ended && stream.body.is_empty() && !stream.body_end_told {
                stream.body_end_told = true;
                let id = stream.id;
                self.outputs.push_back(Output::Event(Event::BodyEnd { id }));
            }
        }
    }

    fn send_window_updates(&mut self) {
        let mut updates = Vec::new();
        for (&id, stream) in &mut self.streams {
            // A peer done sending needs no more room.
            if stream.body_ended {
                continue;
            }
            if let Some(increment) = stream.recv_window.update() {
                updates.push((id, increment));
            }
        }
        if let Some(increment) = self.recv_window.update() {
            updates.insert(0, (0, increment));
        }
        for (id, increment) in updates {
            self.control(Frame::WindowUpdate {
                stream: StreamId::new(id),
                increment,
            });
        }
    }

    /// DATA frames within the windows and the send budget, streams taking turns a frame at a
    /// time from the one after the last served; END_STREAM once a finished response is out.
    fn send_data(&mut self) {
        loop {
            let budget = self.send_budget();
            if budget == 0 {
                return;
            }
            let next = self
                .streams
                .range(self.last_sent + 1..)
                .chain(self.streams.range(..=self.last_sent))
                .find(|(_, s)| s.can_send(self.send_window.available()))
                .map(|(&id, _)| id);
            let Some(id) = next else {
                return;
            };
            self.last_sent = id;
            self.send_frame(id, budget);
        }
    }

    /// Bytes that may still be handed to the driver now.
    fn send_budget(&self) -> usize {
        match self.transport {
            TransportState::Writable => usize::MAX,
            TransportState::Blocked => self
                .config
                .limits
                .send_buffer_bytes_max
                .saturating_sub(self.blocked_bytes),
        }
    }

    /// One DATA frame of stream `id`.
    fn send_frame(&mut self, id: u32, budget: usize) {
        let max_frame = self.peer_max_frame_size as usize;
        let connection_window = self.send_window.available() as usize;
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let window = connection_window.min(stream.send_window.available() as usize);
        let len = stream.out_bytes.min(window).min(max_frame).min(budget);
        let mut pieces = Vec::new();
        let mut left = len;
        while left > 0 {
            let Some(front) = stream.out.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                pieces.push(stream.out.pop_front().expect("a front part"));
            } else {
                pieces.push(front.split_to(left));
                left = 0;
            }
        }
        stream.out_bytes -= len;
        let end_stream = stream.end_queued && stream.out.is_empty();
        let len32 = len as u32;
        stream.send_window.spend(len32);
        stream.state = match stream.state.send(Sent::Data { end_stream }) {
            Ok(next) => next,
            Err(illegal) => unreachable!("a response outlived its stream: {illegal:?}"),
        };
        if end_stream {
            stream.end_queued = false;
        }
        self.send_window.spend(len32);
        let mut header = BytesMut::with_capacity(9);
        write_data_header(StreamId::new(id), len32, end_stream, &mut header);
        self.transmit(header.freeze());
        for piece in pieces {
            self.transmit(piece);
        }
    }

    /// Streams whose exchange is over leave the map. A response that ended before its request
    /// body did ends the stream with RST_STREAM(NO_ERROR): the rest is not needed (§8.1).
    fn retire_streams(&mut self) {
        let mut done = Vec::new();
        let mut early = Vec::new();
        let mut untaken = 0;
        for (&id, stream) in &mut self.streams {
            let sent_all = stream.response_done() && !stream.end_queued;
            if !sent_all {
                continue;
            }
            match stream.state {
                // The app finished: a body it never took is not owed to it any more.
                StreamState::Closed(_) => done.push(id),
                StreamState::HalfClosedLocal if !stream.body_ended => {
                    // Answered before the request ended: the rest is discarded while it can
                    // still come within the stream's window, refused at once otherwise.
                    let open = u64::from(stream.recv_window.open());
                    let rest = stream
                        .declared_length
                        .map(|n| n.saturating_sub(stream.received));
                    if open == 0 || rest.is_some_and(|rest| rest > open) {
                        early.push(id);
                    } else if !stream.discarding {
                        stream.discarding = true;
                        untaken += stream.body.drain(..).map(|b| b.len()).sum::<usize>();
                    }
                }
                _ => {}
            }
        }
        self.recv_window.release(untaken as u32);
        for id in early {
            self.reset_with_no_error(id);
            done.push(id);
        }
        for id in done {
            if let Some(mut stream) = self.streams.remove(&id) {
                self.forget(&mut stream);
            }
        }
    }

    /// Asks the peer to stop sending a request whose response is complete (§8.1).
    fn reset_with_no_error(&mut self, id: u32) {
        self.control(Frame::RstStream {
            stream: StreamId::new(id),
            code: ErrorCode::NoError,
        });
        self.remember_reset(id);
    }

    /// Every request whose body is being discarded is reset with NO_ERROR and forgotten.
    pub(super) fn stop_discarding(&mut self) {
        let discarding: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.discarding)
            .map(|(&id, _)| id)
            .collect();
        for id in discarding {
            self.reset_with_no_error(id);
            if let Some(mut stream) = self.streams.remove(&id) {
                self.forget(&mut stream);
            }
        }
    }

    fn maybe_close(&mut self) {
        let ending = self.goaway_last.is_some() || self.peer_goaway || self.recv_eof;
        if ending && self.streams.values().all(|s| s.discarding) {
            self.stop_discarding();
        }
        if ending && self.streams.is_empty() {
            if self.goaway_last.is_none() {
                self.drain();
            }
            self.close_gracefully();
        }
    }

    fn sync_producers(&mut self) {
        let blocked = self.transport == TransportState::Blocked;
        let bound = self.config.limits.send_buffer_bytes_max;
        let connection_window = self.send_window.available() as usize;
        for stream in self.streams.values_mut() {
            let target = if stream.lost || stream.response_done() {
                ProducerState::Stopped
            } else {
                let window = connection_window.min(stream.send_window.available() as usize);
                // Twisted's `remainingOutboundWindow <= 0`: queued bytes fill the window.
                let window_full = stream.out_bytes >= window;
                if blocked || window_full || stream.out_bytes >= bound {
                    ProducerState::Paused
                } else {
                    ProducerState::Producing
                }
            };
            let Some(producer) = &mut stream.producer else {
                continue;
            };
            if producer.state != Some(target) {
                producer.state = Some(target);
                let request = stream.id;
                self.outputs.push_back(Output::Producer {
                    request,
                    state: target,
                });
            }
            let wants_pull = producer.kind == ProducerKind::Pull && !producer.awaits_pull();
            if target == ProducerState::Producing && wants_pull {
                producer.pull_outstanding = true;
                let id = stream.id;
                self.outputs.push_back(Output::Event(Event::Pull { id }));
            }
            if target == ProducerState::Stopped {
                stream.producer = None;
            }
        }
    }

    fn sync_reading(&mut self) {
        if self.close == CloseState::Closed || self.recv_eof {
            return;
        }
        let window = self.recv_window();
        self.reading.follow(window, &mut self.outputs);
    }

    fn sync_timers(&mut self) {
        let timeouts = &self.config.timeouts;
        let open = self.close == CloseState::Open;
        let lingering = self.close == CloseState::Lingering;
        let blocked = self.transport == TransportState::Blocked;
        let preface_in = self.preface_matched == super::PREFACE.len();
        // The peer owes us frames: a header block it began, or a request body it may send
        // (the app took what came, so its window is open). Not while waiting on an app.
        let owed = self.block.is_some()
            || self
                .streams
                .values()
                .any(|s| !s.body_ended && !s.lost && !s.discarding && s.recv_window.open() > 0);
        // Response bytes wait for a window only the peer can open (CVE-2019-9517: a client
        // that never grants window would hold the stream for ever): bytes queued, or a
        // producer paused by the window before it queued any.
        let connection_window = self.send_window.available();
        let window_stalled = self.streams.values().any(|s| {
            let paused = s
                .producer
                .as_ref()
                .is_some_and(|p| p.state == Some(ProducerState::Paused));
            (s.out_bytes > 0 || paused)
                && matches!(s.state, StreamState::Open | StreamState::HalfClosedRemote)
                && connection_window.min(s.send_window.available()) == 0
        });
        // A frame begun and not whole with nothing else owed: the peer is sending a new
        // request's head (or something it has no reason to dribble). Not idle: the head
        // deadline runs, as for HTTP/1.1's first byte of a head.
        let mid_frame = preface_in && !self.recv_buf.is_empty();
        let head_pending = mid_frame && !owed;
        let wanted = [
            (
                Timer::HeaderRead,
                open && (!preface_in || head_pending),
                timeouts.header_read,
            ),
            (
                Timer::IdleKeepAlive,
                open && preface_in
                    && self.streams.values().all(|s| s.discarding)
                    && self.goaway_last.is_none()
                    && !mid_frame
                    && self.block.is_none(),
                timeouts.idle_keep_alive,
            ),
            (
                Timer::BodyRead,
                open && preface_in && owed,
                timeouts.body_read,
            ),
            (
                Timer::SendStall,
                open && (blocked || window_stalled),
                timeouts.send_stall,
            ),
            (Timer::Linger, lingering && !blocked, timeouts.linger),
            (Timer::Abort, lingering && blocked, timeouts.abort),
        ];
        let reports = self.config.timer_reports;
        for (timer, want, duration) in wanted {
            if want {
                let deadline = self.now + duration;
                self.timers.arm(timer, deadline, reports, &mut self.outputs);
            } else {
                self.timers.cancel(timer, reports, &mut self.outputs);
            }
        }
        if self.close == CloseState::Open
            && blocked
            && self.blocked_control_bytes > self.config.h2.control_bytes_max
        {
            // CVE-2019-9512/9515: control frames owed to a peer that does not read.
            self.close_now(crate::io::CloseReason::Abort);
        }
    }

    /// Nothing received after the close matters: drop what is buffered.
    fn peer_data_is_no_concern(&mut self) {
        if !self.recv_buf.is_empty() {
            self.recv_buf.clear();
        }
    }
}

impl Stream {
    /// Whether the stream has a DATA frame to send now: bytes within both windows, or the
    /// END_STREAM of a finished response.
    fn can_send(&self, connection_window: u32) -> bool {
        // Not `lost`: a stream the app closed still sends what it queued.
        if !matches!(
            self.state,
            StreamState::Open | StreamState::HalfClosedRemote
        ) {
            return false;
        }
        let window = connection_window.min(self.send_window.available());
        (self.out_bytes > 0 && window > 0) || (self.out.is_empty() && self.end_queued)
    }
}
