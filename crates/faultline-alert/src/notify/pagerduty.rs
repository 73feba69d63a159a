//! PagerDuty Events API v2: one event per alert, so each alert becomes
//! (and later resolves) its own PagerDuty incident.

use faultline_model::format_rfc3339;
use serde_json::{json, Map, Value};

use super::format::{absolute_url, alert_resolved, one_line, severity_name, truncate, value_line};
use crate::{Alert, Notification};

// The API's limits: longer values make it reject the event.
const SUMMARY_MAX_CHARS: usize = 1024;
const DEDUP_KEY_MAX_CHARS: usize = 255;

/// The events, in the order of the notification's alerts. Resolve events
/// carry the same payload as triggers: PagerDuty needs only the dedup key
/// to resolve, but the details keep the event log readable.
pub fn render_pagerduty(n: &Notification, routing_key: &str) -> Vec<Value> {
    n.alerts.iter().map(|alert| event(n, alert, routing_key)).collect()
}

fn event(n: &Notification, alert: &Alert, routing_key: &str) -> Value {
    let action = if alert_resolved(n, alert) { "resolve" } else { "trigger" };
    let source = alert
        .service
        .clone()
        .or_else(|| alert.check_id.as_ref().map(|c| format!("check {c}")))
        .unwrap_or_else(|| "faultline".to_string());
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(alert),
        "client": "Faultline",
        "payload": {
            "summary": truncate(&one_line(&alert.title), SUMMARY_MAX_CHARS),
            "source": source,
            "severity": severity_name(alert.severity),
            "timestamp": format_rfc3339(alert.started_at),
            "class": alert.rule_name,
            "custom_details": custom_details(n, alert),
        },
    });
    if let Some(url) = absolute_url(alert) {
        event["links"] = json!([{ "href": url, "text": "Open in Faultline" }]);
        event["client_url"] = json!(url);
    }
    event
}

/// `<rule id>:<alert key>`: stable for the alert's whole life, so the
/// trigger, reminders and the resolve land on one incident. Past the API's
/// 255 characters a hash of both stands in, still stable and distinct.
fn dedup_key(alert: &Alert) -> String {
    let key = format!("{}:{}", alert.rule_id, alert.key);
    if key.chars().count() <= DEDUP_KEY_MAX_CHARS {
        return key;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    format!("faultline:sha256:{}", hex::encode(digest.as_ref()))
}

fn custom_details(n: &Notification, alert: &Alert) -> Value {
    let mut details = Map::new();
    details.insert("rule".into(), json!(alert.rule_name));
    details.insert("rule_id".into(), json!(alert.rule_id));
    details.insert("alert_key".into(), json!(alert.key));
    details.insert("notification_id".into(), json!(n.id));
    if !alert.summary.trim().is_empty() {
        details.insert("summary".into(), json!(alert.summary));
    }
    if let Some(line) = value_line(alert) {
        details.insert("measurement".into(), json!(line));
    }
    let optional = [
        ("value", alert.value.map(|v| json!(v))),
        ("threshold", alert.threshold.map(|v| json!(v))),
        ("service", alert.service.as_ref().map(|v| json!(v))),
        ("group_id", alert.group_id.map(|v| json!(v))),
        ("check_id", alert.check_id.as_ref().map(|v| json!(v))),
        ("url", alert.url.as_ref().map(|v| json!(v))),
        ("resolved_at", alert.resolved_at.map(|t| json!(format_rfc3339(t)))),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            details.insert(name.into(), value);
        }
    }
    if !alert.labels.is_empty() {
        details.insert("labels".into(), json!(alert.labels));
    }
    Value::Object(details)
}
