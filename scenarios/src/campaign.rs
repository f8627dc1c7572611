//! Campaigns: what `twine explore` runs and what it reports, as data.
//!
//! A [`Plan`] is the exact list of (scenario, seed) jobs a root seed gives; a shard is every
//! N-th job of it, so any batch engine can run a campaign as N independent processes. A run's
//! result is a [`RunResult`]; a shard writes its results to a [`CampaignFile`], and
//! [`report`] prints the same report from one machine's results or from every shard's merged
//! (shards merged equal one run: the report is a function of the results, and shrinking is
//! counted in replays, never in seconds).
//!
//! The report groups failures by scenario and broken checks, shrinks one representative per
//! group within a campaign-wide budget of replays, and counts the rest, so a broken engine's
//! campaign ends in a few times a green one's time instead of shrinking every failure.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use twine_sim::{Check, Event, Fault, Knob, Knobs, Outcome, Seed, SimRng, Violation};

use crate::catalogue::{self, Entry};
use crate::execute::{execute, reproduction, shrink, Faults, ShrinkBudget};

/// Replays all the shrinking of one campaign may spend.
pub const SHRINK_REPLAYS_MAX: usize = 600;

/// How many failing seeds of a group the report lists besides its representative.
const SEEDS_LISTED_MAX: usize = 5;

/// The version of the campaign file format.
const FILE_VERSION: u32 = 1;

/// One job: a scenario (by its index in the plan's entries) under one seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// Its place in the campaign, from 0: the order of the report.
    pub index: usize,
    /// The scenario, an index into [`Plan::entries`].
    pub entry: usize,
    /// The seed.
    pub seed: Seed,
}

/// Every job of a campaign.
pub struct Plan {
    /// The root seed every job's seed derives from.
    pub root: Seed,
    /// Seeds per scenario.
    pub seeds: usize,
    /// The families asked for (empty: all).
    pub families: Vec<String>,
    /// Whether each job runs twice and the two traces are compared.
    pub check_determinism: bool,
    /// The scenarios, in catalogue order.
    pub entries: Vec<Entry>,
    /// The jobs, in campaign order.
    pub jobs: Vec<Job>,
}

impl Plan {
    /// The campaign of `seeds` seeds per scenario of `families` (all when empty) under `root`;
    /// an unknown family is an error, not a smaller campaign.
    pub fn new(
        root: Seed,
        seeds: usize,
        families: Vec<String>,
        check_determinism: bool,
    ) -> Result<Plan, String> {
        let known = catalogue::families();
        if let Some(unknown) = families.iter().find(|f| !known.contains(&f.as_str())) {
            return Err(format!(
                "unknown family '{unknown}': expected one of {}",
                known.join(", ")
            ));
        }
        let entries: Vec<Entry> = catalogue::all()
            .into_iter()
            .filter(|e| families.is_empty() || families.iter().any(|f| f == e.family))
            .collect();
        let mut jobs = Vec::with_capacity(entries.len() * seeds);
        for (i, entry) in entries.iter().enumerate() {
            let mut rng = SimRng::fork(root, &format!("explore/{}", entry.id()));
            for _ in 0..seeds {
                let (index, seed) = (jobs.len(), Seed(rng.next_u64()));
                jobs.push(Job {
                    index,
                    entry: i,
                    seed,
                });
            }
        }
        Ok(Plan {
            root,
            seeds,
            families,
            check_determinism,
            entries,
            jobs,
        })
    }

    /// The jobs of `shard`: every `count`-th job, from the `index`-th (from 1).
    pub fn shard(&self, shard: Shard) -> Vec<Job> {
        let skip = shard.index - 1;
        self.jobs
            .iter()
            .skip(skip)
            .step_by(shard.count)
            .copied()
            .collect()
    }
}

/// A slice of a campaign: shard `index` of `count`, numbered from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which, from 1 to `count`.
    pub index: usize,
    /// How many shards in all.
    pub count: usize,
}

