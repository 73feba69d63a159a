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
fn groups_of_a_failed_write_do_not_count_against_the_new_group_cap() {
    let (committer, backend) = committer();
    let committer = committer.with_new_group_cap(Some(1));
    let (tx, rx) = sync_channel(8);
    let thread = std::thread::spawn(move || committer.run(rx));
    backend.fail_writes(true);
    let (request, failed) = events_request(&["a"], 10);
    tx.send(request).unwrap();
    assert!(failed.blocking_recv().unwrap().is_err());
    backend.fail_writes(false);
    let (request, after) = events_request(&["b", "c"], 20);
    tx.send(request).unwrap();
    let committed = after.blocking_recv().unwrap().unwrap();
    let collapsed: Vec<bool> = committed.iter().map(|c| c.collapsed).collect();
    assert_eq!(collapsed, [false, true], "b is the hour's one new group, c past the cap");
    drop(tx);
    thread.join().unwrap();
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

mod health_log {
    use std::sync::Arc;

    use faultline_model::{HealthKey, HealthSample, Outcome};

    use super::*;
    use crate::backend::Backend;
    use crate::health::{self, HealthFilter};
    use crate::health_buffer::HealthBuffer;
    use crate::keys;
    use crate::memory_backend::MemoryBackend;

    const MINUTE: i64 = 60_000_000_000;

    fn recent_minute() -> i64 {
        let now = faultline_model::now_nanos();
        now - now.rem_euclid(MINUTE) - 5 * MINUTE
    }

    fn export(at: i64, requests: u32) -> (Request, oneshot::Receiver<Result<Vec<Committed>>>) {
        let key = HealthKey {
            service: "api".into(),
            environment: "prod".into(),
            route: "/a".into(),
            method: "GET".into(),
        };
        let samples: Vec<HealthSample> = (0..requests)
            .map(|i| HealthSample { key: key.clone(), at, duration_ms: f64::from(i), outcome: Outcome::Ok })
            .collect();
        let mut batch = HealthBatch::new();
        health::add_samples(&mut batch, &samples);
        let (reply, answer) = oneshot::channel();
        (Request::Events { events: Vec::new(), health: batch, reply }, answer)
    }

    fn maintain(now: i64) -> Request {
        Request::Maintain { now, reply: None }
    }

    /// Runs the requests through a committer over `backend`, one batch.
    fn run(committer: super::super::Committer, requests: Vec<Request>) {
        let (tx, rx) = sync_channel(requests.len().max(1));
        requests.into_iter().for_each(|r| tx.send(r).unwrap());
        drop(tx);
        committer.run(rx);
    }

    fn requests(backend: &MemoryBackend, buffer: &HealthBuffer, at: i64) -> u64 {
        let figures =
            health::scan(backend, &buffer.read(), at, at + MINUTE, &HealthFilter::default()).unwrap();
        figures.iter().map(|(_, _, b)| b.requests).sum()
    }

    fn stored_keys(backend: &MemoryBackend, kind: u8) -> usize {
        backend.scan(&[kind], &[kind + 1], false).count()
    }

    fn reopen(backend: &Arc<MemoryBackend>) -> super::super::Committer {
        super::super::Committer::new(
            backend.clone(),
            Arc::default(),
            health::HealthOptions::default(),
            Arc::default(),
        )
        .unwrap()
    }

    #[test]
    fn an_export_logs_its_figures_and_readers_see_them_before_the_buckets_are_written() {
        let (committer, backend) = committer();
        let buffer = committer.health_buffer();
        let at = recent_minute();
        let (first, a) = export(at, 3);
        let (second, b) = export(at, 4);
        run(committer, vec![first, second]);
        a.blocking_recv().unwrap().unwrap();
        b.blocking_recv().unwrap().unwrap();
        assert_eq!(stored_keys(&backend, keys::HEALTH_MINUTE), 0, "no bucket rewritten per export");
        assert_eq!(stored_keys(&backend, keys::HEALTH_LOG), 1, "one log record per group commit");
        assert_eq!(requests(&backend, &buffer, at), 7);
    }

    #[test]
    fn logged_figures_survive_a_restart_before_they_are_folded() {
        let (committer, backend) = committer();
        let at = recent_minute();
        let (request, answer) = export(at, 5);
        run(committer, vec![request]);
        answer.blocking_recv().unwrap().unwrap();
        // A new committer over the same data, as after `kill -9`.
        let committer = reopen(&backend);
        assert_eq!(requests(&backend, &committer.health_buffer(), at), 5);
        let (request, answer) = export(at, 1);
        run(committer, vec![request]);
        answer.blocking_recv().unwrap().unwrap();
        assert_eq!(
            stored_keys(&backend, keys::HEALTH_LOG),
            2,
            "numbering went on after the replayed records"
        );
        assert_eq!(requests(&backend, &reopen(&backend).health_buffer(), at), 6);
    }

    #[test]
    fn folding_writes_the_buckets_once_empties_the_log_and_counts_nothing_twice() {
        let (committer, backend) = committer();
        let at = recent_minute();
        let now = faultline_model::now_nanos();
        let (first, answer) = export(at, 2);
        run(committer, vec![first]);
        answer.blocking_recv().unwrap().unwrap();

        // Two passes in one batch, with an export between them.
        let committer = reopen(&backend);
        let buffer = committer.health_buffer();
        let (between, answer) = export(at, 3);
        run(committer, vec![maintain(now), between, maintain(now)]);
        answer.blocking_recv().unwrap().unwrap();
        assert_eq!(stored_keys(&backend, keys::HEALTH_MINUTE), 1, "the first export's figures were written");
        assert_eq!(stored_keys(&backend, keys::HEALTH_LOG), 1, "the second export's are still logged");
        assert_eq!(requests(&backend, &buffer, at), 5);
        assert_eq!(
            requests(&backend, &reopen(&backend).health_buffer(), at),
            5,
            "a restart replays only the log"
        );

        let committer = reopen(&backend);
        let buffer = committer.health_buffer();
        run(committer, vec![maintain(now)]);
        assert_eq!(stored_keys(&backend, keys::HEALTH_LOG), 0);
        assert!(buffer.read().is_empty());
        assert_eq!(requests(&backend, &buffer, at), 5);
    }

    #[test]
    fn a_buffered_minute_that_passed_the_rollup_is_folded_into_its_hour() {
        let (committer, backend) = committer();
        let at = recent_minute();
        let (request, answer) = export(at, 4);
        run(committer, vec![request]);
        answer.blocking_recv().unwrap().unwrap();
        let committer = reopen(&backend);
        let buffer = committer.health_buffer();
        run(committer, vec![maintain(at + 2 * 24 * 60 * MINUTE)]);
        assert_eq!(stored_keys(&backend, keys::HEALTH_MINUTE), 0);
        assert_eq!(stored_keys(&backend, keys::HEALTH_HOUR), 1);
        assert_eq!(requests(&backend, &buffer, at), 4);
    }

    #[test]
    fn a_log_past_its_byte_budget_is_folded_without_waiting_for_the_minute() {
        let (committer, backend) = committer();
        let committer = committer.fold_after_logged_bytes(1);
        let buffer = committer.health_buffer();
        let at = recent_minute();
        let (first, a) = export(at, 2);
        run(committer, vec![first]);
        a.blocking_recv().unwrap().unwrap();
        assert_eq!(stored_keys(&backend, keys::HEALTH_LOG), 1, "the first commit only logs");

        // The next commit finds the budget passed and folds in its own batch.
        let committer = reopen(&backend).fold_after_logged_bytes(1);
        let buffer_after = committer.health_buffer();
        // Budget counting starts at the reopen: one commit logs, the next folds.
        let (second, b) = export(at, 3);
        let (third, c) = export(at, 4);
        let (tx, rx) = sync_channel(2);
        let thread = std::thread::spawn(move || committer.run(rx));
        tx.send(second).unwrap();
        b.blocking_recv().unwrap().unwrap();
        tx.send(third).unwrap();
        c.blocking_recv().unwrap().unwrap();
        drop(tx);
        thread.join().unwrap();
        assert_eq!(stored_keys(&backend, keys::HEALTH_MINUTE), 1, "the bucket was written");
        assert_eq!(stored_keys(&backend, keys::HEALTH_LOG), 1, "only the last commit's record is left");
        assert_eq!(requests(&backend, &buffer_after, at), 9);
        drop(buffer);
        assert_eq!(requests(&backend, &reopen(&backend).health_buffer(), at), 9);
    }
}
