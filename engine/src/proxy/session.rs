//! [`ProxySession`]: the proxy's pairing of a downstream connection's requests with upstream
//! exchanges, as a sans-IO state machine between two connections it does not own.
//!
//! The session is the app of the downstream server [`Channel`](crate::Channel) and the app
//! of one upstream [`ClientConnection`](crate::ClientConnection) at a time. Its glue feeds it
//! both connections' events and producer transitions, and carries out its
//! [`ProxyOutput`]s in order: commands for either connection, and orders to get an upstream
//! connection (from a pool or a new one) and to give it back. It must say when each
//! connection has taken body bytes the session sent it ([`ProxySession::upstream_took`],
//! [`ProxySession::downstream_took`]): a connection's producer state reaches the session
//! late when that connection runs in another task (the driver's upstream connections do), so
//! the session does not rely on it alone, and bytes queued between the two connections count
//! against the credit window like bytes not yet received.
//!
//! Invariants:
//! - Requests go upstream one at a time, in the order they arrived (a downstream pipeline is
//!   never pipelined upstream), each exactly once, except one retry of an idempotent request
//!   without a body on a reused connection that closed before answering.
//! - Body bytes flow only against credit: the session grants downstream credit while the
//!   upstream request producer is `Producing`, and upstream credit while the downstream
//!   response producer is `Producing`, at most `FLOW_WINDOW_BYTES` granted-or-queued each
//!   way (granted and not received, or received and not yet taken by the other connection),
//!   so every hop's buffer stays bounded.
//! - Every downstream request gets a response or is aborted: 502 when the upstream cannot be
//!   reached or breaks the protocol before its head, 504 when its head does not come in time,
//!   an abort (the client sees the connection close) when it breaks off after its head. A
//!   response cut short upstream is never finished downstream.
//! - A request the client gave up on (`Lost`) aborts its upstream exchange, and that
//!   connection is not reused.

use std::collections::VecDeque;

use bytes::Bytes;

use super::forward::{forward_request, forward_response, ProxyConfig};
use crate::error::ProtocolError;
use crate::io::{AppCommand, ConnectionInfo, Event, ProducerKind, ProducerState, RequestId};
use crate::message::{BodyLength, RequestHead, ResponseHead, Version};

/// Body bytes one side may have granted and not yet delivered: the most a hop buffers.
pub const FLOW_WINDOW_BYTES: u64 = 64 * 1024;

/// What the session asks of its glue, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyOutput {
    /// A command for the downstream server channel.
    Downstream(AppCommand),
    /// A command for the upstream client connection in use.
    Upstream(AppCommand),
    /// Get an upstream connection: answer with [`ProxySession::upstream_ready`] or
    /// [`ProxySession::upstream_failed`].
    Connect,
    /// The upstream connection in use is no longer needed: pool it if it is reusable, else
    /// close it. `abort`: the exchange was abandoned midway, so never reuse it. While a
    /// `Connect` is still pending, it is cancelled instead (no `upstream_ready` follows).
    Release {
        /// Abandoned midway: close (abort) it whatever its state.
        abort: bool,
    },
}

/// A downstream request waiting for its turn upstream.
#[derive(Debug)]
struct Waiting {
    id: RequestId,
    head: RequestHead,
    /// Its body already ended (an empty chunked body ends without credit).
    body_ended: bool,
}

/// Where the request in flight stands.
#[derive(Debug)]
enum Stage {
    /// Waiting for an upstream connection.
    Connecting,
    /// Sent upstream; the response head has not come.
    AwaitingResponse { upstream: RequestId },
    /// The response head was forwarded; its body flows.
    Responding { upstream: RequestId },
}

