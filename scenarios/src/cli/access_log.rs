//! The access log of `twine serve` and `twine proxy`: one line per request once its fate is
//! known (finished, aborted, lost, or refused as malformed).
//!
//! Each connection's [`ConnectionLog`] is the driver's observer: it follows the request
//! events and the app's commands, and formats a line when a request ends, straight into one
//! shared buffer (a short lock, no system call). A writer thread takes the whole buffer every
//! [`FLUSH_INTERVAL`], or sooner once it holds [`BATCH_BYTES`], and writes it: a connection
//! never waits on the log's file, and a busy server makes one `write` per batch, not one per
//! line and no wake-up per line (nginx's `access_log ... buffer= flush=`). A log that cannot
//! keep up is bounded: past [`BUFFERED_BYTES_MAX`] lines are dropped and counted.
//!
//! Invariants:
//! - *One line per request* that reached the app (a request head parsed), and one per
//!   malformed request the channel refused; never two for the same request.
//! - *Nothing a client sent is written raw*: the request line is escaped (`\xNN` for bytes
//!   outside printable ASCII, and for `"` and `\`), so a log line is one line.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use tracing::{debug, info, warn};
use twine_driver::Observer;

use super::recording::{ConnectionRecording, Recorder};
use twine_engine::{
    AppCommand, CloseReason, Event, Input, Instant, Output, RequestId, Timer, TimerChange, Version,
};

/// Most time a line waits in the buffer before it is written.
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// A buffer this full is written at once.
const BATCH_BYTES: usize = 64 * 1024;

/// Lines buffered while the writer is behind, at most; past it they are dropped and counted.
const BUFFERED_BYTES_MAX: usize = 16 * 1024 * 1024;

/// How access log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AccessLogFormat {
    /// The Common Log Format, then the duration and the outcome:
    /// `PEER - - [TIME] "REQUEST LINE" STATUS BYTES DURATIONus OUTCOME`.
    Common,
    /// One JSON object per line.
    Json,
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// The app finished the response.
    Complete,
    /// The app aborted the response.
    Aborted,
    /// The connection ended (or the request body was malformed) before the response was done.
    Lost,
    /// The channel refused the request as malformed and answered it itself.
    Refused,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Aborted => "aborted",
            Outcome::Lost => "lost",
            Outcome::Refused => "refused",
        }
    }
}

/// One finished request, as logged.
#[derive(Debug, Serialize)]
struct Record<'a> {
    peer: &'a str,
    /// Unix time in milliseconds when the request head arrived.
    time_unix_ms: u64,
    request: &'a str,
    /// The final status, if a head was sent.
    status: Option<u16>,
    /// Response body bytes the app handed over.
    bytes: u64,
    duration_us: u64,
    outcome: Outcome,
}

/// The shared end: where lines go, and the wall-clock time of the engine's `Instant::ZERO`.
#[derive(Clone, Debug)]
pub(crate) struct AccessLog {
    shared: Arc<Shared>,
    format: AccessLogFormat,
    origin_unix_ms: u64,
}

/// The buffer between the connections and the writer thread.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<Buffered>,
    /// Signalled when the buffer passes `BATCH_BYTES` and when the server stops.
    wake: Condvar,
}

#[derive(Debug, Default)]
struct Buffered {
    lines: Vec<u8>,
    /// Lines dropped since the writer last said so.
    dropped: u64,
    /// The server stopped: write what is left and end.
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Buffered> {
        // A connection that panicked while appending left a line cut short at worst.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer thread; [`LogWriter::finish`] writes every line logged so far and ends it.
#[derive(Debug)]
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
    thread: JoinHandle<io::Result<()>>,
}

/// Where `--access-log` writes: a file (appended to) or standard output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LogTarget {
    Stdout,
    File(PathBuf),
}

