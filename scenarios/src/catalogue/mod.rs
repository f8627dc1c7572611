//! The catalogue: every scenario family, one file each, each scenario a fixed seed plus a
//! description of what it proves. `twine list` prints it; the `cargo test` suites in
//! `scenarios/tests/` assert each scenario's trace against its snapshot in `snapshots/`.
//!
//! A scenario is a function from a seed to a [`Scenario`] (the seed feeds the clients' random
//! fragmentation and anything else the scenario draws), plus expectations of its own that are
//! checked on top of the harness's invariants.

mod app_api;
mod backpressure;
mod build;
mod chunked;
mod drain;
pub mod expect;
mod expect_continue;
mod framing;
mod half_close;
mod http2;
mod http2_malformed;
mod keep_alive;
mod limits;
mod lingering_close;
mod network;
mod partial_io;
mod pipelining;
mod proxy;
mod resets;
mod restart;
mod slow_peers;
mod static_files;
mod timeouts;

use std::time::Duration;

use twine_engine::{Config, Timeouts};
use twine_sim::{Outcome, Scenario, Seed, Violation};

pub use build::{echo, slow_reader, stream};

/// One scenario of the catalogue.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The family (one file in `catalogue/`, one test file, one snapshot folder).
    pub family: &'static str,
    /// The scenario's name within its family.
    pub name: &'static str,
    /// What it proves, in one line.
    pub about: &'static str,
    /// Its fixed seed: the run its snapshot records.
    pub seed: u64,
    /// Builds the scenario for a seed.
    pub build: fn(Seed) -> Scenario,
    /// Its own expectations: one line per failure.
    pub expect: fn(&Outcome) -> Vec<Violation>,
}

impl Entry {
    /// `family/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.family, self.name)
    }
}

/// Every scenario, family by family, in a fixed order.
pub fn all() -> Vec<Entry> {
    [
        keep_alive::ENTRIES,
        pipelining::ENTRIES,
        chunked::ENTRIES,
        framing::ENTRIES,
        limits::ENTRIES,
        expect_continue::ENTRIES,
        backpressure::ENTRIES,
        slow_peers::ENTRIES,
        half_close::ENTRIES,
        lingering_close::ENTRIES,
        timeouts::ENTRIES,
        partial_io::ENTRIES,
        resets::ENTRIES,
        restart::ENTRIES,
        drain::ENTRIES,
        network::ENTRIES,
        proxy::ENTRIES,
        app_api::ENTRIES,
        http2::ENTRIES,
        http2_malformed::ENTRIES,
        static_files::ENTRIES,
    ]
    .concat()
}

/// Scenarios whose expectations are about how their bytes were cut into segments, so a
/// resegment run ([`twine_sim::Knob::Resegment`]) keeps their own segments to check them, with
/// why (found by resegment runs, each failure read). Every other scenario's expectations must
/// hold however its bytes are cut.
const EXACT_SEGMENTS: &[(&str, &str)] = &[
    ("http2/ping_flood_not_read", BLOCKED_FIRST),
    ("http2/rapid_reset_flood", ANSWERED),
    ("pipelining/depth_three_out_of_order", ARRIVAL),
    ("proxy/client_leaves_mid_upload", ARRIVAL),
];
const ARRIVAL: &str =
    "expects every pipelined byte to have arrived when the app acts, which a cut delays";
const BLOCKED_FIRST: &str = "expects the idle timer to end the connection, but a short first read lets our SETTINGS block the transport first, and then the send-stall timer runs instead";
const ANSWERED: &str =
    "resets count only for streams not yet answered, and a cut lets the app answer some first";

/// Whether `entry`'s expectations only hold for the segments its script sends (see
/// [`EXACT_SEGMENTS`]).
pub fn expectations_need_exact_segments(entry: &Entry) -> bool {
    let id = entry.id();
    EXACT_SEGMENTS.iter().any(|(exact, _)| *exact == id)
}

/// The scenario called `family/name`.
pub fn find(id: &str) -> Option<Entry> {
    all().into_iter().find(|e| e.id() == id)
}

/// The families, in catalogue order.
pub fn families() -> Vec<&'static str> {
    let mut families: Vec<&'static str> = Vec::new();
    for entry in all() {
        if !families.contains(&entry.family) {
            families.push(entry.family);
        }
    }
    families
}

/// The engine configuration most scenarios use: Twisted's limits, with timers shortened so a
/// simulated run stays short (every timer still fires where a scenario waits for it).
pub fn quick_config() -> Config {
    let mut timeouts = Timeouts::default();
    timeouts.header_read = Duration::from_secs(10);
    timeouts.body_read = Duration::from_secs(10);
    timeouts.idle_keep_alive = Duration::from_secs(2);
    timeouts.send_stall = Duration::from_secs(10);
    timeouts.linger = Duration::from_secs(2);
    timeouts.abort = Duration::from_secs(3);
    Config::new().with_timeouts(timeouts)
}
