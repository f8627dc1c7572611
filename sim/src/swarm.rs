//! Swarm testing: each seed chooses *which* faults are on and how hard (VOPR, FoundationDB's
//! BUGGIFY), so a campaign over many seeds covers many combinations instead of running every
//! fault at once. The chosen knobs are printed at the top of the trace.
//!
//! Two kinds of swarm fault. The survivable ones (fragmentation, partial writes, slow readers,
//! read stalls, latency, and the config knob's pipeline depth and buffer bounds): a correct
//! engine keeps every well-behaved client whole under any mix of them. The destructive ones
//! (the peer's FIN, a reset, a stall forever, each at a byte offset the seed draws per
//! connection): the connections they touch are owed safety only, not liveness.

use std::rc::Rc;
use std::time::Duration;

use crate::client::{ClientFaults, SlowSender};
use crate::event::NetFault;
use crate::fault::{RandomOffset, SendWindow, StreamFaults};
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
    /// The peer's FIN at a random byte offset (destructive).
    HalfClose,
    /// A reset at a random byte offset (destructive).
    Reset,
    /// A stall forever at a random byte offset (destructive).
    Stall,
    /// The engine's config drawn near its boundaries: pipeline depth, buffer bounds, the
    /// closing timers.
    Config,
    /// Slow senders: every send dribbled (destructive: a head deadline may end them).
    SlowSender,
    /// Clients that give up mid-response with a reset (destructive).
    GiveUp,
    /// The link held, then released, at drawn times.
    Hold,
    /// The link partitioned, then repaired, at drawn times (destructive: it wedges streams).
    Partition,
    /// The server restarted at a drawn time (destructive).
    Restart,
    /// The server drained, as on SIGTERM, at a drawn time (destructive: the requests behind
    /// the drain go unanswered). Drawn from a stream of its own.
    Drain,
    /// A run of the scenario exactly as scripted (its own latency, built for its own seed)
    /// with only its bytes cut anew into reads and writes, and no other knob: the faults that
    /// leave a scenario's expectations meaningful, so they are checked too. Drawn for one seed
    /// in five, from a stream of its own.
    Resegment,
}

impl Knob {
    /// Every knob.
    pub const ALL: [Knob; 16] = [
        Knob::ReadFragments,
        Knob::WriteFragments,
        Knob::SlowReader,
        Knob::ReadStalls,
        Knob::Jitter,
        Knob::HalfClose,
        Knob::Reset,
        Knob::Stall,
        Knob::Config,
        Knob::SlowSender,
        Knob::GiveUp,
        Knob::Hold,
        Knob::Partition,
        Knob::Restart,
        Knob::Drain,
        Knob::Resegment,
    ];

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Knob::ReadFragments => "read-fragments",
            Knob::WriteFragments => "write-fragments",
            Knob::SlowReader => "slow-reader",
            Knob::ReadStalls => "read-stalls",
            Knob::Jitter => "jitter",
            Knob::HalfClose => "half-close",
            Knob::Reset => "reset",
            Knob::Stall => "stall",
            Knob::Config => "config",
            Knob::SlowSender => "slow-sender",
            Knob::GiveUp => "give-up",
            Knob::Hold => "hold",
            Knob::Partition => "partition",
            Knob::Restart => "restart",
            Knob::Drain => "drain",
            Knob::Resegment => "resegment",
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
    /// The peer's FIN at a random offset, per connection.
    pub half_close: Option<RandomOffset>,
    /// A reset at a random offset, per connection.
    pub reset: Option<RandomOffset>,
    /// A stall forever at a random offset, per connection.
    pub stall: Option<RandomOffset>,
    /// The engine's config, drawn.
    pub config: Option<ConfigKnob>,
    /// Slow senders.
    pub slow_sender: Option<SlowSender>,
    /// Clients giving up after a drawn number of response bytes.
    pub give_up: Option<RandomOffset>,
    /// A hold of the link: when it starts and how long it lasts, in thousandths of the chaos
    /// phase.
    pub hold: Option<Span>,
    /// A partition of the link, likewise.
    pub partition: Option<Span>,
    /// A server restart, at this many thousandths of the chaos phase.
    pub restart: Option<u64>,
    /// A drain of the server (as on SIGTERM), likewise.
    pub drain: Option<u64>,
    /// A resegment run ([`Knob::Resegment`]): every knob above is off but the fragments, and
    /// the scenario keeps its own latency.
    pub resegment: bool,
}

