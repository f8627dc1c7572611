//! Scripted raw-byte clients, described as data: send these bytes in these fragments with
//! these gaps, read at this rate, shut down the write side here, reset here, wait for EOF.
//!
//! A script is expanded into primitive steps once, before it runs (random fragment sizes come
//! from the client's own seeded fork), so a run is a pure function of the seed. Each client is a
//! connection inside the one client host: turmoil's cost grows with hosts, not connections.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
// Simulated time: tokio's clock, which turmoil drives (never the wall clock).
use tokio::time::Instant as SimTime;

use crate::rng::SimRng;
use crate::trace::{Event, Recorder};

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
    /// Wait until the bytes received so far contain this pattern (reading goes on).
    WaitFor(Bytes),
    /// Shut down the write side (FIN).
    ShutdownWrite,
    /// Drop the connection at once (turmoil sends RST if data is unread, else FIN).
    Reset,
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

fn expand(actions: &[Action], rng: &mut SimRng) -> Vec<Step> {
    let mut steps = Vec::new();
    for action in actions {
        match action {
            Action::Send {
                bytes,
                fragments,
                gap,
            } => {
                let mut rest = bytes.clone();
                while !rest.is_empty() {
                    let n = match fragments {
                        Fragments::Whole => rest.len(),
                        Fragments::Each(n) => (*n).max(1),
                        Fragments::Random { max } => rng.range(1..=(*max).max(1)),
                    };
                    steps.push(Step::Write(rest.split_to(n.min(rest.len()))));
                    if !rest.is_empty() && !gap.is_zero() {
                        steps.push(Step::Sleep(*gap));
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
    recorder: Recorder,
) -> ClientLog {
    let mut log = ClientLog::default();
    let record = |event| recorder.record(Some(conn), event);
    tokio::time::sleep(script.start).await;
    let stream = match connect(server).await {
        Ok(stream) => stream,
        Err(e) => {
            record(Event::Client {
                what: format!("connect failed: {e}"),
            });
            log.error = Some(e.kind().to_string());
            return log;
        }
    };
    if let Ok(local) = stream.local_addr() {
        recorder.register_port(local.port(), conn);
    }
    record(Event::Client {
        what: "connected".into(),
    });
    let connected = SimTime::now();
    let steps = expand(&script.actions, &mut rng);
    // Where each segment sent starts, while the server may not have begun to read it.
    let mut segments: VecDeque<u64> = VecDeque::new();
    let read_policy = match script.read {
        // Reading 0 bytes at a time is not reading.
        ReadPolicy::Rate { bytes: 0, .. } => ReadPolicy::Never,
        ref read => read.clone(),
    };
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut next = 0;
    let mut deadline: Option<SimTime> = None;
    let mut read_buf = BytesMut::with_capacity(64 * 1024);
    let mut next_read = connected;
    let mut read_closed = false;
    loop {
        // Steps that need no waiting run at once.
        while let Some(step) = steps.get(next) {
            match step {
                Step::WaitFor(pattern) if contains(&log.received, pattern) => next += 1,
                Step::Shutdown if log.shutdown_by_client => {
                    // Already shut: turmoil refuses a second shutdown and sends nothing.
                    record(Event::Client {
                        what: "shutdown write again: nothing sent".into(),
                    });
                    next += 1;
                }
                Step::Shutdown => {
                    hold_fin(&recorder, conn, &mut segments).await;
                    let what = match writer.shutdown().await {
                        Ok(()) => "shutdown write (FIN)".to_string(),
                        Err(e) => format!("shutdown write failed: {}", e.kind()),
                    };
                    log.shutdown_by_client = true;
                    record(Event::Client { what });
                    next += 1;
                }
                _ => break,
            }
        }
        if matches!(steps.get(next), Some(Step::Reset)) {
            drop(reader.unsplit(writer));
            log.reset_by_client = true;
            record(Event::Client {
                what: "reset".into(),
            });
            log.finished = true;
            return log;
        }
        let blocked_on_read = matches!(steps.get(next), Some(Step::WaitFor(_)))
            && (read_closed || read_policy == ReadPolicy::Never);
        if blocked_on_read {
            // Waiting for bytes that can no longer come: the script cannot finish.
            record(Event::Client {
                what: "gave up waiting: nothing more can arrive".into(),
            });
            return log;
        }
        let done_steps = next >= steps.len();
        if done_steps && (read_closed || !script.wait_for_close || read_policy == ReadPolicy::Never)
        {
            break;
        }
        let read_len = match &read_policy {
            _ if read_closed => 0,
            ReadPolicy::Never => 0,
            ReadPolicy::Eager | ReadPolicy::After(_) => read_buf.capacity().max(1),
            ReadPolicy::Rate { bytes, .. } => *bytes,
        };
        let read_at = match &read_policy {
            ReadPolicy::After(wait) => next_read.max(connected + *wait),
            _ => next_read,
        };
        let wake = {
            let step = steps.get(next);
            let step_deadline = match step {
                Some(Step::Sleep(d)) => Some(*deadline.get_or_insert_with(|| SimTime::now() + *d)),
                _ => None,
            };
            let write = match step {
                Some(Step::Write(bytes)) => Some(bytes.clone()),
                _ => None,
            };
            read_buf.clear();
            let mut limited = (&mut read_buf).limit(read_len);
            tokio::select! {
                biased;
                read = async {
                    tokio::time::sleep_until(read_at).await;
                    reader.read_buf(&mut limited).await
                }, if read_len > 0 => Wake::Read(read),
                written = write_all(&mut writer, write.clone().unwrap_or_default()),
                    if write.is_some() => Wake::Wrote(written),
                () = sleep_until(step_deadline), if step_deadline.is_some() => Wake::Slept,
                else => Wake::Stuck,
            }
        };
        match wake {
            Wake::Stuck => {
                record(Event::Client {
                    what: "stuck: nothing to read, write or wait for".into(),
                });
                return log;
            }
            Wake::Read(Ok(0)) => {
                read_closed = true;
                log.saw_eof = true;
                record(Event::Client { what: "EOF".into() });
            }
            Wake::Read(Ok(_)) => {
                let bytes = read_buf.split().freeze();
                log.received.extend_from_slice(&bytes);
                recorder.note_client_read(conn, bytes.len());
                record(Event::ClientReceived { bytes });
                if let ReadPolicy::Rate { every, .. } = &read_policy {
                    next_read = SimTime::now() + *every;
                }
            }
            Wake::Read(Err(e)) => {
                read_closed = true;
                record(Event::Client {
                    what: format!("read error: {}", e.kind()),
                });
                log.error = Some(e.kind().to_string());
            }
            Wake::Wrote(Ok(())) => {
                if let Some(Step::Write(bytes)) = steps.get(next) {
                    segments.push_back(log.sent.len() as u64);
                    log.sent.extend_from_slice(bytes);
                    record(Event::ClientSent {
                        bytes: bytes.clone(),
                    });
                }
                next += 1;
            }
            Wake::Wrote(Err(e)) => {
                record(Event::Client {
                    what: format!("write error: {}", e.kind()),
                });
                log.error.get_or_insert(e.kind().to_string());
                // The server is gone for writing; skip the rest of the sends.
                next = steps.len();
            }
            Wake::Slept => {
                deadline = None;
                next += 1;
            }
        }
    }
    log.finished = true;
    log
}

enum Wake {
    Stuck,
    Read(std::io::Result<usize>),
    Wrote(std::io::Result<()>),
    Slept,
}

/// Holds a FIN that turmoil 0.7.2 would lose: it takes no send credit, so it can reach a full
/// receive queue on the server, where turmoil parks it until another segment arrives (never,
/// after a FIN). Waits, within a bound, until the server has begun to read enough of what was
/// sent; noted once in the trace.
async fn hold_fin(recorder: &Recorder, conn: u32, segments: &mut VecDeque<u64>) {
    let mut noted = false;
    for _ in 0..FIN_HOLD_MS_MAX {
        let read = recorder.server_read(conn);
        while segments.front().is_some_and(|&start| start < read) {
            segments.pop_front();
        }
        if segments.len() + 1 < crate::run::TCP_CAPACITY {
            return;
        }
        if !noted {
            noted = true;
            let what = "FIN held until the server reads: turmoil would lose it".to_string();
            recorder.record(Some(conn), Event::Fault { what });
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Longest a client's FIN waits for the server to make room.
const FIN_HOLD_MS_MAX: u64 = 30_000;

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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
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
