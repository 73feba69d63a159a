//! The committer: group commit, failed writes, refused admin requests.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Committed, Request};
use crate::event_codec::EventCodec;
use crate::memory_backend::MemoryBackend;
use crate::test_support::{committer, event, grouping};
use crate::{Error, HealthBatch, Result};

fn events_request(fps: &[&str], ts: i64) -> (Request, oneshot::Receiver<Result<Vec<Committed>>>) {
    let (reply, answer) = oneshot::channel();
    let events = fps.iter().map(|fp| (event("api", ts), grouping(fp))).collect();
    // Encoded against an empty store: no dictionary, which any store reads.
    let codec = EventCodec::new(Arc::new(MemoryBackend::default()));
    let events = codec.prepare_batch(events).unwrap();
    (Request::Events { events, health: HealthBatch::new(), reply }, answer)
}

#[test]
fn waiting_exports_share_one_write_and_are_all_answered() {
    let (committer, backend) = committer();
    let (tx, rx) = sync_channel(8);
    let mut answers = Vec::new();
    for fps in [&["a", "b"][..], &["a"], &["c"]] {
        let (request, answer) = events_request(fps, 10);
        tx.send(request).unwrap();
        answers.push(answer);
    }
    drop(tx);
    // Everything is queued before the committer starts: one batch.
    committer.run(rx);

    assert_eq!(backend.writes(), 1, "one atomic write for three exports");
    let got: Vec<Vec<Committed>> = answers.into_iter().map(|a| a.blocking_recv().unwrap().unwrap()).collect();
    let seqs: Vec<Vec<u64>> = got.iter().map(|c| c.iter().map(|c| c.seq).collect()).collect();
    assert_eq!(seqs, vec![vec![1, 2], vec![3], vec![4]]);
    assert_eq!(got[1][0].group_id, got[0][0].group_id, "the second export found the first one's group");
    assert!(got[0][0].new_group && !got[1][0].new_group && got[2][0].new_group);
}

#[test]
fn a_failed_write_fails_every_export_of_the_batch_and_numbering_recovers() {
    let (committer, backend) = committer();
    let (tx, rx) = sync_channel(8);
    let thread = std::thread::spawn(move || committer.run(rx));

    let (request, first) = events_request(&["a"], 10);
    tx.send(request).unwrap();
    assert_eq!(first.blocking_recv().unwrap().unwrap()[0].seq, 1);

    backend.fail_writes(true);
    let (a, b) = (events_request(&["a", "b"], 20), events_request(&["c"], 20));
    // Both queued only after the committer is idle again, so they may be
    // one batch or two; either way both fail.
    tx.send(a.0).unwrap();
    tx.send(b.0).unwrap();
    for answer in [a.1, b.1] {
        let err = answer.blocking_recv().unwrap().unwrap_err();
        assert!(matches!(err, Error::CommitFailed(_)), "a write failure, not damage: {err}");
        assert!(!err.to_string().contains("damaged"), "{err}");
    }

    backend.fail_writes(false);
    let (request, after) = events_request(&["d"], 30);
    tx.send(request).unwrap();
    let committed = after.blocking_recv().unwrap().unwrap();
    assert_eq!(committed[0].seq, 2, "sequence numbers of the failed batch are reused");
    assert_eq!(committed[0].group_id, 2, "so are group ids");
    drop(tx);
    thread.join().unwrap();
    assert_eq!(backend.writes(), 2);
}

#[test]
fn a_refused_merge_is_rolled_back_and_the_rest_of_the_batch_commits() {
    let (committer, _backend) = committer();
    let (tx, rx) = sync_channel(8);
    let (request, events) = events_request(&["a", "b"], 10);
    tx.send(request).unwrap();
    // Group 2 may be merged before 99 is found missing: that part must go too.
    let (reply, merged) = oneshot::channel();
    tx.send(Request::Merge { target: 1, sources: vec![2, 99], reply }).unwrap();
    let status = |id, tx: &std::sync::mpsc::SyncSender<Request>| {
        let (reply, answer) = oneshot::channel();
        let status = faultline_model::GroupStatus::Resolved;
        tx.send(Request::SetStatus { id, change: status.into(), now: 50, reply }).unwrap();
        answer
    };
    let (first, second) = (status(1, &tx), status(2, &tx));
    drop(tx);
    committer.run(rx);

    let committed = events.blocking_recv().unwrap().unwrap();
    assert_eq!(committed.iter().map(|c| c.group_id).collect::<Vec<_>>(), vec![1, 2]);
    assert!(matches!(merged.blocking_recv().unwrap(), Err(Error::GroupNotFound(99))));
    let first = first.blocking_recv().unwrap().unwrap();
    assert_eq!((first.count, first.fingerprints.len()), (1, 1), "the merge left no trace in group 1");
    let second = second.blocking_recv().unwrap().unwrap();
    assert_eq!((second.count, second.merged_into), (1, None), "nor in group 2");
}
