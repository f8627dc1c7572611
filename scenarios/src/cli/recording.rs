//! `twine serve --record DIR` and `twine replay --recording FILE` (DESIGN.md §7): a live
//! connection's inputs from its client, kept in a file, become a run of the simulation, so a
//! production incident is replayed like a seed.
//!
//! A recording is text, one line a step:
//!
//! ```text
//! # twine recording 1
//! arg --app
//! arg echo
//! peer 127.0.0.1:51234
//! at 0.000 received "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
//! at 12.500 eof
//! ```
//!
//! The `arg` lines are the `twine serve` flags the server ran with (so the replay runs the
//! same app with the same limits and timers; a static app's directory made absolute); each
//! `at` line is a time in milliseconds since the connection was accepted, then what its client
//! did: bytes the server read (escaped as the trace escapes them, `twine_sim::escape`), or
//! its FIN. The replay is a scripted client that sends those bytes at those times and reads
//! as fast as it can: the client's own reading pace is not recorded (the server saw it only
//! as backpressure). It is judged as a misbehaving client: safety checks hold, but nothing
//! says the recorded client meant to finish what it started.
//!
//! A connection's recording is written when it closes (a few KiB for most: the bytes it read
//! and a line per read; at most [`RECORDED_BYTES_MAX`] bytes of it, then a line saying the
//! rest was cut), on tokio's blocking pool, as `DIR/conn-PID-N.twinerec`: the server's process
//! id, and N counting from 0, so another run of the server never overwrites a recording.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use twine_engine::{Input, Instant};
use twine_sim::escape::{escape_all, unescape_all};
use twine_sim::{Action, ClientScript, Fragments, Scenario};

use super::serve::{simulated_app, ServeArgs};
use super::Failure;

/// The first line of every recording.
const MAGIC: &str = "# twine recording 1";

/// The client bytes a recording keeps, at most: an upload of gigabytes is recorded as its
/// beginning (escaped bytes take up to four times their size in the file).
const RECORDED_BYTES_MAX: usize = 16 << 20;

/// Hands out each connection's recording: the directory, the server's flags, the count.
#[derive(Debug)]
pub(crate) struct Recorder {
    dir: PathBuf,
    /// The `twine serve` flags, as `arg` lines: written once, copied into each recording.
    args_text: String,
    next: AtomicU64,
}

impl Recorder {
    /// Records into `dir` (created if missing) the connections of a server run with `args`.
    pub(crate) fn new(dir: &Path, args: &[String]) -> Result<Arc<Recorder>, Failure> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::usage(format!("cannot record into {}: {e}", dir.display())))?;
        let mut args_text = String::new();
        for arg in args {
            let _ = writeln!(args_text, "arg {arg}");
        }
        Ok(Arc::new(Recorder {
            dir: dir.to_path_buf(),
            args_text,
            next: AtomicU64::new(0),
        }))
    }

    /// The recording of the next connection, from `peer`, accepted at `accepted`.
    pub(crate) fn connection(
        &self,
        peer: std::net::SocketAddr,
        accepted: Instant,
    ) -> Box<ConnectionRecording> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut text = format!("{MAGIC}\n{}", self.args_text);
        let _ = writeln!(text, "peer {peer}");
        let name = format!("conn-{}-{n}.twinerec", std::process::id());
        Box::new(ConnectionRecording {
            path: self.dir.join(name),
            text,
            accepted,
            bytes_left: RECORDED_BYTES_MAX,
        })
    }
}

/// One connection's recording, being written.
#[derive(Debug)]
pub(crate) struct ConnectionRecording {
    path: PathBuf,
    text: String,
    /// When the connection was accepted: times are counted from it, so the silence before a
    /// client's first byte (a head deadline's business) is kept too.
    accepted: Instant,
    /// How many more client bytes are kept.
    bytes_left: usize,
}

