//! The connection loop: socket bytes and timer ticks into the channel, the channel's outputs
//! onto the socket and into the app, the app's commands back into the channel.
//!
//! Order of work in one turn, always the same: drain every output; feed the app's commands;
//! write without waiting; close or shut down when the channel said so and the queue is empty;
//! once the queue is empty, hand the app the pulls the channel asked for, or let it produce;
//! and only then wait, polling in a fixed order, for the socket to become writable or
//! readable, for the next deadline, or for a drain signal.

use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::futures::OwnedNotified;

use crate::write_queue::WriteQueue;
use crate::Drain;
use crate::{App, Clock};
use twine_engine::{
    AppCommand, CloseReason, Connection, ConnectionInfo, Event, Input, Instant, Output,
    ProducerState, RequestId, TransportState, UsageError,
};

/// Sees every input and output of a connection: the simulation's trace recorder.
pub trait Observer {
    /// Whether it wants [`Observer::on_alarm`]: the driver works the alarm's time out only
    /// for an observer that does.
    const WATCHES_ALARM: bool = false;
    /// An input, just before the channel handles it.
    fn on_input(&mut self, input: &Input<'_>) {
        let _ = input;
    }
    /// An output, as the driver takes it.
    fn on_output(&mut self, now: Instant, output: &Output) {
        let _ = (now, output);
    }
    /// The app made a mistake: the command of the last `on_input` was refused.
    fn on_usage_error(&mut self, now: Instant, error: UsageError) {
        let _ = (now, error);
    }
    /// Before each wait while the channel is open (not in a shutdown or the final flush):
    /// when the connection's alarm will next wake it by itself, if at all. That is its
    /// channel's next deadline or the release of its idle buffers, or an earlier deadline
    /// since pushed back (it then wakes for nothing and sets the alarm again). A simulation
    /// steps over the time before it.
    fn on_alarm(&mut self, at: Option<Instant>) {
        let _ = at;
    }
}

/// The observer that sees nothing.
impl Observer for () {}

/// A lent observer: the caller looks at it once the connection is done.
impl<O: Observer + ?Sized> Observer for &mut O {
    const WATCHES_ALARM: bool = O::WATCHES_ALARM;

    fn on_input(&mut self, input: &Input<'_>) {
        (**self).on_input(input);
    }

    fn on_output(&mut self, now: Instant, output: &Output) {
        (**self).on_output(now, output);
    }

    fn on_usage_error(&mut self, now: Instant, error: UsageError) {
        (**self).on_usage_error(now, error);
    }

    fn on_alarm(&mut self, at: Option<Instant>) {
        (**self).on_alarm(at);
    }
}

/// How a connection loop runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Most bytes read at once (also bounded by the channel's window).
    pub read_bytes_max: usize,
    /// The smallest read, and the first. Reads grow from it when they come back full.
    pub read_bytes_min: usize,
    /// Once started, the connection drains: it finishes the requests it has, then closes.
    pub drain: Option<Drain>,
    /// Who is on the two ends, handed to the app before anything else
    /// ([`App::on_connect`]).
    pub connection: Option<ConnectionInfo>,
    /// How long a connection with nothing to write and no app work waits before it gives back
    /// the buffers it keeps from request to request (its own and the channel's,
    /// [`Connection::release_idle_memory`]): long enough that a busy keep-alive connection
    /// never allocates them per request (its next request comes within a round trip), short
    /// enough that idle connections cost little. On a busy connection its alarm rings once per
    /// this much time, not once per request. 100 ms by default.
    pub idle_release_after: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            read_bytes_max: 64 * 1024,
            read_bytes_min: 4 * 1024,
            drain: None,
            connection: None,
            idle_release_after: Duration::from_millis(100),
        }
    }
}

/// How the connection ended, with the stream handed back so the caller can drop it (a FIN) or
/// reset it where the transport supports that.
#[derive(Debug)]
pub struct ConnectionEnd<S> {
    /// The stream.
    pub stream: S,
    /// The channel's verdict: graceful, or abort (reset if possible).
    pub reason: CloseReason,
}

