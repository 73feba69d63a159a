//! Builders shared by the engine tests.

use std::time::Duration;

use faultline_alert::engine::{
    AlertsConfig, CheckStatus, Endpoint, EndpointWindow, Engine, Fact, HourlyFigures, Issue, IssueEvent, Rule,
};
use faultline_alert::{Notification, NotificationKind};

pub const S: i64 = 1_000_000_000;
pub const M: i64 = 60 * S;
pub const H: i64 = 60 * M;
pub const D: i64 = 24 * H;
/// 2023-11-15T00:00:00Z: midnight, so hours of the day are easy to read.
pub const T0: i64 = 1_700_006_400 * S;

pub fn rules(toml: &str) -> Vec<Rule> {
    AlertsConfig::from_toml(toml).unwrap().rules
}

pub fn engine(toml: &str) -> Engine {
    Engine::new(rules(toml)).unwrap()
}

pub fn issue(group_id: u64, service: &str) -> Issue {
    Issue {
        group_id,
        service: service.into(),
        environment: Some("prod".into()),
        exception_type: Some("KeyError".into()),
        level: "error".into(),
        title: format!("KeyError: 'email' #{group_id}"),
        culprit: "app.orders in parse".into(),
    }
}

pub fn occurrence(issue: Issue, user: Option<&str>, at: i64) -> IssueEvent {
    IssueEvent { issue, user: user.map(str::to_string), at }
}

pub fn new_group(group_id: u64, at: i64) -> Fact {
    Fact::NewGroup(occurrence(issue(group_id, "checkout"), None, at))
}

pub fn group_event(group_id: u64, user: Option<&str>, at: i64) -> Fact {
    Fact::GroupEvent(occurrence(issue(group_id, "checkout"), user, at))
}

pub fn endpoint(service: &str, route: Option<&str>) -> Endpoint {
    Endpoint { service: service.into(), environment: Some("prod".into()), route: route.map(str::to_string) }
}

/// A 5-minute window of `service` (whole service) with `errors` of `requests`.
pub fn rate(service: &str, requests: u64, errors: u64, at: i64) -> EndpointWindow {
    EndpointWindow {
        endpoint: endpoint(service, None),
        window: Duration::from_secs(300),
        requests,
        errors,
        p95_ms: Some(100.0),
        p99_ms: Some(200.0),
        at,
    }
}

pub fn route_rate(service: &str, route: &str, requests: u64, errors: u64, at: i64) -> EndpointWindow {
    EndpointWindow { endpoint: endpoint(service, Some(route)), ..rate(service, requests, errors, at) }
}

pub fn latency(service: &str, p95: f64, p99: f64, at: i64) -> EndpointWindow {
    EndpointWindow { p95_ms: Some(p95), p99_ms: Some(p99), ..rate(service, 1000, 0, at) }
}

pub fn hourly(e: &Endpoint, hour_start: i64, requests: u64, errors: u64, p95: f64) -> HourlyFigures {
    HourlyFigures { endpoint: e.clone(), hour_start, requests, errors, p95_ms: Some(p95) }
}

pub fn check(id: &str, failures: u32, tls_days_left: Option<f64>, at: i64) -> CheckStatus {
    CheckStatus {
        check_id: id.into(),
        consecutive_failures: failures,
        last_error: (failures > 0).then(|| "connection refused".to_string()),
        tls_days_left,
        at,
    }
}

/// The notifications of `kind`.
pub fn of_kind(notifications: &[Notification], kind: NotificationKind) -> Vec<&Notification> {
    notifications.iter().filter(|n| n.kind == kind).collect()
}

/// `(kind, rule, number of alerts)` of each notification, to compare at a glance.
pub fn summary(notifications: &[Notification]) -> Vec<(NotificationKind, String, usize)> {
    notifications.iter().map(|n| (n.kind, n.rule_id.clone(), n.alerts.len())).collect()
}