impl ConnectionRecording {
    /// Keeps what the client did: bytes read, its FIN. (The rest of the inputs, time and the
    /// app's commands, follow from those in the replay.)
    pub(crate) fn input(&mut self, input: &Input<'_>) {
        if !matches!(input, Input::Received { .. } | Input::ReceivedEof { .. }) {
            return;
        }
        let at = input.now().saturating_duration_since(self.accepted);
        let at = format!("at {}.{:03}", at.as_millis(), at.subsec_micros() % 1000);
        match input {
            Input::Received { bytes, .. } if !bytes.is_empty() && self.bytes_left > 0 => {
                let kept = &bytes[..bytes.len().min(self.bytes_left)];
                self.bytes_left -= kept.len();
                let _ = writeln!(self.text, "{at} received {}", escape_all(kept));
                if kept.len() < bytes.len() {
                    let max = RECORDED_BYTES_MAX;
                    let _ = writeln!(self.text, "# cut: the client sent more than {max} bytes");
                }
            }
            Input::ReceivedEof { .. } => {
                let _ = writeln!(self.text, "{at} eof");
            }
            _ => {}
        }
    }

    /// Writes the recording out, on tokio's blocking pool when there is a runtime (a
    /// connection's thread never waits for the disk). It is written under a temporary name
    /// and renamed into place, so a reader (`twine replay`, a script watching the directory)
    /// never sees a recording half written. A failure is logged, never the connection's
    /// problem.
    pub(crate) fn finish(self) {
        let write = move || {
            let mut partial = self.path.clone().into_os_string();
            partial.push(".part");
            let written = std::fs::write(&partial, self.text)
                .and_then(|()| std::fs::rename(&partial, &self.path));
            if let Err(error) = written {
                let _ = std::fs::remove_file(&partial);
                tracing::warn!(
                    "cannot write the recording {}: {error}",
                    self.path.display()
                );
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(write)),
            Err(_) => write(),
        }
    }
}

/// A recording read back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Recording {
    /// The `twine serve` flags the server ran with.
    pub(crate) args: Vec<String>,
    /// What the client did, in order.
    pub(crate) steps: Vec<Step>,
}

/// One thing the client did, at a time since the connection's first input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Bytes the server read.
    Received { at: Duration, bytes: Vec<u8> },
    /// The client's FIN.
    Eof { at: Duration },
}

impl Recording {
    /// Reads a recording; a line it cannot read is an error naming it.
    pub(crate) fn parse(text: &str) -> Result<Recording, String> {
        let mut lines = text.lines().enumerate();
        if lines.next().map(|(_, l)| l) != Some(MAGIC) {
            return Err(format!(
                "not a twine recording (its first line is not '{MAGIC}')"
            ));
        }
        let mut recording = Recording {
            args: Vec::new(),
            steps: Vec::new(),
        };
        for (index, line) in lines {
            let bad = || format!("line {}: cannot read '{line}'", index + 1);
            if line.starts_with("peer ") || line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some(arg) = line.strip_prefix("arg ") {
                recording.args.push(arg.to_string());
            } else if let Some(rest) = line.strip_prefix("at ") {
                let (at, what) = rest.split_once(' ').ok_or_else(bad)?;
                let at = parse_millis(at).ok_or_else(bad)?;
                let step = match what {
                    "eof" => Step::Eof { at },
                    _ => {
                        let escaped = what.strip_prefix("received ").ok_or_else(bad)?;
                        let bytes = unescape_all(escaped).ok_or_else(bad)?;
                        Step::Received { at, bytes }
                    }
                };
                recording.steps.push(step);
            } else {
                return Err(bad());
            }
        }
        Ok(recording)
    }

    /// The client that does it all again: each read's bytes sent at its time, the FIN at its
    /// time, everything the server sends read at once. Misbehaving, as far as the judge
    /// knows: a recorded client may stop half way through a request, on purpose or not.
    pub(crate) fn client(&self) -> ClientScript {
        let mut script = ClientScript::new();
        let mut last = Duration::ZERO;
        for step in &self.steps {
            let at = match step {
                Step::Received { at, .. } | Step::Eof { at } => *at,
            };
            if at > last {
                script = script.then(Action::Sleep(at - last));
                last = at;
            }
            script = match step {
                Step::Received { bytes, .. } => {
                    script.send_in(bytes.clone(), Fragments::Whole, Duration::ZERO)
                }
                Step::Eof { .. } => script.then(Action::ShutdownWrite),
            };
        }
        script.misbehaving()
    }
}

