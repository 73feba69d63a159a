//! Incidents: stretches of consecutive failed results.

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use crate::result::CheckResult;
use crate::state::StateTracker;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The first failed result's time.
    pub started_at: UnixNanos,
    /// The next successful result's time; `None` while still down.
    pub ended_at: Option<UnixNanos>,
    pub first_error: String,
    pub failed_checks: u32,
}

/// The incidents in one check's results, oldest first; `results` must be
/// in time order. An incident starts at the first failure after a success
/// (or at the first result, if it failed) and ends at the next success;
/// the last one is open when the results end in failure.
///
/// Shares [`StateTracker`]'s rules, so what the server records live and
/// what it recomputes from history agree.
pub fn incidents(results: &[CheckResult]) -> Vec<Incident> {
    let mut tracker = StateTracker::new();
    let mut found = Vec::new();
    for result in results {
        if result.ok {
            if let Some(open) = tracker.open_incident() {
                found.push(Incident { ended_at: Some(result.at), ..open.clone() });
            }
        }
        tracker.observe(result);
    }
    found.extend(tracker.open_incident().cloned());
    found
}
