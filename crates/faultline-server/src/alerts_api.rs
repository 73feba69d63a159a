//! Alerting over HTTP: current alerts and history with every delivery
//! attempt, the rules and channels in force, a test send per channel.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::api::{Api, ApiError};

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alert-rules", get(rules))
        .route("/api/v1/channels", get(channels))
        .route("/api/v1/channels/{id}/test", post(test_channel))
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
