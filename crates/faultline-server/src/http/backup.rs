//! `POST /api/v1/admin/backup` (admin scope, like every change): copies
//! the running server's store into a new directory on the server's file
//! system, a data directory `faultline serve --data-dir` opens as it is.
//! Ingestion waits (queues, then is refused retryably) while the store is
//! copied, so the copy holds whole commits.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use crate::http::common::{blocking, json_body, Api, ApiError};
use crate::http::types::BackupBody;

pub fn routes() -> Router<Api> {
    Router::new().route("/api/v1/admin/backup", post(backup))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    /// An absolute path on the server's machine: missing or an empty directory.
    to: std::path::PathBuf,
}

const EXAMPLE: &str = r#"{"to": "/var/backups/faultline/2024-05-01"}"#;

async fn backup(
    State(api): State<Api>,
    body: Result<Json<BackupRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<BackupBody>), ApiError> {
    let to = json_body(body, EXAMPLE)?.to;
    let storage = api.storage.clone();
    tracing::info!(to = %to.display(), "backup started");
    let report = blocking(move || storage.backup(&to)).await?;
    tracing::info!(
        to = %report.dir.display(),
        keys = report.keys,
        disk_bytes = report.disk_bytes,
        seconds = report.seconds,
        "backup written"
    );
    Ok((StatusCode::CREATED, Json(BackupBody::new(&report))))
}
