//! The Sentry ingestion endpoints on the OTLP/HTTP listener:
//! `POST /api/{project_id}/envelope/` and the older
//! `POST /api/{project_id}/store/`. The project key (from `X-Sentry-Auth`
//! or `?sentry_key=`) is the credential, checked against
//! `[[sentry.projects]]`; ingest tokens do not apply here. Events go
//! through the same pipeline as OTLP exports, so `200 {"id": ...}` means
//! they are committed; transactions become API health figures in the same
//! commit, as OTLP request spans do.
//!
//! Answers as Sentry SDKs expect: 400 for a body that cannot be read, 401
//! for a missing or unknown key, 403 for a key of another project, 413
//! over `limits.max_request_bytes`, 415 for an unknown content encoding,
//! and 429 with `Retry-After` and `X-Sentry-Rate-Limits` whenever the
//! server asks to retry later (queue full, rate limit, storage unwritable),
//! which makes SDKs back off. Errors carry `{"detail": "..."}`. An
//! envelope with some usable item is taken and its bad items dropped
//! alone; one with none is refused with 400. Browser SDKs may post
//! cross-origin (CORS).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use faultline_sentry::{decompress, parse_envelope, parse_store, DecompressError, Envelope, Project};
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

use super::admission::Overload;
use super::pipeline::{IngestError, Pipeline, SpanBucket};
use super::sentry_dedup::{Claim, RecentIds};
use super::sentry_projects::SentryProjects;
use crate::metrics::{Refusal, Signal};

#[derive(Clone)]
struct Sentry {
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    projects: Arc<SentryProjects>,
    /// Event ids recently stored: an SDK's retry is not stored twice.
    recent: Arc<RecentIds>,
}

pub fn router(pipeline: Arc<Pipeline>, max_request_bytes: usize, projects: Arc<SentryProjects>) -> Router {
    let state = Sentry { pipeline, max_request_bytes, projects, recent: Arc::default() };
    Router::new()
        .route("/api/{project_id}/envelope/", post(envelope))
        .route("/api/{project_id}/envelope", post(envelope))
        .route("/api/{project_id}/store/", post(store))
        .route("/api/{project_id}/store", post(store))
        // Our own limit applies, after decompression too.
        .layer(DefaultBodyLimit::disable())
        .layer(cors())
        .with_state(state)
}

/// Browser SDKs post cross-origin (`text/plain` with the key in the query,
/// or with `X-Sentry-Auth` after a preflight): any origin may, since the
/// project key, not the origin, is the credential, and the SDK must read
/// the rate-limit headers to back off. The headers are Relay's.
fn cors() -> CorsLayer {
    let allowed = [
        "x-sentry-auth",
        "x-requested-with",
        "x-forwarded-for",
        "origin",
        "referer",
        "accept",
        "content-type",
        "authentication",
        "authorization",
        "content-encoding",
        "transfer-encoding",
    ];
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST])
        .allow_headers(allowed.map(HeaderName::from_static))
        .expose_headers(
            ["x-sentry-error", "x-sentry-rate-limits", "retry-after"].map(HeaderName::from_static),
        )
        .max_age(Duration::from_secs(3600))
}

/// Which endpoint a request came to: how its body is read.
#[derive(Clone, Copy)]
enum Endpoint {
    Envelope,
    Store,
}

async fn envelope(state: State<Sentry>, project_id: Path<String>, request: Request) -> Response {
    handle(state, project_id, request, Endpoint::Envelope).await
}

async fn store(state: State<Sentry>, project_id: Path<String>, request: Request) -> Response {
    handle(state, project_id, request, Endpoint::Store).await
}

/// A refused request: status, reason, message, and for a retry how long
/// to wait.
struct Refused {
    status: StatusCode,
    why: Refusal,
    detail: String,
    retry_after: Option<Duration>,
    /// The pipeline counts its own refusals; the transport's are counted
    /// when answered.
    counted: bool,
}

impl Refused {
    fn new(status: StatusCode, why: Refusal, detail: impl Into<String>) -> Refused {
        Refused { status, why, detail: detail.into(), retry_after: None, counted: false }
    }

