//! Property tests: no input, however broken, makes decoding or extraction panic.

#![allow(clippy::unwrap_used)]

use faultline_otlp::decode::{decode, encode, Format};
use faultline_otlp::opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use faultline_otlp::opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use faultline_otlp::opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use faultline_otlp::{
    extract_logs, extract_traces, truncate, ExportLogsServiceRequest, ExportTraceServiceRequest, Limits,
    TRUNCATION_MARKER,
};
use proptest::prelude::*;

fn kv(key: String, value: String) -> KeyValue {
    KeyValue { key, value: Some(AnyValue { value: Some(Value::StringValue(value)) }), ..Default::default() }
}

fn arb_attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    let keys = prop::sample::select(vec![
        "exception.type",
        "exception.message",
        "exception.stacktrace",
        "exception.escaped",
        "http.response.status_code",
        "http.status_code",
        "http.route",
        "http.method",
        "error.type",
        "other",
    ]);
    prop::collection::vec((keys, ".{0,12}"), 0..6)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| kv(k.to_owned(), v)).collect())
}

/// Trace and span ids, absent or of their valid length: OTLP/JSON cannot
/// carry other lengths (decode rejects them), and the round trip below needs it.
fn arb_ids() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        Just((Vec::new(), Vec::new())),
        (prop::collection::vec(any::<u8>(), 16), prop::collection::vec(any::<u8>(), 8)),
    ]
}

fn arb_span() -> impl Strategy<Value = Span> {
    (
        arb_ids(),
        0..6i32,
        0..4i32,
        any::<u64>(),
        arb_attrs(),
        prop::collection::vec(("exception|other", any::<u64>(), arb_attrs()), 0..4),
    )
        .prop_map(|((trace_id, span_id), kind, code, end, attributes, events)| Span {
            trace_id,
            span_id,
            kind,
            end_time_unix_nano: end,
            attributes,
            events: events
                .into_iter()
                .map(|(name, time_unix_nano, attributes)| span::Event {
                    name,
                    time_unix_nano,
                    attributes,
                    ..Default::default()
                })
                .collect(),
            status: Some(Status { code, message: "m".into() }),
            ..Default::default()
        })
}

fn arb_limits() -> impl Strategy<Value = Limits> {
    (0..8usize, 0..16usize, 0..4usize).prop_map(|(max_attributes, max_string_len, max_span_events)| Limits {
        max_attributes,
        max_string_len,
        max_span_events,
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<ExportTraceServiceRequest>(&body, Format::Protobuf);
        let _ = decode::<ExportTraceServiceRequest>(&body, Format::Json);
        let _ = decode::<ExportLogsServiceRequest>(&body, Format::Protobuf);
        let _ = decode::<ExportLogsServiceRequest>(&body, Format::Json);
    }

    #[test]
    fn arbitrary_json_text_never_panics(body in r#"\{("[a-zA-Z]{1,12}":[^{}]{0,20},?){0,4}\}"#) {
        let _ = decode::<ExportTraceServiceRequest>(body.as_bytes(), Format::Json);
    }

    #[test]
    fn arbitrary_spans_and_limits_never_panic(spans in prop::collection::vec(arb_span(), 0..6), limits in arb_limits()) {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
                ..Default::default()
            }],
        };
        let extraction = extract_traces(&req, &limits, 1);
        prop_assert_eq!(extraction.items, req.resource_spans[0].scope_spans[0].spans.len() as u64);
        prop_assert_eq!(extraction.rejected == 0, extraction.error_message.is_empty());
        // and the same survives both wire formats
        for format in [Format::Protobuf, Format::Json] {
            let back: ExportTraceServiceRequest = decode(&encode(&req, format), format).unwrap();
            prop_assert_eq!(extract_traces(&back, &limits, 1), extraction.clone());
        }
    }

    #[test]
    fn arbitrary_logs_never_panic(
        records in prop::collection::vec((any::<i32>(), ".{0,6}", arb_attrs(), any::<u64>()), 0..6),
        limits in arb_limits(),
    ) {
        let log_records = records
            .into_iter()
            .map(|(severity_number, severity_text, attributes, time_unix_nano)| LogRecord {
                severity_number,
                severity_text,
                attributes,
                time_unix_nano,
                ..Default::default()
            })
            .collect();
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
                ..Default::default()
            }],
        };
        let extraction = extract_logs(&req, &limits, 1);
        prop_assert_eq!(extraction.rejected == 0, extraction.error_message.is_empty());
    }

    #[test]
    fn truncation_keeps_a_char_aligned_prefix(text in ".{0,40}", max in 0..60usize) {
        let out = truncate(&text, max);
        if text.len() <= max {
            prop_assert_eq!(out, text);
        } else {
            let kept = out.strip_suffix(TRUNCATION_MARKER).unwrap();
            prop_assert!(kept.len() <= max);
            prop_assert!(text.starts_with(kept));
            prop_assert!(max - kept.len() < 4, "backs off at most one char");
        }
    }
}