/// The `twine serve` flags of a recording, read as the server read them.
#[derive(Debug, Parser)]
#[command(name = "twine serve")]
struct RecordedServe {
    #[command(flatten)]
    serve: ServeArgs,
}

/// The run a recording file makes: the recorded server's app and config, and one client
/// doing what the recorded one did.
pub(crate) fn scenario(path: &Path) -> Result<Scenario, Failure> {
    let cannot = |what: String| Failure::usage(format!("{}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| cannot(e.to_string()))?;
    let recording = Recording::parse(&text).map_err(cannot)?;
    let argv = std::iter::once("twine serve".to_string()).chain(recording.args.iter().cloned());
    let flags = RecordedServe::try_parse_from(argv).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        cannot(format!(
            "its flags: {}",
            first.trim_start_matches("error: ")
        ))
    })?;
    let app = simulated_app(&flags.serve.app)?;
    let name = path.file_name().map_or_else(
        || "recording".to_string(),
        |name| format!("recording/{}", name.to_string_lossy()),
    );
    let mut scenario = Scenario::new(name, flags.serve.server.config(), app);
    scenario.clients.push(recording.client());
    Ok(scenario)
}

/// `12.500` milliseconds.
fn parse_millis(text: &str) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if fraction.len() != 3 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let micros: u64 = fraction.parse().ok()?;
    Some(Duration::from_millis(whole.parse().ok()?) + Duration::from_micros(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_reads_back_as_written() {
        let text = "# twine recording 1\narg --app\narg echo\npeer 127.0.0.1:5\n\
                    at 0.000 received \"GET / HTTP/1.1\\r\\n\\x00\"\nat 12.500 eof\n";
        let recording = Recording::parse(text).expect("a recording");
        assert_eq!(recording.args, ["--app", "echo"]);
        assert_eq!(
            recording.steps,
            [
                Step::Received {
                    at: Duration::ZERO,
                    bytes: b"GET / HTTP/1.1\r\n\0".to_vec()
                },
                Step::Eof {
                    at: Duration::from_micros(12_500)
                }
            ]
        );
    }

    /// Times count from the accept, so a client's silence before its first byte is kept; past
    /// the bound the bytes are cut, said once, and the FIN is still recorded.
    #[test]
    fn times_count_from_the_accept_and_bytes_stop_at_the_bound() {
        let accepted = Instant::from_millis(1_000);
        let mut recording = ConnectionRecording {
            path: PathBuf::new(),
            text: String::new(),
            accepted,
            bytes_left: 3,
        };
        let at = |millis: u64| Instant::from_millis(1_000 + millis);
        recording.input(&Input::Received {
            now: at(40_000),
            bytes: b"GE",
        });
        recording.input(&Input::Received {
            now: at(40_500),
            bytes: b"T /",
        });
        recording.input(&Input::Received {
            now: at(41_000),
            bytes: b"more",
        });
        recording.input(&Input::ReceivedEof { now: at(41_250) });
        let cut = format!("# cut: the client sent more than {RECORDED_BYTES_MAX} bytes");
        let expected = format!(
            "at 40000.000 received \"GE\"\nat 40500.000 received \"T\"\n{cut}\nat 41250.000 eof\n"
        );
        assert_eq!(recording.text, expected);
    }

    #[test]
    fn what_is_not_a_recording_is_named() {
        assert_eq!(
            Recording::parse("hello\n"),
            Err("not a twine recording (its first line is not '# twine recording 1')".into())
        );
        let text = "# twine recording 1\nat 1.5 eof\n";
        assert_eq!(
            Recording::parse(text),
            Err("line 2: cannot read 'at 1.5 eof'".into())
        );
    }
}