    /// 429 from the pipeline (already counted): Sentry SDKs back off on
    /// it for `Retry-After`, or the `X-Sentry-Rate-Limits` they prefer
    /// (all categories, this long).
    fn retry(why: Refusal, detail: impl Into<String>, after: Duration) -> Refused {
        let status = StatusCode::TOO_MANY_REQUESTS;
        Refused { status, why, detail: detail.into(), retry_after: Some(after), counted: true }
    }

    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "detail": self.detail }))).into_response();
        if let Some(after) = self.retry_after {
            // Whole seconds, rounded up, so the SDK does not come back early.
            let seconds = (after.as_secs() + u64::from(after.subsec_nanos() > 0)).max(1);
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            if let Ok(limits) = HeaderValue::from_str(&format!("{seconds}::organization")) {
                headers.insert("x-sentry-rate-limits", limits);
            }
        }
        response
    }
}

#[tracing::instrument(level = "debug", name = "sentry_ingest", skip_all, fields(project = %project_id))]
async fn handle(
    State(sentry): State<Sentry>,
    Path(project_id): Path<String>,
    request: Request,
    endpoint: Endpoint,
) -> Response {
    match ingest(&sentry, &project_id, request, endpoint).await {
        Ok(event_id) => {
            let body = event_id.map_or_else(|| json!({}), |id| json!({ "id": id }));
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(refused) => {
            tracing::debug!(status = %refused.status, detail = %refused.detail, "sentry request refused");
            if !refused.counted {
                sentry.pipeline.metrics.refused(refused.why);
            }
            refused.into_response()
        }
    }
}

/// Authenticates, reads, converts and commits one request; the event id to
/// answer with.
async fn ingest(
    sentry: &Sentry,
    project_id: &str,
    request: Request,
    endpoint: Endpoint,
) -> Result<Option<String>, Refused> {
    let project = authenticate(sentry, project_id, request.headers(), request.uri().query())?.clone();
    let declared = declared_length(request.headers()).min(sentry.max_request_bytes as u64);
    let admitted = sentry.pipeline.admit(declared).map_err(overloaded)?;
    let encoding = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let limit = sentry.max_request_bytes;
    let raw = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| too_large(limit))?;
    admitted.add((raw.len() as u64).saturating_sub(declared));
    // Decompressing and parsing are CPU work: off the async threads.
    let read = tokio::task::spawn_blocking(move || {
        read_body(&encoding, &raw, limit, endpoint).map(|envelope| {
            let counts = Counts {
                discarded: faultline_sentry::discarded(&envelope),
                sessions: faultline_sentry::session_counts(&envelope),
            };
            (envelope.answer_id(), counts, envelope)
        })
    })
    .await
    .map_err(|e| Refused::new(StatusCode::INTERNAL_SERVER_ERROR, Refusal::Internal, e.to_string()))?;
    let (event_id, counts, read) = read?;
    let service = project.service.clone();
    let claimed = match sentry.recent.claim(project_id, event_id.as_deref()) {
        Some(Claim::Stored) => {
            tracing::debug!(?event_id, "sentry event already stored: a retry, answered and not stored again");
            return Ok(event_id);
        }
        Some(Claim::Pending) => return Err(being_stored()),
        Some(Claim::New(guard)) => Some(guard),
        None => None,
    };
    let extract = move |limits: &faultline_otlp::Limits, now| {
        let mut extraction = extraction(&read, &project, limits, now);
        let requests = transaction_buckets(&read, &project, &mut extraction);
        (extraction, requests)
    };
    let result = sentry.pipeline.ingest(Signal::Sentry, None, extract).await;
    drop(admitted);
    let accepted = result.map_err(ingest_refusal)?;
    if let Some(guard) = claimed {
        guard.stored();
    }
    if accepted.rejected > 0 {
        tracing::debug!(rejected = accepted.rejected, why = %accepted.error_message, "sentry items dropped");
    }
    // Counted once acknowledged, so a retried refusal is not counted twice.
    sentry.pipeline.metrics.sentry_client_discarded(&counts.discarded);
    sentry.pipeline.metrics.sentry_sessions(&service, &counts.sessions);
    Ok(event_id)
}

