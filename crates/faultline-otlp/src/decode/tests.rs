#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::*;
use crate::{extract_logs, extract_traces, ExportLogsServiceRequest, ExportTraceServiceRequest, Limits};
use crate::{ExportMetricsServiceRequest, ExportTracePartialSuccess, ExportTraceServiceResponse};
use faultline_model::EventSource;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Otlp;
use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
use prost::Message as _;

fn traces_json(body: &str) -> Result<ExportTraceServiceRequest, DecodeError> {
    decode(body.as_bytes(), Format::Json)
}

fn error_text(body: &str) -> String {
    traces_json(body).unwrap_err().to_string()
}

fn only_span(req: &ExportTraceServiceRequest) -> &opentelemetry_proto::tonic::trace::v1::Span {
    &req.resource_spans[0].scope_spans[0].spans[0]
}

/// What the OpenTelemetry Collector's otlphttp exporter sends with
/// `encoding: json`: 64-bit ints as strings, enums as ints, hex ids.
const COLLECTOR_JSON: &str = r#"{"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"checkout"}},
  {"key":"telemetry.sdk.language","value":{"stringValue":"python"}}]},
 "scopeSpans":[{"scope":{"name":"opentelemetry.instrumentation.flask","version":"0.48b0"},
  "spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
   "parentSpanId":"","flags":257,"name":"GET /users/<id>","kind":2,
   "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000",
   "attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}},
    {"key":"http.route","value":{"stringValue":"/users/<id>"}},
    {"key":"http.response.status_code","value":{"intValue":"500"}}],
   "events":[{"timeUnixNano":"1700000000500000000","name":"exception","attributes":[
    {"key":"exception.type","value":{"stringValue":"KeyError"}},
    {"key":"exception.message","value":{"stringValue":"'id'"}},
    {"key":"exception.stacktrace","value":{"stringValue":"Traceback (most recent call last):"}},
    {"key":"exception.escaped","value":{"stringValue":"False"}}]}],
   "status":{"code":2,"message":"KeyError: 'id'"}}]}]}]}"#;

/// What opentelemetry-js's JSON exporter sends: ints as JSON numbers,
/// `droppedAttributesCount` everywhere, a `status` with code 0.
const NODE_JSON: &str = r#"{"resourceSpans":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"api"}},
  {"key":"process.pid","value":{"intValue":4242}}],"droppedAttributesCount":0},
 "scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-fs"},"spans":[
  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"fs readFile","kind":1,
   "startTimeUnixNano":1700000000000000000,"endTimeUnixNano":1700000001000000000,
   "attributes":[],"droppedAttributesCount":0,"droppedEventsCount":0,"droppedLinksCount":0,
   "events":[{"attributes":[{"key":"exception.type","value":{"stringValue":"ENOENT"}},
     {"key":"exception.message","value":{"stringValue":"ENOENT: no such file or directory"}}],
     "name":"exception","timeUnixNano":1700000000100000000,"droppedAttributesCount":0}],
   "status":{"code":0},"links":[]}]}]}]}"#;

#[test]
fn empty_body_is_an_empty_request_in_both_formats() {
    for format in [Format::Protobuf, Format::Json] {
        let req: ExportTraceServiceRequest = decode(b"", format).unwrap();
        assert_eq!(req, ExportTraceServiceRequest::default());
    }
    assert_eq!(traces_json(" \n").unwrap(), ExportTraceServiceRequest::default());
}

#[test]
fn empty_objects_and_lists_are_valid() {
    assert_eq!(traces_json("{}").unwrap(), ExportTraceServiceRequest::default());
    assert_eq!(traces_json(r#"{"resourceSpans": []}"#).unwrap(), ExportTraceServiceRequest::default());
    assert_eq!(traces_json(r#"{"resourceSpans": null}"#).unwrap(), ExportTraceServiceRequest::default());
    let req = traces_json(r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{}]}]}]}"#).unwrap();
    assert_eq!(only_span(&req).name, "");
}

#[test]
fn collector_json_decodes_and_extracts() {
    let req = traces_json(COLLECTOR_JSON).unwrap();
    let span = only_span(&req);
    assert_eq!(span.kind, 2);
    assert_eq!(span.status.as_ref().unwrap().code, 2);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.flags, 257);
    let extraction = extract_traces(&req, &Limits::default(), RECEIVED_AT);
    let event = &extraction.events[0];
    assert_eq!(extraction.events.len(), 1);
    assert_eq!(event.source, EventSource::SpanException);
    assert_eq!(event.exception_type.as_deref(), Some("KeyError"));
    assert_eq!(event.escaped, Some(false));
    assert_eq!(event.http_status, Some(500));
    assert_eq!(event.trace_id, "5b8efff798038103d269b633813fc60c");
    assert_eq!(event.timestamp, 1_700_000_000_500_000_000);
    assert_eq!(event.service, "checkout");
}

