//! The crash-safety soak, shared by the `crash` test (a short run) and the
//! `soak` bench (50+ rounds over minutes): clients export error spans with
//! unique markers over OTLP/gRPC, OTLP/HTTP protobuf and OTLP/HTTP JSON
//! until the server is stopped (SIGKILL at a random moment, or SIGTERM);
//! then it restarts on the same data directory and every export is
//! accounted for:
//!
//! - acknowledged: each of its events is stored exactly once;
//! - refused (a retryable 503 / UNAVAILABLE with a status body): none is;
//! - unanswered (the connection died): all of its events or none (never
//!   half-applied);
//! - the groups' counts add up to the distinct stored events (nothing
//!   counted twice), the health figures count each stored span once, and
//!   the search index catches up within a bounded wait.
//!
//! A client never retries an export's markers: an unanswered export is
//! settled by looking, which keeps the accounting exact.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span, status, Span, Status};
use prost::Message;
use rand::Rng;
use serde_json::Value;

use crate::otlp::{exception_span, kv, now_nanos, traces_request};
use crate::Server;

/// The service every soak span belongs to.
pub const SERVICE: &str = "soak";
/// Exception types: one group each.
pub const KINDS: [&str; 3] = ["SoakErrorA", "SoakErrorB", "SoakErrorC"];

/// How a client sends its exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// How the server is stopped at the end of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL: no shutdown code runs.
    Kill,
    /// SIGTERM; the process must exit 0 within the given time.
    Term { within: Duration },
}

#[derive(Debug, Clone)]
pub struct SoakConfig {
    pub rounds: usize,
    pub clients: Vec<Protocol>,
    /// How long the clients send before the stop, drawn per round.
    pub run: std::ops::Range<Duration>,
    /// Longest the search index may take to catch up after a restart.
    pub catch_up_limit: Duration,
}

/// One round, as the bench prints it.
#[derive(Debug, Clone, Default)]
pub struct RoundReport {
    pub round: usize,
    /// How long the clients sent before the stop.
    pub run: Duration,
    /// Exports attempted this round.
    pub exports: usize,
    /// Error events of acknowledged exports.
    pub acked_events: usize,
    /// Exports refused with a retryable answer.
    pub refused: usize,
    /// Exports whose connection died before an answer.
    pub unanswered: usize,
    /// Of those, the ones stored (entirely).
    pub unanswered_stored: usize,
    /// Error events of this round found stored.
    pub stored_events: usize,
    /// Markers found more than once (must be 0).
    pub duplicates: usize,
    /// The groups' total count after the restart (all rounds).
    pub total_counted: u64,
    /// From SIGTERM to the process's exit (SIGTERM rounds only).
    pub exit: Option<Duration>,
    pub restart: Duration,
    /// From ready to every stored event being searchable.
    pub catch_up: Duration,
    /// Every broken guarantee, described.
    pub violations: Vec<String>,
}

/// The totals over a soak.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub rounds: usize,
    pub exports: usize,
    pub acked_events: usize,
    pub refused: usize,
    pub unanswered: usize,
    pub unanswered_stored: usize,
    pub stored_events: usize,
    pub max_restart: Duration,
    pub max_catch_up: Duration,
    pub catch_ups: Vec<Duration>,
    pub restarts: Vec<Duration>,
    /// How long the clients sent, per round.
    pub runs: Vec<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Acked,
    Refused,
    Unanswered,
}

/// One export: its error events' markers and how it was answered.
#[derive(Debug, Clone)]
struct Batch {
    markers: Vec<String>,
    /// Server spans without an error, counted in the health figures only.
    healthy: usize,
    outcome: Outcome,
}

/// A soak over one server and data directory.
pub struct Soak {
    pub server: Server,
    config: SoakConfig,
    /// Error events stored so far (every round's, as found after its restart).
    stored_total: u64,
    /// Spans stored so far (error and healthy), for the health figures.
    stored_spans: u64,
    /// Every acknowledged marker, for the final check.
    acked: Vec<String>,
    summary: Summary,
}

