#![allow(clippy::unwrap_used)]

use faultline_model::{HealthKey, HealthSample, Outcome};

use super::*;
use crate::test_support::{event, grouping};
use crate::{HealthBatch, Storage, StorageOptions};

/// A stopped data directory: 30 events in 3 groups (one stack trace
/// shared, so bodies need the stored trace), health in the log only.
fn filled(dir: &Path) -> i64 {
    let t0 = faultline_model::now_nanos();
    let store = Storage::open(dir, StorageOptions::default()).unwrap();
    let key = HealthKey {
        service: "api".into(),
        environment: "prod".into(),
        route: "/orders".into(),
        method: "GET".into(),
    };
    for export in 0..3 {
        let events = (0..10)
            .map(|i| {
                let mut e = event("api", t0 + export * 10 + i);
                e.stacktrace = Some("  at Shop.pay(Shop.java:10)\n".into());
                (e, grouping(&format!("fp{}", i % 3)))
            })
            .collect();
        let mut health = HealthBatch::new();
        let sample = HealthSample { key: key.clone(), at: t0, duration_ms: 12.0, outcome: Outcome::Ok };
        crate::health::add_samples(&mut health, &[sample]);
        store.submit(events, health).unwrap().blocking_recv().unwrap().unwrap();
    }
    t0
}

#[test]
fn a_stopped_directory_reads_out_whole_a_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = filled(dir.path());
    let export = Export::open(dir.path()).unwrap();
    assert_eq!(export.count(Kind::Events).unwrap(), 30);
    assert_eq!(export.count(Kind::Groups).unwrap(), 3);
    assert_eq!(export.count(Kind::Fingerprints).unwrap(), 3);
    assert_eq!(export.count(Kind::HealthMinutes).unwrap(), 1, "the logged increments make one bucket");

    let mut seqs = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = export.page(Kind::Events, after.as_deref(), 7).unwrap();
        let Some(last) = page.last_key else { break };
        for record in page.records {
            let Record::Event { event, fingerprint } = record else { panic!("not an event") };
            assert!(fingerprint.starts_with("fp"));
            assert_eq!(event.stacktrace.as_deref(), Some("  at Shop.pay(Shop.java:10)\n"));
            assert!(event.timestamp >= t0 && event.group_id > 0);
            seqs.push(event.seq);
        }
        after = Some(last);
    }
    assert_eq!(seqs, (1..=30).collect::<Vec<u64>>(), "every event once, in order");

    let page = export.page(Kind::HealthMinutes, None, 100).unwrap();
    let [Record::Health { bucket, key, .. }] = page.records.as_slice() else { panic!("{:?}", page.records) };
    assert_eq!((bucket.requests, key.route.as_str()), (3, "/orders"));
    let counters = export.counters().unwrap();
    assert_eq!((counters.next_event_seq, counters.next_group_id), (31, 4));
}

#[test]
fn a_directory_a_server_runs_on_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    assert!(matches!(Export::open(dir.path()), Err(Error::Locked(_))));
}
