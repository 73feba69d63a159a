//! What health accounting costs per span: turning an OTLP export's spans
//! into samples (`span_samples`) and folding them into per-minute,
//! per-endpoint buckets with latency sketches (`add_samples`). Error
//! extraction over the same export is timed beside it for scale.
//!
//! Run: `cargo bench -p faultline-benches --bench health_accounting`.
//! `hot_path.rs` (group `health`) measures the same two functions under
//! criterion, on the load test's export; figures in `RESULTS.md`.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use faultline_otlp::opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use faultline_otlp::opentelemetry_proto::tonic::resource::v1::Resource;
use faultline_otlp::opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span};
use faultline_otlp::{extract_traces, span_samples, ExportTraceServiceRequest, Limits};
use faultline_store::health::add_samples;
use faultline_store::HealthBatch;

const SPANS_PER_EXPORT: usize = 512;
const ROUTES: usize = 20;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(value.into()))
}

/// An export like an instrumented web service sends: server spans over a
/// few routes, each with a child span, about 1% failing.
fn export() -> ExportTraceServiceRequest {
    let now: u64 = 1_700_000_000_000_000_000;
    let spans = (0..SPANS_PER_EXPORT)
        .map(|i| {
            let server = i % 2 == 0;
            let status = if i % 97 == 0 { 503 } else { 200 };
            let route = format!("/api/v1/resource{}/{{id}}", i % ROUTES);
            Span {
                trace_id: vec![1; 16],
                span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                parent_span_id: if server { Vec::new() } else { (i as u64).to_be_bytes().to_vec() },
                name: format!("GET {route}"),
                kind: if server { span::SpanKind::Server as i32 } else { span::SpanKind::Internal as i32 },
                start_time_unix_nano: now + i as u64 * 1_000_000,
                end_time_unix_nano: now + i as u64 * 1_000_000 + (i as u64 % 300 + 1) * 1_000_000,
                attributes: vec![
                    text("http.route", &route),
                    text("http.request.method", "GET"),
                    kv("http.response.status_code", any_value::Value::IntValue(status)),
                    text("url.path", "/api/v1/resource/12345"),
                    text("user_agent.original", "Mozilla/5.0"),
                ],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", "bench"), text("deployment.environment.name", "prod")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}

/// Runs `f` for about `budget`, returns nanoseconds per span.
fn per_span(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..20 {
        f(); // warm up
    }
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < budget {
        f();
        runs += 1;
    }
    start.elapsed().as_nanos() as f64 / (runs as f64 * SPANS_PER_EXPORT as f64)
}

fn main() {
    let req = export();
    let limits = Limits::default();
    let budget = Duration::from_secs(2);
    let samples = span_samples(&req);
    assert_eq!(samples.len(), SPANS_PER_EXPORT / 2, "one sample per server span");

    let sampling = per_span(budget, || {
        black_box(span_samples(black_box(&req)));
    });
    let folding = per_span(budget, || {
        let mut batch = HealthBatch::new();
        add_samples(&mut batch, black_box(&samples));
        black_box(batch);
    });
    let extraction = per_span(budget, || {
        black_box(extract_traces(black_box(&req), &limits, 0));
    });
    println!("health accounting, {SPANS_PER_EXPORT} spans per export, {ROUTES} routes:");
    println!("  span_samples:            {sampling:8.1} ns/span");
    println!("  add_samples (buckets):   {folding:8.1} ns/span");
    println!("  health total:            {:8.1} ns/span", sampling + folding);
    println!("  error extraction (scale): {extraction:7.1} ns/span");
}
