//! Error events from log records: ERROR severity or `exception.*` attributes.

use faultline_model::{Attributes, EventSource, Level, UnixNanos};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Otlp, AnyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use crate::attributes::{any_to_json, to_attributes};
use crate::event::{first_time, hex_id, non_empty, Draft};
use crate::limits::Limits;
use crate::rejection::Rejections;
use crate::resource::ResourceInfo;
use crate::semconv::{self, Exception, Http};
use crate::Extraction;

mod severity;

/// Extracts the error events of every log record in an export. Records over
/// the attribute limit are rejected whole and reported.
pub fn extract_logs(req: &ExportLogsServiceRequest, limits: &Limits, received_at: UnixNanos) -> Extraction {
    let mut extraction = Extraction::default();
    let mut rejections = Rejections::new("log record", "log records");
    for (r, resource_logs) in req.resource_logs.iter().enumerate() {
        // Read lazily: most records are not errors.
        let mut resource: Option<ResourceInfo> = None;
        for (s, scope_logs) in resource_logs.scope_logs.iter().enumerate() {
            let scope = scope_logs.scope.as_ref().map_or("", |scope| scope.name.as_str());
            for (l, record) in scope_logs.log_records.iter().enumerate() {
                extraction.items += 1;
                if record.attributes.len() > limits.max_attributes {
                    rejections.reject(format!(
                        "log record resourceLogs[{r}].scopeLogs[{s}].logRecords[{l}] has {} attributes, the limit is {}",
                        record.attributes.len(),
                        limits.max_attributes
                    ));
                    continue;
                }
                if !is_error(record) {
                    continue;
                }
                let resource = resource
                    .get_or_insert_with(|| ResourceInfo::new(resource_logs.resource.as_ref(), limits));
                extraction
                    .events
                    .push(log_draft(record, scope, limits, received_at).into_event(resource, received_at));
            }
        }
    }
    extraction.rejected = rejections.count();
    extraction.error_message = rejections.message();
    extraction
}

/// ERROR or worse, or carrying an exception whatever its severity (a caught
/// exception logged at WARN is still worth grouping).
fn is_error(record: &LogRecord) -> bool {
    severity::level(record.severity_number, &record.severity_text).is_some_and(|level| level >= Level::Error)
        || record.attributes.iter().any(|kv| kv.key.starts_with(semconv::EXCEPTION_PREFIX))
}

/// Attribute holding a log record's body when an exception's message is the event message.
pub const LOG_BODY: &str = "log.body";

/// Attribute keeping the SDK's severity text when it is not the stored level's name.
pub const LOG_SEVERITY_TEXT: &str = "log.severity_text";

/// Attribute holding the record's instrumentation scope name: for logging
/// bridges the logger's name (`shop.payments`), a culprit of last resort.
pub const SCOPE_NAME: &str = "otel.scope.name";

fn log_draft(record: &LogRecord, scope: &str, limits: &Limits, received_at: UnixNanos) -> Draft {
    let mut attributes = to_attributes(&record.attributes, limits.max_string_len);
    let level = level(record);
    let severity_text = record.severity_text.trim();
    // `SEVERE`, `ERROR`: stored as `error`, the original kept beside it.
    if !severity_text.is_empty() && severity_text != level.as_str() {
        keep_attribute(&mut attributes, LOG_SEVERITY_TEXT, limits.truncate(severity_text));
    }
    if !scope.is_empty() {
        keep_attribute(&mut attributes, SCOPE_NAME, limits.truncate(scope));
    }
    let mut exception = Exception::from_attributes(&attributes);
    let body = body_text(record.body.as_ref(), limits);
    match (&exception.message, body) {
        (None, body) => exception.message = body,
        // `logger.exception("sync failed for batch 17")`: the exception's
        // message names the event, the log line is kept beside it.
        (Some(message), Some(body)) if *message != body => {
            attributes.insert(LOG_BODY.to_string(), serde_json::Value::String(body));
        }
        _ => {}
    }
    Draft {
        source: EventSource::Log,
        timestamp: first_time(&[record.time_unix_nano, record.observed_time_unix_nano], received_at),
        level,
        trace_id: hex_id(&record.trace_id),
        span_id: hex_id(&record.span_id),
        span_name: None,
        exception,
        http: Http::from_attributes(&attributes),
        attributes,
    }
}

/// The record's level (see [`severity::level`]). A record that says nothing
/// known and is extracted at all (for its `exception.*` attributes) reads
/// as an error.
fn level(record: &LogRecord) -> Level {
    severity::level(record.severity_number, &record.severity_text).unwrap_or(Level::Error)
}

/// Adds an attribute the extractor derived, unless the record already
/// carries one of that name: the SDK's own value wins.
fn keep_attribute(attributes: &mut Attributes, name: &str, value: String) {
    attributes.entry(name.to_string()).or_insert(serde_json::Value::String(value));
}

/// A string body as is; a structured body (a map from a structured logger)
/// as compact JSON, cut to the string limit.
fn body_text(body: Option<&AnyValue>, limits: &Limits) -> Option<String> {
    match body.and_then(|b| b.value.as_ref()) {
        None => None,
        Some(Otlp::StringValue(text)) => non_empty(limits.truncate(text)),
        Some(_) => {
            let json = any_to_json(body, limits.max_string_len);
            let text = serde_json::to_string(&json).ok()?;
            non_empty(limits.truncate(&text))
        }
    }
}

#[cfg(test)]
mod tests;
