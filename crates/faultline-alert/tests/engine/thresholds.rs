//! Error-rate and latency rules: levels, hysteresis, escalation, `for`,
//! `min_requests`, staleness.

use std::time::Duration;

use faultline_alert::engine::{EndpointWindow, Input};
use faultline_alert::{AlertState, NotificationKind, Severity};

use crate::support::*;

const API: &str = r#"
[[alerts.rules]]
id = "api-errors"
kind = "error_rate"
service = "checkout"
window = "5m"
min_requests = 20
warning = 0.02
critical = 0.05
resolve = 0.01
"#;

/// Feeds one 5-minute window of `errors` in 1000 requests at `t`, ticks,
/// and returns everything announced.
fn feed(
    engine: &mut faultline_alert::engine::Engine,
    errors: u64,
    t: i64,
) -> Vec<faultline_alert::Notification> {
    let mut sent = engine.observe(rate("checkout", 1000, errors, t), t);
    sent.extend(engine.tick(t));
    sent
}

#[test]
fn error_rate_fires_once_and_resolves_only_below_the_resolve_level() {
    let mut engine = engine(API);
    assert!(feed(&mut engine, 10, T0).is_empty(), "1% is fine");
    let sent = feed(&mut engine, 30, T0 + 10 * S);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "api-errors".to_string(), 1)]);
    let alert = &sent[0].alerts[0];
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(alert.title, "checkout (prod): error rate 3%");
    assert_eq!((alert.value, alert.threshold), (Some(0.03), Some(0.02)));
    assert!(alert.summary.contains("30 of 1000 requests failed over the last 5m"), "{}", alert.summary);
    assert!(alert.summary.contains("Warning at 2%, critical at 5%, resolves below 1%"), "{}", alert.summary);
    assert_eq!(alert.key, "service=checkout,environment=prod");

    // Still above warning, then below warning but above resolve: firing, silent.
    assert!(feed(&mut engine, 25, T0 + 20 * S).is_empty());
    assert!(feed(&mut engine, 15, T0 + 30 * S).is_empty());
    assert!(feed(&mut engine, 10, T0 + 40 * S).is_empty(), "exactly the resolve level holds");
    assert_eq!(engine.alerts()[0].state, AlertState::Firing);
    assert_eq!(engine.alerts()[0].threshold, Some(0.01));

    let sent = feed(&mut engine, 9, T0 + 50 * S);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "api-errors".to_string(), 1)]);
    assert_eq!(sent[0].alerts[0].title, "checkout (prod): error rate back to 0.9%");
    assert!(engine.alerts().is_empty());

    // Over the threshold again later: a new episode, a new notice.
    let again = feed(&mut engine, 40, T0 + 60 * S);
    assert_eq!(summary(&again), [(NotificationKind::Firing, "api-errors".to_string(), 1)]);
    assert_ne!(again[0].id, sent[0].id);
}

#[test]
fn severity_escalation_is_news_and_de_escalation_is_not() {
    let mut engine = engine(API);
    let first = feed(&mut engine, 30, T0);
    assert_eq!(first[0].severity, Severity::Warning);
    let escalated = feed(&mut engine, 80, T0 + 10 * S);
    assert_eq!(summary(&escalated), [(NotificationKind::Firing, "api-errors".to_string(), 1)]);
    assert_eq!(escalated[0].severity, Severity::Critical);
    assert_eq!(escalated[0].alerts[0].threshold, Some(0.05));
    assert_ne!(escalated[0].id, first[0].id);
    assert!(feed(&mut engine, 30, T0 + 20 * S).is_empty(), "falling back to warning is quiet");
    assert_eq!(engine.alerts()[0].severity, Severity::Warning);
    assert!(feed(&mut engine, 80, T0 + 30 * S).is_empty(), "critical was announced already");
    // The reminder clock restarted at the escalation.
    let mut t = T0 + 40 * S;
    let mut reminders = Vec::new();
    while t <= T0 + 10 * S + 4 * H {
        reminders.extend(feed(&mut engine, 80, t).into_iter().map(|n| (t, n.kind)));
        t += 10 * S;
    }
    assert_eq!(reminders, [(T0 + 10 * S + 4 * H, NotificationKind::Reminder)]);
}

#[test]
fn min_requests_keeps_one_failure_in_two_from_paging() {
    let mut engine = engine(API);
    assert!(engine.observe(rate("checkout", 2, 1, T0), T0).is_empty());
    assert!(engine.observe(rate("checkout", 19, 19, T0 + 10 * S), T0 + 10 * S).is_empty());
    assert!(engine.alerts().is_empty());
    // Too little traffic says nothing either way: a firing alert is not resolved by it.
    assert_eq!(feed(&mut engine, 100, T0 + 20 * S).len(), 1);
    assert!(engine.observe(rate("checkout", 2, 0, T0 + 30 * S), T0 + 30 * S).is_empty());
    assert_eq!(engine.alerts().len(), 1);
}

