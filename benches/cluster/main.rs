//! Issue 15's measurement: events per second acknowledged by 1, 2 and 4
//! Faultline nodes sharing one PostgreSQL database, and by the embedded
//! engine alone on the same load as the reference line.
//!
//! Run: `cargo bench -p faultline-benches --bench cluster` (about 3
//! minutes plus the build). Options after `--`: `--secs S` per
//! configuration (default 30), `--nodes 1,2,4`, `--clients N` (default 16,
//! spread over the nodes), `--error-ratio R` (default 0.2), `--no-embedded`.
//!
//! It starts one PostgreSQL of its own (`faultline_pg_testing::dedicated`)
//! set up as a durable production server would be (see `SETTINGS`:
//! `fsync`, `synchronous_commit` and `full_page_writes` on, so an
//! acknowledged export is on disk), then per configuration a fresh
//! database and N release-build nodes on it (`--store`), and drives them
//! with the load generator's library over OTLP/gRPC, its clients spread
//! over the nodes, as fast as acknowledgements come back. Per
//! configuration it prints acknowledged spans/s and error events/s, export
//! latency p50/p99, the database's commits/s, WAL and table bytes per
//! event, where the CPU went (nodes, database, this process with the load
//! generator, the rest of the machine, in cores) and what the database's
//! backends were waiting on (sampled `pg_stat_activity`). It fails when the
//! events stored differ from the events acknowledged.
#![allow(clippy::unwrap_used)]

#[path = "../suite/machine.rs"]
mod machine;
mod usage;
mod waits;

use std::time::Duration;

use clap::Parser;
use faultline_loadgen::{Args, Report};
use faultline_tests::Server;
use usage::{Cores, Usage};

/// The PostgreSQL settings of the run, over PostgreSQL 15's defaults
/// (which already have `fsync`, `synchronous_commit` and
/// `full_page_writes` on; they are named to be sure). Sized like a small
/// dedicated server: a quarter of a few GB of memory as shared buffers,
/// WAL large enough that no checkpoint falls inside a few minutes' run.
const SETTINGS: &[(&str, &str)] = &[
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("full_page_writes", "on"),
    ("shared_buffers", "512MB"),
    ("wal_buffers", "16MB"),
    ("max_wal_size", "4GB"),
    ("checkpoint_timeout", "15min"),
    ("max_connections", "200"),
];

struct Options {
    secs: u64,
    nodes: Vec<usize>,
    clients: usize,
    error_ratio: f64,
    embedded: bool,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options { secs: 30, nodes: vec![1, 2, 4], clients: 16, error_ratio: 0.2, embedded: true };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().unwrap_or_else(|| panic!("{name} takes a value"));
            match arg.as_str() {
                "--bench" => {}
                "--no-embedded" => o.embedded = false,
                "--secs" => o.secs = value("--secs").parse().expect("--secs takes seconds"),
                "--clients" => o.clients = value("--clients").parse().expect("--clients takes a number"),
                "--error-ratio" => {
                    o.error_ratio = value("--error-ratio").parse().expect("--error-ratio takes 0..1")
                }
                "--nodes" => {
                    o.nodes = value("--nodes")
                        .split(',')
                        .map(|n| n.trim().parse().expect("--nodes takes e.g. 1,2,4"))
                        .collect()
                }
                other => panic!(
                    "unknown argument {other:?}; takes --secs S, --nodes 1,2,4, --clients N, --error-ratio R, --no-embedded"
                ),
            }
        }
        o
    }
}

/// One configuration's figures.
struct Row {
    name: String,
    report: Report,
    cores: Cores,
    database: Option<DatabaseFigures>,
}

/// What the database did during one configuration's run.
struct DatabaseFigures {
    commits_per_s: f64,
    /// Transactions that wrote events (distinct `committed_xid`), per second.
    ingest_commits_per_s: f64,
    rollbacks: i64,
    deadlocks: i64,
    wal_bytes_per_event: f64,
    size_bytes_per_event: f64,
    waits: String,
}

/// Cumulative counters of one database (and the cluster's WAL position).
#[derive(Debug, Clone, Copy)]
struct Counters {
    commits: i64,
    rollbacks: i64,
    deadlocks: i64,
    wal_lsn: f64,
    size: f64,
}

fn counters(pg: &faultline_pg_testing::Server, db: &str) -> Counters {
    let row = pg
        .query(
            db,
            &format!(
                "SELECT xact_commit, xact_rollback, deadlocks, pg_current_wal_lsn() - '0/0', pg_database_size('{db}') \
                 FROM pg_stat_database WHERE datname = '{db}'"
            ),
        )
        .unwrap();
    let f: Vec<&str> = row.split('|').collect();
    let int = |i: usize| f[i].parse::<i64>().unwrap();
    Counters {
        commits: int(0),
        rollbacks: int(1),
        deadlocks: int(2),
        wal_lsn: f[3].parse().unwrap(),
        size: f[4].parse().unwrap(),
    }
}

