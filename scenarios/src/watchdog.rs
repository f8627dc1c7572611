//! The last resort against a run that never ends: a thread that watches the simulated runs in
//! flight from outside, and ends the process with a report when one has gone on far too long
//! or the process has grown far too large.
//!
//! A simulated run is a pure function of its seed, and every wait in it has a simulated
//! deadline. What no simulated deadline reaches is an engine that loops inside one call (a bug
//! planted in it, or one that slipped in): the run then neither ends nor fails, and the process
//! grows until the kernel kills it, with nothing said about which run it was. The watchdog
//! turns that into a failure like any other: the run's scenario, seed and faults, the command
//! that reproduces it, and a non-zero exit.
//!
//! It only ever acts on a run that has not ended: what a run that ends records, and what a
//! campaign reports, stay functions of their seeds. Its limits are far above any run of the
//! catalogue (the slowest takes 0.6 s in a release build; a default campaign's process peaks
//! at 300-700 MiB).
//!
//! Only the command line starts one ([`Watchdog::start`]); without one, [`watch`] costs a
//! lookup, so that tests and library users run exactly as before.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When the watchdog gives up on a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest a run may take, in wall-clock time.
    pub run_time: Duration,
    /// Most resident memory the process may hold, in KiB (checked where `/proc` says it).
    pub resident_kib: u64,
}

impl Limits {
    /// Sixty seconds a run, and for the process 8 GiB or half the machine's memory, whichever
    /// is less: far above the slowest run of the catalogue and a default campaign's peak, yet
    /// reached within seconds by an engine that loops while it queues output, and before the
    /// kernel runs out of memory.
    pub fn for_this_machine() -> Limits {
        const EIGHT_GIB_IN_KIB: u64 = 8 * 1024 * 1024;
        let half = memory_total_kib().map_or(EIGHT_GIB_IN_KIB, |total| total / 2);
        Limits {
            run_time: Duration::from_secs(60),
            resident_kib: half.min(EIGHT_GIB_IN_KIB),
        }
    }
}

/// How often the runs in flight are looked at.
const POLL: Duration = Duration::from_millis(100);

/// The runs in flight, by ticket: when each started and how to reproduce it.
struct InFlight {
    next_ticket: u64,
    runs: BTreeMap<u64, Watched>,
}

struct Watched {
    started: Instant,
    what: String,
    reproduce: String,
}

/// The process's watchdog: `None` until the command line starts one.
static IN_FLIGHT: OnceLock<Mutex<InFlight>> = OnceLock::new();

/// The watchdog thread; stopping it (dropping this) ends the thread. The runs it watched are
/// forgotten with it only in the sense that nothing looks at them any more.
pub struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts watching every run [`watch`] is told of, with `limits`. One per process: a
    /// second call watches with the first one's list (and its own limits).
    pub fn start(limits: Limits) -> Watchdog {
        let in_flight = IN_FLIGHT.get_or_init(|| {
            Mutex::new(InFlight {
                next_ticket: 0,
                runs: BTreeMap::new(),
            })
        });
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || loop {
                match stopped.recv_timeout(POLL) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
                let report = match in_flight.lock() {
                    Ok(runs) => verdict(&runs, limits, Instant::now(), resident_kib),
                    Err(_) => return,
                };
                if let Some(report) = report {
                    give_up(&report);
                }
            })
            .ok();
        Watchdog {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A run being watched: it is forgotten when this is dropped, that is when the run ends.
#[must_use = "the run is watched while the guard lives"]
pub struct Watch {
    ticket: Option<u64>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let (Some(ticket), Some(in_flight)) = (self.ticket, IN_FLIGHT.get()) {
            if let Ok(mut in_flight) = in_flight.lock() {
                in_flight.runs.remove(&ticket);
            }
        }
    }
}

/// Watches a run from now until the guard is dropped: `what` names it (scenario, seed,
/// faults) and `reproduce` is the command that runs it again. Without a watchdog, nothing.
pub fn watch(what: impl FnOnce() -> (String, String)) -> Watch {
    let Some(in_flight) = IN_FLIGHT.get() else {
        return Watch { ticket: None };
    };
    let (what, reproduce) = what();
    let started = Instant::now();
    let Ok(mut in_flight) = in_flight.lock() else {
        return Watch { ticket: None };
    };
    let ticket = in_flight.next_ticket;
    in_flight.next_ticket += 1;
    in_flight.runs.insert(
        ticket,
        Watched {
            started,
            what,
            reproduce,
        },
    );
    Watch {
        ticket: Some(ticket),
    }
}

