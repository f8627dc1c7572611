//! Small builders shared by the families.

use twine_apps::{Echo, Stream};
use twine_engine::Config;
use twine_sim::{app, Scenario};

/// A scenario running the echo app.
pub fn echo(name: &str, config: Config) -> Scenario {
    Scenario::new(name, config, app::<Echo>())
}

/// A scenario running the stream app (`GET /stream/<n>`).
pub fn stream(name: &str, config: Config) -> Scenario {
    Scenario::new(name, config, app::<Stream>())
}

/// Every connection's client reads slowly: at most `bytes` in flight, drained at
/// `drain_bytes_per_ms` (the server sees real backpressure; see `twine_sim::SendWindow`).
pub fn slow_reader(bytes: usize, drain_bytes_per_ms: usize) -> twine_sim::FaultPlan {
    let window = twine_sim::SendWindow {
        bytes,
        drain_bytes_per_ms,
    };
    std::rc::Rc::new(move |_| twine_sim::StreamFaults {
        window: Some(window),
        ..twine_sim::StreamFaults::default()
    })
}