impl Soak {
    pub fn start(config: SoakConfig, extra_args: &[&str]) -> Soak {
        Soak {
            server: Server::start_with(extra_args),
            config,
            stored_total: 0,
            stored_spans: 0,
            acked: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Runs every round with SIGKILL, calling `on_round` with each round's
    /// report before failing on its violations, then the final check.
    pub fn run(&mut self, mut on_round: impl FnMut(&RoundReport)) -> Summary {
        for round in 0..self.config.rounds {
            let report = self.round(round, Stop::Kill);
            on_round(&report);
            assert_no_violations(&report);
        }
        self.final_check();
        self.summary.clone()
    }

    /// One round: clients send, the server is stopped and restarted, and
    /// everything sent is accounted for.
    pub fn round(&mut self, round: usize, stop: Stop) -> RoundReport {
        let mut report = RoundReport { round, ..Default::default() };
        let run = rand::rng().random_range(self.config.run.clone());
        let batches = self.send_until_stopped(round, run, stop, &mut report);
        let started = Instant::now();
        self.server.restart();
        report.restart = started.elapsed();
        self.settle(round, &batches, &mut report);
        self.add_to_summary(&report);
        report
    }

    /// Clients export for `run`, then the server is stopped; returns every
    /// client's batches.
    fn send_until_stopped(
        &mut self,
        round: usize,
        run: Duration,
        stop: Stop,
        report: &mut RoundReport,
    ) -> Vec<Batch> {
        let halt = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = self
            .config
            .clients
            .iter()
            .enumerate()
            .map(|(id, &protocol)| {
                let client = Client { protocol, round, id, halt: halt.clone() };
                let target = match protocol {
                    Protocol::Grpc => self.server.grpc_endpoint(),
                    _ => self.server.http_url("/v1/traces"),
                };
                std::thread::spawn(move || client.run(&target))
            })
            .collect();
        std::thread::sleep(run);
        report.run = run;
        match stop {
            Stop::Kill => self.server.kill9(),
            Stop::Term { within } => {
                let started = Instant::now();
                // Waits a while past the limit, to report how long it took.
                let status = self.server.terminate_within(within * 2);
                let took = started.elapsed();
                report.exit = Some(took);
                match status {
                    None => report.violations.push(format!("SIGTERM: still running after {took:?}")),
                    Some(status) if !status.success() => {
                        report.violations.push(format!("SIGTERM: exit status {status}"))
                    }
                    Some(_) if took > within => {
                        report.violations.push(format!("SIGTERM: exit took {took:?}, over {within:?}"))
                    }
                    Some(_) => {}
                }
            }
        }
        halt.store(true, Ordering::SeqCst);
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    }

    /// After the restart: checks every batch of `round` against what is
    /// stored, and the totals against the groups and health figures.
    fn settle(&mut self, round: usize, batches: &[Batch], report: &mut RoundReport) {
        let counted: u64 = self.server.groups().iter().map(|g| g["count"].as_u64().unwrap()).sum();
        let requests = service_requests(&self.server);
        report.total_counted = counted;
        let ready = Instant::now();
        let deadline = ready + self.config.catch_up_limit;
        loop {
            let indexed = search_total(&self.server, &format!("service:{SERVICE}"));
            if indexed == counted {
                report.catch_up = ready.elapsed();
                break;
            }
            if Instant::now() > deadline {
                report.catch_up = ready.elapsed();
                report.violations.push(format!(
                    "index did not catch up within {:?}: {indexed} searchable, {counted} counted",
                    self.config.catch_up_limit
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let found = search_markers(&self.server, &format!("soak.round:r{round}"));
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for marker in &found {
            *seen.entry(marker.as_str()).or_default() += 1;
        }
        report.duplicates = seen.values().filter(|&&n| n > 1).count();
        if report.duplicates > 0 {
            report.violations.push(format!("{} markers stored more than once", report.duplicates));
        }
        report.stored_events = seen.len();
        let mut spans = 0u64;
        let mut known: HashSet<&str> = HashSet::new();
        for batch in batches {
            report.exports += 1;
            known.extend(batch.markers.iter().map(String::as_str));
            let present = batch.markers.iter().filter(|m| seen.contains_key(m.as_str())).count();
            let all = present == batch.markers.len();
            match batch.outcome {
                Outcome::Acked => {
                    report.acked_events += batch.markers.len();
                    self.acked.extend(batch.markers.iter().cloned());
                    if !all {
                        report.violations.push(format!(
                            "acknowledged export lost {} of {} events, e.g. {}",
                            batch.markers.len() - present,
                            batch.markers.len(),
                            batch.markers[0]
                        ));
                    }
                }
                Outcome::Refused => {
                    report.refused += 1;
                    if present > 0 {
                        report.violations.push(format!("refused export stored: {}", batch.markers[0]));
                    }
                }
                Outcome::Unanswered => {
                    report.unanswered += 1;
                    if all {
                        report.unanswered_stored += 1;
                    } else if present > 0 {
                        report.violations.push(format!(
                            "unanswered export half-applied: {present} of {} events, e.g. {}",
                            batch.markers.len(),
                            batch.markers[0]
                        ));
                    }
                }
            }
            if present > 0 {
                spans += (batch.markers.len() + batch.healthy) as u64;
            }
        }
        let strangers = seen.keys().filter(|m| !known.contains(*m)).count();
        if strangers > 0 {
            report.violations.push(format!("{strangers} stored markers were never sent"));
        }
        self.stored_total += report.stored_events as u64;
        self.stored_spans += spans;
        // Earlier rounds' events are settled: a total above the sum of what
        // each round found means something was counted twice or came back.
        if counted != self.stored_total {
            report.violations.push(format!(
                "groups count {counted} events, the rounds stored {} distinct ones",
                self.stored_total
            ));
        }
        if requests != self.stored_spans {
            report.violations.push(format!(
                "health figures count {requests} requests, {} spans are stored",
                self.stored_spans
            ));
        }
    }

    fn add_to_summary(&mut self, report: &RoundReport) {
        let s = &mut self.summary;
        s.rounds += 1;
        s.exports += report.exports;
        s.acked_events += report.acked_events;
        s.refused += report.refused;
        s.unanswered += report.unanswered;
        s.unanswered_stored += report.unanswered_stored;
        s.stored_events += report.stored_events;
        s.max_restart = s.max_restart.max(report.restart);
        s.max_catch_up = s.max_catch_up.max(report.catch_up);
        s.catch_ups.push(report.catch_up);
        s.restarts.push(report.restart);
        s.runs.push(report.run);
    }

    /// At the end: every acknowledged event of every round is still
    /// searchable exactly once, and each group's count is its events.
    pub fn final_check(&self) {
        let all = search_markers(&self.server, &format!("service:{SERVICE}"));
        let distinct: HashSet<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(distinct.len(), all.len(), "a marker is stored more than once");
        assert_eq!(all.len() as u64, self.stored_total, "stored events changed since their round");
        let missing: Vec<_> = self.acked.iter().filter(|m| !distinct.contains(m.as_str())).collect();
        assert!(
            missing.is_empty(),
            "{} acknowledged events lost, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        let groups = self.server.groups();
        for g in &groups {
            let id = g["id"].as_u64().unwrap();
            let events = paged(&self.server, &format!("/api/v1/groups/{id}/events?limit=1000"), |_| ());
            assert_eq!(g["count"].as_u64(), Some(events), "group {id}'s count is its events");
        }
        assert_eq!(groups.len(), KINDS.len(), "one group per exception type");
    }
}

/// Fails with every violation of the round.
pub fn assert_no_violations(report: &RoundReport) {
    assert!(report.violations.is_empty(), "round {}: {}", report.round, report.violations.join("; "));
}

/// One exporting client of one round.
struct Client {
    protocol: Protocol,
    round: usize,
    id: usize,
    halt: Arc<AtomicBool>,
}

impl Client {
    /// Exports batches until halted or the server goes away.
    fn run(self, target: &str) -> Vec<Batch> {
        match self.protocol {
            Protocol::Grpc => self.run_grpc(target),
            Protocol::HttpProtobuf | Protocol::HttpJson => self.run_http(target),
        }
    }

    fn run_http(self, url: &str) -> Vec<Batch> {
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        let json = self.protocol == Protocol::HttpJson;
        let mut batches = Vec::new();
        let mut n = 0;
        while !self.halt.load(Ordering::SeqCst) {
            let (mut batch, request) = self.next_batch(&mut n);
            let (content_type, body) = if json {
                ("application/json", serde_json::to_vec(&request).unwrap())
            } else {
                ("application/x-protobuf", request.encode_to_vec())
            };
            let sent = http.post(url).header("content-type", content_type).body(body).send();
            batch.outcome = match sent.map(|r| r.status().as_u16()) {
                Ok(200) => Outcome::Acked,
                Ok(503 | 429) => Outcome::Refused,
                Ok(status) => panic!("unexpected status {status} for {}", batch.markers[0]),
                Err(_) => Outcome::Unanswered,
            };
            let gone = batch.outcome == Outcome::Unanswered;
            if batch.outcome == Outcome::Refused {
                std::thread::sleep(Duration::from_millis(50));
            }
            batches.push(batch);
            if gone {
                break;
            }
        }
        batches
    }

    fn run_grpc(self, endpoint: &str) -> Vec<Batch> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut batches = Vec::new();
            let Ok(mut client) = TraceServiceClient::connect(endpoint.to_string()).await else {
                return batches;
            };
            let mut n = 0;
            while !self.halt.load(Ordering::SeqCst) {
                let (mut batch, request) = self.next_batch(&mut n);
                let sent = tokio::time::timeout(Duration::from_secs(20), client.export(request)).await;
                batch.outcome = match sent {
                    Ok(Ok(_)) => Outcome::Acked,
                    // The server's refusals carry a google.rpc.Status; a
                    // broken connection's status carries none.
                    Ok(Err(status))
                        if status.code() == tonic::Code::Unavailable && !status.details().is_empty() =>
                    {
                        Outcome::Refused
                    }
                    Ok(Err(_)) | Err(_) => Outcome::Unanswered,
                };
                let gone = batch.outcome == Outcome::Unanswered;
                if batch.outcome == Outcome::Refused {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                batches.push(batch);
                if gone {
                    break;
                }
            }
            batches
        })
    }

    /// 1-4 error spans with fresh markers and 0-2 healthy server spans.
    fn next_batch(&self, n: &mut usize) -> (Batch, ExportTraceServiceRequest) {
        let mut rng = rand::rng();
        *n += 1;
        let markers: Vec<String> = (0..rng.random_range(1..=4))
            .map(|i| format!("r{}-c{}-b{}-e{i}", self.round, self.id, n))
            .collect();
        let round = format!("r{}", self.round);
        let mut spans: Vec<Span> = markers
            .iter()
            .map(|marker| {
                let kind = KINDS[rng.random_range(0..KINDS.len())];
                let attrs = vec![kv("test.marker", marker), kv("soak.round", &round)];
                exception_span("POST /soak", kind, "worker crashed", attrs)
            })
            .collect();
        let healthy = rng.random_range(0..=2);
        spans.extend((0..healthy).map(|_| healthy_span()));
        let batch = Batch { markers, healthy, outcome: Outcome::Unanswered };
        (batch, traces_request(SERVICE, spans))
    }
}

/// A server span that went well: a request in the health figures, no event.
fn healthy_span() -> Span {
    let now = now_nanos();
    Span {
        trace_id: rand::random::<[u8; 16]>().to_vec(),
        span_id: rand::random::<[u8; 8]>().to_vec(),
        name: "GET /soak".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: now - 1_000_000,
        end_time_unix_nano: now,
        attributes: vec![kv("http.route", "/soak"), kv("http.request.method", "GET")],
        status: Some(Status { code: status::StatusCode::Ok as i32, message: String::new() }),
        ..Default::default()
    }
}

/// The number of events matching `query`.
fn search_total(server: &Server, query: &str) -> u64 {
    server.get(&format!("/api/v1/search?q={query}&limit=1"))["total"].as_u64().unwrap()
}

/// The marker of every event matching `query` (repeats kept).
fn search_markers(server: &Server, query: &str) -> Vec<String> {
    let mut markers = Vec::new();
    paged(server, &format!("/api/v1/search?q={query}&limit=500"), |e| {
        markers.push(e["attributes"]["test.marker"].as_str().unwrap().to_string())
    });
    markers
}

/// Walks every page of a paged event list; returns how many events it had.
fn paged(server: &Server, path: &str, mut each: impl FnMut(&Value)) -> u64 {
    let mut n = 0;
    let mut page = server.get(path);
    loop {
        for e in page["events"].as_array().unwrap() {
            each(e);
            n += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => page = server.get(&format!("{path}&cursor={c}")),
            None => return n,
        }
    }
}

/// Requests counted for the soak's service over the last hour.
pub fn service_requests(server: &Server) -> u64 {
    let services = server.get("/api/v1/services?window=1h");
    let all = services["services"].as_array().unwrap();
    all.iter().filter(|s| s["service"] == SERVICE).map(|s| s["requests"].as_u64().unwrap()).sum()
}
