//! API health from real spans: the Rust SDK sends SERVER spans with known
//! durations and statuses; the API and /metrics report request counts,
//! error rates and percentiles within the sketch's 1% error bound.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use faultline_tests::{Server, TempDir};
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::Value;

fn provider(server: &Server) -> SdkTracerProvider {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.grpc_endpoint())
        .build()
        .unwrap();
    let resource = Resource::builder()
        .with_service_name("orders")
        .with_attributes([KeyValue::new("deployment.environment.name", "prod")])
        .build();
    SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build()
}

/// One request span that took exactly `ms` milliseconds, ending a little in the past.
fn request(provider: &SdkTracerProvider, route: &str, method: &str, status: i64, ms: u64) {
    let tracer = provider.tracer("e2e");
    let end = SystemTime::now() - Duration::from_secs(5);
    let start = end - Duration::from_millis(ms);
    let mut span = tracer
        .span_builder(format!("{method} {route}"))
        .with_kind(SpanKind::Server)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("http.route", route.to_string()),
            KeyValue::new("http.request.method", method.to_string()),
            KeyValue::new("http.response.status_code", status),
        ])
        .start(&tracer);
    if status >= 500 {
        span.set_status(Status::error("server error"));
    }
    span.end_with_timestamp(end);
}

/// A /healthz request with internal child spans: work inside a request,
/// not requests of their own.
fn request_with_internal_work(provider: &SdkTracerProvider) {
    let tracer = provider.tracer("e2e");
    let end = SystemTime::now() - Duration::from_secs(5);
    let parent = tracer
        .span_builder("GET /healthz")
        .with_kind(SpanKind::Server)
        .with_start_time(end - Duration::from_millis(2))
        .with_attributes([
            KeyValue::new("http.route", "/healthz"),
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200),
        ])
        .start(&tracer);
    let cx = opentelemetry::Context::current_with_span(parent);
    for _ in 0..10 {
        let mut child = tracer
            .span_builder("SELECT orders")
            .with_kind(SpanKind::Internal)
            .start_with_context(&tracer, &cx);
        child.end();
    }
    cx.span().end_with_timestamp(end);
}

fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    let rank = ((q * (sorted.len() - 1) as f64).round()) as usize;
    sorted[rank] as f64
}

fn within_one_percent(reported: &Value, exact: f64) {
    let v = reported.as_f64().unwrap_or_else(|| panic!("no value: {reported}"));
    // The sketch guarantees 1% relative error on the value at the rank.
    assert!((v - exact).abs() <= exact * 0.0101 + 1e-9, "reported {v}, exact {exact}");
}

