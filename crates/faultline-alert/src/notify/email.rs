//! The email: a subject, and the same content as plain text and HTML
//! (sent as multipart/alternative by `smtp`).

use faultline_model::{escape_html, format_rfc3339};

use super::format::{
    absolute_url, alert_resolved, headline, more_line, one_line, severity_name, truncate, value_line,
};
use crate::{Alert, Notification, NotificationKind, Severity};

/// More than the chat channels list: an email is read at leisure, but a
/// thousand-alert storm still should not make a megabyte message.
pub(crate) const EMAIL_MAX_ALERTS: usize = 50;
const SUBJECT_MAX_CHARS: usize = 200;

/// `(subject, text, html)`. Every piece of alert text in the HTML is
/// escaped: titles and summaries come from error messages, which anyone
/// able to make the monitored service fail can choose.
pub fn render_email(n: &Notification) -> (String, String, String) {
    let subject = truncate(&format!("[Faultline] {}", headline(n)), SUBJECT_MAX_CHARS);
    (subject, text_body(n), html_body(n))
}

fn overview(n: &Notification) -> String {
    let count = match n.alerts.len() {
        1 => "1 alert".to_string(),
        c => format!("{c} alerts"),
    };
    format!("Rule {} · {} · {count}", one_line(&n.rule_name), severity_name(n.severity))
}

/// "Service: checkout · value 12.5 (threshold 10)", if there is any.
fn facts(alert: &Alert) -> Option<String> {
    let facts: Vec<String> = [
        alert.service.as_ref().map(|s| format!("Service: {s}")),
        value_line(alert).map(|v| format!("Measured {v}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!facts.is_empty()).then(|| facts.join(" · "))
}

fn times(alert: &Alert) -> String {
    match alert.resolved_at {
        Some(resolved) => {
            format!("Started {}, resolved {}", format_rfc3339(alert.started_at), format_rfc3339(resolved))
        }
        None => format!("Started {}", format_rfc3339(alert.started_at)),
    }
}

fn text_body(n: &Notification) -> String {
    let mut out = format!("{}\n{}\n", headline(n), overview(n));
    for alert in n.alerts.iter().take(EMAIL_MAX_ALERTS) {
        out.push('\n');
        let marker = if alert_resolved(n, alert) { "[resolved] " } else { "" };
        out.push_str(&format!("* {marker}{}\n", one_line(&alert.title)));
        if let Some(facts) = facts(alert) {
            out.push_str(&format!("  {facts}\n"));
        }
        for line in alert.summary.lines().filter(|l| !l.trim().is_empty()) {
            out.push_str(&format!("  {}\n", line.trim_end()));
        }
        out.push_str(&format!("  {}\n", times(alert)));
        if let Some(url) = absolute_url(alert) {
            out.push_str(&format!("  {url}\n"));
        }
    }
    let hidden = n.alerts.len().saturating_sub(EMAIL_MAX_ALERTS);
    if hidden > 0 {
        out.push_str(&format!("\n{}\n", more_line(hidden)));
    }
    out.push_str(&format!("\n-- \nSent by Faultline. Notification {}\n", n.id));
    out
}

fn html_body(n: &Notification) -> String {
    let accent = match (n.kind, n.severity) {
        (NotificationKind::Resolved, _) => "#2e7d32",
        (_, Severity::Critical) => "#c62828",
        (_, Severity::Warning) => "#ef6c00",
    };
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
         <body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;\">\n",
    );
    out.push_str(&format!(
        "<h2 style=\"color:{accent};margin:0 0 4px;\">{}</h2>\n",
        escape_html(&headline(n))
    ));
    out.push_str(&format!("<p style=\"color:#555;margin:0 0 16px;\">{}</p>\n", escape_html(&overview(n))));
    for alert in n.alerts.iter().take(EMAIL_MAX_ALERTS) {
        let resolved = alert_resolved(n, alert);
        let border = if resolved { "#2e7d32" } else { accent };
        out.push_str(&format!(
            "<div style=\"border-left:4px solid {border};padding:4px 12px;margin:0 0 12px;\">\n"
        ));
        let marker = if resolved { "Resolved: " } else { "" };
        out.push_str(&format!(
            "<p style=\"margin:4px 0;\"><strong>{marker}{}</strong></p>\n",
            escape_html(&one_line(&alert.title))
        ));
        if let Some(facts) = facts(alert) {
            out.push_str(&format!("<p style=\"margin:4px 0;\">{}</p>\n", escape_html(&facts)));
        }
        if !alert.summary.trim().is_empty() {
            out.push_str(&format!(
                "<pre style=\"white-space:pre-wrap;margin:4px 0;font-size:13px;\">{}</pre>\n",
                escape_html(alert.summary.trim())
            ));
        }
        out.push_str(&format!("<p style=\"color:#777;margin:4px 0;\">{}</p>\n", escape_html(&times(alert))));
        if let Some(url) = absolute_url(alert) {
            out.push_str(&format!(
                "<p style=\"margin:4px 0;\"><a href=\"{}\">Open in Faultline</a></p>\n",
                escape_html(url)
            ));
        }
        out.push_str("</div>\n");
    }
    let hidden = n.alerts.len().saturating_sub(EMAIL_MAX_ALERTS);
    if hidden > 0 {
        out.push_str(&format!("<p>{}</p>\n", escape_html(&more_line(hidden))));
    }
    out.push_str(&format!(
        "<p style=\"color:#999;font-size:12px;\">Sent by Faultline. Notification {}</p>\n</body></html>\n",
        escape_html(&n.id)
    ));
    out
}
