//! Application commands: credit, informational and final heads, body data, finish, abort,
//! graceful close, producers, drain. Every check happens before any state changes, so an `Err`
//! leaves the channel exactly as it was.

use bytes::{Bytes, BytesMut};

use super::exchange::{Expect, Producer};
use super::state::{CloseState, RecvState, SendState};
use super::Channel;
use crate::error::{SendError, UsageError};
use crate::h1::body_encoder::BodyEncoder;
use crate::h1::head_writer::{write_informational, AddedHeaders, AppHead, ConnectionHeader};
use crate::io::{AppCommand, CloseReason, ProducerKind, RequestId};
use crate::message::{ResponseHead, Version};

/// A response head's size before its fields: status line, framing, `Date`, `Server`.
const HEAD_BYTES_TYPICAL: usize = 128;

/// The head buffer's first allocation: a few small heads. It grows for a pipeline's heads and
/// is kept from request to request until the connection is idle a while; kept small so that a
/// burst of new connections does not hold much each before their release.
const HEAD_BUF_BYTES: usize = 512;

/// A `Respond` body at most this long is written into the head buffer after the head.
const RESPOND_INLINE_BODY_BYTES_MAX: usize = 1024;

/// What [`Channel::emit_head`] needs to know of a head written into the head buffer.
#[derive(Clone, Copy, Debug)]
struct HeadWritten {
    /// The connection stays open after this response.
    persistent: bool,
    /// The response came before its request's body was read (web2's early reply).
    early_reply: bool,
}

impl Channel {
    pub(super) fn handle_input_app(&mut self, command: AppCommand) -> Result<(), UsageError> {
        match command {
            AppCommand::Drain => {
                // A draining server skips the lingering close, so shutdown is prompt: the
                // responses are flushed, then the socket closes (a client still sending may
                // see a reset; the server's shutdown deadline bounds the wait anyway).
                self.draining = true;
                self.stop_receiving();
                if self.close == CloseState::Lingering {
                    self.close_now(CloseReason::Graceful);
                }
                Ok(())
            }
            AppCommand::Consume { request, bytes } => self.consume(request, bytes),
            AppCommand::SendInformational { request, head } => {
                self.send_informational(request, head)
            }
            AppCommand::SendHead { request, head } => self.send_head(request, head),
            AppCommand::SendBody { request, data } => {
                self.send_body(request, data.len() as u64, std::iter::once(data))
            }
            AppCommand::SendBodyParts { request, parts } => {
                let len = parts.iter().map(|part| part.len() as u64).sum();
                self.send_body(request, len, parts)
            }
            AppCommand::Finish { request } => self.finish(request),
            AppCommand::Respond {
                request,
                head,
                body,
            } => self.respond(request, head, body),
            AppCommand::SendRequest { .. } => Err(UsageError::WrongRole),
            AppCommand::Abort { request } => {
                let index = self.open_exchange(request)?;
                if index == 0 {
                    self.close_now(CloseReason::Abort);
                } else {
                    self.end_at(index);
                }
                Ok(())
            }
            AppCommand::Close { request } => self.close_at(request),
            AppCommand::RegisterProducer { request, kind } => self.register_producer(request, kind),
            AppCommand::UnregisterProducer { request } => {
                let index = self.open_exchange(request)?;
                self.exchanges[index].producer = None;
                Ok(())
            }
        }
    }

