#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use faultline_model::{HealthKey, HealthSample, Outcome};

use crate::embedded::retention_task::disk_usage;
use crate::test_support::{event, grouping};
use crate::{GroupFilter, HealthBatch, SearchRequest, Storage, StorageOptions};

const EVENTS: u64 = 20_000;
const PER_EXPORT: u64 = 200;

/// A stack trace of its own per event (as distinct failures have), ~1.5 KB.
fn trace(n: u64) -> String {
    (0..20)
        .map(|f| format!("  at com.shop.Module{n}.function{f}(Module{n}.java:{})\n", f * 7 + n % 13))
        .collect()
}

fn fill(store: &Storage) {
    let t0 = faultline_model::now_nanos();
    let key = HealthKey {
        service: "api".into(),
        environment: "prod".into(),
        route: "/orders".into(),
        method: "GET".into(),
    };
    for export in 0..EVENTS / PER_EXPORT {
        let events = (0..PER_EXPORT)
            .map(|i| {
                let n = export * PER_EXPORT + i;
                let mut e = event("api", t0 + n as i64);
                e.stacktrace = Some(trace(n));
                (e, grouping(&format!("fp{}", n % 40)))
            })
            .collect();
        let mut health = HealthBatch::new();
        let samples: Vec<_> = (0..10)
            .map(|i| HealthSample {
                key: key.clone(),
                at: t0,
                duration_ms: f64::from(i),
                outcome: Outcome::Ok,
            })
            .collect();
        crate::health::add_samples(&mut health, &samples);
        store.submit(events, health).unwrap().blocking_recv().unwrap().unwrap();
    }
}

/// Everything a reader sees: groups with their counts, every remaining
/// event, search totals, health figures.
#[derive(Debug, PartialEq)]
struct Figures {
    groups: Vec<(u64, u64, String)>,
    events: BTreeMap<u64, String>,
    searches: Vec<usize>,
    health: String,
    last_seq: u64,
}

fn figures(store: &Storage) -> Figures {
    let filter = GroupFilter { limit: 1000, ..Default::default() };
    let groups = store.groups(&filter).unwrap().0.into_iter().map(|g| (g.id, g.count, g.title)).collect();
    let mut events = BTreeMap::new();
    for seq in 1..=EVENTS {
        if let Some(e) = store.event(seq).unwrap() {
            events.insert(seq, format!("{:?} {:?}", e.message, e.stacktrace));
        }
    }
    let searches = ["", "KeyError", "Module19999", "Module3"]
        .iter()
        .map(|q| {
            store
                .search(&SearchRequest { query: q.to_string(), limit: 1, ..Default::default() })
                .unwrap()
                .0
                .total
        })
        .collect();
    let health = format!("{:?}", store.health(0, i64::MAX, &Default::default()).unwrap());
    Figures { groups, events, searches, health, last_seq: store.stats().unwrap().last_seq }
}

/// Waits until the index holds exactly `total` events.
fn wait_searchable(store: &Storage, total: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(store.wait_indexed(Duration::from_secs(30)));
        let found = store.search(&SearchRequest { limit: 1, ..Default::default() }).unwrap().0.total;
        if found == total {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "index holds {found} events, not {total}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn store_and_index(dir: &Path) -> u64 {
    disk_usage(&dir.join("store")) + disk_usage(&dir.join("index"))
}

#[test]
fn compaction_gives_back_the_space_of_deleted_events_and_changes_no_figure() {
    let dir = tempfile::tempdir().unwrap();
    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    fill(&store);
    // The quota's passes: each deletes the 2,000 oldest events.
    let mut deleted = 0;
    while deleted < EVENTS / 2 {
        let pass =
            store.retain(faultline_model::now_nanos(), true).unwrap().blocking_recv().unwrap().unwrap();
        deleted += pass.events_deleted as u64;
    }
    assert_eq!(deleted, EVENTS / 2);
    wait_searchable(&store, (EVENTS / 2) as usize);
    let before = figures(&store);
    assert_eq!(before.events.len() as u64, EVENTS / 2);
    assert_eq!(before.groups.iter().map(|g| g.1).sum::<u64>(), EVENTS, "groups keep their counts");
    store.shutdown().unwrap();
    drop(store);
    let bytes_before = store_and_index(dir.path());

    let report = crate::compact(dir.path()).unwrap();
    let bytes_after = store_and_index(dir.path());
    eprintln!(
        "{EVENTS} events, half deleted: store {} KiB -> {} KiB, index {} KiB -> {} KiB, {:.2} s",
        report.store_bytes_before / 1024,
        report.store_bytes_after / 1024,
        report.index_bytes_before / 1024,
        report.index_bytes_after / 1024,
        report.seconds
    );
    assert!(
        (bytes_after as f64) < 0.65 * bytes_before as f64,
        "store and index took {bytes_before} bytes before compaction and {bytes_after} after"
    );
    assert!(report.store_replaced && !dir.path().join("store.compacting").exists());

    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    wait_searchable(&store, (EVENTS / 2) as usize);
    assert_eq!(store.stats().unwrap().indexed_seq, EVENTS, "the index was kept, not rebuilt");
    assert_eq!(figures(&store), before);
}

#[test]
fn compaction_refuses_a_data_directory_a_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    let err = crate::compact(dir.path()).unwrap_err();
    assert!(matches!(err, crate::Error::Locked(_)), "{err}");
    drop(store);
    let empty = tempfile::tempdir().unwrap();
    let err = crate::compact(empty.path()).unwrap_err().to_string();
    assert!(err.contains("holds no Faultline store"), "{err}");
}

