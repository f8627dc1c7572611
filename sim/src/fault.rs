//! `FaultyStream`: a seeded `AsyncRead + AsyncWrite` wrapper around the server's end of a
//! connection that injects the faults turmoil cannot (notes/turmoil.md A2.7), and records each
//! one in the trace as it fires.
//!
//! - read fragmentation: each read returns 1..=n bytes;
//! - partial writes: each write accepts 1..=n bytes;
//! - a byte-accurate send window drained at a fixed rate: a slow reader, so the server sees
//!   real backpressure (turmoil's own window counts segments, not bytes);
//! - read stalls: a read waits a few milliseconds first;
//! - half-close at a byte offset: the peer's FIN after n bytes;
//! - reset at a byte offset with Linux semantics: unread data is discarded and every later
//!   read or write fails with `ConnectionReset` (turmoil keeps delivered data readable);
//! - stall forever at a byte offset: nothing moves again, only the engine's timers can end it.
//!
//! When the run's chaos phase ends (`Chaos::calm`), no new fault fires: reads and writes pass
//! through whole, so the liveness phase can check that everything completes.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
// Simulated time: tokio's clock, which turmoil drives (never the wall clock).
use tokio::time::{Instant as SimTime, Sleep};

use crate::event::{Decision, Event, Fault, Side};
use crate::net::{Network, SentSegments, FIN_HOLD_MS_MAX, IN_FLIGHT_BYTES_MAX};
use crate::pending::{Engine, Pending, SocketWait};
use crate::rng::{Seed, SimRng};
use crate::trace::Recorder;

/// Whether faults may fire: on during the chaos phase, off for the liveness phase.
#[derive(Clone, Debug)]
pub struct Chaos(Rc<Cell<bool>>);

impl Chaos {
    /// Faults on.
    pub fn on() -> Chaos {
        Chaos(Rc::new(Cell::new(true)))
    }
    /// Whether faults may fire now.
    pub fn is_on(&self) -> bool {
        self.0.get()
    }
    /// Stops all new faults.
    pub fn calm(&self) {
        self.0.set(false);
    }
}

/// A slow reader: the peer takes `drain_bytes_per_ms` bytes per millisecond, and at most
/// `bytes` can be in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow {
    /// Bytes in flight at most.
    pub bytes: usize,
    /// Bytes the peer reads per millisecond.
    pub drain_bytes_per_ms: usize,
}

/// The faults of one connection. `Default` is no fault at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamFaults {
    /// Each read returns 1..=n bytes.
    pub read_fragment_max: Option<usize>,
    /// Each write accepts 1..=n bytes.
    pub write_fragment_max: Option<usize>,
    /// A slow reader.
    pub window: Option<SendWindow>,
    /// Each read stalls with this probability, for 1..=max milliseconds.
    pub read_stall: Option<(f64, u64)>,
    /// The peer's FIN after this many bytes read.
    pub half_close_at: Option<u64>,
    /// A reset after this many bytes read.
    pub reset_at: Option<u64>,
    /// Nothing moves after this many bytes read.
    pub stall_at: Option<u64>,
    /// A peer FIN the seed may place (a swarm fault), unless `half_close_at` is set.
    pub random_half_close: Option<RandomOffset>,
    /// A reset the seed may place (a swarm fault), unless `reset_at` is set.
    pub random_reset: Option<RandomOffset>,
    /// A stall the seed may place (a swarm fault), unless `stall_at` is set.
    pub random_stall: Option<RandomOffset>,
}

/// A byte-offset fault placed by the seed: each connection gets it with probability
/// `chance`, at a byte drawn from `0..=offset_max` of what the server reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomOffset {
    /// The probability that a connection gets the fault.
    pub chance: f64,
    /// The largest offset drawn.
    pub offset_max: u64,
}

/// The decision points every connection numbers first, in this order, whether its swarm
/// offset faults are on or not (so the numbering of the rest never shifts): the peer FIN,
/// the reset and the stall.
const OFFSET_DECISIONS: usize = 3;

