//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` with protobuf
//! or JSON bodies, optionally gzip-compressed. Responses use the request's
//! content type; errors carry a `google.rpc.Status` body as the spec says.

use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use faultline_otlp::decode::{decode, encode, Format};
use faultline_otlp::status::{Code, Status};
use faultline_otlp::{extract_logs, extract_traces, span_buckets};
use faultline_store::health::minute_of;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::admission::{Admitted, Overload};
use super::pipeline::{Accepted, IngestError, Pipeline};
use super::rate_limit::{Limited, TokenRef};
use crate::auth::{services, Auth, Denied, Principal};
use crate::metrics::{Refusal, Signal};

#[derive(Clone)]
struct Http {
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth: Arc<Auth>,
}

pub fn router(pipeline: Arc<Pipeline>, max_request_bytes: usize, auth: Arc<Auth>) -> Router {
    let state = Http { pipeline, max_request_bytes, auth };
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
        // Our own limit applies after decompression; axum's default must not cut first.
        .layer(DefaultBodyLimit::disable())
        // Outermost: a request without a valid ingest token is refused
        // before admission, so it holds no budget and its body is never read.
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Lets in requests with an ingest token (or any, while auth is not
/// required), with the token's principal in the request's extensions.
async fn guard(State(http): State<Http>, mut request: Request, next: axum::middleware::Next) -> Response {
    let secret = crate::auth::tokens::from_headers(request.headers());
    match http.auth.check(secret, faultline_model::TokenScope::Ingest) {
        Ok(principal) => {
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            next.run(request).await
        }
        Err(denied) => {
            let format = request_format(request.headers()).unwrap_or(Format::Json);
            http.refuse(auth_refusal(&denied), format)
        }
    }
}

/// 401 for a missing or unknown token, 403 for one without the ingest scope.
fn auth_refusal(denied: &Denied) -> Refused {
    match denied {
        Denied::Missing | Denied::Invalid => Refused::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            Refusal::Unauthenticated,
            denied.to_string(),
        ),
        Denied::Scope { .. } => Refused::new(
            StatusCode::FORBIDDEN,
            Code::PermissionDenied,
            Refusal::Forbidden,
            denied.to_string(),
        ),
    }
}

/// 403 when a pinned token sends for a service it may not.
fn check_services(
    principal: Option<&Principal>,
    services: &std::collections::BTreeSet<String>,
) -> Result<(), Refused> {
    match services::refusal(principal, services) {
        None => Ok(()),
        Some(message) => {
            Err(Refused::new(StatusCode::FORBIDDEN, Code::PermissionDenied, Refusal::Forbidden, message))
        }
    }
}

/// A refused export: HTTP status, a Status body, and the reason counted.
struct Refused {
    http: StatusCode,
    code: Code,
    message: String,
    why: Refusal,
    /// Set for a rate limit: how long until the export would fit.
    retry_after: Option<std::time::Duration>,
}

impl Refused {
    fn new(http: StatusCode, code: Code, why: Refusal, message: impl Into<String>) -> Refused {
        Refused { http, code, message: message.into(), why, retry_after: None }
    }

    /// 429 with the wait in `Retry-After` and a RetryInfo detail: OTLP
    /// exporters retry 429 after that long.
    fn rate_limited(limited: &Limited) -> Refused {
        let mut refused = Refused::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable,
            Refusal::RateLimited,
            limited.to_string(),
        );
        refused.retry_after = Some(limited.retry_after);
        refused
    }

    /// The error response. Counting is the caller's: the pipeline counts
    /// its own refusals, [`Http::refuse`] counts the transport's.
    fn into_response(self, format: Format) -> Response {
        let busy = self.http == StatusCode::SERVICE_UNAVAILABLE;
        let mut status = Status::new(self.code, self.message);
        if let Some(delay) = self.retry_after {
            status = status.with_retry_delay(delay);
        }
        let mut response = (self.http, body_response(encode(&status, format), format)).into_response();
        if let Some(delay) = self.retry_after {
            // Whole seconds, rounded up so the client does not come back early.
            let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        } else if busy {
            // 503 + Retry-After makes OTLP exporters back off and resend.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl Http {
    fn refuse(&self, refused: Refused, format: Format) -> Response {
        self.pipeline.metrics.refused(refused.why);
        refused.into_response(format)
    }

    /// Asks the pipeline to let the export in before its body is read,
    /// with the declared length (capped: a longer body is refused as too
    /// large while it is read). The pipeline counts its refusals.
    fn admit(&self, request: &Request) -> Result<Admitted, Refused> {
        let declared = declared_length(request.headers()).min(self.max_request_bytes as u64);
        self.pipeline.admit(declared).map_err(overloaded)
    }
}

/// The Content-Length of a request, 0 when absent (chunked) or unreadable.
fn declared_length(headers: &HeaderMap) -> u64 {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

fn overloaded(why: Overload) -> Refused {
    Refused::new(StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable, Refusal::Busy, why.to_string())
}

fn body_response(bytes: Vec<u8>, format: Format) -> Response {
    let content_type = match format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    };
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

async fn traces(State(http): State<Http>, request: Request) -> Response {
    handle(
        &http,
        request,
        Signal::Traces,
        |body, format, principal| {
            let req: ExportTraceServiceRequest = decode(&body, format).map_err(malformed)?;
            check_services(principal.as_ref(), &services::of_traces(&req))?;
            Ok(Box::new(move |limits: &faultline_otlp::Limits, now| {
                (extract_traces(&req, limits, now), span_buckets(&req, minute_of))
            }))
        },
        Accepted::trace_response,
    )
    .await
}

async fn logs(State(http): State<Http>, request: Request) -> Response {
    handle(
        &http,
        request,
        Signal::Logs,
        |body, format, principal| {
            let req: ExportLogsServiceRequest = decode(&body, format).map_err(malformed)?;
            check_services(principal.as_ref(), &services::of_logs(&req))?;
            Ok(Box::new(move |limits: &faultline_otlp::Limits, now| {
                (extract_logs(&req, limits, now), Vec::new())
            }))
        },
        Accepted::logs_response,
    )
    .await
}

#[tracing::instrument(level = "debug", name = "otlp_http_export", skip_all, fields(signal = "metrics"))]
async fn metrics(State(http): State<Http>, request: Request) -> Response {
    let format = match request_format(request.headers()) {
        Ok(f) => f,
        Err(refused) => return http.refuse(refused, Format::Json),
    };
    let admitted = match http.admit(&request) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(format),
    };
    let principal = request.extensions().get::<Principal>().cloned();
    let result = read_body(&http, request, &admitted).await.and_then(|body| {
        let req = decode::<ExportMetricsServiceRequest>(&body, format).map_err(malformed)?;
        check_services(principal.as_ref(), &services::of_metrics(&req))?;
        Ok(req)
    });
    let req = match result {
        Ok(req) => req,
        Err(refused) => return http.refuse(refused, format),
    };
    let response = match http.pipeline.ingest_metrics(req).await {
        Ok(()) => {
            body_response(encode(&ExportMetricsServiceResponse { partial_success: None }, format), format)
        }
        Err(e) => ingest_refusal(e).into_response(format),
    };
    drop(admitted);
    response
}

type Extractor = Box<
    dyn FnOnce(&faultline_otlp::Limits, i64) -> (faultline_otlp::Extraction, Vec<super::pipeline::SpanBucket>)
        + Send,
>;

/// The shared shape of the trace and log endpoints: check the content
/// type, read and decompress within the limit, decode (and check a pinned
/// token's services), ingest, answer.
#[tracing::instrument(level = "debug", name = "otlp_http_export", skip_all, fields(signal = signal.as_str()))]
async fn handle<D, R, M>(
    http: &Http,
    request: Request,
    signal: Signal,
    decode_body: D,
    respond: R,
) -> Response
where
    D: FnOnce(Bytes, Format, Option<Principal>) -> Result<Extractor, Refused> + Send + 'static,
    R: FnOnce(Accepted) -> M,
    M: prost::Message + serde::Serialize,
{
    let format = match request_format(request.headers()) {
        Ok(f) => f,
        Err(refused) => return http.refuse(refused, Format::Json),
    };
    // Checked before the body is read: a refused export costs no decoding.
    // Held until the answer is built, so the bytes count until then.
    let admitted = match http.admit(&request) {
        Ok(admitted) => admitted,
        Err(refused) => return refused.into_response(format),
    };
    let principal = request.extensions().get::<Principal>().cloned();
    let token = principal.as_ref().map(token_ref);
    let body = match read_body(http, request, &admitted).await {
        Ok(body) => body,
        Err(refused) => return http.refuse(refused, format),
    };
    // Decoding a large body is CPU work: keep it off the async threads.
    // A pinned token's services are checked right after, before any commit.
    let extractor = match tokio::task::spawn_blocking(move || decode_body(body, format, principal)).await {
        Ok(Ok(extractor)) => extractor,
        Ok(Err(refused)) => return http.refuse(refused, format),
        Err(e) => {
            let refused = Refused::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::Internal,
                Refusal::Internal,
                e.to_string(),
            );
            return http.refuse(refused, format);
        }
    };
    let response = match http.pipeline.ingest(signal, token, extractor).await {
        Ok(accepted) => body_response(encode(&respond(accepted), format), format),
        Err(e) => ingest_refusal(e).into_response(format),
    };
    drop(admitted);
    response
}

/// The token an export came with, for its rate limit.
pub(super) fn token_ref(principal: &Principal) -> TokenRef {
    TokenRef {
        id: principal.id.clone(),
        name: principal.name.clone(),
        events_per_second: principal.events_per_second,
    }
}

fn ingest_refusal(e: IngestError) -> Refused {
    match e {
        IngestError::RateLimited(limited) => Refused::rate_limited(&limited),
        IngestError::Busy | IngestError::ShuttingDown => {
            Refused::new(StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable, Refusal::Busy, e.to_string())
        }
        IngestError::Overloaded(_) => Refused::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            Refusal::ExtractionWait,
            e.to_string(),
        ),
        IngestError::Unwritable(_) => Refused::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            Refusal::Unwritable,
            e.to_string(),
        ),
        IngestError::Storage(_) => {
            Refused::new(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, Refusal::Internal, e.to_string())
        }
    }
}

