//! Running catalogue scenarios: exactly (the snapshot run), or under swarm faults chosen by the
//! seed (exploration); and shrinking a failing fault schedule to a minimal one.
//!
//! A schedule is shrunk in two passes. First whole swarm knobs are turned off while the run
//! still fails. Then, with the knobs left, the individual fault decisions that fired are
//! reduced by delta debugging (Zeller's ddmin): the run is replayed with only a subset allowed
//! to fire, keeping any subset that still fails. Every replay is deterministic, so the result
//! is a schedule that fails every time, and the line that reproduces it says exactly which
//! decisions fire.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::rc::Rc;

use twine_sim::{run, Decision, Knob, Knobs, Outcome, Scenario, Seed, Stepping};

use crate::catalogue::{self, Entry};
use crate::watchdog;

/// Which faults a run adds to the scenario's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Faults {
    /// None: the scenario exactly as written.
    Exact,
    /// The swarm knobs the seed draws, restricted to `knobs`; and of their decisions only
    /// `keep` may fire, when given.
    Swarm {
        /// The knobs left on.
        knobs: Vec<Knob>,
        /// The fault decisions allowed to fire (`None`: all).
        keep: Option<BTreeSet<Decision>>,
    },
}

impl Faults {
    /// Every swarm knob the seed turns on, every decision.
    pub fn swarm() -> Faults {
        Faults::Swarm {
            knobs: Knob::ALL.to_vec(),
            keep: None,
        }
    }

    /// These knobs, every decision.
    pub fn knobs(knobs: Vec<Knob>) -> Faults {
        Faults::Swarm { knobs, keep: None }
    }

    /// The flags that select these faults on the command line.
    pub fn flags(&self) -> String {
        let Faults::Swarm { knobs, keep } = self else {
            return String::new();
        };
        let mut flags = if knobs.len() == Knob::ALL.len() {
            " --swarm".to_string()
        } else if knobs.is_empty() {
            " --faults none".to_string()
        } else {
            let names: Vec<&str> = knobs.iter().map(|k| k.name()).collect();
            format!(" --faults {}", names.join(","))
        };
        // With no knob there is no decision to keep: `--faults none` says it all.
        if let Some(keep) = keep.as_ref().filter(|_| !knobs.is_empty()) {
            let list: Vec<String> = keep.iter().map(|(c, n)| format!("{c}:{n}")).collect();
            let list = if list.is_empty() {
                "none".to_string()
            } else {
                list.join(",")
            };
            flags.push_str(&format!(" --keep {list}"));
        }
        flags
    }
}

/// Parses a `--keep` list: `conn:decision` pairs separated by commas, or `none`.
pub fn parse_keep(list: &str) -> Option<BTreeSet<Decision>> {
    if list == "none" {
        return Some(BTreeSet::new());
    }
    list.split(',')
        .map(|pair| {
            let (conn, decision) = pair.trim().split_once(':')?;
            Some((conn.parse().ok()?, decision.parse().ok()?))
        })
        .collect()
}

/// Runs `entry` under `seed` with `faults`, checking its own expectations too where they are
/// meaningful: in exact mode, and in a swarm run that only cuts the scripted scenario's bytes
/// anew ([`Knob::Resegment`]). An entry whose expectations are about how its bytes were cut
/// ([`catalogue::expectations_need_exact_segments`]) keeps its own segments in such a run
/// ([`Knobs::uncut`]), so that `explore` checks every entry's expectations. Under other swarm
/// faults only the invariants are required to hold.
pub fn execute(entry: &Entry, seed: Seed, faults: &Faults) -> Outcome {
    execute_stepped(entry, seed, faults, Stepping::SkipIdle)
}

/// [`execute`], simulated time moving as `stepping` says.
pub fn execute_stepped(entry: &Entry, seed: Seed, faults: &Faults, stepping: Stepping) -> Outcome {
    let (mut scenario, check_expectations) = scenario_of(entry, seed, faults);
    scenario.stepping = stepping;
    let _watch = watchdog::watch(|| {
        let what = format!("{} --seed {seed}{}", entry.id(), faults.flags());
        let [replay, _] = reproduction(entry, seed, faults);
        (what, replay)
    });
    let mut outcome = run(&scenario, seed);
    if check_expectations {
        let expected = (entry.expect)(&outcome);
        outcome.add_violations(expected);
    }
    outcome
}

/// The scenario [`execute`] runs for `entry` under `seed` with `faults`, and whether the
/// entry's own expectations are checked on it.
pub fn scenario_of(entry: &Entry, seed: Seed, faults: &Faults) -> (Scenario, bool) {
    match faults {
        Faults::Exact => ((entry.build)(seed), true),
        Faults::Swarm { knobs, keep } => {
            let mut knobs = Knobs::draw(seed).only(knobs);
            if knobs.resegment && catalogue::expectations_need_exact_segments(entry) {
                knobs = knobs.uncut();
            }
            // A resegment run is the scenario as scripted: built as for its own seed (the
            // faults still draw from this one).
            let build_seed = if knobs.resegment {
                Seed(entry.seed)
            } else {
                seed
            };
            let mut scenario = (entry.build)(build_seed);
            knobs.apply(&mut scenario);
            scenario.keep = keep.clone().map(Rc::new);
            (scenario, knobs.resegment)
        }
    }
}