impl Shard {
    /// The whole campaign.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("bad shard '{text}': expected K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What one run showed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The job's place in the campaign.
    pub index: usize,
    /// The scenario, `family/name`.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Every invariant that failed.
    pub violations: Vec<Violation>,
    /// How often each kind of fault fired, by the name `--faults` and the table use.
    pub faults: BTreeMap<String, usize>,
    /// Where a second run of the same seed diverged, when determinism was checked.
    pub divergence: Option<Divergence>,
}

impl RunResult {
    /// Whether the run passed every check and, if checked, replayed identically.
    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.divergence.is_none()
    }

    /// The checks it broke, each once, in order.
    fn checks(&self) -> Vec<Check> {
        let mut checks: Vec<Check> = self.violations.iter().map(|v| v.check).collect();
        checks.sort();
        checks.dedup();
        checks
    }
}

/// The first event where two runs of one seed differed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    /// Its index in the trace.
    pub event: usize,
    /// The first run's entry there (`<end>` past its end).
    pub first: String,
    /// The second run's.
    pub second: String,
}

/// What a shard writes: its plan's parameters, and its results.
#[derive(Debug, Serialize, Deserialize)]
pub struct CampaignFile {
    /// The format's version.
    pub version: u32,
    /// The campaign's root seed.
    pub root_seed: u64,
    /// Seeds per scenario.
    pub seeds: usize,
    /// The families asked for (empty: all).
    pub families: Vec<String>,
    /// Whether determinism was checked.
    pub check_determinism: bool,
    /// Which shard.
    pub shard: Shard,
    /// Jobs in the whole campaign, for the merge's completeness check.
    pub jobs_total: usize,
    /// The shard's wall-clock time, in seconds.
    pub elapsed_secs: f64,
    /// The shard's results.
    pub runs: Vec<RunResult>,
}

impl CampaignFile {
    /// The file of `shard` of `plan`, with its results.
    pub fn new(plan: &Plan, shard: Shard, runs: Vec<RunResult>, elapsed: Duration) -> Self {
        CampaignFile {
            version: FILE_VERSION,
            root_seed: plan.root.0,
            seeds: plan.seeds,
            families: plan.families.clone(),
            check_determinism: plan.check_determinism,
            shard,
            jobs_total: plan.jobs.len(),
            elapsed_secs: elapsed.as_secs_f64(),
            runs,
        }
    }
}

/// Merges the files of one campaign's shards: the plan, every job's result in campaign order,
/// and the shards' summed time. Files of different campaigns, a shard twice or missing, or a
/// job without its result are errors.
pub fn merge(files: Vec<CampaignFile>) -> Result<(Plan, Vec<RunResult>, Duration), String> {
    let first = files.first().ok_or("no campaign file to merge")?;
    if let Some(f) = files.iter().find(|f| f.version != FILE_VERSION) {
        return Err(format!(
            "campaign file version {} (this twine reads {FILE_VERSION})",
            f.version
        ));
    }
    let same = |f: &CampaignFile| {
        (
            f.root_seed,
            f.seeds,
            &f.families,
            f.check_determinism,
            f.shard.count,
        ) == (
            first.root_seed,
            first.seeds,
            &first.families,
            first.check_determinism,
            first.shard.count,
        )
    };
    if !files.iter().all(same) {
        return Err(
            "the files are not shards of one campaign (root seed, seeds, families, \
                    --check-determinism and shard count must agree)"
                .into(),
        );
    }
    let count = first.shard.count;
    let mut seen = vec![false; count];
    for f in &files {
        let slot = &mut seen[f.shard.index.clamp(1, count) - 1];
        if *slot {
            return Err(format!("shard {}/{count} given twice", f.shard.index));
        }
        *slot = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(format!("shard {}/{count} is missing", missing + 1));
    }
    let plan = Plan::new(
        Seed(first.root_seed),
        first.seeds,
        first.families.clone(),
        first.check_determinism,
    )?;
    if plan.jobs.len() != first.jobs_total {
        return Err(format!(
            "the campaign has {} jobs here but {} where it ran: a different catalogue",
            plan.jobs.len(),
            first.jobs_total
        ));
    }
    let elapsed = Duration::from_secs_f64(files.iter().map(|f| f.elapsed_secs).sum());
    let mut runs: Vec<RunResult> = files.into_iter().flat_map(|f| f.runs).collect();
    runs.sort_by_key(|r| r.index);
    let complete = runs.len() == plan.jobs.len()
        && runs.iter().zip(&plan.jobs).all(|(r, j)| {
            r.index == j.index && r.seed == j.seed.0 && r.scenario == plan.entries[j.entry].id()
        });
    if !complete {
        return Err("the shards' results do not cover the campaign's jobs exactly".into());
    }
    Ok((plan, runs, elapsed))
}

