//! The receive path: bytes in, request heads and body chunks out, peer EOF and the read timers.
//!
//! Invariant: bytes are parsed strictly in order and only while a request may be dispatched,
//! so nothing after a request is looked at before that request's turn comes, and nothing after
//! a rejected request is ever processed (no request smuggling).

use super::exchange::{Exchange, Expect};
use super::state::{CloseState, RecvState, SendState};
use super::Channel;
use crate::error::{ProtocolError, ProtocolErrorKind};
use crate::h1::body_decoder::{BodyDecoder, Decoded};
use crate::h1::head_parser::{parse_request_head, take_request_head, HeadFlags, Parsed};
use crate::h1::head_writer::error_response;
use crate::io::{Event, Output, RequestId, Timer, TransportState};
use crate::message::{BodyLength, RequestHead, Version};

impl Channel {
    pub(super) fn handle_input_received(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.close == CloseState::Closed {
            return;
        }
        assert!(
            bytes.len() <= self.recv_window(),
            "the driver read {} bytes past a window of {}",
            bytes.len(),
            self.recv_window()
        );
        if self.close == CloseState::Lingering || matches!(self.recv, RecvState::Closed) {
            self.discarded_bytes += bytes.len() as u64;
            if self.close == CloseState::Lingering && self.linger_budget_spent() {
                // Enough has been thrown away: a peer still sending gets the close now.
                self.close_now(crate::io::CloseReason::Graceful);
            }
            return;
        }
        if matches!(self.recv, RecvState::Body { .. }) {
            self.body_activity();
        }
        self.recv_buf.extend_from_slice(bytes);
    }

    pub(super) fn handle_input_eof(&mut self) {
        if self.recv_eof {
            return;
        }
        self.recv_eof = true;
        if self.close == CloseState::Lingering {
            // The peer saw our FIN and sent its own: the lingering close is complete.
            self.close_now(crate::io::CloseReason::Graceful);
        }
        // Otherwise the receive loop finishes the complete requests still buffered (half-close)
        // and closes the receive side where no complete request remains.
    }

    pub(super) fn handle_input_timeout(&mut self, timer: Timer) {
        match timer {
            Timer::HeaderRead if !self.head_started() => self.stop_receiving(),
            Timer::HeaderRead => self.fail_head(ProtocolErrorKind::RequestTimeout.into()),
            Timer::IdleKeepAlive => self.stop_receiving(),
            Timer::BodyRead => {
                if let RecvState::Body { id, .. } = self.recv {
                    self.fail_body(id, ProtocolErrorKind::RequestTimeout.into());
                }
            }
            Timer::SendStall | Timer::Abort => self.close_now(crate::io::CloseReason::Abort),
            Timer::Linger => self.close_now(crate::io::CloseReason::Graceful),
            // Never armed on a server channel.
            Timer::ResponseHead | Timer::ResponseBodyIdle | Timer::ExpectContinue => {}
        }
    }

    /// Whether a request head has begun in the buffer: the one empty line the parser
    /// tolerates before a request line (RFC 9112 §2.2) does not start one.
    pub(super) fn head_started(&self) -> bool {
        !matches!(&self.recv_buf[..], b"" | b"\r" | b"\n" | b"\r\n")
    }

    /// Parses and delivers whatever the buffer and the state allow.
    pub(super) fn receive(&mut self) {
        // Each turn dispatches a request (bounded by the pipeline depth), delivers a body
        // chunk (bounded by the buffer), or stops.
        let turns_max = self.recv_buf.len() + self.config.limits.pipeline_depth_max + 4;
        for _ in 0..turns_max {
            let progressed = match self.recv {
                RecvState::AwaitingHead => self.receive_head(),
                RecvState::Body { .. } => self.receive_body(),
                RecvState::Done if self.no_more_requests || self.no_request_left() => {
                    self.recv_close();
                    false
                }
                RecvState::Done if self.can_dispatch() => {
                    self.recv_set(RecvState::AwaitingHead);
                    true
                }
                RecvState::Done | RecvState::Closed => false,
            };
            if !progressed {
                return;
            }
        }
        panic!("the receive loop did not settle");
    }

