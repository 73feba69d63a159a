#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::*;
use crate::TRUNCATION_MARKER;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValueList};
use serde_json::json;

fn extract(records: Vec<LogRecord>) -> Extraction {
    extract_logs(&logs(records), &Limits::default(), RECEIVED_AT)
}

fn only_event(records: Vec<LogRecord>) -> faultline_model::ErrorEvent {
    let mut extraction = extract(records);
    assert_eq!(extraction.events.len(), 1, "{:#?}", extraction.events);
    extraction.events.remove(0)
}

fn text(body: &str) -> Option<Otlp> {
    Some(Otlp::StringValue(body.into()))
}

#[test]
fn error_log_becomes_a_log_event() {
    let mut rec = record(17, "ERROR", text("payment failed for order 42"));
    rec.attributes = vec![s("order.id", "42")];
    let event = only_event(vec![rec]);
    assert_eq!(event.source, EventSource::Log);
    assert_eq!(event.level, "error");
    assert_eq!(event.message.as_deref(), Some("payment failed for order 42"));
    assert_eq!(event.exception_type, None);
    assert_eq!(event.timestamp, 1_700_000_002_000_000_000);
    assert_eq!(event.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(event.span_id, "eee19b7ec3c1b174");
    assert_eq!(event.span_name, None);
    assert_eq!(event.service, "checkout");
    assert_eq!(
        event.attributes,
        [("order.id".to_string(), json!("42")), (crate::LOG_SEVERITY_TEXT.to_string(), json!("ERROR"))]
            .into_iter()
            .collect()
    );
    assert_eq!(event.resource["host.name"], json!("web-7"));
}

#[test]
fn logs_below_error_without_exception_are_skipped() {
    let extraction = extract(vec![
        record(9, "INFO", text("ok")),
        record(13, "WARN", text("slow")),
        record(16, "WARN4", text("slower")),
        record(0, "", text("unspecified")),
    ]);
    assert!(extraction.events.is_empty());
    assert_eq!(extraction.items, 4);
}

#[test]
fn level_comes_from_the_severity_number_in_one_vocabulary() {
    assert_eq!(only_event(vec![record(17, "SEVERE", None)]).level, "error");
    assert_eq!(only_event(vec![record(18, "", None)]).level, "error");
    assert_eq!(only_event(vec![record(21, "", None)]).level, "fatal");
    assert_eq!(only_event(vec![record(24, "CRITICAL", None)]).level, "fatal");
}

#[test]
fn a_severity_text_other_than_the_level_is_kept_as_an_attribute() {
    let severe = only_event(vec![record(17, "SEVERE", None)]);
    assert_eq!(severe.attributes.get(crate::LOG_SEVERITY_TEXT), Some(&json!("SEVERE")));
    let same = only_event(vec![record(17, "error", None)]);
    assert_eq!(same.attributes.get(crate::LOG_SEVERITY_TEXT), None, "nothing to keep");
    let unset = only_event(vec![record(17, "", None)]);
    assert_eq!(unset.attributes.get(crate::LOG_SEVERITY_TEXT), None);
    let mut own = record(17, "ERROR", None);
    own.attributes = vec![s(crate::LOG_SEVERITY_TEXT, "from the app")];
    assert_eq!(only_event(vec![own]).attributes[crate::LOG_SEVERITY_TEXT], json!("from the app"));
}

#[test]
fn the_scope_name_is_kept_as_the_logger_name() {
    let mut request = logs(vec![record(17, "ERROR", text("x"))]);
    request.resource_logs[0].scope_logs[0].scope =
        Some(InstrumentationScope { name: "shop.payments".into(), ..Default::default() });
    let extraction = extract_logs(&request, &Limits::default(), RECEIVED_AT);
    assert_eq!(extraction.events[0].attribute_str(crate::SCOPE_NAME), Some("shop.payments"));
    assert_eq!(only_event(vec![record(17, "ERROR", None)]).attributes.get(crate::SCOPE_NAME), None);
}

#[test]
fn exception_attributes_make_any_log_an_error_event() {
    let mut rec = record(13, "", text("retrying after error"));
    rec.attributes = vec![
        s("exception.type", "ConnectionError"),
        s("exception.message", "connection reset by peer"),
        s("exception.stacktrace", "Traceback ..."),
        s("exception.escaped", "False"),
    ];
    let event = only_event(vec![rec]);
    assert_eq!(event.level, "warning");
    assert_eq!(event.exception_type.as_deref(), Some("ConnectionError"));
    assert_eq!(
        event.message.as_deref(),
        Some("connection reset by peer"),
        "exception.message wins over the body"
    );
    assert_eq!(event.stacktrace.as_deref(), Some("Traceback ..."));
    assert_eq!(event.escaped, Some(false));
    assert_eq!(
        event.attributes.get(crate::LOG_BODY).and_then(|v| v.as_str()),
        Some("retrying after error"),
        "the log line is kept beside the exception's message"
    );
}

#[test]
fn unset_severity_with_exception_reads_as_error() {
    let mut rec = record(0, "", None);
    rec.attributes = vec![s("exception.message", "boom")];
    assert_eq!(only_event(vec![rec]).level, "error");
}

#[test]
fn severity_text_alone_counts_when_the_number_is_unset() {
    assert_eq!(only_event(vec![record(0, "error", text("x"))]).level, "error");
    assert_eq!(only_event(vec![record(0, "SEVERE", text("x"))]).level, "error");
    assert_eq!(only_event(vec![record(0, "CRITICAL", text("x"))]).level, "fatal");
    assert!(extract(vec![record(0, "info", text("x"))]).events.is_empty());
}

#[test]
fn structured_body_becomes_json_text() {
    let body = Otlp::KvlistValue(KeyValueList { values: vec![s("event", "db down"), i("attempt", 3)] });
    let event = only_event(vec![record(17, "ERROR", Some(body))]);
    assert_eq!(event.message.as_deref(), Some(r#"{"attempt":3,"event":"db down"}"#));
}

#[test]
fn empty_body_means_no_message() {
    assert_eq!(only_event(vec![record(17, "ERROR", text(""))]).message, None);
    assert_eq!(only_event(vec![record(17, "ERROR", None)]).message, None);
}

#[test]
fn timestamp_falls_back_to_observed_then_receive_time() {
    let mut no_time = record(17, "", None);
    no_time.time_unix_nano = 0;
    assert_eq!(only_event(vec![no_time.clone()]).timestamp, 1_700_000_003_000_000_000);
    no_time.observed_time_unix_nano = 0;
    assert_eq!(only_event(vec![no_time]).timestamp, RECEIVED_AT);
}

#[test]
fn http_fields_are_read_from_log_attributes() {
    let mut rec = record(17, "ERROR", text("x"));
    rec.attributes =
        vec![s("http.method", "DELETE"), i("http.status_code", 500), s("http.route", "/items/{id}")];
    let event = only_event(vec![rec]);
    assert_eq!(event.http_method.as_deref(), Some("DELETE"));
    assert_eq!(event.http_status, Some(500));
    assert_eq!(event.http_route.as_deref(), Some("/items/{id}"));
}

#[test]
fn record_over_the_attribute_limit_is_rejected() {
    let limits = Limits { max_attributes: 2, ..Limits::default() };
    let mut big = record(9, "INFO", text("even info is rejected"));
    big.attributes = vec![s("a", "1"), s("b", "2"), s("c", "3")];
    let mut fine = record(17, "ERROR", text("kept"));
    fine.attributes = vec![s("a", "1"), s("b", "2")];
    let extraction = extract_logs(&logs(vec![fine, big]), &limits, RECEIVED_AT);
    assert_eq!(extraction.items, 2);
    assert_eq!(extraction.rejected, 1);
    assert_eq!(
        extraction.error_message,
        "1 log record rejected: log record resourceLogs[0].scopeLogs[0].logRecords[1] has 3 attributes, the limit is 2"
    );
    assert_eq!(extraction.events.len(), 1);
    assert_eq!(extraction.events[0].message.as_deref(), Some("kept"));
}

#[test]
fn long_bodies_are_truncated_on_char_boundaries() {
    let limits = Limits { max_string_len: 5, ..Limits::default() };
    let extraction =
        extract_logs(&logs(vec![record(17, "ERROR", text("日本語のエラー"))]), &limits, RECEIVED_AT);
    assert_eq!(extraction.events[0].message.as_deref(), Some(format!("日{TRUNCATION_MARKER}").as_str()));
}

#[test]
fn empty_request_yields_nothing() {
    let extraction = extract_logs(&ExportLogsServiceRequest::default(), &Limits::default(), RECEIVED_AT);
    assert_eq!(extraction, Extraction::default());
}