#[test]
fn node_json_with_numeric_ints_decodes_and_extracts() {
    let req = traces_json(NODE_JSON).unwrap();
    assert_eq!(only_span(&req).end_time_unix_nano, 1_700_000_001_000_000_000);
    let extraction = extract_traces(&req, &Limits::default(), RECEIVED_AT);
    assert_eq!(extraction.events[0].exception_type.as_deref(), Some("ENOENT"));
    assert_eq!(extraction.events[0].resource["process.pid"], serde_json::json!(4242));
}

#[test]
fn int_values_as_number_string_or_integral_float() {
    for raw in [r#"42"#, r#""42""#, r#"42.0"#, r#"" 42""#] {
        let body = format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"n","value":{{"intValue":{raw}}}}}]}}}}]}}"#
        );
        let req = traces_json(&body).unwrap();
        let value = &req.resource_spans[0].resource.as_ref().unwrap().attributes[0].value;
        assert_eq!(value.as_ref().unwrap().value, Some(Otlp::IntValue(42)), "{raw}");
    }
}

#[test]
fn enums_and_32_bit_ints_as_strings_or_names() {
    let req = traces_json(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SERVER",
            "status":{"code":"2"},"droppedAttributesCount":"3"}]}]}]}"#,
    )
    .unwrap();
    let span = only_span(&req);
    assert_eq!((span.kind, span.status.as_ref().unwrap().code, span.dropped_attributes_count), (2, 2, 3));
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let req = traces_json(
        r#"{"future":1,"resourceSpans":[{"x":{},"resource":{"attributes":[],"y":[1]},
            "scopeSpans":[{"z":"z","spans":[{"name":"n","newField":{"a":1},
            "attributes":[{"key":"k","value":{"stringValue":"v","someNewValueKind":1},"extra":true}]}]}]}]}"#,
    )
    .unwrap();
    let span = only_span(&req);
    assert_eq!(span.name, "n");
    assert_eq!(span.attributes[0].value.as_ref().unwrap().value, Some(Otlp::StringValue("v".into())));
}

#[test]
fn uppercase_ids_are_accepted() {
    let req = traces_json(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C"}]}]}]}"#,
    )
    .unwrap();
    assert_eq!(only_span(&req).trace_id, TRACE_ID.to_vec());
}

#[test]
fn every_any_value_kind_survives_json_quirks() {
    let req = traces_json(
        r#"{"resourceSpans":[{"resource":{"attributes":[
            {"key":"empty_array","value":{"arrayValue":{}}},
            {"key":"empty_map","value":{"kvlistValue":{}}},
            {"key":"nan","value":{"doubleValue":"NaN"}},
            {"key":"unpadded","value":{"bytesValue":"aGk"}},
            {"key":"null_value","value":null},
            {"value":{"boolValue":true}}]}}]}"#,
    )
    .unwrap();
    let attrs = &req.resource_spans[0].resource.as_ref().unwrap().attributes;
    let values: Vec<_> = attrs.iter().map(|kv| kv.value.as_ref().and_then(|v| v.value.clone())).collect();
    assert_eq!(
        values,
        vec![
            Some(Otlp::ArrayValue(ArrayValue::default())),
            Some(Otlp::KvlistValue(KeyValueList::default())),
            Some(Otlp::StringValue("NaN".into())),
            Some(Otlp::BytesValue(b"hi".to_vec())),
            None,
            Some(Otlp::BoolValue(true)),
        ]
    );
    assert_eq!(attrs[5].key, "");
}

#[test]
fn json_round_trips_through_encode() {
    let mut span = span("round trip");
    span.attributes = vec![
        s("s", "text"),
        i("i", -5),
        kv("d", Otlp::DoubleValue(2.5)),
        b("b", true),
        kv("bytes", Otlp::BytesValue(vec![0, 255])),
        kv("arr", Otlp::ArrayValue(ArrayValue { values: vec![] })),
        kv("map", Otlp::KvlistValue(KeyValueList { values: vec![i("inner", 1)] })),
    ];
    span.status = error_status("boom");
    let req = traces(vec![span]);
    for format in [Format::Protobuf, Format::Json] {
        let back: ExportTraceServiceRequest = decode(&encode(&req, format), format).unwrap();
        assert_eq!(back, req, "{format:?}");
    }
}

