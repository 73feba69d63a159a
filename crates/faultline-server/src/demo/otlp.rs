//! The demo's OTLP client: builds trace and log exports with the
//! opentelemetry-proto types the receivers decode, and posts them as
//! protobuf to the server's own OTLP/HTTP listener, like an SDK would.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use super::rng::Rng;

pub fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
        ..Default::default()
    }
}

pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::IntValue(value)) }),
        ..Default::default()
    }
}

/// The resource of one service instance, as an SDK describes it.
pub fn resource(service: &str, version: &str, language: &str) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", service),
            kv("service.version", version),
            kv("deployment.environment.name", "production"),
            kv("telemetry.sdk.language", language),
            kv("telemetry.sdk.name", "opentelemetry"),
            kv("host.name", format!("{service}-7d9f8c-{}", &version.replace('.', ""))),
        ],
        ..Default::default()
    }
}

/// A SERVER span of one request.
pub struct Request<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub start_nanos: u64,
    pub duration_nanos: u64,
    pub status_code: i64,
    /// A recorded exception: type, message, stack trace.
    pub exception: Option<(&'a str, String, String)>,
    pub user: Option<String>,
}

impl Request<'_> {
    pub fn span(&self, rng: &mut Rng) -> Span {
        let mut trace_id = vec![0u8; 16];
        let mut span_id = vec![0u8; 8];
        rng.fill(&mut trace_id);
        rng.fill(&mut span_id);
        let end = self.start_nanos + self.duration_nanos;
        let failed = self.status_code >= 500 || self.exception.is_some();
        let mut attributes = vec![
            kv("http.request.method", self.method),
            kv("http.route", self.route),
            kv_int("http.response.status_code", self.status_code),
            kv("url.scheme", "https"),
        ];
        if let Some(user) = &self.user {
            attributes.push(kv("enduser.id", user.clone()));
        }
        let events = match &self.exception {
            None => Vec::new(),
            Some((exception_type, message, stacktrace)) => vec![span::Event {
                name: "exception".into(),
                time_unix_nano: end.saturating_sub(1_000_000),
                attributes: vec![
                    kv("exception.type", *exception_type),
                    kv("exception.message", message.clone()),
                    kv("exception.stacktrace", stacktrace.clone()),
                ],
                ..Default::default()
            }],
        };
        Span {
            trace_id,
            span_id,
            name: format!("{} {}", self.method, self.route),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: self.start_nanos,
            end_time_unix_nano: end,
            attributes,
            events,
            status: failed.then(|| Status { code: status::StatusCode::Error as i32, ..Default::default() }),
            ..Default::default()
        }
    }
}

/// An ERROR log record.
pub fn error_log(at_nanos: u64, message: String, logger: &str) -> LogRecord {
    LogRecord {
        time_unix_nano: at_nanos,
        observed_time_unix_nano: at_nanos,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: Some(AnyValue { value: Some(any_value::Value::StringValue(message)) }),
        attributes: vec![kv("code.namespace", logger)],
        ..Default::default()
    }
}

pub fn traces(resource: Resource, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans { scope: Some(scope()), spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

pub fn logs(resource: Resource, log_records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs { scope: Some(scope()), log_records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn scope() -> InstrumentationScope {
    InstrumentationScope { name: "faultline-demo".into(), ..Default::default() }
}

/// Posts exports to an OTLP/HTTP receiver as protobuf.
#[derive(Clone)]
pub struct Exporter {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Exporter {
    pub fn new(otlp_http: std::net::SocketAddr, token: Option<String>) -> anyhow::Result<Exporter> {
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
        Ok(Exporter { client, base: format!("http://{otlp_http}"), token })
    }

    pub async fn traces(&self, export: &ExportTraceServiceRequest) -> anyhow::Result<()> {
        self.post("/v1/traces", export.encode_to_vec()).await
    }

    pub async fn logs(&self, export: &ExportLogsServiceRequest) -> anyhow::Result<()> {
        self.post("/v1/logs", export.encode_to_vec()).await
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-protobuf")
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            anyhow::bail!("{path} answered {}", response.status());
        }
        Ok(())
    }
}