#[test]
fn span_durations_and_statuses_become_endpoint_figures() {
    let server = Server::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let provider = provider(&server);

    // GET /orders/{id}: 1000 requests of 1..=1000 ms; 50 answered 500, 30 answered 404.
    let mut durations: Vec<u64> = Vec::new();
    for i in 1..=1000u64 {
        let status = if i % 20 == 0 {
            500
        } else if i % 33 == 0 {
            404
        } else {
            200
        };
        let ms = (i * 7919) % 1000 + 1; // every value 1..=1000 once, shuffled
        request(&provider, "/orders/{id}", "GET", status, ms);
        durations.push(ms);
    }
    for _ in 0..199 {
        request(&provider, "/healthz", "GET", 200, 2);
    }
    request_with_internal_work(&provider);
    provider.force_flush().unwrap();
    durations.sort_unstable();
    let expected_404 = (1..=1000u64).filter(|i| i % 20 != 0 && i % 33 == 0).count() as u64;

    let body = server.wait_for("/api/v1/services/orders/endpoints?window=1h", |b| {
        b["endpoints"].as_array().unwrap().iter().map(|e| e["requests"].as_u64().unwrap()).sum::<u64>()
            == 1200
    });
    let endpoints = body["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "internal spans are not endpoints: {body}");
    let orders = &endpoints[0];
    assert_eq!(orders["route"], "/orders/{id}");
    assert_eq!(orders["method"], "GET");
    assert_eq!(orders["requests"], 1000);
    assert_eq!(orders["errors"], 50);
    assert_eq!(orders["client_errors"], expected_404);
    assert!((orders["error_rate"].as_f64().unwrap() - 0.05).abs() < 1e-9);
    within_one_percent(&orders["p50_ms"], exact_quantile(&durations, 0.5));
    within_one_percent(&orders["p95_ms"], exact_quantile(&durations, 0.95));
    within_one_percent(&orders["p99_ms"], exact_quantile(&durations, 0.99));
    let health = &endpoints[1];
    assert_eq!(
        (health["route"].as_str(), health["requests"].as_u64(), health["errors"].as_u64()),
        (Some("/healthz"), Some(200), Some(0))
    );
    within_one_percent(&health["p99_ms"], 2.0);

    let services = server.get("/api/v1/services?window=1h");
    let svc = &services["services"][0];
    assert_eq!((svc["service"].as_str(), svc["requests"].as_u64()), (Some("orders"), Some(1200)));
    assert_eq!(svc["environments"], serde_json::json!(["prod"]));
    assert!((svc["error_rate"].as_f64().unwrap() - 50.0 / 1200.0).abs() < 1e-9);

    // Time series: per-minute requests add up; error_rate and p99 answer too.
    let series = server
        .get("/api/v1/timeseries?service=orders&route=/orders/%7Bid%7D&metric=requests&from=15m&step=1m");
    let total: f64 = series["points"].as_array().unwrap().iter().filter_map(|p| p["value"].as_f64()).sum();
    assert_eq!(total, 1000.0);
    let p99 = server.get("/api/v1/timeseries?service=orders&metric=p99&from=15m&step=15m");
    assert!(p99["points"].as_array().unwrap().iter().any(|p| p["value"].as_f64().is_some()));
    assert_eq!(server.get_raw("/api/v1/timeseries?metric=p42").0, 400);
    assert_eq!(server.get_raw("/api/v1/timeseries?from=1h&step=1s").0, 400);
    assert_eq!(server.get_raw("/api/v1/services?window=soon").0, 400);

    // Prometheus export of the same figures.
    let text = reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap();
    let labels = "service=\"orders\",environment=\"prod\",route=\"/orders/{id}\",method=\"GET\"";
    assert!(text.contains(&format!("faultline_http_requests_total{{{labels}}} 1000")), "{text}");
    assert!(text.contains(&format!("faultline_http_errors_total{{{labels}}} 50")), "{text}");
    assert!(
        text.contains(&format!("faultline_http_request_duration_ms{{{labels},quantile=\"0.99\"}}")),
        "{text}"
    );
    provider.shutdown().unwrap();
}

#[test]
fn request_duration_histograms_from_metrics_count_too() {
    use faultline_tests::otlp::{kv, kv_int, now_nanos, post_protobuf};
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{
        metric, AggregationTemporality, Histogram, HistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let server = Server::start();
    let now = now_nanos();
    let point = |status: i64, count: u64, bucket_counts: Vec<u64>| HistogramDataPoint {
        attributes: vec![
            kv("http.route", "/pay"),
            kv("http.request.method", "POST"),
            kv_int("http.response.status_code", status),
        ],
        start_time_unix_nano: now - 60_000_000_000,
        time_unix_nano: now - 1_000_000_000,
        count,
        explicit_bounds: vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
        bucket_counts,
        ..Default::default()
    };
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "payments")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "http.server.request.duration".into(),
                    unit: "s".into(),
                    data: Some(metric::Data::Histogram(Histogram {
                        data_points: vec![
                            point(200, 90, vec![0, 10, 50, 30, 0, 0, 0, 0, 0]),
                            point(503, 10, vec![0, 0, 0, 0, 0, 0, 10, 0, 0]),
                        ],
                        aggregation_temporality: AggregationTemporality::Delta as i32,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    assert_eq!(post_protobuf(&server.http_url("/v1/metrics"), &req).unwrap().0, 200);
    let body = server.get("/api/v1/services/payments/endpoints?window=1h");
    let pay = &body["endpoints"][0];
    assert_eq!((pay["route"].as_str(), pay["method"].as_str()), (Some("/pay"), Some("POST")));
    assert_eq!((pay["requests"].as_u64(), pay["errors"].as_u64()), (Some(100), Some(10)));
    // The median lies in the 10–25 ms bucket; a histogram only knows buckets.
    let p50 = pay["p50_ms"].as_f64().unwrap();
    assert!((10.0..=25.0).contains(&p50), "p50 {p50}");
}

#[test]
fn endpoints_over_the_cardinality_limit_collapse_into_other() {
    let tmp = TempDir::new("faultline-health-cap");
    let config = tmp.path().join("health.toml");
    std::fs::write(&config, "[health]\nmax_endpoints_per_service = 3\n").unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let provider = provider(&server);
    for i in 0..6 {
        request(&provider, &format!("/items/{i}"), "GET", 200, 10);
    }
    provider.force_flush().unwrap();
    let body = server.wait_for("/api/v1/services/orders/endpoints", |b| {
        b["endpoints"].as_array().unwrap().iter().map(|e| e["requests"].as_u64().unwrap()).sum::<u64>() == 6
    });
    let routes: Vec<&str> =
        body["endpoints"].as_array().unwrap().iter().map(|e| e["route"].as_str().unwrap()).collect();
    assert_eq!(routes.len(), 4, "{routes:?}");
    let other = body["endpoints"].as_array().unwrap().iter().find(|e| e["route"] == "other").unwrap();
    assert_eq!(other["requests"], 3);
    let text = reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap();
    assert!(text.contains("faultline_endpoints_overflowed_total 3"), "{text}");
    provider.shutdown().unwrap();
}