/// Decisions every connection reserves before its reads and writes: the three offset faults
/// here, then the client's slow sender (3) and give-up (4), which the client decides.
const RESERVED_DECISIONS: u64 = 5;

impl StreamFaults {
    /// Whether any fault is configured.
    pub fn is_quiet(&self) -> bool {
        *self == StreamFaults::default()
    }
}

/// Which faults each connection gets, by connection number.
pub type FaultPlan = Rc<dyn Fn(u32) -> StreamFaults>;

/// The decisions allowed to fire; `None` lets every one fire.
pub type Keep = Option<Rc<std::collections::BTreeSet<Decision>>>;

/// What a `FaultyStream` shares with the rest of its run.
#[derive(Clone)]
pub struct StreamWorld {
    /// Which faults each connection gets.
    pub plan: FaultPlan,
    /// The decisions allowed to fire.
    pub keep: Keep,
    /// The run's seed, for the faults' forks.
    pub seed: Seed,
    /// Chaos on or off.
    pub chaos: Chaos,
    /// The trace.
    pub recorder: Recorder,
    /// The network's shared state.
    pub net: Network,
    /// What can still happen: the stream's own timed waits (a read stall, a write's retries).
    pub pending: Pending,
}

/// The wrapper. See the module documentation.
pub struct FaultyStream<S> {
    inner: Option<S>,
    /// The faults, known once the client has told the trace which connection this port is
    /// (it does so as soon as it is connected, before it sends anything).
    faults: StreamFaults,
    /// The decisions that placed the swarm's offset faults (FIN, reset, stall), if any.
    offset_decisions: [Option<Decision>; OFFSET_DECISIONS],
    resolved: bool,
    plan: FaultPlan,
    keep: Keep,
    /// This connection's number once resolved, and its next decision point.
    conn: Option<u32>,
    decisions: u64,
    seed: Seed,
    rng: SimRng,
    chaos: Chaos,
    recorder: Recorder,
    net: Network,
    pending: Pending,
    port: u16,
    read_bytes: u64,
    /// Window tokens and when they were last refilled.
    tokens: usize,
    refilled: SimTime,
    /// A read stall in progress.
    read_wake: Option<Pin<Box<Sleep>>>,
    /// The wait for the send window to refill.
    write_wake: Option<Pin<Box<Sleep>>>,
    /// The segments written to the client, for the FIN rule.
    segments: SentSegments,
    fin_held: bool,
    /// When the driver first asked to shut down, for the FIN hold's bound.
    fin_held_since: Option<SimTime>,
    /// Reused read buffer: the limit on a read is applied by reading into it.
    scratch: Vec<u8>,
    state: StreamState,
    write_blocked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamState {
    Open,
    PeerClosed,
    Reset,
    Stalled,
}

impl<S> FaultyStream<S> {
    /// Wraps `inner`, the server's end of the connection from client port `port`.
    pub fn new(inner: S, port: u16, world: StreamWorld) -> Self {
        let StreamWorld {
            plan,
            keep,
            seed,
            chaos,
            recorder,
            net,
            pending,
        } = world;
        FaultyStream {
            inner: Some(inner),
            faults: StreamFaults::default(),
            offset_decisions: [None; OFFSET_DECISIONS],
            resolved: false,
            plan,
            keep,
            conn: None,
            decisions: 0,
            seed,
            rng: SimRng::fork(seed, "faults/unresolved"),
            chaos,
            recorder,
            net,
            pending,
            port,
            read_bytes: 0,
            tokens: usize::MAX,
            refilled: SimTime::now(),
            read_wake: None,
            write_wake: None,
            segments: SentSegments::new(),
            fin_held: false,
            fin_held_since: None,
            scratch: Vec::new(),
            state: StreamState::Open,
            write_blocked: false,
        }
    }

    /// Tells the run that this socket wakes its connection `after` from now.
    fn wakes_after(&self, wait: SocketWait, after: Duration) {
        self.pending
            .socket_wait(Engine::Server(self.port), wait, after);
    }