#[derive(Debug)]
struct InFlight {
    downstream: RequestId,
    /// The head as it goes upstream (kept for a retry).
    head: RequestHead,
    stage: Stage,
    /// Downstream request body credit granted and not yet received.
    upload_credit: u64,
    /// Request body bytes sent upstream that the upstream connection has not yet taken.
    upload_untaken: u64,
    /// The downstream request body has ended.
    upload_done: bool,
    /// Some of the request body was taken from the client: the request cannot be replayed.
    upload_started: bool,
    /// The upstream request producer's state.
    upstream_producer: ProducerState,
    /// Upstream response credit granted and not yet received.
    download_credit: u64,
    /// Response body bytes sent downstream that the downstream channel has not yet taken.
    download_untaken: u64,
    /// The downstream response producer's state.
    downstream_producer: ProducerState,
    /// Whether the upstream connection was reused (a retry is possible).
    reused: bool,
    retried: bool,
    /// The version the client asked in: on HTTP/1.1 its response marks its own end
    /// (`Content-Length`, or chunked); on HTTP/1.0 only with a `Content-Length` (else the close
    /// delimits it); on HTTP/2 the stream's end is END_STREAM, which a `Content-Length` lets the
    /// client check.
    downstream_version: Version,
    /// The response sent downstream has an end the client checks (the last chunk, or a
    /// `Content-Length` the body falls short of), so a graceful close shows a cut as one.
    /// Known once the head went down.
    self_delimited: bool,
}

/// One downstream connection's proxying. See the module documentation.
#[derive(Debug)]
pub struct ProxySession {
    config: ProxyConfig,
    from: ConnectionInfo,
    waiting: VecDeque<Waiting>,
    in_flight: Option<InFlight>,
    outputs: VecDeque<ProxyOutput>,
}

impl ProxySession {
    /// A session for a downstream connection from `from`.
    pub fn new(config: ProxyConfig, from: ConnectionInfo) -> ProxySession {
        ProxySession {
            config,
            from,
            waiting: VecDeque::new(),
            in_flight: None,
            outputs: VecDeque::new(),
        }
    }

    /// The next output, in order.
    pub fn poll_output(&mut self) -> Option<ProxyOutput> {
        self.outputs.pop_front()
    }