/// One seed in this many is a resegment run ([`Knob::Resegment`]).
const RESEGMENT_ONE_IN: u32 = 5;

/// A stretch of the chaos phase, in thousandths of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// When it starts.
    pub start_permille: u64,
    /// How long it lasts.
    pub length_permille: u64,
}

impl Span {
    fn draw(rng: &mut SimRng) -> Span {
        Span {
            start_permille: rng.range(0..=800u64),
            length_permille: rng.range(1..=200u64),
        }
    }

    /// The start and end times within a chaos phase of `chaos`.
    fn times(&self, chaos: Duration) -> (Duration, Duration) {
        let at = |permille: u64| chaos * u32::try_from(permille).unwrap_or(1000) / 1000;
        (
            at(self.start_permille),
            at(self.start_permille + self.length_permille),
        )
    }
}

/// The config a seed draws: what a correct engine must survive with every well-behaved client
/// whole (DESIGN.md §3: the config is a swarm knob too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigKnob {
    /// Requests dispatched at once, 1 to 4.
    pub pipeline_depth_max: usize,
    /// The send buffer's bound, 1 KiB to 64 KiB.
    pub send_buffer_bytes_max: usize,
    /// The receive buffer's bound, from the head limit to 64 KiB.
    pub recv_buffer_bytes_max: usize,
    /// How long a lingering close reads on, 1 s to 5 s.
    pub linger: Duration,
    /// How long a graceful close may take, 1 s to 5 s.
    pub abort: Duration,
}

impl ConfigKnob {
    fn draw(rng: &mut SimRng) -> ConfigKnob {
        let head = twine_engine::Limits::DEFAULT.head_bytes_max;
        ConfigKnob {
            pipeline_depth_max: rng.range(1..=4usize),
            send_buffer_bytes_max: rng.range(1024..=65536usize),
            recv_buffer_bytes_max: rng.range(head..=65536usize),
            linger: Duration::from_millis(rng.range(1000..=5000u64)),
            abort: Duration::from_millis(rng.range(1000..=5000u64)),
        }
    }

    /// `config` with these values.
    fn apply(&self, config: &mut twine_engine::Config) {
        let limits = &mut config.limits;
        limits.pipeline_depth_max = self.pipeline_depth_max;
        limits.send_buffer_bytes_max = self.send_buffer_bytes_max;
        limits.recv_buffer_bytes_max = self.recv_buffer_bytes_max.max(limits.head_bytes_max);
        config.timeouts.linger = self.linger;
        config.timeouts.abort = self.abort;
    }
}

