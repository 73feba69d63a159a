//! Criterion benches of the ingest hot path's functions, one group each:
//!
//! - `decode`: an OTLP export like the load test's (512 spans, 8 span and
//!   5 resource attributes, 1 % or 20 % error spans carrying Python stack
//!   traces as exception events): prost decode alone, decode +
//!   `extract_traces`, decode + `extract_traces` + `span_samples` (what an
//!   ingest worker ran per export) and decode + `extract_traces` +
//!   `span_buckets` (what it runs now). Throughput in spans.
//! - `grouping`: `Grouper::group` over every recorded event of one runtime
//!   in `crates/faultline-grouping/corpus/`, per language. Throughput in
//!   events.
//! - `health`: `span_samples` and `add_samples` (folding samples into
//!   per-minute, per-endpoint buckets) over the same export, and
//!   `span_buckets`, which gives those buckets without samples. Throughput
//!   in spans. `health_accounting.rs` prints the same two functions on its own
//!   synthetic export beside extraction, without criterion; it stays as the
//!   quick figure, this one is the one to compare runs with.
//! - `event_record`: encoding and decoding the stored `EventRecord` of the
//!   events extracted from the 20 % export. Throughput in events.
//! - `index`: adding 4096 events to a fresh in-memory tantivy index (the
//!   engine's schema and writer) and committing once, as the indexer does
//!   per interval. Throughput in events.
//! - `commit`: one 20 % export's events and health buckets submitted to the
//!   in-memory store, waiting for the committer's answer (grouping done
//!   beforehand, indexing deferred). Throughput in events.
//!
//! Run: `cargo bench -p faultline-benches --bench hot_path` (a few minutes;
//! add a filter such as `-- grouping` for one group).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use faultline_grouping::Grouper;
use faultline_model::{Attributes, ErrorEvent, EventSource, Grouping};
use faultline_otlp::opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use faultline_otlp::opentelemetry_proto::tonic::resource::v1::Resource;
use faultline_otlp::opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use faultline_otlp::{extract_traces, span_buckets, span_samples, ExportTraceServiceRequest, Limits};
use faultline_store::bench_support::{decode_event, encode_event, BenchIndex};
use faultline_store::health::{add_samples, minute_of};
use faultline_store::{HealthBatch, Storage, StorageOptions};
use prost::Message;
use serde_json::Value;

const SPANS_PER_EXPORT: usize = 512;
const ROUTES: usize = 20;
/// Distinct failures, drawn with a long tail (a few frequent, most rare).
const FAILURE_KINDS: u64 = 200;
/// Events per index commit: about what 0.5 s of a 10k events/s stream holds.
const INDEX_BATCH: usize = 4096;
const NOW: u64 = 1_700_000_000_000_000_000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

/// xorshift64: deterministic, so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A CPython 3.11 traceback through a Flask-like service for failure kind
/// `kind`: framework frames, then a few of the application's, then the raise.
fn python_trace(kind: u64, id: u64) -> (String, String, String) {
    const TYPES: [&str; 6] =
        ["KeyError", "ValueError", "TypeError", "AttributeError", "RuntimeError", "shop.errors.OrderError"];
    let module = format!("shop/module{}.py", kind % 17);
    let mut trace = String::from("Traceback (most recent call last):\n");
    let frames: [(&str, u64, &str, &str); 5] = [
        (
            "/usr/local/lib/python3.11/site-packages/flask/app.py",
            1484,
            "full_dispatch_request",
            "rv = self.dispatch_request()",
        ),
        (
            "/usr/local/lib/python3.11/site-packages/flask/app.py",
            1469,
            "dispatch_request",
            "return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)",
        ),
        (
            "/srv/app/shop/views.py",
            40 + kind % 60,
            "handle_request",
            "return service.run(request.get_json())",
        ),
        ("/srv/app/shop/service.py", 100 + kind % 80, "run", "result = handlers[kind](payload)"),
        ("/srv/app/shop/validation.py", 12 + kind % 30, "check_payload", "validate(payload)"),
    ];
    for (file, line, function, code) in frames {
        trace.push_str(&format!("  File \"{file}\", line {line}, in {function}\n    {code}\n"));
    }
    trace.push_str(&format!(
        "  File \"/srv/app/{module}\", line {}, in handler_{kind}\n    raise {}(f\"order {{order_id}} rejected\")\n",
        10 + kind % 90,
        TYPES[(kind % 6) as usize],
    ));
    let exception_type = TYPES[(kind % 6) as usize].to_string();
    let message = format!("order {id} rejected by rule {kind}");
    trace.push_str(&format!("{exception_type}: {message}\n"));
    (exception_type, message, trace)
}

