//! Alerting over HTTP: current alerts and history with every delivery
//! attempt, the rules and channels in force, a test send per channel.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use faultline_alert::engine::Silence;

use crate::api::{bad_request, Api, ApiError};
use crate::pipeline::now_nanos;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alert-rules", get(rules))
        .route("/api/v1/channels", get(channels))
        .route("/api/v1/channels/{id}/test", post(test_channel))
        .route("/api/v1/silences", get(silences).post(add_silence))
        .route("/api/v1/silences/{id}", axum::routing::delete(remove_silence))
        .route("/api/v1/groups/{id}/snooze", post(snooze))
}

async fn alerts(State(api): State<Api>) -> Json<Value> {
    let (active, history) = api.alerting.alerts();
    Json(json!({ "alerts": active, "history": history, "deliveries": api.alerting.deliveries() }))
}

async fn rules(State(api): State<Api>) -> Json<Value> {
    Json(json!({ "rules": api.alerting.rules() }))
}

/// Channels by id, name and kind; their URLs, keys and passwords are secrets.
async fn channels(State(api): State<Api>) -> Json<Value> {
    let channels: Vec<Value> = api
        .alerting
        .channels()
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "kind": c.config.kind() }))
        .collect();
    Json(json!({ "channels": channels }))
}

async fn test_channel(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let (ok, attempts) = api
        .alerting
        .test_channel(&id)
        .await
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no channel {id:?}")))?;
    Ok(Json(json!({ "ok": ok, "attempts": attempts })))
}

async fn silences(State(api): State<Api>) -> Json<Value> {
    Json(json!({ "silences": api.alerting.silences() }))
}

#[derive(Debug, serde::Deserialize)]
struct SilenceBody {
    /// Label globs: `rule`, `severity`, `service`, `environment`, `route`,
    /// `group_id`, `exception_type`, `level`, `check`.
    matchers: std::collections::BTreeMap<String, String>,
    /// How long from now: `2h`.
    duration: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    created_by: String,
}

async fn add_silence(
    State(api): State<Api>,
    body: Result<Json<SilenceBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(|e| {
        bad_request(format!(
            r#"body must be JSON like {{"matchers": {{"service": "checkout"}}, "duration": "2h"}}: {e}"#
        ))
    })?;
    let duration = humantime::parse_duration(&body.duration)
        .map_err(|_| bad_request(format!("`duration` must be like 30m or 2h, got {:?}", body.duration)))?;
    let now = now_nanos();
    let silence = Silence {
        id: format!("s-{now:x}"),
        matchers: body.matchers,
        starts_at: now,
        ends_at: now.saturating_add(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)),
        comment: body.comment,
        created_by: body.created_by,
    };
    api.alerting.add_silence(silence.clone()).map_err(|e| bad_request(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(json!(silence))))
}

async fn remove_silence(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    match api.alerting.remove_silence(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no silence {id:?}"))),
    }
}

#[derive(Debug, serde::Deserialize)]
struct SnoozeBody {
    duration: String,
}

/// `POST /api/v1/groups/{id}/snooze` with `{"duration": "4h"}`.
async fn snooze(
    State(api): State<Api>,
    Path(id): Path<u64>,
    body: Result<Json<SnoozeBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) =
        body.map_err(|e| bad_request(format!(r#"body must be JSON like {{"duration": "4h"}}: {e}"#)))?;
    let duration = humantime::parse_duration(&body.duration)
        .map_err(|_| bad_request(format!("`duration` must be like 30m or 4h, got {:?}", body.duration)))?;
    let until = now_nanos().saturating_add(i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX));
    api.alerting.snooze(id, until);
    Ok(Json(json!({ "group_id": id, "until": faultline_model::format_rfc3339(until) })))
}
