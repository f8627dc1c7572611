//! Scripted raw-byte clients, described as data: send these bytes in these fragments with
//! these gaps, read at this rate, shut down the write side here, reset here, wait for EOF.
//!
//! A script is expanded into primitive steps once, before it runs (random fragment sizes come
//! from the client's own seeded fork), so a run is a pure function of the seed. Each client is a
//! connection inside the one client host: turmoil's cost grows with hosts, not connections.

use std::future::Future;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
// Simulated time: tokio's clock, which turmoil drives (never the wall clock).
use tokio::time::Instant as SimTime;
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::event::{ClientEvent, Event, Fault, Side};
use crate::net::{hold_fin, Network, SentSegments, IN_FLIGHT_BYTES_MAX};
use crate::pending::{ClientWait, Pending};
use crate::rng::SimRng;
use crate::trace::Recorder;
use crate::window_grants::WindowGrants;

/// How bytes are cut into segments (one write is one segment in turmoil).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragments {
    /// All at once.
    Whole,
    /// Pieces of this size.
    Each(usize),
    /// Pieces of 1..=max bytes, drawn from the client's seed.
    Random {
        /// Largest piece.
        max: usize,
    },
}

/// One action of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send bytes, cut into fragments, waiting `gap` between fragments.
    Send {
        /// The bytes.
        bytes: Bytes,
        /// How they are cut.
        fragments: Fragments,
        /// Pause between fragments.
        gap: Duration,
    },
    /// Do nothing for a while (reading goes on).
    Sleep(Duration),
    /// Wait until the bytes received since the previous `WaitFor`'s match (from the start, for
    /// the first) contain this pattern (reading goes on). Each match ends where the next
    /// search begins, so a client can wait for one response after another by the same bytes.
    WaitFor(Bytes),
    /// Shut down the write side (FIN).
    ShutdownWrite,
    /// Drop the connection at once (turmoil sends RST if data is unread, else FIN).
    Reset,
}

/// The swarm's faults on the client side. Each connection draws whether it gets each, from its
/// own fork, and each is a numbered decision of the connection (see `fault`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClientFaults {
    /// A slow sender: slowloris pace for heads, slow body for bodies.
    pub slow_sender: Option<SlowSender>,
    /// The client gives up mid-response: a reset after reading a drawn number of bytes.
    pub give_up: Option<crate::fault::RandomOffset>,
}

/// A slow sender: with probability `chance`, a connection dribbles the first `bytes` bytes it
/// sends in pieces of 1..=`bytes_max` bytes, `gap` apart (slowloris pace for a head, slow-body
/// pace for a body), then sends the rest at its script's own pace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlowSender {
    /// The probability that a connection sends slowly.
    pub chance: f64,
    /// How many bytes are dribbled.
    pub bytes: usize,
    /// The largest piece.
    pub bytes_max: usize,
    /// The gap between pieces.
    pub gap: Duration,
}

/// The decision numbers of a connection's client-side faults (the server's offset faults take
/// 0 to 2; see `fault`).
pub const SLOW_SENDER_DECISION: u64 = 3;
/// See [`SLOW_SENDER_DECISION`].
pub const GIVE_UP_DECISION: u64 = 4;

/// The most an eager reader takes in one read: its buffer, reused from read to read as a
/// real client's is, so every read may fill it.
const READ_BUF_BYTES: usize = 64 * 1024;

/// What a client needs of the run's swarm: its faults, which decisions may fire, and whether
/// the chaos phase is still on.
#[derive(Clone, Debug)]
pub struct ClientChaos {
    /// The faults.
    pub faults: ClientFaults,
    /// The decisions allowed to fire.
    pub keep: crate::fault::Keep,
    /// The fork the faults draw from.
    pub rng: SimRng,
    /// Chaos on or off.
    pub chaos: crate::fault::Chaos,
}

impl ClientChaos {
    /// Whether decision `n` of connection `conn` may fire.
    fn kept(&self, conn: u32, n: u64) -> bool {
        self.keep
            .as_ref()
            .is_none_or(|keep| keep.contains(&(conn, n)))
    }