/// One export as the load test sends it: one Python service, half server
/// spans (each with a child span), `error_percent` of all spans failing
/// with a recorded exception (server spans also answer 500).
fn export(error_percent: u64, seed: u64) -> ExportTraceServiceRequest {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let spans = (0..SPANS_PER_EXPORT as u64)
        .map(|i| {
            let server = i % 2 == 0;
            let failing = rng.next() % 100 < error_percent;
            let route = format!("/api/v1/resource{}/{{id}}", i % ROUTES as u64);
            let start = NOW + i * 1_000_000;
            let status = if failing && server { 500 } else { 200 };
            let trace = seed * SPANS_PER_EXPORT as u64 + i / 2;
            let mut events = Vec::new();
            let mut span_status = None;
            if failing {
                let kind = (FAILURE_KINDS as f64 * rng.unit().powi(3)) as u64;
                let (exception_type, message, stacktrace) = python_trace(kind, rng.next() % 100_000);
                events.push(span::Event {
                    time_unix_nano: start + 500_000,
                    name: "exception".into(),
                    attributes: vec![
                        text("exception.type", &exception_type),
                        text("exception.message", &message),
                        text("exception.stacktrace", &stacktrace),
                        kv("exception.escaped", any_value::Value::BoolValue(true)),
                    ],
                    ..Default::default()
                });
                span_status = Some(Status { message, code: 2 });
            }
            Span {
                trace_id: [trace.to_be_bytes(), 1u64.to_be_bytes()].concat(),
                span_id: (i + 1).to_be_bytes().to_vec(),
                parent_span_id: if server { Vec::new() } else { i.to_be_bytes().to_vec() },
                name: if server { format!("GET {route}") } else { "db.query".into() },
                kind: if server { span::SpanKind::Server as i32 } else { span::SpanKind::Internal as i32 },
                start_time_unix_nano: start,
                end_time_unix_nano: start + (rng.next() % 300 + 1) * 1_000_000,
                attributes: vec![
                    text("http.route", &route),
                    text("http.request.method", "GET"),
                    kv("http.response.status_code", any_value::Value::IntValue(status)),
                    text(
                        "url.path",
                        &format!("/api/v1/resource{}/{}", i % ROUTES as u64, rng.next() % 100_000),
                    ),
                    text("url.scheme", "https"),
                    text("server.address", "shop.internal"),
                    text("client.address", "10.1.2.3"),
                    text("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"),
                ],
                events,
                status: span_status,
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    text("service.name", "shop"),
                    text("service.version", "2.14.1"),
                    text("deployment.environment.name", "prod"),
                    text("host.name", "shop-7f9c4d-x2k8p"),
                    text("telemetry.sdk.language", "python"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn configured() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn decode(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(SPANS_PER_EXPORT as u64));
    for percent in [1, 20] {
        let bytes = export(percent, 0).encode_to_vec();
        let events =
            extract_traces(&ExportTraceServiceRequest::decode(&bytes[..]).unwrap(), &limits, 0).events;
        println!(
            "decode: {percent}% errors: {} bytes per export, {} error events",
            bytes.len(),
            events.len()
        );
        let label = format!("{percent}pct_errors");
        group.bench_with_input(BenchmarkId::new("prost_decode", &label), &bytes, |b, bytes| {
            b.iter(|| ExportTraceServiceRequest::decode(black_box(&bytes[..])).unwrap());
        });
        group.bench_with_input(BenchmarkId::new("decode+extract", &label), &bytes, |b, bytes| {
            b.iter(|| {
                let req = ExportTraceServiceRequest::decode(black_box(&bytes[..])).unwrap();
                extract_traces(&req, &limits, NOW as i64)
            });
        });
        group.bench_with_input(BenchmarkId::new("decode+extract+samples", &label), &bytes, |b, bytes| {
            b.iter(|| {
                let req = ExportTraceServiceRequest::decode(black_box(&bytes[..])).unwrap();
                (extract_traces(&req, &limits, NOW as i64), span_samples(&req))
            });
        });
        group.bench_with_input(BenchmarkId::new("decode+extract+buckets", &label), &bytes, |b, bytes| {
            b.iter(|| {
                let req = ExportTraceServiceRequest::decode(black_box(&bytes[..])).unwrap();
                (extract_traces(&req, &limits, NOW as i64), span_buckets(&req, minute_of))
            });
        });
    }
    group.finish();
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/faultline-grouping/corpus")
}

fn field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Every recorded event of one runtime with its label, as an SDK would
/// have sent it (the way the grouping crate's corpus test builds them).
fn corpus(language: &str) -> Vec<(String, ErrorEvent)> {
    let path = corpus_dir().join(format!("{language}.jsonl"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            let mut event =
                ErrorEvent::blank(field(&value, "service").unwrap(), EventSource::SpanException, NOW as i64);
            event.environment = Some("corpus".into());
            event.sdk_language = field(&value, "language");
            event.level = "error".into();
            event.exception_type = field(&value, "type");
            event.message = field(&value, "message");
            event.stacktrace = field(&value, "stacktrace");
            event.escaped = Some(true);
            event.attributes = Attributes::new();
            (field(&value, "label").unwrap(), event)
        })
        .collect()
}

/// The event of `events` that takes longest to group, and its time (best
/// of a few runs): where a language's mean comes from.
fn slowest<'a>(grouper: &Grouper, events: &'a [(String, ErrorEvent)]) -> (&'a str, Duration) {
    let time = |event: &ErrorEvent| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                black_box(grouper.group(black_box(event)));
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    events.iter().map(|(label, event)| (label.as_str(), time(event))).max_by_key(|(_, t)| *t).unwrap()
}

fn grouping(c: &mut Criterion) {
    let grouper = Grouper::new();
    let mut group = c.benchmark_group("grouping");
    group.measurement_time(Duration::from_secs(5));
    for language in ["python", "java", "nodejs", "go", "ruby", "dotnet", "php", "rust"] {
        let corpus = corpus(language);
        let mean_trace =
            corpus.iter().filter_map(|(_, e)| e.stacktrace.as_ref()).map(String::len).sum::<usize>()
                / corpus.len();
        let (label, time) = slowest(&grouper, &corpus);
        println!(
            "grouping: {language}: {} events, {mean_trace} bytes of stack trace on average; slowest {label}: {:.1} µs",
            corpus.len(),
            time.as_secs_f64() * 1e6,
        );
        let events: Vec<ErrorEvent> = corpus.into_iter().map(|(_, e)| e).collect();
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(language), &events, |b, events| {
            b.iter(|| {
                for event in events {
                    black_box(grouper.group(black_box(event)));
                }
            });
        });
    }
    group.finish();
}

fn health(c: &mut Criterion) {
    let req = export(1, 0);
    let samples = span_samples(&req);
    println!("health: {} samples from {SPANS_PER_EXPORT} spans, {ROUTES} routes", samples.len());
    let mut group = c.benchmark_group("health");
    group.throughput(Throughput::Elements(SPANS_PER_EXPORT as u64));
    group.bench_function("span_samples", |b| b.iter(|| span_samples(black_box(&req))));
    group.bench_function("add_samples", |b| {
        b.iter(|| {
            let mut batch = HealthBatch::new();
            add_samples(&mut batch, black_box(&samples));
            batch
        });
    });
    // What the server runs instead of the two above: the buckets directly.
    group.bench_function("span_buckets", |b| b.iter(|| span_buckets(black_box(&req), minute_of)));
    group.finish();
}

/// The error events of `exports` 20 % exports with their groupings, each
/// with its own sequence number, as the committer receives them.
fn grouped_events(exports: u64) -> Vec<(ErrorEvent, Grouping)> {
    let grouper = Grouper::new();
    let limits = Limits::default();
    let mut seq = 0;
    (0..exports)
        .flat_map(|seed| extract_traces(&export(20, seed), &limits, NOW as i64).events)
        .map(|mut event| {
            seq += 1;
            event.seq = seq;
            event.group_id = 1 + seq % 50;
            let grouping = grouper.group(&event);
            (event, grouping)
        })
        .collect()
}

fn event_record(c: &mut Criterion) {
    let events = grouped_events(1);
    let encoded: Vec<Vec<u8>> = events.iter().map(|(e, g)| encode_event(e, &g.fingerprint)).collect();
    let bytes: usize = encoded.iter().map(Vec::len).sum();
    println!(
        "event_record: {} events, {} bytes per encoded record on average",
        events.len(),
        bytes / events.len()
    );
    let mut group = c.benchmark_group("event_record");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("encode", |b| {
        b.iter(|| {
            for (event, grouping) in &events {
                black_box(encode_event(black_box(event), &grouping.fingerprint));
            }
        });
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            for record in &encoded {
                black_box(decode_event(black_box(record)).unwrap());
            }
        });
    });
    group.finish();
}

