//! Skipping idle spans (`Stepping::SkipIdle`, what every run does) changes nothing but the
//! cost: each catalogue entry, under the swarm faults its first `explore` seed draws and as
//! written, gives the same trace, byte for byte, and the same verdict as when every tick is
//! stepped; and the skipping runs take far fewer steps.
//!
//! Method: the campaign's own plan and scenario builder, each scenario run both ways.

use twine_scenarios::campaign::Plan;
use twine_scenarios::execute::{scenario_of, Faults};
use twine_sim::{run, Outcome, Seed, Stepping};

/// `entry`'s scenario for `seed` and `faults`, run with `stepping`.
fn run_stepped(plan: &Plan, job: usize, faults: &Faults, stepping: Stepping) -> Outcome {
    let job = &plan.jobs[job];
    let (mut scenario, _) = scenario_of(&plan.entries[job.entry], job.seed, faults);
    scenario.stepping = stepping;
    run(&scenario, job.seed)
}

#[test]
fn skipping_idle_spans_leaves_every_trace_as_it_was() {
    let plan = Plan::new(Seed(7), 1, Vec::new(), false).expect("the whole catalogue");
    let (mut skipping_steps, mut every_tick_steps) = (0, 0);
    for faults in [Faults::swarm(), Faults::Exact] {
        for job in 0..plan.jobs.len() {
            let skipping = run_stepped(&plan, job, &faults, Stepping::SkipIdle);
            let every_tick = run_stepped(&plan, job, &faults, Stepping::EveryTick);
            let name = format!("{} seed {} ({faults:?})", skipping.scenario, skipping.seed);
            let diverged = skipping.trace.first_difference(&every_tick.trace);
            assert_eq!(diverged, None, "{name}: the traces part");
            assert_eq!(skipping.violations, every_tick.violations, "{name}");
            assert!(skipping.steps <= every_tick.steps, "{name}");
            skipping_steps += skipping.steps;
            every_tick_steps += every_tick.steps;
        }
    }
    // Most of the catalogue's simulated time is connections waiting for their timers.
    assert!(
        skipping_steps * 5 < every_tick_steps,
        "{skipping_steps} steps skipping, {every_tick_steps} every tick"
    );
}
