//! Several nodes on one database: two engines (two pools, as two Faultline
//! nodes would have) submitting at the same moment.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use faultline_model::{ErrorEvent, EventSource, GroupStatus};
use faultline_store::{HealthBatch, Storage};

mod support;
use support::{grouping, node};

fn event(ts: i64) -> ErrorEvent {
    let mut e = ErrorEvent::blank("api", EventSource::SpanException, ts);
    e.exception_type = Some("KeyError".into());
    e.message = Some("missing".into());
    e
}

#[test]
fn two_nodes_seeing_a_new_fingerprint_at_once_make_one_group_counted_exactly() {
    let db = faultline_pg_testing::database();
    let nodes = [Arc::new(node(&db.url())), Arc::new(node(&db.url()))];
    const ROUNDS: usize = 20;
    const PER_EXPORT: usize = 5;
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let node = nodes[t % 2].clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let mut committed = Vec::new();
                for round in 0..ROUNDS {
                    // Every thread opens each round with a fingerprint none has seen.
                    start.wait();
                    let batch = (0..PER_EXPORT)
                        .map(|i| {
                            (event(1_700_000_000_000_000_000 + i as i64), grouping(&format!("fp-{round}")))
                        })
                        .collect();
                    committed.extend(
                        node.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap(),
                    );
                }
                committed
            })
        })
        .collect();
    let committed: Vec<_> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(committed.len(), 4 * ROUNDS * PER_EXPORT);
    let seqs: HashSet<u64> = committed.iter().map(|c| c.seq).collect();
    assert_eq!(seqs.len(), committed.len(), "event ids are unique across nodes");
    for round in 0..ROUNDS {
        let fp = format!("fp-{round}");
        let ids: HashSet<u64> =
            committed.iter().filter(|c| committed_fp(&nodes[0], c.seq) == fp).map(|c| c.group_id).collect();
        assert_eq!(ids.len(), 1, "one group for {fp}: {ids:?}");
        let id = *ids.iter().next().unwrap();
        let made = committed.iter().filter(|c| c.group_id == id && c.new_group).count();
        assert_eq!(made, 1, "exactly one export made group {id}");
        for node in &nodes {
            let group = node.group(id).unwrap().unwrap();
            assert_eq!(group.count, (4 * PER_EXPORT) as u64, "{fp} counted exactly, seen by both nodes");
        }
    }
    let stats = nodes[1].stats().unwrap();
    assert_eq!(stats.groups, ROUNDS as u64);
}

/// The fingerprint an event was committed with (its group's title names it).
fn committed_fp(node: &Storage, seq: u64) -> String {
    let event = node.event(seq).unwrap().unwrap();
    let group = node.group(event.group_id).unwrap().unwrap();
    group.fingerprint
}

