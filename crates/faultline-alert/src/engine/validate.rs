//! Rule validation: every mistake found at start-up, named by rule and
//! key, rather than an alert that silently never fires.

use std::collections::BTreeSet;
use std::time::Duration;

use super::glob::{self, GlobError};
use super::rules::{Rule, RuleKind};

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
        if !seen.insert(rule.id.as_str()) {
            return Err(RuleError::DuplicateId(rule.id.clone()));
        }
    }
    Ok(())
}

use RuleKind::*;

/// Which keys apply to which kinds, and what to say when one is misplaced.
/// Every optional key is listed, so a new key cannot be forgotten here
/// without `present_fields` failing to compile.
fn allowed(field: &str) -> (&'static [RuleKind], &'static str) {
    match field {
        "for" => (
            &[GroupFrequency, ErrorRate, Latency, CheckDown, CertExpiry, Anomaly],
            ": new issues and regressions fire at once",
        ),
        "severity" => (
            &[NewGroup, Regression, GroupFrequency, CheckDown, Anomaly],
            "; its severity follows the warning and critical levels",
        ),
        "filter" => (
            &[NewGroup, Regression, GroupFrequency],
            "; endpoint rules select with `service`, `environment` and `route`",
        ),
        "resolve_after" => (&[NewGroup, Regression], ""),
        "count" | "distinct_users" => (&[GroupFrequency], ""),
        "window" => (&[GroupFrequency, ErrorRate, Latency], "; anomaly rules always look at the last hour"),
        "service" | "environment" | "route" => {
            (&[ErrorRate, Latency, Anomaly], "; issue rules select with `filter = { service = ... }`")
        }
        "min_requests" => (&[ErrorRate, Latency, Anomaly], ""),
        "warning" | "critical" | "resolve" => (
            &[ErrorRate],
            "; latency levels go in `threshold_ms = { warning = ..., critical = ... }`, \
             certificate levels in `days` and `critical_days`",
        ),
        "percentile" | "threshold_ms" => (&[Latency], ""),
        "metric" | "sensitivity" => (&[Anomaly], ""),
        "check" => (&[CheckDown, CertExpiry], ""),
        "consecutive" => (&[CheckDown], ""),
        "days" | "critical_days" => (&[CertExpiry], ""),
        _ => (&[], ""),
    }
}

