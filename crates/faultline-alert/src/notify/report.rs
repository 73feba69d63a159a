//! Reports (scheduled digests) through the notification channels: the
//! server renders the report as text and JSON; this module shapes it for
//! each channel kind and sends it with the transports, retries and attempt
//! records notifications use.
//!
//! # Webhook format (version 1, `kind = "report"`)
//!
//! ```json
//! {
//!   "version": 1,
//!   "kind": "report",
//!   "id": "digest-ops-1735722000",
//!   "title": "Faultline daily report: 3 new issues, 1234 errors",
//!   "created_at": "2025-01-01T09:00:00Z",
//!   "text": "Faultline report: last 24h …",
//!   "report": { "…": "the document of GET /api/v1/report" }
//! }
//! ```
//!
//! Signed like notifications when the channel has a `secret`. `id` is the
//! same on every retry and on a re-send of the same digest after a restart,
//! so a receiver can drop duplicates.

use faultline_model::{format_rfc3339, UnixNanos};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::channel::{Channel, ChannelConfig};
use super::deliver::{header_map, send_with_retries, Sender};
use super::error::{ChannelError, DeliveryError};
use super::format::truncate;
use super::http::{HttpRequest, HttpSender};
use super::smtp::{id_part, SmtpSender, SmtpSettings};
use super::webhook::WEBHOOK_VERSION;
use super::{DeliveryAttempt, DeliveryPolicy};
use faultline_model::escape_html as html_escape;

// Slack's limits: a header of 150 characters, sections of 3000, 50 blocks.
const SLACK_HEADER_MAX_CHARS: usize = 150;
/// Room for the code fences within a section's 3000 characters.
const SLACK_CHUNK_MAX_CHARS: usize = 2900;
/// Header and the truncation notice leave this many for the text.
const SLACK_MAX_TEXT_BLOCKS: usize = 45;
const SUBJECT_MAX_CHARS: usize = 200;

/// One rendered report, ready for any channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMessage {
    /// Stable across retries and re-sends of the same digest.
    pub id: String,
    /// One line: the email subject, the Slack header, the webhook title.
    pub subject: String,
    /// The plain-text rendering, aligned for a fixed-width font.
    pub text: String,
    /// The report as data (the server's `GET /api/v1/report` document).
    pub json: Value,
    pub created_at: UnixNanos,
}

/// Whether a channel can take reports: PagerDuty cannot (an incident per
/// digest would page someone for a summary).
pub fn check_report_target(channel: &Channel) -> Result<(), ChannelError> {
    match channel.config {
        ChannelConfig::PagerDuty { .. } => Err(ChannelError::NotForReports { kind: channel.config.kind() }),
        _ => Ok(()),
    }
}

pub fn render_report_webhook(m: &ReportMessage) -> Value {
    json!({
        "version": WEBHOOK_VERSION,
        "kind": "report",
        "id": m.id,
        "title": m.subject,
        "created_at": format_rfc3339(m.created_at),
        "text": m.text,
        "report": m.json,
    })
}

/// A header, then the text in code blocks (so columns stay aligned), split
/// at line ends to fit Slack's section limit.
pub fn render_report_slack(m: &ReportMessage) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&m.subject, SLACK_HEADER_MAX_CHARS), "emoji": true },
    })];
    let chunks = chunks(&slack_escape(&m.text), SLACK_CHUNK_MAX_CHARS);
    let cut = chunks.len() > SLACK_MAX_TEXT_BLOCKS;
    for chunk in chunks.into_iter().take(SLACK_MAX_TEXT_BLOCKS) {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("```\n{chunk}\n```") },
        }));
    }
    if cut {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": "_The report is longer than a Slack message; the rest is in Faultline._" }],
        }));
    }
    json!({ "text": slack_escape(&m.subject), "blocks": blocks })
}

/// `(subject, text, html)`; the HTML is the text in a `<pre>`, escaped
/// (issue titles come from error messages, which outsiders can choose).
pub fn render_report_email(m: &ReportMessage) -> (String, String, String) {
    let subject = truncate(&format!("[Faultline] {}", m.subject), SUBJECT_MAX_CHARS);
    let text = format!("{}\n\n-- \nSent by Faultline. Report {}\n", m.text.trim_end(), m.id);
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body>\n\
         <pre style=\"font-family:Menlo,Consolas,monospace;font-size:13px;\">{}</pre>\n\
         <p style=\"color:#999;font-size:12px;\">Sent by Faultline. Report {}</p>\n</body></html>\n",
        html_escape(m.text.trim_end()),
        html_escape(&m.id)
    );
    (subject, text, html)
}