impl std::fmt::Display for LogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogTarget::Stdout => f.write_str("-"),
            LogTarget::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl std::str::FromStr for LogTarget {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<LogTarget, Self::Err> {
        Ok(match value {
            "-" => LogTarget::Stdout,
            path => LogTarget::File(PathBuf::from(path)),
        })
    }
}

impl AccessLog {
    /// Opens `target` and starts the writer thread. A file that cannot be opened is an error
    /// here, before the server starts.
    pub(crate) fn open(
        target: &LogTarget,
        format: AccessLogFormat,
        origin_unix_ms: u64,
    ) -> io::Result<(AccessLog, LogWriter)> {
        let out: Box<dyn Write + Send> = match target {
            LogTarget::Stdout => Box::new(io::stdout()),
            LogTarget::File(path) => {
                Box::new(OpenOptions::new().create(true).append(true).open(path)?)
            }
        };
        let shared = Arc::new(Shared::default());
        let writer_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_batches(&writer_shared, out))?;
        let log = AccessLog {
            shared: Arc::clone(&shared),
            format,
            origin_unix_ms,
        };
        Ok((log, LogWriter { shared, thread }))
    }

    /// Appends one formatted line (`line` ends with its newline) under a short lock.
    fn append(&self, line: &[u8]) {
        let mut buffered = self.shared.lock();
        if buffered.lines.len() > BUFFERED_BYTES_MAX {
            buffered.dropped += 1;
            return;
        }
        buffered.lines.extend_from_slice(line);
        if buffered.lines.len() >= BATCH_BYTES {
            self.shared.wake.notify_one();
        }
    }

    /// The observer for one connection from `peer`.
    pub(crate) fn connection(&self, peer: SocketAddr) -> ConnectionLog {
        ConnectionLog {
            peer,
            recording: None,
            logging: Some(Box::new(Logging {
                log: self.clone(),
                peer_text: peer.to_string(),
                scratch: Vec::new(),
                clf_time: None,
                open: Vec::new(),
            })),
        }
    }
}

impl LogWriter {
    /// Writes every line logged so far and ends the writer.
    pub(crate) fn finish(self) -> io::Result<()> {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the access log writer panicked")))
    }
}

/// Writes the buffer every `FLUSH_INTERVAL`, or once it passes `BATCH_BYTES`, until closed.
fn write_batches(shared: &Shared, out: Box<dyn Write + Send>) -> io::Result<()> {
    let mut out = out;
    // Swapped with the shared buffer, so both allocations are reused batch after batch.
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    loop {
        let (closed, dropped) = {
            let buffered = shared.lock();
            let (mut buffered, _) = shared
                .wake
                .wait_timeout_while(buffered, FLUSH_INTERVAL, |b| {
                    b.lines.len() < BATCH_BYTES && !b.closed
                })
                .unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut batch, &mut buffered.lines);
            (buffered.closed, std::mem::take(&mut buffered.dropped))
        };
        if dropped > 0 {
            warn!("the access log fell behind: {dropped} lines dropped");
        }
        if !batch.is_empty() {
            out.write_all(&batch)?;
            out.flush()?;
            batch.clear();
        }
        if closed {
            return Ok(());
        }
    }
}

/// A request between its head and its end.
#[derive(Debug)]
struct Open {
    /// When its head arrived, in engine time (the `Date` clock, for the logged time).
    start: Instant,
    /// When its head arrived, by the monotonic clock, for the duration: engine time stands
    /// still within one turn of the driver, and a quick response is served in one turn.
    started: std::time::Instant,
    request_line: String,
    status: Option<u16>,
    bytes: u64,
}

/// One connection's observer: logs each request when it ends (with an access log), and a
/// client being timed out (Twisted's "Timing out client").
#[derive(Debug)]
pub(crate) struct ConnectionLog {
    peer: SocketAddr,
    /// What logging requests takes, boxed: a server without an access log keeps only the
    /// peer per connection (an idle connection's cost is its future's size).
    logging: Option<Box<Logging>>,
    /// `--record`: the client's inputs, written out when the connection ends.
    recording: Option<Box<ConnectionRecording>>,
}

