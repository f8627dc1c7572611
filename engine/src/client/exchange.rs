//! The one exchange a client connection carries at a time: how far its request has been sent
//! and its response received.

use crate::h1::body_decoder::BodyDecoder;
use crate::h1::body_encoder::BodyEncoder;
use crate::h1::request_writer::CheckedRequest;
use crate::h1::response_head::RequestKind;
use crate::io::{ProducerKind, ProducerState, RequestId};

/// Where the response stands.
#[derive(Debug)]
pub(super) enum Recv {
    /// Waiting for the final head (1xx heads may come first).
    AwaitingHead,
    /// The head arrived; its body is being received.
    Body(ResponseBody),
}

/// How the response body ends.
#[derive(Debug)]
pub(super) enum ResponseBody {
    /// `Content-Length` or chunked.
    Framed(BodyDecoder),
    /// At the server's FIN.
    UntilClose,
}

/// The request body's producer.
#[derive(Debug)]
pub(super) struct Producer {
    pub(super) kind: ProducerKind,
    /// The last state reported; `None` before the first report.
    pub(super) state: Option<ProducerState>,
    /// A pull producer has been asked for a chunk and has not answered yet.
    pub(super) pull_outstanding: bool,
}

impl Producer {
    pub(super) fn new(kind: ProducerKind) -> Producer {
        Producer {
            kind,
            state: None,
            pull_outstanding: false,
        }
    }
}

#[derive(Debug)]
pub(super) struct Exchange {
    pub(super) id: RequestId,
    pub(super) kind: RequestKind,
    /// Frames the request body; `Empty` once finished.
    pub(super) encoder: BodyEncoder,
    pub(super) request_finished: bool,
    /// `Expect: 100-continue`: the body waits for a `100`, a final response or the timer.
    pub(super) awaiting_continue: bool,
    pub(super) producer: Option<Producer>,
    pub(super) recv: Recv,
    /// Response body bytes the app will still take.
    pub(super) credit: u64,
}

impl Exchange {
    pub(super) fn new(id: RequestId, kind: RequestKind, request: CheckedRequest) -> Exchange {
        Exchange {
            id,
            kind,
            encoder: request.encoder,
            request_finished: false,
            awaiting_continue: request.expect_continue,
            producer: None,
            recv: Recv::AwaitingHead,
            credit: 0,
        }
    }
}