/// Runs `jobs` of `plan` on `workers` threads, with a progress bar on a terminal; the results
/// come back in job order.
pub fn run_jobs(plan: &Plan, jobs: &[Job], workers: usize) -> Vec<RunResult> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let bar = progress_bar(jobs.len(), "runs");
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = run_job(plan, job);
                    if let Ok(mut results) = results.lock() {
                        results.push(result);
                    }
                    if let Some(bar) = &bar {
                        bar.inc(1);
                    }
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Threads finish in any order; the report follows the job order.
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|r| r.index);
    results
}

fn run_job(plan: &Plan, job: &Job) -> RunResult {
    let entry = &plan.entries[job.entry];
    let outcome = execute(entry, job.seed, &Faults::swarm());
    let divergence = plan.check_determinism.then(|| {
        let again = execute(entry, job.seed, &Faults::swarm());
        let same = again.trace.digest() == outcome.trace.digest();
        let diverged = outcome.trace.first_difference(&again.trace);
        match (same, diverged) {
            (true, None) => None,
            (_, Some((event, first, second))) => Some(Divergence {
                event,
                first,
                second,
            }),
            (false, None) => Some(Divergence {
                event: outcome.trace.entries.len(),
                first: "(same entries, different digest)".into(),
                second: String::new(),
            }),
        }
    });
    RunResult {
        index: job.index,
        scenario: entry.id(),
        seed: job.seed.0,
        violations: outcome.violations.clone(),
        faults: faults_fired(&outcome),
        divergence: divergence.flatten(),
    }
}

/// How often each kind of fault fired in a run, by the name `--faults` and the table use.
fn faults_fired(outcome: &Outcome) -> BTreeMap<String, usize> {
    let mut fired = BTreeMap::new();
    for entry in &outcome.trace.entries {
        let Event::Fault { fault, .. } = &entry.event else {
            continue;
        };
        // The harness's own bookkeeping is no fault the seed chose.
        if matches!(fault, Fault::FinHeld { .. } | Fault::ChaosOver) {
            continue;
        }
        *fired.entry(fault.kind_name().to_string()).or_insert(0) += 1;
    }
    // Knobs that act on the whole run rather than fire: jitter, the config, a resegment run.
    let active = Knobs::draw(outcome.seed).active();
    for knob in [Knob::Jitter, Knob::Config, Knob::Resegment] {
        if active.contains(&knob) {
            fired.insert(knob.name().to_string(), 1);
        }
    }
    fired
}

fn progress_bar(len: usize, what: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what} {{elapsed}} (eta {{eta}})");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    Some(bar)
}

/// Failures of one scenario that broke the same checks: one is shrunk, the rest counted.
struct Group<'a> {
    entry: &'a Entry,
    checks: Vec<Check>,
    runs: Vec<&'a RunResult>,
}