    /// After the peer's FIN: whether the buffer holds no further request (it is empty, or ends
    /// in an incomplete head that can never complete). Knowing it early lets the response
    /// in flight say `Connection: close`.
    fn no_request_left(&self) -> bool {
        self.recv_eof
            && (self.recv_buf.is_empty()
                || matches!(
                    parse_request_head(&self.recv_buf, &self.config.limits),
                    Ok(Parsed::Partial)
                ))
    }

    /// Whether another request may be dispatched now.
    fn can_dispatch(&self) -> bool {
        self.close == CloseState::Open
            && !self.no_more_requests
            && self.transport == TransportState::Writable
            && self.exchanges.len() < self.config.limits.pipeline_depth_max
    }

    fn receive_head(&mut self) -> bool {
        if self.no_more_requests {
            self.recv_close();
            return false;
        }
        if !self.can_dispatch() {
            self.recv_set(RecvState::Done);
            return false;
        }
        if self.recv_buf.is_empty() || !self.head_may_have_changed() {
            if self.recv_eof {
                self.recv_close();
            }
            return false;
        }
        let limits = &self.config.limits;
        match take_request_head(&mut self.recv_buf, limits, &mut self.head_fields) {
            Ok(None) => {
                self.head_scanned_bytes = self.recv_buf.len();
                if self.recv_eof {
                    // A FIN in the middle of a head: that request is lost, nobody to answer.
                    self.recv_close();
                }
                false
            }
            Ok(Some((head, flags))) => {
                self.head_scanned_bytes = 0;
                self.dispatch(head, flags);
                true
            }
            Err(error) => {
                self.fail_head(error);
                true
            }
        }
    }

    /// Whether parsing the buffer again can give a new answer: only a new line end or a limit
    /// being crossed can. Skipping the rest keeps a dribbled head (slowloris) from costing a
    /// full re-parse per byte.
    fn head_may_have_changed(&self) -> bool {
        let scanned = self.head_scanned_bytes.min(self.recv_buf.len());
        if scanned == 0 {
            return true;
        }
        let limits = &self.config.limits;
        let quiet_bytes_max = limits.request_line_bytes_max.min(limits.head_bytes_max);
        crate::h1::line_end::find_lf(&self.recv_buf[scanned..]).is_some()
            || self.recv_buf.len() > quiet_bytes_max
    }

    fn dispatch(&mut self, head: RequestHead, flags: HeadFlags) {
        let id = RequestId::from_sequence(self.next_id);
        self.next_id += 1;
        let persistent = !flags.close_after
            && match head.version {
                // The HTTP/1 parser yields only 1.0 and 1.1.
                Version::Http11 | Version::Http2 => !head.headers.has_token("connection", "close"),
                Version::Http10 => {
                    head.headers.has_token("connection", "keep-alive")
                        && !head.headers.has_token("connection", "close")
                }
            };
        if !persistent {
            self.take_no_more_requests();
        }
        // This head arrived: its deadline ends here, and the next head gets a fresh one even
        // when it starts in the same read (pipelining depth > 1).
        let reports = self.config.timer_reports;
        self.timers
            .cancel(Timer::HeaderRead, reports, &mut self.outputs);
        let mut exchange = Exchange::new(id, head.version, head.method.is_head(), persistent);
        exchange.is_connect = head.method.as_bytes() == b"CONNECT";
        let decoder = match head.body {
            BodyLength::Known(0) => None,
            BodyLength::Known(length) => Some(BodyDecoder::length(length)),
            BodyLength::Chunked => Some(BodyDecoder::chunked()),
            // The request parser never makes it: a request without framing has no body.
            BodyLength::UntilClose => None,
        };
        if head.expect_continue && decoder.is_some() {
            exchange.expect = Expect::Pending;
        }
        exchange.body_done = decoder.is_none();
        self.exchanges.push_back(exchange);
        self.outputs
            .push_back(Output::Event(Event::Request { id, head }));
        match decoder {
            Some(decoder) => self.recv_set(RecvState::Body { id, decoder }),
            None => {
                // Every request ends with `BodyEnd`, so an app needs one code path.
                self.outputs.push_back(Output::Event(Event::BodyEnd { id }));
                self.request_complete();
            }
        }
    }

