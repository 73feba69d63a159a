//! `/alerts/channels`: where notifications go, without their secrets, and
//! a button that sends a test notification through one and says how it went.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::ui::CheckedForm;
use axum::response::Response;
use faultline_alert::notify::{ChannelConfig, DeliveryAttempt, DEFAULT_PAGERDUTY_EVENTS_URL};

use super::{redirect, Notice, Tabs};
use crate::http::Api;
use crate::ui::format::{self, url_encode};
use crate::ui::{render, Chrome, CsrfToken, Section};

pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub target: String,
    pub details: Vec<String>,
    pub source: &'static str,
    pub rules: Vec<String>,
    pub test_url: String,
    pub history_url: String,
    pub delete_url: String,
}

#[derive(Template)]
#[template(path = "alerts_channels.html")]
struct ChannelsPage {
    chrome: Chrome,
    tabs: Tabs,
    notice: Notice,
    rows: Vec<ChannelRow>,
}

pub async fn list(State(api): State<Api>, Query(notice): Query<Notice>, token: CsrfToken) -> Response {
    let rules = api.alerting.rules();
    let rows = api
        .alerting
        .channels()
        .into_iter()
        .map(|c| {
            let (target, details) = describe(&c.config);
            ChannelRow {
                source: api.alerting.admin.channel_source(&c.id),
                rules: rules
                    .iter()
                    .filter(|r| r.channels().contains(&c.id))
                    .map(|r| r.id().to_string())
                    .collect(),
                test_url: format!("/alerts/channels/{}/test", url_encode(&c.id)),
                history_url: format!("/alerts/history?channel={}", url_encode(&c.id)),
                delete_url: format!("/alerts/channels/{}/delete", url_encode(&c.id)),
                kind: c.config.kind(),
                target,
                details,
                id: c.id,
                name: c.name,
            }
        })
        .collect();
    let page = ChannelsPage {
        chrome: Chrome::new("Alert channels", Section::Alerts, &token),
        tabs: Tabs::new(&api, "channels"),
        notice: notice.trimmed(),
        rows,
    };
    render(StatusCode::OK, &page, &token)
}

/// Where a channel sends, with its secrets left out: URLs keep only their
/// scheme, host and port (paths and queries often carry tokens, as Slack's
/// do), keys and passwords are only said to be set.
pub fn describe(config: &ChannelConfig) -> (String, Vec<String>) {
    match config {
        ChannelConfig::Webhook { url, secret, headers } => {
            let mut details = Vec::new();
            if secret.is_some() {
                details.push("signed (secret set)".to_string());
            }
            if !headers.is_empty() {
                let names: Vec<&str> = headers.keys().map(String::as_str).collect();
                details.push(format!("headers: {}", names.join(", ")));
            }
            (mask_url(url), details)
        }
        ChannelConfig::Slack { webhook_url } => (mask_url(webhook_url), Vec::new()),
        ChannelConfig::Email { smtp_host, smtp_port, tls, username, from, to, .. } => {
            let mut details =
                vec![format!("via {smtp_host}:{smtp_port} ({tls:?})").to_lowercase(), format!("from {from}")];
            if username.is_some() {
                details.push("authenticated".into());
            }
            (to.join(", "), details)
        }
        ChannelConfig::PagerDuty { events_url, .. } => (
            mask_url(events_url.as_deref().unwrap_or(DEFAULT_PAGERDUTY_EVENTS_URL)),
            vec!["routing key set".to_string()],
        ),
    }
}

/// `scheme://host:port/…`: no user info, path or query.
fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let more = if rest.len() > authority.len() && rest[authority.len()..] != *"/" { "/…" } else { "" };
    if scheme.is_empty() {
        format!("{host}{more}")
    } else {
        format!("{scheme}://{host}{more}")
    }
}

/// `POST /alerts/channels/{id}/test`: sends a test notification now
/// (retries included) and comes back saying how each attempt went.
pub async fn test(State(api): State<Api>, Path(id): Path<String>, _checked: CheckedForm) -> Response {
    match api.alerting.test_channel(&id).await {
        None => redirect("/alerts/channels", "failed", &format!("There is no channel {id}")),
        Some((true, attempts)) => redirect(
            "/alerts/channels",
            "done",
            &format!("Test notification to {id} delivered: {}", summary(&attempts)),
        ),
        Some((false, attempts)) if attempts.is_empty() => redirect(
            "/alerts/channels",
            "failed",
            &format!("Test notification to {id} not sent: the channel's configuration is invalid"),
        ),
        Some((false, attempts)) => redirect(
            "/alerts/channels",
            "failed",
            &format!("Test notification to {id} failed: {}", summary(&attempts)),
        ),
    }
}

/// `attempt 1: HTTP 500 (3 ms); attempt 2: HTTP 200 (2 ms)`.
fn summary(attempts: &[DeliveryAttempt]) -> String {
    let parts: Vec<String> = attempts
        .iter()
        .map(|a| {
            let outcome = match (&a.status_code, &a.error) {
                (Some(code), _) if a.ok => format!("HTTP {code}"),
                (Some(code), Some(e)) => format!("HTTP {code}, {e}"),
                (Some(code), None) => format!("HTTP {code}"),
                (None, Some(e)) => e.clone(),
                (None, None) if a.ok => "ok".into(),
                (None, None) => "failed".into(),
            };
            format!("attempt {}: {outcome} ({})", a.attempt, format::millis(a.duration_ms))
        })
        .collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn secrets_stay_off_the_page() {
        let slack =
            ChannelConfig::Slack { webhook_url: "https://hooks.slack.com/services/T0/B0/XyZsecret".into() };
        assert_eq!(describe(&slack).0, "https://hooks.slack.com/…");
        let hook = ChannelConfig::Webhook {
            url: "http://user:pw@127.0.0.1:8080/hook?token=abc".into(),
            secret: Some("s3cret".into()),
            headers: BTreeMap::from([("Authorization".to_string(), "Bearer xyz".to_string())]),
        };
        let (target, details) = describe(&hook);
        assert_eq!(target, "http://127.0.0.1:8080/…");
        let all = format!("{target} {details:?}");
        for secret in ["pw", "abc", "s3cret", "xyz"] {
            assert!(!all.contains(secret), "{secret} shown in {all}");
        }
        assert!(all.contains("Authorization"), "header names are not secret: {all}");
        assert_eq!(mask_url("https://example.com/"), "https://example.com");
        let pd = ChannelConfig::PagerDuty { routing_key: "R0UT1NG".into(), events_url: None };
        assert!(!format!("{:?}", describe(&pd)).contains("R0UT1NG"));
    }

    #[test]
    fn attempts_are_summed_up_one_by_one() {
        let attempt = |n: u32, ok: bool, code: Option<u16>, error: Option<&str>| DeliveryAttempt {
            channel_id: "hook".into(),
            notification_id: "test".into(),
            attempt: n,
            at: 0,
            ok,
            error: error.map(str::to_string),
            status_code: code,
            duration_ms: 3.0,
        };
        let text = summary(&[
            attempt(1, false, Some(500), Some("server error")),
            attempt(2, false, None, Some("connection refused")),
            attempt(3, true, Some(200), None),
        ]);
        assert_eq!(
            text,
            "attempt 1: HTTP 500, server error (3.0 ms); attempt 2: connection refused (3.0 ms); attempt 3: HTTP 200 (3.0 ms)"
        );
    }
}
