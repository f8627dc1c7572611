//! Small builders shared by the families.

use twine_driver::apps::{Echo, Stream};
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
