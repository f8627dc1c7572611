//! [`H2Connection`]: one HTTP/2 server connection as a sans-IO state machine, on the same
//! [`Input`]/[`Output`] boundary as the HTTP/1.1 [`Channel`](crate::Channel), so the driver
//! and every app run it unchanged (DESIGN.md §6; Twisted's `H2Connection` and `H2Stream`).
//!
//! - Each stream is one request with its own [`RequestId`], numbered in arrival order.
//! - `recv.rs` reads the preface and frames; `send.rs` takes the app's commands and writes
//!   HEADERS and DATA; `sync.rs` derives, after every input, what follows from the state:
//!   DATA sent within the windows, producers paused and resumed, window updates, timers, the
//!   close.
//! - A stream's send window is its producer's pause and resume (`flowControlBlocked` /
//!   `windowUpdated`); the app's `Consume` credit is the WINDOW_UPDATE the peer gets; `Abort`
//!   is RST_STREAM(CANCEL) on that stream only; `Close` ends the stream after its pending data.
//! - A connection error sends GOAWAY with the code and closes; a stream error sends
//!   RST_STREAM and the connection lives on.

mod recv;
mod send;
mod sync;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::flow::{RecvWindow, SendWindow};
use super::frame::{ErrorCode, Frame, FrameDecoder, SettingId, StreamId, MAX_WINDOW};
use super::hpack::{HpackDecoder, HpackEncoder};
use super::stream::StreamState;
use crate::config::Config;
use crate::error::UsageError;
use crate::io::{CloseReason, Input, Output, ProducerKind, ProducerState, ReadState, RequestId};
use crate::io::{Timer, TransportState};
use crate::time::Instant;
use crate::timer::TimerTable;

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The connection's own flow-control window before any WINDOW_UPDATE (§6.9.2).
const CONNECTION_WINDOW: u32 = 65_535;

/// How many ranges of skipped stream ids are remembered (clients open ids in order; a gap is
/// rare, so a few ranges cover every honest case and a hostile client cannot grow the list).
const SKIPPED_RANGES_MAX: usize = 16;

/// How many reset streams are remembered once forgotten, ours and the peer's each (RFC 9113
/// §5.1, which lets the period be limited): frames the peer sent before it saw our RST_STREAM
/// are ignored, and DATA or HEADERS after its own RST_STREAM is a stream error STREAM_CLOSED.
/// Any other forgotten stream ended by END_STREAM both ways, and DATA or HEADERS on it is a
/// connection error, however long ago it ended.
const RESETS_REMEMBERED_MAX: usize = 16;

/// Appends `id` to a list of reset streams, the oldest dropped past
/// [`RESETS_REMEMBERED_MAX`].
fn remember(resets: &mut VecDeque<u32>, id: u32) {
    if resets.len() == RESETS_REMEMBERED_MAX {
        resets.pop_front();
    }
    resets.push_back(id);
}

