//! The app's commands on a stream, with the same meanings as on the HTTP/1.1 channel, and the
//! writing of HEADERS (split into CONTINUATION frames past the peer's frame size). Body bytes
//! are queued here and sent by `sync.rs` within the flow-control windows. Every check happens
//! before any state changes.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};

use super::{H2Connection, Producer, Response, Stream};
use crate::error::{SendError, UsageError};
use crate::h1::head_writer::{check_response_head, AppHead};
use crate::h2::frame::{ErrorCode, Frame, StreamId};
use crate::h2::request::is_connection_specific;
use crate::io::{AppCommand, ProducerKind, RequestId};
use crate::message::ResponseHead;

impl H2Connection {
    pub(super) fn handle_command(&mut self, command: AppCommand) -> Result<(), UsageError> {
        match command {
            AppCommand::Drain => {
                self.drain();
                Ok(())
            }
            AppCommand::Consume { request, bytes } => {
                let (_, stream) = self.open_stream_mut(request)?;
                stream.credit = stream.credit.saturating_add(bytes);
                if bytes > 0 && stream.expect_pending && stream.response == Response::AwaitingHead {
                    // Lazy 100-continue, per stream.
                    stream.expect_pending = false;
                    let head = ResponseHead::new(100);
                    self.write_head(request, &head, false);
                }
                Ok(())
            }
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
            AppCommand::Abort { request } => {
                let (id, stream) = self.open_stream_mut(request)?;
                stream.lost = true;
                self.reset_stream(id, ErrorCode::Cancel);
                Ok(())
            }
            AppCommand::Close { request } => {
                // A graceful end of this stream: END_STREAM after what is queued (Twisted's
                // `loseConnection` on a stream). Not when it would lie: before any head there
                // is no response to end, and a body short of its `content-length` ended by
                // END_STREAM is malformed (RFC 9113 §8.1.1), a cut the client could not tell
                // from a whole answer; such a stream is reset (CANCEL).
                let (id, stream) = self.open_stream_mut(request)?;
                stream.lost = true;
                match stream.response {
                    Response::AwaitingHead => self.reset_stream(id, ErrorCode::Cancel),
                    Response::Body { remaining } if remaining.is_some_and(|left| left > 0) => {
                        self.reset_stream(id, ErrorCode::Cancel);
                    }
                    Response::Body { .. } => {
                        stream.response = Response::Done;
                        stream.end_queued = true;
                    }
                    // Finished already: its END_STREAM is queued or sent, and sent once.
                    Response::Done => {}
                }
                Ok(())
            }
            AppCommand::RegisterProducer { request, kind } => {
                let (_, stream) = self.open_stream_mut(request)?;
                if stream.response == Response::Done {
                    return Err(UsageError::AlreadyFinished);
                }
                if stream.producer.is_some() {
                    return Err(UsageError::ProducerAlreadyRegistered);
                }
                stream.producer = Some(Producer {
                    kind,
                    state: None,
                    pull_outstanding: false,
                });
                Ok(())
            }
            AppCommand::UnregisterProducer { request } => {
                let (_, stream) = self.open_stream_mut(request)?;
                stream.producer = None;
                Ok(())
            }
            AppCommand::SendRequest { .. } => Err(UsageError::WrongRole),
        }
    }

    /// The stream of a request the app may still act on.
    fn open_stream_mut(&mut self, request: RequestId) -> Result<(u32, &mut Stream), UsageError> {
        if request.sequence() >= self.next_request {
            return Err(UsageError::UnknownRequest);
        }
        let Some(&id) = self.request_streams.get(&request) else {
            return Err(UsageError::RequestLost);
        };
        let stream = self.streams.get_mut(&id).ok_or(UsageError::RequestLost)?;
        if stream.lost {
            return Err(UsageError::RequestLost);
        }
        Ok((id, stream))
    }

    fn send_informational(
        &mut self,
        request: RequestId,
        head: ResponseHead,
    ) -> Result<(), UsageError> {
        if !(100..=199).contains(&head.status) || head.status == 101 {
            return Err(UsageError::InvalidStatus);
        }
        check_response_head(&head)?;
        let (_, stream) = self.open_stream_mut(request)?;
        if stream.response != Response::AwaitingHead {
            return Err(UsageError::HeadAlreadySent);
        }
        if head.status == 100 {
            if !stream.expect_pending {
                return Ok(());
            }
            stream.expect_pending = false;
        }
        self.write_head(request, &head, false);
        Ok(())
    }

    /// `Respond`: every check of the three commands first, so a refused `Respond` changes
    /// nothing; then HEADERS, the body and END_STREAM.
    fn respond(
        &mut self,
        request: RequestId,
        head: ResponseHead,
        body: Bytes,
    ) -> Result<(), UsageError> {
        if head.status < 200 {
            return Err(UsageError::InvalidStatus);
        }
        let app = check_response_head(&head)?;
        let bound = self.config.limits.send_buffer_bytes_max;
        let (_, stream) = self.open_stream_mut(request)?;
        if stream.response != Response::AwaitingHead {
            return Err(UsageError::HeadAlreadySent);
        }
        let len = body.len() as u64;
        if !stream.is_head {
            let no_body = head.status == 204 || head.status == 304;
            let declared = if no_body { Some(0) } else { app.content_length };
            match declared {
                Some(n) if len > n => return Err(UsageError::BodyTooLong),
                Some(n) if len < n => return Err(UsageError::BodyTooShort),
                Some(_) | None => {}
            }
            if len > 0 && stream.out_bytes >= bound {
                return Err(SendError::Blocked.into());
            }
        }
        self.start_response(request, &head, app)?;
        if len > 0 {
            self.send_body(request, len, std::iter::once(body))?;
        }
        self.finish(request)
    }