fn index(c: &mut Criterion) {
    let mut events = grouped_events(INDEX_BATCH as u64 / 80);
    events.truncate(INDEX_BATCH);
    assert_eq!(events.len(), INDEX_BATCH, "enough events for one index batch");
    let mut group = c.benchmark_group("index");
    group.sample_size(10);
    group.throughput(Throughput::Elements(INDEX_BATCH as u64));
    group.bench_function(BenchmarkId::new("add+commit", INDEX_BATCH), |b| {
        b.iter_batched(
            || BenchIndex::new().unwrap(),
            |mut index| {
                for (event, grouping) in &events {
                    index.add(event, &grouping.fingerprint).unwrap();
                }
                index.commit().unwrap();
                index // dropped outside the timing
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn commit(c: &mut Criterion) {
    let mut events = grouped_events(1);
    for (event, _) in &mut events {
        event.seq = 0;
        event.group_id = 0;
    }
    let mut health = HealthBatch::new();
    add_samples(&mut health, &span_samples(&export(20, 0)));
    // Indexing deferred past the end (the store is leaked below, not shut
    // down) so the indexer does not share the two cores with the committer.
    let options = StorageOptions { index_commit_interval: Duration::from_secs(3600), ..Default::default() };
    let storage = Storage::in_memory(options).unwrap();
    let mut group = c.benchmark_group("commit");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("in_memory_submit", |b| {
        b.iter_batched(
            || (events.clone(), health.clone()),
            |(events, health)| storage.submit(events, health).unwrap().blocking_recv().unwrap().unwrap(),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    // Shutting down would index every committed event first, after an hour's wait.
    std::mem::forget(storage);
}

criterion_group! {
    name = hot_path;
    config = configured();
    targets = decode, grouping, health, event_record, index, commit
}
criterion_main!(hot_path);
