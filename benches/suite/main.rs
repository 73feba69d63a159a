//! Issue 11's whole table in one run: `cargo bench -p faultline-benches
//! --bench suite` (options after `--`: `--events N` stored events to reach
//! before searching, default 1,000,000; `--phase-secs S`, default 30;
//! `--fill-secs S`, the most the fill may take, default 420; `--json`).
//!
//! It starts the real `faultline` release binary (`faultline_tests::Server`:
//! fresh temp data directory, free ports) with a new-issue rule delivering
//! to a webhook in this process, and drives it with the load generator's
//! library over OTLP/gRPC, 16 clients of 512-span exports:
//!
//! 1. healthy: 0 % errors; store bytes added per span;
//! 2. 1 % errors, as fast as acks allow; spans per server CPU-second, and
//!    prost decode alone of the same payloads on one thread of this process;
//! 3. 20 % errors, as fast as acks allow: the capacity (spans/s, error
//!    events/s) and server CPU per error event;
//! 4. 20 % errors at 70 % of that capacity: export latency; meanwhile
//!    probes measure freshness (ack to searchable) and new-issue alerts
//!    (export to webhook arrival);
//! 5. fill: 100 % errors until `--events` are stored (or `--fill-secs`);
//!    then bytes per stored event (store vs index), peak RSS, and search
//!    latency of five queries;
//! 6. 2x saturation: 20 % errors offered at twice the capacity of 3 by 256
//!    clients: refusals, latency, RSS start and end;
//! 7. durability: two fresh servers, `storage.sync = "fsync"` and `"flush"`,
//!    the load of 3 for half a phase each.
//!
//! Every load phase checks acked == stored through the search API and the
//! suite panics when they differ. Nothing about timing is asserted: the
//! table says for each figure whether it met its target and by how much not.
#![allow(clippy::unwrap_used)]

mod disk;
mod load;
mod machine;
mod probe;
mod search;
mod table;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_loadgen::procfs::{memory, Memory};
use faultline_loadgen::Report;
use faultline_tests::receiver::start_stamped;
use faultline_tests::{Server, TempDir};
use load::Load;
use serde_json::json;
use table::{group, mib, Row};

/// The suite's settings.
struct Options {
    events: u64,
    phase: Duration,
    fill_max: Duration,
    json: bool,
}

impl Options {
    /// From the arguments after `--`; cargo's own `--bench` is skipped.
    fn parse() -> Options {
        let mut o = Options {
            events: 1_000_000,
            phase: Duration::from_secs(30),
            fill_max: Duration::from_secs(420),
            json: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> u64 {
                let value = args.next().unwrap_or_default();
                value.parse().unwrap_or_else(|_| panic!("{name} takes a number, not {value:?}"))
            };
            match arg.as_str() {
                "--bench" => {}
                "--json" => o.json = true,
                "--events" => o.events = number("--events"),
                "--phase-secs" => o.phase = Duration::from_secs(number("--phase-secs").max(2)),
                "--fill-secs" => o.fill_max = Duration::from_secs(number("--fill-secs").max(1)),
                other => panic!(
                    "unknown argument {other:?}; takes --events N, --phase-secs S, --fill-secs S, --json"
                ),
            }
        }
        o
    }
}

/// Seeds and phase headers.
struct Suite {
    rt: tokio::runtime::Runtime,
    started: Instant,
    seed: u64,
}

impl Suite {
    fn phase(&mut self, name: &str) -> u64 {
        println!(
            "\n=== {name} (at {:.0} s, load average {})",
            self.started.elapsed().as_secs_f64(),
            machine::load_average()
        );
        self.seed += 1;
        self.seed
    }

    fn load(&mut self, server: &Server, name: &str, load: &Load) -> Report {
        let seed = self.phase(name);
        load::run(&self.rt, server, name, &load::config(server, load, seed))
    }
}

