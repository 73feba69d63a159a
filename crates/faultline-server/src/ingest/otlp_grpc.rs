//! OTLP/gRPC: the collector services of opentelemetry-proto on tonic.
//!
//! tonic's defaults differ from OTLP's, so a response layer maps them:
//! a body that fails to decode (or decompress) is INVALID_ARGUMENT, not
//! INTERNAL, and an oversize message is RESOURCE_EXHAUSTED, not
//! OUT_OF_RANGE. The size limit is ours and tonic applies it after gzip too.
//!
//! An auth layer, outermost, refuses calls without a valid ingest token
//! (UNAUTHENTICATED) before anything else; a token pinned to services is
//! held to them once the export is decoded (PERMISSION_DENIED).
//!
//! An admission layer asks the pipeline to let each request in before tonic
//! reads or decodes its body: a busy server answers UNAVAILABLE at once.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use faultline_otlp::{extract_logs, extract_traces, span_buckets};
use faultline_store::health::minute_of;
use http::HeaderValue;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Code, Request, Response, Status};

use super::admission::Admitted;
use super::grpc_gate::{self, HeadCheck};
use super::pipeline::{IngestError, Pipeline};
use super::rate_limit::{Limited, TokenRef};
use crate::auth::middleware::GrpcAuth;
use crate::auth::{services, Auth, Principal};
use crate::metrics::{Refusal, Signal};

#[derive(Clone)]
pub struct Otlp {
    pipeline: Arc<Pipeline>,
}

impl Otlp {
    /// PERMISSION_DENIED when a pinned token sends for another service.
    fn check_services<T>(
        &self,
        request: &Request<T>,
        services: impl FnOnce(&T) -> std::collections::BTreeSet<String>,
    ) -> Result<(), Status> {
        let principal = request.extensions().get::<Principal>();
        match services::refusal(principal, &services(request.get_ref())) {
            None => Ok(()),
            Some(message) => {
                self.pipeline.metrics.refused(Refusal::Forbidden);
                Err(Status::permission_denied(message))
            }
        }
    }
}

fn to_status(e: IngestError) -> Status {
    match e {
        IngestError::RateLimited(limited) => rate_limited(&limited),
        // UNAVAILABLE is retryable in OTLP: SDKs back off and resend.
        IngestError::Busy
        | IngestError::ShuttingDown
        | IngestError::Unwritable(_)
        | IngestError::Overloaded(_) => Status::unavailable(e.to_string()),
        IngestError::Storage(_) => Status::internal(e.to_string()),
    }
}

/// UNAVAILABLE (retryable) with a `google.rpc.RetryInfo` detail saying
/// when the export would fit. The detail goes in the status details (as
/// gRPC specifies) and, for exporters that read it there (Python's), in the
/// `google.rpc.retryinfo-bin` trailer too.
fn rate_limited(limited: &Limited) -> Status {
    let message = limited.to_string();
    let details = faultline_otlp::status::Status::new(Code::Unavailable, message.clone())
        .with_retry_delay(limited.retry_after);
    let info = details.details.first().map(|any| any.value.clone()).unwrap_or_default();
    let mut status =
        Status::with_details(Code::Unavailable, message, prost::Message::encode_to_vec(&details).into());
    status
        .metadata_mut()
        .insert_bin("google.rpc.retryinfo-bin", tonic::metadata::MetadataValue::from_bytes(&info));
    status
}

/// The token a call came with (put there by the auth layer).
fn token_of<T>(request: &Request<T>) -> Option<TokenRef> {
    request.extensions().get::<Principal>().map(super::otlp_http::token_ref)
}

#[tonic::async_trait]
impl TraceService for Otlp {
    #[tracing::instrument(level = "debug", name = "otlp_grpc_export", skip_all, fields(signal = "traces"))]
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.check_services(&request, services::of_traces)?;
        let token = token_of(&request);
        let req = request.into_inner();
        let accepted = self
            .pipeline
            .ingest(Signal::Traces, token, move |limits, now| {
                (extract_traces(&req, limits, now), span_buckets(&req, minute_of))
            })
            .await
            .map_err(to_status)?;
        Ok(Response::new(accepted.trace_response()))
    }
}

#[tonic::async_trait]
impl LogsService for Otlp {
    #[tracing::instrument(level = "debug", name = "otlp_grpc_export", skip_all, fields(signal = "logs"))]
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.check_services(&request, services::of_logs)?;
        let token = token_of(&request);
        let req = request.into_inner();
        let accepted = self
            .pipeline
            .ingest(Signal::Logs, token, move |limits, now| (extract_logs(&req, limits, now), Vec::new()))
            .await
            .map_err(to_status)?;
        Ok(Response::new(accepted.logs_response()))
    }
}

