//! Building OTLP requests by hand (for exact control in the crash and
//! bad-input tests) and sending them over HTTP.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

pub fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A span carrying one `exception` event.
pub fn exception_span(name: &str, exception_type: &str, message: &str, attrs: Vec<KeyValue>) -> Span {
    let now = now_nanos();
    Span {
        trace_id: rand::random::<[u8; 16]>().to_vec(),
        span_id: rand::random::<[u8; 8]>().to_vec(),
        name: name.into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: now - 1_000_000,
        end_time_unix_nano: now,
        attributes: attrs,
        events: vec![span::Event {
            time_unix_nano: now,
            name: "exception".into(),
            attributes: vec![kv("exception.type", exception_type), kv("exception.message", message)],
            ..Default::default()
        }],
        status: Some(Status { code: status::StatusCode::Error as i32, message: message.into() }),
        ..Default::default()
    }
}

pub fn traces_request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

pub fn error_log(message: &str, attrs: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: now_nanos(),
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue { value: Some(any_value::Value::StringValue(message.into())) }),
        attributes: attrs,
        ..Default::default()
    }
}

pub fn logs_request(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: vec![kv("service.name", service)], ..Default::default() }),
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// POSTs a protobuf body; returns the HTTP status and body bytes.
pub fn post_protobuf(url: &str, message: &impl Message) -> reqwest::Result<(u16, Vec<u8>)> {
    post(url, "application/x-protobuf", message.encode_to_vec(), None)
}

pub fn post(
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    encoding: Option<&str>,
) -> reqwest::Result<(u16, Vec<u8>)> {
    let mut request =
        reqwest::blocking::Client::new().post(url).header("content-type", content_type).body(body);
    if let Some(e) = encoding {
        request = request.header("content-encoding", e);
    }
    let response = request.send()?;
    let status = response.status().as_u16();
    Ok((status, response.bytes()?.to_vec()))
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap_or_default();
    encoder.finish().unwrap_or_default()
}
