//! Exporters: one OTLP/gRPC or OTLP/HTTP connection per client, sending
//! pre-encoded export bodies and classifying the answer like an OTel SDK.

use std::io::Write;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use http::HeaderValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Grpc,
    Http,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad endpoint {endpoint:?}: {message}")]
    Endpoint { endpoint: String, message: String },
    #[error("the token cannot be sent as a header (printable ASCII only)")]
    Token,
    #[error("building the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// How the server answered one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted; `rejected_spans` from `partial_success`.
    Acked { rejected_spans: u64 },
    /// Not accepted. `code` names the answer for the report
    /// (`UNAVAILABLE`, `http 503`, `transport`).
    Refused { code: String, retryable: bool, retry_after: Option<Duration>, message: String },
}

/// An exporter for one client.
pub enum Exporter {
    Grpc { grpc: tonic::client::Grpc<Channel>, auth: Option<AsciiMetadataValue> },
    Http { client: reqwest::Client, url: String, gzip: bool },
}

/// `Bearer <token>` as a header value (marked sensitive so it is never
/// logged), or None when the token cannot be a header.
pub fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

impl Exporter {
    /// Connects lazily: a server not up yet is a retryable transport
    /// refusal on the first export, as for an SDK.
    pub fn new(
        protocol: Protocol,
        endpoint: &str,
        gzip: bool,
        timeout: Duration,
        token: Option<&str>,
    ) -> Result<Exporter, ClientError> {
        let bad = |message: String| ClientError::Endpoint { endpoint: endpoint.to_string(), message };
        let auth = match token {
            Some(token) => Some(bearer(token).ok_or(ClientError::Token)?),
            None => None,
        };
        match protocol {
            Protocol::Grpc => {
                let channel = Endpoint::from_shared(endpoint.to_string())
                    .map_err(|e| bad(e.to_string()))?
                    .timeout(timeout)
                    .connect_lazy();
                let mut grpc = tonic::client::Grpc::new(channel);
                if gzip {
                    grpc = grpc.send_compressed(CompressionEncoding::Gzip);
                }
                let auth = auth.and_then(|v| AsciiMetadataValue::try_from(v.as_bytes()).ok());
                Ok(Exporter::Grpc { grpc, auth })
            }
            Protocol::Http => {
                if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
                    return Err(bad("must start with http:// or https://".into()));
                }
                let mut headers = http::HeaderMap::new();
                if let Some(auth) = auth {
                    headers.insert(http::header::AUTHORIZATION, auth);
                }
                let client = reqwest::Client::builder().timeout(timeout).default_headers(headers).build()?;
                Ok(Exporter::Http { client, url: traces_url(endpoint), gzip })
            }
        }
    }

    /// Sends one export body (an encoded `ExportTraceServiceRequest`).
    pub async fn export(&mut self, body: Bytes) -> Outcome {
        match self {
            Exporter::Grpc { grpc, auth } => export_grpc(grpc, auth.as_ref(), body).await,
            Exporter::Http { client, url, gzip } => export_http(client, url, body, *gzip).await,
        }
    }
}

/// The OTLP/HTTP traces URL of an endpoint given as a base (`:4318`) or in full.
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

async fn export_grpc(
    grpc: &mut tonic::client::Grpc<Channel>,
    auth: Option<&AsciiMetadataValue>,
    body: Bytes,
) -> Outcome {
    if let Err(e) = grpc.ready().await {
        return transport_refusal(&e.to_string());
    }
    let path = PathAndQuery::from_static(EXPORT_PATH);
    let mut request = tonic::Request::new(body);
    if let Some(auth) = auth {
        request.metadata_mut().insert("authorization", auth.clone());
    }
    match grpc.unary(request, path, RawCodec).await {
        Ok(response) => Outcome::Acked { rejected_spans: rejected(response.get_ref()) },
        Err(status) => grpc_refusal(&status),
    }
}

fn rejected(response: &ExportTraceServiceResponse) -> u64 {
    response.partial_success.as_ref().map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0))
}

fn transport_refusal(message: &str) -> Outcome {
    // SDKs retry connection failures; the server may be restarting.
    Outcome::Refused { code: "transport".into(), retryable: true, retry_after: None, message: message.into() }
}

/// Classifies a gRPC error as the OTLP spec does: UNAVAILABLE and the other
/// transient codes are retried; RESOURCE_EXHAUSTED only when the server
/// says when to retry (RetryInfo), since otherwise it may mean "too big",
/// which no retry fixes.
pub fn grpc_refusal(status: &Status) -> Outcome {
    let retry_after = retry_info(status.details());
    let retryable = match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => retry_after.is_some(),
        _ => false,
    };
    Outcome::Refused {
        code: code_name(status.code()).into(),
        retryable,
        retry_after,
        message: status.message().into(),
    }
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `google.rpc.Status`, `google.protobuf.Any`, `google.rpc.RetryInfo` and
/// `google.protobuf.Duration`: just the fields needed to read a retry delay
/// from `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

