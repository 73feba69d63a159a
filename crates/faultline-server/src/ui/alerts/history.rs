//! `/alerts/history`: every delivery attempt the store keeps, newest
//! first, a page at a time, optionally of one channel.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use faultline_alert::notify::DeliveryAttempt;
use faultline_model::now_nanos;
use serde::Deserialize;

use super::{Notice, Tabs};
use crate::http::Api;
use crate::ui::format::{self, query_string};
use crate::ui::{message, render, Chrome, CsrfToken, Section};

/// Attempts per page.
const PAGE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// 1-based.
    #[serde(default)]
    page: String,
    #[serde(default)]
    channel: String,
}

pub struct AttemptRow {
    pub at: String,
    pub at_exact: String,
    pub channel: String,
    pub notification: String,
    pub rule: Option<String>,
    pub attempt: u32,
    pub ok: bool,
    pub status: String,
    pub error: String,
    pub duration: String,
}

#[derive(Template)]
#[template(path = "alerts_history.html")]
struct HistoryPage {
    chrome: Chrome,
    tabs: Tabs,
    /// Always empty: nothing redirects here; the tabs include shows it.
    notice: Notice,
    rows: Vec<AttemptRow>,
    channel: String,
    channels: Vec<String>,
    total: usize,
    failed: usize,
    first_shown: usize,
    last_shown: usize,
    newer: Option<String>,
    older: Option<String>,
}

pub async fn page(State(api): State<Api>, Query(params): Query<Params>, token: CsrfToken) -> Response {
    let alerting = api.alerting.clone();
    let all = match tokio::task::spawn_blocking(move || alerting.deliveries()).await {
        Ok(all) => all,
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                Section::Alerts,
                "Something went wrong",
                &e.to_string(),
                &token,
            )
        }
    };
    let now = now_nanos();
    let rule_ids: Vec<String> = api.alerting.rules().iter().map(|r| r.id().to_string()).collect();
    let mut channels: Vec<String> = api.alerting.channels().into_iter().map(|c| c.id).collect();
    channels.extend(all.iter().map(|a| a.channel_id.clone()));
    channels.sort();
    channels.dedup();
    let channel = params.channel.trim().to_string();
    let matching: Vec<&DeliveryAttempt> =
        all.iter().filter(|a| channel.is_empty() || a.channel_id == channel).collect();
    let pages = matching.len().div_ceil(PAGE).max(1);
    let page = params.page.trim().parse::<usize>().unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * PAGE;
    let rows: Vec<AttemptRow> =
        matching.iter().skip(start).take(PAGE).map(|a| row(a, &rule_ids, now)).collect();
    let link = |p: usize| {
        format!("/alerts/history{}", query_string(&[("channel", &channel), ("page", &p.to_string())]))
    };
    let view = HistoryPage {
        chrome: Chrome::new("Alert history", Section::Alerts, &token),
        tabs: Tabs::new(&api, "history"),
        notice: Notice::default(),
        first_shown: if rows.is_empty() { 0 } else { start + 1 },
        last_shown: start + rows.len(),
        total: matching.len(),
        failed: matching.iter().filter(|a| !a.ok).count(),
        newer: (page > 1).then(|| link(page - 1)),
        older: (page < pages).then(|| link(page + 1)),
        rows,
        channel,
        channels,
    };
    render(StatusCode::OK, &view, &token)
}

fn row(a: &DeliveryAttempt, rule_ids: &[String], now: i64) -> AttemptRow {
    AttemptRow {
        at: format::relative(a.at, now),
        at_exact: format::exact(a.at),
        channel: a.channel_id.clone(),
        notification: a.notification_id.clone(),
        rule: rule_of(&a.notification_id, rule_ids),
        attempt: a.attempt,
        ok: a.ok,
        status: a.status_code.map(|c| c.to_string()).unwrap_or_default(),
        error: a.error.clone().unwrap_or_default(),
        duration: format::millis(a.duration_ms),
    }
}

/// The rule a notification came from: its id starts with the rule's id
/// (`<rule>-firing-<hash>`); the longest such id wins, as ids may share a
/// prefix. Test sends belong to no rule.
fn rule_of(notification: &str, rule_ids: &[String]) -> Option<String> {
    rule_ids
        .iter()
        .filter(|id| {
            notification.strip_prefix(id.as_str()).is_some_and(|rest| {
                ["-firing-", "-reminder-", "-resolved-"].iter().any(|kind| rest.starts_with(kind))
            })
        })
        .max_by_key(|id| id.len())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_traced_back_to_their_rule() {
        let ids = vec!["new".to_string(), "new-issues".to_string()];
        assert_eq!(rule_of("new-issues-firing-00ff", &ids).as_deref(), Some("new-issues"));
        assert_eq!(rule_of("new-resolved-00ff", &ids).as_deref(), Some("new"));
        assert_eq!(rule_of("test-hook-123", &ids), None);
    }
}
