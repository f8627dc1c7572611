//! The simulation commands of the real `twine` binary: `list`, `run`, `replay`, `explore`, and
//! their errors. Each test runs the binary and checks its output and exit code.

use std::process::{Command, Output};

fn twine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twine"))
        .args(args)
        .output()
        .expect("twine runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn list_names_every_scenario_once_with_its_description() {
    let output = twine(&["list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    let catalogue: Vec<String> = twine_scenarios::catalogue::all()
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(ids, catalogue);
    assert!(
        text.lines().all(|l| l.split_whitespace().count() > 2),
        "each has a description"
    );
}

#[test]
fn run_prints_a_verdict() {
    let output = twine(&["run", "keep_alive/http10_keep_alive"]);
    assert!(output.status.success());
    assert!(stdout(&output).starts_with("PASS keep_alive/http10_keep_alive seed 1 ("));
    let swarm = twine(&[
        "run",
        "keep_alive/http10_keep_alive",
        "--seed",
        "9",
        "--swarm",
    ]);
    assert!(swarm.status.success(), "{}", stdout(&swarm));
}

#[test]
fn replay_prints_the_snapshot_trace_identically_every_time() {
    let first = twine(&["replay", "keep_alive/http10_keep_alive", "--seed", "1"]);
    let second = twine(&["replay", "keep_alive/http10_keep_alive", "--seed", "1"]);
    assert!(first.status.success());
    assert_eq!(first.stdout, second.stdout);
    let snapshot = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../snapshots/keep_alive/http10_keep_alive.snap"
    ))
    .unwrap();
    // The snapshot is the trace after insta's header.
    let body = snapshot.splitn(3, "---\n").nth(2).unwrap();
    assert_eq!(stdout(&first).trim_end(), body.trim_end());
    let json = twine(&[
        "replay",
        "keep_alive/http10_keep_alive",
        "--seed",
        "1",
        "--json",
    ]);
    let lines = stdout(&json);
    assert_eq!(lines.lines().count(), stdout(&first).lines().count());
    assert!(lines
        .lines()
        .all(|l| l.starts_with("{\"at_nanos\":") && l.ends_with('}')));
}

/// Stepping every tick is an escape hatch: it must print the very trace skipping prints.
#[test]
fn a_replay_stepped_every_tick_prints_the_same_trace() {
    let args = [
        "replay",
        "timeouts/header_read_silent",
        "--seed",
        "3",
        "--swarm",
    ];
    let skipping = twine(&args);
    let every_tick = twine(&[&args[..], &["--every-tick"]].concat());
    assert!(stdout(&skipping).contains("fired"), "{}", stdout(&skipping));
    assert_eq!(stdout(&skipping), stdout(&every_tick));
    assert_eq!(skipping.status.code(), every_tick.status.code());
}

#[test]
fn swarm_replays_are_identical_too() {
    let args = [
        "replay",
        "backpressure/slow_window_stream",
        "--seed",
        "77",
        "--swarm",
    ];
    let first = twine(&args);
    let second = twine(&args);
    assert_eq!(first.stdout, second.stdout);
    assert!(
        stdout(&first).contains("#   slow reader = "),
        "the knobs are at the top"
    );
}

#[test]
fn explore_runs_a_campaign_and_reports_per_family() {
    let args = [
        "explore",
        "--seeds",
        "3",
        "--family",
        "keep_alive",
        "--family",
        "chunked",
    ];
    let output = twine(&[&args[..], &["--seed", "5", "--jobs", "2"]].concat());
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.starts_with("explore: root seed 5 "),
        "the seed comes first: {text}"
    );
    let row = |family: &str| {
        text.lines()
            .find(|l| l.starts_with(family))
            .map(str::to_string)
    };
    let keep_alive = row("keep_alive").expect("a keep_alive row");
    assert_eq!(
        keep_alive.split_whitespace().nth(1),
        Some("21"),
        "7 scenarios × 3 seeds"
    );
    assert!(row("chunked").is_some());
    assert!(row("pipelining").is_none(), "only the families asked for");
    assert!(text.contains(" 0 failed"));
    assert_eq!(
        text.lines().last(),
        Some("explore: 108 passed, 0 failed"),
        "the closing line"
    );
    // The same root seed gives the same report, bar the timing.
    let again = stdout(&twine(
        &[&args[..], &["--seed", "5", "--jobs", "1"]].concat(),
    ));
    let table = |t: &str| {
        t.lines()
            .filter(|l| !l.contains(" runs in "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(table(&text), table(&again));
}

#[test]
fn mistakes_are_one_line_and_exit_2() {
    for args in [
        &["run", "no/such"][..],
        &["replay", "keep_alive/idle_timeout"],
        &["run", "keep_alive/idle_timeout", "--faults", "gremlins"],
        &["explore", "--family", "nope"],
        &["explore", "--family", "keep_alive", "--family", "nope"],
        &["explore", "--seeds", "x"],
        &["explore", "--seeds", "0"],
        &["explore", "--jobs", "0"],
        &["explore", "--seed", "1", "--shard", "2/3"],
        &[
            "explore",
            "--seed",
            "1",
            "--shard",
            "4/3",
            "--json",
            "/tmp/x.json",
        ],
        &["explore", "--shard", "1/3", "--json", "/tmp/x.json"],
        &["explore", "merge"],
        &["explore", "merge", "/nonexistent/shard-1.json"],
        &["explore", "merge", "Cargo.toml"],
    ] {
        let output = twine(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{args:?}: nothing on stdout before the error"
        );
    }
}

#[test]
fn faults_help_names_every_fault_kind_and_each_is_accepted() {
    for command in ["run", "replay"] {
        let help = stdout(&twine(&[command, "--help"]));
        // clap wraps the help; compare it without line breaks.
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for knob in twine_sim::Knob::ALL {
            assert!(
                help.contains(knob.name()),
                "{command} --help lacks {}",
                knob.name()
            );
        }
    }
    for knob in twine_sim::Knob::ALL {
        let output = twine(&[
            "run",
            "keep_alive/http10_keep_alive",
            "--seed",
            "3",
            "--faults",
            knob.name(),
        ]);
        assert!(
            output.status.success(),
            "--faults {}: {}",
            knob.name(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A proxy run's JSON trace names each link connection apart from the entry's own `conn` (the
/// client connection): no line carries a key twice, which JSON readers would resolve by
/// keeping one of the two.
#[test]
fn json_trace_of_a_proxy_run_has_one_conn_key_per_line() {
    let json = stdout(&twine(&[
        "replay",
        "proxy/get_through",
        "--seed",
        "1",
        "--json",
    ]));
    let links = json
        .lines()
        .filter(|l| l.contains("\"proxy_conn\":"))
        .count();
    assert!(links > 0, "the proxy's own connection appears: {json}");
    assert!(json.contains("\"origin_conn\":"), "the origin's too");
    for line in json.lines() {
        assert_eq!(line.matches("\"conn\":").count(), 1, "{line}");
    }
}