/// One HTTP/2 server connection.
#[derive(Debug)]
pub struct H2Connection {
    /// Shared, as the channel's ([`crate::Channel`]).
    config: Arc<Config>,
    now: Instant,
    /// Preface bytes matched so far; `PREFACE.len()` once it is in.
    preface_matched: usize,
    recv_buf: BytesMut,
    decoder: FrameDecoder,
    hpack_in: HpackDecoder,
    hpack_out: HpackEncoder,
    /// The peer's settings that shape what we send.
    peer_initial_window: u32,
    peer_max_frame_size: u32,
    /// What the peer lets us send on the connection, and what we let it send.
    send_window: SendWindow,
    recv_window: RecvWindow,
    /// Streams by id. Invariant: every stream here is open, half-closed, or closed with work
    /// left (a response or events to deliver).
    streams: BTreeMap<u32, Stream>,
    /// Stream id of each request, for app commands.
    request_streams: BTreeMap<RequestId, u32>,
    /// The highest stream id the peer opened: lower idle ids are closed (§5.1.1).
    highest_stream: u32,
    /// Client stream ids skipped over (never opened, implicitly closed, §5.1.1), the most
    /// recent [`SKIPPED_RANGES_MAX`] ranges: HEADERS on one is a connection error.
    skipped_streams: std::collections::VecDeque<(u32, u32)>,
    /// The most recent [`RESETS_REMEMBERED_MAX`] streams we reset.
    reset_streams: VecDeque<u32>,
    /// The most recent [`RESETS_REMEMBERED_MAX`] streams the peer reset: a list of its own, so
    /// that a client cancelling many streams never pushes ours out.
    peer_reset_streams: VecDeque<u32>,
    next_request: u64,
    /// A header block waiting for its CONTINUATION frames.
    block: Option<HeaderBlock>,
    /// The stream DATA was last sent on, so streams take turns.
    last_sent: u32,
    close: CloseState,
    /// GOAWAY sent: no stream above this id is taken.
    goaway_last: Option<u32>,
    /// The peer sent GOAWAY: it opens no more streams.
    peer_goaway: bool,
    recv_eof: bool,
    transport: TransportState,
    /// Bytes handed out since the transport blocked (control frames included).
    blocked_bytes: usize,
    /// Control-frame bytes handed out since the transport blocked.
    blocked_control_bytes: usize,
    /// Rapid Reset bucket: tokens and when it was last filled.
    reset_tokens: u32,
    reset_filled_at: Instant,
    /// Empty DATA frames received in a row.
    empty_frames: u32,
    reading: ReadState,
    timers: TimerTable,
    outputs: VecDeque<Output>,
    date_cache: crate::date::DateCache,
}

/// A header block being assembled from HEADERS and CONTINUATION frames.
#[derive(Debug)]
struct HeaderBlock {
    stream: u32,
    end_stream: bool,
    /// Its HEADERS frame made the stream depend on itself (§5.3.1): a stream error once the
    /// block is decoded.
    self_dependent: bool,
    bytes: BytesMut,
    frames: usize,
}

/// The connection's close, as in the HTTP/1.1 channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseState {
    Open,
    /// Our write side is shut down (after GOAWAY); reading and discarding until the peer's FIN.
    Lingering,
    Closed,
}