/// One connection's share of the access log.
#[derive(Debug)]
struct Logging {
    log: AccessLog,
    /// The peer as logged, formatted once.
    peer_text: String,
    /// The line being formatted, outside the shared lock; its capacity is kept.
    scratch: Vec<u8>,
    /// The last second formatted for the CLF time, and its text.
    clf_time: Option<(u64, String)>,
    /// Requests between their head and their end, oldest first: a few at most (the
    /// pipeline depth, or HTTP/2's concurrent streams), so a list searched from the front,
    /// whose capacity stays, costs less per request than a map's nodes.
    open: Vec<(RequestId, Open)>,
}

impl ConnectionLog {
    /// The observer of a connection from `peer` on a server without an access log.
    pub(crate) fn off(peer: SocketAddr) -> ConnectionLog {
        ConnectionLog {
            peer,
            logging: None,
            recording: None,
        }
    }

    /// Records the connection's inputs from its client (`--record`), from its accept at
    /// `accepted`.
    pub(crate) fn record_into(&mut self, recorder: &Recorder, accepted: Instant) {
        self.recording = Some(recorder.connection(self.peer, accepted));
    }

    /// The connection closed, at `debug`. Out of line, as the timer's: the per-output path
    /// stays small enough to inline into the driver's loop (it runs for every output, logging
    /// or not).
    #[cold]
    fn on_close(&self, reason: CloseReason) {
        debug!(peer = %self.peer, "connection closed ({reason:?})");
    }

    /// A timer fired: reported at `info` when the client was too slow (its head, its body,
    /// reading our response, the lingering close's abort): the connection is being timed out;
    /// at `debug` when the timer is the usual end (an idle keep-alive connection, a finished
    /// lingering close).
    #[cold]
    fn on_timer_fired(&self, timer: Timer) {
        let peer = self.peer;
        match timer {
            Timer::IdleKeepAlive | Timer::Linger => debug!(%peer, "{} timer fired", timer.name()),
            _ => info!(%peer, "timing out client: {} timer", timer.name()),
        }
    }
}

impl Logging {
    /// What a request's log line counts: its status, its body bytes, and its end. Out of
    /// line, so that the observer's per-input path stays small.
    #[inline(never)]
    fn on_command(&mut self, command: &AppCommand) {
        match command {
            AppCommand::SendHead { request, head } => {
                if let Some(open) = self.open_mut(*request) {
                    open.status = Some(head.status);
                }
            }
            AppCommand::SendBody { request, data } => {
                if let Some(open) = self.open_mut(*request) {
                    open.bytes += data.len() as u64;
                }
            }
            AppCommand::SendBodyParts { request, parts } => {
                if let Some(open) = self.open_mut(*request) {
                    open.bytes += parts.iter().map(|p| p.len() as u64).sum::<u64>();
                }
            }
            AppCommand::Finish { request } => self.end(*request, Outcome::Complete),
            AppCommand::Respond {
                request,
                head,
                body,
            } => {
                if let Some(open) = self.open_mut(*request) {
                    open.status = Some(head.status);
                    open.bytes += body.len() as u64;
                }
                self.end(*request, Outcome::Complete);
            }
            AppCommand::Abort { request } => self.end(*request, Outcome::Aborted),
            _ => {}
        }
    }

    /// Requests open with their head and end with an error or their loss. Out of line, as
    /// `on_command`.
    #[inline(never)]
    fn on_event(&mut self, now: Instant, event: &Event) {
        match event {
            Event::Request { id, head } => {
                let line = request_line(head.method.as_bytes(), &head.target, head.version);
                let open = Open {
                    start: now,
                    started: std::time::Instant::now(),
                    request_line: line,
                    status: None,
                    bytes: 0,
                };
                self.open.push((*id, open));
            }
            Event::Lost { id } => self.end(*id, Outcome::Lost),
            Event::ProtocolError { id, error } => {
                let open = id.and_then(|id| self.take_open(id)).unwrap_or(Open {
                    start: now,
                    started: std::time::Instant::now(),
                    request_line: "-".to_owned(),
                    status: None,
                    bytes: 0,
                });
                let open = Open {
                    status: Some(error.status),
                    ..open
                };
                self.write(open, Outcome::Refused);
            }
            _ => {}
        }
    }