    /// Whether nothing is in flight or waiting.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.waiting.is_empty()
    }

    /// An event of the downstream server channel.
    pub fn downstream_event(&mut self, event: Event) {
        match event {
            Event::Request { id, head } => self.request(id, head),
            Event::Body { id, data } => self.upload(id, data),
            Event::BodyEnd { id } => self.upload_end(id),
            Event::Lost { id } => self.client_gone(id),
            // A malformed body of the request in flight: the upstream must not see it end.
            Event::ProtocolError { id: Some(id), .. } => self.client_gone(id),
            // A head the channel refused never became a request: it answers it itself.
            Event::ProtocolError { id: None, .. } => {}
            // The session registers push producers only; the rest are the client role's.
            Event::Pull { .. }
            | Event::Informational { .. }
            | Event::Response { .. }
            | Event::Reusable => {}
        }
    }

    /// A producer transition of a downstream response (the session registers one per
    /// request it answers).
    pub fn downstream_producer(&mut self, request: RequestId, state: ProducerState) {
        let Some(flight) = self.in_flight.as_mut().filter(|f| f.downstream == request) else {
            return;
        };
        flight.downstream_producer = state;
        self.grant_download();
    }

    /// An upstream connection for the request in flight: `next` is the id its next request
    /// gets, `reused` whether it comes from the pool.
    pub fn upstream_ready(&mut self, next: RequestId, reused: bool) {
        let Some(flight) = self.in_flight.as_mut() else {
            // The client left while we connected.
            self.outputs
                .push_back(ProxyOutput::Release { abort: false });
            return;
        };
        flight.stage = Stage::AwaitingResponse { upstream: next };
        flight.reused = reused;
        flight.upstream_producer = ProducerState::Paused;
        let head = flight.head.clone();
        // A body that ended before the connection was ready was empty: credit is granted only
        // from here on.
        let body_to_come = !flight.upload_done;
        self.up(AppCommand::SendRequest { head });
        if body_to_come {
            let kind = ProducerKind::Push;
            self.up(AppCommand::RegisterProducer {
                request: next,
                kind,
            });
        } else {
            self.up(AppCommand::Finish { request: next });
        }
        // Credit for the response from the start: its head can come at any time.
        self.grant_download();
    }

    /// No upstream connection could be had (refused, reset, unreachable): 502.
    pub fn upstream_failed(&mut self) {
        if self.in_flight.is_some() {
            self.answer_error(502);
        }
    }

    /// An event of the upstream client connection.
    pub fn upstream_event(&mut self, event: Event) {
        match event {
            // The `100` is the downstream channel's own to send, lazily, when we grant
            // credit; other 1xx (103 Early Hints) are forwarded.
            Event::Informational { head, .. } if head.status != 100 => {
                if let Some(flight) = &self.in_flight {
                    let request = flight.downstream;
                    // Hop-by-hop fields go, `Via` comes, as on a final head.
                    let known0 = BodyLength::Known(0);
                    let head = forward_response(&head, known0, Version::Http11, &self.config);
                    self.down(AppCommand::SendInformational { request, head });
                }
            }
            Event::Response {
                head,
                body,
                version,
                ..
            } => self.response(head, body, version),
            Event::Body { data, .. } => {
                if let Some(flight) = self.in_flight.as_mut() {
                    let len = data.len() as u64;
                    flight.download_credit = flight.download_credit.saturating_sub(len);
                    flight.download_untaken += len;
                    let request = flight.downstream;
                    self.down(AppCommand::SendBody { request, data });
                    self.grant_download();
                }
            }
            Event::BodyEnd { .. } => {
                if let Some(flight) = self.in_flight.take() {
                    let request = flight.downstream;
                    self.down(AppCommand::Finish { request });
                    self.outputs
                        .push_back(ProxyOutput::Release { abort: false });
                    self.start_next_request();
                }
            }
            Event::ProtocolError { id: Some(_), error } => self.upstream_broke(error),
            Event::Lost { .. } => self.upstream_lost(),
            // The downstream channel sends its own `100`, lazily.
            Event::Informational { .. } => {}
            // Bytes from an idle connection: it closes, and no exchange of ours was on it.
            Event::ProtocolError { id: None, .. } => {}
            // The server role's events, and pulls (the session registers push producers).
            Event::Request { .. } | Event::Pull { .. } => {}
            // The pool's business (the connection's handle reads it).
            Event::Reusable => {}
        }
    }

    /// The upstream connection took `bytes` of request body the session sent it (its glue
    /// hands body data over only while the connection can take it). Until then they count
    /// against the upload window: the client gets no credit for bytes still queued between
    /// the two connections.
    pub fn upstream_took(&mut self, bytes: u64) {
        if let Some(flight) = self.in_flight.as_mut() {
            flight.upload_untaken = flight.upload_untaken.saturating_sub(bytes);
            self.grant_upload();
        }
    }

    /// The downstream channel took `bytes` of response body the session sent it; until then
    /// they count against the download window.
    pub fn downstream_took(&mut self, bytes: u64) {
        if let Some(flight) = self.in_flight.as_mut() {
            flight.download_untaken = flight.download_untaken.saturating_sub(bytes);
            self.grant_download();
        }
    }

    /// A producer transition of the upstream request body.
    pub fn upstream_producer(&mut self, state: ProducerState) {
        if let Some(flight) = self.in_flight.as_mut() {
            flight.upstream_producer = state;
            self.grant_upload();
        }
    }

    fn request(&mut self, id: RequestId, head: RequestHead) {
        self.waiting.push_back(Waiting {
            id,
            head,
            body_ended: false,
        });
        if self.in_flight.is_none() {
            self.start_next_request();
        }
    }

    /// Starts the next waiting request.
    fn start_next_request(&mut self) {
        while self.in_flight.is_none() {
            let Some(waiting) = self.waiting.pop_front() else {
                return;
            };
            let request = waiting.id;
            // No tunnels through this proxy: CONNECT, whatever its target's form, is refused.
            if waiting.head.method.as_bytes() == b"CONNECT" {
                self.simple_response(request, 501, "tunnels are not proxied\n");
                continue;
            }
            let Some(head) = forward_request(&waiting.head, &self.from, &self.config) else {
                self.simple_response(request, 400, "this request target is not forwarded\n");
                continue;
            };
            let kind = ProducerKind::Push;
            self.down(AppCommand::RegisterProducer { request, kind });
            self.in_flight = Some(InFlight {
                downstream: request,
                head,
                stage: Stage::Connecting,
                upload_credit: 0,
                upload_untaken: 0,
                upload_done: waiting.body_ended || waiting.head.body == BodyLength::Known(0),
                upload_started: false,
                upstream_producer: ProducerState::Paused,
                download_credit: 0,
                download_untaken: 0,
                downstream_producer: ProducerState::Producing,
                reused: false,
                retried: false,
                downstream_version: waiting.head.version,
                self_delimited: false,
            });
            self.outputs.push_back(ProxyOutput::Connect);
        }
    }

    fn upload(&mut self, id: RequestId, data: Bytes) {
        let Some(flight) = self.in_flight.as_mut().filter(|f| f.downstream == id) else {
            return;
        };
        let (Stage::AwaitingResponse { upstream } | Stage::Responding { upstream }) = flight.stage
        else {
            return;
        };
        let len = data.len() as u64;
        flight.upload_credit = flight.upload_credit.saturating_sub(len);
        flight.upload_untaken += len;
        flight.upload_started = true;
        self.up(AppCommand::SendBody {
            request: upstream,
            data,
        });
        self.grant_upload();
    }

    fn upload_end(&mut self, id: RequestId) {
        if let Some(waiting) = self.waiting.iter_mut().find(|w| w.id == id) {
            waiting.body_ended = true;
            return;
        }
        let Some(flight) = self.in_flight.as_mut().filter(|f| f.downstream == id) else {
            return;
        };
        if flight.upload_done {
            return;
        }
        flight.upload_done = true;
        if let Stage::AwaitingResponse { upstream } | Stage::Responding { upstream } = flight.stage
        {
            self.up(AppCommand::Finish { request: upstream });
        }
    }

    /// Grants the client credit for more request body while the upstream takes it.
    fn grant_upload(&mut self) {
        let Some(flight) = self.in_flight.as_mut() else {
            return;
        };
        let sending = matches!(
            flight.stage,
            Stage::AwaitingResponse { .. } | Stage::Responding { .. }
        );
        if !sending || flight.upload_done || flight.upstream_producer != ProducerState::Producing {
            return;
        }
        let held = flight.upload_credit + flight.upload_untaken;
        let more = FLOW_WINDOW_BYTES.saturating_sub(held);
        if more >= FLOW_WINDOW_BYTES / 2 {
            flight.upload_credit += more;
            let request = flight.downstream;
            self.down(AppCommand::Consume {
                request,
                bytes: more,
            });
        }
    }

    /// Grants the upstream credit for more response body while the client takes it.
    fn grant_download(&mut self) {
        let Some(flight) = self.in_flight.as_mut() else {
            return;
        };
        let upstream = match flight.stage {
            Stage::AwaitingResponse { upstream } | Stage::Responding { upstream } => upstream,
            Stage::Connecting => return,
        };
        if flight.downstream_producer != ProducerState::Producing {
            return;
        }
        let held = flight.download_credit + flight.download_untaken;
        let more = FLOW_WINDOW_BYTES.saturating_sub(held);
        if more >= FLOW_WINDOW_BYTES / 2 {
            flight.download_credit += more;
            self.up(AppCommand::Consume {
                request: upstream,
                bytes: more,
            });
        }
    }

    fn response(&mut self, head: ResponseHead, body: BodyLength, version: Version) {
        let Some(flight) = self.in_flight.as_mut() else {
            return;
        };
        let Stage::AwaitingResponse { upstream } = flight.stage else {
            return;
        };
        flight.stage = Stage::Responding { upstream };
        let request = flight.downstream;
        let head = forward_response(&head, body, version, &self.config);
        flight.self_delimited = flight.downstream_version == Version::Http11
            || head.headers.get("Content-Length").is_some();
        self.down(AppCommand::SendHead { request, head });
    }

    /// The upstream broke the protocol, or its head did not come in time.
    fn upstream_broke(&mut self, error: ProtocolError) {
        let Some(flight) = &self.in_flight else {
            return;
        };
        match flight.stage {
            Stage::Responding { .. } => self.abort_downstream(),
            Stage::Connecting | Stage::AwaitingResponse { .. } => self.answer_error(error.status),
        }
    }

    /// The upstream connection ended before the response did.
    fn upstream_lost(&mut self) {
        let Some(flight) = self.in_flight.as_mut() else {
            return;
        };
        let replayable = flight.reused
            && !flight.retried
            && !flight.upload_started
            && matches!(flight.stage, Stage::AwaitingResponse { .. })
            && is_idempotent(flight.head.method.as_bytes())
            && flight.head.body == BodyLength::Known(0);
        if replayable {
            // A pooled connection the upstream had closed: once more on another.
            flight.retried = true;
            flight.stage = Stage::Connecting;
            flight.download_credit = 0;
            self.outputs.push_back(ProxyOutput::Release { abort: true });
            self.outputs.push_back(ProxyOutput::Connect);
            return;
        }
        match flight.stage {
            Stage::Responding { .. } => self.abort_downstream(),
            Stage::Connecting | Stage::AwaitingResponse { .. } => self.answer_error(502),
        }
    }

    /// The client is gone (or sent a malformed body): abandon the upstream exchange.
    fn client_gone(&mut self, id: RequestId) {
        self.waiting.retain(|w| w.id != id);
        let Some(flight) = self.in_flight.as_ref().filter(|f| f.downstream == id) else {
            return;
        };
        if let Stage::AwaitingResponse { upstream } | Stage::Responding { upstream } = flight.stage
        {
            self.up(AppCommand::Abort { request: upstream });
        }
        self.in_flight = None;
        self.outputs.push_back(ProxyOutput::Release { abort: true });
        self.start_next_request();
    }

    /// The response had begun: the client can only learn of the failure by the cut. A
    /// response that marks its own end is closed gracefully, so everything relayed so far
    /// reaches the client before the FIN (or END_STREAM short of its length, which HTTP/2
    /// turns into a reset) and the missing end shows the cut; any other must be reset, or the
    /// FIN or END_STREAM would pass it off as complete.
    fn abort_downstream(&mut self) {
        if let Some(flight) = self.in_flight.take() {
            let request = flight.downstream;
            self.down(match flight.self_delimited {
                true => AppCommand::Close { request },
                false => AppCommand::Abort { request },
            });
            self.outputs.push_back(ProxyOutput::Release { abort: true });
        }
        self.waiting.clear();
    }

    /// Answers the request in flight with a gateway error, before any response was sent.
    fn answer_error(&mut self, status: u16) {
        let Some(flight) = self.in_flight.take() else {
            return;
        };
        let connecting = matches!(flight.stage, Stage::Connecting);
        if !connecting {
            self.outputs.push_back(ProxyOutput::Release { abort: true });
        }
        let body = match status {
            504 => "the upstream server did not answer in time\n",
            _ => "the upstream server could not be reached or answered badly\n",
        };
        self.simple_response(flight.downstream, status, body);
        self.start_next_request();
    }

    fn simple_response(&mut self, request: RequestId, status: u16, body: &'static str) {
        let head = ResponseHead::new(status)
            .with_header("Content-Type", "text/plain")
            .with_header("Content-Length", body.len().to_string());
        self.down(AppCommand::SendHead { request, head });
        let data = Bytes::from_static(body.as_bytes());
        self.down(AppCommand::SendBody { request, data });
        self.down(AppCommand::Finish { request });
    }

    fn down(&mut self, command: AppCommand) {
        self.outputs.push_back(ProxyOutput::Downstream(command));
    }

    fn up(&mut self, command: AppCommand) {
        self.outputs.push_back(ProxyOutput::Upstream(command));
    }
}

/// RFC 9110 §9.2.2.
fn is_idempotent(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}

#[cfg(test)]
#[path = "tests/session.rs"]
mod tests;