    fn fault(&self, fault: Fault) {
        self.recorder.record_peer(self.port, Event::fault(fault));
    }

    /// Numbers the next decision point and says whether its fault may fire.
    fn decide(&mut self) -> Option<Decision> {
        let conn = self.conn?;
        let decision = (conn, self.decisions);
        self.decisions += 1;
        let kept = self
            .keep
            .as_ref()
            .is_none_or(|keep| keep.contains(&decision));
        kept.then_some(decision)
    }

    /// Records that a decision's fault fired.
    fn fired(&self, decision: Decision, fault: Fault) {
        let event = Event::Fault {
            fault,
            decision: Some(decision),
        };
        self.recorder.record_peer(self.port, event);
    }

    /// Whether the server's FIN sent now would be lost by turmoil 0.7.2 (see
    /// [`SentSegments`]): it waits until the client has begun to read enough of what was sent.
    /// Noted once in the trace.
    pub fn fin_would_be_lost(&mut self) -> bool {
        let Some(conn) = self.conn else { return false };
        let full = self
            .segments
            .fin_would_be_lost(self.net.read(Side::Client, conn));
        if full && !self.fin_held {
            self.fin_held = true;
            self.fault(Fault::FinHeld {
                sender: Side::Server,
            });
        }
        full
    }

    /// Looks up this connection's faults once its number is known.
    fn resolve(&mut self) {
        if self.resolved {
            return;
        }
        let Some(conn) = self.net.conn_of(self.port) else {
            return;
        };
        self.resolved = true;
        self.conn = Some(conn);
        self.faults = (self.plan)(conn);
        self.rng = SimRng::fork(self.seed, &format!("faults/conn-{conn}"));
        self.tokens = self.faults.window.map_or(usize::MAX, |w| w.bytes);
        self.refilled = SimTime::now();
        self.place_offsets(conn);
    }

    /// Draws the swarm's offset faults of connection `conn`: each is a numbered decision and
    /// takes the same draws whether it is on or not, so turning one off shifts nothing else.
    fn place_offsets(&mut self, conn: u32) {
        let mut rng = SimRng::fork(self.seed, &format!("faults/conn-{conn}/offsets"));
        let randoms = [
            self.faults.random_half_close,
            self.faults.random_reset,
            self.faults.random_stall,
        ];
        for (slot, random) in randoms.into_iter().enumerate() {
            let decision = self.decide();
            let (roll, offset) = (rng.range(0..1_000_000u32), rng.next_u64());
            let Some(random) = random.filter(|_| self.chaos.is_on()) else {
                continue;
            };
            if f64::from(roll) >= random.chance * 1_000_000.0 {
                continue;
            }
            let at = offset % (random.offset_max + 1);
            let own = match slot {
                0 => &mut self.faults.half_close_at,
                1 => &mut self.faults.reset_at,
                _ => &mut self.faults.stall_at,
            };
            if let (None, Some(decision)) = (*own, decision) {
                *own = Some(at);
                self.offset_decisions[slot] = Some(decision);
            }
        }
        self.decisions = RESERVED_DECISIONS;
    }

    /// The byte-offset faults, checked before each read.
    fn offset_faults(&mut self) {
        if self.state != StreamState::Open || !self.chaos.is_on() {
            return;
        }
        let at = self.read_bytes;
        let (fault, slot) = if self.faults.reset_at.is_some_and(|n| at >= n) {
            self.state = StreamState::Reset;
            // Dropping turmoil's stream tells the peer; our side discards what is unread.
            self.inner = None;
            (Fault::ResetAt { byte: at }, 1)
        } else if self.faults.stall_at.is_some_and(|n| at >= n) {
            self.state = StreamState::Stalled;
            (Fault::StallAt { byte: at }, 2)
        } else if self.faults.half_close_at.is_some_and(|n| at >= n) {
            self.state = StreamState::PeerClosed;
            (Fault::PeerFinAt { byte: at }, 0)
        } else {
            return;
        };
        match self.offset_decisions[slot] {
            Some(decision) => self.fired(decision, fault),
            None => self.fault(fault),
        }
    }

