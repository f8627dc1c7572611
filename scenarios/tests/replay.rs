//! Replays. With `TWINE_REPLAY='family/name --seed N [--swarm | --faults LIST]'` (the line a
//! failure report prints) it replays that run twice, prints its trace, and fails exactly when
//! the run fails or the two traces differ. Without it, it replays every catalogue scenario
//! twice, exactly and under its seed's swarm faults, and requires identical traces.

use twine_scenarios::catalogue;
use twine_scenarios::execute::{execute, parse_keep, Faults};
use twine_sim::{Knob, Seed};

fn parse(line: &str) -> (String, Seed, Faults) {
    let mut words = line.split_whitespace();
    let id = words
        .next()
        .expect("TWINE_REPLAY starts with family/name")
        .to_string();
    let (mut seed, mut faults) = (None, Faults::Exact);
    while let Some(word) = words.next() {
        match word {
            "--seed" => seed = words.next().and_then(|s| s.parse().ok()),
            "--swarm" => faults = Faults::swarm(),
            "--faults" => {
                let list = words.next().unwrap_or("none");
                let knobs = list
                    .split(',')
                    .filter(|name| *name != "none")
                    .map(|name| Knob::from_name(name).expect("--faults names knobs or none"))
                    .collect();
                faults = Faults::knobs(knobs);
            }
            "--keep" => {
                let list = words.next().unwrap_or("none");
                let keep = parse_keep(list).expect("--keep takes conn:decision pairs");
                if let Faults::Swarm { keep: slot, .. } = &mut faults {
                    *slot = Some(keep);
                }
            }
            other => panic!("unexpected {other:?} in TWINE_REPLAY"),
        }
    }
    (id, Seed(seed.expect("TWINE_REPLAY needs --seed N")), faults)
}

#[test]
fn replay() {
    let requested = std::env::var("TWINE_REPLAY").ok();
    let runs: Vec<(String, Seed, Faults)> = match &requested {
        Some(line) => vec![parse(line)],
        None => catalogue::all()
            .into_iter()
            .flat_map(|e| {
                [
                    (e.id(), Seed(e.seed), Faults::Exact),
                    (e.id(), Seed(e.seed), Faults::swarm()),
                ]
            })
            .collect(),
    };
    for (id, seed, faults) in runs {
        let entry = catalogue::find(&id).unwrap_or_else(|| panic!("no scenario {id}"));
        let first = execute(&entry, seed, &faults);
        let second = execute(&entry, seed, &faults);
        if let Some((index, a, b)) = first.trace.first_difference(&second.trace) {
            panic!("{id} seed {seed} is not deterministic: event {index}\n  first:  {a}\n  second: {b}");
        }
        if requested.is_some() {
            print!("{}", first.trace.to_text());
            assert!(
                first.passed(),
                "{id} seed {seed} failed:\n{}",
                first.report()
            );
        }
    }
}
