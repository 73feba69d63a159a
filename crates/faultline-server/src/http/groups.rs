//! Groups (issues): list, read, change status, merge, unmerge, and a
//! group's events.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use faultline_model::{GroupStatus, StatusChange};
use faultline_store::{GroupFilter, GroupSort};
use serde::Deserialize;

use super::common::{
    bad_request, blocking, committed, json_body, page_limit, parse_id, parse_seq_cursor, Api, ApiError,
    MAX_GROUPS_FOR_QUERY,
};
use super::types::{EventBody, EventPage, GroupBody, GroupPage, Unmerged};
use faultline_model::now_nanos;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group).patch(patch_group))
        .route("/api/v1/groups/{id}/events", get(group_events))
        .route("/api/v1/groups/{id}/merge", post(merge_groups))
        .route("/api/v1/groups/{id}/unmerge", post(unmerge_group))
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
    Ok(Json(GroupPage {
        groups: groups.into_iter().map(GroupBody::from).collect(),
        next_cursor: next.map(|(key, id)| format!("{key}_{id}")),
    }))
}

fn parse_group_cursor(text: &str) -> Result<(i128, u64), ApiError> {
    let invalid = || bad_request(format!("invalid cursor {text:?}"));
    let (key, id) = text.rsplit_once('_').ok_or_else(invalid)?;
    Ok((key.parse().map_err(|_| invalid())?, id.parse().map_err(|_| invalid())?))
}

async fn get_group(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<GroupBody>, ApiError> {
    let id = parse_id(&id)?;
    let storage = api.storage.clone();
    blocking(move || storage.group(id))
        .await?
        .map(|v| Json(GroupBody::from(v)))
        .ok_or(ApiError(StatusCode::NOT_FOUND, format!("group {id} not found")))
}

/// `PATCH /api/v1/groups/{id}`: a status, with Sentry's conditions:
/// `{"status": "resolved", "in_next_release": true}`,
/// `{"status": "ignored", "ignore_duration": "2h"}` or
/// `{"status": "ignored", "ignore_count": 100}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupPatch {
    status: String,
    #[serde(default)]
    in_next_release: bool,
    #[serde(default)]
    ignore_duration: Option<String>,
    #[serde(default)]
    ignore_count: Option<u64>,
}

impl GroupPatch {
    fn change(&self) -> Result<StatusChange, ApiError> {
        let status = GroupStatus::parse(&self.status).ok_or_else(|| {
            bad_request(format!("unknown status {:?}: use unresolved, resolved or ignored", self.status))
        })?;
        let ignore_for = match self.ignore_duration.as_deref() {
            None => None,
            Some(text) => Some(humantime::parse_duration(text).map_err(|e| {
                bad_request(format!("`ignore_duration` must be a duration like 30m or 7d, got {text:?}: {e}"))
            })?),
        };
        let change = StatusChange {
            status,
            in_next_release: self.in_next_release,
            ignore_for,
            ignore_count: self.ignore_count,
        };
        change.validate().map_err(|e| bad_request(e.to_string()))?;
        Ok(change)
    }
}

async fn patch_group(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Result<Json<GroupPatch>, JsonRejection>,
) -> Result<Json<GroupBody>, ApiError> {
    let id = parse_id(&id)?;
    let change = json_body(body, r#"{"status": "resolved"}"#)?.change()?;
    let group = committed(api.storage.change_group_status(id, change, now_nanos())?).await?;
    api.alerting.on_group_status(id, group.status);
    Ok(Json(group.into()))
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
) -> Result<Json<GroupBody>, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(body, r#"{"ids": [12, 13]}"#)?;
    let sources = body.ids.clone();
    let merged = committed(api.storage.merge(id, body.ids)?).await?;
    // Groups merged away are done: their alerts resolve.
    for source in sources {
        api.alerting.on_group_status(source, faultline_model::GroupStatus::Resolved);
    }
    Ok(Json(merged.into()))
}

#[derive(Debug, Deserialize)]
struct UnmergeBody {
    fingerprints: Vec<String>,
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
    Ok(Json(Unmerged { group: group.into(), new_group: new_group.into() }))
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
    Ok(Json(EventPage {
        total,
        events: events.into_iter().map(EventBody::from).collect(),
        next_cursor: next.map(|c| c.to_string()),
    }))
}