    fn end(&mut self, id: RequestId, outcome: Outcome) {
        if let Some(open) = self.take_open(id) {
            self.write(open, outcome);
        }
    }

    fn open_mut(&mut self, id: RequestId) -> Option<&mut Open> {
        self.open
            .iter_mut()
            .find_map(|(open_id, open)| (*open_id == id).then_some(open))
    }

    fn take_open(&mut self, id: RequestId) -> Option<Open> {
        let index = self.open.iter().position(|(open_id, _)| *open_id == id)?;
        Some(self.open.remove(index).1)
    }

    fn write(&mut self, open: Open, outcome: Outcome) {
        let Logging {
            log,
            peer_text,
            scratch,
            clf_time,
            ..
        } = self;
        let elapsed = open.started.elapsed();
        let record = Record {
            peer: peer_text,
            time_unix_ms: log.origin_unix_ms + millis(open.start.since_epoch()),
            request: &open.request_line,
            status: open.status,
            bytes: open.bytes,
            duration_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            outcome,
        };
        scratch.clear();
        match log.format {
            AccessLogFormat::Common => {
                let secs = record.time_unix_ms / 1000;
                if clf_time.as_ref().is_none_or(|(cached, _)| *cached != secs) {
                    let mut text = Vec::with_capacity(26);
                    write_clf_time(&mut text, secs);
                    let text = String::from_utf8(text).expect("the time is ASCII");
                    *clf_time = Some((secs, text));
                }
                let time = clf_time.as_ref().map_or("", |(_, text)| text.as_str());
                write_common(scratch, &record, time);
            }
            AccessLogFormat::Json => write_json(scratch, &record),
        }
        log.append(scratch);
    }
}

// Both run for every input and output, logging or not: inlined, a connection without an
// access log pays a match for them and no call.
impl Observer for ConnectionLog {
    #[inline]
    fn on_input(&mut self, input: &Input<'_>) {
        if let Some(recording) = self.recording.as_deref_mut() {
            recording.input(input);
        }
        let (Some(logging), Input::App { command, .. }) = (self.logging.as_deref_mut(), input)
        else {
            return;
        };
        logging.on_command(command);
    }

    #[inline]
    fn on_output(&mut self, now: Instant, output: &Output) {
        match output {
            Output::Event(event) => {
                if let Some(logging) = self.logging.as_deref_mut() {
                    logging.on_event(now, event);
                }
            }
            Output::Timer {
                timer,
                change: TimerChange::Fired,
            } => self.on_timer_fired(*timer),
            Output::Close(reason) => {
                self.on_close(*reason);
                if let Some(recording) = self.recording.take() {
                    recording.finish();
                }
            }
            _ => {}
        }
    }
}

