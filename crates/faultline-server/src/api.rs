//! The query API: search, groups, health and metrics, as JSON over HTTP.
//! Timestamps are RFC 3339; lists page with an opaque `cursor`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use faultline_model::{ErrorEvent, Group, GroupStatus};
use faultline_store::{Error as StoreError, GroupFilter, GroupSort, SearchRequest, Storage};
use serde::{Deserialize, Serialize};

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
}

pub fn router(api: Api) -> Router {
    Router::new()
        .route("/api/v1/search", get(search))
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group).patch(patch_group))
        .route("/api/v1/groups/{id}/events", get(group_events))
        .route("/api/v1/groups/{id}/merge", post(merge_groups))
        .route("/api/v1/groups/{id}/unmerge", post(unmerge_group))
        .route("/api/v1/events/{seq}", get(get_event))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::health_api::routes())
        .merge(crate::checks_api::routes())
        .merge(crate::alerts_api::routes())
        .merge(crate::report_api::routes())
        .merge(crate::ui::routes())
        .with_state(api)
}

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;
/// Most groups a `q` filter on the group list considers.
const MAX_GROUPS_FOR_QUERY: usize = 10_000;

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

fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(0) => Err(bad_request("`limit` must be at least 1")),
        Some(n) => Ok(n.min(MAX_LIMIT)),
    }
}

fn parse_seq_cursor(cursor: Option<&str>) -> Result<Option<u64>, ApiError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<u64>().map_err(|_| bad_request(format!("invalid cursor {c:?}"))))
        .transpose()
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct EventPage {
    total: usize,
    events: Vec<ErrorEvent>,
    next_cursor: Option<String>,
}

async fn search(State(api): State<Api>, Query(p): Query<SearchParams>) -> Result<Json<EventPage>, ApiError> {
    let request = SearchRequest {
        query: p.q.unwrap_or_default(),
        from: parse_time("from", p.from.as_deref())?,
        to: parse_time("to", p.to.as_deref())?,
        limit: page_limit(p.limit)?,
        before_seq: parse_seq_cursor(p.cursor.as_deref())?,
    };
    let storage = api.storage.clone();
    let (page, events) = blocking(move || storage.search(&request)).await?;
    Ok(Json(EventPage { total: page.total, events, next_cursor: page.next_cursor.map(|c| c.to_string()) }))
}

#[derive(Debug, Deserialize)]
struct GroupParams {
    service: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct GroupPage {
    groups: Vec<Group>,
    next_cursor: Option<String>,
}

async fn list_groups(
    State(api): State<Api>,
    Query(p): Query<GroupParams>,
) -> Result<Json<GroupPage>, ApiError> {
    let status = p
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            GroupStatus::parse(s).ok_or_else(|| {
                bad_request(format!("unknown status {s:?}: use unresolved, resolved or ignored"))
            })
        })
        .transpose()?;
    let sort = match p.sort.as_deref().filter(|s| !s.is_empty()) {
        None => GroupSort::default(),
        Some(s) => GroupSort::parse(s)
            .ok_or_else(|| bad_request(format!("unknown sort {s:?}: use last_seen, first_seen or count")))?,
    };
    let cursor = p.cursor.as_deref().filter(|c| !c.is_empty()).map(parse_group_cursor).transpose()?;
    let mut filter = GroupFilter {
        service: p.service.filter(|s| !s.is_empty()),
        environment: p.environment.filter(|e| !e.is_empty()),
        status,
        ids: None,
        sort,
        limit: page_limit(p.limit)?,
        cursor,
    };
    let storage = api.storage.clone();
    let q = p.q.filter(|q| !q.trim().is_empty());
    let (groups, next) = blocking(move || {
        if let Some(q) = q {
            filter.ids = Some(storage.groups_matching(&q, MAX_GROUPS_FOR_QUERY)?);
        }
        storage.groups(&filter)
    })
    .await?;
    Ok(Json(GroupPage { groups, next_cursor: next.map(|(key, id)| format!("{key}_{id}")) }))
}

fn parse_group_cursor(text: &str) -> Result<(i128, u64), ApiError> {
    let invalid = || bad_request(format!("invalid cursor {text:?}"));
    let (key, id) = text.rsplit_once('_').ok_or_else(invalid)?;
    Ok((key.parse().map_err(|_| invalid())?, id.parse().map_err(|_| invalid())?))
}

fn parse_id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError(StatusCode::NOT_FOUND, format!("no group or event {text:?}")))
}

