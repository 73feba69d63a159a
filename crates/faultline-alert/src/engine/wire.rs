//! The flat `[[alerts.rules]]` table as it is written, and its conversion
//! to and from [`Rule`].
//!
//! Every key of every kind is an optional field here, so that serde's
//! `deny_unknown_fields` names a misspelt key, and so that a key of another
//! kind can be refused with the rule's id and a hint saying where it
//! belongs, which serde's tagged enums cannot do.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::rules::{
    AnomalyMetric, AnomalyRule, CertExpiryRule, CheckDownRule, Common, EndpointSelector, ErrorRateRule,
    FrequencyRule, IssueFilter, IssueRule, LatencyRule, Percentile, Rule, RuleKind, Thresholds,
};
use super::validate::RuleError;
use crate::alert::Severity;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    kind: RuleKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    channels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    repeat_interval: Option<Duration>,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    for_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<IssueFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    resolve_after: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distinct_users: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    window: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    critical: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolve: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    percentile: Option<Percentile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold_ms: Option<Thresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric: Option<AnomalyMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sensitivity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    consecutive: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    critical_days: Option<f64>,
}

use RuleKind::*;

/// Which keys apply to which kinds, and what to say when one is misplaced.
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

impl RawRule {
    /// The optional keys given. Destructured in full, so a new key cannot
    /// be added without being listed (and given kinds in [`allowed`]).
    fn present_fields(&self) -> Vec<&'static str> {
        let RawRule {
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
        } = self;
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

    fn empty(common: Common, kind: RuleKind) -> RawRule {
        let Common { id, name, channels, repeat_interval } = common;
        RawRule {
            id,
            name,
            kind,
            channels,
            repeat_interval,
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
}

impl TryFrom<RawRule> for Rule {
    type Error = RuleError;

    /// Refuses a key that does not apply to the rule's kind; the keys that
    /// remain are exactly the variant's, so nothing given is dropped.
    fn try_from(raw: RawRule) -> Result<Rule, RuleError> {
        for field in raw.present_fields() {
            let (kinds, hint) = allowed(field);
            if !kinds.contains(&raw.kind) {
                return Err(RuleError::NotForKind { rule: raw.id.clone(), field, kind: raw.kind, hint });
            }
        }
        let common = Common {
            id: raw.id,
            name: raw.name,
            channels: raw.channels,
            repeat_interval: raw.repeat_interval,
        };
        let endpoints = EndpointSelector {
            service: raw.service,
            environment: raw.environment,
            route: raw.route,
            min_requests: raw.min_requests,
        };
        Ok(match raw.kind {
            NewGroup | Regression => {
                let rule = IssueRule {
                    common,
                    severity: raw.severity,
                    filter: raw.filter,
                    resolve_after: raw.resolve_after,
                };
                if raw.kind == NewGroup {
                    Rule::NewGroup(rule)
                } else {
                    Rule::Regression(rule)
                }
            }
            GroupFrequency => Rule::GroupFrequency(FrequencyRule {
                common,
                for_duration: raw.for_duration,
                severity: raw.severity,
                filter: raw.filter,
                count: raw.count,
                distinct_users: raw.distinct_users,
                window: raw.window,
            }),
            ErrorRate => Rule::ErrorRate(ErrorRateRule {
                common,
                for_duration: raw.for_duration,
                endpoints,
                window: raw.window,
                levels: Thresholds { warning: raw.warning, critical: raw.critical, resolve: raw.resolve },
            }),
            Latency => Rule::Latency(LatencyRule {
                common,
                for_duration: raw.for_duration,
                endpoints,
                window: raw.window,
                percentile: raw.percentile,
                threshold_ms: raw.threshold_ms,
            }),
            CheckDown => Rule::CheckDown(CheckDownRule {
                common,
                for_duration: raw.for_duration,
                severity: raw.severity,
                check: raw.check,
                consecutive: raw.consecutive,
            }),
            CertExpiry => Rule::CertExpiry(CertExpiryRule {
                common,
                for_duration: raw.for_duration,
                check: raw.check,
                days: raw.days,
                critical_days: raw.critical_days,
            }),
            Anomaly => Rule::Anomaly(AnomalyRule {
                common,
                for_duration: raw.for_duration,
                severity: raw.severity,
                endpoints,
                metric: raw.metric,
                sensitivity: raw.sensitivity,
            }),
        })
    }
}

impl From<Rule> for RawRule {
    fn from(rule: Rule) -> RawRule {
        let kind = rule.kind();
        let with_endpoints = |raw: &mut RawRule, e: EndpointSelector| {
            raw.service = e.service;
            raw.environment = e.environment;
            raw.route = e.route;
            raw.min_requests = e.min_requests;
        };
        match rule {
            Rule::NewGroup(r) | Rule::Regression(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.severity = r.severity;
                raw.filter = r.filter;
                raw.resolve_after = r.resolve_after;
                raw
            }
            Rule::GroupFrequency(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.for_duration = r.for_duration;
                raw.severity = r.severity;
                raw.filter = r.filter;
                raw.count = r.count;
                raw.distinct_users = r.distinct_users;
                raw.window = r.window;
                raw
            }
            Rule::ErrorRate(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.for_duration = r.for_duration;
                with_endpoints(&mut raw, r.endpoints);
                raw.window = r.window;
                raw.warning = r.levels.warning;
                raw.critical = r.levels.critical;
                raw.resolve = r.levels.resolve;
                raw
            }
            Rule::Latency(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.for_duration = r.for_duration;
                with_endpoints(&mut raw, r.endpoints);
                raw.window = r.window;
                raw.percentile = r.percentile;
                raw.threshold_ms = r.threshold_ms;
                raw
            }
            Rule::CheckDown(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.for_duration = r.for_duration;
                raw.severity = r.severity;
                raw.check = r.check;
                raw.consecutive = r.consecutive;
                raw
            }
            Rule::CertExpiry(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.for_duration = r.for_duration;
                raw.check = r.check;
                raw.days = r.days;
                raw.critical_days = r.critical_days;
                raw
            }
            Rule::Anomaly(r) => {
                let mut raw = RawRule::empty(r.common, kind);
                raw.for_duration = r.for_duration;
                raw.severity = r.severity;
                with_endpoints(&mut raw, r.endpoints);
                raw.metric = r.metric;
                raw.sensitivity = r.sensitivity;
                raw
            }
        }
    }
}
