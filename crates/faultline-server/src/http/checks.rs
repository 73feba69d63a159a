//! Active checks over HTTP: list, detail with uptime and incidents, and
//! create/replace/delete for checks not defined in the config file.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use faultline_probe::Check;
use serde_json::Value;

use crate::checks::CheckError;
use crate::http::common::{bad_request, blocking, Api, ApiError};
use crate::http::types::{CheckBody, ChecksBody};

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/api/v1/checks", get(list).post(create))
        .route("/api/v1/checks/{id}", get(detail).put(replace).delete(remove))
}

impl From<CheckError> for ApiError {
    fn from(e: CheckError) -> Self {
        let status = match e {
            CheckError::Invalid(_) => StatusCode::BAD_REQUEST,
            CheckError::FromConfig(_) => StatusCode::CONFLICT,
            CheckError::NotFound(_) => StatusCode::NOT_FOUND,
            CheckError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

async fn list(State(api): State<Api>) -> Result<Json<ChecksBody>, ApiError> {
    let checks = api.checks.clone();
    let statuses: Vec<_> = blocking(move || checks.list().iter().map(|c| checks.status(c)).collect()).await?;
    let checks = statuses.into_iter().map(|s| CheckBody::new(s, false)).collect();
    Ok(Json(ChecksBody { checks }))
}

async fn detail(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<CheckBody>, ApiError> {
    let check =
        api.checks.get(&id).ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no check {id:?}")))?;
    let checks = api.checks.clone();
    let status = blocking(move || checks.status(&check)).await?;
    Ok(Json(CheckBody::new(status, true)))
}

fn parse_check(body: Result<Json<Value>, JsonRejection>) -> Result<Check, ApiError> {
    let Json(value) = body.map_err(|e| bad_request(format!("body must be a JSON check definition: {e}")))?;
    serde_json::from_value(value).map_err(|e| bad_request(format!("invalid check: {e}")))
}

/// `POST /api/v1/checks`: a check definition, shaped like a `[[checks]]`
/// table of the config file.
async fn create(
    State(api): State<Api>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<CheckBody>), ApiError> {
    let check = parse_check(body)?;
    if api.checks.get(&check.id).is_some() {
        return Err(ApiError(StatusCode::CONFLICT, format!("check {:?} exists; PUT replaces it", check.id)));
    }
    save(&api, check).await.map(|v| (StatusCode::CREATED, v))
}

async fn replace(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<CheckBody>, ApiError> {
    let check = parse_check(body)?;
    if check.id != id {
        return Err(bad_request(format!("the body's id {:?} differs from the path's {id:?}", check.id)));
    }
    save(&api, check).await
}

async fn save(api: &Api, check: Check) -> Result<Json<CheckBody>, ApiError> {
    api.checks.put(check.clone()).await?;
    let checks = api.checks.clone();
    let status = blocking(move || checks.status(&check)).await?;
    Ok(Json(CheckBody::new(status, false)))
}

async fn remove(State(api): State<Api>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    api.checks.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
