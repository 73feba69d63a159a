//! Wording every channel shares, so a notification reads the same in
//! Slack, an email and a PagerDuty incident.

use crate::{Alert, AlertState, Notification, NotificationKind, Severity};

/// `[FIRING] New issue in checkout: KeyError` for one alert,
/// `[FIRING:3] Error rate` for several (named after the rule).
pub(crate) fn headline(n: &Notification) -> String {
    let label = kind_label(n.kind);
    match n.alerts.as_slice() {
        [alert] => one_line(&format!("[{label}] {}", alert.title)),
        alerts if alerts.len() > 1 => one_line(&format!("[{label}:{}] {}", alerts.len(), n.rule_name)),
        _ => one_line(&format!("[{label}] {}", n.rule_name)),
    }
}

pub(crate) fn kind_label(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Firing => "FIRING",
        NotificationKind::Reminder => "STILL FIRING",
        NotificationKind::Resolved => "RESOLVED",
    }
}

pub(crate) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// Whether this alert is reported as over, whatever the notification's kind.
pub(crate) fn alert_resolved(n: &Notification, alert: &Alert) -> bool {
    alert.state == AlertState::Resolved || n.kind == NotificationKind::Resolved
}

/// `value 12.5 (threshold 10)`, `value 12.5`, or nothing.
pub(crate) fn value_line(alert: &Alert) -> Option<String> {
    match (alert.value, alert.threshold) {
        (Some(v), Some(t)) => Some(format!("value {} (threshold {})", number(v), number(t))),
        (Some(v), None) => Some(format!("value {}", number(v))),
        (None, Some(t)) => Some(format!("threshold {}", number(t))),
        (None, None) => None,
    }
}

/// Integers without a fraction, others to at most 3 decimals: rates and
/// latencies are read by people, not compared digit by digit.
pub(crate) fn number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The alert's UI link when it is absolute: a relative one (no public URL
/// configured) means nothing in a chat or a pager and Slack rejects it.
pub(crate) fn absolute_url(alert: &Alert) -> Option<&str> {
    alert.url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// Newlines and runs of spaces folded into one space, for subjects and headers.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, the last one `…` when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// "and 3 more alerts" past a channel's listing limit.
pub(crate) fn more_line(hidden: usize) -> String {
    if hidden == 1 {
        "and 1 more alert".to_string()
    } else {
        format!("and {hidden} more alerts")
    }
}
