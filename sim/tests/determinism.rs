//! Determinism: a run is a pure function of its seed. Sampled seeds run twice must give
//! identical traces, byte for byte (the first diverging event is reported), and different seeds
//! must give different fault schedules.

mod common;

use twine_apps::{Echo, Stream};
use twine_sim::{app, run, Event, Fault, Scenario, Seed};

fn busy_scenario(seed: Seed, stream: bool) -> Scenario {
    let factory = if stream {
        app::<Stream>()
    } else {
        app::<Echo>()
    };
    common::busy_scenario("determinism/busy", factory, seed)
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for seed in [0, 1, 2, 3, 42, 0xdead_beef] {
        for stream in [false, true] {
            let scenario = busy_scenario(Seed(seed), stream);
            let first = run(&scenario, Seed(seed));
            let second = run(&scenario, Seed(seed));
            if let Some((index, a, b)) = first.trace.first_difference(&second.trace) {
                panic!("seed {seed} diverged at event {index}:\n  first:  {a}\n  second: {b}");
            }
            assert!(first.trace.entries.len() > 20, "a busy run records plenty");
        }
    }
}

#[test]
fn different_seeds_give_different_fault_schedules() {
    // The faults that fired, where and when: the schedule itself, not the knob lines (which
    // print the seed and would differ whatever the schedule).
    let faults = |seed: u64| {
        let outcome = run(&busy_scenario(Seed(seed), true), Seed(seed));
        let schedule: Vec<(u64, Option<u32>, Fault)> = outcome
            .trace
            .entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Fault { fault, .. } if *fault != Fault::ChaosOver => {
                    Some((e.at_nanos, e.conn, fault.clone()))
                }
                _ => None,
            })
            .collect();
        assert!(!schedule.is_empty(), "seed {seed} fires faults");
        schedule
    };
    let (one, two, three) = (faults(1), faults(2), faults(3));
    assert_ne!(one, two);
    assert_ne!(two, three);
    assert_ne!(one, three);
}
