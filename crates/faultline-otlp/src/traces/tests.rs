#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::*;
use crate::TRUNCATION_MARKER;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use serde_json::json;

fn extract(spans: Vec<Span>) -> Extraction {
    extract_traces(&traces(spans), &Limits::default(), RECEIVED_AT)
}

fn only_event(spans: Vec<Span>) -> faultline_model::ErrorEvent {
    let mut extraction = extract(spans);
    assert_eq!(extraction.events.len(), 1, "{:#?}", extraction.events);
    extraction.events.remove(0)
}

fn server_span(attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>) -> Span {
    Span { kind: SpanKind::Server as i32, attributes, ..span("GET /users/{id}") }
}

#[test]
fn exception_event_becomes_a_span_exception() {
    let mut failing = span("parse order");
    failing.attributes = vec![s("order.id", "o-1"), s("http.route", "/orders")];
    failing.events = vec![exception_event(
        1_700_000_000_500_000_000,
        vec![
            s("exception.type", "ValueError"),
            s("exception.message", "invalid literal for int()"),
            s("exception.stacktrace", "Traceback (most recent call last):\n  ..."),
            b("exception.escaped", true),
        ],
    )];
    let event = only_event(vec![failing]);
    assert_eq!(event.source, EventSource::SpanException);
    assert_eq!(event.timestamp, 1_700_000_000_500_000_000);
    assert_eq!(event.received_at, RECEIVED_AT);
    assert_eq!(event.level, "error");
    assert_eq!(event.exception_type.as_deref(), Some("ValueError"));
    assert_eq!(event.message.as_deref(), Some("invalid literal for int()"));
    assert!(event.stacktrace.as_deref().unwrap().starts_with("Traceback"));
    assert_eq!(event.escaped, Some(true));
    assert_eq!(event.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(event.span_id, "eee19b7ec3c1b174");
    assert_eq!(event.span_name.as_deref(), Some("parse order"));
    assert_eq!(event.http_route.as_deref(), Some("/orders"));
    assert_eq!(event.service, "checkout");
    assert_eq!(event.service_version.as_deref(), Some("2.1.0"));
    assert_eq!(event.environment.as_deref(), Some("production"));
    assert_eq!(event.host.as_deref(), Some("web-7"));
    assert_eq!(event.sdk_language.as_deref(), Some("python"));
    // span attributes merged with the event's
    assert_eq!(event.attributes["order.id"], json!("o-1"));
    assert_eq!(event.attributes["exception.type"], json!("ValueError"));
    assert_eq!(event.attributes.len(), 6);
    assert_eq!(event.resource["service.name"], json!("checkout"));
    assert_eq!((event.seq, event.group_id), (0, 0));
}

#[test]
fn every_exception_event_is_extracted_and_status_adds_nothing() {
    let mut failing = span("retry");
    failing.status = error_status("gave up");
    failing.events = vec![
        exception_event(1, vec![s("exception.type", "Timeout")]),
        Event { name: "retry".into(), ..Default::default() },
        exception_event(2, vec![s("exception.type", "ConnectionReset")]),
    ];
    let extraction = extract(vec![failing]);
    let types: Vec<_> = extraction.events.iter().map(|e| e.exception_type.clone().unwrap()).collect();
    assert_eq!(types, ["Timeout", "ConnectionReset"]);
    assert!(extraction.events.iter().all(|e| e.source == EventSource::SpanException));
}

#[test]
fn event_attributes_override_span_attributes_with_the_same_key() {
    let mut failing = span("x");
    failing.attributes = vec![s("exception.message", "from span")];
    failing.events = vec![exception_event(1, vec![s("exception.message", "from event")])];
    assert_eq!(only_event(vec![failing]).message.as_deref(), Some("from event"));
}

#[test]
fn error_status_without_exception_becomes_a_span_status() {
    let mut failing = span("charge card");
    failing.status = error_status("card declined");
    let event = only_event(vec![failing]);
    assert_eq!(event.source, EventSource::SpanStatus);
    assert_eq!(event.message.as_deref(), Some("card declined"));
    assert_eq!(event.exception_type, None);
    assert_eq!(event.timestamp, 1_700_000_001_000_000_000, "span end time");
    assert_eq!(event.level, "error");
}

#[test]
fn span_status_takes_its_type_from_exception_type_or_error_type() {
    let mut with_error_type = span("a");
    with_error_type.status = error_status("");
    with_error_type.attributes = vec![s("error.type", "timeout")];
    let event = only_event(vec![with_error_type]);
    assert_eq!(event.exception_type.as_deref(), Some("timeout"));
    assert_eq!(event.message, None, "empty status message means none");

    let mut with_both = span("b");
    with_both.status = error_status("boom");
    with_both.attributes = vec![s("error.type", "500"), s("exception.type", "KeyError")];
    assert_eq!(only_event(vec![with_both]).exception_type.as_deref(), Some("KeyError"));
}

#[test]
fn server_span_with_5xx_becomes_an_http_server_error() {
    let event = only_event(vec![server_span(vec![
        s("http.route", "/users/{id}"),
        s("http.request.method", "GET"),
        i("http.response.status_code", 503),
    ])]);
    assert_eq!(event.source, EventSource::HttpServerError);
    assert_eq!(event.exception_type.as_deref(), Some("HTTP 503"));
    assert_eq!(event.message.as_deref(), Some("GET /users/{id} returned 503"));
    assert_eq!(event.http_route.as_deref(), Some("/users/{id}"));
    assert_eq!(event.http_method.as_deref(), Some("GET"));
    assert_eq!(event.http_status, Some(503));
}

#[test]
fn old_http_semconv_and_string_status_are_understood() {
    let event = only_event(vec![server_span(vec![
        s("http.route", "/pay"),
        s("http.method", "POST"),
        s("http.status_code", "500"),
    ])]);
    assert_eq!(event.source, EventSource::HttpServerError);
    assert_eq!(event.http_method.as_deref(), Some("POST"));
    assert_eq!(event.http_status, Some(500));
    assert_eq!(event.message.as_deref(), Some("POST /pay returned 500"));
}

#[test]
fn http_message_falls_back_to_the_span_name_without_repeating_the_method() {
    let event = only_event(vec![server_span(vec![
        s("http.request.method", "GET"),
        i("http.response.status_code", 502),
    ])]);
    assert_eq!(event.message.as_deref(), Some("GET /users/{id} returned 502"));
    let anonymous = Span { name: String::new(), ..server_span(vec![i("http.status_code", 500)]) };
    assert_eq!(only_event(vec![anonymous]).message.as_deref(), Some("request returned 500"));
}

#[test]
fn only_server_spans_with_5xx_are_http_errors() {
    let client =
        Span { kind: SpanKind::Client as i32, ..server_span(vec![i("http.response.status_code", 503)]) };
    let not_found = server_span(vec![i("http.response.status_code", 404)]);
    let ok = server_span(vec![i("http.response.status_code", 200)]);
    let garbage = server_span(vec![s("http.response.status_code", "five hundred")]);
    let extraction = extract(vec![client, not_found, ok, garbage, span("healthy")]);
    assert!(extraction.events.is_empty());
    assert_eq!(extraction.items, 5);
    assert_eq!(extraction.rejected, 0);
    assert_eq!(extraction.error_message, "");
}

#[test]
fn error_status_wins_over_http_status_but_keeps_the_http_fields() {
    let mut failing = server_span(vec![s("http.route", "/a"), i("http.response.status_code", 500)]);
    failing.status = error_status("handler failed");
    let event = only_event(vec![failing]);
    assert_eq!(event.source, EventSource::SpanStatus);
    assert_eq!(event.message.as_deref(), Some("handler failed"));
    assert_eq!(event.http_status, Some(500));
    assert_eq!(event.http_route.as_deref(), Some("/a"));
}

#[test]
fn python_sends_escaped_as_a_string() {
    for (text, expected) in [("True", true), ("False", false), ("true", true)] {
        let mut failing = span("x");
        failing.events =
            vec![exception_event(1, vec![s("exception.type", "E"), s("exception.escaped", text)])];
        assert_eq!(only_event(vec![failing]).escaped, Some(expected), "{text}");
    }
}

#[test]
fn node_error_codes_in_exception_type_are_kept_as_given() {
    let mut failing = span("fs.readFile");
    failing.events = vec![exception_event(
        1,
        vec![s("exception.type", "ENOENT"), s("exception.message", "no such file or directory, open 'x'")],
    )];
    assert_eq!(only_event(vec![failing]).exception_type.as_deref(), Some("ENOENT"));
}

#[test]
fn rust_sdk_sends_only_a_message() {
    let mut failing = span("handle");
    failing.events = vec![exception_event(1, vec![s("exception.message", "connection refused")])];
    let event = only_event(vec![failing]);
    assert_eq!(event.message.as_deref(), Some("connection refused"));
    assert_eq!((event.exception_type, event.stacktrace, event.escaped), (None, None, None));
}

#[test]
fn timestamps_fall_back_to_span_end_then_receive_time() {
    let mut no_event_time = span("a");
    no_event_time.events = vec![exception_event(0, vec![])];
    assert_eq!(only_event(vec![no_event_time]).timestamp, 1_700_000_001_000_000_000);

    let mut no_time = span("b");
    no_time.start_time_unix_nano = 0;
    no_time.end_time_unix_nano = 0;
    no_time.events = vec![exception_event(0, vec![])];
    assert_eq!(only_event(vec![no_time]).timestamp, RECEIVED_AT);
}

#[test]
fn zero_ids_are_empty_strings() {
    let mut failing = span("x");
    failing.trace_id = vec![0; 16];
    failing.span_id = Vec::new();
    failing.status = error_status("e");
    let event = only_event(vec![failing]);
    assert_eq!((event.trace_id.as_str(), event.span_id.as_str()), ("", ""));
}

#[test]
fn missing_resource_means_unknown_service() {
    let mut request = traces(vec![Span { status: error_status("e"), ..span("x") }]);
    request.resource_spans[0].resource = None;
    let extraction = extract_traces(&request, &Limits::default(), RECEIVED_AT);
    assert_eq!(extraction.events[0].service, "unknown_service");
    assert!(extraction.events[0].resource.is_empty());
}

#[test]
fn all_attribute_types_are_kept() {
    let mut failing = span("x");
    failing.status = error_status("e");
    failing.attributes = vec![
        i("retries", 3),
        kv("ratio", Value::DoubleValue(0.5)),
        b("cached", false),
        kv("raw", Value::BytesValue(vec![0xff])),
    ];
    let event = only_event(vec![failing]);
    assert_eq!(event.attributes["retries"], json!(3));
    assert_eq!(event.attributes["ratio"], json!(0.5));
    assert_eq!(event.attributes["cached"], json!(false));
    assert_eq!(event.attributes["raw"], json!("/w=="));
}

#[test]
fn span_over_the_attribute_limit_is_rejected_counting_event_attributes() {
    let limits = Limits { max_attributes: 4, ..Limits::default() };
    let mut big = span("big one");
    big.status = error_status("e");
    big.attributes = vec![s("a", "1"), s("b", "2"), s("c", "3")];
    big.events = vec![exception_event(1, vec![s("exception.type", "E"), s("exception.message", "m")])];
    let mut fine = span("fine");
    fine.status = error_status("e");
    fine.attributes = vec![s("a", "1"), s("b", "2"), s("c", "3"), s("d", "4")];
    let extraction = extract_traces(&traces(vec![big, fine]), &limits, RECEIVED_AT);
    assert_eq!(extraction.items, 2);
    assert_eq!(extraction.rejected, 1);
    assert_eq!(extraction.error_message, "1 span rejected: span 'big one' has 5 attributes, the limit is 4");
    assert_eq!(extraction.events.len(), 1);
    assert_eq!(extraction.events[0].span_name.as_deref(), Some("fine"));
}

#[test]
fn span_over_the_event_limit_is_rejected_even_when_healthy() {
    let limits = Limits { max_span_events: 2, ..Limits::default() };
    let noisy = Span { events: vec![Event::default(); 3], ..span("noisy") };
    let also = Span { events: vec![Event::default(); 9], ..span("also") };
    let extraction = extract_traces(&traces(vec![noisy, also]), &limits, RECEIVED_AT);
    assert_eq!(extraction.rejected, 2);
    assert_eq!(
        extraction.error_message,
        "2 spans rejected: span 'noisy' has 3 events, the limit is 2; span 'also' has 9 events, the limit is 2"
    );
    assert!(extraction.events.is_empty());
}

#[test]
fn long_strings_are_truncated_on_char_boundaries_not_rejected() {
    let limits = Limits { max_string_len: 10, ..Limits::default() };
    let mut failing = span("naïve-span-name");
    failing.attributes = vec![s("note", "ééééééé")];
    failing.events = vec![exception_event(
        1,
        vec![s("exception.message", "€€€€€€"), s("exception.stacktrace", "line 1\nline 2\n")],
    )];
    let extraction = extract_traces(&traces(vec![failing]), &limits, RECEIVED_AT);
    assert_eq!(extraction.rejected, 0);
    let event = &extraction.events[0];
    assert_eq!(event.message.as_deref(), Some(format!("€€€{TRUNCATION_MARKER}").as_str()));
    assert_eq!(event.attributes["note"], json!(format!("ééééé{TRUNCATION_MARKER}")));
    assert_eq!(event.stacktrace.as_deref(), Some(format!("line 1\nlin{TRUNCATION_MARKER}").as_str()));
    assert_eq!(event.span_name.as_deref(), Some(format!("naïve-spa{TRUNCATION_MARKER}").as_str()));
}

#[test]
fn empty_request_yields_nothing() {
    let extraction = extract_traces(&ExportTraceServiceRequest::default(), &Limits::default(), RECEIVED_AT);
    assert_eq!(extraction, Extraction::default());
}

#[test]
fn items_count_every_span_across_resources_and_scopes() {
    let mut request = traces(vec![span("a"), span("b")]);
    request.resource_spans.push(request.resource_spans[0].clone());
    request.resource_spans[1].scope_spans.push(Default::default());
    assert_eq!(extract_traces(&request, &Limits::default(), RECEIVED_AT).items, 4);
}
