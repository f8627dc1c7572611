//! Sabotage: a broken engine, for proving that the checkers catch what they claim to. A
//! [`Sabotaged`] connection wraps the real one between the engine and the driver and breaks
//! one promise on purpose, the smallest change that should trip one checker (each
//! [`Sabotage`] names the check it must trip). The trace records what the driver took, so it
//! shows the broken engine's outputs exactly as a real bug would.
//!
//! Only `Scenario::sabotage` turns it on; explore never does.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use twine_engine::{
    CloseReason, Connection, Event as EngineEvent, Input, Instant, Output, ReadState, Timer,
    TimerChange, UsageError,
};

/// One broken promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    /// The engine panics on its first request (check `panic`).
    Panic,
    /// The first response's status line reads `HTXP/1.1` (check `malformed`).
    CorruptStatusLine,
    /// Each write waits for the next one; the one before the write side is shut is lost:
    /// a closing response ends short (check `cut-short`).
    CutBeforeShutdown,
    /// Junk follows the last response, just before the write side is shut (check
    /// `after-close`).
    JunkAfterClosingResponse,
    /// An unsolicited response each time the connection falls idle (check
    /// `extra-response`).
    ResponseWhenIdle,
    /// `100 Continue` before the first request's response, asked for or not (checks
    /// `interim` and `continue`).
    UnaskedContinue,
    /// A byte written after the write side is shut (check `write-after-close`).
    WriteAfterShutdown,
    /// The request before a protocol error is announced again after it (check
    /// `processed-after-rejection`).
    RequestAfterRejection,
    /// Nothing the engine writes reaches the socket: the client's requests go unanswered
    /// though the connection closes as it should (check `unanswered`).
    SwallowWrites,
    /// Neither the shutdown nor the close ever reaches the driver: the client waits for the
    /// close in vain (check `close-not-seen`; the run never ends: `incomplete`).
    NeverClose,
    /// Every armed timer is reported a millisecond later than it is set for (check `timer`).
    TimerReportedLate,
    /// Timers fire half a second after their deadlines (check `timer`).
    TimerFiresLate,
    /// Producers are never told they stopped (check `producer`).
    ProducerNeverStopped,
    /// Every pause of reading is reported twice (check `reading`).
    ReadingPausedTwice,
    /// The write side is never shut before a close: no lingering close after a protocol
    /// error (check `lingering`).
    NoShutdownBeforeClose,
    /// A request refused for a limit (`413`, `414`, `431`) is answered `200 OK` instead:
    /// served though over its limit (check `limit`).
    OverLimitServed,
    /// One more response goes out after the response to a request that closes the
    /// connection, as if the request pipelined behind it had been served; the closing response
    /// loses its `Connection: close`, so only the request says the connection ends (check
    /// `after-closing-request`; with the header kept, `after-close` catches it).
    AnswerAfterClosingRequest,
    /// The connection an app closes gracefully is aborted instead (check `app-close`).
    GracefulCloseAborts,
    /// The engine never hears that the transport blocked or drained, so it keeps writing to a
    /// client that does not read (check `backlog`).
    DeafToBackpressure,
}

/// The real connection `C`, broken by one [`Sabotage`].
#[derive(Debug)]
pub struct Sabotaged<C> {
    inner: C,
    sabotage: Sabotage,
    /// Outputs to hand out before the inner connection's next one.
    queued: VecDeque<Output>,
    /// A `Transmit` held back until the next one, or lost at the shutdown.
    held: Option<Output>,
    /// The sabotage fired already (for the one-shot kinds).
    fired: bool,
    last_request: Option<EngineEvent>,
}

impl<C> Sabotaged<C> {
    /// `inner`, broken by `sabotage`.
    pub fn new(inner: C, sabotage: Sabotage) -> Sabotaged<C> {
        Sabotaged {
            inner,
            sabotage,
            queued: VecDeque::new(),
            held: None,
            fired: false,
            last_request: None,
        }
    }
}

fn transmit(bytes: &'static [u8]) -> Output {
    Output::Transmit(Bytes::from_static(bytes))
}

