//! Crash safety under sustained load: the soak of `faultline_tests::soak`
//! (the `crash` test runs the same checks in a short run) for `ROUNDS`
//! rounds. Each round, `CLIENTS` export error spans with unique markers
//! (and some healthy spans) as fast as the server answers, over OTLP/gRPC,
//! OTLP/HTTP protobuf and OTLP/HTTP JSON, for 2-8 s drawn at random; then
//! the server is killed with SIGKILL and restarted on the same data
//! directory, and every export is accounted for: acknowledged events
//! stored exactly once, refused ones absent, unanswered ones stored whole
//! or not at all, group counts and health figures equal to what is stored,
//! the index caught up within 60 s. Any violation fails the bench.
//!
//! Prints one row per round and a summary. The server is the release
//! binary of this workspace (built when missing or stale).
//!
//! Run: `cargo bench -p faultline-benches --bench soak` (about 7 minutes
//! plus the build); `-- --rounds N` changes the number of rounds.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use faultline_tests::soak::{Protocol, RoundReport, Soak, SoakConfig};

const ROUNDS: usize = 50;
const CLIENTS: [Protocol; 7] = [
    Protocol::Grpc,
    Protocol::Grpc,
    Protocol::Grpc,
    Protocol::HttpProtobuf,
    Protocol::HttpProtobuf,
    Protocol::HttpProtobuf,
    Protocol::HttpJson,
];

fn main() {
    let rounds = rounds_arg().unwrap_or(ROUNDS);
    let config = SoakConfig {
        rounds,
        clients: CLIENTS.to_vec(),
        run: Duration::from_secs(2)..Duration::from_secs(8),
        catch_up_limit: Duration::from_secs(60),
    };
    println!(
        "soak: {rounds} rounds, {} clients (3 gRPC, 3 HTTP protobuf, 1 HTTP JSON), SIGKILL after 2-8 s",
        CLIENTS.len()
    );
    println!(
        "{:>5} {:>6} {:>7} {:>9} {:>7} {:>10} {:>13} {:>7} {:>5} {:>9} {:>9} {:>9}",
        "round",
        "run s",
        "exports",
        "acked ev",
        "refused",
        "unanswered",
        "unans. stored",
        "stored",
        "dups",
        "total",
        "restart",
        "catch-up"
    );
    let started = Instant::now();
    let mut soak = Soak::start(config, &[]);
    let summary = soak.run(print_row);
    let elapsed = started.elapsed();
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    println!();
    println!("rounds: {}, wall time {:.0} s", summary.rounds, elapsed.as_secs_f64());
    println!(
        "exports: {} ({:.0}/s of sending), acknowledged events: {}, refused exports: {}",
        summary.exports,
        summary.exports as f64 / soak_sending(&summary),
        summary.acked_events,
        summary.refused
    );
    println!(
        "unanswered exports: {} ({} stored whole, {} absent, 0 half-applied)",
        summary.unanswered,
        summary.unanswered_stored,
        summary.unanswered - summary.unanswered_stored
    );
    println!("stored events: {} (each once; every acknowledged one among them)", summary.stored_events);
    println!(
        "restart to ready: median {:?}, max {:?}; index catch-up: median {:?}, max {:?}",
        median(&summary.restarts),
        summary.max_restart,
        median(&summary.catch_ups),
        summary.max_catch_up
    );
    println!("violations: none");
}

/// Seconds the clients spent sending, summed over rounds (printed rows).
fn soak_sending(summary: &faultline_tests::soak::Summary) -> f64 {
    summary.runs.iter().map(Duration::as_secs_f64).sum::<f64>().max(1e-9)
}

fn print_row(r: &RoundReport) {
    println!(
        "{:>5} {:>6.1} {:>7} {:>9} {:>7} {:>10} {:>13} {:>7} {:>5} {:>9} {:>9} {:>9}",
        r.round,
        r.run.as_secs_f64(),
        r.exports,
        r.acked_events,
        r.refused,
        r.unanswered,
        r.unanswered_stored,
        r.stored_events,
        r.duplicates,
        r.total_counted,
        format!("{:.0?}", r.restart),
        format!("{:.0?}", r.catch_up),
    );
    for v in &r.violations {
        println!("      VIOLATION: {v}");
    }
}

/// `--rounds N` among the arguments (cargo bench adds its own, e.g. `--bench`).
fn rounds_arg() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == "--rounds").and_then(|i| args.get(i + 1)).and_then(|n| n.parse().ok())
}
