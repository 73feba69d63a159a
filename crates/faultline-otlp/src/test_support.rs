//! Builders for OTLP test inputs, shared by the unit tests.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};

pub(crate) const RECEIVED_AT: i64 = 1_700_000_009_000_000_000;
pub(crate) const TRACE_ID: [u8; 16] =
    [0x5B, 0x8E, 0xFF, 0xF7, 0x98, 0x03, 0x81, 0x03, 0xD2, 0x69, 0xB6, 0x33, 0x81, 0x3F, 0xC6, 0x0C];
pub(crate) const SPAN_ID: [u8; 8] = [0xEE, 0xE1, 0x9B, 0x7E, 0xC3, 0xC1, 0xB1, 0x74];

pub(crate) fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

pub(crate) fn s(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.into()))
}

pub(crate) fn i(key: &str, value: i64) -> KeyValue {
    kv(key, Value::IntValue(value))
}

pub(crate) fn b(key: &str, value: bool) -> KeyValue {
    kv(key, Value::BoolValue(value))
}

pub(crate) fn resource() -> Resource {
    Resource {
        attributes: vec![
            s("service.name", "checkout"),
            s("service.version", "2.1.0"),
            s("deployment.environment.name", "production"),
            s("host.name", "web-7"),
            s("telemetry.sdk.language", "python"),
        ],
        ..Default::default()
    }
}

/// A span with ids and times set, nothing else.
pub(crate) fn span(name: &str) -> Span {
    Span {
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        name: name.into(),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_001_000_000_000,
        ..Default::default()
    }
}

pub(crate) fn exception_event(time: u64, attributes: Vec<KeyValue>) -> span::Event {
    span::Event { time_unix_nano: time, name: "exception".into(), attributes, ..Default::default() }
}

pub(crate) fn error_status(message: &str) -> Option<Status> {
    Some(Status { message: message.into(), code: 2 })
}

pub(crate) fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource()),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

pub(crate) fn record(severity_number: i32, severity_text: &str, body: Option<Value>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_700_000_002_000_000_000,
        observed_time_unix_nano: 1_700_000_003_000_000_000,
        severity_number,
        severity_text: severity_text.into(),
        body: body.map(|value| AnyValue { value: Some(value) }),
        trace_id: TRACE_ID.to_vec(),
        span_id: SPAN_ID.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn logs(log_records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource()),
            scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
            ..Default::default()
        }],
    }
}