/// One stream: a request and its response.
#[derive(Debug)]
struct Stream {
    id: RequestId,
    state: StreamState,
    send_window: SendWindow,
    recv_window: RecvWindow,
    /// The request was HEAD: no DATA in the response.
    is_head: bool,
    /// Request body bytes received and not yet handed to the app (it has no credit for them).
    body: VecDeque<Bytes>,
    /// Request body bytes the app will still take.
    credit: u64,
    /// `Expect: 100-continue` not yet answered.
    expect_pending: bool,
    /// END_STREAM came from the peer; `BodyEnd` is owed once `body` is delivered.
    body_ended: bool,
    body_end_told: bool,
    /// The request's `Content-Length`, and the body bytes received.
    declared_length: Option<u64>,
    received: u64,
    response: Response,
    /// Response body bytes waiting for the windows, and their total.
    out: VecDeque<Bytes>,
    out_bytes: usize,
    /// The app finished (or closed) the response: END_STREAM goes after `out`.
    end_queued: bool,
    producer: Option<Producer>,
    /// The app knows the stream is gone (`Event::Lost`, or its own abort).
    lost: bool,
    /// The response is complete and the request is still coming: the rest of its body is
    /// read, checked as any body is, and dropped, within the window the peer already has
    /// (no more is granted), so the stream ends as the peer meant it to. Reset with NO_ERROR
    /// (§8.1) once that window cannot hold the rest, when the connection idles, or when it
    /// ends.
    discarding: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Response {
    AwaitingHead,
    /// Head sent; `remaining` is the app's `Content-Length` left to send, if it set one.
    Body {
        remaining: Option<u64>,
    },
    Done,
}

#[derive(Debug)]
struct Producer {
    kind: ProducerKind,
    state: Option<ProducerState>,
    pull_outstanding: bool,
}

impl H2Connection {
    /// A new connection, accepted at `now`, whose client has not sent its preface yet (on a
    /// connection chosen by the preface, feed the bytes already read, preface included). Our
    /// SETTINGS go out at once (§3.4).
    pub fn new(config: impl Into<Arc<Config>>, now: Instant) -> H2Connection {
        let config = config.into();
        let h2 = &config.h2;
        let mut connection = H2Connection {
            now,
            preface_matched: 0,
            recv_buf: BytesMut::new(),
            decoder: FrameDecoder::new(h2.max_frame_size),
            hpack_in: HpackDecoder::new(
                h2.header_table_size as usize,
                h2.max_header_list_size as usize,
            ),
            hpack_out: HpackEncoder::new(),
            peer_initial_window: 65_535,
            peer_max_frame_size: super::frame::MAX_FRAME_SIZE_DEFAULT,
            send_window: SendWindow::new(CONNECTION_WINDOW),
            recv_window: RecvWindow::new(
                h2.connection_window_size
                    .clamp(CONNECTION_WINDOW, MAX_WINDOW),
            ),
            streams: BTreeMap::new(),
            request_streams: BTreeMap::new(),
            highest_stream: 0,
            skipped_streams: std::collections::VecDeque::new(),
            reset_streams: VecDeque::new(),
            peer_reset_streams: VecDeque::new(),
            next_request: 0,
            block: None,
            last_sent: 0,
            close: CloseState::Open,
            goaway_last: None,
            peer_goaway: false,
            recv_eof: false,
            transport: TransportState::Writable,
            blocked_bytes: 0,
            blocked_control_bytes: 0,
            reset_tokens: h2.resets_burst,
            reset_filled_at: now,
            empty_frames: 0,
            reading: ReadState::Resumed,
            timers: TimerTable::default(),
            outputs: VecDeque::new(),
            date_cache: crate::date::DateCache::default(),
            config,
        };
        connection.send_settings();
        let window = connection.recv_window.open();
        if window > CONNECTION_WINDOW {
            connection.control(Frame::WindowUpdate {
                stream: StreamId::CONNECTION,
                increment: window - CONNECTION_WINDOW,
            });
        }
        connection.sync();
        connection
    }

