//! `/alerts`: alerts firing and pending now, what mutes them, and the
//! recently resolved ones.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_alert::engine::{AnomalyMetric, MutedBy, Rule, RuleKind};
use faultline_alert::{Alert, AlertState};
use faultline_model::now_nanos;

use super::{severity_name, Notice, Tabs};
use crate::http::Api;
use crate::ui::format::{self, url_encode};
use crate::ui::{render, Chrome, CsrfToken, Section};

/// Resolved alerts the page lists.
const RESOLVED_SHOWN: usize = 25;

pub struct AlertRow {
    pub state: &'static str,
    pub severity: &'static str,
    pub rule_id: String,
    pub rule_name: String,
    pub title: String,
    pub summary: String,
    pub labels: Vec<String>,
    pub since: String,
    pub since_exact: String,
    pub resolved: String,
    pub value: String,
    pub link: Option<String>,
    pub muted: Option<String>,
    pub silence_link: String,
    /// The issue it is about, which can be snoozed from here.
    pub group_id: Option<u64>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct FiringPage {
    chrome: Chrome,
    tabs: Tabs,
    notice: Notice,
    active: Vec<AlertRow>,
    firing: usize,
    pending: usize,
    resolved: Vec<AlertRow>,
    resolved_total: usize,
    has_rules: bool,
}

pub async fn page(State(api): State<Api>, Query(notice): Query<Notice>, token: CsrfToken) -> Response {
    let now = now_nanos();
    let rules = api.alerting.rules();
    let (active, history) = api.alerting.alerts();
    let active: Vec<AlertRow> = {
        let engine = api.alerting.engine();
        active
            .iter()
            .map(|a| {
                let muted = engine.muted_by(a, now).map(|m| match m {
                    MutedBy::Silence(id) => format!("silenced ({id})"),
                    MutedBy::Snooze(group) => format!("issue {group} snoozed"),
                });
                AlertRow { muted, ..row(a, &rules, now) }
            })
            .collect()
    };
    let resolved: Vec<AlertRow> =
        history.iter().rev().take(RESOLVED_SHOWN).map(|a| row(a, &rules, now)).collect();
    let page = FiringPage {
        chrome: Chrome::new("Alerts", Section::Alerts, &token),
        tabs: Tabs::new(&api, "firing"),
        notice: notice.trimmed(),
        firing: active.iter().filter(|a| a.state == "firing").count(),
        pending: active.iter().filter(|a| a.state == "pending").count(),
        active,
        resolved,
        resolved_total: history.len(),
        has_rules: !rules.is_empty(),
    };
    render(StatusCode::OK, &page, &token)
}

fn row(a: &Alert, rules: &[Rule], now: i64) -> AlertRow {
    let rule = rules.iter().find(|r| r.id() == a.rule_id);
    AlertRow {
        state: match a.state {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        },
        severity: severity_name(a.severity),
        rule_id: a.rule_id.clone(),
        rule_name: a.rule_name.clone(),
        title: a.title.clone(),
        summary: a.summary.clone(),
        labels: a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        since: format::relative(a.started_at, now),
        since_exact: format::exact(a.started_at),
        resolved: a.resolved_at.map(|t| format::relative(t, now)).unwrap_or_default(),
        value: value_text(a, rule),
        link: subject_link(a),
        muted: None,
        silence_link: silence_link(a),
        group_id: a.group_id,
    }
}

/// The measured value against its threshold, in the rule's unit.
fn value_text(a: &Alert, rule: Option<&Rule>) -> String {
    let Some(value) = a.value else { return String::new() };
    let kind = rule.map(Rule::kind);
    let show = |v: f64| match kind {
        Some(RuleKind::ErrorRate) => format::percent(v),
        Some(RuleKind::Latency) => format::millis(v),
        Some(RuleKind::Anomaly) if rule.is_some_and(|r| r.metric() == AnomalyMetric::ErrorRate) => {
            format::percent(v)
        }
        Some(RuleKind::Anomaly) => format::millis(v),
        Some(RuleKind::CertExpiry) => format!("{v:.1} days"),
        _ => format!("{v}"),
    };
    match a.threshold {
        Some(t) => format!("{} (threshold {})", show(value), show(t)),
        None => show(value),
    }
}

/// The explorer page of what the alert is about.
fn subject_link(a: &Alert) -> Option<String> {
    match (&a.group_id, &a.check_id, &a.service) {
        (Some(id), _, _) => Some(format!("/issues/{id}")),
        (None, Some(check), _) => Some(format!("/checks/{}", url_encode(check))),
        (None, None, Some(service)) => Some(format!("/services/{}", url_encode(service))),
        _ => None,
    }
}

/// The silence form, filled with matchers for exactly this alert.
fn silence_link(a: &Alert) -> String {
    let mut query = format!("?label=rule&value={}", url_encode(&a.rule_id));
    for (k, v) in a.labels.iter().filter(|(k, _)| k.as_str() != "severity" && k.as_str() != "rule") {
        query.push_str(&format!("&label={}&value={}", url_encode(k), url_encode(v)));
    }
    format!("/alerts/silences{query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_alert::Severity;
    use std::collections::BTreeMap;

    fn alert() -> Alert {
        Alert {
            rule_id: "rate".into(),
            rule_name: "Rate".into(),
            key: "service=checkout".into(),
            labels: BTreeMap::from([("service".to_string(), "check out".to_string())]),
            severity: Severity::Critical,
            state: AlertState::Firing,
            title: "t".into(),
            summary: String::new(),
            value: Some(0.25),
            threshold: Some(0.05),
            url: None,
            service: Some("check out".into()),
            group_id: None,
            check_id: None,
            started_at: 0,
            resolved_at: None,
        }
    }

    #[test]
    fn values_read_in_the_rules_unit() {
        let rule: Rule =
            toml::from_str("id = \"rate\"\nkind = \"error_rate\"\nwarning = 0.05").expect("rule");
        assert_eq!(value_text(&alert(), Some(&rule)), "25% (threshold 5.0%)");
        let mut latency = alert();
        latency.value = Some(950.0);
        latency.threshold = None;
        let rule: Rule = toml::from_str("id = \"rate\"\nkind = \"latency\"\nthreshold_ms = { warning = 5 }")
            .expect("rule");
        assert_eq!(value_text(&latency, Some(&rule)), "950 ms");
    }

    #[test]
    fn links_point_at_the_subject_and_a_matching_silence() {
        let a = alert();
        assert_eq!(subject_link(&a).as_deref(), Some("/services/check%20out"));
        assert_eq!(
            silence_link(&a),
            "/alerts/silences?label=rule&value=rate&label=service&value=check%20out"
        );
        let mut issue = alert();
        issue.group_id = Some(42);
        assert_eq!(subject_link(&issue).as_deref(), Some("/issues/42"));
    }
}
