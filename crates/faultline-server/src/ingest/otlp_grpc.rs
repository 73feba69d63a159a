//! OTLP/gRPC: the collector services of opentelemetry-proto on tonic.
//!
//! tonic's defaults differ from OTLP's, so a response layer maps them:
//! a body that fails to decode (or decompress) is INVALID_ARGUMENT, not
//! INTERNAL, and an oversize message is RESOURCE_EXHAUSTED, not
//! OUT_OF_RANGE. The size limit is ours and tonic applies it after gzip too.

use std::sync::Arc;

use faultline_otlp::{extract_logs, extract_traces, span_samples};
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

use super::pipeline::{IngestError, Pipeline};
use crate::metrics::{Refusal, Signal};

#[derive(Clone)]
pub struct Otlp {
    pipeline: Arc<Pipeline>,
}

fn to_status(e: IngestError) -> Status {
    match e {
        // UNAVAILABLE is retryable in OTLP: SDKs back off and resend.
        IngestError::Busy | IngestError::ShuttingDown => Status::unavailable(e.to_string()),
        IngestError::Storage(_) => Status::internal(e.to_string()),
    }
}

#[tonic::async_trait]
impl TraceService for Otlp {
    #[tracing::instrument(level = "debug", name = "otlp_grpc_export", skip_all, fields(signal = "traces"))]
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let req = request.into_inner();
        let accepted = self
            .pipeline
            .ingest(Signal::Traces, move |limits, now| {
                (extract_traces(&req, limits, now), span_samples(&req))
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
        let req = request.into_inner();
        let accepted = self
            .pipeline
            .ingest(Signal::Logs, move |limits, now| (extract_logs(&req, limits, now), Vec::new()))
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
        self.pipeline.ingest_metrics(request.into_inner()).await.map_err(to_status)?;
        Ok(Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

/// Serves OTLP/gRPC on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    pipeline: Arc<Pipeline>,
    max_request_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
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
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tonic::transport::Server::builder()
        .layer(fix_status)
        .add_service(traces)
        .add_service(logs)
        .add_service(metrics)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
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