/// Draws a destructive offset knob: the share of connections it touches and how far in.
fn random_offset(rng: &mut SimRng) -> RandomOffset {
    const OFFSETS_MAX: [u64; 6] = [16, 64, 256, 1024, 4096, 65536];
    RandomOffset {
        chance: f64::from(rng.range(2..=10u32)) / 10.0,
        offset_max: OFFSETS_MAX[rng.range(0..OFFSETS_MAX.len())],
    }
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
            half_close: None,
            reset: None,
            stall: None,
            config: None,
            slow_sender: None,
            give_up: None,
            hold: None,
            partition: None,
            restart: None,
            drain: None,
            resegment: false,
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
        // Destructive knobs are drawn after the others, so adding them changed no one's draws.
        let destructive = |rng: &mut SimRng| rng.range(0..3u32) == 0;
        let half_close = destructive(&mut rng).then(|| random_offset(&mut rng));
        let reset = destructive(&mut rng).then(|| random_offset(&mut rng));
        let stall = destructive(&mut rng).then(|| random_offset(&mut rng));
        let config = on(&mut rng).then(|| ConfigKnob::draw(&mut rng));
        let slow_sender = destructive(&mut rng).then(|| SlowSender {
            chance: f64::from(rng.range(2..=10u32)) / 10.0,
            bytes: rng.range(16..=512usize),
            bytes_max: rng.range(1..=16usize),
            gap: Duration::from_millis(rng.range(1..=100u64)),
        });
        let give_up = destructive(&mut rng).then(|| random_offset(&mut rng));
        let hold = destructive(&mut rng).then(|| Span::draw(&mut rng));
        let partition = destructive(&mut rng).then(|| Span::draw(&mut rng));
        let restart = destructive(&mut rng).then(|| rng.range(0..=900u64));
        // From a stream of its own, so that adding it changed no other draw.
        let mut drain_rng = SimRng::fork(seed, "drain");
        let drain = destructive(&mut drain_rng).then(|| drain_rng.range(0..=900u64));
        // From a stream of its own, so that adding it changed no other draw.
        let mut resegment = SimRng::fork(seed, "resegment");
        if resegment.range(0..RESEGMENT_ONE_IN) == 0 {
            return Knobs {
                read_fragment_max: Some(resegment.range(1..=64usize)),
                write_fragment_max: Some(resegment.range(1..=256usize)),
                // The latency `calm` leaves is the default a scenario's own latency wins over.
                resegment: true,
                ..Knobs::calm()
            };
        }
        Knobs {
            read_fragment_max,
            write_fragment_max,
            window,
            read_stall,
            latency,
            half_close,
            reset,
            stall,
            config,
            slow_sender,
            give_up,
            hold,
            partition,
            restart,
            drain,
            resegment: false,
        }
    }

    /// This resegment run with the scenario's own segments kept: for a scenario whose
    /// expectations are about how its bytes were cut, the run that can still check them.
    pub fn uncut(self) -> Knobs {
        Knobs {
            read_fragment_max: None,
            write_fragment_max: None,
            ..self
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
        let destructive = [
            (self.half_close.is_some(), Knob::HalfClose),
            (self.reset.is_some(), Knob::Reset),
            (self.stall.is_some(), Knob::Stall),
            (self.config.is_some(), Knob::Config),
            (self.slow_sender.is_some(), Knob::SlowSender),
            (self.give_up.is_some(), Knob::GiveUp),
            (self.hold.is_some(), Knob::Hold),
            (self.partition.is_some(), Knob::Partition),
            (self.restart.is_some(), Knob::Restart),
            (self.drain.is_some(), Knob::Drain),
        ];
        on.extend(
            destructive
                .into_iter()
                .filter(|(is, _)| *is)
                .map(|(_, k)| k),
        );
        if self.resegment {
            on.push(Knob::Resegment);
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
            half_close: self.half_close.filter(|_| has(Knob::HalfClose)),
            reset: self.reset.filter(|_| has(Knob::Reset)),
            stall: self.stall.filter(|_| has(Knob::Stall)),
            config: self.config.filter(|_| has(Knob::Config)),
            slow_sender: self.slow_sender.filter(|_| has(Knob::SlowSender)),
            give_up: self.give_up.filter(|_| has(Knob::GiveUp)),
            hold: self.hold.filter(|_| has(Knob::Hold)),
            partition: self.partition.filter(|_| has(Knob::Partition)),
            restart: self.restart.filter(|_| has(Knob::Restart)),
            drain: self.drain.filter(|_| has(Knob::Drain)),
            resegment: self.resegment && has(Knob::Resegment),
        }
    }

    /// The stream faults every connection gets.
    pub fn stream_faults(&self) -> StreamFaults {
        StreamFaults {
            read_fragment_max: self.read_fragment_max,
            write_fragment_max: self.write_fragment_max,
            window: self.window,
            read_stall: self.read_stall,
            random_half_close: self.half_close,
            random_reset: self.reset,
            random_stall: self.stall,
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
            (
                "half-close".into(),
                show(self.half_close.map(describe_offset)),
            ),
            ("reset".into(), show(self.reset.map(describe_offset))),
            ("stall".into(), show(self.stall.map(describe_offset))),
            (
                "config".into(),
                show(self.config.map(|c| {
                    format!(
                        "pipeline depth {}, send buffer {} bytes, receive buffer {} bytes, \
                         linger {}ms, abort {}ms",
                        c.pipeline_depth_max,
                        c.send_buffer_bytes_max,
                        c.recv_buffer_bytes_max,
                        c.linger.as_millis(),
                        c.abort.as_millis()
                    )
                })),
            ),
            (
                "slow-sender".into(),
                show(self.slow_sender.map(|s| {
                    format!(
                        "p={:.1} per connection, its first {} bytes in pieces of 1..={} bytes, \
                         {}ms apart",
                        s.chance,
                        s.bytes,
                        s.bytes_max,
                        s.gap.as_millis()
                    )
                })),
            ),
            ("give-up".into(), show(self.give_up.map(describe_offset))),
            ("hold".into(), show(self.hold.map(describe_span))),
            ("partition".into(), show(self.partition.map(describe_span))),
            (
                "restart".into(),
                show(
                    self.restart
                        .map(|at| format!("at {at}/1000 of the chaos phase")),
                ),
            ),
            (
                "drain".into(),
                show(
                    self.drain
                        .map(|at| format!("at {at}/1000 of the chaos phase")),
                ),
            ),
            (
                "resegment".into(),
                show(self.resegment.then(|| {
                    let cut = self.read_fragment_max.is_some() || self.write_fragment_max.is_some();
                    if cut {
                        "the scenario as scripted, its bytes cut anew, its expectations checked"
                    } else {
                        "the scenario as scripted, its own segments kept (its expectations are \
                         about them), its expectations checked"
                    }
                    .into()
                })),
            ),
        ]
    }

    /// Adds these faults to every connection of `scenario` (on top of its own), and prints them.
    pub fn apply(&self, scenario: &mut Scenario) {
        let base = scenario.faults.clone();
        let swarm = self.stream_faults();
        scenario.faults = Rc::new(move |conn| merge(base(conn), &swarm));
        if let Some(config) = &self.config {
            config.apply(&mut scenario.config);
        }
        scenario.client_faults = ClientFaults {
            slow_sender: self.slow_sender,
            give_up: self.give_up,
        };
        scenario.link_faults = crate::link::LinkFaults {
            read_fragment_max: self.read_fragment_max,
            write_fragment_max: self.write_fragment_max,
        };
        let chaos = scenario.chaos_phase;
        let spans = [
            (self.hold, NetFault::Hold, NetFault::Release),
            (self.partition, NetFault::Partition, NetFault::Repair),
        ];
        for (span, start, end) in spans {
            if let Some(span) = span {
                let (from, to) = span.times(chaos);
                scenario.net.push((from, start));
                scenario.net.push((to, end));
            }
        }
        if let Some(permille) = self.restart {
            let permille = u32::try_from(permille).unwrap_or(1000).min(1000);
            scenario
                .net
                .push((chaos * permille / 1000, NetFault::RestartServer));
            if scenario.proxy.is_some() {
                // The origin restarts too, at the mirrored point of the chaos phase (no new
                // draw: every other family's seeds keep their schedules).
                let at = chaos * (1000 - permille) / 1000;
                scenario.net.push((at, NetFault::RestartOrigin));
            }
        }
        if let Some(permille) = self.drain {
            let permille = u32::try_from(permille).unwrap_or(1000).min(1000);
            let at = chaos * permille / 1000;
            scenario.net.push((at, NetFault::DrainServer));
        }
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
        random_half_close: own.random_half_close.or(swarm.random_half_close),
        random_reset: own.random_reset.or(swarm.random_reset),
        random_stall: own.random_stall.or(swarm.random_stall),
        ..own
    }
}