    /// Draws this connection's slow sender and give-up point: the same draws whether the
    /// faults are on or not.
    fn draw(&mut self, conn: u32) -> (Option<SlowSender>, Option<u64>) {
        let (slow_roll, give_roll, give_at) = (
            self.rng.range(0..1_000_000u32),
            self.rng.range(0..1_000_000u32),
            self.rng.next_u64(),
        );
        let hit = |chance: f64, roll: u32| f64::from(roll) < chance * 1_000_000.0;
        let slow = self
            .faults
            .slow_sender
            .filter(|s| hit(s.chance, slow_roll) && self.kept(conn, SLOW_SENDER_DECISION));
        let give_up = self
            .faults
            .give_up
            .filter(|g| hit(g.chance, give_roll) && self.kept(conn, GIVE_UP_DECISION))
            .map(|g| 1 + give_at % g.offset_max.max(1));
        (slow, give_up)
    }
}

/// How the client reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadPolicy {
    /// As fast as bytes arrive.
    Eager,
    /// `bytes` per read, one read every `every` (a slow reader).
    Rate {
        /// Bytes per read.
        bytes: usize,
        /// Time between reads.
        every: Duration,
    },
    /// Reads nothing until this much time has passed since connecting, then eagerly.
    After(Duration),
    /// Never reads.
    Never,
}

/// A scripted client: one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientScript {
    /// When to connect, from the start of the run.
    pub start: Duration,
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// How to read.
    pub read: ReadPolicy,
    /// After its actions, wait for the server to close (EOF or error) before finishing.
    pub wait_for_close: bool,
    /// Whether the liveness phase requires it to finish with every request answered.
    pub well_behaved: bool,
    /// Whether it gives back HTTP/2 flow-control window for the DATA it reads.
    pub grants: Grants,
}

/// Whether a scripted client sends WINDOW_UPDATE for the DATA it reads, as HTTP/2 clients do
/// ([`crate::window_grants`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Grants {
    /// Never: a client that reads but never reopens a window (most scripts: their responses
    /// fit in the initial windows).
    #[default]
    Never,
    /// For every stream and the connection.
    All,
    /// For the connection and every stream but this one (a stalled reader on one stream).
    AllBut(u32),
}

impl ClientScript {
    /// A client that connects at once, reads eagerly and waits for the server to close.
    pub fn new() -> ClientScript {
        ClientScript {
            start: Duration::ZERO,
            actions: Vec::new(),
            read: ReadPolicy::Eager,
            wait_for_close: true,
            well_behaved: true,
            grants: Grants::Never,
        }
    }

    /// Sends `bytes` in one segment.
    pub fn send(self, bytes: impl Into<Bytes>) -> ClientScript {
        self.send_in(bytes, Fragments::Whole, Duration::ZERO)
    }

    /// Sends `bytes` cut into `fragments`, `gap` apart.
    pub fn send_in(
        mut self,
        bytes: impl Into<Bytes>,
        fragments: Fragments,
        gap: Duration,
    ) -> ClientScript {
        self.actions.push(Action::Send {
            bytes: bytes.into(),
            fragments,
            gap,
        });
        self
    }

    /// Adds an action.
    pub fn then(mut self, action: Action) -> ClientScript {
        self.actions.push(action);
        self
    }

    /// Reads this way.
    pub fn reading(mut self, read: ReadPolicy) -> ClientScript {
        self.read = read;
        self
    }

    /// Connects this long after the start.
    pub fn starting_at(mut self, start: Duration) -> ClientScript {
        self.start = start;
        self
    }

    /// Marks the client as an attacker or a broken peer: liveness does not require it to finish.
    pub fn misbehaving(mut self) -> ClientScript {
        self.well_behaved = false;
        self
    }

    /// Gives back HTTP/2 window as it reads DATA (see [`Grants`]).
    pub fn granting(mut self, grants: Grants) -> ClientScript {
        self.grants = grants;
        self
    }

    /// Finishes after its actions without waiting for the server to close.
    pub fn not_waiting(mut self) -> ClientScript {
        self.wait_for_close = false;
        self
    }
}

impl Default for ClientScript {
    fn default() -> ClientScript {
        ClientScript::new()
    }
}

/// What a client saw, for the checkers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientLog {
    /// Every byte sent.
    pub sent: Vec<u8>,
    /// Every byte received.
    pub received: Vec<u8>,
    /// The connection ended by EOF from the server.
    pub saw_eof: bool,
    /// The connection ended by an error (reset).
    pub error: Option<String>,
    /// The client itself reset the connection.
    pub reset_by_client: bool,
    /// The client shut down its write side.
    pub shutdown_by_client: bool,
    /// The client finished its script.
    pub finished: bool,
}