#[test]
fn what_an_interrupted_compaction_left_is_removed_and_the_store_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    let events = (0..50).map(|n| (event("api", n), grouping(&format!("fp{}", n % 5)))).collect();
    store.submit(events, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    wait_searchable(&store, 50);
    let before = figures(&store);
    drop(store);
    // A copy cut short: a partial database where the new store was being written.
    let leftover = dir.path().join("store.compacting");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("db"), b"half a log").unwrap();

    crate::compact(dir.path()).unwrap();
    assert!(!leftover.exists());
    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    wait_searchable(&store, 50);
    assert_eq!(figures(&store), before);
}

#[test]
fn a_backup_of_a_running_store_opens_with_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    fill(&store);
    wait_searchable(&store, EVENTS as usize);
    let before = figures(&store);
    let target = tempfile::tempdir().unwrap();
    let to = target.path().join("copy");
    let inside = dir.path().join("backup");
    let err = store.backup(&inside).unwrap_err().to_string();
    assert!(err.contains("inside the data directory"), "{err}");
    let report = store.backup(&to).unwrap();
    assert!(report.keys > EVENTS, "{report:?}");
    let marker = |d: &std::path::Path| std::fs::read_to_string(d.join(crate::MARKER_FILE)).unwrap();
    assert_eq!(marker(&to), marker(dir.path()), "the copy carries its source's format marker");
    let err = store.backup(&to).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");
    drop(store);

    let copy = Storage::open(&to, StorageOptions::default()).unwrap();
    wait_searchable(&copy, EVENTS as usize);
    assert_eq!(figures(&copy), before);
}

/// Figures for the README, not a check: how long a backup of 100,000
/// events holds writes up, and how long the copy's first start takes to
/// rebuild its index. `cargo test -p faultline-store --release
/// backup_figures -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run by hand"]
fn backup_figures() {
    const N: u64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let store = Storage::open(dir.path(), StorageOptions::default()).unwrap();
    let t0 = faultline_model::now_nanos();
    let started = std::time::Instant::now();
    for export in 0..N / 500 {
        let events = (0..500)
            .map(|i| {
                let n = export * 500 + i;
                let mut e = event("api", t0 + n as i64);
                // Failures repeat: 200 distinct stack traces, stored once each.
                e.stacktrace = Some(trace(n % 200));
                (e, grouping(&format!("fp{}", n % 200)))
            })
            .collect();
        store.submit(events, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    }
    wait_searchable(&store, N as usize);
    eprintln!("filled {N} events in {:.1} s", started.elapsed().as_secs_f64());
    let target = tempfile::tempdir().unwrap();
    let to = target.path().join("copy");
    let report = store.backup(&to).unwrap();
    eprintln!(
        "backup: {} keys, {} KiB copied into {} KiB on disk (source store {} KiB, index {} KiB) in {:.2} s",
        report.keys,
        report.bytes / 1024,
        report.disk_bytes / 1024,
        disk_usage(&dir.path().join("store")) / 1024,
        disk_usage(&dir.path().join("index")) / 1024,
        report.seconds
    );
    drop(store);
    let started = std::time::Instant::now();
    let copy = Storage::open(&to, StorageOptions::default()).unwrap();
    let opened = started.elapsed().as_secs_f64();
    wait_searchable(&copy, N as usize);
    eprintln!("copy opened in {opened:.2} s, index rebuilt in {:.1} s", started.elapsed().as_secs_f64());
    drop(copy);
    // Compaction of a store nothing was deleted from.
    let report = crate::compact(dir.path()).unwrap();
    eprintln!(
        "compaction with nothing deleted (store replaced: {}): store {} KiB -> {} KiB, index {} KiB -> {} KiB in {:.2} s",
        report.store_replaced,
        report.store_bytes_before / 1024,
        report.store_bytes_after / 1024,
        report.index_bytes_before / 1024,
        report.index_bytes_after / 1024,
        report.seconds
    );
}