    /// `Close`: the connection ends at this request, gracefully.
    fn close_at(&mut self, request: RequestId) -> Result<(), UsageError> {
        match self.open_exchange(request) {
            Ok(index) => {
                self.end_at(index);
                Ok(())
            }
            // `open_exchange` says so only of a request dispatched, not lost, and gone from
            // the queue: its response completed, and everything in flight came after it.
            Err(UsageError::AlreadyFinished) => {
                self.lose_exchanges_from(0);
                self.recv_close();
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// The response at `index` is the connection's last and ends where it stands: the ones
    /// before it finish (a response in progress is never corrupted), what it queued is
    /// written, then the connection closes gracefully. Later requests are lost.
    fn end_at(&mut self, index: usize) {
        // Those behind first: once this one is marked, the watermark would count them as
        // known lost, and the app would never be told.
        self.lose_exchanges_from(index + 1);
        let exchange = &mut self.exchanges[index];
        exchange.send_aborted();
        // The app knows: no `Lost` for it, but later commands for it are refused as lost.
        let id = exchange.id;
        self.mark_lost(id);
        self.recv_close();
    }

    /// The index of a request the app may still act on.
    fn open_exchange(&self, request: RequestId) -> Result<usize, UsageError> {
        if request.sequence() >= self.next_id {
            return Err(UsageError::UnknownRequest);
        }
        if self.close == CloseState::Closed || self.is_lost(request) {
            return Err(UsageError::RequestLost);
        }
        // Dispatched, not lost, gone from the queue: its response completed.
        self.exchange_index(request)
            .ok_or(UsageError::AlreadyFinished)
    }

    fn consume(&mut self, request: RequestId, bytes: u64) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        let exchange = &mut self.exchanges[index];
        exchange.credit = exchange.credit.saturating_add(bytes);
        if bytes == 0 {
            return Ok(());
        }
        exchange.credit_granted = true;
        let waiting = matches!(exchange.send, SendState::AwaitingHead) && !exchange.body_done;
        if exchange.expect == Expect::Pending && waiting {
            // Lazy 100-continue (web2): the client is told to send the body only once the app
            // asks for it.
            exchange.expect = Expect::Sent;
            self.emit(index, Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n"));
        }
        Ok(())
    }

    fn send_informational(
        &mut self,
        request: RequestId,
        head: ResponseHead,
    ) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        if !(100..=199).contains(&head.status) || head.status == 101 {
            return Err(UsageError::InvalidStatus);
        }
        self.head_memo.check(&head)?;
        let exchange = &mut self.exchanges[index];
        if !matches!(exchange.send, SendState::AwaitingHead) {
            return Err(UsageError::HeadAlreadySent);
        }
        if exchange.version == Version::Http10 {
            // HTTP/1.0 clients do not understand 1xx (RFC 9110 §15.2).
            return Ok(());
        }
        if head.status == 100 {
            if exchange.expect == Expect::Sent {
                // 100 is a one-time signal (RFC 9110 §15.2.1): the lazy one already went out.
                return Ok(());
            }
            exchange.expect = Expect::Sent;
        }
        let mut out = BytesMut::with_capacity(64);
        write_informational(&mut out, &head);
        self.emit(index, out.freeze());
        Ok(())
    }

    /// `Respond`: every check of the three commands first, so a refused `Respond` changes
    /// nothing; then the head, the body (the app hands it over whole, so there is no producer
    /// to pause: it is taken if the send buffer had room before the head) and the end.
    ///
    /// A small response leaves as one buffer: its body and framing are written after the head
    /// in the head buffer (a copy of at most [`RESPOND_INLINE_BODY_BYTES_MAX`] bytes, which the
    /// driver would make anyway to coalesce small writes), so it is one output, not two.
    fn respond(
        &mut self,
        request: RequestId,
        head: ResponseHead,
        body: Bytes,
    ) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        let app = self.check_head(index, &head)?;
        let len = body.len() as u64;
        if len > 0 && !self.send_room(index) {
            return Err(SendError::Blocked.into());
        }
        let mut encoder = self.response_encoder(index, &head, app);
        encoder.check_whole(len)?;
        if body.len() > RESPOND_INLINE_BODY_BYTES_MAX {
            self.write_head(index, &head, app);
            encoder.encode_parts(len, std::iter::once(body), |piece| self.emit(index, piece))?;
            self.exchanges[index].send_body_with(encoder);
            return self.finish(request);
        }
        let written = self.write_head_bytes(index, &head, app);
        let out = &mut self.head_buf;
        // Neither fails: `check_whole` passed, and the whole body is framed.
        encoder.encode_parts(len, std::iter::once(body), |piece| {
            out.extend_from_slice(&piece)
        })?;
        encoder.finish(|piece| out.extend_from_slice(&piece))?;
        self.exchanges[index].send_done();
        self.emit_head(index, written);
        Ok(())
    }

    /// What `SendHead` checks before anything is written.
    fn check_head(&mut self, index: usize, head: &ResponseHead) -> Result<AppHead, UsageError> {
        if head.status < 200 {
            return Err(UsageError::InvalidStatus);
        }
        let app = self.head_memo.check(head)?;
        let exchange = &self.exchanges[index];
        if !matches!(exchange.send, SendState::AwaitingHead) {
            return Err(UsageError::HeadAlreadySent);
        }
        if exchange.is_connect && (200..300).contains(&head.status) {
            // A 2xx to CONNECT turns the connection into a tunnel (RFC 9110 §9.3.6).
            return Err(UsageError::Unsupported);
        }
        Ok(app)
    }

    fn send_head(&mut self, request: RequestId, head: ResponseHead) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        let app = self.check_head(index, &head)?;
        self.write_head(index, &head, app);
        Ok(())
    }