/// Doubles the read size after a read that filled it, halves it after one that used less than
/// a quarter, within `min..=max` (hyper's adaptive read buffer, simplified).
fn adapt_read_size(size: usize, read: usize, asked: usize, min: usize, max: usize) -> usize {
    let size = if read == asked {
        size.saturating_mul(2)
    } else if read < size / 4 {
        size / 2
    } else {
        size
    };
    size.clamp(min.min(max), max.max(1))
}

/// `n`, or `u32::MAX` if it is larger: a read size (no read is 4 GiB).
fn clamp_to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Reads of at most this many bytes land in a buffer on the stack and reach the channel (which
/// copies what it keeps) before the poll that read them returns: a connection waiting for its
/// next request keeps no read buffer. Longer reads (an upload's) go to a heap buffer.
const STACK_READ_BYTES: usize = 16 * 1024;

struct Driver<S, C, A, O> {
    /// One stream, not split: reading and writing are polled in one place (`wait`), and a
    /// split would cost an allocation per connection and a lock per poll.
    stream: S,
    /// The sans-IO connection: a server channel or a client connection.
    channel: C,
    app: A,
    observer: O,
    /// The engine time of this turn: read from the clock after each wait, not per turn, input
    /// or output. A turn does no waiting, so the time it stands for is the moment the wait
    /// before it ended; reading the clock per output was 8% of the instructions per pipelined
    /// request, and once per turn (several per wake) 2% more.
    now: Instant,
    queue: WriteQueue,
    commands: Vec<AppCommand>,
    /// The other command list (`feed_commands`), empty between turns.
    spare_commands: Vec<AppCommand>,
    /// Pulls the channel asked for, held until everything written so far has left (a pull
    /// producer is asked for data when the transport's buffer runs empty, as Twisted's
    /// `resumeProducing` is; handing the pull on at once would let a pull producer fill the
    /// queue like an unpaused push producer). In request order; a request leaves when its
    /// producer stops or it is lost.
    pulls: Vec<RequestId>,
    /// Where reads longer than [`STACK_READ_BYTES`] land (an upload's); `None` otherwise. Boxed:
    /// most connections never read that much, and a buffer's handle inline would be 32 bytes
    /// of every connection's future.
    read_buf: Option<Box<BytesMut>>,
    /// The next read's size: grows while reads fill it, shrinks when they come back small.
    /// (Read sizes are kept in 32 bits, like `read_len`: 8 bytes of every connection's future.)
    read_size: u32,
    /// The size of the read the current wait polls (0: none): set before the wait
    /// ([`Driver::prepare_wait`]), read after it. A field rather than a local of the wait: a
    /// local held across an await is a slot in the connection's future, its idle cost.
    read_len: u32,
    /// The alarm is set for the current wait (or the final flush): its sleep is polled.
    alarm_armed: bool,
    /// We told the channel the transport is blocked.
    blocked: bool,
    shutdown_pending: bool,
    close: Option<CloseReason>,
    peer_eof: bool,
    /// The channel was told to drain.
    drain_sent: bool,
    /// Wakes the connection at the channel's next deadline, or to release idle memory.
    alarm: Alarm,
    /// When an idle connection gives back its buffers ([`RunOptions::idle_release_after`]):
    /// set by the first wait with nothing to do, cleared by anything that happens.
    release_at: Option<tokio::time::Instant>,
    /// The buffers were given back and nothing happened since: no release is due.
    released: bool,
}

/// The settings a connection reads rarely ([`RunOptions`]), kept on the heap beside its
/// wake-ups ([`Alarm`]) rather than in its future: tokio rounds a task up to 128 bytes, and
/// the future of `twine serve`'s connections is kept under a boundary.
struct Settings {
    /// The bounds of the read size.
    read_bytes_min: usize,
    read_bytes_max: usize,
    /// See [`RunOptions::idle_release_after`].
    idle_release_after: Duration,
}

/// Runs one connection (a server [`Channel`](twine_engine::Channel) or a
/// [`ClientConnection`](twine_engine::ClientConnection)) until it closes.
///
/// The app and the observer are taken by value or by `&mut` (a `&mut` app is an app, a `&mut`
/// observer an observer): a server hands over its own, so that the connection's future holds
/// them once; a test lends them, to look at them afterwards.
///
/// Not an `async fn`: its arguments go into the driver before the future exists, so the
/// future holds them once (an `async fn` keeps its arguments for its whole life beside what
/// they were moved into; a connection's task is its idle cost).
pub fn run_connection<S, C, A, O>(
    stream: S,
    channel: C,
    mut app: A,
    clock: Clock,
    observer: O,
    options: RunOptions,
) -> impl Future<Output = ConnectionEnd<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Connection,
    A: App,
    O: Observer,
{
    let RunOptions {
        read_bytes_max,
        read_bytes_min,
        drain,
        connection,
        idle_release_after,
    } = options;
    // Told before anything else, as the future's first step would: the caller awaits it at
    // once, and the app's first event can only come from that.
    if let Some(info) = &connection {
        app.on_connect(clock.now(), info);
    }
    let mut driver = Driver {
        stream,
        channel,
        app,
        observer,
        now: clock.now(),
        queue: WriteQueue::new(),
        commands: Vec::new(),
        spare_commands: Vec::new(),
        pulls: Vec::new(),
        read_buf: None,
        read_size: clamp_to_u32(read_bytes_min),
        read_len: 0,
        alarm_armed: false,
        blocked: false,
        shutdown_pending: false,
        close: None,
        peer_eof: false,
        drain_sent: false,
        alarm: Alarm::new(
            clock,
            drain,
            Settings {
                read_bytes_min,
                read_bytes_max,
                idle_release_after,
            },
        ),
        release_at: None,
        released: false,
    };
    async move {
        let reason = driver.run().await;
        ConnectionEnd {
            stream: driver.stream,
            reason,
        }
    }
}

impl<S, C, A, O> Driver<S, C, A, O>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Connection,
    A: App,
    O: Observer,
{
    async fn run(&mut self) -> CloseReason {
        loop {
            self.deliver_drain();
            self.drain_outputs();
            if !self.commands.is_empty() {
                self.feed_commands();
                continue;
            }
            if self.write_now() {
                continue;
            }
            if let Some(reason) = self.close {
                if reason == CloseReason::Abort {
                    return reason;
                }
                self.arm_flush_timeout();
                let flushed = std::future::poll_fn(|cx| self.poll_finish(cx)).await;
                return if flushed {
                    CloseReason::Graceful
                } else {
                    CloseReason::Abort
                };
            }
            if self.shutdown_pending && self.queue.is_empty() {
                self.shutdown_pending = false;
                // A second shutdown or one after a reset fails; the channel does not care.
                let _ = self.stream.shutdown().await;
                self.now = self.alarm.clock().now();
                continue;
            }
            if self.queue.is_empty() && (self.deliver_pulls() || self.produce()) {
                continue;
            }
            // The wait: what it needs across the await is in the driver, so the future
            // holds only the poll function's reference (`prepare_wait`).
            self.prepare_wait();
            let wake = std::future::poll_fn(|cx| self.poll_wait(cx)).await;
            self.handle_wake(wake);
        }
    }

    fn handle(&mut self, input: Input<'_>) {
        self.observer.on_input(&input);
        // Only app commands can be refused, and those go through `feed_commands`.
        let _ = self.channel.handle_input(input);
    }

    fn drain_outputs(&mut self) {
        // The channel is borrowed while it hands out its outputs; the rest, field by field.
        let Driver {
            channel,
            app,
            observer,
            now,
            queue,
            commands,
            pulls,
            shutdown_pending,
            close,
            ..
        } = self;
        let now = *now;
        channel.drain_outputs(|output| {
            observer.on_output(now, &output);
            match output {
                Output::Transmit(bytes) => queue.push(bytes),
                Output::Event(Event::Pull { id }) => pulls.push(id),
                Output::Event(event) => {
                    if let Event::Lost { id } = event {
                        pulls.retain(|&pull| pull != id);
                    }
                    app.on_event(now, event, commands);
                }
                Output::Producer { request, state } => {
                    if state == ProducerState::Stopped {
                        pulls.retain(|&pull| pull != request);
                    }
                    app.on_producer(now, request, state, commands)
                }
                Output::Reading(_) | Output::Timer { .. } => {}
                Output::ShutdownWrite => *shutdown_pending = true,
                Output::Close(reason) => {
                    *close = Some(reason);
                    app.on_close(now, reason);
                }
                // Outputs added later are advisory until this driver learns them.
                _ => {}
            }
        });
    }

    /// Hands the held pulls to the app, once the queue is empty. Returns whether there were any.
    fn deliver_pulls(&mut self) -> bool {
        if self.pulls.is_empty() {
            return false;
        }
        let now = self.now;
        for id in std::mem::take(&mut self.pulls) {
            self.app
                .on_event(now, Event::Pull { id }, &mut self.commands);
        }
        true
    }

    /// Lets a push producer produce, once the queue is empty.
    fn produce(&mut self) -> bool {
        self.app.produce(self.now, &mut self.commands)
    }

    fn feed_commands(&mut self) {
        // Swapped with a spare list, not taken: both keep their space, so a busy connection
        // allocates no command list per request. Commands the app adds meanwhile go to the
        // other list and are fed next turn.
        let spare = std::mem::take(&mut self.spare_commands);
        let mut batch = std::mem::replace(&mut self.commands, spare);
        for command in batch.drain(..) {
            let now = self.now;
            let input = Input::App { now, command };
            self.observer.on_input(&input);
            if let Err(error) = self.channel.handle_input(input) {
                self.observer.on_usage_error(now, error);
            }
            // Outputs of each command are taken before the next command, so an app reacting
            // to them sees the channel's state as it is.
            self.drain_outputs();
        }
        self.spare_commands = batch;
    }

    /// Writes as much as the socket takes without waiting. Returns whether the channel has
    /// something new to say (the transport blocked, drained, or failed).
    fn write_now(&mut self) -> bool {
        if self.queue.is_empty() || self.close == Some(CloseReason::Abort) {
            return self.report_writable();
        }
        let stream = &mut self.stream;
        // Poll once: Ready means written (or failed), Pending means blocked.
        let result = self
            .queue
            .with_slices(|slices| poll_once(|cx| poll_write_slices(&mut *stream, cx, slices)));
        match result {
            Poll::Ready(Ok(written)) if written > 0 => {
                self.queue.advance(written);
                self.report_progress() || !self.queue.is_empty()
            }
            Poll::Ready(Ok(_)) | Poll::Ready(Err(_)) => self.lose_connection(),
            Poll::Pending if self.blocked || self.close.is_some() => false,
            Poll::Pending => {
                self.blocked = true;
                let now = self.now;
                self.handle(Input::Transport {
                    now,
                    state: TransportState::Blocked,
                });
                true
            }
        }
    }

    /// After a write: writable if the queue drained; if it is still blocked, the socket took
    /// bytes all the same, and the channel hears of that progress.
    fn report_progress(&mut self) -> bool {
        if self.blocked && !self.queue.is_empty() && self.close.is_none() {
            let now = self.now;
            self.handle(Input::Transport {
                now,
                state: TransportState::Blocked,
            });
            return true;
        }
        self.report_writable()
    }

    fn report_writable(&mut self) -> bool {
        if !self.blocked || !self.queue.is_empty() || self.close.is_some() {
            return false;
        }
        self.blocked = false;
        let now = self.now;
        self.handle(Input::Transport {
            now,
            state: TransportState::Writable,
        });
        true
    }

    fn lose_connection(&mut self) -> bool {
        self.queue.clear();
        if self.close.is_some() {
            return false;
        }
        let now = self.now;
        self.handle(Input::ConnectionLost { now });
        true
    }

    /// Sets up a wait for the first of: the socket taking bytes, bytes or EOF from the peer,
    /// the next deadline, a drain signal ([`Driver::poll_wait`], which polls them in that
    /// order, so a simulation replays; [`Driver::handle_wake`] takes what woke it).
    ///
    /// The wait is polled by hand rather than by `select!` over futures, and what it needs
    /// across the await is kept in the driver: the connection's future, its cost while idle,
    /// holds one reference for it.
    fn prepare_wait(&mut self) {
        let window = if self.peer_eof {
            0
        } else {
            self.channel.recv_window()
        };
        self.read_len = clamp_to_u32(
            window
                .min(self.read_size as usize)
                .min(self.alarm.settings().read_bytes_max),
        );
        // The app's own time, if it has one, rings the alarm too (`poll_wake` then acts).
        let app_at = self.app.wake_at().map(|at| self.alarm.clock().to_tokio(at));
        let deadline = match (self.deadline(), app_at) {
            (Some(channel), Some(app)) => Some(channel.min(app)),
            (channel, app) => channel.or(app),
        };
        let quiet = self.queue.is_empty() && self.commands.is_empty() && self.pulls.is_empty();
        if !quiet {
            self.release_at = None;
        } else if self.release_at.is_none() && !self.released {
            let after = self.alarm.settings().idle_release_after;
            self.release_at = Some(self.alarm.clock().to_tokio(self.now) + after);
        }
        let alarm_at = match (deadline, self.release_at) {
            (Some(deadline), Some(release)) => Some(deadline.min(release)),
            (deadline, release) => deadline.or(release),
        };
        self.alarm_armed = self.alarm.arm(alarm_at);
        if O::WATCHES_ALARM {
            let clock = self.alarm.clock();
            let rings_at = self.alarm.rings_at().map(|at| clock.to_engine(at));
            self.observer.on_alarm(rings_at);
        }
    }

    /// The channel's next deadline, in tokio's time.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.channel
            .poll_timeout()
            .map(|at| self.alarm.clock().to_tokio(at))
    }

    /// After a wait: what woke it.
    fn handle_wake(&mut self, wake: Wake) {
        // Bytes read were handed over with the time they came (`poll_wait`), which is this
        // turn's time; any other wake reads the clock here.
        if !matches!(wake, Wake::Read(Ok(read)) if read > 0) {
            self.now = self.alarm.clock().now();
        }
        let now = self.now;
        if !matches!(wake, Wake::Alarm) {
            // Something happened: the connection is not idle, whatever it was before.
            self.release_at = None;
            self.released = false;
        }
        match wake {
            Wake::Written(Ok(n)) if n > 0 => {
                self.queue.advance(n);
                self.report_progress();
            }
            Wake::Written(_) => {
                self.lose_connection();
            }
            Wake::Read(read) => self.handle_read(read, self.read_len as usize),
            Wake::Alarm => {
                self.alarm.fired();
                // The channel had no input during the wait (the alarm is polled only after a
                // read that delivered nothing): its deadline is the one the wait was set for.
                let deadline = self.deadline();
                // The alarm may ring before the deadline it was set for moved later; then
                // there is nothing to tell the channel, and the next wait sets it again.
                let at = self.alarm.clock().to_tokio(now);
                if self.release_at.is_some_and(|release| at >= release) {
                    self.release_idle_memory();
                }
                if deadline.is_some_and(|deadline| at >= deadline) {
                    self.handle(Input::Timeout { now });
                }
            }
            // The commands are fed at the top of the next turn.
            Wake::App => {}
            // The signal's future is done: never polled again (`drain_sent`).
            Wake::Drain => self.send_drain(),
        }
    }

    /// One poll of the wait: writing before reading (one poll of the stream for both, as it
    /// is one stream), then the alarm, the drain signal, and last the app. An app with work of
    /// its own (the proxy's upstream side) wakes the connection with commands; other apps never
    /// do, and a connection idle on its app waits here for good (the engine arms a timer in
    /// every state that waits on the peer).
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        let (read_len, alarm_armed) = (self.read_len as usize, self.alarm_armed);
        if !self.queue.is_empty() {
            let stream = &mut self.stream;
            let write = self
                .queue
                .with_slices(|slices| poll_write_slices(stream, cx, slices));
            if let Poll::Ready(written) = write {
                return Poll::Ready(Wake::Written(written));
            }
        }
        if read_len > 0 {
            let clock = self.alarm.clock();
            let (channel, observer) = (&mut self.channel, &mut self.observer);
            let turn_now = &mut self.now;
            let deliver = |bytes: &[u8]| {
                // The time of this turn too (`wait` reads no clock after a read that
                // delivered bytes): one clock read per wake.
                let now = clock.now();
                *turn_now = now;
                let input = Input::Received { now, bytes };
                observer.on_input(&input);
                let _ = channel.handle_input(input);
            };
            let read = poll_read_into(&mut self.stream, cx, read_len, &mut self.read_buf, deliver);
            if let Poll::Ready(read) = read {
                return Poll::Ready(Wake::Read(read));
            }
        }
        self.alarm.poll_with(cx);
        if alarm_armed && self.alarm.poll_sleep(cx).is_ready() {
            return Poll::Ready(Wake::Alarm);
        }
        // Once rung and delivered, never polled again (`drain_sent`). The flag first: a
        // registered wake-up is not polled again (`poll_drain`), and a wake by the signal
        // must find it.
        if !self.drain_sent && (self.alarm.drain_started() || self.alarm.poll_drain(cx).is_ready())
        {
            return Poll::Ready(Wake::Drain);
        }
        let now = self.now;
        match self.app.poll_wake(cx, now, &mut self.commands) {
            Poll::Ready(()) => Poll::Ready(Wake::App),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Gives back the buffers kept for the next request: the driver's and the channel's.
    fn release_idle_memory(&mut self) {
        self.release_at = None;
        self.released = true;
        // Only empty lists: an app may have queued a command during the wait that rang.
        if self.commands.is_empty() {
            self.commands = Vec::new();
        }
        self.spare_commands = Vec::new();
        if self.pulls.is_empty() {
            self.pulls = Vec::new();
        }
        self.read_buf = None;
        self.queue.release_idle_memory();
        self.channel.release_idle_memory();
    }

    /// Tells the channel to drain once the signal is up. Checked at the top of every turn: the
    /// signal may come while another branch wins the wait, and it is never missed then.
    fn deliver_drain(&mut self) {
        if !self.drain_sent && self.alarm.drain_started() {
            self.send_drain();
        }
    }

    fn send_drain(&mut self) {
        if self.drain_sent {
            return;
        }
        self.drain_sent = true;
        let now = self.now;
        self.handle(Input::App {
            now,
            command: AppCommand::Drain,
        });
    }

    /// After a read, whose bytes the channel already has ([`poll_read_into`]).
    fn handle_read(&mut self, read: io::Result<usize>, read_len: usize) {
        let now = self.now;
        match read {
            Ok(0) => {
                self.peer_eof = true;
                self.handle(Input::ReceivedEof { now });
            }
            Ok(n) => {
                let settings = self.alarm.settings();
                let (min, max) = (settings.read_bytes_min, settings.read_bytes_max);
                let size = adapt_read_size(self.read_size as usize, n, read_len, min, max);
                self.read_size = clamp_to_u32(size);
                if size <= STACK_READ_BYTES && self.read_buf.is_some() {
                    // The burst is over: reads land on the stack again.
                    self.read_buf = None;
                }
            }
            Err(_) => {
                self.lose_connection();
            }
        }
    }

    /// Writes the queue out and flushes the stream: `Ready(false)` if the stream failed.
    fn poll_flush_queue(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        while !self.queue.is_empty() {
            let stream = &mut self.stream;
            let write = self
                .queue
                .with_slices(|slices| poll_write_slices(stream, cx, slices));
            match ready!(write) {
                Ok(n) if n > 0 => self.queue.advance(n),
                _ => return Poll::Ready(false),
            }
        }
        Pin::new(&mut self.stream)
            .poll_flush(cx)
            .map(|flushed| flushed.is_ok())
    }

    /// The channel closed gracefully: the last bytes get the time it allows
    /// ([`Connection::close_flush_timeout`]) to leave, timed by the connection's alarm rather
    /// than a `timeout`, whose sleep the future would hold.
    fn arm_flush_timeout(&mut self) {
        let flush_timeout = self.channel.close_flush_timeout();
        // A flush timeout too long to add never runs out (as `tokio::time::timeout`'s).
        let give_up_at = self
            .alarm
            .clock()
            .to_tokio(self.now)
            .checked_add(flush_timeout);
        // `arm` only ever moves the alarm earlier; forgetting its deadline first sets it for
        // exactly this one, later or not.
        self.alarm.fired();
        self.alarm_armed = self.alarm.arm(give_up_at);
    }

    /// One poll of the final flush: `Ready(true)` once everything is written, `Ready(false)`
    /// if the stream failed or the flush timeout ran out.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        // The writes first, then the time, as `tokio::time::timeout` polls them.
        if let Poll::Ready(flushed) = self.poll_flush_queue(cx) {
            return Poll::Ready(flushed);
        }
        if self.alarm_armed {
            self.alarm.poll_with(cx);
            self.alarm.poll_sleep(cx).map(|()| false)
        } else {
            Poll::Pending
        }
    }
}

