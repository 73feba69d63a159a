//! Notifications to send, and short policies so retries take milliseconds.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_alert::notify::{Channel, ChannelConfig, DeliveryAttempt, DeliveryPolicy};
use faultline_alert::{Alert, AlertState, Notification, NotificationKind, Severity};

/// 2025-01-01T00:00:00Z
pub const T0: i64 = 1_735_689_600_000_000_000;

pub fn alert(key: &str, title: &str) -> Alert {
    Alert {
        rule_id: "rule-errors".into(),
        rule_name: "Error rate above 5%".into(),
        key: key.into(),
        labels: BTreeMap::from([("service".into(), "checkout".into()), ("route".into(), "/pay".into())]),
        severity: Severity::Critical,
        state: AlertState::Firing,
        title: title.into(),
        summary: "12.5% of 400 requests failed in 5m\nculprit: checkout.pay in handlers/pay.py".into(),
        value: Some(12.5),
        threshold: Some(5.0),
        url: Some("https://faultline.example.com/services/checkout".into()),
        service: Some("checkout".into()),
        group_id: Some(42),
        check_id: None,
        started_at: T0,
        resolved_at: None,
    }
}

pub fn notification(alerts: Vec<Alert>) -> Notification {
    Notification {
        id: "n-0001".into(),
        kind: NotificationKind::Firing,
        rule_id: "rule-errors".into(),
        rule_name: "Error rate above 5%".into(),
        severity: Severity::Critical,
        alerts,
        created_at: T0 + 60_000_000_000,
    }
}

pub fn one_alert() -> Notification {
    notification(vec![alert("service=checkout,route=/pay", "Error rate 12.5% on checkout /pay")])
}

pub fn resolved(mut n: Notification) -> Notification {
    n.kind = NotificationKind::Resolved;
    for a in &mut n.alerts {
        a.state = AlertState::Resolved;
        a.resolved_at = Some(T0 + 600_000_000_000);
    }
    n
}

pub fn channel(config: ChannelConfig) -> Channel {
    Channel { id: "ch-1".into(), name: "test channel".into(), config }
}

/// Millisecond backoffs; attempts as given.
pub fn fast_policy(max_attempts: u32) -> DeliveryPolicy {
    DeliveryPolicy {
        timeout: Duration::from_secs(5),
        max_attempts,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
    }
}

/// Delivers and returns the result with every reported attempt.
pub async fn deliver_recording(
    channel: &Channel,
    n: &Notification,
    policy: &DeliveryPolicy,
) -> (Result<(), faultline_alert::notify::DeliveryError>, Vec<DeliveryAttempt>) {
    let mut attempts = Vec::new();
    let result = faultline_alert::notify::deliver(channel, n, policy, |a| attempts.push(a)).await;
    (result, attempts)
}