fn malformed(e: faultline_otlp::decode::DecodeError) -> Refused {
    Refused::new(StatusCode::BAD_REQUEST, Code::InvalidArgument, Refusal::Malformed, e.to_string())
}

/// Picks the body format from Content-Type; anything else is 415.
fn request_format(headers: &HeaderMap) -> Result<Format, Refused> {
    let raw = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            Refusal::UnsupportedMediaType,
            format!("unsupported content type {raw:?}: use application/x-protobuf or application/json"),
        )),
    }
}

/// Reads the body, decompressing gzip, refusing anything over the limit
/// before it is all in memory. Bytes beyond the declared length (a body
/// without one) are added to the export's admission.
async fn read_body(http: &Http, request: Request, admitted: &Admitted) -> Result<Bytes, Refused> {
    let declared = declared_length(request.headers());
    let limit = http.max_request_bytes;
    let too_large = || {
        Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::ResourceExhausted,
            Refusal::TooLarge,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    let encoding = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let body: Body = request.into_body();
    let raw = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    admitted.add((raw.len() as u64).saturating_sub(declared));
    match encoding.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => tokio::task::spawn_blocking(move || gunzip(&raw, limit))
            .await
            .map_err(|e| {
                Refused::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Code::Internal,
                    Refusal::Internal,
                    e.to_string(),
                )
            })?
            .map_err(|e| match e {
                Gunzip::TooLarge => too_large(),
                Gunzip::Corrupt(msg) => Refused::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidArgument,
                    Refusal::Malformed,
                    format!("gzip body could not be decompressed: {msg}"),
                ),
            }),
        other => Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            Refusal::UnsupportedMediaType,
            format!("unsupported content encoding {other:?}: use gzip or none"),
        )),
    }
}

enum Gunzip {
    TooLarge,
    Corrupt(String),
}

/// Decompresses at most `limit` bytes, so a small bomb cannot fill memory.
fn gunzip(raw: &[u8], limit: usize) -> Result<Bytes, Gunzip> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(raw).take(limit as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| Gunzip::Corrupt(e.to_string()))?;
    if out.len() > limit {
        return Err(Gunzip::TooLarge);
    }
    Ok(Bytes::from(out))
}
