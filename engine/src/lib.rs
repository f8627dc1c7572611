//! twine's sans-IO HTTP/1.1 server channel.
//!
//! A [`Channel`] is one server connection as a pure state machine. It never touches a socket,
//! a clock or a random number generator: the driver feeds it [`Input`]s (bytes, peer EOF,
//! transport blocked/writable, timeouts, application commands, each stamped with `now`) and
//! drains [`Output`]s (bytes to write, request events, producer transitions, read pause/resume,
//! timer changes, shutdown and close orders).
//!
//! The rule of the run loop (str0m's): *after every `handle_input`, drain `poll_output` to
//! `None`, then wait on `poll_timeout()`*.
//!
//! ```
//! use twine_engine::{AppCommand, Channel, Config, Event, Input, Instant, Output, ResponseHead};
//!
//! let mut channel = Channel::new(Config::new(), Instant::ZERO);
//! let now = Instant::from_millis(1);
//! channel.handle_input(Input::Received { now, bytes: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" })?;
//! let mut wire = Vec::new();
//! let mut commands = Vec::new();
//! while let Some(output) = channel.poll_output() {
//!     match output {
//!         Output::Event(Event::Request { id, .. }) => {
//!             let head = ResponseHead::new(200).with_header("Content-Length", "2");
//!             commands.push(AppCommand::SendHead { request: id, head });
//!             commands.push(AppCommand::SendBody { request: id, data: "ok".into() });
//!             commands.push(AppCommand::Finish { request: id });
//!         }
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
//!         _ => {}
//!     }
//! }
//! for command in commands {
//!     channel.handle_input(Input::App { now, command })?;
//! }
//! while let Some(output) = channel.poll_output() {
//!     if let Output::Transmit(bytes) = output {
//!         wire.extend_from_slice(&bytes);
//!     }
//! }
//! assert_eq!(wire, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: twine\r\n\r\nok");
//! // The next deadline: the keep-alive idle timer.
//! assert_eq!(channel.poll_timeout(), Some(now + std::time::Duration::from_secs(15)));
//! # Ok::<(), twine_engine::UsageError>(())
//! ```

mod auto;
mod channel;
mod client;
pub mod config;
mod date;
pub mod error;
pub mod h2;
pub mod io;
pub mod message;
pub mod proxy;
pub mod time;
mod timer;

pub(crate) mod h1;

/// Fuzz properties for `fuzz/` and the corpus replay in `cargo test`; not part of the API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;

pub use auto::{AutoConnection, Protocol};
pub use channel::Channel;
pub use client::ClientConnection;
pub use config::{ClientConfig, ClientTimeouts, Config, H2Limits, Limits, Timeouts, TimerReports};
pub use error::{ProtocolError, ProtocolErrorKind, SendError, UsageError};
pub use io::{
    AppCommand, CloseReason, Connection, ConnectionInfo, Event, Input, Output, ProducerKind,
    ProducerState, ReadState, RequestId, Timer, TimerChange, TransportState,
};
pub use message::{BodyLength, Header, Headers, Method, RequestHead, ResponseHead, Version};
pub use time::{Duration, Instant};