/// Reads at most `len` bytes and hands them to `deliver` (before returning, so that bytes read
/// onto the stack are used while they live): onto the stack when `len` allows
/// ([`STACK_READ_BYTES`]), else into `heap` (made on first use), left empty afterwards. `Ok(0)`
/// is the peer's EOF and delivers nothing.
fn poll_read_into<S: AsyncRead + Unpin>(
    stream: &mut S,
    cx: &mut Context<'_>,
    len: usize,
    heap: &mut Option<Box<BytesMut>>,
    deliver: impl FnOnce(&[u8]),
) -> Poll<io::Result<usize>> {
    if len <= STACK_READ_BYTES {
        let mut stack = [MaybeUninit::<u8>::uninit(); STACK_READ_BYTES];
        let mut buf = ReadBuf::uninit(&mut stack[..len]);
        ready!(Pin::new(stream).poll_read(cx, &mut buf))?;
        let read = buf.filled();
        if !read.is_empty() {
            deliver(read);
        }
        return Poll::Ready(Ok(read.len()));
    }
    let heap = heap.get_or_insert_with(Box::default);
    heap.reserve(len);
    let n = ready!(pin!(stream.read_buf(&mut (&mut **heap).limit(len))).poll(cx))?;
    if n > 0 {
        deliver(&heap[..n]);
    }
    heap.clear();
    Poll::Ready(Ok(n))
}

