//! Shrinking: a failure that needs one particular fault to fire is reduced from the whole
//! swarm schedule to that fault alone, and the reduced schedule replays the failure.
//!
//! The failure is made on purpose: a fragile app that breaks on a short request-body chunk,
//! which only a read cut short by the swarm's read fragmentation can cause. Decisions are
//! positional (the n-th decision point of a connection), so a minimal schedule is minimal for
//! that numbering: when the body comes in its own segment, one cut suffices.

mod fragile;

use twine_scenarios::execute::{
    execute, reproduction, shrink, Faults, ShrinkBudget, SHRINK_RUNS_MAX,
};
use twine_sim::{Check, Knob, Knobs, Seed};

use fragile::FRAGILE;

#[test]
fn a_failing_schedule_shrinks_to_the_fault_that_matters() {
    // A seed whose swarm turns read fragmentation on, among others, and fails.
    let seed = (0..500)
        .map(Seed)
        .find(|&s| {
            let knobs = Knobs::draw(s);
            knobs.read_fragment_max.is_some_and(|n| n < 8)
                && knobs.active().len() >= 3
                && !execute(&FRAGILE, s, &Faults::swarm()).passed()
        })
        .expect("some seed fails under read fragmentation");
    let full = execute(&FRAGILE, seed, &Faults::swarm());
    assert!(
        full.violations
            .iter()
            .any(|v| v.check == Check::Panic && v.detail.contains("fragile app")),
        "{:?}",
        full.violations
    );
    assert!(
        full.fired.len() > 1,
        "the full schedule fires several faults"
    );

    let shrunk = shrink(&FRAGILE, seed, &ShrinkBudget::new(SHRINK_RUNS_MAX, || {}));
    let Faults::Swarm {
        knobs,
        keep: Some(keep),
    } = &shrunk
    else {
        panic!("a decision-level schedule, got {shrunk:?}");
    };
    assert_eq!(
        knobs,
        &[Knob::ReadFragments],
        "only the knob that matters is left"
    );
    assert_eq!(keep.len(), 1, "one read cut is enough: {keep:?}");
    let replayed = execute(&FRAGILE, seed, &shrunk);
    assert!(replayed
        .violations
        .iter()
        .any(|v| v.check == Check::Panic && v.detail.contains("fragile app")));
    assert_eq!(replayed.fired.len(), 1, "exactly that decision fires");
    let [replay, _] = reproduction(&FRAGILE, seed, &shrunk);
    let (conn, decision) = keep.iter().next().copied().unwrap();
    assert!(
        replay.ends_with(&format!("--faults read-fragments --keep {conn}:{decision}")),
        "{replay}"
    );
}

#[test]
fn a_passing_subset_is_not_a_failure() {
    // Control: with no decision allowed to fire, the fragile app is fine.
    let faults = Faults::Swarm {
        knobs: Knob::ALL.to_vec(),
        keep: Some(Default::default()),
    };
    for seed in 0..20 {
        let outcome = execute(&FRAGILE, Seed(seed), &faults);
        assert!(outcome.passed(), "seed {seed}: {:?}", outcome.violations);
        assert!(outcome.fired.is_empty());
    }
}