/// A connection that ends without the channel's close (the server stopped first) still
/// leaves its recording.
impl Drop for ConnectionLog {
    fn drop(&mut self) {
        if let Some(recording) = self.recording.take() {
            recording.finish();
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `METHOD TARGET VERSION`, escaped.
fn request_line(method: &[u8], target: &[u8], version: Version) -> String {
    let mut line = String::with_capacity(method.len() + target.len() + 10);
    escape_into(&mut line, method);
    line.push(' ');
    escape_into(&mut line, target);
    line.push(' ');
    line.push_str(version.as_str());
    line
}

/// Appends `bytes`, printable ASCII as it is except `"` and `\`, everything else as `\xNN`.
fn escape_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

/// Appends a CLF line (its time already formatted: `time`), then the duration and the
/// outcome. Byte pushes, not `fmt`: this runs once per request.
fn write_common(out: &mut Vec<u8>, record: &Record<'_>, time: &str) {
    out.extend_from_slice(record.peer.as_bytes());
    out.extend_from_slice(b" - - [");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"] \"");
    out.extend_from_slice(record.request.as_bytes());
    out.extend_from_slice(b"\" ");
    match record.status {
        Some(status) => push_decimal(out, u64::from(status)),
        None => out.push(b'-'),
    }
    out.push(b' ');
    push_decimal(out, record.bytes);
    out.push(b' ');
    push_decimal(out, record.duration_us);
    out.extend_from_slice(b"us ");
    out.extend_from_slice(record.outcome.name().as_bytes());
    out.push(b'\n');
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends a JSON object and a newline.
fn write_json(out: &mut Vec<u8>, record: &Record<'_>) {
    serde_json::to_writer(&mut *out, record).expect("a record always serialises");
    out.push(b'\n');
}

/// Appends `04/Dec/2026:19:04:44 +0000` for a Unix time in seconds (UTC).
fn write_clf_time(out: &mut Vec<u8>, unix_secs: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    let secs = unix_secs % 86_400;
    let _ = write!(
        out,
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[usize::from(month - 1)],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: Outcome, status: Option<u16>) -> Record<'static> {
        Record {
            peer: "127.0.0.1:40000",
            time_unix_ms: 1_796_411_084_250,
            request: "GET /a%20b HTTP/1.1",
            status,
            bytes: 12,
            duration_us: 153,
            outcome,
        }
    }

    fn common_line(record: &Record<'_>) -> String {
        let mut out = Vec::new();
        write_common(&mut out, record, &clf_time(record.time_unix_ms / 1000));
        String::from_utf8(out).expect("UTF-8")
    }

    fn json_line(record: &Record<'_>) -> String {
        let mut out = Vec::new();
        write_json(&mut out, record);
        String::from_utf8(out).expect("UTF-8")
    }

    fn clf_time(unix_secs: u64) -> String {
        let mut out = Vec::new();
        write_clf_time(&mut out, unix_secs);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn common_lines_are_clf_then_duration_and_outcome() {
        assert_eq!(
            common_line(&record(Outcome::Complete, Some(200))),
            "127.0.0.1:40000 - - [04/Dec/2026:19:04:44 +0000] \"GET /a%20b HTTP/1.1\" 200 12 \
             153us complete\n"
        );
        assert_eq!(
            common_line(&record(Outcome::Lost, None)),
            "127.0.0.1:40000 - - [04/Dec/2026:19:04:44 +0000] \"GET /a%20b HTTP/1.1\" - 12 \
             153us lost\n"
        );
    }

    #[test]
    fn json_lines_are_one_object() {
        assert_eq!(
            json_line(&record(Outcome::Aborted, Some(200))),
            "{\"peer\":\"127.0.0.1:40000\",\"time_unix_ms\":1796411084250,\"request\":\
             \"GET /a%20b HTTP/1.1\",\"status\":200,\"bytes\":12,\"duration_us\":153,\
             \"outcome\":\"aborted\"}\n"
        );
    }

    #[test]
    fn request_lines_never_carry_raw_bytes() {
        let line = request_line(b"GET", b"/\"q\"\\\x1b[31m\n\xff", Version::Http11);
        assert_eq!(line, "GET /\\x22q\\x22\\x5C\\x1B[31m\\x0A\\xFF HTTP/1.1");
    }

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 404, 1_796_411_084_250, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(951_782_400), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(clf_time(1_796_411_084), "04/Dec/2026:19:04:44 +0000");
        // 2100 is not a leap year.
        assert_eq!(clf_time(4_107_542_399), "28/Feb/2100:23:59:59 +0000");
        assert_eq!(clf_time(4_107_542_400), "01/Mar/2100:00:00:00 +0000");
        assert_eq!(clf_time(4_133_980_799), "31/Dec/2100:23:59:59 +0000");
    }
}