fn main() {
    let options = Options::parse();
    let mut suite =
        Suite { rt: tokio::runtime::Runtime::new().unwrap(), started: Instant::now(), seed: 1100 };
    println!("machine: {}", machine::describe());
    let (webhook_port, arrivals) = start_stamped();
    let tmp = TempDir::new("faultline-suite");
    let config_path = tmp.path().join("suite.toml");
    std::fs::write(&config_path, probe::alert_config(webhook_port)).unwrap();
    let server = Server::start_with(&["--config", config_path.to_str().unwrap()]);
    let pid = server.pid().unwrap();
    // The clock starts once the server is up: building it is cargo's part.
    println!("server ready after {:.0} s (building it included)", suite.started.elapsed().as_secs_f64());
    suite.started = Instant::now();
    let phase = options.phase;
    let mut rows = Vec::new();
    let mut stored = 0;

    // 1. Healthy spans: what they add to the store beyond their buckets.
    let (store_before, _) = disk::usage(&server.data_dir);
    let healthy = suite.load(&server, "1. healthy spans, 0 % errors", &Load::new(0.0, phase / 3));
    let (store_after, _) = disk::usage(&server.data_dir);
    let healthy_bytes = store_after.saturating_sub(store_before) as f64 / healthy.spans_acked.max(1) as f64;
    println!(
        "    store grew {} B: {healthy_bytes:.2} B per healthy span",
        group(store_after.saturating_sub(store_before))
    );

    // 2. 1 % errors: spans per server CPU-second against decode alone.
    let seed = suite.phase("2. 1 % errors, as fast as acks allow");
    let one_config = load::config(&server, &Load::new(0.01, phase), seed);
    let one = load::run(&suite.rt, &server, "1 % errors", &one_config);
    let decode = load::decode_rate(&one_config);
    let server_rate = one.spans_acked as f64 / load::server_cpu(&one).max(1e-9);
    let share = server_rate / decode.spans_per_cpu_s;
    println!(
        "    prost decode alone of the same payloads: {} spans per CPU-second ({} exports, {:.2} s CPU); server {} spans per CPU-second = {:.1} %",
        group(decode.spans_per_cpu_s as u64),
        group(decode.exports),
        decode.cpu_s,
        group(server_rate as u64),
        share * 100.0
    );
    stored += one.error_events_acked;
    rows.push(Row::at_least(
        "1 % errors: spans per server CPU-second (% of prost decode alone)",
        format!(
            "{} ({:.1} % of {}; {:.2} µs/span)",
            group(server_rate as u64),
            share * 100.0,
            group(decode.spans_per_cpu_s as u64),
            1e6 / server_rate.max(1e-9)
        ),
        "≥ 60 % of decode alone",
        share,
        0.6,
    ));

    // 3. 20 % errors: the capacity.
    let twenty = suite.load(&server, "3. 20 % errors, as fast as acks allow", &Load::new(0.2, phase));
    stored += twenty.error_events_acked;
    let capacity = twenty.spans_per_s;
    let per_error_us = load::server_cpu(&twenty) * 1e6 / twenty.error_events_acked.max(1) as f64;
    rows.push(Row::at_least(
        "20 % errors: error events acked per second (server CPU per error event)",
        format!("{}/s ({per_error_us:.0} µs)", group(twenty.error_events_per_s as u64)),
        "≥ 20k/s on this machine",
        twenty.error_events_per_s,
        20_000.0,
    ));

    // 4. Below saturation, with freshness and alert probes alongside.
    let stop = Arc::new(AtomicBool::new(false));
    let target = probe::Target {
        traces_url: server.http_url("/v1/traces"),
        search_url: server.api_url("/api/v1/search"),
    };
    let prober = {
        let stop = stop.clone();
        std::thread::spawn(move || probe::run(target, arrivals, stop))
    };
    let below = Load { rate: Some(0.7 * capacity), ..Load::new(0.2, phase) };
    let steady = suite.load(&server, "4. 20 % errors at 70 % of capacity, probes alongside", &below);
    stop.store(true, Ordering::Relaxed);
    let samples = prober.join().unwrap();
    stored += steady.error_events_acked + samples.sent as u64;
    rows.push(Row::below(
        "export latency p99, 20 % errors, 16 clients, 70 % of capacity",
        format!(
            "{:.1} ms (p50 {:.1} ms, at {} spans/s)",
            steady.export_latency.p99_ms,
            steady.export_latency.p50_ms,
            group(steady.spans_per_s as u64)
        ),
        "< 100 ms",
        steady.export_latency.p99_ms,
        100.0,
    ));
    let (freshness, alert) = probe_rows(&samples);

    // 5. Fill to the event count, then bytes, memory and search.
    let remaining = options.events.saturating_sub(stored);
    let mut fill = None;
    if remaining > 0 {
        let exports = remaining.div_ceil(512);
        let load = Load { exports: Some(exports), ..Load::new(1.0, options.fill_max) };
        let report = suite.load(
            &server,
            &format!("5. fill: 100 % errors, up to {} more events", group(remaining)),
            &load,
        );
        stored += report.error_events_acked;
        fill = Some(report);
    }
    rows.push(Row::info(
        "stored error events before the disk, memory and search rows",
        match &fill {
            Some(f) => format!(
                "{} ({} by the fill, 100 % errors, at {}/s)",
                group(stored),
                group(f.error_events_acked),
                group(f.error_events_per_s as u64)
            ),
            None => group(stored),
        },
        &format!("--events {}", group(options.events)),
    ));
    suite.phase(&format!("5. at {} stored events: disk, memory, search", group(stored)));
    let (store_bytes, index_bytes) = disk::usage(&server.data_dir);
    let per_event = |b: u64| b as f64 / stored.max(1) as f64;
    println!(
        "    store {} ({:.0} B/event), index {} ({:.0} B/event)",
        mib(store_bytes),
        per_event(store_bytes),
        mib(index_bytes),
        per_event(index_bytes)
    );
    let total_per_event = per_event(store_bytes + index_bytes);
    rows.push(Row::below(
        "bytes on disk per stored error event: record store + index",
        format!(
            "{total_per_event:.0} B = {:.0} B store + {:.0} B index ({} events)",
            per_event(store_bytes),
            per_event(index_bytes),
            group(stored)
        ),
        "< 300 B for repeated events",
        total_per_event,
        300.0,
    ));
    rows.push(Row::below(
        "bytes on disk per healthy span, beyond its buckets",
        // sled grows its files by whole segments, so this is coarse: one
        // segment more or less moves it by about 1 B/span at 2M spans.
        format!(
            "{healthy_bytes:.2} B (store grew {} over {} spans)",
            mib(store_after.saturating_sub(store_before)),
            group(healthy.spans_acked)
        ),
        "~0 B (below 1 B)",
        healthy_bytes,
        1.0,
    ));
    let searches = search::time_all(&server);
    let filled = memory(pid).unwrap();
    println!("    server VmHWM {}, VmRSS {}", mib(filled.peak_rss), mib(filled.rss));
    rows.push(Row::below(
        "peak RSS (VmHWM) at the stored events, storage.cache_mib = 256",
        format!("{} at {} events", mib(filled.peak_rss), group(stored)),
        "< 1 GiB",
        filled.peak_rss as f64,
        1024.0 * 1024.0 * 1024.0,
    ));
    rows.push(freshness);
    rows.push(alert);
    for s in &searches {
        println!(
            "    search {:<22} {:<55} {:>9} hits  p50 {:>6.1} ms  p99 {:>6.1} ms",
            s.what,
            s.q,
            group(s.hits),
            s.p50_ms,
            s.p99_ms
        );
        rows.push(Row::below(
            &format!("search p99, {}: `{}`", s.what, s.q),
            format!(
                "{:.1} ms (p50 {:.1} ms, {} hits, {} events)",
                s.p99_ms,
                s.p50_ms,
                group(s.hits),
                group(stored)
            ),
            "< 100 ms at ~1M events",
            s.p99_ms,
            100.0,
        ));
    }

    // 6. Twice the capacity.
    let start_mem = memory(pid).unwrap();
    // Each client has one export in flight, so offering twice the capacity
    // while the server holds latency near its 2 s queue-wait bound takes
    // far more clients than exports the server commits in that time.
    let over = Load { clients: 256, templates: 1, rate: Some(2.0 * capacity), ..Load::new(0.2, phase) };
    let saturated = suite.load(&server, "6. 20 % errors offered at 2x capacity, 256 clients", &over);
    let end_mem = memory(pid).unwrap();
    stored += saturated.error_events_acked;
    rows.push(saturation_row(&saturated, start_mem, end_mem));
    drop(server);

    // 7. What the sync costs: fresh servers, one per setting.
    let fsync = durability_run(&mut suite, "fsync", phase / 2);
    let flush = durability_run(&mut suite, "flush", phase / 2);
    rows.push(Row::info(
        "durability: storage.sync = \"fsync\" (default) vs \"flush\", 20 % errors, 16 clients",
        format!(
            "fsync {}/s error events, p99 {:.0} ms; flush {}/s, p99 {:.0} ms",
            group(fsync.error_events_per_s as u64),
            fsync.export_latency.p99_ms,
            group(flush.error_events_per_s as u64),
            flush.export_latency.p99_ms
        ),
        "measured",
    ));

    println!(
        "\n=== issue 11: {} events stored, {:.0} s in all; machine: {}\n",
        group(stored),
        suite.started.elapsed().as_secs_f64(),
        machine::describe()
    );
    print!("{}", table::markdown(&rows));
    if options.json {
        let reports = json!({
            "healthy": healthy, "one_percent": one, "decode": decode, "twenty_percent": twenty,
            "steady": steady, "fill": fill, "saturated": saturated, "fsync": fsync, "flush": flush,
            "searches": searches, "memory_filled": filled, "memory_saturation": [start_mem, end_mem],
            "stored_events": stored, "store_bytes": store_bytes, "index_bytes": index_bytes,
        });
        println!("{}", serde_json::to_string_pretty(&json!({ "rows": rows, "phases": reports })).unwrap());
    }
}