/// Sends a report through a channel with the policy's retries; every
/// attempt goes to `on_attempt`, as for notifications. PagerDuty channels
/// and invalid channels are refused before anything is sent.
pub async fn deliver_report(
    channel: &Channel,
    message: &ReportMessage,
    policy: &DeliveryPolicy,
    on_attempt: impl FnMut(DeliveryAttempt),
) -> Result<(), DeliveryError> {
    channel.validate()?;
    check_report_target(channel)?;
    let json_request = |url: &str, headers: HeaderMap, body: Value, secret: Option<String>| HttpRequest {
        url: url.to_string(),
        headers,
        body: body.to_string().into_bytes(),
        signing_secret: secret,
    };
    let mut sender = match &channel.config {
        ChannelConfig::Webhook { url, secret, headers } => {
            let request =
                json_request(url, header_map(headers), render_report_webhook(message), secret.clone());
            Sender::Http(HttpSender::new(vec![request], policy.timeout))
        }
        ChannelConfig::Slack { webhook_url } => {
            let request = json_request(webhook_url, HeaderMap::new(), render_report_slack(message), None);
            Sender::Http(HttpSender::new(vec![request], policy.timeout))
        }
        ChannelConfig::Email { smtp_host, smtp_port, tls, username, password, from, to, ca_file } => {
            let settings = SmtpSettings {
                host: smtp_host,
                port: *smtp_port,
                tls: *tls,
                credentials: username.as_deref().zip(password.as_deref()),
                from,
                to,
                ca_file: ca_file.as_deref(),
            };
            let message_id = format!("{}.{}", id_part(&message.id), id_part(&channel.id));
            let content = render_report_email(message);
            Sender::Smtp(Box::new(SmtpSender::with_content(&settings, content, &message_id, policy.timeout)))
        }
        // Refused by `check_report_target` above.
        ChannelConfig::PagerDuty { .. } => {
            return Err(ChannelError::NotForReports { kind: channel.config.kind() }.into())
        }
    };
    send_with_retries(&mut sender, &channel.id, &message.id, policy, on_attempt).await
}

/// Pieces of at most `max` characters, cut at line ends; a longer line is
/// shortened rather than split, so no column wraps mid-row.
fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0;
    for line in text.lines() {
        let line = truncate(line, max);
        let chars = line.chars().count();
        if current_chars > 0 && current_chars + 1 + chars > max {
            out.push(std::mem::take(&mut current));
            current_chars = 0;
        }
        if current_chars > 0 {
            current.push('\n');
            current_chars += 1;
        }
        current.push_str(&line);
        current_chars += chars;
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Slack gives `&`, `<` and `>` meaning even in code blocks.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> ReportMessage {
        ReportMessage {
            id: "digest-ops-1735722000".into(),
            subject: "Faultline daily report: 2 new issues".into(),
            text: text.into(),
            json: json!({ "version": 1 }),
            created_at: 1_735_722_000_000_000_000,
        }
    }

    #[test]
    fn webhook_carries_text_and_report() {
        let body = render_report_webhook(&message("hello"));
        assert_eq!(body["version"], 1);
        assert_eq!(body["kind"], "report");
        assert_eq!(body["id"], "digest-ops-1735722000");
        assert_eq!(body["text"], "hello");
        assert_eq!(body["report"]["version"], 1);
        assert_eq!(body["created_at"], "2025-01-01T09:00:00Z");
    }

    #[test]
    fn slack_splits_long_reports_into_code_blocks_within_limits() {
        let line = format!("{:<60}<b>", "checkout");
        let text = vec![line; 200].join("\n");
        let body = render_report_slack(&message(&text));
        let blocks = body["blocks"].as_array().cloned().unwrap_or_default();
        assert!(blocks.len() > 3 && blocks.len() <= 50, "{} blocks", blocks.len());
        for block in &blocks[1..] {
            let text = block["text"]["text"].as_str().unwrap_or_default();
            assert!(text.starts_with("```\n") && text.ends_with("\n```"), "{text}");
            assert!(text.chars().count() <= 3000);
            assert!(!text.contains("<b>") && text.contains("&lt;b&gt;"), "escaped");
        }
    }

    #[test]
    fn slack_says_when_it_cut_the_report() {
        let text = vec!["x".repeat(2000); 60].join("\n");
        let blocks = render_report_slack(&message(&text))["blocks"].as_array().cloned().unwrap_or_default();
        assert_eq!(blocks.len(), 1 + SLACK_MAX_TEXT_BLOCKS + 1);
        assert_eq!(blocks.last().map(|b| b["type"].clone()), Some(json!("context")));
    }

    #[test]
    fn email_escapes_the_html() {
        let (subject, text, html) = render_report_email(&message("TypeError: <script>x</script> & more"));
        assert_eq!(subject, "[Faultline] Faultline daily report: 2 new issues");
        assert!(text.starts_with("TypeError: <script>"));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt; &amp; more"), "{html}");
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn pagerduty_is_not_a_report_target() {
        let channel = Channel {
            id: "pd".into(),
            name: "Pager".into(),
            config: ChannelConfig::PagerDuty { routing_key: "k".into(), events_url: None },
        };
        assert_eq!(check_report_target(&channel), Err(ChannelError::NotForReports { kind: "pagerduty" }));
    }

    #[test]
    fn chunks_cut_at_line_ends() {
        assert_eq!(chunks("ab\ncd\nef", 5), vec!["ab\ncd", "ef"]);
        assert_eq!(chunks("abcdefgh", 4), vec!["abc…"]);
        assert!(chunks("", 10).is_empty());
    }
}
