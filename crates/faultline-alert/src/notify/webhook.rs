//! The generic webhook: a versioned JSON document, optionally signed.

use faultline_model::format_rfc3339;
use serde_json::{json, Value};

use super::format::{headline, severity_name};
use crate::{Alert, AlertState, Notification, NotificationKind};

/// Bumped only for changes a receiver could trip over (a field removed or
/// retyped); new fields are added within a version.
pub const WEBHOOK_VERSION: u32 = 1;
pub const SIGNATURE_HEADER: &str = "X-Faultline-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Faultline-Timestamp";

/// The webhook body. Every alert is listed (receivers are programs; no
/// cut-off), times are RFC 3339 in UTC, absent values are `null`.
pub fn render_webhook(n: &Notification) -> Value {
    json!({
        "version": WEBHOOK_VERSION,
        "id": n.id,
        "kind": kind_name(n.kind),
        "title": headline(n),
        "rule": { "id": n.rule_id, "name": n.rule_name },
        "severity": severity_name(n.severity),
        "created_at": format_rfc3339(n.created_at),
        "alerts": n.alerts.iter().map(alert_json).collect::<Vec<_>>(),
    })
}

/// The `X-Faultline-Signature` value for a body sent at `timestamp` (Unix
/// seconds): `sha256=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn sign_webhook(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("sha256={}", hex::encode(context.sign().as_ref()))
}

fn alert_json(alert: &Alert) -> Value {
    json!({
        "key": alert.key,
        "state": state_name(alert.state),
        "severity": severity_name(alert.severity),
        "title": alert.title,
        "summary": alert.summary,
        "labels": alert.labels,
        "value": alert.value,
        "threshold": alert.threshold,
        "url": alert.url,
        "service": alert.service,
        "group_id": alert.group_id,
        "check_id": alert.check_id,
        "started_at": format_rfc3339(alert.started_at),
        "resolved_at": alert.resolved_at.map(format_rfc3339),
    })
}

// Spelled out rather than taken from the types' serde names, so renaming
// a Rust variant cannot silently change the documented format.
fn kind_name(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Firing => "firing",
        NotificationKind::Reminder => "reminder",
        NotificationKind::Resolved => "resolved",
    }
}

fn state_name(state: AlertState) -> &'static str {
    match state {
        AlertState::Pending => "pending",
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    }
}
