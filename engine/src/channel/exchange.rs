//! One request and its response: what the channel remembers per request in flight.
//!
//! Invariant: exchanges are kept in arrival order; only the front one writes to the wire, the
//! others queue at most `send_buffer_bytes_max` bytes (plus one app write) until they reach it.

use std::collections::VecDeque;

use bytes::Bytes;

use super::state::SendState;
use crate::h1::body_encoder::BodyEncoder;
use crate::io::{ProducerKind, ProducerState, RequestId};
use crate::message::Version;

/// Where `Expect: 100-continue` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Not expected, or no longer relevant.
    None,
    /// The client waits; `100 Continue` goes out when the app first grants credit.
    Pending,
    /// Sent.
    Sent,
}

/// A registered response producer.
#[derive(Debug)]
pub(crate) struct Producer {
    pub(crate) kind: ProducerKind,
    /// The last state reported; `None` before the first report.
    pub(crate) state: Option<ProducerState>,
    /// A pull producer has been asked for a chunk and has not answered yet.
    pub(crate) pull_outstanding: bool,
}

#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) id: RequestId,
    pub(crate) version: Version,
    /// The request was `HEAD`: the response has no body.
    pub(crate) is_head: bool,
    /// The request was `CONNECT`: a 2xx answer would start a tunnel.
    pub(crate) is_connect: bool,
    /// The connection may carry more requests after this one.
    pub(crate) persistent: bool,
    pub(crate) expect: Expect,
    /// Body bytes the app will still take.
    pub(crate) credit: u64,
    /// The app has granted credit at least once (reading the body is not an early reply).
    pub(crate) credit_granted: bool,
    /// The request body has been received in full.
    pub(crate) body_done: bool,
    /// Assigned only by the transitions below (`send_body_with`, `send_done`,
    /// `send_aborted`).
    pub(crate) send: SendState,
    /// Output waiting until this exchange reaches the front of the queue.
    pub(crate) queued: VecDeque<Bytes>,
    pub(crate) queued_bytes: usize,
    pub(crate) producer: Option<Producer>,
}

impl Exchange {
    pub(crate) fn new(
        id: RequestId,
        version: Version,
        is_head: bool,
        persistent: bool,
    ) -> Exchange {
        Exchange {
            id,
            version,
            is_head,
            is_connect: false,
            persistent,
            expect: Expect::None,
            credit: 0,
            credit_granted: false,
            body_done: false,
            send: SendState::AwaitingHead,
            queued: VecDeque::new(),
            queued_bytes: 0,
            producer: None,
        }
    }

    /// The final head is written; `encoder` frames the body (and keeps its count as the body
    /// goes out).
    pub(super) fn send_body_with(&mut self, encoder: BodyEncoder) {
        self.send = SendState::Body(encoder);
    }

    /// The response is complete (or, for the channel's own answer in the app's place, queued
    /// whole).
    pub(super) fn send_done(&mut self) {
        self.send = SendState::Done;
    }

    /// The response can never be completed.
    pub(super) fn send_aborted(&mut self) {
        self.send = SendState::Aborted;
    }

    /// Whether the response is over (complete, or never to be completed).
    pub(crate) fn is_settled(&self) -> bool {
        matches!(self.send, SendState::Done | SendState::Aborted)
    }

    pub(crate) fn queue(&mut self, bytes: Bytes) {
        self.queued_bytes += bytes.len();
        self.queued.push_back(bytes);
    }
}