    /// Bytes the client's receive buffer and our send buffer can still take (see
    /// [`IN_FLIGHT_BYTES_MAX`]), counted from what the client has read.
    fn network_room(&self) -> usize {
        let Some(conn) = self.conn else {
            return usize::MAX;
        };
        let in_flight = self.segments.written() - self.net.read(Side::Client, conn);
        usize::try_from(IN_FLIGHT_BYTES_MAX.saturating_sub(in_flight)).unwrap_or(usize::MAX)
    }

    fn refill(&mut self) {
        let Some(window) = self.faults.window else {
            return;
        };
        if !self.chaos.is_on() {
            self.tokens = usize::MAX;
            return;
        }
        let now = SimTime::now();
        let millis = now.saturating_duration_since(self.refilled).as_millis();
        if millis > 0 {
            let added = usize::try_from(millis)
                .unwrap_or(usize::MAX)
                .saturating_mul(window.drain_bytes_per_ms);
            self.tokens = self.tokens.saturating_add(added).min(window.bytes);
            self.refilled = now;
        }
    }
}

/// Polls a pending wake-up, if any; `Ready` when there is none or it passed.
fn poll_wake(wake: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>) -> Poll<()> {
    match wake {
        Some(sleep) => match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                *wake = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        },
        None => Poll::Ready(()),
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FaultyStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.resolve();
        this.offset_faults();
        match this.state {
            StreamState::Reset => return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
            StreamState::Stalled => return Poll::Pending,
            StreamState::PeerClosed => return Poll::Ready(Ok(())),
            StreamState::Open => {}
        }
        let chaos = this.chaos.is_on();
        if this.read_wake.is_none() && chaos {
            if let Some((p, max_ms)) = this.faults.read_stall {
                let decision = this.decide();
                if this.rng.chance(p) {
                    let ms = this.rng.range(1..=max_ms.max(1));
                    if let Some(decision) = decision {
                        this.fired(decision, Fault::ReadStall { millis: ms });
                        let stall = Duration::from_millis(ms);
                        this.wakes_after(SocketWait::Read, stall);
                        let stall = tokio::time::sleep(stall);
                        this.read_wake = Some(Box::pin(stall));
                    }
                }
            }
        }
        if poll_wake(&mut this.read_wake, cx).is_pending() {
            return Poll::Pending;
        }
        let mut cut_decision = None;
        let limit = match this.faults.read_fragment_max.filter(|_| chaos) {
            Some(max) => {
                cut_decision = this.decide();
                let drawn = this.rng.range(1..=max.max(1));
                match cut_decision {
                    Some(_) => drawn.min(buf.remaining()),
                    None => buf.remaining(),
                }
            }
            None => buf.remaining(),
        };
        // Stop at a byte-offset fault so it fires exactly there.
        let next_offset = [
            this.faults.reset_at,
            this.faults.stall_at,
            this.faults.half_close_at,
        ]
        .into_iter()
        .flatten()
        .filter(|&n| n > this.read_bytes)
        .min();
        let limit = match next_offset.filter(|_| chaos) {
            Some(n) => limit.min(usize::try_from(n - this.read_bytes).unwrap_or(usize::MAX)),
            None => limit,
        };
        this.scratch.resize(limit, 0);
        let mut limited = ReadBuf::new(&mut this.scratch);
        // Invariant: `inner` is only None in the Reset state, handled above.
        let inner = this.inner.as_mut().expect("an open stream has its socket");
        match Pin::new(inner).poll_read(cx, &mut limited) {
            Poll::Ready(Ok(())) => {
                let n = limited.filled().len();
                let cut = n > 0 && n == limit && limit < buf.remaining();
                buf.put_slice(limited.filled());
                this.read_bytes += n as u64;
                if let Some(conn) = this.conn {
                    this.net.note_read(Side::Server, conn, n);
                }
                if let Some(decision) = cut_decision.filter(|_| cut) {
                    this.fired(decision, Fault::ReadCut { bytes: n });
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FaultyStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.state {
            StreamState::Reset => return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
            StreamState::Stalled => return Poll::Pending,
            StreamState::PeerClosed | StreamState::Open => {}
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        this.resolve();
        this.refill();
        let room = this.network_room();
        if room == 0 {
            // The client's receive buffer is full: wait for it to read (a millisecond at a time,
            // as its reads are not signalled here). The network, not a fault: nothing recorded.
            if this.write_wake.is_none() {
                // Each wake-up polls the reads too, which draw their faults during the chaos
                // phase: then it is a wait of its own, and only the client's reads end it after.
                if this.chaos.is_on() {
                    this.wakes_after(SocketWait::Write, Duration::from_millis(1));
                }
                this.write_wake = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
            }
            if poll_wake(&mut this.write_wake, cx).is_pending() {
                return Poll::Pending;
            }
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if this.tokens == 0 {
            if !this.write_blocked {
                this.write_blocked = true;
                this.fault(Fault::WindowFull);
            }
            // Wake when the peer has read a millisecond's worth.
            if this.write_wake.is_none() {
                this.wakes_after(SocketWait::Write, Duration::from_millis(1));
                this.write_wake = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
            }
            if poll_wake(&mut this.write_wake, cx).is_pending() {
                return Poll::Pending;
            }
            this.refill();
            if this.tokens == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        this.write_blocked = false;
        let chaos = this.chaos.is_on();
        let mut accept = buf.len().min(this.tokens);
        // The slow reader's window is a rate, not a random decision.
        let window_cut = accept < buf.len();
        accept = accept.min(room);
        let mut fragment = None;
        if let Some(max) = this.faults.write_fragment_max.filter(|_| chaos) {
            let decision = this.decide();
            let drawn = this.rng.range(1..=max.max(1));
            if let Some(decision) = decision.filter(|_| drawn < accept) {
                accept = drawn;
                fragment = Some(decision);
            }
        }
        // Invariant: `inner` is only None in the Reset state, handled above.
        let inner = this.inner.as_mut().expect("an open stream has its socket");
        match Pin::new(inner).poll_write(cx, &buf[..accept]) {
            Poll::Ready(Ok(n)) => {
                // Faults are recorded once the write happened: a pending one did not.
                let (written, offered) = (n, buf.len());
                match fragment {
                    Some(decision) => {
                        this.fired(decision, Fault::PartialWrite { written, offered })
                    }
                    None if window_cut => this.fault(Fault::WindowWrite { written, offered }),
                    None => {}
                }
                if this.tokens != usize::MAX {
                    this.tokens -= n.min(this.tokens);
                }
                this.net.note_written(this.port, n);
                this.segments.push(n);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A stalled connection takes no more bytes, but flushing and shutting down a TCP
        // socket never wait for the peer: the kernel queues the FIN.
        let stalled = self.state == StreamState::Stalled;
        match self.inner.as_mut() {
            Some(inner) if !stalled => Pin::new(inner).poll_flush(cx),
            Some(_) => Poll::Ready(Ok(())),
            None => Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stalled = self.state == StreamState::Stalled;
        let held_since = *self.fin_held_since.get_or_insert_with(SimTime::now);
        let hold_over = held_since.elapsed() >= Duration::from_millis(FIN_HOLD_MS_MAX);
        if !stalled && !hold_over && self.fin_would_be_lost() {
            let this = &mut *self;
            // Held a millisecond at a time, up to a bound: a wait of its own.
            if this.write_wake.is_none() {
                this.wakes_after(SocketWait::Write, Duration::from_millis(1));
                this.write_wake = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
            }
            if poll_wake(&mut this.write_wake, cx).is_pending() {
                return Poll::Pending;
            }
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match self.inner.as_mut() {
            Some(inner) if !stalled => Pin::new(inner).poll_shutdown(cx),
            // The FIN is queued behind what the stalled peer never takes: nothing to wait for.
            Some(_) => Poll::Ready(Ok(())),
            None => Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
        }
    }
}
