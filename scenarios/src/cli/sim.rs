//! The simulation commands: `list`, `run`, `replay` and `explore`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant as WallInstant;

use clap::Args;
use twine_sim::{Event, Fault, Knob, Knobs, Outcome, Seed, SimRng, Violation};

use super::Failure;
use crate::catalogue::{self, Entry};
use crate::execute::{execute, parse_keep, reproduction, shrink, Faults};

/// How faults are chosen for `run` and `replay`.
#[derive(Debug, Args)]
pub(crate) struct FaultArgs {
    /// Add the swarm faults this seed chooses (as `twine explore` does).
    #[arg(long, conflicts_with = "faults")]
    swarm: bool,
    /// Add only these swarm faults, of those the seed chooses: a comma-separated list of
    /// read-fragments, write-fragments, slow-reader, read-stalls, jitter (or `none`).
    #[arg(long, value_name = "LIST")]
    faults: Option<String>,
    /// Of those faults, let only these decisions fire: `conn:decision` pairs, comma-separated
    /// (or `none`), as a shrunk failure prints them.
    #[arg(long, value_name = "LIST")]
    keep: Option<String>,
}

impl FaultArgs {
    fn faults(&self) -> Result<Faults, Failure> {
        let knobs = match (&self.faults, self.swarm) {
            (None, false) if self.keep.is_none() => return Ok(Faults::Exact),
            (None, _) => Knob::ALL.to_vec(),
            (Some(list), _) if list == "none" => Vec::new(),
            (Some(list), _) => parse_knobs(list)?,
        };
        let keep = match &self.keep {
            None => None,
            Some(list) => Some(parse_keep(list).ok_or_else(|| {
                Failure::usage(format!(
                    "bad --keep list '{list}': expected conn:decision pairs"
                ))
            })?),
        };
        Ok(Faults::Swarm { knobs, keep })
    }
}