/// What to report at `now` if a limit is passed: the oldest run in flight, with why.
/// `resident` reads the process's memory, only when a run is in flight and in time.
fn verdict(
    in_flight: &InFlight,
    limits: Limits,
    now: Instant,
    resident: impl FnOnce() -> Option<u64>,
) -> Option<String> {
    // Tickets grow with time: the first is the oldest run, the likeliest culprit.
    let (_, oldest) = in_flight.runs.first_key_value()?;
    let took = now.saturating_duration_since(oldest.started);
    let why = if took > limits.run_time {
        format!("has run for {:.0} s of wall-clock time", took.as_secs_f64())
    } else {
        let resident = resident().filter(|&kib| kib > limits.resident_kib)?;
        format!(
            "has run for {:.1} s, and the process holds {} MiB",
            took.as_secs_f64(),
            resident / 1024
        )
    };
    Some(format!(
        "watchdog: {} {why}: the engine is likely looping inside one call, where no simulated \
         deadline reaches it; the run fails, and stops the process\n  reproduce: {}",
        oldest.what, oldest.reproduce
    ))
}

/// The report on standard error (`explore` holds standard output for its report), then the
/// exit: the looping thread cannot be stopped, only the process.
fn give_up(report: &str) -> ! {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{report}");
    let _ = err.flush();
    std::process::exit(1)
}

/// The process's resident memory, where `/proc` tells it.
fn resident_kib() -> Option<u64> {
    kib_field("/proc/self/status", "VmRSS:")
}

/// The machine's memory, where `/proc` tells it.
fn memory_total_kib() -> Option<u64> {
    kib_field("/proc/meminfo", "MemTotal:")
}

/// The value of the line `name   N kB` of a `/proc` file, in KiB.
fn kib_field(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|line| line.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs started `ago` before `now`, oldest first.
    fn in_flight(now: Instant, ago: &[u64]) -> InFlight {
        let runs = ago.iter().enumerate().map(|(ticket, &secs)| {
            let watched = Watched {
                started: now - Duration::from_secs(secs),
                what: format!("run {ticket}"),
                reproduce: format!("twine replay r --seed {ticket}"),
            };
            (ticket as u64, watched)
        });
        InFlight {
            next_ticket: ago.len() as u64,
            runs: runs.collect(),
        }
    }

    const LIMITS: Limits = Limits {
        run_time: Duration::from_secs(60),
        resident_kib: 1024,
    };

    #[test]
    fn a_run_past_the_time_limit_is_named_with_its_reproduction() {
        let now = Instant::now();
        let report = verdict(&in_flight(now, &[61, 2]), LIMITS, now, || Some(0));
        assert_eq!(
            report.as_deref(),
            Some(
                "watchdog: run 0 has run for 61 s of wall-clock time: the engine is likely \
                 looping inside one call, where no simulated deadline reaches it; the run fails, \
                 and stops the process\n  reproduce: twine replay r --seed 0"
            )
        );
    }

    #[test]
    fn past_the_memory_limit_the_oldest_run_is_named() {
        let now = Instant::now();
        let report = verdict(&in_flight(now, &[3, 1]), LIMITS, now, || Some(4096)).unwrap();
        assert!(
            report.starts_with("watchdog: run 0 has run for 3.0 s, and the process holds 4 MiB"),
            "{report}"
        );
    }

    #[test]
    fn within_the_limits_or_with_nothing_in_flight_nothing_is_said() {
        let now = Instant::now();
        assert_eq!(
            verdict(&in_flight(now, &[59]), LIMITS, now, || Some(1024)),
            None
        );
        assert_eq!(verdict(&in_flight(now, &[59]), LIMITS, now, || None), None);
        let memory_read = std::cell::Cell::new(false);
        let nothing = verdict(&in_flight(now, &[]), LIMITS, now, || {
            memory_read.set(true);
            Some(1 << 30)
        });
        assert_eq!(nothing, None);
        assert!(
            !memory_read.get(),
            "no run in flight: memory is not even read"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_memory_limit_is_half_this_machine_at_most_8_gib() {
        let total = memory_total_kib().expect("/proc/meminfo has MemTotal");
        let limit = Limits::for_this_machine().resident_kib;
        assert_eq!(limit, (total / 2).min(8 * 1024 * 1024));
        assert!(resident_kib().expect("/proc/self/status has VmRSS") > 0);
    }
}
