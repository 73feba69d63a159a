//! What listing groups costs with many groups stored: one page of a
//! filtered, sorted listing (`GET /api/v1/groups?service=..`) over the
//! embedded engine on disk.
//!
//! Run: `cargo bench -p faultline-benches --bench group_listing`
//! (add `--profile dev` for a quick, unoptimized figure).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use faultline_model::{Attributes, ErrorEvent, EventSource, GroupStatus, Grouping};
use faultline_store::{GroupFilter, GroupSort, HealthBatch, Storage, StorageOptions};

const GROUPS: usize = 20_000;
const SERVICES: usize = 20;
const PER_EXPORT: usize = 1_000;
const LISTINGS: u32 = 20;

fn event(i: usize) -> (ErrorEvent, Grouping) {
    let ts = 1_700_000_000_000_000_000 + i as i64 * 1_000_000;
    let event = ErrorEvent {
        seq: 0,
        group_id: 0,
        timestamp: ts,
        received_at: ts,
        source: EventSource::SpanException,
        service: format!("service-{}", i % SERVICES),
        service_version: Some("1.0.0".into()),
        environment: Some(if i.is_multiple_of(3) { "staging" } else { "prod" }.into()),
        host: None,
        sdk_language: None,
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        span_name: Some("GET /orders".into()),
        level: "error".into(),
        exception_type: Some("KeyError".into()),
        // Groups carry a realistic amount of text; decoding it is the cost.
        message: Some(format!("missing key {i} in a rather long message {}", "x".repeat(200))),
        stacktrace: None,
        escaped: None,
        http_route: Some("/orders/{id}".into()),
        http_method: Some("GET".into()),
        http_status: Some(500),
        attributes: Attributes::new(),
        resource: Attributes::new(),
    };
    let grouping = Grouping {
        fingerprint: format!("{i:016x}"),
        title: format!("KeyError: missing key {i} {}", "y".repeat(100)),
        culprit: "app.orders in parse_quantity".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    };
    (event, grouping)
}

fn time(name: &str, storage: &Storage, filter: &GroupFilter) {
    let start = Instant::now();
    let mut shown = 0;
    for _ in 0..LISTINGS {
        shown = storage.groups(filter).unwrap().0.len();
    }
    let each = start.elapsed() / LISTINGS;
    println!("{name:<40} {:>8.2} ms per page ({shown} groups shown)", each.as_secs_f64() * 1e3);
}

fn main() {
    let dir = std::env::temp_dir().join(format!("faultline-bench-groups-{}", std::process::id()));
    let options = StorageOptions { queue_depth: 4096, ..Default::default() };
    let storage = Storage::open(&dir, options).unwrap();
    for chunk in (0..GROUPS).collect::<Vec<_>>().chunks(PER_EXPORT) {
        let batch = chunk.iter().map(|&i| event(i)).collect();
        storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    }
    // Queued together so they share group commits.
    let resolved: Vec<_> = (1..=GROUPS as u64)
        .step_by(7)
        .map(|id| storage.set_group_status(id, GroupStatus::Resolved, 1).unwrap())
        .collect();
    for answer in resolved {
        answer.blocking_recv().unwrap().unwrap();
    }
    println!("{GROUPS} groups over {SERVICES} services");
    let page = |filter: GroupFilter| GroupFilter { limit: 50, ..filter };
    time("all, by last seen", &storage, &page(GroupFilter::default()));
    time(
        "one service, by count",
        &storage,
        &page(GroupFilter {
            service: Some("service-3".into()),
            sort: GroupSort::Count,
            ..Default::default()
        }),
    );
    time(
        "one service, staging, unresolved",
        &storage,
        &page(GroupFilter {
            service: Some("service-3".into()),
            environment: Some("staging".into()),
            status: Some(GroupStatus::Unresolved),
            ..Default::default()
        }),
    );
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
}