/// A primitive step.
#[derive(Debug)]
enum Step {
    Write(Bytes),
    Sleep(Duration),
    WaitFor(Bytes),
    Shutdown,
    Reset,
}

fn expand(actions: &[Action], rng: &mut SimRng, slow: Option<SlowSender>) -> Vec<Step> {
    let mut steps = Vec::new();
    // Bytes the slow sender has still to dribble.
    let mut slow_left = slow.map_or(0, |s| s.bytes);
    for action in actions {
        match action {
            Action::Send {
                bytes,
                fragments,
                gap,
            } => {
                let mut rest = bytes.clone();
                while !rest.is_empty() {
                    let (n, pause) = match slow.filter(|_| slow_left > 0) {
                        Some(slow) => {
                            let n = rng.range(1..=slow.bytes_max.max(1)).min(slow_left);
                            slow_left -= n.min(rest.len());
                            (n, slow.gap.max(*gap))
                        }
                        None => {
                            let n = match fragments {
                                Fragments::Whole => rest.len(),
                                Fragments::Each(n) => (*n).max(1),
                                Fragments::Random { max } => rng.range(1..=(*max).max(1)),
                            };
                            (n, *gap)
                        }
                    };
                    steps.push(Step::Write(rest.split_to(n.min(rest.len()))));
                    if !rest.is_empty() && !pause.is_zero() {
                        steps.push(Step::Sleep(pause));
                    }
                }
            }
            Action::Sleep(d) => steps.push(Step::Sleep(*d)),
            Action::WaitFor(pattern) => steps.push(Step::WaitFor(pattern.clone())),
            Action::ShutdownWrite => steps.push(Step::Shutdown),
            Action::Reset => steps.push(Step::Reset),
        }
    }
    steps
}

/// Runs one scripted client against `server`, recording into the trace as connection `conn`.
pub async fn run_client(
    script: ClientScript,
    server: &str,
    conn: u32,
    mut rng: SimRng,
    (recorder, net, pending): (Recorder, Network, Pending),
    chaos: ClientChaos,
) -> ClientLog {
    let world = (recorder, net, pending.clone());
    let log = run_script(script, server, conn, &mut rng, world, chaos).await;
    // Finished or given up: it waits for nothing of its own any more.
    pending.client(conn, ClientWait::Network);
    log
}

async fn run_script(
    script: ClientScript,
    server: &str,
    conn: u32,
    rng: &mut SimRng,
    (recorder, net, pending): (Recorder, Network, Pending),
    mut chaos: ClientChaos,
) -> ClientLog {
    // Its start is a deadline of its own; connecting, a wait of its own.
    let now = SimTime::now();
    let clock = (now, run_epoch());
    pending.client_until(conn, [Some(now + script.start), None], clock);
    tokio::time::sleep(script.start).await;
    pending.client(conn, ClientWait::Busy);
    let stream = match connect(server).await {
        Ok(stream) => stream,
        Err(e) => {
            let event = ClientEvent::ConnectFailed(e.kind());
            recorder.record(Some(conn), Event::client(event));
            let error = Some(e.kind().to_string());
            return ClientLog {
                error,
                ..ClientLog::default()
            };
        }
    };
    if let Ok(local) = stream.local_addr() {
        net.register_port(local.port(), conn);
    }
    recorder.record(Some(conn), Event::client(ClientEvent::Connected));
    let (slow, give_up) = chaos.draw(conn);
    let slow = slow.filter(|_| chaos.chaos.is_on());
    if let Some(slow) = slow {
        let fault = Fault::SlowSender {
            bytes_max: slow.bytes_max,
            gap_millis: u64::try_from(slow.gap.as_millis()).unwrap_or(u64::MAX),
        };
        let event = Event::Fault {
            fault,
            decision: Some((conn, SLOW_SENDER_DECISION)),
        };
        recorder.record(Some(conn), event);
    }
    let steps = expand(&script.actions, rng, slow);
    let mut client = ClientRun::new(&script, steps, conn, (recorder, net, pending));
    client.give_up_at = give_up;
    client.chaos = Some(chaos.chaos.clone());
    let mut socket = Halves::of(stream);
    loop {
        client.run_immediate_steps(&mut socket.writer).await;
        if client.gives_up() {
            let after_bytes = client.log.received.len() as u64;
            let event = Event::Fault {
                fault: Fault::GaveUp { after_bytes },
                decision: Some((conn, GIVE_UP_DECISION)),
            };
            client.recorder.record(Some(conn), event);
            drop(socket);
            client.log.reset_by_client = true;
            client.note(ClientEvent::Reset);
            client.log.finished = true;
            return client.log;
        }
        if matches!(client.steps.get(client.next), Some(Step::Reset)) {
            drop(socket);
            client.log.reset_by_client = true;
            client.note(ClientEvent::Reset);
            client.log.finished = true;
            return client.log;
        }
        match client.ending() {
            Some(Ending::Finished) => break,
            Some(Ending::Stuck(why)) => {
                client.note(why);
                return client.log;
            }
            None => {}
        }
        let wake = client.wait(&mut socket.reader, &mut socket.writer).await;
        if !client.handle(wake) {
            return client.log;
        }
    }
    client.log.finished = true;
    client.log
}