    /// The response is complete: END_STREAM after what is queued.
    fn finish(&mut self, request: RequestId) -> Result<(), UsageError> {
        let (_, stream) = self.open_stream_mut(request)?;
        match stream.response {
            Response::AwaitingHead => return Err(UsageError::HeadNotSent),
            Response::Done => return Err(UsageError::AlreadyFinished),
            Response::Body {
                remaining: Some(left),
            } if left > 0 && !stream.is_head => return Err(UsageError::BodyTooShort),
            Response::Body { .. } => {}
        }
        stream.response = Response::Done;
        stream.end_queued = true;
        Ok(())
    }

    fn send_head(&mut self, request: RequestId, head: ResponseHead) -> Result<(), UsageError> {
        if head.status < 200 {
            return Err(UsageError::InvalidStatus);
        }
        let app = check_response_head(&head)?;
        let (_, stream) = self.open_stream_mut(request)?;
        if stream.response != Response::AwaitingHead {
            return Err(UsageError::HeadAlreadySent);
        }
        self.start_response(request, &head, app)
    }

    /// Sends a final head that passed the checks (once: `Respond` checks it with its body,
    /// then sends it here).
    fn start_response(
        &mut self,
        request: RequestId,
        head: &ResponseHead,
        app: AppHead,
    ) -> Result<(), UsageError> {
        let (_, stream) = self.open_stream_mut(request)?;
        let no_body = stream.is_head || head.status == 204 || head.status == 304;
        stream.response = Response::Body {
            remaining: if no_body { Some(0) } else { app.content_length },
        };
        stream.expect_pending = false;
        self.write_head(request, head, false);
        Ok(())
    }

    fn send_body(
        &mut self,
        request: RequestId,
        len: u64,
        parts: impl IntoIterator<Item = Bytes>,
    ) -> Result<(), UsageError> {
        let bound = self.config.limits.send_buffer_bytes_max;
        let (_, stream) = self.open_stream_mut(request)?;
        let remaining = match stream.response {
            Response::AwaitingHead => return Err(UsageError::HeadNotSent),
            Response::Done => return Err(UsageError::AlreadyFinished),
            Response::Body { remaining } => remaining,
        };
        if !stream.is_head {
            if remaining.is_some_and(|left| len > left) {
                return Err(UsageError::BodyTooLong);
            }
            if len > 0 && stream.out_bytes >= bound {
                return Err(SendError::Blocked.into());
            }
            stream.response = Response::Body {
                remaining: remaining.map(|left| left - len),
            };
            for part in parts.into_iter().filter(|part| !part.is_empty()) {
                stream.out_bytes += part.len();
                stream.out.push_back(part);
            }
        }
        // HEAD: the body is dropped, as on HTTP/1.1, and still answers the pull that asked
        // for it, so that a pull producer is asked for the next.
        if let Some(producer) = &mut stream.producer {
            producer.pull_outstanding = false;
        }
        Ok(())
    }

    /// Writes a response head (final or informational) as HEADERS and CONTINUATION frames.
    /// Names go lower-case; connection-specific fields are dropped; `server` is added.
    fn write_head(&mut self, request: RequestId, head: &ResponseHead, end_stream: bool) {
        let Some(&id) = self.request_streams.get(&request) else {
            return;
        };
        let status = head.status.to_string();
        let mut lowered: Vec<(Cow<'_, [u8]>, &[u8])> = Vec::with_capacity(head.headers.len());
        for field in &head.headers {
            // Copied only when an app wrote capitals (HTTP/2 names are lower-case, §8.2.1).
            let name = match field.name.iter().any(u8::is_ascii_uppercase) {
                true => Cow::Owned(field.name.to_ascii_lowercase()),
                false => Cow::Borrowed(&field.name[..]),
            };
            if !is_connection_specific(&name) {
                lowered.push((name, &field.value));
            }
        }
        let final_head = head.status >= 200;
        let server = self
            .config
            .server_name
            .filter(|_| final_head && !head.headers.contains("server"));
        let date = match final_head && !head.headers.contains("date") {
            true => self
                .date_cache
                .value(self.config.date_origin_unix_millis, self.now),
            false => None,
        };
        let mut fields: Vec<(&[u8], &[u8])> = Vec::with_capacity(lowered.len() + 3);
        fields.push((b":status", status.as_bytes()));
        fields.extend(lowered.iter().map(|(n, v)| (&n[..], *v)));
        if let Some(date) = &date {
            fields.push((b"date", date));
        }
        if let Some(server) = server {
            fields.push((b"server", server.as_bytes()));
        }
        let mut block = BytesMut::with_capacity(64);
        self.hpack_out.encode(fields, &mut block);
        self.write_block(id, block.freeze(), end_stream);
        if let Some(stream) = self.streams.get_mut(&id) {
            if end_stream {
                stream.end_queued = false;
            }
        }
    }

    /// A header block as HEADERS plus CONTINUATIONs, each within the peer's frame size.
    fn write_block(&mut self, id: u32, mut block: Bytes, end_stream: bool) {
        let max = self.peer_max_frame_size as usize;
        let stream = StreamId::new(id);
        let first = block.split_to(block.len().min(max));
        self.control(Frame::Headers {
            stream,
            priority: None,
            fragment: first,
            end_stream,
            end_headers: block.is_empty(),
        });
        while !block.is_empty() {
            let fragment = block.split_to(block.len().min(max));
            self.control(Frame::Continuation {
                stream,
                fragment,
                end_headers: block.is_empty(),
            });
        }
    }
}

impl Producer {
    /// A pull producer asked for a chunk and not answered yet.
    pub(super) fn awaits_pull(&self) -> bool {
        self.kind == ProducerKind::Pull && self.pull_outstanding
    }
}
