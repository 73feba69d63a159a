//! Operations endpoints: liveness, readiness and Prometheus metrics.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::common::Api;
use faultline_model::now_nanos;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Ready once started, and while storage can write: a store that cannot
/// (full disk) says why, and becomes ready again by itself when a write
/// succeeds.
async fn readyz(State(api): State<Api>) -> Response {
    if !api.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response();
    }
    match api.storage.write_failure() {
        None => (StatusCode::OK, "ready").into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: storage: cannot write: {why}"))
            .into_response(),
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
    let checks = api.checks.clone();
    let text = api.metrics.render(stats, &recent, |registry| checks.register_metrics(registry));
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
        .into_response()
}