fn parse_knobs(list: &str) -> Result<Vec<Knob>, Failure> {
    list.split(',')
        .map(|name| {
            Knob::from_name(name.trim()).ok_or_else(|| {
                let names: Vec<&str> = Knob::ALL.iter().map(|k| k.name()).collect();
                Failure::usage(format!(
                    "unknown fault '{name}': expected one of {}",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

/// Arguments of `twine run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The scenario, `family/name` (see `twine list`).
    scenario: String,
    /// The seed [default: the scenario's own].
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    faults: FaultArgs,
}

/// Arguments of `twine replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The scenario, `family/name`.
    scenario: String,
    /// The seed to replay.
    #[arg(long)]
    seed: u64,
    #[command(flatten)]
    faults: FaultArgs,
    /// Print JSON lines instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `twine explore`.
#[derive(Debug, Args)]
pub(crate) struct ExploreArgs {
    /// Seeds per scenario.
    #[arg(long, default_value_t = 30,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    seeds: usize,
    /// Only this family (repeatable).
    #[arg(long, value_name = "FAMILY")]
    family: Vec<String>,
    /// Parallel runs [default: the number of cores].
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    jobs: Option<usize>,
    /// The campaign's root seed [default: drawn once and printed].
    #[arg(long)]
    seed: Option<u64>,
}

fn find(id: &str) -> Result<Entry, Failure> {
    catalogue::find(id)
        .ok_or_else(|| Failure::usage(format!("unknown scenario '{id}' (see twine list)")))
}

pub(crate) fn list() -> Result<ExitCode, Failure> {
    let mut out = std::io::stdout().lock();
    for entry in catalogue::all() {
        let _ = writeln!(out, "{:<44} {}", entry.id(), entry.about);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let entry = find(&args.scenario)?;
    let seed = Seed(args.seed.unwrap_or(entry.seed));
    let faults = args.faults.faults()?;
    let outcome = execute(&entry, seed, &faults);
    print_verdict(&entry, &outcome, &faults);
    Ok(exit(outcome.passed()))
}

pub(crate) fn replay(args: ReplayArgs) -> Result<ExitCode, Failure> {
    let entry = find(&args.scenario)?;
    let faults = args.faults.faults()?;
    let outcome = execute(&entry, Seed(args.seed), &faults);
    let text = if args.json {
        outcome.trace.to_json_lines()
    } else {
        outcome.trace.to_text()
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(exit(outcome.passed()))
}

fn exit(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_verdict(entry: &Entry, outcome: &Outcome, faults: &Faults) {
    let simulated = outcome.trace.entries.last().map_or(0, |e| e.at_nanos) / 1_000_000;
    if outcome.passed() {
        println!(
            "PASS {} seed {} ({} events, {simulated} ms simulated)",
            entry.id(),
            outcome.seed,
            outcome.trace.entries.len()
        );
        return;
    }
    println!("FAIL {} seed {}", entry.id(), outcome.seed);
    for violation in &outcome.violations {
        println!("  {violation}");
    }
    for line in reproduction(entry, outcome.seed, faults) {
        println!("  reproduce: {line}");
    }
}

/// One exploration run's result.
struct Result1 {
    entry: usize,
    seed: Seed,
    violations: Vec<Violation>,
    faults_fired: BTreeMap<&'static str, usize>,
}

pub(crate) fn explore(args: ExploreArgs) -> Result<ExitCode, Failure> {
    // Every named family must exist: a typo is an error, not a smaller campaign.
    let known = catalogue::families();
    if let Some(unknown) = args.family.iter().find(|f| !known.contains(&f.as_str())) {
        return Err(Failure::usage(format!(
            "unknown family '{unknown}': expected one of {}",
            known.join(", ")
        )));
    }
    let entries: Vec<Entry> = catalogue::all()
        .into_iter()
        .filter(|e| args.family.is_empty() || args.family.iter().any(|f| f == e.family))
        .collect();
    let root = Seed(args.seed.unwrap_or_else(draw_root_seed));
    println!("explore: root seed {root} (rerun this campaign with --seed {root})");
    let jobs: Vec<(usize, Seed)> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, entry)| {
            let mut rng = SimRng::fork(root, &format!("explore/{}", entry.id()));
            (0..args.seeds)
                .map(move |_| (i, Seed(rng.next_u64())))
                .collect::<Vec<_>>()
        })
        .collect();
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let started = WallInstant::now();
    let results = run_jobs(&entries, &jobs, workers);
    let elapsed = started.elapsed();
    print_table(&entries, &results);
    let failures: Vec<&Result1> = results
        .iter()
        .filter(|r| !r.violations.is_empty())
        .collect();
    println!(
        "{} runs in {:.1}s ({:.0} runs/s), {} failed",
        results.len(),
        elapsed.as_secs_f64(),
        results.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        failures.len()
    );
    for failure in &failures {
        let entry = &entries[failure.entry];
        let faults = shrink(entry, failure.seed);
        println!("\nFAIL {} seed {}", entry.id(), failure.seed);
        for violation in failure.violations.iter().take(5) {
            println!("  {violation}");
        }
        for line in reproduction(entry, failure.seed, &faults) {
            println!("  reproduce: {line}");
        }
    }
    // The closing line in the form test runners use, so CI logs read the verdict.
    let passed = results.len() - failures.len();
    println!("\nexplore: {passed} passed, {} failed", failures.len());
    Ok(exit(failures.is_empty()))
}

/// The root seed when none is given: the one place a campaign draws entropy, printed first.
fn draw_root_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}

fn run_jobs(entries: &[Entry], jobs: &[(usize, Seed)], workers: usize) -> Vec<Result1> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let bar = progress_bar(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(entry, seed)) = jobs.get(index) else {
                    break;
                };
                let outcome = execute(&entries[entry], seed, &Faults::swarm());
                let result = Result1 {
                    entry,
                    seed,
                    violations: outcome.violations.clone(),
                    faults_fired: faults_fired(&outcome),
                };
                if let Ok(mut results) = results.lock() {
                    results.push((index, result));
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Threads finish in any order; the report follows the job order.
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let style =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed} (eta {eta})");
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}

/// How often each kind of fault fired in a run, by the name `--faults` and the table use.
fn faults_fired(outcome: &Outcome) -> BTreeMap<&'static str, usize> {
    let mut fired = BTreeMap::new();
    for entry in &outcome.trace.entries {
        let Event::Fault { fault, .. } = &entry.event else {
            continue;
        };
        // The harness's own bookkeeping is no fault the seed chose.
        if matches!(fault, Fault::FinHeld { .. } | Fault::ChaosOver) {
            continue;
        }
        *fired.entry(fault.kind_name()).or_insert(0) += 1;
    }
    if Knobs::draw(outcome.seed).active().contains(&Knob::Jitter) {
        fired.insert(Knob::Jitter.name(), 1);
    }
    fired
}

fn print_table(entries: &[Entry], results: &[Result1]) {
    println!(
        "\n{:<18} {:>6} {:>8}  faults exercised (runs where each fired)",
        "family", "runs", "failures"
    );
    for family in catalogue::families() {
        let rows: Vec<&Result1> = results
            .iter()
            .filter(|r| entries[r.entry].family == family)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let failures = rows.iter().filter(|r| !r.violations.is_empty()).count();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for row in &rows {
            for kind in row.faults_fired.keys() {
                *kinds.entry(kind).or_insert(0) += 1;
            }
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "{family:<18} {:>6} {failures:>8}  {}",
            rows.len(),
            kinds.join(", ")
        );
    }
}
