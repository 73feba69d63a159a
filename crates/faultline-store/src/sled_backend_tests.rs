#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::*;
use crate::committer::{Committer, Request};
use crate::health::HealthOptions;
use crate::test_support::{event, grouping};
use crate::watermark::Watermark;
use crate::{EventBatch, HealthBatch};

fn open(dir: &Path, sync: SyncMode) -> Arc<SledBackend> {
    Arc::new(SledBackend::open(&dir.join("store"), dir, sync, crate::DEFAULT_CACHE_BYTES).unwrap())
}

/// Queues every export before the committer runs, so they all land in one
/// group commit, then runs it; returns how many events were acknowledged.
fn commit_together(backend: Arc<SledBackend>, exports: Vec<EventBatch>) -> usize {
    let committer = Committer::new(
        backend,
        Arc::new(Watermark::default()),
        HealthOptions::default(),
        Arc::new(AtomicU64::new(0)),
    )
    .unwrap();
    let codec = committer.codec();
    let (tx, rx) = std::sync::mpsc::sync_channel(exports.len());
    let mut answers = Vec::new();
    for events in exports {
        let events = codec.prepare_batch(events).unwrap();
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(Request::Events { events, health: HealthBatch::new(), reply }).unwrap();
        answers.push(answer);
    }
    drop(tx);
    committer.run(rx);
    answers.into_iter().map(|a| a.blocking_recv().unwrap().unwrap().len()).sum()
}

fn export(i: usize) -> EventBatch {
    vec![(event("svc", i as i64), grouping(&format!("fp{}", i % 3)))]
}

#[test]
fn one_group_commit_is_one_sync_shared_by_its_exports() {
    let dir = tempfile::tempdir().unwrap();
    let backend = open(dir.path(), SyncMode::Fsync);
    assert_eq!(backend.syncs(), 0, "opening syncs files and directories, not counted as commits");
    let acked = commit_together(backend.clone(), (0..20).map(export).collect());
    assert_eq!(acked, 20);
    assert_eq!(backend.syncs(), 1);
}

#[test]
fn every_acknowledged_export_was_synced_first() {
    let dir = tempfile::tempdir().unwrap();
    let backend = open(dir.path(), SyncMode::Fsync);
    let engine = crate::embedded::Embedded::over(backend.clone(), crate::StorageOptions::default()).unwrap();
    let storage = crate::Storage::from_engine(Box::new(engine));
    for i in 0..5 {
        let before = backend.syncs();
        let answer = storage.submit(export(i), HealthBatch::new()).unwrap();
        answer.blocking_recv().unwrap().unwrap();
        assert!(backend.syncs() > before, "export {i} acknowledged without a sync");
    }
}

#[test]
fn flush_mode_leaves_it_to_sled() {
    let dir = tempfile::tempdir().unwrap();
    let backend = open(dir.path(), SyncMode::Flush);
    assert_eq!(commit_together(backend.clone(), (0..3).map(export).collect()), 3);
    assert_eq!(backend.syncs(), 0);
}

#[test]
fn events_over_the_blob_threshold_become_blob_files_and_are_synced() {
    let dir = tempfile::tempdir().unwrap();
    let backend = open(dir.path(), SyncMode::Fsync);
    assert_eq!(backend.blobs_synced(), 0);
    // 128 attributes of 32 KiB are allowed; one 200 KB message will do,
    // if it is incompressible (event bodies are zstd-compressed).
    let mut big = event("svc", 1);
    big.message = Some(incompressible(200_000));
    assert_eq!(commit_together(backend.clone(), vec![vec![(big, grouping("big"))]]), 1);
    let blobs = std::fs::read_dir(dir.path().join("store/blobs")).unwrap().count();
    assert!(blobs >= 1, "sled wrote no blob file for a 200 KB value");
    assert!(backend.blobs_synced() >= 1);
    assert_eq!(backend.syncs(), 1);

    // Reopened, the event is there (read back through its blob).
    drop(backend);
    let backend = open(dir.path(), SyncMode::Fsync);
    let stored = backend.get(&crate::keys::event(1)).unwrap().unwrap();
    assert!(stored.len() > 100_000, "{} bytes", stored.len());
    let (read, _) = crate::event_codec::EventCodec::new(backend.clone()).decode(&stored).unwrap();
    assert_eq!(read.message, Some(incompressible(200_000)));
}

/// `len` letters from a xorshift generator: nothing for zstd to find.
fn incompressible(len: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

#[test]
fn a_failed_sync_refuses_later_commits() {
    let dir = tempfile::tempdir().unwrap();
    let backend = open(dir.path(), SyncMode::Fsync);
    let syncer = backend.syncer.as_ref().unwrap();
    syncer.failed.store(true, Ordering::SeqCst);
    let err = backend.flush().unwrap_err();
    assert!(err.to_string().contains("restart"), "{err}");
}
