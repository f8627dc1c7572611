//! `twine explore --seed 2026` on the defaults as one test, so that `cargo mutants` can ask
//! of each mutant whether the campaign fails a run (README, "How strong the tests are"). It is
//! ignored in the test suite: the main job runs the campaign itself, from the binary.
//!
//!     cargo mutants --in-place -p twine-engine --profile mutants \
//!         --test-package twine-scenarios -- --test explore_gate -- --ignored

use twine_scenarios::campaign::{run_jobs, Plan};
use twine_sim::Seed;

/// The root seed of the planted-bug measurements.
const ROOT: Seed = Seed(2026);

/// Seeds per scenario, as `twine explore` runs by default.
const SEEDS: usize = 30;

#[test]
#[ignore = "the whole campaign: for cargo mutants, with --ignored"]
fn explore_on_the_defaults_fails_no_run() {
    let plan = Plan::new(ROOT, SEEDS, Vec::new(), false).expect("the defaults plan");
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results = run_jobs(&plan, &plan.jobs, workers);
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.scenario.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "{} runs failed, first {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
}
