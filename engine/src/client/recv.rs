//! The client's receive path: response heads (informational ones first), then the body
//! against the app's credit, and the server's FIN judged by where the response stands.

use super::exchange::{Recv, ResponseBody};
use super::ClientConnection;
use crate::error::{ProtocolError, ProtocolErrorKind};
use crate::h1::body_decoder::{BodyDecoder, Decoded};
use crate::h1::response_head::take_response_head;
use crate::io::{CloseReason, Event, Output};
use crate::message::BodyLength;

/// What the receive loop does next.
enum Step {
    Again,
    Wait,
}

impl ClientConnection {
    /// Parses and delivers what the buffer holds, then judges a FIN.
    pub(super) fn receive(&mut self) {
        while !self.closed {
            let step = match self.exchange.as_ref().map(|e| &e.recv) {
                None => self.receive_idle(),
                Some(Recv::AwaitingHead) => self.receive_head(),
                Some(Recv::Body(_)) => self.receive_body(),
            };
            if matches!(step, Step::Wait) {
                break;
            }
        }
        if self.recv_eof && !self.closed {
            self.receive_eof();
        }
    }

    /// Bytes with no request in flight can only be a broken or malicious server.
    fn receive_idle(&mut self) -> Step {
        if !self.recv_buf.is_empty() {
            self.fail(ProtocolError::upstream(
                ProtocolErrorKind::UnexpectedResponse,
            ));
        }
        Step::Wait
    }

    fn receive_head(&mut self) -> Step {
        let Some(exchange) = &self.exchange else {
            return Step::Wait;
        };
        let limits = &self.config.limits;
        let taken = take_response_head(
            &mut self.recv_buf,
            exchange.kind,
            limits,
            &mut self.head_fields,
        );
        let response = match taken {
            Ok(Some(response)) => response,
            Ok(None) => return Step::Wait,
            Err(error) => {
                self.fail(ProtocolError::upstream(error.kind));
                return Step::Wait;
            }
        };
        let Some(exchange) = &mut self.exchange else {
            return Step::Wait;
        };
        let id = exchange.id;
        if response.head.status < 200 {
            if response.head.status == 100 {
                exchange.awaiting_continue = false;
            }
            let head = response.head;
            self.outputs
                .push_back(Output::Event(Event::Informational { id, head }));
            return Step::Again;
        }
        // A final response ends the wait for a 100: the server decided without the body.
        exchange.awaiting_continue = false;
        if !exchange.request_finished {
            // RFC 9112 §9.3: the server answered before the request ended. The app may go on
            // sending the rest (the server may still read it), but whether the server reads it
            // is unknown, so the connection carries no other exchange.
            self.last_exchange = true;
        }
        self.last_exchange |= response.close_after;
        exchange.recv = Recv::Body(match response.body {
            BodyLength::Known(length) => ResponseBody::Framed(BodyDecoder::length(length)),
            BodyLength::Chunked => ResponseBody::Framed(BodyDecoder::chunked()),
            BodyLength::UntilClose => ResponseBody::UntilClose,
        });
        // The request body producer's new state goes first: an app relaying the body (the
        // proxy) must learn that the body is still wanted before it relays the head.
        self.sync_producer();
        let (head, body, version) = (response.head, response.body, response.version);
        let event = Event::Response {
            id,
            head,
            body,
            version,
        };
        self.outputs.push_back(Output::Event(event));
        Step::Again
    }

    fn receive_body(&mut self) -> Step {
        let limits = &self.config.limits;
        let Some(exchange) = &mut self.exchange else {
            return Step::Wait;
        };
        let Recv::Body(body) = &mut exchange.recv else {
            return Step::Wait;
        };
        let max = usize::try_from(exchange.credit).unwrap_or(usize::MAX);
        let decoded = match body {
            ResponseBody::Framed(decoder) => decoder.decode(&mut self.recv_buf, max, limits),
            ResponseBody::UntilClose if self.recv_buf.is_empty() || max == 0 => {
                Ok(Decoded::Pending)
            }
            ResponseBody::UntilClose => {
                let take = max.min(self.recv_buf.len());
                Ok(Decoded::Data(self.recv_buf.split_to(take).freeze()))
            }
        };
        let id = exchange.id;
        match decoded {
            Ok(Decoded::Data(data)) => {
                exchange.credit -= data.len() as u64;
                let deadline = self.now + self.config.timeouts.response_body_idle;
                self.timers
                    .extend(crate::io::Timer::ResponseBodyIdle, deadline);
                self.outputs
                    .push_back(Output::Event(Event::Body { id, data }));
                Step::Again
            }
            Ok(Decoded::End) => {
                self.end_exchange();
                Step::Again
            }
            Ok(Decoded::Pending) => Step::Wait,
            Err(error) => {
                self.fail(ProtocolError::upstream(error.kind));
                Step::Wait
            }
        }
    }

    /// The response is complete: `BodyEnd`, then the connection is idle or closes.
    fn end_exchange(&mut self) {
        if let Some(mut exchange) = self.exchange.take() {
            self.stop_producer(&mut exchange);
            let id = exchange.id;
            self.outputs.push_back(Output::Event(Event::BodyEnd { id }));
            self.exchange_ended = true;
        }
        if self.last_exchange {
            self.close(CloseReason::Graceful);
        }
    }

    /// The server's FIN, after everything buffered was delivered that could be.
    fn receive_eof(&mut self) {
        let Some(exchange) = &self.exchange else {
            // An idle connection the server closed (`sync` closes it).
            return;
        };
        match &exchange.recv {
            Recv::Body(ResponseBody::UntilClose) if self.recv_buf.is_empty() => {
                self.end_exchange();
            }
            // Bytes still wait for credit: the verdict comes when they are delivered.
            Recv::Body(_) if !self.recv_buf.is_empty() && exchange.credit == 0 => {}
            // Cut short: a head never completed, or a body its framing says is unfinished.
            Recv::AwaitingHead | Recv::Body(_) => {
                self.lose_exchange();
                self.close(CloseReason::Graceful);
            }
        }
    }
}
