//! What every API resource shares: the state handlers get, the error
//! answer, and the parsing of common parameters (time bounds, limits,
//! cursors, ids, JSON bodies).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use faultline_store::{Error as StoreError, Storage};

use crate::metrics::Metrics;
use faultline_model::now_nanos;

#[derive(Clone)]
pub struct Api {
    pub storage: Arc<Storage>,
    pub checks: Arc<crate::checks::Checks>,
    pub alerting: Arc<crate::alerting::Alerting>,
    pub metrics: Arc<Metrics>,
    /// False until every listener is up, and again once shutdown starts.
    pub ready: Arc<AtomicBool>,
    /// The web explorer's settings (`[ui]`).
    pub ui: Arc<crate::ui::UiConfig>,
    /// The grouping the pipeline runs, so pages can say why an event was grouped.
    pub grouper: Arc<faultline_grouping::Grouper>,
    /// Access tokens and login sessions.
    pub auth: Arc<crate::auth::Auth>,
    /// Whether the API listener serves TLS, so session cookies are `Secure`.
    pub secure_cookies: bool,
}

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 1000;
/// Most groups a `q` filter on the group list considers.
pub const MAX_GROUPS_FOR_QUERY: usize = 10_000;

/// An API error: status code and a JSON `{"error": …}` body.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidQuery(msg) => {
                ApiError(StatusCode::BAD_REQUEST, format!("invalid query: {msg}"))
            }
            StoreError::GroupNotFound(id) => ApiError(StatusCode::NOT_FOUND, format!("group {id} not found")),
            StoreError::Invalid(msg) => ApiError(StatusCode::BAD_REQUEST, msg),
            StoreError::UnknownField(_) => ApiError(StatusCode::BAD_REQUEST, e.to_string()),
            StoreError::Unsupported(msg) => ApiError(StatusCode::NOT_IMPLEMENTED, msg),
            StoreError::QueueFull | StoreError::ShuttingDown => {
                ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "query failed");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

/// Reads a time bound: RFC 3339, or a duration meaning "that long ago" (`15m`, `24h`, `7d`).
pub fn parse_time(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else { return Ok(None) };
    if let Some(nanos) = faultline_model::parse_rfc3339(text) {
        return Ok(Some(nanos));
    }
    match humantime::parse_duration(text) {
        Ok(ago) => Ok(Some(now_nanos().saturating_sub(i64::try_from(ago.as_nanos()).unwrap_or(i64::MAX)))),
        Err(_) => Err(bad_request(format!(
            "`{name}` must be an RFC 3339 time or a duration like 24h, got {text:?}"
        ))),
    }
}

pub fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(bad_request("`limit` must be at least 1")),
        Some(n) => Ok(n.min(MAX_LIMIT)),
    }
}

pub fn parse_seq_cursor(cursor: Option<&str>) -> Result<Option<u64>, ApiError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<u64>().map_err(|_| bad_request(format!("invalid cursor {c:?}"))))
        .transpose()
}

pub fn parse_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError(StatusCode::NOT_FOUND, format!("no group or event {text:?}")))
}

/// A JSON body, or a 400 that shows the expected shape.
pub fn json_body<T>(body: Result<Json<T>, JsonRejection>, example: &str) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| bad_request(format!("body must be JSON like {example}: {e}")))
}

/// Waits for the committer's answer to an admin request.
pub async fn committed<T>(
    answer: tokio::sync::oneshot::Receiver<Result<T, StoreError>>,
) -> Result<T, ApiError> {
    let result =
        answer.await.map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()))?;
    Ok(result?)
}

/// Runs storage reads (sled, tantivy: blocking I/O) off the async threads.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}
