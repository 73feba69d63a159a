//! Health buckets stored as one row per writer shard: several nodes
//! folding the same endpoint-minute at once add up exactly, and the rollup
//! of a minute's shards into its hour keeps every figure.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};

use faultline_model::{HealthBucket, HealthKey, HealthSample, Outcome};
use faultline_store::{HealthBatch, Storage};

mod support;
use support::{node, psql};

const MINUTE: i64 = 60_000_000_000;
const NODES: usize = 2;
const THREADS_PER_NODE: usize = 3;
const EXPORTS: usize = 30;

fn key() -> HealthKey {
    HealthKey {
        service: "api".into(),
        environment: "prod".into(),
        route: "/orders".into(),
        method: "POST".into(),
    }
}

/// Export `i` of thread `t`: five requests of distinct latencies, one a
/// server error and one a client error.
fn export(t: usize, i: usize, at: i64) -> HealthBatch {
    let samples: Vec<HealthSample> = (0..5)
        .map(|j| HealthSample {
            key: key(),
            at,
            duration_ms: ((t * 7919 + i * 131 + j * 17) % 5000 + 1) as f64,
            outcome: match j {
                0 => Outcome::ServerError,
                1 => Outcome::ClientError,
                _ => Outcome::Ok,
            },
        })
        .collect();
    let mut batch = HealthBatch::new();
    faultline_store::health::add_samples(&mut batch, &samples);
    batch
}

/// Every export of every thread folded into one bucket in this process.
fn folded_in_one(at: i64) -> HealthBucket {
    let mut all = HealthBucket::default();
    for t in 0..NODES * THREADS_PER_NODE {
        for i in 0..EXPORTS {
            export(t, i, at).values().for_each(|b| all.merge(b));
        }
    }
    all
}

/// Threads on both nodes submit their exports at once, all into `at`'s
/// minute; `meanwhile` runs alongside them.
fn submit_from_all(nodes: &[Arc<Storage>], at: i64, meanwhile: impl FnOnce()) {
    let start = Arc::new(Barrier::new(NODES * THREADS_PER_NODE + 1));
    let threads: Vec<_> = (0..NODES * THREADS_PER_NODE)
        .map(|t| {
            let (node, start) = (nodes[t % NODES].clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..EXPORTS {
                    node.submit(Vec::new(), export(t, i, at)).unwrap().blocking_recv().unwrap().unwrap();
                }
            })
        })
        .collect();
    start.wait();
    meanwhile();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

fn assert_same(found: &HealthBucket, expected: &HealthBucket, what: &str) {
    assert_eq!(
        (found.requests, found.errors, found.client_errors),
        (expected.requests, expected.errors, expected.client_errors),
        "{what}: counts"
    );
    assert_eq!(found.latency.count(), expected.latency.count(), "{what}: latencies in the sketch");
    for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
        assert_eq!(found.latency.quantile(q), expected.latency.quantile(q), "{what}: p{}", q * 100.0);
    }
}

fn stored(node: &Storage, at: i64) -> HealthBucket {
    let all = node.health(at - MINUTE, at + MINUTE, &Default::default()).unwrap();
    assert_eq!(all.len(), 1, "one endpoint: {:?}", all.keys());
    all[&key()].clone()
}

#[test]
fn nodes_folding_one_minute_at_once_add_up_exactly_and_so_does_its_rollup() {
    let db = faultline_pg_testing::database();
    let nodes: Vec<Arc<Storage>> = (0..NODES).map(|_| Arc::new(node(&db.url()))).collect();
    let at = faultline_model::now_nanos();
    submit_from_all(&nodes, at, || {});
    let expected = folded_in_one(at);
    for node in &nodes {
        assert_same(&stored(node, at), &expected, "read from either node");
    }
    let shards = psql(&db, "SELECT count(DISTINCT shard) || ',' || min(shard) FROM health_minutes");
    let (count, lowest) = shards.split_once(',').unwrap();
    assert!(
        count.parse::<usize>().unwrap() >= NODES,
        "each node's writers fold into their own rows: {shards}"
    );
    assert!(lowest.parse::<i32>().unwrap() > 0, "shard 0 is the rollup's: {shards}");

    // A day later the minute is rolled up: its shards become one hour row.
    let later = at + 25 * 60 * MINUTE;
    nodes[1].maintain(later).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(psql(&db, "SELECT count(*) FROM health_minutes"), "0");
    assert_eq!(psql(&db, "SELECT count(*) || ',' || max(shard) FROM health_hours"), "1,0");
    assert_same(&stored(&nodes[0], at), &expected, "after the rollup");
}

#[test]
fn a_rollup_running_while_nodes_fold_into_the_minute_loses_nothing() {
    let db = faultline_pg_testing::database();
    let nodes: Vec<Arc<Storage>> = (0..NODES).map(|_| Arc::new(node(&db.url()))).collect();
    let at = faultline_model::now_nanos();
    // Maintenance that already sees the minute as old rolls it up, over
    // and over, while the writers (to whom it is still recent) fold into it.
    let later = at + 25 * 60 * MINUTE;
    let maintainer = nodes[0].clone();
    submit_from_all(&nodes, at, move || {
        for _ in 0..20 {
            maintainer.maintain(later).unwrap().blocking_recv().unwrap().unwrap();
        }
    });
    let expected = folded_in_one(at);
    assert_same(&stored(&nodes[1], at), &expected, "minutes and hours together");
    nodes[1].maintain(later).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(psql(&db, "SELECT count(*) FROM health_minutes"), "0");
    assert_same(&stored(&nodes[0], at), &expected, "all rolled up");
}
