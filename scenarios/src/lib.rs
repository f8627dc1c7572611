//! twine's scenario catalogue and command line.
//!
//! - [`catalogue`]: every scenario family and its scenarios.
//! - [`execute`]: running a scenario exactly or under swarm faults, shrinking failures.
//! - `cli`: the `twine` command (`list`, `run`, `replay`, `explore`, `serve`).

pub mod catalogue;
pub mod cli;
pub mod execute;