/// Freshness and alert rows from the probes.
fn probe_rows(samples: &probe::Samples) -> (Row, Row) {
    let p99 = |v: &[f64]| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        (search::nearest_rank(&sorted, 50.0), search::nearest_rank(&sorted, 99.0))
    };
    let (f50, f99) = p99(&samples.freshness_ms);
    let (a50, a99) = p99(&samples.alert_ms);
    println!(
        "    probes: {} sent; freshness p50 {f50:.0} ms, p99 {f99:.0} ms ({} not searchable in 10 s); alert p50 {a50:.0} ms, p99 {a99:.0} ms ({} without alert)",
        samples.sent, samples.not_searchable, samples.no_alert
    );
    let freshness = Row::below(
        "ack to searchable p99 (freshness), under the 70 % load",
        format!(
            "{f99:.0} ms (p50 {f50:.0} ms, {} probes, {} never)",
            samples.freshness_ms.len(),
            samples.not_searchable
        ),
        "< 2 s",
        if samples.not_searchable > 0 { f64::INFINITY } else { f99 },
        2000.0,
    );
    let alert = Row::below(
        "new-issue alert p99, export to webhook arrival, under the 70 % load",
        format!(
            "{a99:.0} ms (p50 {a50:.0} ms, {} probes, {} never)",
            samples.alert_ms.len(),
            samples.no_alert
        ),
        "< 1 s",
        if samples.no_alert > 0 { f64::INFINITY } else { a99 },
        1000.0,
    );
    (freshness, alert)
}