#[test]
fn for_keeps_an_alert_pending_first() {
    let mut engine = engine(&format!("{API}for = \"1m\"\n"));
    assert!(feed(&mut engine, 60, T0).is_empty());
    let alerts = engine.alerts();
    assert_eq!((alerts[0].state, alerts[0].severity), (AlertState::Pending, Severity::Critical));
    assert!(feed(&mut engine, 60, T0 + 50 * S).is_empty());
    let sent = feed(&mut engine, 60, T0 + 60 * S);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "api-errors".to_string(), 1)]);
    assert_eq!(sent[0].alerts[0].started_at, T0, "started when the condition first held");

    // A pending alert whose condition stops holding is dropped without a word.
    let mut engine = crate::support::engine(&format!("{API}for = \"1m\"\n"));
    assert!(feed(&mut engine, 60, T0).is_empty());
    assert!(feed(&mut engine, 15, T0 + 30 * S).is_empty(), "no hysteresis for pending alerts");
    assert!(engine.alerts().is_empty());
    assert!(feed(&mut engine, 60, T0 + 40 * S).is_empty());
    assert!(feed(&mut engine, 60, T0 + 90 * S).is_empty(), "`for` counts from the new start");
    let sent = feed(&mut engine, 60, T0 + 100 * S);
    assert_eq!(sent[0].alerts[0].started_at, T0 + 40 * S);
    assert!(engine.history().is_empty(), "pending alerts leave no history");
}

#[test]
fn routes_alert_separately_and_are_announced_together() {
    let mut engine = engine(
        r#"
[[alerts.rules]]
id = "routes"
kind = "error_rate"
service = "check*"
route = "/*"
critical = 0.1
"#,
    );
    let windows: Vec<Input> = vec![
        route_rate("checkout", "/pay", 100, 50, T0).into(),
        route_rate("checkout", "/cart", 100, 20, T0).into(),
        route_rate("checkout", "/health", 100, 0, T0).into(),
        // The whole service is not a route: this rule does not look at it.
        rate("checkout", 300, 70, T0).into(),
        route_rate("search", "/q", 100, 90, T0).into(),
    ];
    let sent = engine.observe_all(windows, T0);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "routes".to_string(), 2)]);
    let routes: Vec<&str> = sent[0].alerts.iter().map(|a| a.labels["route"].as_str()).collect();
    assert_eq!(routes, ["/cart", "/pay"]);
    assert_eq!(sent[0].severity, Severity::Critical);
}

#[test]
fn latency_uses_its_percentile_and_levels() {
    let mut engine = engine(
        r#"
[[alerts.rules]]
id = "slow"
kind = "latency"
percentile = "p99"
threshold_ms = { warning = 300, critical = 800, resolve = 250 }
"#,
    );
    assert!(engine.observe(latency("checkout", 900.0, 299.0, T0), T0).is_empty(), "p95 is not p99");
    let sent = engine.observe(latency("checkout", 100.0, 850.0, T0 + 10 * S), T0 + 10 * S);
    assert_eq!(sent[0].severity, Severity::Critical);
    assert_eq!(sent[0].alerts[0].title, "checkout (prod): p99 latency 850 ms");
    assert!(engine.observe(latency("checkout", 100.0, 260.0, T0 + 20 * S), T0 + 20 * S).is_empty());
    let sent = engine.observe(latency("checkout", 100.0, 240.0, T0 + 30 * S), T0 + 30 * S);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "slow".to_string(), 1)]);
}

#[test]
fn windows_of_another_length_are_ignored() {
    let mut engine = engine(API);
    let ten_minutes = EndpointWindow { window: Duration::from_secs(600), ..rate("checkout", 1000, 900, T0) };
    assert!(engine.observe(ten_minutes, T0).is_empty());
    assert!(engine.alerts().is_empty());
}

#[test]
fn an_alert_without_data_resolves_as_stale() {
    let mut engine = engine(API);
    assert_eq!(feed(&mut engine, 100, T0).len(), 1);
    // Traffic stops: no window reaches min_requests any more.
    assert!(engine.tick(T0 + 10 * M - S).is_empty());
    let sent = engine.tick(T0 + 10 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "api-errors".to_string(), 1)]);
    assert!(sent[0].alerts[0].summary.contains("No data for 10m"), "{}", sent[0].alerts[0].summary);
}
