//! Builders for the suite's events.

use faultline_model::{ErrorEvent, EventSource, Grouping};
use faultline_store::{Committed, HealthBatch, Store};

pub fn event(service: &str, ty: &str, message: &str, ts: i64) -> ErrorEvent {
    let mut e = ErrorEvent::blank(service, EventSource::SpanException, ts);
    e.attributes.insert("user.id".into(), serde_json::json!("u-42"));
    e.service_version = Some("1.0.0".into());
    e.environment = Some("prod".into());
    e.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    e.span_id = "b7ad6b7169203331".into();
    e.span_name = Some("GET /orders".into());
    e.exception_type = Some(ty.into());
    e.message = Some(message.into());
    e.http_route = Some("/orders/{id}".into());
    e.http_method = Some("GET".into());
    e.http_status = Some(500);
    e
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
