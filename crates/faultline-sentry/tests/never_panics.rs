//! Network input never panics the parsers or the conversion: arbitrary
//! bytes, real envelopes cut or corrupted anywhere, and JSON of any shape
//! where a Sentry event is expected.
#![allow(clippy::unwrap_used)]

use faultline_sentry::{
    decompress, discarded, parse_envelope, parse_store, sentry_key, session_counts, streamed_span_samples,
    to_error_event, transaction_sample, Project,
};
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: [&[u8]; 6] = [
    include_bytes!("fixtures/python_chained.envelope"),
    include_bytes!("fixtures/python_fingerprint.envelope"),
    include_bytes!("fixtures/python_logging.envelope"),
    include_bytes!("fixtures/python_request.envelope"),
    include_bytes!("fixtures/python_transaction_500.envelope"),
    include_bytes!("fixtures/node_spans.envelope"),
];

/// Every platform whose stack text is rendered its own way, and one that
/// is not.
const PLATFORMS: [&str; 9] = ["python", "node", "javascript", "java", "csharp", "go", "ruby", "php", "other"];

fn project() -> Project {
    Project { service: "s".into(), environment: None }
}

/// Parses and converts everything in `body` as the server does.
fn ingest(body: &[u8]) {
    for envelope in [parse_envelope(body), parse_store(body)].into_iter().flatten() {
        let _ = envelope.answer_id();
        let _ = envelope.unusable();
        let _ = discarded(&envelope);
        let _ = session_counts(&envelope);
        for event in envelope.events().into_iter().flatten() {
            let _ = to_error_event(&event, &project(), 0);
        }
        for transaction in envelope.transactions().into_iter().flatten() {
            let _ = transaction_sample(&transaction, &project());
        }
        for item in envelope.items.iter().filter(|item| item.kind.as_str() == "span") {
            let _ = streamed_span_samples(&item.payload, &project());
        }
    }
}

/// JSON values of any shape, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_{} ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("exception".to_string()),
                    Just("values".to_string()),
                    Just("stacktrace".to_string()),
                    Just("frames".to_string()),
                    Just("request".to_string()),
                    Just("headers".to_string()),
                    Just("contexts".to_string()),
                    Just("trace".to_string()),
                    Just("breadcrumbs".to_string()),
                    Just("tags".to_string()),
                    Just("user".to_string()),
                    Just("timestamp".to_string()),
                    Just("start_timestamp".to_string()),
                    Just("transaction".to_string()),
                    Just("fingerprint".to_string()),
                    Just("logentry".to_string()),
                    Just("message".to_string()),
                    Just("query_string".to_string()),
                    Just("mechanism".to_string()),
                    Just("threads".to_string()),
                    Just("in_app".to_string()),
                    Just("type".to_string()),
                    Just("module".to_string()),
                    Just("function".to_string()),
                    Just("lineno".to_string()),
                    Just("items".to_string()),
                    Just("is_segment".to_string()),
                    Just("end_timestamp".to_string()),
                    Just("attributes".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        ingest(&body);
        let _ = decompress("gzip", &body, 1 << 16);
        let _ = decompress("deflate", &body, 1 << 16);
        let _ = decompress("br", &body, 1 << 16);
        let text = String::from_utf8_lossy(&body);
        let _ = sentry_key(Some(&text), Some(&text));
    }

    #[test]
    fn real_envelopes_cut_or_corrupted(which in 0..FIXTURES.len(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let fixture = FIXTURES[which];
        let at = at.index(fixture.len());
        ingest(&fixture[..at]);
        let mut corrupted = fixture.to_vec();
        corrupted[at] = byte;
        ingest(&corrupted);
    }

    #[test]
    fn events_of_any_shape(event in json()) {
        if let Value::Object(map) = &event {
            let converted = to_error_event(map, &project(), 0);
            prop_assert_eq!(converted.service, "s");
            for platform in PLATFORMS {
                let mut with_platform = map.clone();
                with_platform.insert("platform".into(), platform.into());
                let _ = to_error_event(&with_platform, &project(), 0);
            }
            if let Some(sample) = transaction_sample(map, &project()) {
                prop_assert!(sample.duration_ms >= 0.0);
            }
        }
        let _ = streamed_span_samples(event.to_string().as_bytes(), &project());
        for kind in ["event", "transaction", "span"] {
            let body = format!("{{}}\n{{\"type\":\"{kind}\"}}\n{event}\n");
            ingest(body.as_bytes());
        }
    }
}