/// A client's socket in turmoil's own halves (tokio's `split` would lock a mutex on every
/// read and write), which drop as the whole stream does: the read half first (a reset if
/// bytes are left unread, and then no FIN), then the write half (its FIN otherwise). The
/// fields' order is that order (fields drop as declared): swapping them changes traces.
struct Halves {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
}

impl Halves {
    fn of(stream: turmoil::net::TcpStream) -> Halves {
        let (reader, writer) = stream.into_split();
        Halves { reader, writer }
    }
}

/// How a client's loop ends early.
enum Ending {
    /// Its script is done (and the close it waits for came, if it waits).
    Finished,
    /// It can never go on: why.
    Stuck(ClientEvent),
}

/// One client's state while its script runs.
struct ClientRun {
    conn: u32,
    recorder: Recorder,
    net: Network,
    pending: Pending,
    steps: Vec<Step>,
    /// The step being run.
    next: usize,
    /// Where the last `WaitFor`'s match ended in the bytes received: the next one's search
    /// starts there.
    matched_to: usize,
    /// When the current `Sleep` step ends.
    deadline: Option<SimTime>,
    read: ReadPolicy,
    wait_for_close: bool,
    connected: SimTime,
    /// The tokio instant at which the run's clock read zero: notes are stamped from it, as the
    /// server's driver stamps its own (asking turmoil costs three clock reads).
    epoch: SimTime,
    next_read: SimTime,
    read_closed: bool,
    read_buf: BytesMut,
    /// The segments sent, for the FIN rule.
    segments: SentSegments,
    /// Give up (reset) once this many bytes were read, during the chaos phase.
    give_up_at: Option<u64>,
    /// The run's chaos switch, for the give-up fault.
    chaos: Option<crate::fault::Chaos>,
    /// The HTTP/2 window it owes back, when it grants.
    grants: Option<WindowGrants>,
    log: ClientLog,
}

impl ClientRun {
    fn new(
        script: &ClientScript,
        steps: Vec<Step>,
        conn: u32,
        (recorder, net, pending): (Recorder, Network, Pending),
    ) -> ClientRun {
        let read = match script.read {
            // Reading 0 bytes at a time is not reading.
            ReadPolicy::Rate { bytes: 0, .. } => ReadPolicy::Never,
            ref read => read.clone(),
        };
        let connected = SimTime::now();
        let epoch = run_epoch();
        ClientRun {
            conn,
            recorder,
            net,
            pending,
            steps,
            next: 0,
            matched_to: 0,
            deadline: None,
            read,
            wait_for_close: script.wait_for_close,
            connected,
            epoch,
            next_read: connected,
            read_closed: false,
            read_buf: BytesMut::with_capacity(READ_BUF_BYTES),
            segments: SentSegments::new(),
            give_up_at: None,
            chaos: None,
            grants: match script.grants {
                Grants::Never => None,
                Grants::All => Some(WindowGrants::new(None)),
                Grants::AllBut(stream) => Some(WindowGrants::new(Some(stream))),
            },
            log: ClientLog::default(),
        }
    }

    fn note(&self, event: ClientEvent) {
        self.record(Event::client(event));
    }

    /// Records `event` for this connection, stamped from the run's time zero.
    fn record(&self, event: Event) {
        let at = SimTime::now().saturating_duration_since(self.epoch);
        self.recorder.record_at(at, Some(self.conn), event);
    }

