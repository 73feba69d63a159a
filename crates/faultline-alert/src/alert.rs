//! What the rule engine hands to the notifiers.

use std::collections::BTreeMap;

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// Prometheus-style lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds but not yet for the rule's `for` duration.
    Pending,
    Firing,
    Resolved,
}

/// One alert: one rule firing for one subject (a group, a service, a
/// route, a check), identified by `key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule_id: String,
    pub rule_name: String,
    /// Stable identity within the rule, e.g. `service=checkout,route=/pay`.
    pub key: String,
    pub labels: BTreeMap<String, String>,
    pub severity: Severity,
    pub state: AlertState,
    /// One line for a person: "New issue in checkout: KeyError: 'email'".
    pub title: String,
    /// A few lines of context: counts, rates, thresholds, the culprit.
    pub summary: String,
    /// The measured value and the threshold it crossed, when the rule has them.
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// Link to the UI (group, service, check), absolute when a public URL is configured.
    pub url: Option<String>,
    pub service: Option<String>,
    pub group_id: Option<u64>,
    pub check_id: Option<String>,
    pub started_at: UnixNanos,
    pub resolved_at: Option<UnixNanos>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Alerts that started firing.
    Firing,
    /// Still firing after the repeat interval.
    Reminder,
    /// Alerts that stopped firing.
    Resolved,
}

/// One message to one channel: the alerts of one rule that changed together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique, stable across retries, so receivers can deduplicate.
    pub id: String,
    pub kind: NotificationKind,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub alerts: Vec<Alert>,
    pub created_at: UnixNanos,
}