/// Writes `slices`: one slice with a plain write, several with one vectored write. A socket's
/// `writev` goes through the file layer and a `send` does not: for the common batch of one
/// slice (a small response is copied into one), `send` costs the kernel less.
fn poll_write_slices<S: AsyncWrite + Unpin>(
    stream: &mut S,
    cx: &mut Context<'_>,
    slices: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    match slices {
        [only] => Pin::new(stream).poll_write(cx, only),
        _ => Pin::new(stream).poll_write_vectored(cx, slices),
    }
}

/// Polls once without waiting. The waker is a no-op: if this is `Pending`, the wait that
/// follows polls the same write again with the task's real waker.
fn poll_once<T>(mut f: impl FnMut(&mut std::task::Context<'_>) -> Poll<T>) -> Poll<T> {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    f(&mut cx)
}

/// The connection's one sleep, kept from wait to wait. Re-registering a timer in tokio's wheel
/// at every wait cost more than the rest of a keep-alive request's wait, and a keep-alive
/// connection's deadline moves later with every request: so the alarm only moves earlier. Set
/// for a later deadline than the one it waits for, it rings early, the wait finds the deadline
/// not reached, and the next wait sets it for the new one.
///
/// The drain's wake-up shares its allocation, and so do the drain signal, the clock and the
/// connection's rarely read [`Settings`], each read at most once a turn: the wake-ups must stay
/// pinned for the connection's life, and in the connection's future all of them would make
/// every connection's task larger. (tokio rounds a task up to 128 bytes: with the clock and
/// the signal here, `twine serve`'s connection future is 392 bytes and its task 512, where
/// they were 528 and 640, for 32 more bytes here.)
///
/// Each wake-up is polled again only when polling could change something: the task's waker
/// changed, the sleep was reset, or the sleep has elapsed. A registered wake-up wakes the waker
/// it was polled with, so a later poll with the same waker is needless; polling the drain's
/// takes the lock that all the server's connections share, and the sleep's costs as much as
/// the rest of the alarm's work per wait.
struct Alarm {
    wakeups: Pin<Box<Wakeups>>,
}

pin_project_lite::pin_project! {
    /// What wakes a waiting connection besides its socket and its app.
    struct Wakeups {
        #[pin]
        sleep: tokio::time::Sleep,
        // Made before the connection first looks at the drain signal, registered once for
        // its life (not per wait): see `Drain`.
        #[pin]
        drain: Option<OwnedNotified>,
        // The drain signal itself ([`RunOptions`]), read at every turn.
        drain_signal: Option<Drain>,
        // Engine time from tokio's, read once a wait.
        clock: Clock,
        // The waker the registered wake-ups below hold.
        waker: Option<Waker>,
        // The sleep was polled with `waker` since it was last reset.
        sleep_registered: bool,
        // The drain's wake-up was polled with `waker`.
        drain_registered: bool,
        // The sleep waits for a deadline (its own `deadline()`); false once it rang, or
        // before it was first set.
        sleep_set: bool,
        settings: Settings,
    }
}

impl Alarm {
    fn new(clock: Clock, drain: Option<Drain>, settings: Settings) -> Alarm {
        Alarm {
            wakeups: Box::pin(Wakeups {
                sleep: tokio::time::sleep(Duration::ZERO),
                drain: drain.as_ref().map(Drain::wake_up),
                drain_signal: drain,
                clock,
                waker: None,
                sleep_registered: false,
                drain_registered: false,
                sleep_set: false,
                settings,
            }),
        }
    }

    /// The connection's rarely read settings, which share the alarm's allocation.
    fn settings(&self) -> &Settings {
        &self.wakeups.settings
    }

    /// The connection's clock, read once a wait (it shares the alarm's allocation).
    fn clock(&self) -> Clock {
        self.wakeups.clock
    }

    /// Whether the drain signal is up, read once a turn.
    fn drain_started(&self) -> bool {
        self.wakeups
            .drain_signal
            .as_ref()
            .is_some_and(Drain::is_started)
    }

    /// Makes the alarm ring no later than `deadline`. Returns whether it is to be waited on.
    fn arm(&mut self, deadline: Option<tokio::time::Instant>) -> bool {
        let Some(deadline) = deadline else {
            // No deadline: the sleep is not polled. If it was set, it may still wake the task
            // once, for nothing; that is rarer than a timer-less wait is.
            return false;
        };
        let wakeups = self.wakeups.as_mut().project();
        if !*wakeups.sleep_set || wakeups.sleep.deadline() > deadline {
            wakeups.sleep.reset(deadline);
            *wakeups.sleep_registered = false;
            *wakeups.sleep_set = true;
        }
        true
    }

    /// When the alarm's sleep rings, if it is set: armed or not, since a sleep set and then
    /// not polled may still wake the task once.
    fn rings_at(&self) -> Option<tokio::time::Instant> {
        let wakeups = &*self.wakeups;
        wakeups.sleep_set.then(|| wakeups.sleep.deadline())
    }

    /// The alarm rang.
    fn fired(&mut self) {
        *self.wakeups.as_mut().project().sleep_set = false;
    }

    /// Notes the waker of this poll: with a new one, every wake-up is registered anew.
    fn poll_with(&mut self, cx: &Context<'_>) {
        let wakeups = self.wakeups.as_mut().project();
        if wakeups
            .waker
            .as_ref()
            .is_some_and(|held| held.will_wake(cx.waker()))
        {
            return;
        }
        *wakeups.waker = Some(cx.waker().clone());
        *wakeups.sleep_registered = false;
        *wakeups.drain_registered = false;
    }

    /// After [`Alarm::poll_with`]. An elapsed sleep is polled (it is ready); a registered one
    /// that has not elapsed is `Pending` as it stands (it wakes the waker it holds when it
    /// elapses, before which `is_elapsed` says so).
    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let wakeups = self.wakeups.as_mut().project();
        if *wakeups.sleep_registered && !wakeups.sleep.is_elapsed() {
            return Poll::Pending;
        }
        // Out of its cooperative budget, tokio's sleep returns `Pending` without registering
        // the waker (the task is woken to yield instead): then it is polled again next time.
        *wakeups.sleep_registered = tokio::task::coop::has_budget_remaining();
        wakeups.sleep.poll(cx)
    }

    /// After [`Alarm::poll_with`]; `Pending` for good without a drain signal. A registered
    /// wake-up is not polled: the caller reads the signal's flag before this, and the flag is
    /// set before the wake-up wakes the task.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let wakeups = self.wakeups.as_mut().project();
        let Some(wake_up) = wakeups.drain.as_pin_mut() else {
            return Poll::Pending;
        };
        if *wakeups.drain_registered {
            return Poll::Pending;
        }
        *wakeups.drain_registered = true;
        wake_up.poll(cx)
    }
}

/// What ended a wait.
enum Wake {
    Written(io::Result<usize>),
    Read(io::Result<usize>),
    Alarm,
    Drain,
    App,
}