impl<C: Connection> Sabotaged<C> {
    /// Turns one of the inner connection's outputs into what the broken engine says, in
    /// order, into `queued`.
    fn break_output(&mut self, output: Output) {
        use Sabotage as S;
        match (self.sabotage, output) {
            (S::Panic, Output::Event(EngineEvent::Request { .. })) => {
                panic!("sabotage: the engine panics on a request")
            }
            (S::CorruptStatusLine, Output::Transmit(bytes))
                if !self.fired && bytes.starts_with(b"HTTP/1.1 ") =>
            {
                self.fired = true;
                let mut broken = bytes.to_vec();
                broken[2] = b'X';
                self.queued.push_back(Output::Transmit(Bytes::from(broken)));
            }
            (S::CutBeforeShutdown, output @ Output::Transmit(_)) => {
                if let Some(held) = self.held.replace(output) {
                    self.queued.push_back(held);
                }
            }
            (S::CutBeforeShutdown, Output::ShutdownWrite) => {
                self.held = None;
                self.queued.push_back(Output::ShutdownWrite);
            }
            (S::JunkAfterClosingResponse, Output::ShutdownWrite) if !self.fired => {
                self.fired = true;
                self.queued.push_back(transmit(b"junk"));
                self.queued.push_back(Output::ShutdownWrite);
            }
            (
                S::ResponseWhenIdle,
                output @ Output::Timer {
                    timer: Timer::IdleKeepAlive,
                    change: TimerChange::Set(_),
                },
            ) => {
                self.queued.push_back(output);
                self.queued
                    .push_back(transmit(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
            }
            (S::UnaskedContinue, output @ Output::Event(EngineEvent::Request { .. }))
                if !self.fired =>
            {
                self.fired = true;
                self.queued
                    .push_back(transmit(b"HTTP/1.1 100 Continue\r\n\r\n"));
                self.queued.push_back(output);
            }
            (S::WriteAfterShutdown, Output::ShutdownWrite) if !self.fired => {
                self.fired = true;
                self.queued.push_back(Output::ShutdownWrite);
                self.queued.push_back(transmit(b"x"));
            }
            (S::RequestAfterRejection, Output::Event(event)) => {
                let rejected = matches!(event, EngineEvent::ProtocolError { .. });
                if matches!(event, EngineEvent::Request { .. }) {
                    self.last_request = Some(event.clone());
                }
                self.queued.push_back(Output::Event(event));
                if rejected {
                    if let Some(again) = self.last_request.take() {
                        self.queued.push_back(Output::Event(again));
                    }
                }
            }
            (S::NeverClose, Output::Close(_) | Output::ShutdownWrite) => {}
            (S::SwallowWrites, Output::Transmit(_)) => {}
            (
                S::TimerReportedLate,
                Output::Timer {
                    timer,
                    change: TimerChange::Set(at),
                },
            ) => self.queued.push_back(Output::Timer {
                timer,
                change: TimerChange::Set(at + Duration::from_millis(1)),
            }),
            (
                S::ProducerNeverStopped,
                Output::Producer {
                    state: twine_engine::ProducerState::Stopped,
                    ..
                },
            ) => {}
            (S::ReadingPausedTwice, Output::Reading(ReadState::Paused)) => {
                self.queued.push_back(Output::Reading(ReadState::Paused));
                self.queued.push_back(Output::Reading(ReadState::Paused));
            }
            (S::NoShutdownBeforeClose, Output::ShutdownWrite) => {}
            (S::OverLimitServed, Output::Transmit(bytes))
                if !self.fired
                    && [&b"HTTP/1.1 413 "[..], b"HTTP/1.1 414 ", b"HTTP/1.1 431 "]
                        .iter()
                        .any(|status| bytes.starts_with(status)) =>
            {
                self.fired = true;
                let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
                let mut served = b"HTTP/1.1 200 OK".to_vec();
                served.extend_from_slice(&bytes[line_end..]);
                self.queued.push_back(Output::Transmit(Bytes::from(served)));
            }
            (S::AnswerAfterClosingRequest, Output::Transmit(bytes)) if !self.fired => {
                const CLOSE: &[u8] = b"Connection: close\r\n";
                let kept = match bytes.windows(CLOSE.len()).position(|w| w == CLOSE) {
                    Some(at) => [&bytes[..at], &bytes[at + CLOSE.len()..]].concat().into(),
                    None => bytes,
                };
                self.queued.push_back(Output::Transmit(kept));
            }
            (S::AnswerAfterClosingRequest, Output::ShutdownWrite) if !self.fired => {
                self.fired = true;
                self.queued
                    .push_back(transmit(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
                self.queued.push_back(Output::ShutdownWrite);
            }
            (S::GracefulCloseAborts, Output::Close(CloseReason::Graceful)) => {
                self.queued.push_back(Output::Close(CloseReason::Abort));
            }
            (_, output) => self.queued.push_back(output),
        }
    }
}

impl<C: Connection> Connection for Sabotaged<C> {
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        match (self.sabotage, input) {
            (Sabotage::DeafToBackpressure, Input::Transport { .. }) => Ok(()),
            (_, input) => self.inner.handle_input(input),
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        loop {
            if let Some(output) = self.queued.pop_front() {
                return Some(output);
            }
            match self.inner.poll_output() {
                Some(output) => self.break_output(output),
                None => return None,
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let deadline = self.inner.poll_timeout();
        match self.sabotage {
            Sabotage::TimerFiresLate => deadline.map(|at| at + Duration::from_millis(500)),
            _ => deadline,
        }
    }

    fn recv_window(&self) -> usize {
        self.inner.recv_window()
    }

    fn close_flush_timeout(&self) -> Duration {
        self.inner.close_flush_timeout()
    }
}
