//! `GET /api/v1/report?since=24h`: the report as JSON, or as the text the
//! CLI and the digests show with `format=text`.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::http::common::{bad_request, blocking, Api, ApiError};
use crate::http::types::ReportBody;
use crate::report::{self, MAX_SINCE, MIN_SINCE};
use faultline_model::now_nanos;

pub fn routes() -> Router<Api> {
    Router::new().route("/api/v1/report", get(get_report))
}

#[derive(Debug, Deserialize)]
struct ReportParams {
    /// Length of the period, ending now: `1h`, `24h` (default), `7d`.
    since: Option<String>,
    /// `json` (default) or `text`.
    format: Option<String>,
}

pub fn parse_since(text: Option<&str>) -> Result<Duration, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Duration::from_secs(24 * 3600));
    };
    match humantime::parse_duration(text) {
        Ok(d) if (MIN_SINCE..=MAX_SINCE).contains(&d) => Ok(d),
        _ => Err(bad_request(format!(
            "`since` must be a duration from 1m to 366d like 24h or 7d, got {text:?}"
        ))),
    }
}

async fn get_report(State(api): State<Api>, Query(p): Query<ReportParams>) -> Result<Response, ApiError> {
    let since = parse_since(p.since.as_deref())?;
    let text = match p.format.as_deref().unwrap_or("json") {
        "json" => false,
        "text" => true,
        other => return Err(bad_request(format!("unknown format {other:?}: use json or text"))),
    };
    let (storage, checks) = (api.storage.clone(), api.checks.clone());
    let mut report = blocking(move || report::build(&storage, &checks, now_nanos(), since)).await?;
    report.link_to(api.alerting.public_url());
    if text {
        let body = report::render_text(&report);
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response());
    }
    Ok(Json(ReportBody::from(report)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_defaults_to_a_day_and_is_bounded() {
        assert_eq!(parse_since(None).ok(), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_since(Some("1h")).ok(), Some(Duration::from_secs(3600)));
        assert_eq!(parse_since(Some("7d")).ok(), Some(Duration::from_secs(7 * 86_400)));
        for bad in ["30s", "400d", "yesterday", "-1h"] {
            assert!(parse_since(Some(bad)).is_err(), "{bad}");
        }
    }
}