/// A stretch of the chaos phase, for the trace's knob lines.
fn describe_span(span: Span) -> String {
    format!(
        "from {}/1000 of the chaos phase for {}/1000 of it",
        span.start_permille, span.length_permille
    )
}

/// A destructive offset knob, for the trace's knob lines.
fn describe_offset(offset: RandomOffset) -> String {
    format!(
        "p={:.1} per connection, at a byte in 0..={}",
        offset.chance, offset.offset_max
    )
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

    /// A resegment run cuts bytes and does nothing else: every other knob off, the latency
    /// the scenario's own; about one seed in five (1,000 seeds: between 150 and 250).
    #[test]
    fn a_resegment_run_only_cuts_bytes() {
        let runs: Vec<Knobs> = (0..1000)
            .map(|s| Knobs::draw(Seed(s)))
            .filter(|k| k.resegment)
            .collect();
        assert!(
            (150..=250).contains(&runs.len()),
            "{} resegment runs",
            runs.len()
        );
        for knobs in &runs {
            let mut active = knobs.active();
            active.sort();
            assert_eq!(
                active,
                [Knob::ReadFragments, Knob::WriteFragments, Knob::Resegment]
            );
            assert_eq!(knobs.latency, Latency::fixed(Duration::from_millis(1)));
        }
        // Filtered out, it leaves a run with nothing on but what is kept.
        let quiet = runs[0].only(&[Knob::ReadFragments]);
        assert_eq!(quiet.active(), [Knob::ReadFragments]);
    }
}
