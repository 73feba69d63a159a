//! Builders shared by the unit tests of the committer, transaction and
//! group operations.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use faultline_model::{Attributes, ErrorEvent, EventSource, Grouping};

use crate::committer::Committer;
use crate::health::HealthOptions;
use crate::memory_backend::MemoryBackend;
use crate::watermark::Watermark;

pub(crate) fn event(service: &str, ts: i64) -> ErrorEvent {
    ErrorEvent {
        seq: 0,
        group_id: 0,
        timestamp: ts,
        received_at: ts,
        source: EventSource::SpanException,
        service: service.into(),
        service_version: None,
        environment: Some("prod".into()),
        host: None,
        sdk_language: None,
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        span_name: None,
        level: "error".into(),
        exception_type: Some("KeyError".into()),
        message: Some(format!("message at {ts}")),
        stacktrace: None,
        escaped: None,
        http_route: None,
        http_method: None,
        http_status: None,
        attributes: Attributes::new(),
        resource: Attributes::new(),
    }
}

pub(crate) fn grouping(fp: &str) -> Grouping {
    Grouping {
        fingerprint: fp.into(),
        title: format!("title {fp}"),
        culprit: "culprit".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    }
}

/// A committer over a fresh in-memory backend, and that backend.
pub(crate) fn committer() -> (Committer, Arc<MemoryBackend>) {
    let backend = Arc::new(MemoryBackend::default());
    let committer = Committer::new(
        backend.clone(),
        Arc::new(Watermark::default()),
        HealthOptions::default(),
        Arc::new(AtomicU64::new(0)),
    )
    .unwrap();
    (committer, backend)
}

/// A backend holding the given exports, committed by the real committer
/// (so groups, fingerprints and memberships are as in production).
pub(crate) fn seeded(exports: Vec<crate::EventBatch>) -> Arc<MemoryBackend> {
    let (committer, backend) = committer();
    let (tx, rx) = std::sync::mpsc::sync_channel(exports.len().max(1));
    let mut answers = Vec::new();
    for events in exports {
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(crate::committer::Request::Events { events, health: crate::HealthBatch::new(), reply })
            .unwrap();
        answers.push(answer);
    }
    drop(tx);
    committer.run(rx);
    for answer in answers {
        answer.blocking_recv().unwrap().unwrap();
    }
    backend
}
