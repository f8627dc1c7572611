//! [`AutoConnection`]: HTTP/1.1 or HTTP/2 on one cleartext port, chosen by the first bytes
//! (DESIGN.md §6, "prior knowledge"): a client that opens with HTTP/2's 24-byte preface gets an
//! [`H2Connection`], any other gets the HTTP/1.1 [`Channel`]. (Twisted offers HTTP/2 only
//! through TLS ALPN; the deprecated `Upgrade: h2c` dance is not needed.)
//!
//! Invariant: while deciding, bytes that are a prefix of the preface are held back, never
//! fed to either engine; the first byte that departs from it, or the end of the preface,
//! decides, and the held bytes go to the chosen engine first, in order.

use std::borrow::Cow;
use std::sync::Arc;

use crate::channel::Channel;
use crate::config::Config;
use crate::error::UsageError;
use crate::h2::connection::PREFACE;
use crate::h2::H2Connection;
use crate::io::{Connection, Input, Output};
use crate::time::Instant;

/// An HTTP/1.1 or HTTP/2 server connection, decided by the client's first bytes.
#[derive(Debug)]
pub struct AutoConnection {
    /// The engine; until the client's first bytes decide, the HTTP/1.1 channel, whose config
    /// is the connection's (no copy is kept here: a connection's size is its idle cost).
    engine: Engine,
}

#[derive(Debug)]
enum Engine {
    /// The HTTP/1.1 channel. While deciding (`held` is `Some`), it runs (its head deadline) but
    /// is fed nothing: `held` is how many bytes of the preface were received and held back.
    /// Held bytes are a proper prefix of the preface, so their count says what they are.
    Http1 {
        channel: Box<Channel>,
        held: Option<usize>,
    },
    Http2(Box<H2Connection>),
}

/// Which protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Not decided yet.
    Undecided,
    /// HTTP/1.x.
    Http1,
    /// HTTP/2.
    Http2,
}

impl AutoConnection {
    /// A connection accepted at `now`. Until the client's first bytes decide, it is the
    /// HTTP/1.1 channel (its head deadline runs from now).
    pub fn new(config: impl Into<Arc<Config>>, now: Instant) -> AutoConnection {
        AutoConnection {
            engine: Engine::Http1 {
                channel: Box::new(Channel::new(config, now)),
                held: Some(0),
            },
        }
    }

    /// The client chose HTTP/2 before sending a byte (TLS ALPN `h2`, RFC 9113 §3.2): the
    /// connection is HTTP/2 from now on, so bytes other than the preface are an HTTP/2
    /// connection error (GOAWAY(PROTOCOL_ERROR), §3.4), never an HTTP/1.1 request. A
    /// connection already decided is left as it is.
    pub fn require_http2(&mut self, now: Instant) {
        let Engine::Http1 {
            channel,
            held: Some(held),
        } = &self.engine
        else {
            return;
        };
        let held = *held;
        let mut h2 = H2Connection::new(channel.shared_config(), now);
        if held > 0 {
            // The preface's first bytes: received bytes are no app command, never refused.
            let bytes = &PREFACE[..held];
            let _ = h2.handle_input(Input::Received { now, bytes });
        }
        self.engine = Engine::Http2(Box::new(h2));
    }

    /// The protocol chosen so far.
    pub fn protocol(&self) -> Protocol {
        match &self.engine {
            Engine::Http1 { held: Some(_), .. } => Protocol::Undecided,
            Engine::Http1 { .. } => Protocol::Http1,
            Engine::Http2(_) => Protocol::Http2,
        }
    }

    /// Feeds one input (see [`Connection`]).
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        let Some(held) = self.held() else {
            return self.engine_mut().handle_input(input);
        };
        match input {
            Input::Received { now, bytes } => {
                // The held bytes and these, as one input to whichever engine is chosen: copied
                // only when something was held (the first read usually decides alone).
                let bytes = match held {
                    0 => Cow::Borrowed(bytes),
                    held => Cow::Owned([&PREFACE[..held], bytes].concat()),
                };
                let n = bytes.len().min(PREFACE.len());
                if bytes[..n] != PREFACE[..n] {
                    self.decide_http1();
                    return self
                        .engine_mut()
                        .handle_input(Input::Received { now, bytes: &bytes });
                }
                if bytes.len() < PREFACE.len() {
                    self.set_held(Some(bytes.len()));
                    return Ok(());
                }
                let Engine::Http1 { channel, .. } = &self.engine else {
                    unreachable!("an undecided connection runs the HTTP/1.1 channel");
                };
                let mut h2 = H2Connection::new(channel.shared_config(), now);
                let result = h2.handle_input(Input::Received { now, bytes: &bytes });
                self.engine = Engine::Http2(Box::new(h2));
                result
            }
            Input::ReceivedEof { now } => {
                self.decide_http1();
                if held > 0 {
                    let bytes = &PREFACE[..held];
                    self.engine_mut()
                        .handle_input(Input::Received { now, bytes })?;
                }
                self.engine_mut().handle_input(Input::ReceivedEof { now })
            }
            other => self.engine_mut().handle_input(other),
        }
    }

    /// While deciding, how many bytes of the preface are held; `None` once decided.
    fn held(&self) -> Option<usize> {
        match self.engine {
            Engine::Http1 { held, .. } => held,
            Engine::Http2(_) => None,
        }
    }

    fn set_held(&mut self, count: Option<usize>) {
        if let Engine::Http1 { held, .. } = &mut self.engine {
            *held = count;
        }
    }

    /// Not HTTP/2: the channel that ran while deciding goes on as the connection's.
    fn decide_http1(&mut self) {
        self.set_held(None);
    }

    fn engine_mut(&mut self) -> &mut dyn Connection {
        match &mut self.engine {
            Engine::Http1 { channel, .. } => channel.as_mut(),
            Engine::Http2(h2) => h2.as_mut(),
        }
    }

    fn engine(&self) -> &dyn Connection {
        match &self.engine {
            Engine::Http1 { channel, .. } => channel.as_ref(),
            Engine::Http2(h2) => h2.as_ref(),
        }
    }
}

