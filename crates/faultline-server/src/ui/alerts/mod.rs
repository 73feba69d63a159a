//! `/alerts/…`: the alerting pages. Firing and pending alerts with the
//! recent resolved ones (`firing`), the rules with a form to create and edit
//! them (`rules`, `form`), the channels with a test send (`channels`),
//! silences (`silences`), every delivery attempt (`history`), and the
//! per-issue snooze the issue page posts to.
//!
//! The pages call the running [`crate::alerting::Alerting`] directly, the
//! same functions the JSON API calls; nothing here talks HTTP to itself.

mod channel_form;
mod channels;
mod firing;
pub mod form;
mod history;
mod rules;
mod silences;

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::ui::CheckedForm;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use faultline_alert::Severity;
use faultline_model::now_nanos;

use super::{message, redirect, CsrfToken, Section};
use crate::http::Api;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/alerts", get(firing::page))
        .route("/alerts/rules", get(rules::list))
        .route("/alerts/rules/new", get(rules::new_form).post(rules::create))
        .route("/alerts/rules/{id}/edit", get(rules::edit_form).post(rules::update))
        .route("/alerts/rules/{id}/delete", post(rules::delete))
        .route("/alerts/channels", get(channels::list))
        .route("/alerts/channels/new", get(channel_form::new_form).post(channel_form::create))
        .route("/alerts/channels/{id}/test", post(channels::test))
        .route("/alerts/channels/{id}/delete", post(channel_form::delete))
        .route("/alerts/silences", get(silences::page).post(silences::create))
        .route("/alerts/silences/{id}/expire", post(silences::expire))
        .route("/alerts/history", get(history::page))
        .route("/issues/{id}/snooze", post(snooze))
}

/// The sub-navigation every alerts page shows, with counts.
pub struct Tabs {
    pub active: &'static str,
    pub firing: usize,
    pub rules: usize,
    pub channels: usize,
    pub silences: usize,
}

impl Tabs {
    fn new(api: &Api, active: &'static str) -> Tabs {
        let alerting = &api.alerting;
        let now = now_nanos();
        Tabs {
            active,
            firing: alerting
                .alerts()
                .0
                .iter()
                .filter(|a| a.state == faultline_alert::AlertState::Firing)
                .count(),
            rules: alerting.rules().len(),
            channels: alerting.channels().len(),
            silences: alerting.silences().iter().filter(|s| s.ends_at > now).count(),
        }
    }

    pub fn is(&self, tab: &str) -> bool {
        self.active == tab
    }
}

/// The outcome of a POST, carried in the URL of the page it redirects to.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Notice {
    #[serde(default)]
    pub done: String,
    #[serde(default)]
    pub failed: String,
}

impl Notice {
    /// Bounded, since anyone can put anything in a URL.
    fn trimmed(&self) -> Notice {
        Notice {
            done: self.done.chars().take(600).collect(),
            failed: self.failed.chars().take(600).collect(),
        }
    }
}

/// A form body's (or query's) pairs, in order, repeated names kept.
fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name`, or "".
fn first(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// A time to the second, `2026-11-24 10:00:00 UTC`, for notices (the
/// nanoseconds of RFC 3339 are noise there).
fn short_time(at: i64) -> String {
    let full = faultline_model::format_rfc3339(at);
    match full.split_once('.') {
        Some((seconds, _)) => format!("{} UTC", seconds.replace('T', " ")),
        None => full.replace('T', " ").replace('Z', " UTC"),
    }
}

/// A duration typed by a person (`4h`, `2d`, `1h 30m`) in nanoseconds.
fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(faultline_model::duration::nanos(d)),
        Ok(_) => Err("the duration must be longer than 0s".into()),
        Err(_) => Err(format!("{text:?} is not a duration; write it like 30m, 4h or 2d")),
    }
}

/// `POST /issues/{id}/snooze` (fields `duration`, `csrf`, optional
/// `back`): mutes the issue's alerts for that long, then back to the issue
/// page (or to `back`, a path of this site: the alerts page snoozes too).
async fn snooze(
    State(api): State<Api>,
    Path(id): Path<String>,
    token: CsrfToken,
    CheckedForm(pairs): CheckedForm,
) -> Response {
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            Section::Issues,
            "Not found",
            &format!("There is no issue {id}."),
            &token,
        )
    };
    let Ok(group_id) = id.parse::<u64>() else { return not_found() };
    let storage = api.storage.clone();
    match super::blocking(move || storage.group(group_id)).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return super::failed(&e, &token),
    }
    let duration = first(&pairs, "duration");
    let nanos = match parse_duration(&duration) {
        Ok(n) => n,
        Err(e) => return message(StatusCode::BAD_REQUEST, Section::Issues, "Not snoozed", &e, &token),
    };
    let until = now_nanos().saturating_add(nanos);
    api.alerting.snooze(group_id, until);
    let done =
        format!("Alerts for issue {group_id} snoozed for {} (until {})", duration.trim(), short_time(until));
    let back = first(&pairs, "back");
    let target =
        if back.is_empty() { format!("/issues/{group_id}") } else { super::stream::local_path(&back) };
    redirect(&target, "done", &done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_positive_humantime() {
        assert_eq!(parse_duration("2h"), Ok(2 * 3_600 * 1_000_000_000));
        assert_eq!(parse_duration(" 1d "), Ok(86_400 * 1_000_000_000));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").expect_err("not a duration").contains("\"soon\""));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn notice_times_are_to_the_second() {
        assert_eq!(short_time(1_500_000_000_123_456_789), "2017-07-14 02:40:00 UTC");
        assert_eq!(short_time(1_500_000_000_000_000_000), "2017-07-14 02:40:00 UTC");
    }

    #[test]
    fn pairs_keep_repeated_names_in_order() {
        let p = pairs(b"label=service&value=a%20b&label=rule&value=x&csrf=t");
        assert_eq!(first(&p, "value"), "a b");
        assert_eq!(p.iter().filter(|(k, _)| k == "label").count(), 2);
        assert_eq!(first(&p, "missing"), "");
    }
}
