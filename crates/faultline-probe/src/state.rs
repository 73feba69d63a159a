//! Up/down state of one check, fed result by result, so the server can
//! record incidents as they happen and alerting can wait for K failures in
//! a row before it pages anyone.

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::result::CheckResult;

/// What changed with a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transition", rename_all = "snake_case")]
pub enum Transition {
    /// The first failure after a success, or the first result ever when it
    /// failed: an incident starts.
    Down { at: UnixNanos, error: String },
    /// The first success after failures: the incident that started at
    /// `down_since` ends.
    Up { at: UnixNanos, down_since: UnixNanos },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// No result yet.
    Unknown,
    Up,
    Down,
}

/// Follows one check's results in time order.
#[derive(Debug, Clone, Default)]
pub struct StateTracker {
    last: Option<bool>,
    consecutive_failures: u32,
    open: Option<Incident>,
}

/// Said of a failed result that carries no error text, which `run` never
/// produces but a hand-made or stored result might.
const UNSPECIFIED_ERROR: &str = "check failed";

impl StateTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that has seen `results` (oldest first): how the server
    /// restores the state after a restart from its stored results.
    pub fn replay<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> Self {
        let mut tracker = Self::new();
        for result in results {
            tracker.observe(result);
        }
        tracker
    }

    /// Takes the next result and says what changed, if anything.
    pub fn observe(&mut self, result: &CheckResult) -> Option<Transition> {
        self.last = Some(result.ok);
        if result.ok {
            self.consecutive_failures = 0;
            return self
                .open
                .take()
                .map(|incident| Transition::Up { at: result.at, down_since: incident.started_at });
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        match &mut self.open {
            Some(incident) => {
                incident.failed_checks = incident.failed_checks.saturating_add(1);
                None
            }
            None => {
                let error = result.error.clone().unwrap_or_else(|| UNSPECIFIED_ERROR.to_owned());
                self.open = Some(Incident {
                    started_at: result.at,
                    ended_at: None,
                    first_error: error.clone(),
                    failed_checks: 1,
                });
                Some(Transition::Down { at: result.at, error })
            }
        }
    }

    pub fn state(&self) -> CheckState {
        match self.last {
            None => CheckState::Unknown,
            Some(true) => CheckState::Up,
            Some(false) => CheckState::Down,
        }
    }

    /// Failed results since the last success (or since the start).
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The incident in progress, if the check is down.
    pub fn open_incident(&self) -> Option<&Incident> {
        self.open.as_ref()
    }
}
