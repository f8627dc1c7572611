//! Campaigns past one machine, and failing campaigns kept short: a campaign run as shards and
//! merged prints exactly the report one machine prints (bar the line with the wall-clock
//! time), exit code included; and a campaign where many seeds fail the same way shrinks one of
//! them and counts the rest.
//!
//! Method: the library's own plan, runs, merge and report, on a small slice of the catalogue
//! and on a deliberately fragile scenario (an app that panics on a short body chunk, which the
//! swarm's read fragmentation causes).

mod fragile;

use std::rc::Rc;
use std::time::Duration;

use twine_driver::App;
use twine_engine::{AppCommand, Config, Event, Instant};
use twine_scenarios::campaign::{merge, report, run_jobs, CampaignFile, Plan, Shard};
use twine_scenarios::catalogue::Entry;
use twine_sim::{ClientScript, Knob, Knobs, Scenario, Seed};

/// The report without its wall-clock line.
fn report_text(plan: &Plan, results: &[twine_scenarios::campaign::RunResult]) -> (String, bool) {
    let mut out = Vec::new();
    let passed = report(plan, results, Duration::from_secs(1), 1, &mut out);
    let text = String::from_utf8(out).expect("the report is text");
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains(" runs in ")).collect();
    (kept.join("\n"), passed)
}

/// Runs `plan` as `count` shards, round-trips each shard's file through JSON, and merges them.
fn sharded(plan: &Plan, count: usize) -> (Plan, Vec<twine_scenarios::campaign::RunResult>) {
    let files: Vec<CampaignFile> = (1..=count)
        .map(|index| {
            let shard = Shard { index, count };
            let runs = run_jobs(plan, &plan.shard(shard), 1);
            let file = CampaignFile::new(plan, shard, runs, Duration::from_millis(5));
            let json = serde_json::to_string(&file).expect("a file encodes");
            serde_json::from_str(&json).expect("a file decodes")
        })
        .collect();
    let (merged, runs, elapsed) = merge(files).expect("the shards merge");
    assert_eq!(elapsed, Duration::from_millis(5 * count as u64));
    (merged, runs)
}

#[test]
fn shards_merged_print_the_report_of_one_run() {
    let families = vec!["keep_alive".to_string(), "resets".to_string()];
    let plan = Plan::new(Seed(7), 3, families, false).expect("known families");
    assert_eq!(
        plan.jobs.len(),
        (7 + 7) * 3,
        "7 keep_alive and 7 resets scenarios"
    );
    let whole = run_jobs(&plan, &plan.jobs, 2);
    let (one, passed) = report_text(&plan, &whole);
    assert!(passed, "{one}");
    for count in [2, 3, 5] {
        let (merged_plan, merged) = sharded(&plan, count);
        assert_eq!(merged, whole, "{count} shards give the same results");
        assert_eq!(report_text(&merged_plan, &merged), (one.clone(), true));
    }
    // Every job is in exactly one shard.
    let mut indexes: Vec<usize> = (1..=4)
        .flat_map(|index| plan.shard(Shard { index, count: 4 }))
        .map(|job| job.index)
        .collect();
    indexes.sort();
    assert_eq!(indexes, (0..plan.jobs.len()).collect::<Vec<_>>());
}

