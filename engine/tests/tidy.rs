//! Tidy (TigerBeetle's manner): house rules checked as a test. The engine depends on nothing
//! async, random or clock-like; engine, driver and sim lines are at most 100 columns; and
//! neither engine nor sim reads a clock, draws unseeded randomness or uses a randomised map.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files(dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        rust_files(&workspace().join(dir), &mut out);
    }
    assert!(!out.is_empty(), "no sources found under {dirs:?}");
    out
}

#[test]
fn the_engine_depends_on_nothing_async_random_or_clocked() {
    let manifest = std::fs::read_to_string(workspace().join("engine/Cargo.toml")).unwrap();
    let dependencies = manifest.split("[dependencies]").nth(1).unwrap_or("");
    let dependencies = dependencies.split("\n[").next().unwrap_or("");
    for banned in [
        "tokio", "rand", "turmoil", "futures", "async", "mio", "chrono", "time",
    ] {
        assert!(
            !dependencies
                .lines()
                .any(|l| l.trim_start().starts_with(banned)),
            "engine/Cargo.toml depends on {banned}: the engine is sans-IO"
        );
    }
}

#[test]
fn lines_are_at_most_100_columns() {
    let dirs = [
        "engine/src",
        "engine/driver/src",
        "engine/tests",
        "sim/src",
        "sim/tests",
    ];
    let mut long = Vec::new();
    for path in files(&dirs) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.chars().count() > 100 {
                long.push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "lines over 100 columns:\n{}",
        long.join("\n")
    );
}

#[test]
fn engine_and_sim_take_time_and_randomness_only_from_their_inputs() {
    // Simulated time is tokio's clock, imported under another name (`SimTime`) so that every
    // `Instant::now` left in these crates is a wall-clock read.
    let banned = [
        "Instant::now",
        "std::time::Instant",
        "SystemTime::now",
        "thread_rng",
        "rand::random",
        "OsRng",
        "from_entropy",
        "std::thread::sleep",
        "HashMap",
        "HashSet",
    ];
    let mut found = Vec::new();
    for path in files(&["engine/src", "sim/src"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in banned.iter().filter(|w| code.contains(*w)) {
                found.push(format!("{}:{}: {word}", path.display(), i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a simulated run must replay from its seed:\n{}",
        found.join("\n")
    );
}