#[test]
fn logs_json_decodes_with_severity_and_structured_body() {
    let body = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}}]},
        "scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":"1700000002000000000","observedTimeUnixNano":"1700000003000000000",
        "severityNumber":17,"severityText":"ERROR","body":{"kvlistValue":{"values":[{"key":"msg","value":{"stringValue":"db down"}}]}},
        "attributes":[],"traceId":"","spanId":""}]}]}]}"#;
    let req: ExportLogsServiceRequest = decode(body.as_bytes(), Format::Json).unwrap();
    let extraction = extract_logs(&req, &Limits::default(), RECEIVED_AT);
    let event = &extraction.events[0];
    assert_eq!(event.message.as_deref(), Some(r#"{"msg":"db down"}"#));
    assert_eq!(event.trace_id, "");
    assert_eq!(event.service, "billing");
}

#[test]
fn metrics_json_decodes() {
    let body = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
        {"name":"requests","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
          {"asInt":"7","startTimeUnixNano":"1","timeUnixNano":"2","attributes":[]}]}},
        {"name":"latency","histogram":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","dataPoints":[
          {"count":"3","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[1.0],"timeUnixNano":2}]}}]}]}]}"#;
    let req: ExportMetricsServiceRequest = decode(body.as_bytes(), Format::Json).unwrap();
    assert_eq!(req.resource_metrics[0].scope_metrics[0].metrics.len(), 2);
}

#[test]
fn malformed_json_is_a_syntax_error_with_position() {
    let message = error_text(r#"{"resourceSpans": [}"#);
    assert!(message.starts_with("invalid JSON: "), "{message}");
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn non_object_json_is_rejected() {
    assert_eq!(error_text("[]"), "invalid OTLP/JSON: the body must be a JSON object, found an array");
    assert_eq!(error_text("null"), "invalid OTLP/JSON: the body must be a JSON object, found null");
}

#[test]
fn wrong_types_name_the_field() {
    assert_eq!(
        error_text(r#"{"resourceSpans":[{"scopeSpans":[{"spans":"none"}]}]}"#),
        "invalid OTLP/JSON at resourceSpans[0].scopeSpans[0].spans: invalid type: string \"none\", expected a sequence"
    );
    let message = error_text(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]}"#);
    assert!(
        message.starts_with("invalid OTLP/JSON at resourceSpans[0].scopeSpans[0].spans[0].name: "),
        "{message}"
    );
}

#[test]
fn invalid_ids_name_the_field() {
    assert_eq!(
        error_text(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex"}]}]}]}"#),
        "invalid OTLP/JSON at resourceSpans[0].scopeSpans[0].spans[0].traceId: invalid hex character 'n' at position 0 (ids are plain hex, without 0x)"
    );
    assert_eq!(
        error_text(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abcd"}]}]}]}"#),
        "invalid OTLP/JSON at resourceSpans[0].scopeSpans[0].spans[0].spanId: expected 16 hex digits (8 bytes), found 4"
    );
}

#[test]
fn bad_int_value_names_the_field() {
    assert_eq!(
        error_text(r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"n","value":{"intValue":"4x"}}]}}]}"#),
        "invalid OTLP/JSON at resourceSpans[0].resource.attributes[0].value.intValue: expected a signed 64-bit integer (a number or a decimal string), found \"4x\""
    );
}

#[test]
fn invalid_utf8_in_json_is_an_error() {
    let err = decode::<ExportTraceServiceRequest>(b"{\"a\": \"\xff\"}", Format::Json).unwrap_err();
    assert!(matches!(err, DecodeError::Json(_)), "{err}");
}

#[test]
fn invalid_utf8_in_protobuf_strings_is_an_error() {
    let mut span = span("PLACEHOLDER");
    span.status = error_status("");
    let mut bytes = traces(vec![span]).encode_to_vec();
    let at = bytes.windows(11).position(|w| w == b"PLACEHOLDER").unwrap();
    bytes[at] = 0xff;
    let message = decode::<ExportTraceServiceRequest>(&bytes, Format::Protobuf).unwrap_err().to_string();
    assert!(message.starts_with("invalid OTLP protobuf: "), "{message}");
    assert!(message.contains("UTF-8"), "{message}");
    assert!(message.contains("Span.name"), "{message}");
}

#[test]
fn truncated_or_garbage_protobuf_is_an_error() {
    let bytes = traces(vec![span("x")]).encode_to_vec();
    assert!(decode::<ExportTraceServiceRequest>(&bytes[..bytes.len() - 3], Format::Protobuf).is_err());
    assert!(decode::<ExportTraceServiceRequest>(&[0xff, 0xff, 0xff], Format::Protobuf).is_err());
}

#[test]
fn response_json_omits_absent_partial_success() {
    let empty = encode(&ExportTraceServiceResponse::default(), Format::Json);
    assert_eq!(empty, b"{}");
    let partial = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "too big".into(),
        }),
    };
    let json = String::from_utf8(encode(&partial, Format::Json)).unwrap();
    assert_eq!(json, r#"{"partialSuccess":{"errorMessage":"too big","rejectedSpans":2}}"#);
}

#[test]
fn content_types_map_to_formats() {
    assert_eq!(Format::from_content_type("application/json"), Some(Format::Json));
    assert_eq!(Format::from_content_type("application/json; charset=utf-8"), Some(Format::Json));
    assert_eq!(Format::from_content_type("Application/X-Protobuf"), Some(Format::Protobuf));
    assert_eq!(Format::from_content_type("application/protobuf"), Some(Format::Protobuf));
    assert_eq!(Format::from_content_type("text/plain"), None);
    assert_eq!(Format::Json.content_type(), "application/json");
}
