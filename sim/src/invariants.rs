//! Invariant checks over a finished run (filled in below).

use crate::client::ClientLog;
use crate::run::Scenario;
use crate::trace::Trace;

/// Every violated invariant, as one line each.
pub fn check(_scenario: &Scenario, _trace: &Trace, _clients: &[ClientLog]) -> Vec<String> {
    Vec::new()
}