async fn get_group(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Group>, ApiError> {
    let id = parse_id(&id)?;
    let storage = api.storage.clone();
    blocking(move || storage.group(id))
        .await?
        .map(Json)
        .ok_or(ApiError(StatusCode::NOT_FOUND, format!("group {id} not found")))
}

#[derive(Debug, Deserialize)]
struct GroupPatch {
    status: String,
}

async fn patch_group(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<GroupPatch>, JsonRejection>,
) -> Result<Json<Group>, ApiError> {
    let id = parse_id(&id)?;
    let patch = json_body(body, r#"{"status": "resolved"}"#)?;
    let status = GroupStatus::parse(&patch.status).ok_or_else(|| {
        bad_request(format!("unknown status {:?}: use unresolved, resolved or ignored", patch.status))
    })?;
    let group = committed(api.storage.set_group_status(id, status, now_nanos())?).await?;
    api.alerting.on_group_status(id, group.status);
    Ok(Json(group))
}

/// A JSON body, or a 400 that shows the expected shape.
fn json_body<T>(body: Result<Json<T>, JsonRejection>, example: &str) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| bad_request(format!("body must be JSON like {example}: {e}")))
}

/// Waits for the committer's answer to an admin request.
async fn committed<T>(answer: tokio::sync::oneshot::Receiver<Result<T, StoreError>>) -> Result<T, ApiError> {
    let result =
        answer.await.map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()))?;
    Ok(result?)
}

#[derive(Debug, Deserialize)]
struct MergeBody {
    ids: Vec<u64>,
}

/// `POST /api/v1/groups/{id}/merge` with `{"ids": [..]}`: the listed groups
/// join group `id`, and so do their future events.
async fn merge_groups(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<MergeBody>, JsonRejection>,
) -> Result<Json<Group>, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(body, r#"{"ids": [12, 13]}"#)?;
    let sources = body.ids.clone();
    let merged = committed(api.storage.merge(id, body.ids)?).await?;
    // Groups merged away are done: their alerts resolve.
    for source in sources {
        api.alerting.on_group_status(source, faultline_model::GroupStatus::Resolved);
    }
    Ok(Json(merged))
}

#[derive(Debug, Deserialize)]
struct UnmergeBody {
    fingerprints: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Unmerged {
    group: Group,
    new_group: Group,
}

/// `POST /api/v1/groups/{id}/unmerge` with `{"fingerprints": [..]}`: those
/// fingerprints and their events leave group `id` for a new group.
async fn unmerge_group(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<UnmergeBody>, JsonRejection>,
) -> Result<Json<Unmerged>, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(body, r#"{"fingerprints": ["3f9a…"]}"#)?;
    let (group, new_group) = committed(api.storage.unmerge(id, body.fingerprints)?).await?;
    Ok(Json(Unmerged { group, new_group }))
}

#[derive(Debug, Deserialize)]
struct PageParams {
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn group_events(
    State(api): State<Api>,
    Path(id): Path<String>,
    Query(p): Query<PageParams>,
) -> Result<Json<EventPage>, ApiError> {
    let id = parse_id(&id)?;
    let limit = page_limit(p.limit)?;
    let before = parse_seq_cursor(p.cursor.as_deref())?;
    let storage = api.storage.clone();
    let (group, (events, next)) =
        blocking(move || Ok((storage.group(id)?, storage.group_events(id, before, limit)?))).await?;
    let group = group.ok_or(ApiError(StatusCode::NOT_FOUND, format!("group {id} not found")))?;
    let total = usize::try_from(group.count).unwrap_or(usize::MAX);
    Ok(Json(EventPage { total, events, next_cursor: next.map(|c| c.to_string()) }))
}

async fn get_event(State(api): State<Api>, Path(seq): Path<String>) -> Result<Json<ErrorEvent>, ApiError> {
    let seq = parse_id(&seq)?;
    let storage = api.storage.clone();
    blocking(move || storage.event(seq))
        .await?
        .map(Json)
        .ok_or(ApiError(StatusCode::NOT_FOUND, format!("event {seq} not found")))
}

async fn readyz(State(api): State<Api>) -> Response {
    if api.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Window of the latency quantiles and error ratios on `/metrics`.
const METRICS_WINDOW_NANOS: i64 = 5 * 60 * 1_000_000_000;

async fn metrics(State(api): State<Api>) -> Response {
    let storage = api.storage.clone();
    let now = now_nanos();
    let (stats, recent) = tokio::task::spawn_blocking(move || {
        let recent =
            storage.health(now - METRICS_WINDOW_NANOS, now + 1, &Default::default()).unwrap_or_default();
        (storage.stats().ok(), recent)
    })
    .await
    .unwrap_or_default();
    let mut text = api.metrics.render(stats, &recent);
    api.checks.render_metrics(&mut text);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
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
