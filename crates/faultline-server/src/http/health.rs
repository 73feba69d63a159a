//! Health figures over HTTP: services, their endpoints, and time series of
//! request rate, error rate and latency percentiles.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use faultline_model::{HealthBucket, HealthKey};
use faultline_store::HealthFilter;
use serde::Deserialize;

use crate::http::common::{bad_request, blocking, parse_time, Api, ApiError};
use crate::http::types::{
    EndpointFigures, EndpointsBody, Figures, Point, SeriesBody, ServiceFigures, ServicesBody,
};
use faultline_model::now_nanos;

pub fn routes() -> Router<Api> {
    Router::new()
        .route("/api/v1/services", get(services))
        .route("/api/v1/services/{service}/endpoints", get(endpoints))
        .route("/api/v1/timeseries", get(timeseries))
}

#[derive(Debug, Deserialize)]
struct WindowParams {
    /// How far back from now: `15m`, `1h` (default), `7d`.
    window: Option<String>,
    environment: Option<String>,
}

fn parse_window(text: Option<&str>) -> Result<Duration, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(Duration::from_secs(3600)),
        Some(t) => match humantime::parse_duration(t) {
            Ok(d) if d >= Duration::from_secs(60) => Ok(d),
            _ => Err(bad_request(format!(
                "`window` must be a duration of at least 1m like 15m, 1h or 7d, got {t:?}"
            ))),
        },
    }
}

fn window_start(window: Duration) -> i64 {
    now_nanos().saturating_sub(i64::try_from(window.as_nanos()).unwrap_or(i64::MAX))
}

async fn services(
    State(api): State<Api>,
    Query(p): Query<WindowParams>,
) -> Result<Json<ServicesBody>, ApiError> {
    let window = parse_window(p.window.as_deref())?;
    let filter = HealthFilter { environment: p.environment.filter(|e| !e.is_empty()), ..Default::default() };
    let storage = api.storage.clone();
    let buckets = blocking(move || storage.health(window_start(window), now_nanos() + 1, &filter)).await?;
    let mut by_service: BTreeMap<String, (Vec<String>, HealthBucket)> = BTreeMap::new();
    for (key, bucket) in &buckets {
        let entry = by_service.entry(key.service.clone()).or_default();
        if !key.environment.is_empty() && !entry.0.contains(&key.environment) {
            entry.0.push(key.environment.clone());
        }
        entry.1.merge(bucket);
    }
    let services: Vec<ServiceFigures> = by_service
        .into_iter()
        .map(|(service, (mut environments, bucket))| {
            environments.sort();
            ServiceFigures { service, environments, figures: Figures::of(&bucket, window) }
        })
        .collect();
    Ok(Json(ServicesBody { window_seconds: window.as_secs(), services }))
}

async fn endpoints(
    State(api): State<Api>,
    Path(service): Path<String>,
    Query(p): Query<WindowParams>,
) -> Result<Json<EndpointsBody>, ApiError> {
    let window = parse_window(p.window.as_deref())?;
    let filter = HealthFilter {
        service: Some(service.clone()),
        environment: p.environment.filter(|e| !e.is_empty()),
        ..Default::default()
    };
    let storage = api.storage.clone();
    let buckets = blocking(move || storage.health(window_start(window), now_nanos() + 1, &filter)).await?;
    let mut by_endpoint: BTreeMap<(String, String), HealthBucket> = BTreeMap::new();
    for (HealthKey { route, method, .. }, bucket) in &buckets {
        by_endpoint.entry((route.clone(), method.clone())).or_default().merge(bucket);
    }
    let mut endpoints: Vec<EndpointFigures> = by_endpoint
        .into_iter()
        .map(|((route, method), bucket)| EndpointFigures {
            route,
            method,
            figures: Figures::of(&bucket, window),
        })
        .collect();
    // Busiest first, as a dashboard shows them.
    endpoints.sort_by_key(|e| std::cmp::Reverse(e.figures.requests));
    Ok(Json(EndpointsBody { service, window_seconds: window.as_secs(), endpoints }))
}

#[derive(Debug, Deserialize)]
struct SeriesParams {
    service: Option<String>,
    route: Option<String>,
    method: Option<String>,
    environment: Option<String>,
    metric: Option<String>,
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
}

/// The metrics a time series can show.
#[derive(Debug, Clone, Copy)]
enum Metric {
    Requests,
    Errors,
    ErrorRate,
    Quantile(f64),
}

impl Metric {
    fn parse(text: &str) -> Option<Metric> {
        Some(match text {
            "requests" => Metric::Requests,
            "errors" => Metric::Errors,
            "error_rate" => Metric::ErrorRate,
            "p50" => Metric::Quantile(0.5),
            "p95" => Metric::Quantile(0.95),
            "p99" => Metric::Quantile(0.99),
            _ => return None,
        })
    }

    fn value(self, b: &HealthBucket) -> Option<f64> {
        match self {
            Metric::Requests => Some(b.requests as f64),
            Metric::Errors => Some(b.errors as f64),
            Metric::ErrorRate => b.error_rate(),
            Metric::Quantile(q) => b.latency.quantile(q),
        }
    }
}

/// Most points one series may have, so a tiny step over a long range cannot
/// make a huge answer.
const MAX_POINTS: i64 = 10_000;

async fn timeseries(
    State(api): State<Api>,
    Query(p): Query<SeriesParams>,
) -> Result<Json<SeriesBody>, ApiError> {
    let name = p.metric.clone().unwrap_or_else(|| "requests".into());
    let metric = Metric::parse(&name).ok_or_else(|| {
        bad_request(format!("unknown metric {name:?}: use requests, errors, error_rate, p50, p95 or p99"))
    })?;
    let to = parse_time("to", p.to.as_deref())?.unwrap_or_else(now_nanos);
    let from = parse_time("from", p.from.as_deref())?.unwrap_or(to - 3_600_000_000_000);
    if from >= to {
        return Err(bad_request("`from` must be before `to`"));
    }
    let step = match p.step.as_deref().filter(|s| !s.is_empty()) {
        None => Duration::from_secs(60),
        Some(s) => humantime::parse_duration(s)
            .ok()
            .filter(|d| *d >= Duration::from_secs(60))
            .ok_or_else(|| bad_request(format!("`step` must be a duration of at least 1m, got {s:?}")))?,
    };
    let step_nanos = i64::try_from(step.as_nanos()).unwrap_or(i64::MAX);
    if (to - from) / step_nanos > MAX_POINTS {
        return Err(bad_request(format!(
            "too many points: at most {MAX_POINTS} per series; use a larger step"
        )));
    }
    let filter = HealthFilter {
        service: p.service.filter(|s| !s.is_empty()),
        environment: p.environment.filter(|s| !s.is_empty()),
        route: p.route.filter(|s| !s.is_empty()),
        method: p.method.filter(|s| !s.is_empty()),
    };
    let storage = api.storage.clone();
    let series = blocking(move || storage.health_series(from, to, step, &filter)).await?;
    let points: Vec<Point> = series
        .iter()
        .map(|(at, bucket)| Point { t: faultline_model::format_rfc3339(*at), value: metric.value(bucket) })
        .collect();
    Ok(Json(SeriesBody { metric: name, step_seconds: step.as_secs(), points }))
}