    /// Writes a head that passed [`Channel::check_head`] (once: `Respond` checks it with its
    /// body, then writes it here).
    fn write_head(&mut self, index: usize, head: &ResponseHead, app: AppHead) {
        let written = self.write_head_bytes(index, head, app);
        self.emit_head(index, written);
    }

    /// Writes a checked head into the head buffer and moves the exchange's send side on; the
    /// bytes leave with [`Channel::emit_head`].
    fn write_head_bytes(&mut self, index: usize, head: &ResponseHead, app: AppHead) -> HeadWritten {
        let encoder = self.response_encoder(index, head, app);
        // The newest response that will reach the wire: a request behind this one that was
        // given up (`Abort`, a lost body) with nothing queued ends the connection where its
        // response would start, so it does not count; the refusal of a bad head does.
        let is_newest =
            self.refusal.is_none()
                && self.exchanges.iter().skip(index + 1).all(|later| {
                    matches!(later.send, SendState::Aborted) && later.queued.is_empty()
                });
        let exchange = &mut self.exchanges[index];
        // Answering before reading a body (web2's early reply): the rest of the body is
        // discarded by the lingering close, so this is the last response.
        let early_reply = !exchange.body_done && !exchange.credit_granted;
        if encoder.is_close_delimited() || app.wants_close || early_reply {
            exchange.persistent = false;
        }
        let last = !exchange.persistent || (self.no_more_requests && is_newest);
        let connection = match (last, exchange.version) {
            (true, _) => ConnectionHeader::Close,
            (false, Version::Http10) => ConnectionHeader::KeepAlive,
            (false, Version::Http11 | Version::Http2) => ConnectionHeader::Omit,
        };
        let added = AddedHeaders {
            content_length: None,
            chunked: encoder == BodyEncoder::Chunked,
            connection,
            date: None,
            server: self.config.server_name,
            end: None,
            app_fields: None,
        };
        exchange.send_body_with(encoder);
        exchange.expect = Expect::None;
        let persistent = exchange.persistent;
        // The first head sizes the buffer for a few; later ones reserve only their own, so
        // the buffer is reclaimed (or replaced) once every few heads rather than for each.
        let want = HEAD_BYTES_TYPICAL + head.headers.len() * 32;
        let want = match self.head_buf.capacity() {
            0 => want.max(HEAD_BUF_BYTES),
            _ => want,
        };
        self.head_buf.reserve(want);
        self.head_memo.write_head(
            &mut self.head_buf,
            head,
            added,
            !app.sets_date_or_server,
            self.config.date_origin_unix_millis,
            self.now,
        );
        HeadWritten {
            persistent,
            early_reply,
        }
    }