#[test]
fn actions_on_one_node_are_seen_by_the_other() {
    let db = faultline_pg_testing::database();
    let (a, b) = (node(&db.url()), node(&db.url()));
    let first = a
        .submit(vec![(event(1), grouping("fa"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    let second = b
        .submit(vec![(event(2), grouping("fb"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    let (ga, gb) = (first[0].group_id, second[0].group_id);
    b.set_group_status(ga, GroupStatus::Resolved, 10).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(a.group(ga).unwrap().unwrap().status, GroupStatus::Resolved);
    a.merge(ga, vec![gb]).unwrap().blocking_recv().unwrap().unwrap();
    // b's next event of fb lands in the merged group, and reopens it.
    let later = b
        .submit(vec![(event(20), grouping("fb"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!((later[0].group_id, later[0].regression), (ga, true));
    let (kept, split) = b.unmerge(ga, vec!["fb".into()]).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!((kept.count, split.count), (1, 2));
    let again = a
        .submit(vec![(event(30), grouping("fb"))], HealthBatch::new())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!(again[0].group_id, split.id);
}

#[test]
fn health_from_two_nodes_adds_up_with_every_latency_in_the_sketch() {
    use faultline_model::{HealthKey, HealthSample, Outcome};
    let db = faultline_pg_testing::database();
    let nodes = [Arc::new(node(&db.url())), Arc::new(node(&db.url()))];
    let key = HealthKey {
        service: "api".into(),
        environment: "prod".into(),
        route: "/a".into(),
        method: "GET".into(),
    };
    let at = faultline_model::now_nanos();
    const EXPORTS: usize = 25;
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (node, start, key) = (nodes[t % 2].clone(), start.clone(), key.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..EXPORTS {
                    let samples: Vec<HealthSample> = (0..4)
                        .map(|j| HealthSample {
                            key: key.clone(),
                            at,
                            duration_ms: (t * 1000 + i * 10 + j + 1) as f64,
                            outcome: if j == 0 { Outcome::ServerError } else { Outcome::Ok },
                        })
                        .collect();
                    let mut batch = HealthBatch::new();
                    faultline_store::health::add_samples(&mut batch, &samples);
                    node.submit(Vec::new(), batch).unwrap().blocking_recv().unwrap().unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let minute = 60_000_000_000;
    let all = nodes[0].health(at - minute, at + minute, &Default::default()).unwrap();
    let bucket = &all[&key];
    assert_eq!((bucket.requests, bucket.errors), (4 * EXPORTS as u64 * 4, 4 * EXPORTS as u64));
    assert_eq!(bucket.latency.count(), 4 * EXPORTS as u64 * 4, "no node's sketch overwrote another's");
    assert_eq!(bucket.latency.quantile(1.0).map(|v| (v - 3244.0).abs() < 3244.0 * 0.02), Some(true));
}

#[test]
fn figures_added_by_two_nodes_at_once_match_counting_every_event() {
    let db = faultline_pg_testing::database();
    let nodes = [Arc::new(node(&db.url())), Arc::new(node(&db.url()))];
    let base = 1_700_000_000_000_000_000_i64;
    // The group exists before the race, so every commit adds to it.
    let first = nodes[0].submit(vec![(event(base), grouping("shared"))], HealthBatch::new()).unwrap();
    let id = first.blocking_recv().unwrap().unwrap()[0].group_id;
    const ROUNDS: i64 = 25;
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4_i64)
        .map(|t| {
            let node = nodes[(t % 2) as usize].clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let mut committed = Vec::new();
                for round in 0..ROUNDS {
                    let batch = (0..3_i64)
                        .map(|i| {
                            // Timestamps both before and after the first event's.
                            let mut e = event(base + (t * 1000 + round * 10 + i - 2000) * 1_000_000);
                            e.environment = Some(format!("env-{t}"));
                            e.service_version = Some(format!("1.{t}.{round}"));
                            e.message = Some(format!("thread {t} round {round} event {i}"));
                            (e, grouping("shared"))
                        })
                        .collect();
                    let answer =
                        node.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
                    committed.extend(answer.into_iter().map(|c| c.seq));
                }
                committed
            })
        })
        .collect();
    let seqs: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let group = nodes[1].group(id).unwrap().unwrap();
    assert_eq!(group.count, 1 + 4 * 3 * ROUNDS as u64);
    assert_eq!(group.first_seen, base - 2000 * 1_000_000);
    assert_eq!(group.last_seen, base + (3 * 1000 + (ROUNDS - 1) * 10 + 2 - 2000) * 1_000_000);
    let latest = *seqs.iter().max().unwrap();
    assert_eq!(group.last_event_seq, latest);
    let event = nodes[0].event(latest).unwrap().unwrap();
    assert_eq!(group.last_message, event.message, "the latest event's message");
    assert_eq!(group.last_release, event.service_version, "the latest event's release");
    assert_eq!(group.first_release.as_deref().map(|r| r.starts_with("1.")), Some(true));
    assert_eq!(group.environments, ["env-0", "env-1", "env-2", "env-3"]);
    assert_eq!(group.status, GroupStatus::Unresolved);
}

#[test]
fn a_group_resolved_while_another_node_adds_to_it_regresses_exactly_once() {
    let db = faultline_pg_testing::database();
    let nodes = [Arc::new(node(&db.url())), Arc::new(node(&db.url()))];
    let now = faultline_model::now_nanos();
    let first = nodes[0].submit(vec![(event(now), grouping("flaky"))], HealthBatch::new()).unwrap();
    let id = first.blocking_recv().unwrap().unwrap()[0].group_id;
    let adder = {
        let node = nodes[1].clone();
        std::thread::spawn(move || {
            let mut regressions = 0;
            for round in 0..40_i64 {
                // Each event happens after any resolution made before it is stored.
                let batch = vec![(event(faultline_model::now_nanos() + round), grouping("flaky"))];
                let answer =
                    node.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
                regressions += answer.iter().filter(|c| c.regression).count();
            }
            regressions
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(30));
    let resolved = nodes[0]
        .set_group_status(id, GroupStatus::Resolved, faultline_model::now_nanos())
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();
    assert_eq!(resolved.status, GroupStatus::Resolved);
    let regressions = adder.join().unwrap();
    let group = nodes[0].group(id).unwrap().unwrap();
    assert_eq!(group.count, 41, "no event lost or counted twice around the status change");
    if group.status == GroupStatus::Unresolved {
        assert!(group.regressed);
        assert_eq!(regressions, 1, "reopened once");
    } else {
        // Every event was stored before the resolution.
        assert_eq!(regressions, 0);
    }
}

#[test]
fn new_issues_of_one_export_are_numbered_in_the_order_they_arrived() {
    let db = faultline_pg_testing::database();
    let store = node(&db.url());
    // Claimed in (service, fingerprint) order, numbered in arrival order.
    let batch = ["zz", "aa", "mm", "aa"].iter().map(|fp| (event(1), grouping(fp))).collect();
    let committed = store.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    let ids: Vec<u64> = committed.iter().map(|c| c.group_id).collect();
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");
    assert_eq!(ids[3], ids[1]);
    let made: Vec<bool> = committed.iter().map(|c| c.new_group).collect();
    assert_eq!(made, [true, true, true, false]);
}