fn present_fields(rule: &Rule) -> Vec<&'static str> {
    let Rule {
        id: _,
        name: _,
        kind: _,
        channels: _,
        repeat_interval: _,
        for_duration,
        severity,
        filter,
        resolve_after,
        count,
        distinct_users,
        window,
        service,
        environment,
        route,
        min_requests,
        warning,
        critical,
        resolve,
        percentile,
        threshold_ms,
        metric,
        sensitivity,
        check,
        consecutive,
        days,
        critical_days,
    } = rule;
    [
        ("for", for_duration.is_some()),
        ("severity", severity.is_some()),
        ("filter", filter.is_some()),
        ("resolve_after", resolve_after.is_some()),
        ("count", count.is_some()),
        ("distinct_users", distinct_users.is_some()),
        ("window", window.is_some()),
        ("service", service.is_some()),
        ("environment", environment.is_some()),
        ("route", route.is_some()),
        ("min_requests", min_requests.is_some()),
        ("warning", warning.is_some()),
        ("critical", critical.is_some()),
        ("resolve", resolve.is_some()),
        ("percentile", percentile.is_some()),
        ("threshold_ms", threshold_ms.is_some()),
        ("metric", metric.is_some()),
        ("sensitivity", sensitivity.is_some()),
        ("check", check.is_some()),
        ("consecutive", consecutive.is_some()),
        ("days", days.is_some()),
        ("critical_days", critical_days.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect()
}

impl Rule {
    /// Checks the rule on its own (not id uniqueness; see [`validate_rules`]).
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.id.is_empty() {
            return Err(RuleError::EmptyId);
        }
        // The id goes into notification ids and URLs.
        if !self.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(RuleError::BadId(self.id.clone()));
        }
        for field in present_fields(self) {
            let (kinds, hint) = allowed(field);
            if !kinds.contains(&self.kind) {
                return Err(RuleError::NotForKind { rule: self.id.clone(), field, kind: self.kind, hint });
            }
        }
        let bad = |field: &'static str, problem: &str| RuleError::BadValue {
            rule: self.id.clone(),
            field,
            problem: problem.to_string(),
        };
        if self.name.as_deref() == Some("") {
            return Err(bad("name", "is empty; leave it out to use the id"));
        }
        if self.channels.iter().any(String::is_empty) {
            return Err(bad("channels", "holds an empty channel name"));
        }
        self.check_globs()?;
        match self.kind {
            NewGroup | Regression => {
                if self.resolve_after.is_some_and(|d| d.is_zero()) {
                    return Err(bad("resolve_after", "must be longer than 0s"));
                }
            }
            GroupFrequency => self.validate_frequency()?,
            ErrorRate | Latency => self.validate_thresholds()?,
            Anomaly => {
                let s = self.sensitivity();
                if !s.is_finite() || s <= 0.0 {
                    return Err(bad("sensitivity", "must be a positive number (3 is a good start)"));
                }
            }
            CheckDown => {
                if self.consecutive == Some(0) {
                    return Err(bad("consecutive", "must be at least 1"));
                }
            }
            CertExpiry => {
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
        let filter = self.filter.as_ref();
        let patterns: [(&'static str, Option<&String>); 8] = [
            ("filter.service", filter.and_then(|f| f.service.as_ref())),
            ("filter.environment", filter.and_then(|f| f.environment.as_ref())),
            ("filter.exception_type", filter.and_then(|f| f.exception_type.as_ref())),
            ("filter.level", filter.and_then(|f| f.level.as_ref())),
            ("service", self.service.as_ref()),
            ("environment", self.environment.as_ref()),
            ("route", self.route.as_ref()),
            ("check", self.check.as_ref()),
        ];
        for (field, pattern) in patterns {
            if let Some(pattern) = pattern {
                glob::check(pattern).map_err(|source| RuleError::BadGlob {
                    rule: self.id.clone(),
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
                rule: self.id.clone(),
                field: "window",
                problem: "must be at least 1s".into(),
            });
        }
        if window > max {
            return Err(RuleError::BadValue {
                rule: self.id.clone(),
                field: "window",
                problem: format!("must be at most {}", super::duration::format(max)),
            });
        }
        Ok(())
    }

    fn validate_frequency(&self) -> Result<(), RuleError> {
        let bad = |field: &'static str, problem: String| RuleError::BadValue {
            rule: self.id.clone(),
            field,
            problem,
        };
        match (self.count, self.distinct_users) {
            (None, None) => {
                return Err(RuleError::Missing {
                    rule: self.id.clone(),
                    field: "count",
                    kind: self.kind,
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

    fn validate_thresholds(&self) -> Result<(), RuleError> {
        self.validate_window(MAX_ENDPOINT_WINDOW)?;
        let (t, unit_max, prefix) = match self.kind {
            Latency => match self.threshold_ms {
                Some(t) => (t, f64::INFINITY, "threshold_ms."),
                None => {
                    return Err(RuleError::Missing {
                        rule: self.id.clone(),
                        field: "threshold_ms",
                        kind: self.kind,
                        hint: ", e.g. `threshold_ms = { warning = 300, critical = 800 }`",
                    })
                }
            },
            _ => (self.thresholds(), 1.0, ""),
        };
        let field = |name: &'static str| -> &'static str {
            match (prefix.is_empty(), name) {
                (true, _) => name,
                (false, "warning") => "threshold_ms.warning",
                (false, "critical") => "threshold_ms.critical",
                (false, _) => "threshold_ms.resolve",
            }
        };
        let bad = |name: &'static str, problem: String| RuleError::BadValue {
            rule: self.id.clone(),
            field: field(name),
            problem,
        };
        if t.warning.is_none() && t.critical.is_none() {
            return Err(RuleError::Missing {
                rule: self.id.clone(),
                field: field("warning"),
                kind: self.kind,
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
