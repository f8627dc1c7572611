//! The receive side: the client preface, then frames, each judged by the frame layer, the
//! stream's state machine and the connection's own rules (stream ids, CONTINUATION sequence,
//! concurrency, windows, the reset bucket).

use bytes::{Bytes, BytesMut};

use super::{CloseState, H2Connection, HeaderBlock, Response, Stream, PREFACE, SKIPPED_RANGES_MAX};
use crate::h2::frame::{ErrorCode, Frame, FrameError, SettingId, StreamId};
use crate::h2::hpack::DecodeError;
use crate::h2::request::{check_trailers, request_head};
use crate::h2::stream::{ClosedBy, Received, StreamState, Verdict};
use crate::io::{Event, Output, RequestId, TransportState};
use crate::message::BodyLength;

impl H2Connection {
    /// How many received bytes may be held: at least one whole frame.
    pub(super) fn recv_capacity(&self) -> usize {
        if self.close == CloseState::Closed || self.recv_eof {
            return 0;
        }
        if self.close == CloseState::Lingering {
            return self.config.limits.recv_buffer_bytes_max;
        }
        if self.transport == TransportState::Blocked {
            // A peer that does not read our frames may not send more (Twisted pauses the
            // transport too): it is what bounds the control frames we owe it.
            return 0;
        }
        let frame =
            super::super::frame::FRAME_HEADER_BYTES + self.config.h2.max_frame_size as usize;
        self.config.limits.recv_buffer_bytes_max.max(frame)
    }

    pub(super) fn handle_received(&mut self, bytes: &[u8]) {
        match self.close {
            CloseState::Closed => return,
            // Lingering: read and discard until the peer's FIN.
            CloseState::Lingering => return,
            CloseState::Open => {}
        }
        self.recv_buf.extend_from_slice(bytes);
        if !self.take_preface() {
            return;
        }
        while self.close == CloseState::Open {
            match self.decoder.decode(&mut self.recv_buf) {
                Ok(Some(frame)) => {
                    if let Err(error) = self.handle_frame(frame) {
                        self.frame_error(error);
                    }
                }
                Ok(None) => break,
                Err(error) => self.frame_error(error),
            }
        }
    }

    /// Matches the preface as it arrives. Returns whether it is complete.
    fn take_preface(&mut self) -> bool {
        if self.preface_matched == PREFACE.len() {
            return true;
        }
        let want = &PREFACE[self.preface_matched..];
        let n = want.len().min(self.recv_buf.len());
        if self.recv_buf[..n] != want[..n] {
            self.go_away(ErrorCode::ProtocolError);
            return false;
        }
        let _ = self.recv_buf.split_to(n);
        self.preface_matched += n;
        self.preface_matched == PREFACE.len()
    }

    fn frame_error(&mut self, error: FrameError) {
        match error {
            FrameError::Connection(code) => self.go_away(code),
            FrameError::Stream(id, code) => self.reset_stream(id.get(), code),
        }
    }

