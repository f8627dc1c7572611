//! Running catalogue scenarios: exactly (the snapshot run), or under swarm faults chosen by the
//! seed (exploration); and shrinking a failing swarm schedule to a minimal set of knobs.

use twine_sim::{run, Knob, Knobs, Outcome, Seed};

use crate::catalogue::Entry;

/// Which faults a run adds to the scenario's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Faults {
    /// None: the scenario exactly as written.
    Exact,
    /// The swarm knobs the seed draws, restricted to these (all of them when exploring).
    Swarm(Vec<Knob>),
}

impl Faults {
    /// Every swarm knob the seed turns on.
    pub fn swarm() -> Faults {
        Faults::Swarm(Knob::ALL.to_vec())
    }

    /// The flags that select these faults on the command line.
    pub fn flags(&self) -> String {
        match self {
            Faults::Exact => String::new(),
            Faults::Swarm(knobs) if knobs.len() == Knob::ALL.len() => " --swarm".into(),
            Faults::Swarm(knobs) => {
                let names: Vec<&str> = knobs.iter().map(|k| k.name()).collect();
                format!(
                    " --faults {}",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(",")
                    }
                )
            }
        }
    }
}

/// Runs `entry` under `seed` with `faults`, checking its own expectations too.
pub fn execute(entry: &Entry, seed: Seed, faults: &Faults) -> Outcome {
    let mut scenario = (entry.build)(seed);
    if let Faults::Swarm(keep) = faults {
        Knobs::draw(seed).only(keep).apply(&mut scenario);
    }
    let mut outcome = run(&scenario, seed);
    // A run that failed its invariants may not reach the scenario's own expectations: report
    // the invariants alone then.
    if outcome.violations.is_empty() || matches!(faults, Faults::Exact) {
        let expected = if matches!(faults, Faults::Exact) {
            (entry.expect)(&outcome)
        } else {
            Vec::new()
        };
        outcome.add_violations(expected);
    }
    outcome
}

/// The swarm knobs that matter to a failure: knobs are turned off one at a time and kept off
/// whenever the run still fails (delta debugging over the knob set).
pub fn shrink(entry: &Entry, seed: Seed) -> Vec<Knob> {
    let mut kept: Vec<Knob> = Knobs::draw(seed).active();
    let mut i = 0;
    while i < kept.len() {
        let mut without = kept.clone();
        without.remove(i);
        if !execute(entry, seed, &Faults::Swarm(without.clone())).passed() {
            kept = without;
        } else {
            i += 1;
        }
    }
    kept
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