    fn request_complete(&mut self) {
        if self.no_more_requests {
            self.recv_close();
        } else {
            self.recv_set(RecvState::Done);
        }
    }

    /// Delivers body bytes within the app's credit; detects the end of the body.
    fn receive_body(&mut self) -> bool {
        let RecvState::Body { id, .. } = self.recv else {
            return false;
        };
        let Some(index) = self.exchange_index(id) else {
            // The response finished before its body ended (the app read part of it): the rest
            // is read and dropped so the connection can go on, as the response promised.
            return self.drain_body();
        };
        let credit = self.exchanges[index].credit;
        let max = usize::try_from(credit).unwrap_or(usize::MAX);
        let RecvState::Body {
            ref mut decoder, ..
        } = self.recv
        else {
            return false;
        };
        match decoder.decode(&mut self.recv_buf, max, &self.config.limits) {
            Ok(Decoded::Data(data)) => {
                self.exchanges[index].credit -= data.len() as u64;
                self.outputs
                    .push_back(Output::Event(Event::Body { id, data }));
                true
            }
            Ok(Decoded::End) => {
                let exchange = &mut self.exchanges[index];
                exchange.body_done = true;
                exchange.expect = Expect::None;
                self.outputs.push_back(Output::Event(Event::BodyEnd { id }));
                self.request_complete();
                true
            }
            Ok(Decoded::Pending) => {
                let starved = credit > 0 || self.recv_buf.is_empty();
                if self.recv_eof && starved {
                    // A FIN in the middle of a body: a connection loss for that request.
                    self.lose_request(index);
                }
                false
            }
            Err(error) => {
                self.fail_body(id, error);
                true
            }
        }
    }

    /// Reads and drops the rest of a body nobody wants, within the linger budget; a body that
    /// is too long or malformed ends the connection instead (its response is complete).
    fn drain_body(&mut self) -> bool {
        let RecvState::Body {
            ref mut decoder, ..
        } = self.recv
        else {
            return false;
        };
        match decoder.decode(&mut self.recv_buf, usize::MAX, &self.config.limits) {
            Ok(Decoded::Data(data)) => {
                self.discarded_bytes += data.len() as u64;
                if self.linger_budget_spent() {
                    self.recv_close();
                    return false;
                }
                true
            }
            Ok(Decoded::End) => {
                self.request_complete();
                true
            }
            Ok(Decoded::Pending) => {
                if self.recv_eof {
                    self.recv_close();
                }
                false
            }
            Err(_) => {
                self.recv_close();
                false
            }
        }
    }

    /// The request at `index` will never be complete: tell the app, truncate its response.
    fn lose_request(&mut self, index: usize) {
        let exchange = &mut self.exchanges[index];
        if !exchange.is_settled() {
            exchange.send_aborted();
            let id = exchange.id;
            self.tell_lost(id);
        }
        self.recv_close();
    }

    /// A bad request head: answer it (after the responses before it) and read no further.
    pub(super) fn fail_head(&mut self, error: ProtocolError) {
        self.outputs
            .push_back(Output::Event(Event::ProtocolError { id: None, error }));
        self.refusal = Some(Box::new(self.error_bytes(error)));
        self.recv_close();
    }

    /// A bad body (malformed, too large, too slow) of a dispatched request. If its response has
    /// not started, the channel answers in the app's place; otherwise the response is
    /// truncated. Either way the app loses the request and the connection ends.
    fn fail_body(&mut self, id: RequestId, error: ProtocolError) {
        self.outputs.push_back(Output::Event(Event::ProtocolError {
            id: Some(id),
            error,
        }));
        let Some(index) = self.exchange_index(id) else {
            self.recv_close();
            return;
        };
        if matches!(self.exchanges[index].send, SendState::AwaitingHead) {
            let bytes = self.error_bytes(error);
            let exchange = &mut self.exchanges[index];
            exchange.persistent = false;
            exchange.queue(bytes);
            exchange.send_done();
            self.tell_lost(id);
            self.recv_close();
        } else {
            self.lose_request(index);
        }
    }

    fn error_bytes(&mut self, error: ProtocolError) -> bytes::Bytes {
        let server = self.config.server_name;
        let date = (self.head_memo).date(self.config.date_origin_unix_millis, self.now, server);
        error_response(error, date, server)
    }
}