    /// RST_STREAM from us: the stream ends, the app hears `Lost` unless it knows.
    pub(super) fn reset_stream(&mut self, id: u32, code: ErrorCode) {
        self.control(Frame::RstStream {
            stream: StreamId::new(id),
            code,
        });
        self.remember_reset(id);
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.state = StreamState::Closed(ClosedBy::LocalReset);
        }
        self.lose_stream(id);
    }

    /// What a frame shows of the peer's progress: what it owes (a body, a header block)
    /// coming on restarts the body timer, not PINGs or SETTINGS, which would keep a stalled
    /// request alive for ever; a window granted may move a waiting response again.
    fn extend_timers_for(&mut self, frame: &Frame) {
        let progress = matches!(
            frame,
            Frame::Data { .. } | Frame::Headers { .. } | Frame::Continuation { .. }
        );
        if progress {
            let deadline = self.now + self.config.timeouts.body_read;
            self.timers.extend(crate::io::Timer::BodyRead, deadline);
        }
        if matches!(frame, Frame::WindowUpdate { .. }) {
            let deadline = self.now + self.config.timeouts.send_stall;
            self.timers.extend(crate::io::Timer::SendStall, deadline);
        }
    }

    fn handle_frame(&mut self, frame: Frame) -> Result<(), FrameError> {
        let connection = |code| Err(FrameError::Connection(code));
        self.extend_timers_for(&frame);
        if let Some(block) = &self.block {
            // §6.10: only CONTINUATION of the same stream until END_HEADERS.
            let same = matches!(&frame,
                Frame::Continuation { stream, .. } if stream.get() == block.stream);
            if !same {
                return connection(ErrorCode::ProtocolError);
            }
        }
        match frame {
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            } => self.on_data(stream.get(), data, end_stream, flow_len),
            Frame::Headers {
                stream,
                priority,
                fragment,
                end_stream,
                end_headers,
            } => {
                self.block = Some(HeaderBlock {
                    stream: stream.get(),
                    end_stream,
                    self_dependent: priority.is_some_and(|p| p.dependency == stream),
                    bytes: BytesMut::from(&fragment[..]),
                    frames: 0,
                });
                self.header_block_ends_if(end_headers)
            }
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => self.on_continuation(stream, &fragment, end_headers),
            Frame::Priority { stream, .. } => {
                // Deprecated (§5.3.2): checked by the frame layer, then ignored.
                let _ = stream;
                Ok(())
            }
            Frame::RstStream { stream, .. } => self.on_reset(stream.get()),
            Frame::Settings { ack, settings } => {
                if !ack {
                    self.apply_settings(&settings)?;
                    self.control(Frame::Settings {
                        ack: true,
                        settings: Vec::new(),
                    });
                }
                Ok(())
            }
            // A client never pushes (§8.4).
            Frame::PushPromise { .. } => connection(ErrorCode::ProtocolError),
            Frame::Ping { ack, payload } => {
                if !ack {
                    self.control(Frame::Ping { ack: true, payload });
                }
                Ok(())
            }
            Frame::GoAway { .. } => {
                // The peer opens no more streams; those open finish, then we close.
                self.peer_goaway = true;
                Ok(())
            }
            Frame::WindowUpdate { stream, increment } => self.on_window_update(stream, increment),
            Frame::Unknown { .. } => Ok(()),
        }
    }

    /// A CONTINUATION of the header block being received (checked to be of its stream).
    fn on_continuation(
        &mut self,
        stream: StreamId,
        fragment: &[u8],
        end_headers: bool,
    ) -> Result<(), FrameError> {
        let Some(block) = &mut self.block else {
            return Err(FrameError::Connection(ErrorCode::ProtocolError));
        };
        debug_assert_eq!(block.stream, stream.get());
        block.frames += 1;
        let list_max = self.config.h2.max_header_list_size as usize;
        let too_long = block.bytes.len() + fragment.len() > list_max;
        if block.frames > self.config.h2.continuation_frames_max || too_long {
            // CVE-2024-27316: a block that never ends, or grows without bound.
            return Err(FrameError::Connection(ErrorCode::EnhanceYourCalm));
        }
        block.bytes.extend_from_slice(fragment);
        self.header_block_ends_if(end_headers)
    }

    /// The header block is whole at END_HEADERS: decode it.
    fn header_block_ends_if(&mut self, end_headers: bool) -> Result<(), FrameError> {
        if end_headers {
            self.on_header_block()
        } else {
            Ok(())
        }
    }

    fn apply_settings(&mut self, settings: &[(SettingId, u32)]) -> Result<(), FrameError> {
        for &(id, value) in settings {
            match id {
                SettingId::HeaderTableSize => self.hpack_out.set_peer_table_size(value),
                SettingId::InitialWindowSize => {
                    // §6.9.2: every stream's window moves by the difference.
                    let delta = i64::from(value) - i64::from(self.peer_initial_window);
                    self.peer_initial_window = value;
                    for stream in self.streams.values_mut() {
                        if stream.send_window.shift(delta).is_err() {
                            return Err(FrameError::Connection(ErrorCode::FlowControlError));
                        }
                    }
                }
                SettingId::MaxFrameSize => self.peer_max_frame_size = value,
                SettingId::EnablePush
                | SettingId::MaxConcurrentStreams
                | SettingId::MaxHeaderListSize
                | SettingId::EnableConnectProtocol
                | SettingId::Unknown(_) => {}
            }
        }
        Ok(())
    }

    fn on_window_update(&mut self, stream: StreamId, increment: u32) -> Result<(), FrameError> {
        if stream.is_connection() {
            return self
                .send_window
                .grow(increment)
                .map_err(|_| FrameError::Connection(ErrorCode::FlowControlError));
        }
        let id = stream.get();
        let state = self.stream_state(id);
        let (_, verdict) = state.recv(stream, Received::WindowUpdate)?;
        if verdict == Verdict::Ignore {
            return Ok(());
        }
        if let Some(s) = self.streams.get_mut(&id) {
            if s.send_window.grow(increment).is_err() {
                return Err(FrameError::Stream(stream, ErrorCode::FlowControlError));
            }
        }
        Ok(())
    }

    fn on_reset(&mut self, id: u32) -> Result<(), FrameError> {
        let state = self.stream_state(id);
        let (next, verdict) = state.recv(StreamId::new(id), Received::RstStream)?;
        if verdict == Verdict::Ignore {
            return Ok(());
        }
        // CVE-2023-44487: a bucket of resets, refilled over time.
        self.refill_resets();
        if self.reset_tokens == 0 {
            return Err(FrameError::Connection(ErrorCode::EnhanceYourCalm));
        }
        self.reset_tokens -= 1;
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.state = next;
        }
        self.remember_peer_reset(id);
        self.lose_stream(id);
        Ok(())
    }

    fn refill_resets(&mut self) {
        let h2 = &self.config.h2;
        let elapsed = self.now.saturating_duration_since(self.reset_filled_at);
        let earned = elapsed.as_millis() * u128::from(h2.resets_per_second) / 1000;
        if earned > 0 {
            let earned = u32::try_from(earned).unwrap_or(u32::MAX);
            self.reset_tokens = self
                .reset_tokens
                .saturating_add(earned)
                .min(h2.resets_burst);
            self.reset_filled_at = self.now;
        }
    }

    /// The state of stream `id`, known or not: idle above the highest opened, closed below;
    /// a forgotten stream closed as it was, by a reset if we remember one (after ours, frames
    /// in flight are ignored; after the peer's, DATA is a stream error), else by its end (DATA
    /// after END_STREAM is a connection error, however late).
    pub(super) fn stream_state(&self, id: u32) -> StreamState {
        match self.streams.get(&id) {
            Some(stream) => stream.state,
            None if id > self.highest_stream => StreamState::Idle,
            None if self.reset_streams.contains(&id) => StreamState::Closed(ClosedBy::LocalReset),
            None if self.peer_reset_streams.contains(&id) => {
                StreamState::Closed(ClosedBy::RemoteReset)
            }
            None => StreamState::Closed(ClosedBy::EndStream),
        }
    }

    fn on_data(
        &mut self,
        id: u32,
        data: Bytes,
        end_stream: bool,
        flow_len: u32,
    ) -> Result<(), FrameError> {
        let stream_id = StreamId::new(id);
        if data.is_empty() && !end_stream {
            // CVE-2019-9518: frames that cost work and carry nothing.
            self.empty_frames += 1;
            if self.empty_frames > self.config.h2.empty_frames_max {
                return Err(FrameError::Connection(ErrorCode::EnhanceYourCalm));
            }
        } else {
            self.empty_frames = 0;
        }
        // The connection window counts every DATA frame, whatever becomes of it (§6.9).
        self.recv_window
            .receive(flow_len)
            .map_err(|_| FrameError::Connection(ErrorCode::FlowControlError))?;
        let padding = flow_len - data.len() as u32;
        self.recv_window.release(padding);
        let state = self.stream_state(id);
        let (next, verdict) = state.recv(stream_id, Received::Data { end_stream })?;
        let Some(stream) = self
            .streams
            .get_mut(&id)
            .filter(|_| verdict == Verdict::Accept)
        else {
            self.recv_window.release(data.len() as u32);
            return Ok(());
        };
        if stream.recv_window.receive(flow_len).is_err() {
            return Err(FrameError::Stream(stream_id, ErrorCode::FlowControlError));
        }
        stream.recv_window.release(padding);
        stream.state = next;
        stream.received += data.len() as u64;
        let over = stream.declared_length.is_some_and(|n| stream.received > n);
        let short = end_stream && stream.declared_length.is_some_and(|n| stream.received != n);
        if over || short {
            // §8.1.1: a body that does not match its Content-Length is malformed.
            return Err(FrameError::Stream(stream_id, ErrorCode::ProtocolError));
        }
        stream.body_ended |= end_stream;
        if stream.discarding {
            // Read and dropped: room again on the connection, none on the stream (a stream
            // whose window is spent before its end is reset when streams are retired).
            self.recv_window.release(data.len() as u32);
            return Ok(());
        }
        if !data.is_empty() {
            stream.body.push_back(data);
        }
        self.tell_body_end(id);
        Ok(())
    }

    fn on_header_block(&mut self) -> Result<(), FrameError> {
        let block = self.block.take().expect("a block is being assembled");
        let id = block.stream;
        let stream_id = StreamId::new(id);
        // Decoded whatever becomes of the stream: HPACK's table must stay in step.
        let decoded = self.hpack_in.decode(&block.bytes);
        let fields = match decoded {
            Err(DecodeError::Compression) => {
                return Err(FrameError::Connection(ErrorCode::CompressionError));
            }
            Err(DecodeError::HeaderListTooLarge) => None,
            Ok(fields) => Some(fields),
        };
        let state = self.stream_state(id);
        if state == StreamState::Idle {
            if !stream_id.is_client_initiated() {
                return Err(FrameError::Connection(ErrorCode::ProtocolError));
            }
            return self.open_stream(id, block.end_stream, fields, block.self_dependent);
        }
        if !self.streams.contains_key(&id) {
            // A stream no longer (or never) open. Skipped over: an unexpected identifier
            // (§5.1.1). Forgotten after it ended, the state machine answers by how it ended
            // (§5.1): ignored after our reset (it may have crossed the peer's trailers), a
            // stream STREAM_CLOSED after the peer's, a connection STREAM_CLOSED after both
            // ends' END_STREAM, as DATA there is. Never dropped in silence.
            let skipped = self
                .skipped_streams
                .iter()
                .any(|&(low, high)| (low..=high).contains(&id));
            if skipped {
                return Err(FrameError::Connection(ErrorCode::ProtocolError));
            }
            let end_stream = block.end_stream;
            state.recv(stream_id, Received::Headers { end_stream })?;
            return Ok(());
        }
        if block.self_dependent {
            return Err(FrameError::Stream(stream_id, ErrorCode::ProtocolError));
        }
        // Trailers (§8.1): they must end the stream and be well formed; then they are dropped.
        let (next, verdict) = state.recv(
            stream_id,
            Received::Headers {
                end_stream: block.end_stream,
            },
        )?;
        if verdict == Verdict::Ignore {
            return Ok(());
        }
        let malformed = fields.is_some_and(|fields| check_trailers(&fields).is_err());
        if !block.end_stream || malformed {
            return Err(FrameError::Stream(stream_id, ErrorCode::ProtocolError));
        }
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.state = next;
            stream.body_ended = true;
            let short = stream.declared_length.is_some_and(|n| stream.received != n);
            if short {
                return Err(FrameError::Stream(stream_id, ErrorCode::ProtocolError));
            }
        }
        self.tell_body_end(id);
        Ok(())
    }

    fn open_stream(
        &mut self,
        id: u32,
        end_stream: bool,
        fields: Option<Vec<crate::h2::hpack::Field>>,
        self_dependent: bool,
    ) -> Result<(), FrameError> {
        let stream_id = StreamId::new(id);
        let next_expected = if self.highest_stream == 0 {
            1
        } else {
            self.highest_stream + 2
        };
        if id > next_expected {
            if self.skipped_streams.len() == SKIPPED_RANGES_MAX {
                self.skipped_streams.pop_front();
            }
            self.skipped_streams.push_back((next_expected, id - 2));
        }
        self.highest_stream = self.highest_stream.max(id);
        let refused_by_goaway = self.goaway_last.is_some_and(|last| id > last);
        if refused_by_goaway || self.peer_goaway {
            // §6.8: streams above our GOAWAY's last id are not processed. What the peer sends
            // on one after (its body, trailers) is discarded as on a stream we reset, its DATA
            // counted against the connection's window and given back: a request that crossed
            // the GOAWAY is no error, and must not end the streams still being answered.
            self.remember_reset(id);
            return Ok(());
        }
        if self_dependent {
            // §5.3.1, refused only now: the stream counts as opened, and the block was
            // decoded.
            return Err(FrameError::Stream(stream_id, ErrorCode::ProtocolError));
        }
        if self.active_streams() >= self.config.h2.max_concurrent_streams as usize {
            return Err(FrameError::Stream(stream_id, ErrorCode::RefusedStream));
        }
        let Some(fields) = fields else {
            // The header list was over our SETTINGS_MAX_HEADER_LIST_SIZE: 431, stream only.
            self.refuse_too_large(id, end_stream);
            return Ok(());
        };
        let Ok(head) = request_head(fields, end_stream) else {
            return Err(FrameError::Stream(stream_id, ErrorCode::ProtocolError));
        };
        let request = RequestId::from_sequence(self.next_request);
        self.next_request += 1;
        let h2 = &self.config.h2;
        let mut stream = Stream::new(request, self.peer_initial_window, h2.initial_window_size);
        let (state, _) = StreamState::Idle.recv(stream_id, Received::Headers { end_stream })?;
        stream.state = state;
        stream.is_head = head.method.is_head();
        stream.expect_pending = head.expect_continue && !end_stream;
        stream.declared_length = match head.body {
            BodyLength::Known(n) if !end_stream => Some(n),
            _ => None,
        };
        stream.body_ended = end_stream;
        self.streams.insert(id, stream);
        self.request_streams.insert(request, id);
        self.outputs
            .push_back(Output::Event(Event::Request { id: request, head }));
        self.tell_body_end(id);
        Ok(())
    }

    /// `BodyEnd` as soon as the peer ended a body the app has taken whole, in frame order:
    /// the app's events must not depend on how the peer's bytes were cut into reads (a body
    /// still waiting for the app's credit ends when `sync` delivers it).
    fn tell_body_end(&mut self, id: u32) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let gone = stream.lost || stream.discarding;
        if stream.body_ended && stream.body.is_empty() && !stream.body_end_told && !gone {
            stream.body_end_told = true;
            let id = stream.id;
            self.outputs.push_back(Output::Event(Event::BodyEnd { id }));
        }
    }

    /// 431 on the stream (RFC 6585 via RFC 9113 §10.5.1), with END_STREAM, dated and named
    /// like every final head we send (HTTP/1.1's refusals are too); the rest of the request
    /// is refused with RST_STREAM(NO_ERROR) if it was still coming (§8.1).
    fn refuse_too_large(&mut self, id: u32, end_stream: bool) {
        let stream_id = StreamId::new(id);
        let mut block = BytesMut::new();
        let date = self
            .date_cache
            .value(self.config.date_origin_unix_millis, self.now);
        let fields = [(&b":status"[..], &b"431"[..]), (b"content-length", b"0")]
            .into_iter()
            .chain(date.map(|date| (&b"date"[..], date)))
            .chain(
                self.config
                    .server_name
                    .map(|name| (&b"server"[..], name.as_bytes())),
            );
        self.hpack_out.encode(fields, &mut block);
        self.control(Frame::Headers {
            stream: stream_id,
            priority: None,
            fragment: block.freeze(),
            end_stream: true,
            end_headers: true,
        });
        if !end_stream {
            self.control(Frame::RstStream {
                stream: stream_id,
                code: ErrorCode::NoError,
            });
            self.remember_reset(id);
        }
    }
}

impl Stream {
    /// Whether the response is over.
    pub(super) fn response_done(&self) -> bool {
        self.response == Response::Done
    }
}
