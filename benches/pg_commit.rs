//! What the PostgreSQL engine's commit costs against the embedded one:
//! the same exports (as `commit_durability.rs` makes them: `EVENTS_PER_EXPORT`
//! error events over `GROUPS` groups) from `CLIENTS` client threads, each
//! waiting for its acknowledgement, on
//! - the embedded engine with `storage.sync = "flush"` (no fdatasync),
//! - PostgreSQL, one node,
//! - PostgreSQL, two nodes (two engines, two pools) on one database, the
//!   clients split between them.
//!
//! The PostgreSQL server is the test one (faultline-pg-testing: local,
//! `fsync=off`), so both sides skip the disk sync: the figures compare the
//! engines' own work (SQL, locks, round trips), not disks. Each setting
//! runs `ROUNDS` times on a fresh store. Prints figures, asserts nothing.
//!
//! Run: `cargo bench -p faultline-benches --bench pg_commit`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use faultline_model::{Attributes, ErrorEvent, EventSource, Grouping};
use faultline_store::{EventBatch, HealthBatch, Storage, StorageOptions, SyncMode};

const CLIENTS: usize = 16;
const PER_CLIENT: usize = 100;
const EVENTS_PER_EXPORT: usize = 8;
const GROUPS: usize = 40;
const ROUNDS: usize = 2;

const STACK: &str = "Traceback (most recent call last):
  File \"/srv/app/orders/views.py\", line 118, in create_order
    quantity = parse_quantity(payload)
  File \"/srv/app/orders/parsing.py\", line 42, in parse_quantity
    return int(payload[\"quantity\"])
  File \"/srv/app/lib/payload.py\", line 17, in __getitem__
    raise KeyError(key)
KeyError: 'quantity'";

fn export(n: usize) -> EventBatch {
    (0..EVENTS_PER_EXPORT)
        .map(|i| {
            let k = n * EVENTS_PER_EXPORT + i;
            let ts = 1_700_000_000_000_000_000 + k as i64 * 1_000;
            let group = k % GROUPS;
            let event = ErrorEvent {
                seq: 0,
                group_id: 0,
                timestamp: ts,
                received_at: ts,
                source: EventSource::SpanException,
                service: format!("service-{}", group % 4),
                service_version: Some("1.4.2".into()),
                environment: Some("prod".into()),
                host: Some("web-3".into()),
                sdk_language: Some("python".into()),
                trace_id: format!("{k:032x}"),
                span_id: format!("{k:016x}"),
                span_name: Some("POST /orders".into()),
                level: "error".into(),
                exception_type: Some("KeyError".into()),
                message: Some(format!("'quantity' missing in order {k} from client {}", "c".repeat(120))),
                stacktrace: Some(STACK.into()),
                escaped: Some(true),
                http_route: Some("/orders".into()),
                http_method: Some("POST".into()),
                http_status: Some(500),
                attributes: Attributes::new(),
                resource: Attributes::new(),
            };
            let grouping = Grouping {
                fingerprint: format!("{group:016x}"),
                title: format!("KeyError: 'quantity' ({group})"),
                culprit: "orders.parsing in parse_quantity".into(),
                method: "stacktrace".into(),
                version: 1,
                previous_fingerprints: Vec::new(),
            };
            (event, grouping)
        })
        .collect()
}

fn submit(storage: &Storage, n: usize) -> Duration {
    let start = Instant::now();
    storage.submit(export(n), HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    start.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Exports per second, p50 and p99 acknowledgement latency in ms.
fn run(nodes: &[Storage]) -> (f64, f64, f64) {
    for n in 0..GROUPS {
        submit(&nodes[0], n); // warm up: the groups exist
    }
    let start = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let node = &nodes[c % nodes.len()];
                s.spawn(move || {
                    (0..PER_CLIENT).map(|n| submit(node, 1_000 + c * PER_CLIENT + n)).collect::<Vec<_>>()
                })
            })
            .collect();
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    latencies.sort();
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}

/// Opens one setting's nodes.
type Opener<'a> = dyn Fn() -> Vec<Storage> + 'a;

fn options() -> StorageOptions {
    StorageOptions { queue_depth: 4096, sync: SyncMode::Flush, ..Default::default() }
}

fn postgres(nodes: usize) -> Vec<Storage> {
    let db = faultline_pg_testing::database();
    let pg = faultline_store_postgres::PgOptions { background: false, ..Default::default() };
    (0..nodes)
        .map(|_| faultline_store_postgres::open_storage(&db.url(), options(), pg.clone()).unwrap())
        .collect()
}

fn main() {
    println!("{CLIENTS} clients x {PER_CLIENT} exports of {EVENTS_PER_EXPORT} error events, each waited for");
    println!("{:<22} {:>10} {:>9} {:>9} {:>10}", "engine", "exports/s", "p50 ms", "p99 ms", "events/s");
    for _ in 0..ROUNDS {
        let dir = std::env::temp_dir().join(format!("faultline-bench-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let settings: [(&str, Box<Opener<'_>>); 3] = [
            ("embedded (flush)", Box::new(|| vec![Storage::open(&dir, options()).unwrap()])),
            ("postgres, 1 node", Box::new(|| postgres(1))),
            ("postgres, 2 nodes", Box::new(|| postgres(2))),
        ];
        for (name, open) in settings {
            let nodes = open();
            let (per_second, p50, p99) = run(&nodes);
            let events = per_second * EVENTS_PER_EXPORT as f64;
            println!("{name:<22} {per_second:>10.0} {p50:>9.2} {p99:>9.2} {events:>10.0}");
            drop(nodes);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