impl Connection for AutoConnection {
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        AutoConnection::handle_input(self, input)
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.engine_mut().poll_output()
    }

    fn drain_outputs(&mut self, each: impl FnMut(Output)) {
        match &mut self.engine {
            Engine::Http1 { channel, .. } => channel.drain_outputs(each),
            Engine::Http2(h2) => h2.drain_outputs(each),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.engine().poll_timeout()
    }

    fn release_idle_memory(&mut self) {
        if self.held().is_none() {
            self.engine_mut().release_idle_memory();
        }
    }

    fn close_flush_timeout(&self) -> crate::Duration {
        self.engine().close_flush_timeout()
    }

    fn recv_window(&self) -> usize {
        let window = self.engine().recv_window();
        // Held bytes count against the channel's window they will be fed into.
        window.saturating_sub(self.held().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Event;

    fn feed(conn: &mut AutoConnection, bytes: &[u8]) -> Vec<Output> {
        let now = Instant::ZERO;
        conn.handle_input(Input::Received { now, bytes }).unwrap();
        std::iter::from_fn(|| conn.poll_output()).collect()
    }

    fn requests(outputs: &[Output]) -> usize {
        outputs
            .iter()
            .filter(|o| matches!(o, Output::Event(Event::Request { .. })))
            .count()
    }

    #[test]
    fn an_http1_request_is_decided_at_its_first_byte() {
        let mut conn = AutoConnection::new(Config::new(), Instant::ZERO);
        let outputs = feed(&mut conn, b"G");
        assert_eq!(conn.protocol(), Protocol::Http1);
        assert_eq!(requests(&outputs), 0);
        let outputs = feed(&mut conn, b"ET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(requests(&outputs), 1);
    }

    #[test]
    fn the_preface_in_pieces_picks_http2() {
        let mut conn = AutoConnection::new(Config::new(), Instant::ZERO);
        let _ = std::iter::from_fn(|| conn.poll_output()).count();
        for piece in PREFACE.chunks(5) {
            assert_eq!(conn.protocol(), Protocol::Undecided);
            feed(&mut conn, piece);
        }
        assert_eq!(conn.protocol(), Protocol::Http2);
    }

    #[test]
    fn a_request_that_starts_like_the_preface_is_http1() {
        // `PRI` as a method is legal HTTP/1.1 until the version says otherwise.
        let mut conn = AutoConnection::new(Config::new(), Instant::ZERO);
        feed(&mut conn, b"PRI * HTTP/2.0\r\n");
        assert_eq!(conn.protocol(), Protocol::Undecided);
        let outputs = feed(&mut conn, b"Host: a\r\n\r\n");
        assert_eq!(conn.protocol(), Protocol::Http1);
        let status_505 = outputs
            .iter()
            .any(|o| matches!(o, Output::Transmit(b) if b.starts_with(b"HTTP/1.1 505")));
        assert!(status_505, "{outputs:?}");
    }

    /// ALPN `h2` decides before any byte: a first flight that is not the preface is
    /// HTTP/2's GOAWAY(PROTOCOL_ERROR), never an HTTP/1.1 answer; held preface bytes carry over.
    #[test]
    fn http2_required_refuses_what_is_not_the_preface() {
        let mut conn = AutoConnection::new(Config::new(), Instant::ZERO);
        conn.require_http2(Instant::ZERO);
        assert_eq!(conn.protocol(), Protocol::Http2);
        let outputs = feed(&mut conn, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(requests(&outputs), 0);
        let goaway = [0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let sent_goaway = outputs
            .iter()
            .any(|o| matches!(o, Output::Transmit(b) if b.ends_with(&goaway)));
        assert!(sent_goaway, "{outputs:?}");

        let mut conn = AutoConnection::new(Config::new(), Instant::ZERO);
        feed(&mut conn, &PREFACE[..5]);
        conn.require_http2(Instant::ZERO);
        feed(&mut conn, &PREFACE[5..]);
        assert_eq!(conn.protocol(), Protocol::Http2);
        let Engine::Http2(h2) = &conn.engine else {
            unreachable!("required");
        };
        assert!(!h2.is_closed());
    }
}