/// Prints the campaign's report to `out`: the table per family, the time, each failure group
/// with its shrunk reproduction, each divergence, and the closing line. Returns whether the
/// campaign passed. `shards`: how many processes ran it (the time line says so when more
/// than one).
pub fn report(
    plan: &Plan,
    results: &[RunResult],
    elapsed: Duration,
    shards: usize,
    out: &mut impl Write,
) -> bool {
    print_table(plan, results, out);
    let failed = results.iter().filter(|r| !r.passed()).count();
    let secs = elapsed.as_secs_f64();
    let across = if shards > 1 {
        format!(" across {shards} shards")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} runs in {secs:.1}s{across} ({:.0} runs/s), {failed} failed",
        results.len(),
        results.len() as f64 / secs.max(1e-9)
    );
    let groups = failure_groups(plan, results);
    let bar = progress_bar(SHRINK_REPLAYS_MAX.min(groups.len() * 100), "shrink replays");
    let ticker = bar.clone();
    let budget = ShrinkBudget::new(SHRINK_REPLAYS_MAX, move || {
        if let Some(bar) = &ticker {
            bar.inc(1);
        }
    });
    for group in &groups {
        print_group(group, &budget, out);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for run in results.iter().filter(|r| r.divergence.is_some()) {
        print_divergence(run, out);
    }
    // The closing line in the form test runners use, so CI logs read the verdict.
    let _ = writeln!(
        out,
        "\nexplore: {} passed, {failed} failed",
        results.len() - failed
    );
    failed == 0
}

/// The failures grouped by scenario and broken checks, in campaign order of their first run.
fn failure_groups<'a>(plan: &'a Plan, results: &'a [RunResult]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for run in results.iter().filter(|r| !r.violations.is_empty()) {
        let checks = run.checks();
        let entry = &plan.entries[plan.jobs[run.index].entry];
        match groups
            .iter_mut()
            .find(|g| g.entry.id() == run.scenario && g.checks == checks)
        {
            Some(group) => group.runs.push(run),
            None => groups.push(Group {
                entry,
                checks,
                runs: vec![run],
            }),
        }
    }
    groups
}

fn print_group(group: &Group<'_>, budget: &ShrinkBudget, out: &mut impl Write) {
    let first = group.runs[0];
    let seed = Seed(first.seed);
    let faults = shrink(group.entry, seed, budget);
    let _ = writeln!(out, "\nFAIL {} seed {seed}", group.entry.id());
    for violation in first.violations.iter().take(5) {
        let _ = writeln!(out, "  {violation}");
    }
    for line in reproduction(group.entry, seed, &faults) {
        let _ = writeln!(out, "  reproduce: {line}");
    }
    let others = &group.runs[1..];
    if !others.is_empty() {
        let listed: Vec<String> = others
            .iter()
            .take(SEEDS_LISTED_MAX)
            .map(|r| r.seed.to_string())
            .collect();
        let more = if others.len() > SEEDS_LISTED_MAX {
            ", …"
        } else {
            ""
        };
        let names: Vec<&str> = group.checks.iter().map(|c| c.name()).collect();
        let _ = writeln!(
            out,
            "  and {} more seeds broke the same checks ({}): {}{more}",
            others.len(),
            names.join(", "),
            listed.join(", ")
        );
    }
}

fn print_divergence(run: &RunResult, out: &mut impl Write) {
    let Some(d) = &run.divergence else { return };
    let _ = writeln!(out, "\nNONDETERMINISTIC {} seed {}", run.scenario, run.seed);
    let _ = writeln!(out, "  two runs diverged at event {}:", d.event);
    let _ = writeln!(out, "    first:  {}", d.first);
    let _ = writeln!(out, "    second: {}", d.second);
}

fn print_table(plan: &Plan, results: &[RunResult], out: &mut impl Write) {
    let _ = writeln!(
        out,
        "\n{:<18} {:>6} {:>8}  faults exercised (runs where each fired)",
        "family", "runs", "failures"
    );
    for family in catalogue::families() {
        let rows: Vec<&RunResult> = results
            .iter()
            .filter(|r| plan.entries[plan.jobs[r.index].entry].family == family)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let failures = rows.iter().filter(|r| !r.passed()).count();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for row in &rows {
            for kind in row.faults.keys() {
                *kinds.entry(kind).or_insert(0) += 1;
            }
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(
            out,
            "{family:<18} {:>6} {failures:>8}  {}",
            rows.len(),
            kinds.join(", ")
        );
    }
}