/// What an envelope reports besides events, for `/metrics`.
struct Counts {
    discarded: Vec<faultline_sentry::Discarded>,
    sessions: Vec<faultline_sentry::SessionCount>,
}

fn authenticate<'a>(
    sentry: &'a Sentry,
    project_id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<&'a Project, Refused> {
    let auth = headers.get("x-sentry-auth").and_then(|v| v.to_str().ok());
    let key = faultline_sentry::sentry_key(auth, query)
        .map_err(|e| Refused::new(StatusCode::UNAUTHORIZED, Refusal::Unauthenticated, e.to_string()))?;
    sentry.projects.find(key, project_id).map_err(|e| match e {
        super::sentry_projects::KeyRefused::Unknown => {
            Refused::new(StatusCode::UNAUTHORIZED, Refusal::Unauthenticated, e.to_string())
        }
        super::sentry_projects::KeyRefused::WrongProject { .. } => {
            Refused::new(StatusCode::FORBIDDEN, Refusal::Forbidden, e.to_string())
        }
    })
}

fn read_body(encoding: &str, raw: &Bytes, limit: usize, endpoint: Endpoint) -> Result<Envelope, Refused> {
    let body = decompress(encoding, raw, limit).map_err(|e| match e {
        DecompressError::TooLarge(_) => too_large(limit),
        DecompressError::Corrupt { .. } => {
            Refused::new(StatusCode::BAD_REQUEST, Refusal::Malformed, e.to_string())
        }
        DecompressError::Unsupported(_) => {
            Refused::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, Refusal::UnsupportedMediaType, e.to_string())
        }
    })?;
    let parsed = match endpoint {
        Endpoint::Envelope => parse_envelope(&body),
        Endpoint::Store => parse_store(&body),
    };
    let envelope =
        parsed.map_err(|e| Refused::new(StatusCode::BAD_REQUEST, Refusal::Malformed, e.to_string()))?;
    // An envelope with some usable item is taken (the others dropped and
    // counted as rejected, as Sentry's Relay does); one with none at all is
    // refused, so the sender learns why.
    match envelope.unusable() {
        Some(e) => Err(Refused::new(StatusCode::BAD_REQUEST, Refusal::Malformed, e.to_string())),
        None => Ok(envelope),
    }
}

/// The envelope's events as an extraction: items that are neither events
/// nor transactions (those are [`transaction_buckets`]) are acknowledged
/// and dropped (not counted as rejected: the SDK did nothing
/// wrong), event payloads that are not JSON objects and items that could
/// not be framed are rejected alone.
fn extraction(
    envelope: &Envelope,
    project: &Project,
    limits: &faultline_otlp::Limits,
    now: i64,
) -> faultline_otlp::Extraction {
    let unframed = envelope.invalid.len();
    let mut extraction = faultline_otlp::Extraction {
        items: (envelope.items.len() + unframed) as u64,
        rejected: unframed as i64,
        error_message: envelope.invalid.first().map(ToString::to_string).unwrap_or_default(),
        ..Default::default()
    };
    for event in envelope.events() {
        match event {
            Ok(event) => extraction
                .events
                .push(bounded(faultline_sentry::to_error_event(&event, project, now), limits)),
            Err(e) => {
                extraction.rejected += 1;
                extraction.error_message = e.to_string();
            }
        }
    }
    let dropped: Vec<&str> = envelope.dropped().filter(|kind| *kind != STREAMED_SPANS).collect();
    if !dropped.is_empty() {
        tracing::debug!(?dropped, "sentry items acknowledged and dropped: not stored yet");
    }
    faultline_otlp::mark_truncated(&mut extraction.events);
    extraction
}