fn main() {
    let options = Options::parse();
    if std::env::var_os("FAULTLINE_LOG").is_none() {
        // The nodes' warnings on shutdown (leadership given up) are expected here.
        std::env::set_var("FAULTLINE_LOG", "error");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("machine: {}", machine::describe());
    println!("commit: {}", commit());
    println!(
        "load: {} clients over OTLP/gRPC, 512 spans per export, {:.0} % errors, as fast as acks allow, {} s per configuration",
        options.clients,
        options.error_ratio * 100.0,
        options.secs
    );
    let mut rows = Vec::new();
    let mut seed = 1500;
    if options.embedded {
        seed += 1;
        rows.push(embedded(&rt, &options, seed));
    }
    let pg = faultline_pg_testing::dedicated(SETTINGS).unwrap();
    let version = pg.query("postgres", "SHOW server_version").unwrap();
    let settings: Vec<String> = SETTINGS.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("PostgreSQL {version} (same machine, data in {}): {}", pg.dir.display(), settings.join(", "));
    for &n in &options.nodes {
        seed += 1;
        rows.push(cluster(&rt, &pg, &options, n, seed));
    }
    print_table(&rows);
    println!("\nload average at the end: {}", machine::load_average());
}

/// The embedded engine alone (its data directory, `storage.sync = "fsync"`).
fn embedded(rt: &tokio::runtime::Runtime, options: &Options, seed: u64) -> Row {
    println!("\n=== embedded engine, 1 node (load average {})", machine::load_average());
    let server = Server::start();
    let pid = server.pid().unwrap();
    let before = Usage::now(&[pid], None);
    let report = rt.block_on(faultline_loadgen::run(&load(options, &[&server], seed))).unwrap();
    let cores = before.until(&Usage::now(&[pid], None));
    let verification = rt
        .block_on(faultline_loadgen::verify(
            &server.api_url(""),
            &report.run_id,
            report.error_events_acked,
            Duration::from_secs(180),
            None,
        ))
        .unwrap();
    assert!(
        verification.matched,
        "embedded: acked {} error events but {} are stored",
        verification.acked, verification.stored
    );
    print_run(&report, &cores);
    println!(
        "    stored: {} error events, all acknowledged ones (searched through the API)",
        verification.stored
    );
    Row { name: "embedded".into(), report, cores, database: None }
}

/// `n` nodes on a fresh database of `pg`.
fn cluster(
    rt: &tokio::runtime::Runtime,
    pg: &faultline_pg_testing::Server,
    options: &Options,
    n: usize,
    seed: u64,
) -> Row {
    println!("\n=== PostgreSQL, {n} node(s) (load average {})", machine::load_average());
    let db = pg.create_database(&format!("cluster_{n}_nodes")).unwrap();
    let url = db.url();
    let mut nodes: Vec<Server> = (0..n).map(|_| Server::start_with(&["--store", &url])).collect();
    let pids: Vec<u32> = nodes.iter().map(|s| s.pid().unwrap()).collect();
    let postmaster = pg.postmaster_pid().unwrap();
    let node_refs: Vec<&Server> = nodes.iter().collect();
    let config = load(options, &node_refs, seed);

    let start = counters(pg, &db.name);
    let sampler = waits::Sampler::start(pg, &db.name);
    let before = Usage::now(&pids, Some(postmaster));
    let report = rt.block_on(faultline_loadgen::run(&config)).unwrap();
    let cores = before.until(&Usage::now(&pids, Some(postmaster)));
    let waits = sampler.finish();
    // Stopped nodes' backends report their last statistics as they exit.
    for node in &mut nodes {
        node.terminate_within(Duration::from_secs(15));
    }
    std::thread::sleep(Duration::from_millis(500));
    let end = counters(pg, &db.name);

    let counts = pg.query(&db.name, "SELECT count(*), count(DISTINCT committed_xid) FROM events").unwrap();
    let (stored, ingest_commits) = counts.split_once('|').unwrap();
    let (stored, ingest_commits): (u64, u64) = (stored.parse().unwrap(), ingest_commits.parse().unwrap());
    let events = report.error_events_acked.max(1) as f64;
    let figures = DatabaseFigures {
        commits_per_s: (end.commits - start.commits) as f64 / report.duration_s.max(1e-9),
        ingest_commits_per_s: ingest_commits as f64 / report.duration_s.max(1e-9),
        rollbacks: end.rollbacks - start.rollbacks,
        deadlocks: end.deadlocks - start.deadlocks,
        wal_bytes_per_event: (end.wal_lsn - start.wal_lsn) / events,
        size_bytes_per_event: (end.size - start.size) / events,
        waits: waits.summary(6),
    };
    print_run(&report, &cores);
    println!(
        "    database: {:.0} commits/s, of which {:.0}/s wrote events ({:.1} exports per commit), {} rollbacks, {} deadlocks, {:.0} B of WAL and {:.0} B of database per event",
        figures.commits_per_s,
        figures.ingest_commits_per_s,
        report.exports_acked as f64 / ingest_commits.max(1) as f64,
        figures.rollbacks,
        figures.deadlocks,
        figures.wal_bytes_per_event,
        figures.size_bytes_per_event
    );
    println!("    backends: {}", figures.waits);
    println!("    stored: {stored} error events (acknowledged: {})", report.error_events_acked);
    check_stored(n, stored, &report);
    Row {
        name: format!("postgres, {n} node{}", if n == 1 { "" } else { "s" }),
        report,
        cores,
        database: Some(figures),
    }
}

/// Every acknowledged event must be stored, once. An attempt the client
/// gave up on (its timeout, a dropped connection) may have committed after
/// all and been sent again, so then more may be stored, never fewer; a
/// refusal by the server's admission stored nothing.
fn check_stored(n: usize, stored: u64, report: &Report) {
    let unsure = ["transport", "DEADLINE_EXCEEDED", "CANCELLED"];
    let gave_up = report.exports_failed > 0 || unsure.iter().any(|code| report.refused.contains_key(*code));
    if !report.refused.is_empty() {
        println!("    refused attempts: {:?}", report.refused);
    }
    if gave_up {
        assert!(stored >= report.error_events_acked, "{n} nodes: acknowledged events are missing");
    } else {
        assert_eq!(
            stored, report.error_events_acked,
            "{n} nodes: stored events differ from acknowledged ones"
        );
    }
}

/// The load generator's configuration: `options.clients` spread over the
/// nodes' gRPC endpoints (client i sends to node i mod n).
fn load(options: &Options, nodes: &[&Server], seed: u64) -> faultline_loadgen::Config {
    let mut args = vec!["faultline-loadgen".to_string()];
    for node in nodes {
        args.extend(["--endpoint".into(), node.grpc_endpoint()]);
    }
    args.extend([
        "--clients".into(),
        options.clients.to_string(),
        "--error-ratio".into(),
        options.error_ratio.to_string(),
        "--duration".into(),
        format!("{}s", options.secs),
        "--seed".into(),
        seed.to_string(),
    ]);
    Args::try_parse_from(args).unwrap().into_config().unwrap()
}

fn print_run(report: &Report, cores: &Cores) {
    println!(
        "    {:.0} spans/s, {:.0} error events/s acknowledged over {:.1} s; export latency p50 {:.0} ms, p99 {:.0} ms; {} failed, {} retried",
        report.spans_per_s,
        report.error_events_per_s,
        report.duration_s,
        report.export_latency.p50_ms,
        report.export_latency.p99_ms,
        report.exports_failed,
        report.retried
    );
    println!(
        "    CPU in cores: nodes {:.2}, database {:.2}, load generator {:.2}, other work {:.2} (machine {:.2} of {})",
        cores.nodes,
        cores.database,
        cores.bench,
        cores.other,
        cores.machine,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<20} {:>9} {:>9} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>8}",
        "configuration",
        "spans/s",
        "events/s",
        "p50 ms",
        "p99 ms",
        "nodes",
        "db",
        "gen",
        "other",
        "commits/s",
        "ingest/s",
        "WAL B/ev"
    );
    for r in rows {
        let (commits, ingest, wal) = match &r.database {
            Some(d) => (
                format!("{:.0}", d.commits_per_s),
                format!("{:.0}", d.ingest_commits_per_s),
                format!("{:.0}", d.wal_bytes_per_event),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<20} {:>9.0} {:>9.0} {:>7.0} {:>7.0} {:>6.2} {:>6.2} {:>6.2} {:>6.2} {:>9} {:>9} {:>8}",
            r.name,
            r.report.spans_per_s,
            r.report.error_events_per_s,
            r.report.export_latency.p50_ms,
            r.report.export_latency.p99_ms,
            r.cores.nodes,
            r.cores.database,
            r.cores.bench,
            r.cores.other,
            commits,
            ingest,
            wal
        );
    }
    println!(
        "(CPU columns in cores: nodes, database, load generator (this process), other work on the machine; \
         commits/s: all of the database's, ingest/s: those that wrote events)"
    );
}

/// The workspace's commit (and whether it has uncommitted changes).
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(faultline_tests::workspace())
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let dirty =
        if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() { "" } else { " (modified)" };
    format!("{}{dirty}", git(&["rev-parse", "--short", "HEAD"]))
}
