//! The deterministic network chaos harness: the real twine engine and driver on turmoil's
//! simulated network, with seeded faults, scripted raw-byte clients, a trace of everything,
//! and invariant checks over every trace.
//!
//! A run is a pure function of its seed: every random choice comes from a labelled fork of the
//! one root seed ([`rng`]), turmoil gets a seed and a fixed epoch, and the build uses
//! `--cfg tokio_unstable` so `select!` order and task panics are deterministic and visible.
//!
//! The modules, from the bottom up (none imports one above it): [`event`] (what a trace
//! records, typed) and [`escape`]; [`window_grants`] (the WINDOW_UPDATEs an HTTP/2 client
//! owes) and [`sabotage`] (a broken engine, for the checkers' own tests), which know only the
//! engine; [`net`] (the simulated network's shared state: byte-accurate in-flight bounds, the
//! FIN rule) and [`pending`] (what can still happen, and when: quiescence, idle spans);
//! [`trace`] (the append-only recorder, its folded text and JSON forms, the HTTP/2 frames it
//! decodes) and [`pattern`] (typed matchers for expectations); [`fault`] (`FaultyStream`),
//! [`client`] (scripted clients), [`link`] (the proxy's upstream links) and `server`,
//! [`proxy`]; [`scenario`] and [`swarm`] (the knobs a seed draws); [`invariants`] (the
//! checkers: the wire, the server's trace, the engine's promises, HTTP/2's frames and windows,
//! liveness, desync); [`mod@run`].

// Without tokio's unstable cfg, turmoil cannot seed `select!` or surface task panics, and a
// run would no longer be a function of its seed (notes/turmoil.md A4).
#[cfg(not(tokio_unstable))]
compile_error!(
    "twine-sim must be built with --cfg tokio_unstable (the workspace's .cargo/config.toml \
     sets it; a RUSTFLAGS variable overrides that file, so add it there too)"
);

pub mod client;
pub mod escape;
pub mod event;
pub mod fault;
pub mod hpack_reference;
pub mod invariants;
pub mod link;
pub mod net;
mod observer;
pub mod pattern;
pub mod pending;
pub mod proxy;
pub mod rng;
pub mod run;
pub mod sabotage;
pub mod scenario;
pub mod server;
pub mod swarm;
pub mod trace;
pub mod window_grants;

pub use client::{Action, ClientLog, ClientScript, Fragments, Grants, ReadPolicy};
pub use event::{
    AppAction, Check, ClientEvent, Decision, Event, Fault, NetFault, ServerEvent, Side, Violation,
};
pub use fault::{Chaos, FaultPlan, Keep, RandomOffset, SendWindow, StreamFaults};
pub use hpack_reference::{ReferenceDecoder, ReferenceEncoder};
pub use pattern::Pattern;
pub use rng::{Seed, SimRng};
pub use run::{run, Outcome};
pub use sabotage::Sabotage;
pub use scenario::{
    app, AppFactory, Latency, Negotiation, Origin, OriginStep, ProxySetup, Scenario, Stepping,
};
pub use swarm::{Knob, Knobs};
pub use trace::{Recorder, Trace};