/// The envelope's transactions and streamed segment spans as API health
/// figures, one request each, folded per endpoint and minute as OTLP
/// request spans are; a transaction or span payload that cannot be read is
/// rejected alone.
fn transaction_buckets(
    envelope: &Envelope,
    project: &Project,
    extraction: &mut faultline_otlp::Extraction,
) -> Vec<SpanBucket> {
    let mut health = faultline_store::HealthBatch::new();
    for transaction in envelope.transactions() {
        match transaction {
            Ok(transaction) => {
                if let Some(sample) = faultline_sentry::transaction_sample(&transaction, project) {
                    faultline_store::health::add_samples(&mut health, std::slice::from_ref(&sample));
                }
            }
            Err(e) => {
                extraction.rejected += 1;
                extraction.error_message = e.to_string();
            }
        }
    }
    // SDKs that stream spans (`span` items) instead of sending transactions.
    for item in envelope.items.iter().filter(|item| item.kind.as_str() == STREAMED_SPANS) {
        match faultline_sentry::streamed_span_samples(&item.payload, project) {
            Ok(samples) => faultline_store::health::add_samples(&mut health, &samples),
            Err(e) => {
                extraction.rejected += 1;
                extraction.error_message = e.to_string();
            }
        }
    }
    health.into_iter().map(|((key, minute), bucket)| (key, minute, bucket)).collect()
}

/// The item type of streamed spans, read by [`transaction_buckets`].
const STREAMED_SPANS: &str = "span";

/// The event within the export limits, as OTLP events are, except that
/// a Sentry event over `max_attributes` loses attributes instead of being
/// rejected (its tags and headers are the SDK's defaults, not a mistake):
/// request headers first, then tags, counted in `sentry.dropped_attributes`.
/// Text is cut to `max_string_len`; an object or list attribute (frames,
/// breadcrumbs, contexts) whose JSON is longer is kept as that JSON text,
/// cut, so `faultline.truncated` names it.
fn bounded(
    mut event: faultline_model::ErrorEvent,
    limits: &faultline_otlp::Limits,
) -> faultline_model::ErrorEvent {
    for field in [&mut event.message, &mut event.stacktrace, &mut event.exception_type, &mut event.span_name]
    {
        if let Some(text) = field.as_mut() {
            *text = limits.truncate(text);
        }
    }
    for attributes in [&mut event.attributes, &mut event.resource] {
        for value in attributes.values_mut() {
            bound_value(value, limits.max_string_len);
        }
    }
    let dropped = drop_surplus(&mut event.attributes, limits.max_attributes);
    if dropped > 0 {
        event.attributes.insert("sentry.dropped_attributes".into(), dropped.into());
    }
    event
}

fn bound_value(value: &mut serde_json::Value, max_len: usize) {
    match value {
        serde_json::Value::String(text) if text.len() > max_len => {
            *text = faultline_otlp::truncate(text, max_len)
        }
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            let text = value.to_string();
            if text.len() > max_len {
                *value = serde_json::Value::String(faultline_otlp::truncate(&text, max_len));
            }
        }
        _ => {}
    }
}

/// Removes request headers, then tags, until at most `max` attributes are
/// left; how many it removed.
fn drop_surplus(attributes: &mut faultline_model::Attributes, max: usize) -> usize {
    let mut dropped = 0;
    for prefix in ["http.request.header.", "tags."] {
        while attributes.len() > max {
            let Some(key) = attributes.keys().rev().find(|k| k.starts_with(prefix)).cloned() else {
                break;
            };
            attributes.remove(&key);
            dropped += 1;
        }
    }
    dropped
}

fn declared_length(headers: &HeaderMap) -> u64 {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

fn too_large(limit: usize) -> Refused {
    Refused::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::TooLarge,
        format!("request body exceeds the limit of {limit} bytes (limits.max_request_bytes)"),
    )
}

/// Refused before the body is read (counted by the pipeline).
/// A copy of a request still being committed: it may yet be needed (if
/// the first fails), so the SDK is asked to send it again shortly.
fn being_stored() -> Refused {
    let detail = "an event with this event_id is being stored; retry";
    let mut refused = Refused::new(StatusCode::TOO_MANY_REQUESTS, Refusal::Busy, detail);
    refused.retry_after = Some(Duration::from_secs(1));
    refused
}

fn overloaded(why: Overload) -> Refused {
    Refused::retry(Refusal::Busy, why.to_string(), Duration::from_secs(1))
}

