//! Rule validation: every mistake found at start-up, named by rule and
//! key, rather than an alert that silently never fires.

use std::collections::BTreeSet;
use std::time::Duration;

use super::glob::{self, GlobError};
use super::rules::{Rule, RuleKind, Thresholds};

/// Most users a `distinct_users` rule may count to: the engine remembers
/// that many users per issue, so the bound is a memory bound.
pub const MAX_DISTINCT_USERS: u64 = 10_000;
/// Longest window a frequency rule may have; issue windows live in memory.
pub const MAX_FREQUENCY_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest window an endpoint rule may have; the server computes it from
/// per-minute health figures.
pub const MAX_ENDPOINT_WINDOW: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("an alert rule has an empty id; give every [[alerts.rules]] an `id`")]
    EmptyId,
    #[error("alert rule id {0:?}: ids may only hold letters, digits, '-', '_' and '.'")]
    BadId(String),
    #[error("alert rule id {0:?} is used by two rules; ids must be unique")]
    DuplicateId(String),
    #[error("alert rule {rule:?}: `{field}` does not apply to {kind} rules{hint}")]
    NotForKind { rule: String, field: &'static str, kind: RuleKind, hint: &'static str },
    #[error("alert rule {rule:?}: {kind} rules need `{field}`{hint}")]
    Missing { rule: String, field: &'static str, kind: RuleKind, hint: &'static str },
    #[error("alert rule {rule:?}: `{field}` {problem}")]
    BadValue { rule: String, field: &'static str, problem: String },
    #[error("alert rule {rule:?}: `{field}` is not a usable pattern: {source}")]
    BadGlob {
        rule: String,
        field: &'static str,
        #[source]
        source: GlobError,
    },
}

/// Validates each rule and that ids are unique.
pub fn validate_rules(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen = BTreeSet::new();
    for rule in rules {
        rule.validate()?;
        if !seen.insert(rule.id()) {
            return Err(RuleError::DuplicateId(rule.id().to_string()));
        }
    }
    Ok(())
}