#[test]
fn merging_refuses_what_is_not_one_whole_campaign() {
    let plan = Plan::new(Seed(7), 1, vec!["keep_alive".into()], false).expect("known family");
    let file = |index, count| {
        let shard = Shard { index, count };
        CampaignFile::new(
            &plan,
            shard,
            run_jobs(&plan, &plan.shard(shard), 1),
            Duration::ZERO,
        )
    };
    let error = |files| merge(files).err().expect("refused");
    assert_eq!(error(vec![file(1, 2)]), "shard 2/2 is missing");
    assert_eq!(error(vec![file(1, 2), file(1, 2)]), "shard 1/2 given twice");
    let other = Plan::new(Seed(8), 1, vec!["keep_alive".into()], false).expect("known family");
    let foreign = CampaignFile::new(
        &other,
        Shard { index: 2, count: 2 },
        Vec::new(),
        Duration::ZERO,
    );
    assert!(error(vec![file(1, 2), foreign]).starts_with("the files are not shards of one"));
    let mut short = file(2, 2);
    short.runs.pop();
    assert_eq!(
        error(vec![file(1, 2), short]),
        "the shards' results do not cover the campaign's jobs exactly"
    );
    assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
    for bad in ["0/8", "9/8", "8", "a/b", "1/0"] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn many_failures_of_one_kind_are_one_group_shrunk_once() {
    let entry = fragile::FRAGILE;
    let mut plan = Plan::new(Seed(3), 1, vec!["keep_alive".into()], false).expect("family");
    plan.entries = vec![entry];
    plan.jobs = (0..40)
        .map(|index| twine_scenarios::campaign::Job {
            index,
            entry: 0,
            seed: Seed(1000 + index as u64),
        })
        .collect();
    let results = run_jobs(&plan, &plan.jobs, 2);
    let failed = results.iter().filter(|r| !r.passed()).count();
    assert!(
        failed >= 5,
        "read fragmentation breaks many seeds: {failed}"
    );
    let (text, passed) = report_text(&plan, &results);
    assert!(!passed);
    assert_eq!(
        text.matches("\nFAIL shrink/fragile seed").count(),
        1,
        "{text}"
    );
    let more = format!(
        "  and {} more seeds broke the same checks (panic): ",
        failed - 1
    );
    assert!(text.contains(&more), "{text}");
    assert!(text.ends_with(&format!("explore: {} passed, {failed} failed", 40 - failed)));
}

/// Answers every request with a body counting the requests this process ever served: a leak
/// of state between runs, which no seed controls.
#[derive(Default)]
struct Leaky;

static SERVED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl App for Leaky {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        if let Event::Request { id, .. } = event {
            let n = SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let body = format!("{n:08}");
            let head = twine_engine::ResponseHead::new(200).with_header("Content-Length", "8");
            commands.push(AppCommand::SendHead { request: id, head });
            commands.push(AppCommand::SendBody {
                request: id,
                data: body.into(),
            });
            commands.push(AppCommand::Finish { request: id });
        }
    }
}

#[test]
fn check_determinism_names_the_first_diverging_event() {
    let entry = Entry {
        family: "campaign",
        name: "leaky",
        about: "an app whose answers depend on the process, not the seed",
        seed: 0,
        build: |_| {
            let app: twine_sim::AppFactory = Rc::new(|| Box::new(Leaky));
            let mut scenario = Scenario::new("campaign/leaky", Config::new(), app);
            let get = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
            scenario.clients.push(ClientScript::new().send(get));
            scenario
        },
        expect: |_| Vec::new(),
    };
    let mut plan = Plan::new(Seed(3), 1, vec!["keep_alive".into()], true).expect("family");
    plan.entries = vec![entry];
    // A seed whose swarm is survivable, so the response arrives in both runs, and no
    // resegment run (its writes are cut).
    let destructive = [
        Knob::HalfClose,
        Knob::Reset,
        Knob::Stall,
        Knob::GiveUp,
        Knob::Partition,
    ];
    let seed = (1..)
        .map(Seed)
        .find(|&s| {
            let active = Knobs::draw(s).active();
            !destructive.iter().any(|k| active.contains(k))
                && !active.contains(&Knob::Restart)
                && !active.contains(&Knob::Resegment)
        })
        .expect("some seed is survivable");
    plan.jobs = vec![twine_scenarios::campaign::Job {
        index: 0,
        entry: 0,
        seed,
    }];
    let results = run_jobs(&plan, &plan.jobs, 1);
    let divergence = results[0].divergence.clone().expect("the runs diverged");
    // The response (head and body in one segment): its body counts the requests served so
    // far, then one more.
    assert!(
        divergence.first.contains(" c0  s→c \"HTTP/1.1 200 OK")
            && divergence.first.ends_with("\\r\\n\\r\\n00000000\""),
        "{divergence:?}"
    );
    assert_ne!(divergence.first, divergence.second);
    let (text, passed) = report_text(&plan, &results);
    assert!(!passed);
    assert!(
        text.contains(&format!(
            "NONDETERMINISTIC campaign/leaky seed {seed}\n  two runs diverged at event {}:",
            divergence.event
        )),
        "{text}"
    );
}
