//! Swarm testing: each seed chooses *which* faults are on and how hard (VOPR, FoundationDB's
//! BUGGIFY), so a campaign over many seeds covers many combinations instead of running every
//! fault at once. The chosen knobs are printed at the top of the trace.
//!
//! Swarm faults are the survivable ones (fragmentation, partial writes, slow readers, stalls,
//! latency): a correct engine must keep every well-behaved client whole under any mix of them.
//! Destructive faults (resets, FIN or stall at a byte offset, partitions, restarts) belong to
//! the scenarios that expect them.

use std::rc::Rc;
use std::time::Duration;

use crate::fault::{SendWindow, StreamFaults};
use crate::rng::{Seed, SimRng};
use crate::scenario::{Latency, Scenario};

/// A swarm knob that can be turned off on its own (for shrinking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Knob {
    /// Server reads cut short.
    ReadFragments,
    /// Server writes cut short.
    WriteFragments,
    /// A slow reader's send window.
    SlowReader,
    /// Read stalls.
    ReadStalls,
    /// Random latency instead of a fixed one.
    Jitter,
}

impl Knob {
    /// Every knob.
    pub const ALL: [Knob; 5] = [
        Knob::ReadFragments,
        Knob::WriteFragments,
        Knob::SlowReader,
        Knob::ReadStalls,
        Knob::Jitter,
    ];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Knob::ReadFragments => "read-fragments",
            Knob::WriteFragments => "write-fragments",
            Knob::SlowReader => "slow-reader",
            Knob::ReadStalls => "read-stalls",
            Knob::Jitter => "jitter",
        }
    }

    /// The knob with this command-line name.
    pub fn from_name(name: &str) -> Option<Knob> {
        Knob::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The faults one seed turned on.
#[derive(Clone, Debug, PartialEq)]
pub struct Knobs {
    /// Server reads return 1..=n bytes.
    pub read_fragment_max: Option<usize>,
    /// Server writes accept 1..=n bytes.
    pub write_fragment_max: Option<usize>,
    /// The client reads slowly: a byte window with a drain rate.
    pub window: Option<SendWindow>,
    /// Server reads stall: probability and longest stall in milliseconds.
    pub read_stall: Option<(f64, u64)>,
    /// Message latency.
    pub latency: Latency,
}

impl Knobs {
    /// No fault: 1 ms fixed latency.
    pub fn calm() -> Knobs {
        Knobs {
            read_fragment_max: None,
            write_fragment_max: None,
            window: None,
            read_stall: None,
            latency: Latency::fixed(Duration::from_millis(1)),
        }
    }

    /// The knobs `seed` chooses: each fault on with probability one half, with a severity
    /// drawn from its own range.
    pub fn draw(seed: Seed) -> Knobs {
        let mut rng = SimRng::fork(seed, "swarm");
        let on = |rng: &mut SimRng| rng.chance(0.5);
        let read_fragment_max = on(&mut rng).then(|| rng.range(1..=64usize));
        let write_fragment_max = on(&mut rng).then(|| rng.range(1..=256usize));
        let window = on(&mut rng).then(|| SendWindow {
            bytes: rng.range(64..=8192usize),
            drain_bytes_per_ms: rng.range(16..=4096usize),
        });
        let read_stall =
            on(&mut rng).then(|| (rng.range(1..=20u32) as f64 / 100.0, rng.range(1..=50u64)));
        let latency = if on(&mut rng) {
            let max = rng.range(2..=50u64);
            Latency {
                min: Duration::from_millis(1),
                max: Duration::from_millis(max),
            }
        } else {
            Latency::fixed(Duration::from_millis(rng.range(0..=5u64)))
        };
        Knobs {
            read_fragment_max,
            write_fragment_max,
            window,
            read_stall,
            latency,
        }
    }

    /// Which knobs are on.
    pub fn active(&self) -> Vec<Knob> {
        let mut on = Vec::new();
        if self.read_fragment_max.is_some() {
            on.push(Knob::ReadFragments);
        }
        if self.write_fragment_max.is_some() {
            on.push(Knob::WriteFragments);
        }
        if self.window.is_some() {
            on.push(Knob::SlowReader);
        }
        if self.read_stall.is_some() {
            on.push(Knob::ReadStalls);
        }
        if self.latency.min != self.latency.max {
            on.push(Knob::Jitter);
        }
        on
    }

    /// These knobs with only `keep` left on (the rest off, latency fixed at its minimum): how
    /// a failing schedule is shrunk and replayed.
    pub fn only(&self, keep: &[Knob]) -> Knobs {
        let has = |k| keep.contains(&k);
        Knobs {
            read_fragment_max: self.read_fragment_max.filter(|_| has(Knob::ReadFragments)),
            write_fragment_max: self
                .write_fragment_max
                .filter(|_| has(Knob::WriteFragments)),
            window: self.window.filter(|_| has(Knob::SlowReader)),
            read_stall: self.read_stall.filter(|_| has(Knob::ReadStalls)),
            latency: if has(Knob::Jitter) {
                self.latency
            } else {
                Latency::fixed(self.latency.min)
            },
        }
    }

    /// The stream faults every connection gets.
    pub fn stream_faults(&self) -> StreamFaults {
        StreamFaults {
            read_fragment_max: self.read_fragment_max,
            write_fragment_max: self.write_fragment_max,
            window: self.window,
            read_stall: self.read_stall,
            ..StreamFaults::default()
        }
    }

    /// The knobs as `name = value` lines, in a fixed order.
    pub fn describe(&self) -> Vec<(String, String)> {
        let show = |o: Option<String>| o.unwrap_or_else(|| "off".into());
        vec![
            (
                "read fragments".into(),
                show(self.read_fragment_max.map(|n| format!("1..={n} bytes"))),
            ),
            (
                "write fragments".into(),
                show(self.write_fragment_max.map(|n| format!("1..={n} bytes"))),
            ),
            (
                "slow reader".into(),
                show(self.window.map(|w| {
                    format!(
                        "window {} bytes, drains {} bytes/ms",
                        w.bytes, w.drain_bytes_per_ms
                    )
                })),
            ),
            (
                "read stalls".into(),
                show(
                    self.read_stall
                        .map(|(p, ms)| format!("p={p:.2}, up to {ms}ms")),
                ),
            ),
            (
                "latency".into(),
                format!(
                    "{}..={}ms",
                    self.latency.min.as_millis(),
                    self.latency.max.as_millis()
                ),
            ),
        ]
    }

    /// Adds these faults to every connection of `scenario` (on top of its own), and prints them.
    pub fn apply(&self, scenario: &mut Scenario) {
        let base = scenario.faults.clone();
        let swarm = self.stream_faults();
        scenario.faults = Rc::new(move |conn| merge(base(conn), &swarm));
        if scenario.latency == Latency::fixed(Duration::from_millis(1)) {
            // As with stream faults, a scenario's own latency wins.
            scenario.latency = self.latency;
        }
        scenario.knobs.extend(self.describe());
    }
}

/// The scenario's own faults win where both set one.
fn merge(own: StreamFaults, swarm: &StreamFaults) -> StreamFaults {
    StreamFaults {
        read_fragment_max: own.read_fragment_max.or(swarm.read_fragment_max),
        write_fragment_max: own.write_fragment_max.or(swarm.write_fragment_max),
        window: own.window.or(swarm.window),
        read_stall: own.read_stall.or(swarm.read_stall),
        ..own
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_choose_different_knobs() {
        assert_eq!(Knobs::draw(Seed(1)), Knobs::draw(Seed(1)));
        let distinct: std::collections::BTreeSet<String> = (0..20)
            .map(|s| format!("{:?}", Knobs::draw(Seed(s))))
            .collect();
        assert!(
            distinct.len() > 15,
            "20 seeds gave only {} knob sets",
            distinct.len()
        );
    }
}