#[derive(Clone, PartialEq, Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

#[derive(Clone, PartialEq, Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The retry delay a gRPC error carries, if any.
pub fn retry_info(details: &[u8]) -> Option<Duration> {
    if details.is_empty() {
        return None;
    }
    let status = RpcStatus::decode(details).ok()?;
    let any = status.details.iter().find(|a| a.type_url.ends_with("google.rpc.RetryInfo"))?;
    let delay = RetryInfo::decode(any.value.as_slice()).ok()?.retry_delay?;
    let secs = u64::try_from(delay.seconds).ok()?;
    let nanos = u32::try_from(delay.nanos).ok()?;
    Some(Duration::new(secs, nanos))
}

/// A codec that sends bytes as they are (the body is already a protobuf
/// message) and decodes the response with prost. The generated
/// `TraceServiceClient` would take a message and encode it on every
/// export, which is the cost the templates exist to avoid.
struct RawCodec;

struct RawEncoder;

struct ResponseDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ExportTraceServiceResponse>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        ExportTraceServiceResponse::decode(bytes)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding the export response: {e}")))
    }
}

async fn export_http(client: &reqwest::Client, url: &str, body: Bytes, gzip: bool) -> Outcome {
    let mut request = client.post(url).header("content-type", "application/x-protobuf");
    let body = if gzip {
        request = request.header("content-encoding", "gzip");
        Bytes::from(gzip_bytes(&body))
    } else {
        body
    };
    let response = match request.body(body).send().await {
        Ok(r) => r,
        Err(e) => return transport_refusal(&e.to_string()),
    };
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    if (200..300).contains(&status) {
        let bytes = response.bytes().await.unwrap_or_default();
        let rejected_spans = ExportTraceServiceResponse::decode(bytes).map(|r| rejected(&r)).unwrap_or(0);
        return Outcome::Acked { rejected_spans };
    }
    let mut outcome = http_refusal(status, retry_after);
    if let (Outcome::Refused { message, .. }, Ok(body)) = (&mut outcome, response.bytes().await) {
        // The google.rpc.Status body; its message is readable enough as bytes.
        *message = String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(200).collect();
    }
    outcome
}

/// 429, 502, 503 and 504 are retryable in OTLP/HTTP; anything else is final.
pub fn http_refusal(status: u16, retry_after: Option<Duration>) -> Outcome {
    let retryable = matches!(status, 429 | 502 | 503 | 504);
    Outcome::Refused { code: format!("http {status}"), retryable, retry_after, message: String::new() }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from collectors and
/// falls back to the backoff).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    // The fast level: compression runs on every export, on the generator's CPU.
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_grpc_codes_like_an_sdk() {
        let unavailable = grpc_refusal(&Status::unavailable("busy"));
        assert!(
            matches!(unavailable, Outcome::Refused { ref code, retryable: true, retry_after: None, .. } if code == "UNAVAILABLE")
        );
        let too_big = grpc_refusal(&Status::resource_exhausted("too big"));
        assert!(matches!(too_big, Outcome::Refused { retryable: false, .. }));
        let bad = grpc_refusal(&Status::invalid_argument("no"));
        assert!(matches!(bad, Outcome::Refused { retryable: false, .. }));
    }

    #[test]
    fn resource_exhausted_with_retry_info_is_retried_after_its_delay() {
        let info = RetryInfo { retry_delay: Some(ProtoDuration { seconds: 2, nanos: 500_000_000 }) };
        let status = RpcStatus {
            code: Code::ResourceExhausted as i32,
            message: "slow down".into(),
            details: vec![Any {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
                value: info.encode_to_vec(),
            }],
        };
        let with_details =
            Status::with_details(Code::ResourceExhausted, "slow down", Bytes::from(status.encode_to_vec()));
        let outcome = grpc_refusal(&with_details);
        let expected = Some(Duration::from_millis(2500));
        assert!(
            matches!(outcome, Outcome::Refused { ref code, retryable: true, retry_after, .. } if code == "RESOURCE_EXHAUSTED" && retry_after == expected)
        );
        assert_eq!(retry_info(b"\xff\xff"), None);
    }

    #[test]
    fn classifies_http_statuses_and_reads_retry_after() {
        for code in [429, 502, 503, 504] {
            assert!(matches!(http_refusal(code, None), Outcome::Refused { retryable: true, .. }));
        }
        for code in [400, 413, 415, 500] {
            assert!(matches!(http_refusal(code, None), Outcome::Refused { retryable: false, .. }));
        }
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn traces_url_accepts_a_base_or_the_full_path() {
        assert_eq!(traces_url("http://h:4318"), "http://h:4318/v1/traces");
        assert_eq!(traces_url("http://h:4318/"), "http://h:4318/v1/traces");
        assert_eq!(traces_url("http://h:4318/v1/traces"), "http://h:4318/v1/traces");
    }
}