    /// Feeds one input. `Err` only for misuse by the application; nothing changed then.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        self.now = self.now.max(input.now());
        let result = match input {
            Input::Received { bytes, .. } => {
                self.handle_received(bytes);
                Ok(())
            }
            Input::ReceivedEof { .. } => {
                self.handle_eof();
                Ok(())
            }
            Input::Transport { state, .. } => {
                self.handle_transport(state);
                Ok(())
            }
            Input::ConnectionLost { .. } => {
                self.close_now(CloseReason::Abort);
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
        result
    }

    /// The next output, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed `Input::Timeout` next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// How many bytes the driver may read now.
    pub fn recv_window(&self) -> usize {
        self.recv_capacity().saturating_sub(self.recv_buf.len())
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.close == CloseState::Closed
    }

    fn send_settings(&mut self) {
        let h2 = &self.config.h2;
        let settings = vec![
            (SettingId::HeaderTableSize, h2.header_table_size),
            (SettingId::EnablePush, 0),
            (SettingId::MaxConcurrentStreams, h2.max_concurrent_streams),
            (
                SettingId::InitialWindowSize,
                h2.initial_window_size.min(MAX_WINDOW),
            ),
            (SettingId::MaxFrameSize, h2.max_frame_size),
            (SettingId::MaxHeaderListSize, h2.max_header_list_size),
        ];
        self.control(Frame::Settings {
            ack: false,
            settings,
        });
    }

    fn handle_transport(&mut self, state: TransportState) {
        if self.transport == state {
            if state == TransportState::Blocked {
                let deadline = self.now + self.config.timeouts.send_stall;
                self.timers.extend(Timer::SendStall, deadline);
            }
            return;
        }
        self.transport = state;
        self.blocked_bytes = 0;
        self.blocked_control_bytes = 0;
    }

    fn handle_timeout(&mut self, timer: Timer) {
        match timer {
            // Idle but for requests whose bodies are being discarded: those end, not the
            // connection.
            Timer::IdleKeepAlive if !self.streams.is_empty() => self.stop_discarding(),
            // No preface in time, idle, or a peer that stopped sending what it owes (a body, the
            // rest of a header block): GOAWAY and close (Twisted's `timeoutConnection`:
            // NO_ERROR when idle, PROTOCOL_ERROR with streams open).
            Timer::HeaderRead | Timer::IdleKeepAlive | Timer::BodyRead => {
                let code = if self.active_streams() > 0 {
                    ErrorCode::ProtocolError
                } else {
                    ErrorCode::NoError
                };
                self.go_away(code);
            }
            // The peer stopped reading: nothing more can reach it.
            Timer::SendStall if self.transport == TransportState::Blocked => {
                self.close_now(CloseReason::Abort);
            }
            // The peer reads but grants no window: tell it why, then close.
            Timer::SendStall => self.go_away(ErrorCode::FlowControlError),
            Timer::Abort => self.close_now(CloseReason::Abort),
            Timer::Linger => self.close_now(CloseReason::Graceful),
            Timer::ResponseHead | Timer::ResponseBodyIdle | Timer::ExpectContinue => {}
        }
    }

    fn handle_eof(&mut self) {
        self.recv_eof = true;
        if self.close == CloseState::Lingering {
            self.close_now(CloseReason::Graceful);
            return;
        }
        // The peer sends nothing more: requests still arriving are lost; responses to whole
        // requests may still go out (within the windows the peer already gave).
        let unfinished: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| !s.body_ended)
            .map(|(&id, _)| id)
            .collect();
        for id in unfinished {
            self.lose_stream(id);
        }
    }

    /// Appends a control frame (anything but DATA).
    fn control(&mut self, frame: Frame) {
        let mut out = BytesMut::with_capacity(64);
        frame.write(&mut out);
        self.transmit_control(out.freeze());
    }

    fn transmit_control(&mut self, bytes: Bytes) {
        if self.transport == TransportState::Blocked {
            self.blocked_control_bytes += bytes.len();
        }
        self.transmit(bytes);
    }

    fn transmit(&mut self, bytes: Bytes) {
        if bytes.is_empty() || self.close != CloseState::Open {
            return;
        }
        if self.transport == TransportState::Blocked {
            self.blocked_bytes += bytes.len();
        }
        self.outputs.push_back(Output::Transmit(bytes));
    }

    /// A connection error, or our own decision to end: GOAWAY with the last stream we took,
    /// then the close (streams still open are lost).
    fn go_away(&mut self, code: ErrorCode) {
        if self.close != CloseState::Open {
            return;
        }
        // After a drain's GOAWAY, the streams opened since were never processed, and the last
        // stream named never grows (RFC 9113 §6.8).
        let last = self.goaway_last.unwrap_or(self.highest_stream);
        self.control(Frame::GoAway {
            last_stream: StreamId::new(last),
            code,
            debug: Bytes::new(),
        });
        self.goaway_last = Some(last);
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.lose_stream(id);
        }
        self.close_gracefully();
    }

    /// GOAWAY(NO_ERROR) with the last stream taken; the streams already open finish.
    fn drain(&mut self) {
        if self.goaway_last.is_some() || self.close != CloseState::Open {
            return;
        }
        self.goaway_last = Some(self.highest_stream);
        self.control(Frame::GoAway {
            last_stream: StreamId::new(self.highest_stream),
            code: ErrorCode::NoError,
            debug: Bytes::new(),
        });
    }

    fn close_gracefully(&mut self) {
        if self.close != CloseState::Open {
            return;
        }
        self.outputs.push_back(Output::ShutdownWrite);
        if self.recv_eof {
            self.close_now(CloseReason::Graceful);
        } else {
            self.close = CloseState::Lingering;
        }
    }

