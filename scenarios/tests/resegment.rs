//! Resegment runs check a scenario's own expectations: the scenario exactly as scripted, only
//! its bytes cut anew. Goal: a resegment run cuts bytes and checks the expectations (a real
//! entry's pass); every other swarm run checks only the invariants; an entry whose
//! expectations are about segments keeps them and is checked all the same. Method: real catalogue entries, with their
//! expectations kept or swapped for ones that always fail.

use twine_scenarios::catalogue::{self, expectations_need_exact_segments, Entry};
use twine_scenarios::execute::{execute, Faults};
use twine_sim::{Check, Knobs, Outcome, Seed, Violation};

fn always_fails(_: &Outcome) -> Vec<Violation> {
    vec![Violation::run(Check::Expectation, String::from("always"))]
}

/// Whether the run's expectations were checked (they always fail here).
fn expectations_checked(outcome: &Outcome) -> bool {
    outcome
        .violations
        .iter()
        .any(|v| v.check == Check::Expectation)
}

fn entry(id: &str) -> Entry {
    catalogue::find(id).expect("a catalogue entry")
}

fn seeds(resegment: bool) -> impl Iterator<Item = Seed> {
    (0..)
        .map(Seed)
        .filter(move |&s| Knobs::draw(s).resegment == resegment)
}

#[test]
fn only_resegment_runs_check_expectations() {
    let mut failing = entry("keep_alive/http11_persistent");
    failing.expect = always_fails;
    for seed in seeds(true).take(3) {
        let outcome = execute(&failing, seed, &Faults::swarm());
        let checks: Vec<Check> = outcome.violations.iter().map(|v| v.check).collect();
        assert_eq!(checks, [Check::Expectation], "resegment seed {seed:?}");
    }
    for seed in seeds(false).take(3) {
        let outcome = execute(&failing, seed, &Faults::swarm());
        assert!(
            !expectations_checked(&outcome),
            "seed {seed:?} checked expectations without resegmenting"
        );
    }
}

#[test]
fn a_resegment_run_cuts_bytes_and_passes_the_expectations() {
    let real = entry("keep_alive/http11_persistent");
    assert!(!expectations_need_exact_segments(&real));
    for seed in seeds(true).take(5) {
        let outcome = execute(&real, seed, &Faults::swarm());
        assert!(outcome.passed(), "{:?}", outcome.violations);
        let text = outcome.trace.to_text();
        let cut = text.contains("read cut to") || text.contains("partial write");
        assert!(cut, "seed {seed:?}: a resegment run cut nothing");
    }
}

#[test]
fn an_entry_about_segments_keeps_its_segments_and_is_checked() {
    let real = catalogue::all()
        .into_iter()
        .find(expectations_need_exact_segments)
        .expect("an entry about its segments");
    let mut failing = real;
    failing.expect = always_fails;
    for seed in seeds(true).take(3) {
        let outcome = execute(&real, seed, &Faults::swarm());
        assert!(outcome.passed(), "seed {seed:?}: {:?}", outcome.violations);
        let text = outcome.trace.to_text();
        for line in [
            "read fragments = off",
            "write fragments = off",
            "its own segments kept",
        ] {
            assert!(text.contains(line), "seed {seed:?}: no '{line}' in\n{text}");
        }
        let outcome = execute(&failing, seed, &Faults::swarm());
        assert!(
            expectations_checked(&outcome),
            "seed {seed:?}: an entry about its segments went unchecked"
        );
    }
}
