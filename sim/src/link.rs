//! The byte-accurate window of a proxy's upstream link (the proxy's client side and the
//! origin's server side), as `net::IN_FLIGHT_BYTES_MAX` bounds the client links: turmoil
//! counts segments, so without it an origin would "write" a whole large body at once into a
//! proxy that reads nothing, and backpressure would never reach the origin.
//!
//! Both ends of a link find its counters by the proxy's port (the proxy knows it as its local
//! port, the origin as its peer's). A writer may have at most `IN_FLIGHT_BYTES_MAX` bytes
//! written that its peer has not read; past it, its write waits a millisecond at a time (the
//! client links' rule).
//!
//! The swarm's `read-fragments` and `write-fragments` knobs reach the links too
//! ([`LinkFaults`]): during the chaos phase each read and write at either end may be cut to a
//! drawn size, from the link's own fork of the run's seed, and traced as it fires (`p0 read
//! cut to 3 bytes`). They are shrunk by turning the knob off, not decision by decision.

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

use crate::event::{Event, Fault, LinkEnd};
use crate::fault::Chaos;
use crate::net::{SentSegments, IN_FLIGHT_BYTES_MAX};
use crate::rng::{Seed, SimRng};
use crate::trace::Recorder;

/// Partial reads and writes on the upstream links: each read returns, each write takes, at
/// most a drawn 1..=n bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFaults {
    /// Reads return 1..=n bytes.
    pub read_fragment_max: Option<usize>,
    /// Writes take 1..=n bytes.
    pub write_fragment_max: Option<usize>,
}

/// What the links of a run share besides their counters: the faults, the seed their draws
/// fork from, the chaos switch and the trace.
#[derive(Clone, Debug)]
struct Chaotic {
    faults: LinkFaults,
    seed: Seed,
    chaos: Chaos,
    recorder: Recorder,
}

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
    chaotic: Option<Chaotic>,
}

impl Links {
    /// Links with these faults during the chaos phase, drawn from `seed`, traced.
    pub(crate) fn with_faults(
        faults: LinkFaults,
        seed: Seed,
        chaos: Chaos,
        recorder: Recorder,
    ) -> Links {
        let chaotic = (faults != LinkFaults::default()).then_some(Chaotic {
            faults,
            seed,
            chaos,
            recorder,
        });
        Links {
            links: Rc::default(),
            chaotic,
        }
    }

    /// Bytes read at either end of every link so far: a read that no trace entry records
    /// (a hanging origin's) still makes room for the writer at the other end.
    pub(crate) fn bytes_read(&self) -> u64 {
        let links = self.links.borrow();
        links
            .values()
            .map(|c| c.borrow().read.iter().sum::<u64>())
            .sum()
    }

    /// `stream` as end `end` of the link through the proxy's port `port`; `conn` numbers
    /// that end's connection (`p<conn>` or `u<conn>` in the trace).
    pub(crate) fn wrap<S>(&self, stream: S, port: u16, end: End, conn: u32) -> Windowed<S> {
        let counters = self.links.borrow_mut().entry(port).or_default().clone();
        let label = match end {
            End::Proxy => LinkEnd::Proxy(conn),
            End::Origin => LinkEnd::Origin(conn),
        };
        let rng = self
            .chaotic
            .as_ref()
            .map(|c| SimRng::fork(c.seed, &format!("link {label}")));
        Windowed {
            inner: stream,
            counters,
            me: end as usize,
            wait: None,
            segments: SentSegments::new(),
            chaotic: self.chaotic.clone().zip(rng),
            label,
            scratch: Vec::new(),
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
    /// The faults and this end's draws, when the run has link faults.
    chaotic: Option<(Chaotic, SimRng)>,
    label: LinkEnd,
    /// A cut read's buffer.
    scratch: Vec<u8>,
}

impl<S> Windowed<S> {
    /// Whether a FIN sent now would be lost (turmoil's receive queue is full of segments).
    pub(crate) fn fin_would_be_lost(&mut self) -> bool {
        let peer_read = self.counters.borrow().read[1 - self.me];
        self.segments.fin_would_be_lost(peer_read)
    }

    /// The size a read or write is cut to now (`pick` chooses the knob), if any.
    fn cut(&mut self, pick: fn(&LinkFaults) -> Option<usize>) -> Option<usize> {
        let (chaotic, rng) = self.chaotic.as_mut()?;
        let max = pick(&chaotic.faults).filter(|_| chaotic.chaos.is_on())?;
        Some(rng.range(1..=max.max(1)))
    }

    fn fault(&self, fault: Fault) {
        if let Some((chaotic, _)) = &self.chaotic {
            chaotic.recorder.record(None, Event::fault(fault));
        }
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
        let limit = this
            .cut(|f| f.read_fragment_max)
            .filter(|&n| n < buf.remaining());
        let (polled, n) = match limit {
            None => {
                let before = buf.filled().len();
                let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
                (polled, buf.filled().len() - before)
            }
            Some(limit) => {
                this.scratch.resize(limit, 0);
                let mut limited = ReadBuf::new(&mut this.scratch);
                let polled = Pin::new(&mut this.inner).poll_read(cx, &mut limited);
                let n = limited.filled().len();
                buf.put_slice(limited.filled());
                if n == limit {
                    let end = this.label;
                    this.fault(Fault::LinkReadCut { end, bytes: n });
                }
                (polled, n)
            }
        };
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
                let mut take = buf.len().min(room);
                let cut = this
                    .cut(|f| f.write_fragment_max)
                    .filter(|&n| n < take && !buf.is_empty());
                if let Some(n) = cut {
                    take = n;
                }
                let polled = Pin::new(&mut this.inner).poll_write(cx, &buf[..take]);
                if let Poll::Ready(Ok(n)) = polled {
                    this.counters.borrow_mut().written[this.me] += n as u64;
                    if n > 0 {
                        this.segments.push(n);
                    }
                    if cut.is_some() {
                        let (end, offered) = (this.label, buf.len());
                        this.fault(Fault::LinkPartialWrite {
                            end,
                            written: n,
                            offered,
                        });
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