/// Refusals must be retryable ones, memory flat (within 25 %).
fn saturation_row(report: &Report, start: Memory, end: Memory) -> Row {
    let refused: u64 = report.refused.values().sum();
    let retryable = report.refused.keys().all(|code| code == "UNAVAILABLE" || code.contains("503"));
    let flat = end.rss as f64 <= start.rss as f64 * 1.25;
    let codes: Vec<String> = report.refused.iter().map(|(c, n)| format!("{c} {}", group(*n))).collect();
    Row::check(
        "2x capacity offered: refusals, latency p99, RSS start → end, acked == stored",
        format!(
            "{} refused ({}), {} exports failed after retries; export p99 {:.0} ms, attempt p99 {:.0} ms; RSS {} → {}; acked == stored",
            group(refused),
            if codes.is_empty() { "none".into() } else { codes.join(", ") },
            group(report.exports_failed),
            report.export_latency.p99_ms,
            report.attempt_latency.p99_ms,
            mib(start.rss),
            mib(end.rss)
        ),
        "retryable refusals once latency would exceed a bound; flat memory",
        refused > 0 && retryable && flat,
        if refused == 0 { "no refusals" } else if !retryable { "non-retryable refusals" } else { "RSS grew over 25 %" },
    )
}

/// The 20 % load on a fresh server with `storage.sync = sync`.
fn durability_run(suite: &mut Suite, sync: &str, duration: Duration) -> Report {
    let tmp = TempDir::new("faultline-suite-sync");
    let path = tmp.path().join("sync.toml");
    std::fs::write(&path, format!("[storage]\nsync = \"{sync}\"\n")).unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap()]);
    suite.load(
        &server,
        &format!("7. storage.sync = \"{sync}\", fresh server, 20 % errors"),
        &Load::new(0.2, duration),
    )
}