#[tonic::async_trait]
impl MetricsService for Otlp {
    /// Metrics: `http.server.request.duration` feeds health figures; the
    /// rest is acknowledged so SDKs that send it do not log errors.
    #[tracing::instrument(level = "debug", name = "otlp_grpc_export", skip_all, fields(signal = "metrics"))]
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.check_services(&request, services::of_metrics)?;
        self.pipeline.ingest_metrics(request.into_inner()).await.map_err(to_status)?;
        Ok(Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

/// Serves OTLP/gRPC on `incoming` connections (plain TCP, or TLS ones
/// already handshaken) until `shutdown` resolves.
pub async fn serve<I, IO>(
    incoming: I,
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    auth: Arc<Auth>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    I: tokio_stream::Stream<Item = std::io::Result<IO>>,
    IO: tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + tonic::transport::server::Connected
        + Unpin
        + Send
        + 'static,
{
    let otlp = Otlp { pipeline: pipeline.clone() };
    let traces = TraceServiceServer::new(otlp.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_request_bytes);
    let logs = LogsServiceServer::new(otlp.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_request_bytes);
    let metrics = MetricsServiceServer::new(otlp)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_request_bytes);
    let counters = pipeline.metrics.clone();
    let fix_status =
        tower::util::MapResponseLayer::new(move |mut response: http::Response<tonic::body::Body>| {
            if let Some(refusal) = map_tonic_status(response.headers_mut()) {
                counters.refused(refusal);
            }
            response
        });
    let refusals = pipeline.metrics.clone();
    let on_refusal: Arc<dyn Fn(&crate::auth::Denied) + Send + Sync> = Arc::new(move |denied| {
        refusals.refused(match denied {
            crate::auth::Denied::Scope { .. } => Refusal::Forbidden,
            _ => Refusal::Unauthenticated,
        })
    });
    let authenticate = grpc_gate::layer(GrpcAuth { auth, on_refusal });
    let admit = grpc_gate::layer(Admit { pipeline });
    tonic::transport::Server::builder()
        .layer(fix_status)
        .layer(authenticate)
        .layer(admit)
        .add_service(traces)
        .add_service(logs)
        .add_service(metrics)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// The admission check in front of tonic: a refused request gets a
/// trailers-only UNAVAILABLE (retryable in OTLP) without its body being
/// read; an admitted one holds its admission until the answer is ready,
/// with the body's bytes counted as they arrive (gRPC requests declare no
/// length).
#[derive(Clone)]
struct Admit {
    pipeline: Arc<Pipeline>,
}

impl HeadCheck for Admit {
    type Pass = Arc<Admitted>;

    fn check(
        &self,
        request: http::Request<tonic::body::Body>,
    ) -> Result<(http::Request<tonic::body::Body>, Arc<Admitted>), Status> {
        let admitted = match self.pipeline.admit(0) {
            Ok(admitted) => Arc::new(admitted),
            Err(why) => return Err(Status::unavailable(why.to_string())),
        };
        let counted = admitted.clone();
        let request = request.map(|body| tonic::body::Body::new(Counted { inner: body, admitted: counted }));
        Ok((request, admitted))
    }
}

/// A request body that adds its bytes to the export's admission.
struct Counted {
    inner: tonic::body::Body,
    admitted: Arc<Admitted>,
}

impl http_body::Body for Counted {
    type Data = axum::body::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.admitted.add(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Rewrites tonic's own decode-failure statuses (sent as trailers-only
/// responses, so in the headers) to the codes OTLP specifies.
fn map_tonic_status(headers: &mut http::HeaderMap) -> Option<Refusal> {
    let code = Code::from(headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?);
    let message =
        headers.get("grpc-message").and_then(|m| m.to_str().ok()).map(percent_decode).unwrap_or_default();
    let (new_code, refusal) = match code {
        // tonic's "decoded message length too large".
        Code::OutOfRange => (Code::ResourceExhausted, Refusal::TooLarge),
        // tonic's limit hit while decompressing.
        Code::ResourceExhausted => (Code::ResourceExhausted, Refusal::TooLarge),
        Code::Internal
            if message.contains("failed to decode Protobuf message")
                || message.contains("Error decompressing") =>
        {
            (Code::InvalidArgument, Refusal::Malformed)
        }
        _ => return None,
    };
    headers.insert("grpc-status", HeaderValue::from(new_code as i32));
    Some(refusal)
}

/// grpc-message is percent-encoded; only the ASCII markers above matter,
/// so a lossy decode is enough.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
