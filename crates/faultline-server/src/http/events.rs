//! Error events: search across all of them, and one by sequence number.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use faultline_store::SearchRequest;
use serde::Deserialize;

use super::common::{blocking, page_limit, parse_id, parse_seq_cursor, parse_time, Api, ApiError};
use super::types::{EventBody, EventPage};

pub fn routes() -> Router<Api> {
    Router::new().route("/api/v1/search", get(search)).route("/api/v1/events/{seq}", get(get_event))
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
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
    Ok(Json(EventPage {
        total: page.total,
        events: events.into_iter().map(EventBody::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

async fn get_event(State(api): State<Api>, Path(seq): Path<String>) -> Result<Json<EventBody>, ApiError> {
    let seq = parse_id(&seq)?;
    let storage = api.storage.clone();
    blocking(move || storage.event(seq))
        .await?
        .map(|v| Json(EventBody::from(v)))
        .ok_or(ApiError(StatusCode::NOT_FOUND, format!("event {seq} not found")))
}
