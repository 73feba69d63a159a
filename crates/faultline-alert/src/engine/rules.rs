//! Alert rules as written in the config file (`[[alerts.rules]]`).
//!
//! A rule is one flat table whose `kind` decides which of the other keys
//! apply; [`Rule::validate`] refuses a key that does not apply to the kind
//! with a message saying so. (A flat struct rather than a tagged enum
//! because serde cannot combine `deny_unknown_fields` with flattening, and
//! because "`count` does not apply to latency rules" is a better message
//! than "unknown field".)

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::validate::RuleError;
use crate::alert::Severity;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// An issue seen for the first time.
    NewGroup,
    /// A resolved issue happening again.
    Regression,
    /// An issue happening often (`count` events or `distinct_users` users in `window`).
    GroupFrequency,
    /// An endpoint's share of failed requests over `window`.
    ErrorRate,
    /// An endpoint's p95 or p99 latency over `window`.
    Latency,
    /// An active check failing `consecutive` times in a row.
    CheckDown,
    /// A checked TLS certificate close to expiry.
    CertExpiry,
    /// An endpoint's error rate or p95 far from its own history.
    Anomaly,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::NewGroup => "new_group",
            RuleKind::Regression => "regression",
            RuleKind::GroupFrequency => "group_frequency",
            RuleKind::ErrorRate => "error_rate",
            RuleKind::Latency => "latency",
            RuleKind::CheckDown => "check_down",
            RuleKind::CertExpiry => "cert_expiry",
            RuleKind::Anomaly => "anomaly",
        }
    }

    /// Rules about issues (groups), fed by [`super::Fact`]s.
    pub fn is_issue_kind(self) -> bool {
        matches!(self, RuleKind::NewGroup | RuleKind::Regression | RuleKind::GroupFrequency)
    }

    /// Rules about endpoints, fed by endpoint observations.
    pub fn is_endpoint_kind(self) -> bool {
        matches!(self, RuleKind::ErrorRate | RuleKind::Latency | RuleKind::Anomaly)
    }

    /// Rules about active checks, fed by check observations.
    pub fn is_check_kind(self) -> bool {
        matches!(self, RuleKind::CheckDown | RuleKind::CertExpiry)
    }
}

impl std::fmt::Display for RuleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which issues an issue rule looks at. Every given field is a glob that
/// must match; a field on something the issue does not have (no
/// environment, no exception type) does not match. `level` is compared
/// case-insensitively, since spans say `error` and logs `ERROR`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// Warning and critical levels and the level below which a firing alert
/// resolves (hysteresis, so a value hovering around a threshold does not
/// page on every evaluation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<f64>,
    /// Defaults to `warning`, else `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<f64>,
}

impl Thresholds {
    /// The lowest level that alerts: `warning` when given, else `critical`.
    pub fn lowest(&self) -> Option<f64> {
        self.warning.or(self.critical)
    }

    /// Below this a firing alert resolves.
    pub fn resolve_level(&self) -> Option<f64> {
        self.resolve.or_else(|| self.lowest())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Percentile {
    #[default]
    P95,
    P99,
}

impl Percentile {
    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P95 => "p95",
            Percentile::P99 => "p99",
        }
    }
}

/// What an anomaly rule watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyMetric {
    #[default]
    ErrorRate,
    P95,
}

impl AnomalyMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyMetric::ErrorRate => "error_rate",
            AnomalyMetric::P95 => "p95",
        }
    }
}

/// One `[[alerts.rules]]` table. Keys that do not apply to `kind` are
/// refused by [`Rule::validate`]; the accessors below give each key's
/// default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable identifier: letters, digits, `-`, `_`, `.`. Alert state and
    /// notification ids hang off it, so renaming a rule's id starts it over.
    pub id: String,
    /// Shown to people; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: RuleKind,
    /// Where notifications of this rule go (names of configured channels).
    /// Empty: alerts only show in the API and UI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// How long a firing alert waits before a reminder; `0s` sends none.
    /// Default 4h (24h for cert_expiry).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub repeat_interval: Option<Duration>,
    /// How long a condition must hold before the alert fires (threshold,
    /// frequency, check and anomaly rules). Default 0s.
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub for_duration: Option<Duration>,
    /// Severity of kinds with a single level. Defaults: `critical` for
    /// check_down, `warning` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,

    // --- issue kinds -------------------------------------------------
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<IssueFilter>,
    /// new_group and regression: the alert resolves when the issue is
    /// resolved, or after this long without an event. Default 1h.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub resolve_after: Option<Duration>,
    /// group_frequency: events in `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// group_frequency: distinct users (`enduser.id`, `user.id`) in `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_users: Option<u64>,
    /// group_frequency (default 1h), error_rate and latency (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub window: Option<Duration>,

    // --- endpoint kinds ----------------------------------------------
    /// Glob over `service.name`; default every service (one alert each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Glob over the environment; default any (and none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Glob over the route: one alert per matching route. Without it the
    /// rule looks at whole services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Fewer requests than this in the window say nothing (no alert, no
    /// resolve). Default 20; anomaly rules 100 per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_requests: Option<u64>,
    /// error_rate: fractions of requests, e.g. `0.05` for 5%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<f64>,
    /// latency: which percentile; default p95.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<Percentile>,
    /// latency: levels in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_ms: Option<Thresholds>,
    /// anomaly: default error_rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<AnomalyMetric>,
    /// anomaly: how many robust standard deviations above normal; default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<f64>,

    // --- check kinds -------------------------------------------------
    /// Glob over check ids; default every check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// check_down: failures in a row; default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive: Option<u32>,
    /// cert_expiry: warning at this many days left or fewer; default 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<f64>,
    /// cert_expiry: critical at this many days left or fewer; default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_days: Option<f64>,
}

pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);
pub const CERT_REPEAT_INTERVAL: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_RESOLVE_AFTER: Duration = Duration::from_secs(3600);
pub const DEFAULT_FREQUENCY_WINDOW: Duration = Duration::from_secs(3600);
pub const DEFAULT_ENDPOINT_WINDOW: Duration = Duration::from_secs(300);
/// Anomaly rules compare the last hour with hourly history.
pub const ANOMALY_WINDOW: Duration = Duration::from_secs(3600);
pub const DEFAULT_MIN_REQUESTS: u64 = 20;
pub const DEFAULT_ANOMALY_MIN_REQUESTS: u64 = 100;
pub const DEFAULT_CONSECUTIVE: u32 = 3;
pub const DEFAULT_CERT_DAYS: f64 = 14.0;
pub const DEFAULT_CERT_CRITICAL_DAYS: f64 = 3.0;
pub const DEFAULT_SENSITIVITY: f64 = 3.0;

impl Rule {
    /// A rule of `kind` with every optional key left to its default.
    pub fn new(id: impl Into<String>, kind: RuleKind) -> Rule {
        Rule {
            id: id.into(),
            name: None,
            kind,
            channels: Vec::new(),
            repeat_interval: None,
            for_duration: None,
            severity: None,
            filter: None,
            resolve_after: None,
            count: None,
            distinct_users: None,
            window: None,
            service: None,
            environment: None,
            route: None,
            min_requests: None,
            warning: None,
            critical: None,
            resolve: None,
            percentile: None,
            threshold_ms: None,
            metric: None,
            sensitivity: None,
            check: None,
            consecutive: None,
            days: None,
            critical_days: None,
        }
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }

    /// A certificate close to expiry is news once a day, not every 4 hours.
    pub fn repeat_interval(&self) -> Duration {
        self.repeat_interval.unwrap_or(match self.kind {
            RuleKind::CertExpiry => CERT_REPEAT_INTERVAL,
            _ => DEFAULT_REPEAT_INTERVAL,
        })
    }

    pub fn pending_for(&self) -> Duration {
        self.for_duration.unwrap_or_default()
    }

    pub fn resolve_after(&self) -> Duration {
        self.resolve_after.unwrap_or(DEFAULT_RESOLVE_AFTER)
    }

    /// The window the rule's figures cover.
    pub fn window(&self) -> Duration {
        match self.kind {
            RuleKind::GroupFrequency => self.window.unwrap_or(DEFAULT_FREQUENCY_WINDOW),
            RuleKind::Anomaly => ANOMALY_WINDOW,
            _ => self.window.unwrap_or(DEFAULT_ENDPOINT_WINDOW),
        }
    }

    pub fn min_requests(&self) -> u64 {
        match self.kind {
            RuleKind::Anomaly => self.min_requests.unwrap_or(DEFAULT_ANOMALY_MIN_REQUESTS),
            _ => self.min_requests.unwrap_or(DEFAULT_MIN_REQUESTS),
        }
    }

    /// The severity of single-level kinds.
    pub fn single_severity(&self) -> Severity {
        self.severity.unwrap_or(match self.kind {
            RuleKind::CheckDown => Severity::Critical,
            _ => Severity::Warning,
        })
    }

    /// The levels of error_rate (fractions) and latency (milliseconds) rules.
    pub fn thresholds(&self) -> Thresholds {
        match self.kind {
            RuleKind::Latency => self.threshold_ms.unwrap_or_default(),
            _ => Thresholds { warning: self.warning, critical: self.critical, resolve: self.resolve },
        }
    }

    pub fn percentile(&self) -> Percentile {
        self.percentile.unwrap_or_default()
    }

    pub fn metric(&self) -> AnomalyMetric {
        self.metric.unwrap_or_default()
    }

    pub fn sensitivity(&self) -> f64 {
        self.sensitivity.unwrap_or(DEFAULT_SENSITIVITY)
    }

    pub fn consecutive(&self) -> u32 {
        self.consecutive.unwrap_or(DEFAULT_CONSECUTIVE)
    }

    pub fn cert_days(&self) -> f64 {
        self.days.unwrap_or(DEFAULT_CERT_DAYS)
    }

    pub fn cert_critical_days(&self) -> f64 {
        self.critical_days.unwrap_or(DEFAULT_CERT_CRITICAL_DAYS)
    }
}

/// The `[alerts]` section of the config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// Why an `[alerts]` section could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("alerts config: {0}")]
    Parse(#[from] toml::de::Error),
    #[error(transparent)]
    Rule(#[from] RuleError),
}

impl AlertsConfig {
    /// Parses a TOML document holding an `[alerts]` section (other
    /// sections are ignored, so a whole config file can be given) and
    /// validates its rules.
    pub fn from_toml(text: &str) -> Result<AlertsConfig, ConfigError> {
        #[derive(Deserialize)]
        struct Document {
            #[serde(default)]
            alerts: AlertsConfig,
        }
        let document: Document = toml::from_str(text)?;
        super::validate::validate_rules(&document.alerts.rules)?;
        Ok(document.alerts)
    }
}
