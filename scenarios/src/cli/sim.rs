//! The simulation commands: `list`, `run`, `replay` and `explore`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant as WallInstant;

use clap::{Args, Subcommand};
use twine_sim::{Knob, Outcome, Seed, Stepping};

use super::Failure;
use crate::campaign::{self, report, run_jobs, CampaignFile, Plan, Shard};
use crate::catalogue::{self, Entry};
use crate::execute::{execute, execute_stepped, parse_keep, reproduction, Faults};

/// How faults are chosen for `run` and `replay`.
#[derive(Debug, Args)]
pub(crate) struct FaultArgs {
    /// Add the swarm faults this seed chooses (as `twine explore` does).
    #[arg(long, conflicts_with = "faults")]
    swarm: bool,
    /// Add only these swarm faults, of those the seed chooses: a comma-separated list of
    /// read-fragments, write-fragments, slow-reader, read-stalls, jitter, half-close, reset,
    /// stall, config, slow-sender, give-up, hold, partition, restart, drain, resegment (or `none`).
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
    #[arg(required_unless_present = "recording")]
    scenario: Option<String>,
    /// The seed to replay.
    #[arg(long, required_unless_present = "recording")]
    seed: Option<u64>,
    /// Run a connection recorded by `twine serve --record DIR` (a `.twinerec` file) instead
    /// of a scenario: the recorded server's app and flags, and a client that sends what the
    /// recorded one sent, when it sent it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scenario", "swarm", "faults", "keep"])]
    recording: Option<PathBuf>,
    #[command(flatten)]
    faults: FaultArgs,
    /// Print JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Step every simulated millisecond instead of taking idle spans at once: the same
    /// trace, slower (to rule the skipping out when a run looks wrong).
    #[arg(long)]
    every_tick: bool,
}

/// Arguments of `twine explore`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ExploreArgs {
    #[command(subcommand)]
    command: Option<ExploreCommand>,
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
    /// Run every seed twice and compare the traces; a divergence fails the campaign and names
    /// the first diverging event.
    #[arg(long)]
    check_determinism: bool,
    /// Run only shard K of N of the campaign (every N-th job from the K-th; 1 <= K <= N), for
    /// a batch engine; needs --json and --seed.
    #[arg(long, value_name = "K/N", value_parser = parse_shard, requires_all = ["json", "seed"])]
    shard: Option<Shard>,
    /// Also write the results to FILE as JSON, for `twine explore merge`.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// `twine explore merge`.
#[derive(Debug, Subcommand)]
enum ExploreCommand {
    /// Print the report of a campaign run as shards, from every shard's --json file, exactly as
    /// one machine running it whole would (exit code included).
    Merge {
        /// The shards' files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text)
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
    let stepping = match args.every_tick {
        true => Stepping::EveryTick,
        false => Stepping::SkipIdle,
    };
    let outcome = match (&args.recording, &args.scenario, args.seed) {
        (Some(path), _, seed) => {
            let mut scenario = super::recording::scenario(path)?;
            scenario.stepping = stepping;
            twine_sim::run(&scenario, Seed(seed.unwrap_or(1)))
        }
        (None, Some(id), Some(seed)) => {
            let entry = find(id)?;
            let faults = args.faults.faults()?;
            execute_stepped(&entry, Seed(seed), &faults, stepping)
        }
        // clap requires both without a recording.
        (None, _, _) => return Err(Failure::usage("a scenario and --seed, or --recording")),
    };
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

pub(crate) fn explore(args: ExploreArgs) -> Result<ExitCode, Failure> {
    if let Some(ExploreCommand::Merge { files }) = args.command {
        return merge(&files);
    }
    let root = Seed(args.seed.unwrap_or_else(draw_root_seed));
    let plan =
        Plan::new(root, args.seeds, args.family, args.check_determinism).map_err(Failure::usage)?;
    let shard = args.shard.unwrap_or(Shard::ALL);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "explore: root seed {root} (rerun this campaign with --seed {root})"
    );
    if shard != Shard::ALL {
        let _ = writeln!(out, "explore: shard {}/{}", shard.index, shard.count);
    }
    let _ = out.flush();
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = WallInstant::now();
    let results = run_jobs(&plan, &plan.shard(shard), workers);
    let elapsed = started.elapsed();
    if let Some(path) = &args.json {
        let file = CampaignFile::new(&plan, shard, results.clone(), elapsed);
        write_json(path, &file)?;
    }
    if shard != Shard::ALL {
        // A shard's report is partial; `twine explore merge` prints the campaign's.
        let failed = results.iter().filter(|r| !r.passed()).count();
        let _ = writeln!(
            out,
            "explore: shard {}/{}: {} runs in {:.1}s, {failed} failed (merge the shards' files \
             for the report)",
            shard.index,
            shard.count,
            results.len(),
            elapsed.as_secs_f64()
        );
        return Ok(exit(failed == 0));
    }
    Ok(exit(report(&plan, &results, elapsed, 1, &mut out)))
}

fn merge(paths: &[PathBuf]) -> Result<ExitCode, Failure> {
    let files = paths
        .iter()
        .map(|path| read_json(path))
        .collect::<Result<Vec<CampaignFile>, Failure>>()?;
    let shards = files.len();
    let (plan, results, elapsed) = campaign::merge(files).map_err(Failure::usage)?;
    let mut out = std::io::stdout().lock();
    let root = plan.root;
    let _ = writeln!(
        out,
        "explore: root seed {root} (rerun this campaign with --seed {root})"
    );
    Ok(exit(report(&plan, &results, elapsed, shards, &mut out)))
}

fn write_json(path: &Path, file: &CampaignFile) -> Result<(), Failure> {
    let text = serde_json::to_string(file)
        .map_err(|e| Failure::usage(format!("cannot encode the results: {e}")))?;
    std::fs::write(path, text)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))
}

fn read_json(path: &Path) -> Result<CampaignFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "{} is not a twine campaign file: {e}",
            path.display()
        ))
    })
}

/// The root seed when none is given: the one place a campaign draws entropy, printed first.
fn draw_root_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}
