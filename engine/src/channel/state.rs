//! The channel's state machines.
//!
//! # Theory of operation
//!
//! A connection is three orthogonal machines (hyper's split) plus a queue of exchanges:
//!
//! ```text
//!  receive side (RecvState)                        connection (CloseState)
//!
//!   AwaitingHead ──head──> Body ──end──> Done        Open ──no more requests, queue empty──>
//!     ^   │ (no body)       │              │           │        Lingering ──FIN/linger──> Closed
//!     │   └─────────────────┼──────────────┤           └──abort / peer gone──────────────> Closed
//!     └──── pipeline room ──┼──────────────┘
//!          (depth, not blocked, persistent)
//!   any ──error / EOF / close / drain──> Closed (bytes are read and discarded)
//!
//!  each exchange's send side (SendState)
//!
//!   AwaitingHead ──SendHead──> Body(encoder) ──Finish──> Done
//!        └── lost (peer gone, bad body, timeout), or aborted behind others ──> Aborted
//! ```
//!
//! - Requests are dispatched strictly in order, at most `pipeline_depth_max` at once, and only
//!   while the transport is not blocked. With the default depth of 1 the next head is parsed only
//!   after the previous response finished (Twisted since 16.3), and bytes that arrive meanwhile
//!   are buffered up to `recv_buffer_bytes_max`, never parsed early (CVE-2023-46137,
//!   CVE-2024-41671).
//! - Responses leave strictly in order: only the front exchange writes to the wire; the others
//!   queue their bytes, bounded by `send_buffer_bytes_max`, with their producers paused.
//! - A request body whose response finished first is still read to its end and dropped, so a
//!   persistent connection stays in step (within the linger budget; past it, the connection
//!   closes).
//! - Producer states, whether to read, and which timers run are *derived* from these machines
//!   by `sync_*` functions after every input, and every change is reported as an output. Timers
//!   run only while the connection waits on its peer, never while it waits on its own app.
//!
//! Every assignment of `recv`, `close`, `no_more_requests` and `lost_from` happens in this
//! file, in the named transitions below; an exchange's `send` changes only through the named
//! transitions of `exchange.rs`.

use bytes::BytesMut;

use super::Channel;
use crate::h1::body_decoder::BodyDecoder;
use crate::h1::body_encoder::BodyEncoder;
use crate::io::{CloseReason, Output, RequestId};

/// The receive side: what the next received bytes are.
#[derive(Debug)]
pub(crate) enum RecvState {
    /// A request head is expected (h11 `IDLE`/`SEND_HEADERS` for the client role).
    AwaitingHead,
    /// The body of request `id`, the newest exchange.
    Body { id: RequestId, decoder: BodyDecoder },
    /// The newest request is complete; parsing waits for pipeline room (h11 `PAUSED`).
    Done,
    /// No more requests are read on this connection. Received bytes are discarded.
    Closed,
}

/// The send side of one exchange.
#[derive(Debug)]
pub(crate) enum SendState {
    /// No final head yet.
    AwaitingHead,
    /// Head sent; body framed by the encoder.
    Body(BodyEncoder),
    /// The response is complete.
    Done,
    /// The response can never be completed: once the bytes queued before this point are
    /// written, the connection closes (the client sees a truncated response).
    Aborted,
}

/// The connection as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseState {
    Open,
    /// Our write side is shut down; reading and discarding until the peer's FIN (web2's
    /// lingering close). `discarded` counts against `linger_bytes_max`.
    Lingering,
    /// Closed; nothing more happens.
    Closed,
}

impl Channel {
    /// No request after the ones already received will be dispatched; the one whose body is
    /// arriving (if any) is still read.
    pub(super) fn take_no_more_requests(&mut self) {
        self.no_more_requests = true;
    }

    /// Takes no more requests; the connection closes once the ones in flight are answered. A
    /// body being received is still read to its end.
    pub(super) fn stop_receiving(&mut self) {
        self.take_no_more_requests();
        if !matches!(self.recv, RecvState::Body { .. } | RecvState::Closed) {
            self.recv_close();
        }
    }

    /// Stops reading requests: the receive buffer is dropped (pipelined bytes after the last
    /// request are never processed, Twisted's behaviour) and later bytes are discarded.
    pub(super) fn recv_close(&mut self) {
        self.no_more_requests = true;
        self.recv = RecvState::Closed;
        self.recv_buf = BytesMut::new();
    }

    /// The app may no longer act on request `id`. Every later request is lost too, or is
    /// being lost in the same step: a loss ends the connection, so no request is dispatched
    /// after one, and each way to lose one loses those behind it.
    pub(super) fn mark_lost(&mut self, id: RequestId) {
        self.lost_from = Some(self.lost_from.map_or(id, |from| from.min(id)));
    }

    /// Whether the app may no longer act on request `id` (see [`Channel::mark_lost`]).
    pub(super) fn is_lost(&self, id: RequestId) -> bool {
        self.lost_from.is_some_and(|from| id >= from)
    }

    pub(super) fn recv_set(&mut self, state: RecvState) {
        assert!(
            !matches!(self.recv, RecvState::Closed),
            "the receive side never reopens"
        );
        self.recv = state;
    }

    /// Starts the lingering close: shut down our write side, keep reading until the peer's FIN.
    /// If the peer already sent its FIN there is nothing to linger for.
    pub(super) fn close_gracefully(&mut self) {
        if self.close != CloseState::Open {
            return;
        }
        if self.recv_eof || self.draining || self.linger_budget_spent() {
            self.close_now(CloseReason::Graceful);
        } else {
            self.close = CloseState::Lingering;
            self.outputs.push_back(Output::ShutdownWrite);
        }
    }

    /// Whether the lingering close may discard no more bytes.
    pub(super) fn linger_budget_spent(&self) -> bool {
        self.discarded_bytes >= self.config.limits.linger_bytes_max
    }

    /// Closes the connection. Every exchange still open is lost.
    pub(super) fn close_now(&mut self, reason: CloseReason) {
        if self.close == CloseState::Closed {
            return;
        }
        self.lose_exchanges_from(0);
        self.close = CloseState::Closed;
        self.recv_close();
        for timer in crate::io::Timer::ALL {
            self.timers
                .cancel(timer, self.config.timer_reports, &mut self.outputs);
        }
        self.outputs.push_back(Output::Close(reason));
    }
}
