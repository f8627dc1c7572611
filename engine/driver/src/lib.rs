//! The only async code of twine: runs a sans-IO [`Channel`](twine_engine::Channel) and an
//! [`App`] over any `AsyncRead + AsyncWrite + Unpin` stream, with `tokio::time` for the clock.
//!
//! The same loop runs the real server (tokio sockets, real time) and the simulation (turmoil
//! sockets, whose tokio time is simulated), so it uses nothing else: no socket options, no
//! `std::time`, and waits polled in a fixed order, so that a simulated run is a pure function
//! of its seed.

pub mod app;
mod clock;
mod connection;
mod drain;
pub mod proxy;
mod write_queue;

pub use app::{App, NewApp};
pub use clock::Clock;
pub use connection::{run_connection, ConnectionEnd, Observer, RunOptions};
pub use drain::Drain;
