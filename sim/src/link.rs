//! The byte-accurate window of a proxy's upstream link (the proxy's client side and the
//! origin's server side), as `net::IN_FLIGHT_BYTES_MAX` bounds the client links: turmoil
//! counts segments, so without it an origin would "write" a whole large body at once into a
//! proxy that reads nothing, and backpressure would never reach the origin.
//!
//! Both ends of a link find its counters by the proxy's port (the proxy knows it as its local
//! port, the origin as its peer's). A writer may have at most `IN_FLIGHT_BYTES_MAX` bytes
//! written that its peer has not read; past it, its write waits a millisecond at a time (the
//! client links' rule).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::net::{SentSegments, IN_FLIGHT_BYTES_MAX};

/// Which end of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Proxy,
    Origin,
}

#[derive(Debug, Default)]
struct Counters {
    /// Bytes written by the proxy and by the origin.
    written: [u64; 2],
    /// Bytes read by the proxy and by the origin.
    read: [u64; 2],
}

/// Every upstream link of a run, by the proxy's port. Cheap to clone (a handle).
#[derive(Clone, Debug, Default)]
pub struct Links {
    links: Rc<RefCell<BTreeMap<u16, Rc<RefCell<Counters>>>>>,
}

impl Links {
    /// `stream` as end `end` of the link through the proxy's port `port`.
    pub(crate) fn wrap<S>(&self, stream: S, port: u16, end: End) -> Windowed<S> {
        let counters = self.links.borrow_mut().entry(port).or_default().clone();
        Windowed {
            inner: stream,
            counters,
            me: end as usize,
            wait: None,
            segments: SentSegments::new(),
        }
    }
}

/// A stream whose writes respect the link's window.
pub(crate) struct Windowed<S> {
    inner: S,
    counters: Rc<RefCell<Counters>>,
    me: usize,
    wait: Option<Pin<Box<Sleep>>>,
    /// The segments written, for the FIN rule (`net::SentSegments`).
    segments: SentSegments,
}

impl<S> Windowed<S> {
    /// Whether a FIN sent now would be lost (turmoil's receive queue is full of segments).
    pub(crate) fn fin_would_be_lost(&mut self) -> bool {
        let peer_read = self.counters.borrow().read[1 - self.me];
        self.segments.fin_would_be_lost(peer_read)
    }

    fn room(&self) -> u64 {
        let counters = self.counters.borrow();
        let in_flight = counters.written[self.me] - counters.read[1 - self.me];
        IN_FLIGHT_BYTES_MAX.saturating_sub(in_flight)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Windowed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        this.counters.borrow_mut().read[this.me] += n as u64;
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Windowed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(wait) = &mut this.wait {
                if wait.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.wait = None;
            }
            let room = usize::try_from(this.room()).unwrap_or(usize::MAX);
            if room > 0 || buf.is_empty() {
                let take = buf.len().min(room);
                let polled = Pin::new(&mut this.inner).poll_write(cx, &buf[..take]);
                if let Poll::Ready(Ok(n)) = polled {
                    this.counters.borrow_mut().written[this.me] += n as u64;
                    if n > 0 {
                        this.segments.push(n);
                    }
                }
                return polled;
            }
            this.wait = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