    /// Runs the steps that need no waiting: a `WaitFor` already satisfied, a shutdown.
    async fn run_immediate_steps<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) {
        while let Some(step) = self.steps.get(self.next) {
            match step {
                Step::WaitFor(pattern) => {
                    let unmatched = &self.log.received[self.matched_to..];
                    let Some(end) = match_end(unmatched, pattern) else {
                        return;
                    };
                    self.matched_to += end;
                }
                Step::Shutdown if self.log.shutdown_by_client => {
                    // Already shut: turmoil refuses a second shutdown and sends nothing.
                    self.note(ClientEvent::ShutdownWriteAgain);
                }
                Step::Shutdown => {
                    self.hold_fin().await;
                    let event = match writer.shutdown().await {
                        Ok(()) => ClientEvent::ShutdownWrite,
                        Err(e) => ClientEvent::ShutdownWriteFailed(e.kind()),
                    };
                    self.log.shutdown_by_client = true;
                    self.note(event);
                }
                _ => return,
            }
            self.next += 1;
        }
    }

    /// Whether the swarm's give-up fault fires now: it has read enough of the response.
    fn gives_up(&self) -> bool {
        let chaos = self.chaos.as_ref().is_some_and(|c| c.is_on());
        chaos
            && self
                .give_up_at
                .is_some_and(|at| self.log.received.len() as u64 >= at)
    }

    fn ending(&self) -> Option<Ending> {
        let never_reads = self.read_closed || self.read == ReadPolicy::Never;
        if matches!(self.steps.get(self.next), Some(Step::WaitFor(_))) && never_reads {
            // Waiting for bytes that can no longer come: the script cannot finish.
            return Some(Ending::Stuck(ClientEvent::GaveUp));
        }
        let done = self.next >= self.steps.len();
        (done && (never_reads || !self.wait_for_close)).then_some(Ending::Finished)
    }

    /// Waits for the first of: bytes to read (at the read policy's pace), the current write
    /// done, the current sleep over. `biased`, so a run replays.
    async fn wait<R, W>(&mut self, reader: &mut R, writer: &mut W) -> Wake
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let read_len = match &self.read {
            _ if self.read_closed => 0,
            ReadPolicy::Never => 0,
            ReadPolicy::Eager | ReadPolicy::After(_) => READ_BUF_BYTES,
            ReadPolicy::Rate { bytes, .. } => *bytes,
        };
        let read_at = match &self.read {
            ReadPolicy::After(wait) => self.next_read.max(self.connected + *wait),
            _ => self.next_read,
        };
        // Simulated time stands still while the task runs: one reading serves the whole poll.
        let now = SimTime::now();
        let step = self.steps.get(self.next);
        let step_deadline = match step {
            Some(Step::Sleep(d)) => Some(*self.deadline.get_or_insert_with(|| now + *d)),
            _ => None,
        };
        let write = match step {
            Some(Step::Write(bytes)) => Some(bytes.clone()),
            _ => None,
        };
        // Bytes sent that the server has not read may not pass its receive buffer plus our
        // send buffer (see IN_FLIGHT_BYTES_MAX): wait for it to read, a millisecond at a time.
        let in_flight = self.log.sent.len() as u64 - self.net.read(Side::Server, self.conn);
        // Once the server closed its socket, a write meets its reset instead of waiting.
        let gone = self.net.server_closed(self.conn);
        let full = |bytes: &Bytes| {
            !gone && in_flight > 0 && in_flight + bytes.len() as u64 > IN_FLIGHT_BYTES_MAX
        };
        let room_wait = write.as_ref().is_some_and(full);
        let write = write.filter(|_| !room_wait);
        let retry = room_wait.then(|| now + Duration::from_millis(1));
        // Its own deadlines, for the run's quiescence check and its idle spans.
        let read_deadline = (read_len > 0 && read_at > now).then_some(read_at);
        let clock = (now, self.epoch);
        let deadlines = [read_deadline, step_deadline];
        self.pending.client_until(self.conn, deadlines, clock);
        // The buffer's bytes were copied out, so clearing it gives its whole space back.
        self.read_buf.clear();
        self.read_buf.reserve(read_len.min(READ_BUF_BYTES));
        let mut limited = (&mut self.read_buf).limit(read_len);
        let paced = matches!(self.read, ReadPolicy::Rate { .. });
        tokio::select! {
            biased;
            read = async {
                // A deadline a whole millisecond past is ready at a timer's first poll (tokio
                // rounds deadlines up to the millisecond, and its wheel may not have reached
                // the current one yet): only the timer's toll on the task's budget is paid
                // then, so that tasks take turns as they would.
                if read_at + Duration::from_millis(1) <= now {
                    tokio::task::consume_budget().await;
                } else {
                    tokio::time::sleep_until(read_at).await;
                }
                let first = reader.read_buf(&mut limited).await;
                // A paced reader takes up to its bytes of what has arrived, across segments,
                // as a kernel's receive buffer hands it over (a turmoil read returns at most
                // one segment: under write fragments a 16 KiB reader would read a few bytes).
                match first {
                    Ok(n) if n > 0 && paced => Ok(n + read_arrived(reader, &mut limited)),
                    other => other,
                }
            }, if read_len > 0 => Wake::Read(read),
            written = write_all(writer, write.clone().unwrap_or_default()),
                if write.is_some() => Wake::Wrote(written),
            () = sleep_until(step_deadline), if step_deadline.is_some() => Wake::Slept,
            () = sleep_until(retry), if retry.is_some() => Wake::Retry,
            else => Wake::Stuck,
        }
    }

    /// Records what woke the client and moves on; `false` when it cannot go on.
    fn handle(&mut self, wake: Wake) -> bool {
        match wake {
            Wake::Stuck => {
                self.note(ClientEvent::Stuck);
                return false;
            }
            Wake::Read(Ok(0)) => {
                self.read_closed = true;
                self.log.saw_eof = true;
                self.note(ClientEvent::Eof);
            }
            Wake::Read(Ok(_)) => {
                // Copied, not split off: a split-off piece would keep the buffer's space, and the
                // next read would find less room (a read of 1 byte once 64 KiB had been read).
                let bytes = Bytes::copy_from_slice(&self.read_buf);
                self.log.received.extend_from_slice(&bytes);
                self.net.note_read(Side::Client, self.conn, bytes.len());
                let due = match &mut self.grants {
                    Some(grants) => grants.read(&bytes),
                    None => BytesMut::new(),
                };
                self.record(Event::ClientReceived { bytes });
                // Sent next, before the script's own next step; not once its write side is
                // shut (the write would fail and end the script).
                if !due.is_empty() && !self.log.shutdown_by_client {
                    self.steps.insert(self.next, Step::Write(due.freeze()));
                }
                if let ReadPolicy::Rate { every, .. } = &self.read {
                    self.next_read = SimTime::now() + *every;
                }
            }
            Wake::Read(Err(e)) => {
                self.read_closed = true;
                self.note(ClientEvent::ReadError(e.kind()));
                self.log.error = Some(e.kind().to_string());
            }
            Wake::Wrote(Ok(())) => {
                if let Some(Step::Write(bytes)) = self.steps.get(self.next) {
                    self.segments.push(bytes.len());
                    self.log.sent.extend_from_slice(bytes);
                    let bytes = bytes.clone();
                    self.record(Event::ClientSent { bytes });
                }
                self.next += 1;
            }
            Wake::Wrote(Err(e)) => {
                self.note(ClientEvent::WriteError(e.kind()));
                self.log.error.get_or_insert(e.kind().to_string());
                // The server is gone for writing; skip the rest of the sends.
                self.next = self.steps.len();
            }
            Wake::Slept => {
                self.deadline = None;
                self.next += 1;
            }
            Wake::Retry => {}
        }
        true
    }
}

