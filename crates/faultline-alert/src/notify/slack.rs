//! Slack incoming-webhook messages in Block Kit.

use faultline_model::{format_rfc3339, UnixNanos};
use serde_json::{json, Value};

use super::format::{
    absolute_url, alert_resolved, headline, more_line, one_line, severity_name, truncate, value_line,
};
use crate::{Alert, Notification, NotificationKind, Severity};

/// Alerts listed one section each; a message stays readable (and far
/// below Slack's 50-block limit) with the rest counted in one line.
pub(crate) const SLACK_MAX_ALERTS: usize = 10;
// Slack's own limits: longer texts make it reject the whole message.
const HEADER_MAX_CHARS: usize = 150;
const SECTION_MAX_CHARS: usize = 3000;

/// The message: `text` (notifications, screen readers, old clients) and
/// `blocks` (header, one section per alert with a button to the UI, a
/// context line).
pub fn render_slack(n: &Notification) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate(&format!("{} {}", emoji(n), headline(n)), HEADER_MAX_CHARS),
            "emoji": true,
        },
    })];
    blocks.extend(n.alerts.iter().take(SLACK_MAX_ALERTS).map(|alert| alert_section(n, alert)));
    let hidden = n.alerts.len().saturating_sub(SLACK_MAX_ALERTS);
    if hidden > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": format!("_{}_", more_line(hidden)) }],
        }));
    }
    blocks.push(json!({ "type": "divider" }));
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": context_line(n) }],
    }));
    json!({ "text": escape(&headline(n)), "blocks": blocks })
}

fn emoji(n: &Notification) -> &'static str {
    match (n.kind, n.severity) {
        (NotificationKind::Resolved, _) => "✅",
        (_, Severity::Critical) => "🔴",
        (_, Severity::Warning) => "🟠",
    }
}

fn alert_section(n: &Notification, alert: &Alert) -> Value {
    let mut lines = Vec::new();
    if alert_resolved(n, alert) {
        lines.push(format!("✅ *Resolved:* {}", escape(&one_line(&alert.title))));
    } else {
        lines.push(format!("*{}*", escape(&one_line(&alert.title))));
    }
    let facts: Vec<String> = [
        alert.service.as_ref().map(|s| format!("Service: `{}`", escape(&s.replace('`', "'")))),
        value_line(alert).map(|v| capitalize(&v)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !facts.is_empty() {
        lines.push(facts.join(" · "));
    }
    if !alert.summary.trim().is_empty() {
        lines.push(escape(alert.summary.trim()));
    }
    let mut times = vec![format!("Started {}", slack_date(alert.started_at))];
    if let Some(resolved) = alert.resolved_at {
        times.push(format!("resolved {}", slack_date(resolved)));
    }
    lines.push(times.join(" · "));

    let mut section = json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(&lines.join("\n"), SECTION_MAX_CHARS) },
    });
    if let Some(url) = absolute_url(alert) {
        section["accessory"] = json!({
            "type": "button",
            "text": { "type": "plain_text", "text": "Open in Faultline", "emoji": true },
            "url": url,
        });
    }
    section
}

fn context_line(n: &Notification) -> String {
    let count = match n.alerts.len() {
        1 => "1 alert".to_string(),
        c => format!("{c} alerts"),
    };
    let severity = severity_name(n.severity);
    format!("Faultline · rule *{}* · {severity} · {count}", escape(&one_line(&n.rule_name)))
}

/// Slack shows the date in the reader's time zone; the fallback text is
/// for clients that cannot.
fn slack_date(nanos: UnixNanos) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    format!("<!date^{secs}^{{date_short_pretty}} {{time}}|{}>", format_rfc3339(nanos))
}

/// Slack's mrkdwn gives `&`, `<` and `>` meaning (links, mentions); user
/// text (titles, messages from stack traces) must not trigger them.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