    /// Hands out what the head buffer holds (a head, and a small response's body) and, after
    /// the last response, stops what follows it.
    fn emit_head(&mut self, index: usize, written: HeadWritten) {
        let bytes = self.head_buf.split().freeze();
        self.emit(index, bytes);
        if !written.persistent {
            self.last_exchange(index, written.early_reply);
        }
    }

    /// How the body of this response is framed (RFC 9112 §6.1, §6.2).
    fn response_encoder(&self, index: usize, head: &ResponseHead, app: AppHead) -> BodyEncoder {
        let exchange = &self.exchanges[index];
        let no_body = exchange.is_head || head.status == 204 || head.status == 304;
        match (no_body, app.content_length, exchange.version) {
            (true, _, _) => BodyEncoder::Empty,
            (false, Some(length), _) => BodyEncoder::Length { remaining: length },
            (false, None, Version::Http11 | Version::Http2) => BodyEncoder::Chunked,
            (false, None, Version::Http10) => BodyEncoder::CloseDelimited,
        }
    }

    /// The exchange at `index` ends the connection: later ones are dropped, and after an early
    /// reply the rest of its request body is discarded.
    fn last_exchange(&mut self, index: usize, early_reply: bool) {
        self.lose_exchanges_from(index + 1);
        self.take_no_more_requests();
        let receiving_later = match self.recv {
            RecvState::Body { id, .. } => id != self.exchanges[index].id || early_reply,
            RecvState::AwaitingHead | RecvState::Done => true,
            RecvState::Closed => false,
        };
        if receiving_later {
            self.recv_close();
        }
    }

    fn send_body(
        &mut self,
        request: RequestId,
        len: u64,
        parts: impl IntoIterator<Item = Bytes>,
    ) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        let mut encoder = match self.exchanges[index].send {
            SendState::AwaitingHead => return Err(UsageError::HeadNotSent),
            SendState::Body(encoder) => encoder,
            SendState::Done => return Err(UsageError::AlreadyFinished),
            SendState::Aborted => return Err(UsageError::RequestLost),
        };
        if len > 0 && !self.send_room(index) {
            return Err(SendError::Blocked.into());
        }
        // The encoder checks everything before it emits the first piece, so an `Err` leaves
        // the channel unchanged.
        encoder.encode_parts(len, parts, |piece| self.emit(index, piece))?;
        let exchange = &mut self.exchanges[index];
        exchange.send_body_with(encoder);
        if let Some(producer) = &mut exchange.producer {
            producer.pull_outstanding = false;
        }
        Ok(())
    }

    fn finish(&mut self, request: RequestId) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        let encoder = match self.exchanges[index].send {
            SendState::AwaitingHead => return Err(UsageError::HeadNotSent),
            SendState::Body(encoder) => encoder,
            SendState::Done => return Err(UsageError::AlreadyFinished),
            SendState::Aborted => return Err(UsageError::RequestLost),
        };
        let mut last = None;
        encoder.finish(|piece| last = Some(piece))?;
        self.exchanges[index].send_done();
        if let Some(piece) = last {
            self.emit(index, piece);
        }
        Ok(())
    }

    fn register_producer(
        &mut self,
        request: RequestId,
        kind: ProducerKind,
    ) -> Result<(), UsageError> {
        let index = self.open_exchange(request)?;
        let exchange = &mut self.exchanges[index];
        if exchange.is_settled() {
            return Err(UsageError::AlreadyFinished);
        }
        if exchange.producer.is_some() {
            return Err(UsageError::ProducerAlreadyRegistered);
        }
        exchange.producer = Some(Producer {
            kind,
            state: None,
            pull_outstanding: false,
        });
        Ok(())
    }

    /// Output of the exchange at `index`: on the wire if it is at the front, queued otherwise.
    fn emit(&mut self, index: usize, bytes: Bytes) {
        if index == 0 {
            self.transmit(bytes);
        } else {
            self.exchanges[index].queue(bytes);
        }
    }
}
