//! twine's scenario catalogue and command line.
//!
//! - `cli`: the `twine` command (`serve`, and the simulation commands).

pub mod cli;