    /// Gives back the receive buffer and the output queue's space when no stream is open and
    /// nothing is buffered or waiting to be taken ([`Connection::release_idle_memory`]).
    ///
    /// [`Connection::release_idle_memory`]: crate::io::Connection::release_idle_memory
    pub fn release_idle_memory(&mut self) {
        if self.streams.is_empty() && self.recv_buf.is_empty() && self.outputs.is_empty() {
            self.recv_buf = BytesMut::new();
            self.outputs = VecDeque::new();
        }
    }

    fn close_now(&mut self, reason: CloseReason) {
        if self.close == CloseState::Closed {
            return;
        }
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.lose_stream(id);
        }
        self.close = CloseState::Closed;
        self.recv_buf = BytesMut::new();
        for timer in Timer::ALL {
            self.timers
                .cancel(timer, self.config.timer_reports, &mut self.outputs);
        }
        self.outputs.push_back(Output::Close(reason));
    }

    /// We reset stream `id` (or are about to), or left it unprocessed above our GOAWAY:
    /// remembered, so that what the peer sent before seeing either is ignored.
    fn remember_reset(&mut self, id: u32) {
        remember(&mut self.reset_streams, id);
    }

    /// The peer reset stream `id`: remembered, so that DATA it sends after is a stream error
    /// once the stream is forgotten, not the connection error of a stream that ended.
    fn remember_peer_reset(&mut self, id: u32) {
        remember(&mut self.peer_reset_streams, id);
    }

    /// The stream is gone: the app hears `Lost` unless it knows, its producer stops.
    fn lose_stream(&mut self, id: u32) {
        let Some(mut stream) = self.streams.remove(&id) else {
            return;
        };
        if !stream.lost && stream.response != Response::Done {
            self.outputs
                .push_back(Output::Event(crate::io::Event::Lost { id: stream.id }));
        }
        stream.lost = true;
        self.forget(&mut stream);
    }

    /// A stream leaves the map: its producer stops, and request body bytes the app never took
    /// go back to the connection's window (or it would shrink with every such stream).
    fn forget(&mut self, stream: &mut Stream) {
        self.stop_producer(stream);
        self.request_streams.remove(&stream.id);
        let untaken: usize = stream.body.drain(..).map(|b| b.len()).sum();
        self.recv_window.release(untaken as u32);
    }

    fn stop_producer(&mut self, stream: &mut Stream) {
        if let Some(producer) = stream.producer.take() {
            if producer.state != Some(ProducerState::Stopped) {
                let request = stream.id;
                let state = ProducerState::Stopped;
                self.outputs.push_back(Output::Producer { request, state });
            }
        }
    }

    fn active_streams(&self) -> usize {
        self.streams
            .values()
            .filter(|s| s.state.is_active())
            .count()
    }
}

impl Stream {
    fn new(id: RequestId, peer_window: u32, our_window: u32) -> Stream {
        Stream {
            id,
            state: StreamState::Idle,
            send_window: SendWindow::new(peer_window),
            recv_window: RecvWindow::new(our_window),
            is_head: false,
            body: VecDeque::new(),
            credit: 0,
            expect_pending: false,
            body_ended: false,
            body_end_told: false,
            declared_length: None,
            received: 0,
            response: Response::AwaitingHead,
            out: VecDeque::new(),
            out_bytes: 0,
            end_queued: false,
            producer: None,
            lost: false,
            discarding: false,
        }
    }
}

impl crate::io::Connection for H2Connection {
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        H2Connection::handle_input(self, input)
    }
    fn poll_output(&mut self) -> Option<Output> {
        H2Connection::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        H2Connection::poll_timeout(self)
    }
    fn recv_window(&self) -> usize {
        H2Connection::recv_window(self)
    }
    fn close_flush_timeout(&self) -> crate::Duration {
        self.config.timeouts.abort
    }
    fn release_idle_memory(&mut self) {
        H2Connection::release_idle_memory(self);
    }
}
