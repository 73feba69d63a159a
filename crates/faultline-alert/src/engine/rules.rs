//! Alert rules as written in the config file (`[[alerts.rules]]`).
//!
//! In the file a rule is one flat table whose `kind` decides which of the
//! other keys apply. In code it is a [`Rule`] enum with one variant per
//! kind, each holding only its keys plus the [`Common`] ones. The flat
//! table is read into a private wire struct first ([`super::wire`]) and
//! then converted: serde cannot combine `deny_unknown_fields` with
//! flattening, and "`count` does not apply to latency rules" (with the
//! rule's id) is a better message than serde's "unknown field".

use std::time::Duration;

use serde::{Deserialize, Serialize};

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

/// The keys every rule has, whatever its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// Stable identifier: letters, digits, `-`, `_`, `.`. Alert state and
    /// notification ids hang off it, so renaming a rule's id starts it over.
    pub id: String,
    /// Shown to people; defaults to the id.
    pub name: Option<String>,
    /// Where notifications of this rule go (names of configured channels).
    /// Empty: alerts only show in the API and UI.
    pub channels: Vec<String>,
    /// How long a firing alert waits before a reminder; `0s` sends none.
    /// Default 4h (24h for cert_expiry).
    pub repeat_interval: Option<Duration>,
}

impl Common {
    pub fn new(id: impl Into<String>) -> Common {
        Common { id: id.into(), name: None, channels: Vec::new(), repeat_interval: None }
    }
}

/// Which endpoints an endpoint rule (error_rate, latency, anomaly) looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointSelector {
    /// Glob over `service.name`; default every service (one alert each).
    pub service: Option<String>,
    /// Glob over the environment; default any (and none).
    pub environment: Option<String>,
    /// Glob over the route: one alert per matching route. Without it the
    /// rule looks at whole services.
    pub route: Option<String>,
    /// Fewer requests than this in the window say nothing (no alert, no
    /// resolve). Default 20; anomaly rules 100 per hour.
    pub min_requests: Option<u64>,
}

/// new_group and regression rules.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRule {
    pub common: Common,
    /// Default `warning`.
    pub severity: Option<Severity>,
    pub filter: Option<IssueFilter>,
    /// The alert resolves when the issue is resolved, or after this long
    /// without an event. Default 1h.
    pub resolve_after: Option<Duration>,
}

/// group_frequency rules: `count` events or `distinct_users` users in `window`.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyRule {
    pub common: Common,
    /// How long the condition must hold before the alert fires. Default 0s.
    pub for_duration: Option<Duration>,
    pub severity: Option<Severity>,
    pub filter: Option<IssueFilter>,
    /// Events in `window`.
    pub count: Option<u64>,
    /// Distinct users (`enduser.id`, `user.id`) in `window`.
    pub distinct_users: Option<u64>,
    /// Default 1h.
    pub window: Option<Duration>,
}

/// error_rate rules: levels are fractions of requests, e.g. `0.05` for 5%.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRateRule {
    pub common: Common,
    pub for_duration: Option<Duration>,
    pub endpoints: EndpointSelector,
    /// Default 5m.
    pub window: Option<Duration>,
    /// `warning`, `critical` and `resolve`, top-level keys in the file.
    pub levels: Thresholds,
}

/// latency rules: a percentile against levels in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyRule {
    pub common: Common,
    pub for_duration: Option<Duration>,
    pub endpoints: EndpointSelector,
    /// Default 5m.
    pub window: Option<Duration>,
    /// Default p95.
    pub percentile: Option<Percentile>,
    /// Required; an `Option` so the message for a missing one can name it.
    pub threshold_ms: Option<Thresholds>,
}

/// anomaly rules: an endpoint's figure far from its own hourly history.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyRule {
    pub common: Common,
    pub for_duration: Option<Duration>,
    pub severity: Option<Severity>,
    pub endpoints: EndpointSelector,
    /// Default error_rate.
    pub metric: Option<AnomalyMetric>,
    /// How many robust standard deviations above normal; default 3.
    pub sensitivity: Option<f64>,
}

/// check_down rules: an active check failing `consecutive` times in a row.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDownRule {
    pub common: Common,
    pub for_duration: Option<Duration>,
    /// Default `critical`.
    pub severity: Option<Severity>,
    /// Glob over check ids; default every check.
    pub check: Option<String>,
    /// Default 3.
    pub consecutive: Option<u32>,
}

/// cert_expiry rules: a checked TLS certificate close to expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct CertExpiryRule {
    pub common: Common,
    pub for_duration: Option<Duration>,
    /// Glob over check ids; default every check.
    pub check: Option<String>,
    /// Warning at this many days left or fewer; default 14.
    pub days: Option<f64>,
    /// Critical at this many days left or fewer; default 3.
    pub critical_days: Option<f64>,
}