/// Most replays one shrink may spend.
pub const SHRINK_RUNS_MAX: usize = 400;

/// The replays shrinking may still spend: a bound per failure and one for a whole campaign,
/// counted in replays (not seconds) so that what a campaign prints is a function of its seeds.
pub struct ShrinkBudget {
    left: Cell<usize>,
    on_replay: Box<dyn Fn()>,
}

impl ShrinkBudget {
    /// `replays` in all; `on_replay` is called for each (a progress bar).
    pub fn new(replays: usize, on_replay: impl Fn() + 'static) -> ShrinkBudget {
        ShrinkBudget {
            left: Cell::new(replays),
            on_replay: Box::new(on_replay),
        }
    }

    /// Replays left.
    pub fn left(&self) -> usize {
        self.left.get()
    }

    /// Takes one replay, if any is left.
    fn take(&self) -> bool {
        let left = self.left.get();
        if left == 0 {
            return false;
        }
        self.left.set(left - 1);
        (self.on_replay)();
        true
    }
}

/// Schedules with more fired decisions than this are shrunk by knobs only: ddmin would spend
/// its budget before getting anywhere useful.
const DECISIONS_SHRUNK_MAX: usize = 512;

/// A decision-level schedule longer than this is not worth a command line: the knob-level
/// one is reported instead (it reproduces the failure just as exactly).
const KEEP_SHOWN_MAX: usize = 32;

/// The smallest failing schedule found, within `campaign`'s replays and at most
/// [`SHRINK_RUNS_MAX`], for a run that fails under the seed's swarm faults. With no replay left
/// it is the seed's whole swarm schedule, which reproduces the failure all the same.
pub fn shrink(entry: &Entry, seed: Seed, campaign: &ShrinkBudget) -> Faults {
    let own = Cell::new(SHRINK_RUNS_MAX);
    let budget = || own.get() > 0 && campaign.left() > 0;
    let fails = |faults: &Faults| {
        own.set(own.get().saturating_sub(1));
        campaign.take() && !execute(entry, seed, faults).passed()
    };
    // Pass 1: whole knobs.
    let mut knobs = Knobs::draw(seed).active();
    let mut i = 0;
    while i < knobs.len() {
        let mut without = knobs.clone();
        without.remove(i);
        if fails(&Faults::knobs(without.clone())) {
            knobs = without;
        } else {
            i += 1;
        }
    }
    // Pass 2: the decisions that fired, by ddmin.
    let fired: Vec<Decision> = execute(entry, seed, &Faults::knobs(knobs.clone())).fired;
    let with = |keep: &[Decision]| Faults::Swarm {
        knobs: knobs.clone(),
        keep: Some(keep.iter().copied().collect()),
    };
    if !budget() {
        return Faults::knobs(knobs);
    }
    let mut kept: Vec<Decision> = dedup(fired);
    if kept.len() > DECISIONS_SHRUNK_MAX || !fails(&with(&kept)) {
        // The failure needs decisions that did not fire (it cannot be pinned down more).
        return Faults::knobs(knobs);
    }
    let mut chunks = 2;
    while kept.len() >= 2 && budget() {
        let size = kept.len().div_ceil(chunks);
        let mut reduced = false;
        for start in (0..kept.len()).step_by(size) {
            let complement: Vec<Decision> = kept[..start]
                .iter()
                .chain(&kept[(start + size).min(kept.len())..])
                .copied()
                .collect();
            if fails(&with(&complement)) {
                kept = complement;
                chunks = (chunks - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if chunks >= kept.len() {
                break;
            }
            chunks = (chunks * 2).min(kept.len());
        }
    }
    if kept.len() == 1 && fails(&with(&[])) {
        kept.clear();
    }
    if kept.len() > KEEP_SHOWN_MAX {
        return Faults::knobs(knobs);
    }
    with(&kept)
}

fn dedup(mut decisions: Vec<Decision>) -> Vec<Decision> {
    let mut seen = BTreeSet::new();
    decisions.retain(|d| seen.insert(*d));
    decisions
}

/// The lines that reproduce a run: the `twine replay` command and the `cargo test` one.
pub fn reproduction(entry: &Entry, seed: Seed, faults: &Faults) -> [String; 2] {
    let flags = faults.flags();
    [
        format!("twine replay {} --seed {seed}{flags}", entry.id()),
        format!(
            "TWINE_REPLAY='{} --seed {seed}{flags}' cargo test -p twine-scenarios --test replay",
            entry.id()
        ),
    ]
}
