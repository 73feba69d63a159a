//! Builders for the suite's events.

use faultline_model::{Attributes, ErrorEvent, EventSource, Grouping};
use faultline_store::{Committed, HealthBatch, Store};

pub fn event(service: &str, ty: &str, message: &str, ts: i64) -> ErrorEvent {
    let mut attributes = Attributes::new();
    attributes.insert("user.id".into(), serde_json::json!("u-42"));
    ErrorEvent {
        seq: 0,
        group_id: 0,
        timestamp: ts,
        received_at: ts,
        source: EventSource::SpanException,
        service: service.into(),
        service_version: Some("1.0.0".into()),
        environment: Some("prod".into()),
        host: None,
        sdk_language: None,
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        span_name: Some("GET /orders".into()),
        level: "error".into(),
        exception_type: Some(ty.into()),
        message: Some(message.into()),
        stacktrace: None,
        escaped: None,
        http_route: Some("/orders/{id}".into()),
        http_method: Some("GET".into()),
        http_status: Some(500),
        attributes,
        resource: Attributes::new(),
    }
}

pub fn grouping(fp: &str) -> Grouping {
    Grouping {
        fingerprint: fp.into(),
        title: format!("title {fp}"),
        culprit: "culprit".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    }
}

/// Commits one event and waits for its acknowledgement.
pub fn submit_one(store: &dyn Store, e: ErrorEvent, fp: &str) -> Committed {
    let answer = store.submit(vec![(e, grouping(fp))], HealthBatch::new()).unwrap();
    answer.blocking_recv().unwrap().unwrap().remove(0)
}