impl Rule {
    /// Checks the rule on its own (not id uniqueness; see [`validate_rules`]).
    /// Which keys a kind has is settled by the type (and, for rules read
    /// from a file or the API, by [`super::wire`]); what is left are ids,
    /// patterns, ranges and how levels relate.
    pub fn validate(&self) -> Result<(), RuleError> {
        let common = self.common();
        let id = &common.id;
        if id.is_empty() {
            return Err(RuleError::EmptyId);
        }
        // The id goes into notification ids and URLs.
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(RuleError::BadId(id.clone()));
        }
        let bad = |field: &'static str, problem: &str| RuleError::BadValue {
            rule: id.clone(),
            field,
            problem: problem.to_string(),
        };
        if common.name.as_deref() == Some("") {
            return Err(bad("name", "is empty; leave it out to use the id"));
        }
        if common.channels.iter().any(String::is_empty) {
            return Err(bad("channels", "holds an empty channel name"));
        }
        self.check_globs()?;
        match self {
            Rule::NewGroup(r) | Rule::Regression(r) => {
                if r.resolve_after.is_some_and(|d| d.is_zero()) {
                    return Err(bad("resolve_after", "must be longer than 0s"));
                }
            }
            Rule::GroupFrequency(r) => self.validate_frequency(r.count, r.distinct_users)?,
            Rule::ErrorRate(r) => {
                self.validate_window(MAX_ENDPOINT_WINDOW)?;
                self.validate_levels(r.levels, 1.0, "")?;
            }
            Rule::Latency(r) => {
                self.validate_window(MAX_ENDPOINT_WINDOW)?;
                let Some(levels) = r.threshold_ms else {
                    return Err(RuleError::Missing {
                        rule: id.clone(),
                        field: "threshold_ms",
                        kind: self.kind(),
                        hint: ", e.g. `threshold_ms = { warning = 300, critical = 800 }`",
                    });
                };
                self.validate_levels(levels, f64::INFINITY, "threshold_ms.")?;
            }
            Rule::Anomaly(_) => {
                let s = self.sensitivity();
                if !s.is_finite() || s <= 0.0 {
                    return Err(bad("sensitivity", "must be a positive number (3 is a good start)"));
                }
            }
            Rule::CheckDown(r) => {
                if r.consecutive == Some(0) {
                    return Err(bad("consecutive", "must be at least 1"));
                }
            }
            Rule::CertExpiry(_) => {
                let (days, critical) = (self.cert_days(), self.cert_critical_days());
                if !days.is_finite() || days <= 0.0 {
                    return Err(bad("days", "must be a positive number of days"));
                }
                if !critical.is_finite() || critical < 0.0 {
                    return Err(bad("critical_days", "must be zero or a positive number of days"));
                }
                if critical >= days {
                    return Err(bad("critical_days", "must be fewer days than `days` (the warning level)"));
                }
            }
        }
        Ok(())
    }

    fn check_globs(&self) -> Result<(), RuleError> {
        let filter = self.filter();
        let endpoints = self.endpoints();
        let patterns: [(&'static str, Option<&str>); 8] = [
            ("filter.service", filter.and_then(|f| f.service.as_deref())),
            ("filter.environment", filter.and_then(|f| f.environment.as_deref())),
            ("filter.exception_type", filter.and_then(|f| f.exception_type.as_deref())),
            ("filter.level", filter.and_then(|f| f.level.as_deref())),
            ("service", endpoints.and_then(|e| e.service.as_deref())),
            ("environment", endpoints.and_then(|e| e.environment.as_deref())),
            ("route", endpoints.and_then(|e| e.route.as_deref())),
            ("check", self.check_pattern()),
        ];
        for (field, pattern) in patterns {
            if let Some(pattern) = pattern {
                glob::check(pattern).map_err(|source| RuleError::BadGlob {
                    rule: self.id().to_string(),
                    field,
                    source,
                })?;
            }
        }
        Ok(())
    }

    fn validate_window(&self, max: Duration) -> Result<(), RuleError> {
        let window = self.window();
        if window < Duration::from_secs(1) {
            return Err(RuleError::BadValue {
                rule: self.id().to_string(),
                field: "window",
                problem: "must be at least 1s".into(),
            });
        }
        if window > max {
            return Err(RuleError::BadValue {
                rule: self.id().to_string(),
                field: "window",
                problem: format!("must be at most {}", super::duration::format(max)),
            });
        }
        Ok(())
    }

    fn validate_frequency(&self, count: Option<u64>, distinct_users: Option<u64>) -> Result<(), RuleError> {
        let bad = |field: &'static str, problem: String| RuleError::BadValue {
            rule: self.id().to_string(),
            field,
            problem,
        };
        match (count, distinct_users) {
            (None, None) => {
                return Err(RuleError::Missing {
                    rule: self.id().to_string(),
                    field: "count",
                    kind: self.kind(),
                    hint: " (events in the window) or `distinct_users`",
                })
            }
            (Some(_), Some(_)) => {
                return Err(bad("distinct_users", "cannot be combined with `count`; make two rules".into()))
            }
            (Some(0), None) => return Err(bad("count", "must be at least 1".into())),
            (None, Some(0)) => return Err(bad("distinct_users", "must be at least 1".into())),
            (None, Some(n)) if n > MAX_DISTINCT_USERS => {
                return Err(bad("distinct_users", format!("must be at most {MAX_DISTINCT_USERS}")))
            }
            _ => {}
        }
        self.validate_window(MAX_FREQUENCY_WINDOW)
    }

    /// Levels of error_rate rules (fractions, `unit_max` 1) and latency
    /// rules (milliseconds, no upper bound, keys under `threshold_ms.`).
    fn validate_levels(&self, t: Thresholds, unit_max: f64, prefix: &str) -> Result<(), RuleError> {
        let field = |name: &'static str| -> &'static str {
            match (prefix.is_empty(), name) {
                (true, _) => name,
                (false, "warning") => "threshold_ms.warning",
                (false, "critical") => "threshold_ms.critical",
                (false, _) => "threshold_ms.resolve",
            }
        };
        let bad = |name: &'static str, problem: String| RuleError::BadValue {
            rule: self.id().to_string(),
            field: field(name),
            problem,
        };
        if t.warning.is_none() && t.critical.is_none() {
            return Err(RuleError::Missing {
                rule: self.id().to_string(),
                field: field("warning"),
                kind: self.kind(),
                hint: " or `critical` (or both)",
            });
        }
        let range = if unit_max.is_finite() {
            "must be a fraction between 0 and 1 (0.05 is 5%)"
        } else {
            "must be a positive number of milliseconds"
        };
        for (name, value) in [("warning", t.warning), ("critical", t.critical), ("resolve", t.resolve)] {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 || v > unit_max {
                    return Err(bad(name, range.into()));
                }
            }
        }
        if let (Some(w), Some(c)) = (t.warning, t.critical) {
            if w >= c {
                return Err(bad("warning", format!("({w}) must be below `critical` ({c})")));
            }
        }
        if let (Some(r), Some(low)) = (t.resolve, t.lowest()) {
            if r > low {
                return Err(bad(
                    "resolve",
                    format!(
                        "({r}) must not be above the lowest alerting level ({low}), \
                         or alerts would resolve and fire again in turn"
                    ),
                ));
            }
        }
        Ok(())
    }
}