impl ClientRun {
    /// Holds the client's FIN while turmoil would lose it (see [`SentSegments`]); noted once.
    async fn hold_fin(&mut self) {
        self.pending.client(self.conn, ClientWait::Busy);
        let (net, conn) = (self.net.clone(), self.conn);
        let (segments, recorder) = (&mut self.segments, &self.recorder);
        let mut noted = false;
        hold_fin(|| {
            let full = segments.fin_would_be_lost(net.read(Side::Server, conn));
            if full && !noted {
                noted = true;
                let fault = Fault::FinHeld {
                    sender: Side::Client,
                };
                recorder.record(Some(conn), Event::fault(fault));
            }
            full
        })
        .await;
    }
}

enum Wake {
    Stuck,
    /// The server's receive buffer was full: look again.
    Retry,
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<()>),
    Slept,
}

/// Reads what has already arrived into `buf`, without waiting: the bytes read.
fn read_arrived<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut impl BufMut) -> usize {
    let mut total = 0;
    while buf.has_remaining_mut() {
        let mut read = std::pin::pin!(reader.read_buf(&mut *buf));
        let waker = std::task::Waker::noop();
        match read
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(Ok(n)) if n > 0 => total += n,
            _ => return total,
        }
    }
    total
}

/// One write is one segment in turmoil and is never partial; `write_all` keeps it correct for
/// any stream anyway.
async fn write_all<W: tokio::io::AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: Bytes,
) -> std::io::Result<()> {
    writer.write_all(&bytes).await
}

