//! Check rules: down after consecutive failures, certificates near expiry.

use faultline_alert::{NotificationKind, Severity};

use crate::support::*;

const CHECKS: &str = r#"
[[alerts.rules]]
id = "site-down"
kind = "check_down"
check = "api-*"
consecutive = 3

[[alerts.rules]]
id = "cert"
kind = "cert_expiry"
days = 14
critical_days = 3
"#;

#[test]
fn a_check_is_down_after_consecutive_failures_and_up_after_a_success() {
    let mut engine = engine(CHECKS);
    assert!(engine.observe(check("api-health", 1, None, T0), T0).is_empty());
    assert!(engine.observe(check("api-health", 2, None, T0 + M), T0 + M).is_empty());
    assert!(engine.observe(check("web-home", 5, None, T0 + M), T0 + M).is_empty(), "not matched by `api-*`");
    let sent = engine.observe(check("api-health", 3, None, T0 + 2 * M), T0 + 2 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "site-down".to_string(), 1)]);
    let alert = &sent[0].alerts[0];
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.title, "Check api-health is down");
    assert_eq!(alert.check_id.as_deref(), Some("api-health"));
    assert_eq!(alert.labels["check"], "api-health");
    assert!(alert.summary.contains("Last error: connection refused"));
    for n in 4..10 {
        let t = T0 + n * M;
        assert!(engine.observe(check("api-health", n as u32, None, t), t).is_empty());
        assert!(engine.tick(t).is_empty());
    }
    let sent = engine.observe(check("api-health", 0, None, T0 + 10 * M), T0 + 10 * M);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "site-down".to_string(), 1)]);
    assert_eq!(sent[0].alerts[0].title, "Check api-health is up again");
}

#[test]
fn certificates_warn_then_escalate_then_resolve_when_renewed() {
    let mut engine = engine(CHECKS);
    assert!(engine.observe(check("shop", 0, Some(30.0), T0), T0).is_empty());
    let sent = engine.observe(check("shop", 0, Some(13.5), T0 + D), T0 + D);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "cert".to_string(), 1)]);
    assert_eq!(sent[0].severity, Severity::Warning);
    assert_eq!(sent[0].alerts[0].title, "TLS certificate of shop expires in 14 days");
    // Daily reminders by default, not every 4 hours.
    assert!(engine.tick(T0 + D + 23 * H).is_empty());
    let mut sent = engine.observe(check("shop", 0, Some(12.6), T0 + 2 * D), T0 + 2 * D);
    sent.extend(engine.tick(T0 + 2 * D));
    assert_eq!(summary(&sent), [(NotificationKind::Reminder, "cert".to_string(), 1)]);
    let sent = engine.observe(check("shop", 0, Some(2.5), T0 + 13 * D), T0 + 13 * D);
    assert_eq!(summary(&sent), [(NotificationKind::Firing, "cert".to_string(), 1)]);
    assert_eq!(sent[0].severity, Severity::Critical);
    let sent = engine.observe(check("shop", 0, Some(89.0), T0 + 13 * D + H), T0 + 13 * D + H);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "cert".to_string(), 1)]);
    assert_eq!(sent[0].alerts[0].title, "TLS certificate of shop renewed");
}

#[test]
fn a_check_that_stops_reporting_resolves_after_a_day() {
    let mut engine = engine(CHECKS);
    assert_eq!(engine.observe(check("api-x", 3, None, T0), T0).len(), 1);
    assert!(engine.tick(T0 + D - S).iter().all(|n| n.kind == NotificationKind::Reminder));
    let sent = engine.tick(T0 + D);
    assert_eq!(summary(&sent), [(NotificationKind::Resolved, "site-down".to_string(), 1)]);
}