/// One `[[alerts.rules]]` table, by kind. (De)serialized as the flat table
/// of the config file, `kind` included; a key that does not apply to the
/// kind is refused with the rule's id and the key's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "super::wire::RawRule", into = "super::wire::RawRule")]
pub enum Rule {
    NewGroup(IssueRule),
    Regression(IssueRule),
    GroupFrequency(FrequencyRule),
    ErrorRate(ErrorRateRule),
    Latency(LatencyRule),
    CheckDown(CheckDownRule),
    CertExpiry(CertExpiryRule),
    Anomaly(AnomalyRule),
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
        let common = Common::new(id);
        let issue = |common| IssueRule { common, severity: None, filter: None, resolve_after: None };
        match kind {
            RuleKind::NewGroup => Rule::NewGroup(issue(common)),
            RuleKind::Regression => Rule::Regression(issue(common)),
            RuleKind::GroupFrequency => Rule::GroupFrequency(FrequencyRule {
                common,
                for_duration: None,
                severity: None,
                filter: None,
                count: None,
                distinct_users: None,
                window: None,
            }),
            RuleKind::ErrorRate => Rule::ErrorRate(ErrorRateRule {
                common,
                for_duration: None,
                endpoints: EndpointSelector::default(),
                window: None,
                levels: Thresholds::default(),
            }),
            RuleKind::Latency => Rule::Latency(LatencyRule {
                common,
                for_duration: None,
                endpoints: EndpointSelector::default(),
                window: None,
                percentile: None,
                threshold_ms: None,
            }),
            RuleKind::CheckDown => Rule::CheckDown(CheckDownRule {
                common,
                for_duration: None,
                severity: None,
                check: None,
                consecutive: None,
            }),
            RuleKind::CertExpiry => Rule::CertExpiry(CertExpiryRule {
                common,
                for_duration: None,
                check: None,
                days: None,
                critical_days: None,
            }),
            RuleKind::Anomaly => Rule::Anomaly(AnomalyRule {
                common,
                for_duration: None,
                severity: None,
                endpoints: EndpointSelector::default(),
                metric: None,
                sensitivity: None,
            }),
        }
    }

    pub fn kind(&self) -> RuleKind {
        match self {
            Rule::NewGroup(_) => RuleKind::NewGroup,
            Rule::Regression(_) => RuleKind::Regression,
            Rule::GroupFrequency(_) => RuleKind::GroupFrequency,
            Rule::ErrorRate(_) => RuleKind::ErrorRate,
            Rule::Latency(_) => RuleKind::Latency,
            Rule::CheckDown(_) => RuleKind::CheckDown,
            Rule::CertExpiry(_) => RuleKind::CertExpiry,
            Rule::Anomaly(_) => RuleKind::Anomaly,
        }
    }

    pub fn common(&self) -> &Common {
        match self {
            Rule::NewGroup(r) | Rule::Regression(r) => &r.common,
            Rule::GroupFrequency(r) => &r.common,
            Rule::ErrorRate(r) => &r.common,
            Rule::Latency(r) => &r.common,
            Rule::CheckDown(r) => &r.common,
            Rule::CertExpiry(r) => &r.common,
            Rule::Anomaly(r) => &r.common,
        }
    }

    pub fn common_mut(&mut self) -> &mut Common {
        match self {
            Rule::NewGroup(r) | Rule::Regression(r) => &mut r.common,
            Rule::GroupFrequency(r) => &mut r.common,
            Rule::ErrorRate(r) => &mut r.common,
            Rule::Latency(r) => &mut r.common,
            Rule::CheckDown(r) => &mut r.common,
            Rule::CertExpiry(r) => &mut r.common,
            Rule::Anomaly(r) => &mut r.common,
        }
    }

    pub fn id(&self) -> &str {
        &self.common().id
    }

    pub fn channels(&self) -> &[String] {
        &self.common().channels
    }

    pub fn display_name(&self) -> &str {
        let common = self.common();
        common.name.as_deref().unwrap_or(&common.id)
    }

    /// `for`: new_group and regression rules have none (they fire at once).
    pub fn for_duration(&self) -> Option<Duration> {
        match self {
            Rule::NewGroup(_) | Rule::Regression(_) => None,
            Rule::GroupFrequency(r) => r.for_duration,
            Rule::ErrorRate(r) => r.for_duration,
            Rule::Latency(r) => r.for_duration,
            Rule::CheckDown(r) => r.for_duration,
            Rule::CertExpiry(r) => r.for_duration,
            Rule::Anomaly(r) => r.for_duration,
        }
    }

    /// The issue filter of issue kinds.
    pub fn filter(&self) -> Option<&IssueFilter> {
        match self {
            Rule::NewGroup(r) | Rule::Regression(r) => r.filter.as_ref(),
            Rule::GroupFrequency(r) => r.filter.as_ref(),
            _ => None,
        }
    }

    /// The endpoint selection of endpoint kinds.
    pub fn endpoints(&self) -> Option<&EndpointSelector> {
        match self {
            Rule::ErrorRate(r) => Some(&r.endpoints),
            Rule::Latency(r) => Some(&r.endpoints),
            Rule::Anomaly(r) => Some(&r.endpoints),
            _ => None,
        }
    }

    /// The check-id glob of check kinds.
    pub fn check_pattern(&self) -> Option<&str> {
        match self {
            Rule::CheckDown(r) => r.check.as_deref(),
            Rule::CertExpiry(r) => r.check.as_deref(),
            _ => None,
        }
    }

    /// A certificate close to expiry is news once a day, not every 4 hours.
    pub fn repeat_interval(&self) -> Duration {
        self.common().repeat_interval.unwrap_or(match self {
            Rule::CertExpiry(_) => CERT_REPEAT_INTERVAL,
            _ => DEFAULT_REPEAT_INTERVAL,
        })
    }

    pub fn pending_for(&self) -> Duration {
        self.for_duration().unwrap_or_default()
    }

    pub fn resolve_after(&self) -> Duration {
        match self {
            Rule::NewGroup(r) | Rule::Regression(r) => r.resolve_after,
            _ => None,
        }
        .unwrap_or(DEFAULT_RESOLVE_AFTER)
    }

    /// The window the rule's figures cover.
    pub fn window(&self) -> Duration {
        match self {
            Rule::GroupFrequency(r) => r.window.unwrap_or(DEFAULT_FREQUENCY_WINDOW),
            Rule::Anomaly(_) => ANOMALY_WINDOW,
            Rule::ErrorRate(r) => r.window.unwrap_or(DEFAULT_ENDPOINT_WINDOW),
            Rule::Latency(r) => r.window.unwrap_or(DEFAULT_ENDPOINT_WINDOW),
            _ => DEFAULT_ENDPOINT_WINDOW,
        }
    }

    pub fn min_requests(&self) -> u64 {
        let given = self.endpoints().and_then(|e| e.min_requests);
        match self {
            Rule::Anomaly(_) => given.unwrap_or(DEFAULT_ANOMALY_MIN_REQUESTS),
            _ => given.unwrap_or(DEFAULT_MIN_REQUESTS),
        }
    }

    /// The severity of single-level kinds.
    pub fn single_severity(&self) -> Severity {
        let given = match self {
            Rule::NewGroup(r) | Rule::Regression(r) => r.severity,
            Rule::GroupFrequency(r) => r.severity,
            Rule::CheckDown(r) => r.severity,
            Rule::Anomaly(r) => r.severity,
            _ => None,
        };
        given.unwrap_or(match self {
            Rule::CheckDown(_) => Severity::Critical,
            _ => Severity::Warning,
        })
    }

    /// The levels of error_rate (fractions) and latency (milliseconds) rules.
    pub fn thresholds(&self) -> Thresholds {
        match self {
            Rule::Latency(r) => r.threshold_ms.unwrap_or_default(),
            Rule::ErrorRate(r) => r.levels,
            _ => Thresholds::default(),
        }
    }

    pub fn percentile(&self) -> Percentile {
        match self {
            Rule::Latency(r) => r.percentile.unwrap_or_default(),
            _ => Percentile::default(),
        }
    }

    pub fn metric(&self) -> AnomalyMetric {
        match self {
            Rule::Anomaly(r) => r.metric.unwrap_or_default(),
            _ => AnomalyMetric::default(),
        }
    }

    pub fn sensitivity(&self) -> f64 {
        match self {
            Rule::Anomaly(r) => r.sensitivity,
            _ => None,
        }
        .unwrap_or(DEFAULT_SENSITIVITY)
    }

    pub fn consecutive(&self) -> u32 {
        match self {
            Rule::CheckDown(r) => r.consecutive,
            _ => None,
        }
        .unwrap_or(DEFAULT_CONSECUTIVE)
    }

    pub fn cert_days(&self) -> f64 {
        match self {
            Rule::CertExpiry(r) => r.days,
            _ => None,
        }
        .unwrap_or(DEFAULT_CERT_DAYS)
    }

    pub fn cert_critical_days(&self) -> f64 {
        match self {
            Rule::CertExpiry(r) => r.critical_days,
            _ => None,
        }
        .unwrap_or(DEFAULT_CERT_CRITICAL_DAYS)
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