async fn sleep_until(deadline: Option<SimTime>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The client host's clock at the start of the run: what its deadlines are counted from.
fn run_epoch() -> SimTime {
    // Invariant: a client runs inside turmoil's client host, whose clock has run at least as
    // long as the run (it started with the run).
    let run_time = turmoil::sim_elapsed().expect("a client runs in a host");
    let epoch = SimTime::now().checked_sub(run_time);
    epoch.expect("the host clock started with the run")
}

/// Connects, retrying while the server is not listening yet (turmoil answers a SYN that
/// arrives before the bind with `ConnectionRefused`, notes/turmoil.md A2.5).
async fn connect(server: &str) -> std::io::Result<turmoil::net::TcpStream> {
    let mut attempts = 0;
    loop {
        match turmoil::net::TcpStream::connect(server).await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Where the first occurrence of `needle` in `haystack` ends (0 for an empty needle).
fn match_end(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle).map(|start| start + needle.len())
}

/// Well-known client shapes, so scenarios read as what they are.
impl ClientScript {
    /// A keep-alive client: each request in its own segment, `gap` apart; the last one should
    /// carry `Connection: close` if the client is to see the server close.
    pub fn keep_alive<I: IntoIterator<Item = B>, B: Into<Bytes>>(
        requests: I,
        gap: Duration,
    ) -> ClientScript {
        let mut script = ClientScript::new();
        for (i, request) in requests.into_iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                script = script.then(Action::Sleep(gap));
            }
            script = script.send(request);
        }
        script
    }

    /// A keep-alive client that sends each request only once the previous one's response has
    /// arrived: once `response_end` has been received again. It must occur exactly once in
    /// every response and end it (a body known in advance; `\r\n\r\n` only when no body
    /// is chunked, since a chunked one ends with it too). The last request should carry
    /// `Connection: close` if the client is to see the server close.
    pub fn in_turn<I: IntoIterator<Item = B>, B: Into<Bytes>>(
        requests: I,
        response_end: impl Into<Bytes>,
    ) -> ClientScript {
        let response_end = response_end.into();
        let mut script = ClientScript::new();
        for (i, request) in requests.into_iter().enumerate() {
            if i > 0 {
                script = script.then(Action::WaitFor(response_end.clone()));
            }
            script = script.send(request);
        }
        script
    }

    /// A pipelining client: every request in one segment.
    pub fn pipelining<I: IntoIterator<Item = B>, B: AsRef<[u8]>>(requests: I) -> ClientScript {
        let mut all = Vec::new();
        for request in requests {
            all.extend_from_slice(request.as_ref());
        }
        ClientScript::new().send(all)
    }

    /// Slowloris: the head dribbled `bytes_per_send` at a time, `gap` apart, never finishing
    /// unless `head` is complete. An attacker.
    pub fn slowloris(head: impl Into<Bytes>, bytes_per_send: usize, gap: Duration) -> ClientScript {
        ClientScript::new()
            .send_in(head, Fragments::Each(bytes_per_send), gap)
            .misbehaving()
    }

    /// Slow body (R.U.D.Y.): a complete head, then the body dribbled. An attacker.
    pub fn slow_body(
        head: impl Into<Bytes>,
        body: impl Into<Bytes>,
        bytes_per_send: usize,
        gap: Duration,
    ) -> ClientScript {
        ClientScript::new()
            .send(head)
            .send_in(body, Fragments::Each(bytes_per_send), gap)
            .misbehaving()
    }

    /// Slow read: sends `request`, then reads `bytes` every `every`.
    pub fn slow_read(request: impl Into<Bytes>, bytes: usize, every: Duration) -> ClientScript {
        ClientScript::new()
            .send(request)
            .reading(ReadPolicy::Rate { bytes, every })
    }
}
