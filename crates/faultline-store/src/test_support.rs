//! Builders shared by the unit tests of the committer, transaction and
//! group operations.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use faultline_model::{ErrorEvent, EventSource, Grouping};

use crate::committer::Committer;
use crate::event_codec::EventCodec;
use crate::health::HealthOptions;
use crate::memory_backend::MemoryBackend;
use crate::watermark::Watermark;

pub(crate) fn event(service: &str, ts: i64) -> ErrorEvent {
    let mut e = ErrorEvent::blank(service, EventSource::SpanException, ts);
    e.environment = Some("prod".into());
    e.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    e.span_id = "b7ad6b7169203331".into();
    e.exception_type = Some("KeyError".into());
    e.message = Some(format!("message at {ts}"));
    e
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

/// A codec reading and writing `backend`.
pub(crate) fn codec(backend: &Arc<MemoryBackend>) -> EventCodec {
    EventCodec::new(backend.clone())
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
    let codec = committer.codec();
    let (tx, rx) = std::sync::mpsc::sync_channel(exports.len().max(1));
    let mut answers = Vec::new();
    for events in exports {
        let events = codec.prepare_batch(events).unwrap();
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
