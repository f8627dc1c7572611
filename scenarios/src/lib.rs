//! twine's scenario catalogue and command line.
//!
//! - [`catalogue`]: every scenario family and its scenarios.
//! - [`execute`]: running a scenario exactly or under swarm faults, shrinking failures.
//! - [`campaign`]: `twine explore`'s plan of jobs, shards, results and report.
//! - [`watchdog`]: a failure report, not a hang, when a simulated run never ends.
//! - `cli`: the `twine` command (`list`, `run`, `replay`, `explore`, `serve`).

pub mod campaign;
pub mod catalogue;
pub mod cli;
pub mod execute;
pub mod watchdog;
