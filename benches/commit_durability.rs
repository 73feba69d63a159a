//! What making group commits survive power loss costs: the same exports
//! committed through `faultline_store::Storage` on disk with
//! `storage.sync = "fsync"` (sled's flush, then `fdatasync` of its log; the
//! default) and with `"flush"` (sled's flush alone, `sync_file_range`).
//!
//! - one client: `SEQUENTIAL` exports one after another, each waited for,
//!   so every export is one group commit: commits/s and commit latency;
//! - `CLIENTS` clients at once, `PER_CLIENT` exports each: exports share
//!   group commits, so the sync is paid once per batch: exports/s and
//!   export latency.
//!
//! Both settings run `ROUNDS` times, alternated, each on a fresh store.
//! An export is `EVENTS_PER_EXPORT` error events of a few hundred bytes of
//! message and a Python stack trace, over a few dozen groups. The store is
//! in the system's temporary directory (set `TMPDIR` to measure another
//! disk). The bench prints figures and asserts nothing about timing.
//!
//! Run: `cargo bench -p faultline-benches --bench commit_durability`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use faultline_model::{Attributes, ErrorEvent, EventSource, Grouping};
use faultline_store::{EventBatch, HealthBatch, Storage, StorageOptions, SyncMode};

const SEQUENTIAL: usize = 1_000;
const CLIENTS: usize = 16;
const PER_CLIENT: usize = 150;
const EVENTS_PER_EXPORT: usize = 8;
const GROUPS: usize = 40;
const ROUNDS: usize = 3;

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

struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort();
    Figures {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
    }
}

fn run(dir: &Path, sync: SyncMode) -> (Figures, Figures) {
    let _ = std::fs::remove_dir_all(dir);
    let storage =
        Storage::open(dir, StorageOptions { queue_depth: 4096, sync, ..Default::default() }).unwrap();
    for n in 0..50 {
        submit(&storage, n); // warm up: groups exist, files allocated
    }
    let start = Instant::now();
    let sequential: Vec<Duration> = (0..SEQUENTIAL).map(|n| submit(&storage, 1_000 + n)).collect();
    let sequential = figures(sequential, start.elapsed());

    let start = Instant::now();
    let concurrent: Vec<Duration> = std::thread::scope(|s| {
        let storage = &storage;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                s.spawn(move || {
                    (0..PER_CLIENT).map(|n| submit(storage, 100_000 + c * PER_CLIENT + n)).collect::<Vec<_>>()
                })
            })
            .collect();
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect()
    });
    let concurrent = figures(concurrent, start.elapsed());
    drop(storage);
    let _ = std::fs::remove_dir_all(dir);
    (sequential, concurrent)
}

/// The disk alone: `fdatasync` after overwriting 4 KiB of a file, which
/// is what the sync adds to a commit beyond sled's own write.
fn raw_fdatasync(dir: &Path) -> Figures {
    use std::io::{Seek, SeekFrom, Write};
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("raw");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![7u8; 4096];
    let start = Instant::now();
    let latencies = (0..SEQUENTIAL)
        .map(|_| {
            file.seek(SeekFrom::Start(0)).unwrap();
            file.write_all(&block).unwrap();
            let synced = Instant::now();
            file.sync_data().unwrap();
            synced.elapsed()
        })
        .collect();
    let raw = figures(latencies, start.elapsed());
    let _ = std::fs::remove_dir_all(dir);
    raw
}

fn main() {
    let dir = std::env::temp_dir().join(format!("faultline-bench-durability-{}", std::process::id()));
    println!("{EVENTS_PER_EXPORT} error events per export; store in {}", std::env::temp_dir().display());
    println!(
        "{:<8} {:>22} {:>9} {:>9}   {:>24} {:>9} {:>9}",
        "sync", "1 client: commits/s", "p50 ms", "p99 ms", "16 clients: exports/s", "p50 ms", "p99 ms"
    );
    let raw = raw_fdatasync(&dir);
    println!(
        "the disk alone, 4 KiB overwrite + fdatasync: p50 {:.2} ms, p99 {:.2} ms",
        raw.p50_ms, raw.p99_ms
    );
    // Alternated, so that a noisy neighbour hurts both settings alike.
    for _ in 0..ROUNDS {
        for (name, sync) in [("fsync", SyncMode::Fsync), ("flush", SyncMode::Flush)] {
            let (one, many) = run(&dir, sync);
            println!(
                "{name:<8} {:>22.0} {:>9.2} {:>9.2}   {:>24.0} {:>9.2} {:>9.2}",
                one.per_second, one.p50_ms, one.p99_ms, many.per_second, many.p50_ms, many.p99_ms
            );
        }
    }
}
