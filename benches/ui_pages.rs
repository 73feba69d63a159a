//! How fast the explorer's pages answer at scale: 1M stored error events
//! in 10k groups (a long tail: a few groups hold most events), seeded
//! through the store, then every page fetched from the real binary over
//! HTTP several times. Prints the median and the slowest answer per page.
//!
//! Run: `cargo bench -p faultline-benches --bench ui_pages`
//! (`UI_BENCH_EVENTS=100000` for a quicker, smaller run).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use faultline_model::{Attributes, ErrorEvent, EventSource, Grouping};
use faultline_store::{HealthBatch, Storage, StorageOptions};
use faultline_tests::Server;

const GROUPS: usize = 10_000;
const SERVICES: usize = 8;
const PER_EXPORT: usize = 2_000;
const ROUNDS: usize = 7;

const TRACE: &str = "Traceback (most recent call last):\n  File \"/srv/app/orders/views.py\", line 42, in checkout\n    total = cart.total()\n  File \"/srv/app/orders/cart.py\", line 17, in total\n    return sum(self.prices[i] for i in self.items)\nKeyError: 'sku-1'\n";

/// Event `i`'s group: a long tail, as in production (group 0 is the busiest).
fn group_of(i: usize) -> usize {
    let x = (i.wrapping_mul(2_654_435_761) % 1_000_003) as f64 / 1_000_003.0;
    ((x * x * x) * GROUPS as f64) as usize % GROUPS
}

fn event(i: usize, now: i64) -> (ErrorEvent, Grouping) {
    let g = group_of(i);
    // Spread over the last 14 days.
    let ts = now - (i as i64 % (14 * 24 * 3600)) * 1_000_000_000;
    let mut attributes = Attributes::new();
    attributes.insert("enduser.id".into(), format!("user-{}", i % 5_000).into());
    let mut event = ErrorEvent::blank(format!("service-{}", g % SERVICES), EventSource::SpanException, ts);
    event.service_version = Some(format!("1.{}.0", i % 4));
    event.environment = Some(if i.is_multiple_of(3) { "staging" } else { "production" }.into());
    event.host = Some(format!("web-{}", i % 12));
    event.sdk_language = Some("python".into());
    event.trace_id = format!("{:032x}", i);
    event.span_id = format!("{:016x}", i);
    event.exception_type = Some(format!("Error{}", g % 97));
    event.message = Some(format!("order {i} failed in step {g}"));
    event.stacktrace = Some(TRACE.into());
    event.http_route = Some(format!("/orders/{}", g % 20));
    event.http_method = Some("POST".into());
    event.http_status = Some(500);
    event.attributes = attributes;
    let grouping = Grouping {
        fingerprint: format!("{g:016x}"),
        title: format!("Error{}: order <num> failed in step {g}", g % 97),
        culprit: "orders.cart in total".into(),
        method: "stacktrace".into(),
        version: 2,
        previous_fingerprints: Vec::new(),
    };
    (event, grouping)
}

fn seed(dir: &std::path::Path, events: usize) {
    let storage = Storage::open(dir, StorageOptions { queue_depth: 4096, ..Default::default() }).unwrap();
    let now = faultline_model::now_nanos();
    let start = Instant::now();
    let mut pending = Vec::new();
    for chunk_start in (0..events).step_by(PER_EXPORT) {
        let batch = (chunk_start..(chunk_start + PER_EXPORT).min(events)).map(|i| event(i, now)).collect();
        pending.push(storage.submit(batch, HealthBatch::new()).unwrap());
        if pending.len() >= 8 {
            pending.remove(0).blocking_recv().unwrap().unwrap();
        }
    }
    for answer in pending {
        answer.blocking_recv().unwrap().unwrap();
    }
    storage.wait_indexed(Duration::from_secs(1_800));
    println!("seeded {events} events in {GROUPS} groups in {:.0} s", start.elapsed().as_secs_f64());
    storage.shutdown().unwrap();
}

fn time(server: &Server, client: &reqwest::blocking::Client, name: &str, path: &str) {
    let mut took = Vec::new();
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let response = client.get(server.api_url(path)).send().unwrap();
        let status = response.status();
        bytes = response.bytes().unwrap().len();
        took.push(start.elapsed());
        assert!(status.is_success(), "{path}: {status}");
    }
    took.sort();
    println!(
        "{name:<34} median {:>7.1} ms   slowest {:>7.1} ms   ({} kB)  {path}",
        took[ROUNDS / 2].as_secs_f64() * 1e3,
        took[ROUNDS - 1].as_secs_f64() * 1e3,
        bytes / 1024
    );
}

fn main() {
    let events: usize =
        std::env::var("UI_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let mut server = Server::start();
    server.terminate();
    seed(&server.data_dir, events);
    server.restart();
    let client = reqwest::blocking::Client::new();
    // One warm-up pass: the first read of each file comes from disk.
    time(&server, &client, "warm-up: issues stream", "/");
    let busiest = server.get("/api/v1/groups?sort=count&limit=1")["groups"][0]["id"].as_u64().unwrap();
    let pages = [
        ("issues stream", "/".to_string()),
        ("stream, all statuses, 14 days", "/?status=all&period=14d".into()),
        ("stream by frequency", "/?sort=count".into()),
        ("stream, one service + query", "/?service=service-3&q=type%3AError3".into()),
        ("stream, release filter", "/?release=1.2.0&period=7d".into()),
        ("busiest issue page", format!("/issues/{busiest}")),
        ("busiest issue, 14 days", format!("/issues/{busiest}?period=14d")),
        ("quiet issue page", "/issues/9999".into()),
        ("search", "/search?q=type%3AError5".into()),
        ("search, everything 14 days", "/search?period=14d".into()),
        ("health", "/health".into()),
    ];
    for (name, path) in &pages {
        time(&server, &client, name, path);
    }
}
