use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::UnixNanos;

/// Free-form OTel attributes by name. Values keep their OTLP type: strings,
/// integers, doubles, booleans, arrays and key-value lists map to the JSON
/// equivalents; bytes are base64 strings.
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// Which OTLP signal an error event was extracted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// A span event named `exception`.
    SpanException,
    /// A span with status ERROR and no exception event.
    SpanStatus,
    /// A SERVER span that answered HTTP 5xx without either of the above.
    HttpServerError,
    /// A log record at ERROR severity or carrying `exception.*` attributes.
    Log,
    /// An event sent by a Sentry SDK (`faultline-sentry`).
    Sentry,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::SpanException => "span_exception",
            EventSource::SpanStatus => "span_status",
            EventSource::HttpServerError => "http_server_error",
            EventSource::Log => "log",
            EventSource::Sentry => "sentry",
        }
    }

    pub fn parse(text: &str) -> Option<EventSource> {
        Some(match text {
            "span_exception" => EventSource::SpanException,
            "span_status" => EventSource::SpanStatus,
            "http_server_error" => EventSource::HttpServerError,
            "log" => EventSource::Log,
            "sentry" => EventSource::Sentry,
            _ => return None,
        })
    }
}

/// How severe an event is, in Sentry's vocabulary. Every event is stored
/// with one of these names, whatever its SDK called the level (`SEVERE`,
/// `WARN`, `err`, ...), so that `level:error` finds the error logs of every
/// runtime as well as span-derived errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warning,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// One error occurrence, as extracted from a span, a log record or a Sentry event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// Position in the event log; assigned by the store, 0 before that.
    #[serde(default)]
    pub seq: u64,
    /// The group this event joined; assigned at commit, 0 before that.
    #[serde(default)]
    pub group_id: u64,
    #[serde(with = "crate::rfc3339")]
    pub timestamp: UnixNanos,
    #[serde(with = "crate::rfc3339")]
    pub received_at: UnixNanos,
    pub source: EventSource,
    pub service: String,
    pub service_version: Option<String>,
    pub environment: Option<String>,
    pub host: Option<String>,
    /// `telemetry.sdk.language` of the resource, which picks the stack parser.
    pub sdk_language: Option<String>,
    /// Lowercase hex, empty when the record carried none.
    pub trace_id: String,
    pub span_id: String,
    pub span_name: Option<String>,
    /// A [`Level`] name: `error` for span-derived events, the log record's
    /// severity for logs. A string because events stored by earlier
    /// versions kept the SDK's own text (`ERROR`, `SEVERE`).
    pub level: String,
    pub exception_type: Option<String>,
    pub message: Option<String>,
    pub stacktrace: Option<String>,
    pub escaped: Option<bool>,
    pub http_route: Option<String>,
    pub http_method: Option<String>,
    pub http_status: Option<u16>,
    /// Span, span-event or log-record attributes (the item's own).
    pub attributes: Attributes,
    /// Resource attributes of the service that sent it.
    pub resource: Attributes,
}

impl ErrorEvent {
    /// An event of `service` at `timestamp` with nothing else known yet:
    /// the start extractors and tests fill in.
    pub fn blank(service: impl Into<String>, source: EventSource, timestamp: UnixNanos) -> ErrorEvent {
        ErrorEvent {
            seq: 0,
            group_id: 0,
            timestamp,
            received_at: timestamp,
            source,
            service: service.into(),
            service_version: None,
            environment: None,
            host: None,
            sdk_language: None,
            trace_id: String::new(),
            span_id: String::new(),
            span_name: None,
            level: Level::Error.as_str().into(),
            exception_type: None,
            message: None,
            stacktrace: None,
            escaped: None,
            http_route: None,
            http_method: None,
            http_status: None,
            attributes: Attributes::new(),
            resource: Attributes::new(),
        }
    }

    /// Looks an attribute up by its OTel name: the item's own first, then the resource's.
    pub fn attribute(&self, name: &str) -> Option<&serde_json::Value> {
        self.attributes.get(name).or_else(|| self.resource.get(name))
    }

    /// An attribute as a string when it is one.
    pub fn attribute_str(&self, name: &str) -> Option<&str> {
        self.attribute(name).and_then(|v| v.as_str())
    }
}