fn ingest_refusal(e: IngestError) -> Refused {
    let retry = |why| Refused::retry(why, e.to_string(), Duration::from_secs(1));
    match &e {
        IngestError::RateLimited(limited) => {
            Refused::retry(Refusal::RateLimited, e.to_string(), limited.retry_after)
        }
        IngestError::Busy | IngestError::ShuttingDown => retry(Refusal::Busy),
        IngestError::Overloaded(_) => retry(Refusal::ExtractionWait),
        IngestError::Unwritable(_) => retry(Refusal::Unwritable),
        IngestError::Storage(_) => Refused {
            counted: true,
            ..Refused::new(StatusCode::INTERNAL_SERVER_ERROR, Refusal::Internal, e.to_string())
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use faultline_model::{ErrorEvent, EventSource};
    use serde_json::json;

    use super::*;

    #[test]
    fn transactions_fold_per_endpoint_and_a_bad_one_is_rejected_alone() {
        let server_error =
            include_bytes!("../../../faultline-sentry/tests/fixtures/python_transaction_500.envelope");
        let not_found =
            include_bytes!("../../../faultline-sentry/tests/fixtures/python_transaction_404.envelope");
        let payload = |body: &[u8]| parse_envelope(body).unwrap().items.remove(0);
        let bad = faultline_sentry::Item {
            kind: faultline_sentry::ItemKind::Transaction,
            payload: b"[1]".to_vec(),
        };
        let envelope =
            Envelope { items: vec![payload(server_error), bad, payload(not_found)], ..Envelope::default() };
        let project = Project { service: "shop-py".into(), environment: None };
        let mut extraction = faultline_otlp::Extraction::default();
        let buckets = transaction_buckets(&envelope, &project, &mut extraction);
        assert_eq!(extraction.rejected, 1);
        assert!(extraction.events.is_empty(), "transactions are no error events");
        // Both were sent within the same minute (23:13:59) to one endpoint.
        assert_eq!(buckets.len(), 1, "{buckets:?}");
        let (key, _, bucket) = &buckets[0];
        assert_eq!((key.route.as_str(), key.method.as_str()), ("/items/{id}", "GET"));
        assert_eq!((bucket.requests, bucket.errors, bucket.client_errors), (2, 1, 1));
        assert_eq!(bucket.latency.count(), 2);
    }

    #[test]
    fn events_are_bounded_like_otlp_events() {
        let limits = faultline_otlp::Limits { max_attributes: 4, max_string_len: 64, max_span_events: 1 };
        let mut event = ErrorEvent::blank("shop", EventSource::Sentry, 1);
        event.stacktrace = Some("x".repeat(100));
        let a = &mut event.attributes;
        a.insert("user.id".into(), json!("42"));
        a.insert("tags.a".into(), json!("1"));
        a.insert("tags.b".into(), json!("2"));
        a.insert("http.request.header.accept".into(), json!("*/*"));
        a.insert("http.request.header.host".into(), json!("h"));
        a.insert("sentry.breadcrumbs".into(), json!([{"message": "y".repeat(80)}]));
        a.insert("sentry.contexts".into(), json!({"os": {"name": "Linux"}}));
        let mut events = vec![bounded(event, &limits)];
        faultline_otlp::mark_truncated(&mut events);
        let a = &events[0].attributes;
        assert!(events[0].stacktrace.as_deref().unwrap().ends_with(faultline_otlp::TRUNCATION_MARKER));
        let crumbs = a["sentry.breadcrumbs"].as_str().unwrap();
        assert!(crumbs.starts_with("[{\"message\":\"yyy"), "{crumbs}");
        assert_eq!(a["sentry.contexts"], json!({"os": {"name": "Linux"}}), "small objects stay objects");
        // 7 attributes for 4: both headers and one tag go, the user stays.
        assert_eq!(a["sentry.dropped_attributes"], 3);
        assert!(a.contains_key("user.id") && a.contains_key("tags.a") && !a.contains_key("tags.b"));
        assert!(!a.keys().any(|k| k.starts_with("http.request.header.")));
        let truncated = a[faultline_otlp::TRUNCATED_ATTRIBUTE].as_array().unwrap();
        assert!(truncated.contains(&json!("attributes.sentry.breadcrumbs")), "{truncated:?}");
        assert!(truncated.contains(&json!("stacktrace")), "{truncated:?}");
    }
}
