#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::*;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

const PARENT: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// A SERVER span, child of a remote CLIENT span as servers usually are.
fn server(name: &str, attributes: Vec<KeyValue>) -> Span {
    Span { kind: SpanKind::Server as i32, parent_span_id: PARENT.to_vec(), attributes, ..span(name) }
}

fn child(kind: SpanKind, name: &str) -> Span {
    Span { kind: kind as i32, parent_span_id: PARENT.to_vec(), ..span(name) }
}

fn only_sample(spans: Vec<Span>) -> HealthSample {
    let mut samples = span_samples(&traces(spans));
    assert_eq!(samples.len(), 1, "{samples:#?}");
    samples.remove(0)
}

#[test]
fn server_span_with_the_stable_names() {
    let sample = only_sample(vec![server(
        "GET /users/{id}",
        vec![
            s("http.route", "/users/{id}"),
            s("http.request.method", "GET"),
            i("http.response.status_code", 200),
        ],
    )]);
    assert_eq!(
        sample.key,
        HealthKey {
            service: "checkout".into(),
            environment: "production".into(),
            route: "/users/{id}".into(),
            method: "GET".into(),
        }
    );
    assert_eq!(sample.at, 1_700_000_001_000_000_000);
    assert_eq!(sample.duration_ms, 1000.0);
    assert_eq!(sample.outcome, Outcome::Ok);
}

#[test]
fn outcomes_from_http_status_and_span_status() {
    let status = |code: i64| server("GET", vec![i("http.response.status_code", code)]);
    assert_eq!(only_sample(vec![status(404)]).outcome, Outcome::ClientError);
    assert_eq!(only_sample(vec![status(503)]).outcome, Outcome::ServerError);
    assert_eq!(only_sample(vec![status(302)]).outcome, Outcome::Ok);
    let failed = Span { status: error_status("db timeout"), ..server("GET", vec![]) };
    assert_eq!(only_sample(vec![failed]).outcome, Outcome::ServerError);
    let failed_4xx = Span { status: error_status(""), ..status(400) };
    assert_eq!(only_sample(vec![failed_4xx]).outcome, Outcome::ServerError);
    let ok_status = Span { status: Some(Status { code: 1, message: String::new() }), ..status(200) };
    assert_eq!(only_sample(vec![ok_status]).outcome, Outcome::Ok);
}

#[test]
fn old_semconv_names_and_string_status() {
    let sample = only_sample(vec![server(
        "POST /orders",
        vec![s("http.method", "POST"), s("http.status_code", "502"), s("http.route", "/orders")],
    )]);
    assert_eq!((sample.key.method.as_str(), sample.key.route.as_str()), ("POST", "/orders"));
    assert_eq!(sample.outcome, Outcome::ServerError);
}

#[test]
fn route_falls_back_to_the_span_name() {
    let sample = only_sample(vec![server("GET", vec![s("http.request.method", "GET"), s("http.route", "")])]);
    assert_eq!(sample.key.route, "GET");
    let long = only_sample(vec![server(&"x".repeat(10_000), vec![])]);
    assert!(long.key.route.len() < 300, "route parts are cut");
    assert_eq!(long.key.method, "");
}

#[test]
fn root_spans_that_are_not_servers_count() {
    let job = span("nightly-invoice-run");
    let sample = only_sample(vec![job]);
    assert_eq!((sample.key.route.as_str(), sample.key.method.as_str()), ("nightly-invoice-run", ""));
    let zero_parent =
        Span { parent_span_id: vec![0; 8], kind: SpanKind::Consumer as i32, ..span("orders process") };
    assert_eq!(only_sample(vec![zero_parent]).key.route, "orders process");
}

#[test]
fn child_internal_client_and_producer_spans_do_not_count() {
    let spans = vec![
        child(SpanKind::Internal, "render template"),
        child(SpanKind::Client, "GET"),
        child(SpanKind::Producer, "orders publish"),
        child(SpanKind::Consumer, "orders process"),
    ];
    assert!(span_samples(&traces(spans)).is_empty());
}

#[test]
fn consumer_with_a_remote_parent_counts() {
    let flags = SpanFlags::ContextHasIsRemoteMask as u32 | SpanFlags::ContextIsRemoteMask as u32;
    let consumer = Span { flags, ..child(SpanKind::Consumer, "orders process") };
    assert_eq!(only_sample(vec![consumer]).key.route, "orders process");
    let internal = Span { flags, ..child(SpanKind::Internal, "work") };
    assert!(span_samples(&traces(vec![internal])).is_empty());
}

#[test]
fn a_trace_yields_one_sample_per_request() {
    // checkout SERVER span -> internal -> client call; plus a job root.
    let root_server =
        Span { parent_span_id: Vec::new(), ..server("GET /cart", vec![s("http.route", "/cart")]) };
    let spans = vec![
        root_server,
        child(SpanKind::Internal, "load cart"),
        child(SpanKind::Client, "SELECT carts"),
        span("cleanup"),
    ];
    let routes: Vec<String> = span_samples(&traces(spans)).into_iter().map(|s| s.key.route).collect();
    assert_eq!(routes, ["/cart", "cleanup"]);
}

#[test]
fn bad_times_are_skipped() {
    let no_start = Span { start_time_unix_nano: 0, ..server("a", vec![]) };
    let no_end = Span { end_time_unix_nano: 0, ..server("b", vec![]) };
    let reversed = Span { end_time_unix_nano: 1_600_000_000_000_000_000, ..server("c", vec![]) };
    let endless = Span { end_time_unix_nano: 1_700_100_000_000_000_000, ..server("d", vec![]) };
    let beyond_i64 =
        Span { end_time_unix_nano: u64::MAX, start_time_unix_nano: u64::MAX - 5, ..server("e", vec![]) };
    let instant = Span { end_time_unix_nano: 1_700_000_000_000_000_000, ..server("f", vec![]) };
    let samples = span_samples(&traces(vec![no_start, no_end, reversed, endless, beyond_i64, instant]));
    assert_eq!(samples.len(), 1);
    assert_eq!((samples[0].key.route.as_str(), samples[0].duration_ms), ("f", 0.0));
}

#[test]
fn resource_defaults_and_old_environment_name() {
    let request = ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: None,
                scope_spans: vec![ScopeSpans { spans: vec![server("a", vec![])], ..Default::default() }],
                ..Default::default()
            },
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![s("service.name", "billing"), s("deployment.environment", "staging")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans { spans: vec![server("b", vec![])], ..Default::default() }],
                ..Default::default()
            },
        ],
    };
    let keys: Vec<(String, String)> =
        span_samples(&request).into_iter().map(|s| (s.key.service, s.key.environment)).collect();
    assert_eq!(
        keys,
        [("unknown_service".to_string(), String::new()), ("billing".to_string(), "staging".to_string())]
    );
}

/// `span_buckets` must count exactly what folding `span_samples` counts.
fn folded(
    req: &ExportTraceServiceRequest,
    slot: fn(UnixNanos) -> u64,
) -> Vec<(HealthKey, u64, HealthBucket)> {
    let mut out: Vec<(HealthKey, u64, HealthBucket)> = Vec::new();
    for sample in span_samples(req) {
        let at = slot(sample.at);
        match out.iter_mut().find(|(k, a, _)| *k == sample.key && *a == at) {
            Some((_, _, bucket)) => bucket.add(&sample),
            None => {
                let mut bucket = HealthBucket::default();
                bucket.add(&sample);
                out.push((sample.key, at, bucket));
            }
        }
    }
    out
}

#[test]
fn buckets_fold_the_samples_in_first_seen_order() {
    let minute = |at: UnixNanos| (at / 60_000_000_000) as u64;
    let long_route = "r".repeat(1_000);
    let later = |span: Span| Span {
        start_time_unix_nano: span.start_time_unix_nano + 120_000_000_000,
        end_time_unix_nano: span.end_time_unix_nano + 120_000_000_000,
        ..span
    };
    let spans = vec![
        server(
            "GET /a",
            vec![s("http.route", "/a"), s("http.request.method", "GET"), i("http.response.status_code", 200)],
        ),
        server("GET /b", vec![s("http.route", "/b"), i("http.response.status_code", 404)]),
        server(
            "GET /a",
            vec![s("http.route", "/a"), s("http.request.method", "GET"), i("http.response.status_code", 503)],
        ),
        later(server("GET /a", vec![s("http.route", "/a"), s("http.request.method", "GET")])),
        server("x", vec![s("http.route", &long_route), i("http.request.method", 7)]),
        server("x", vec![s("http.route", &long_route), i("http.request.method", 7)]),
        Span { status: error_status("boom"), ..server("GET /b", vec![s("http.route", "/b")]) },
        child(SpanKind::Internal, "not a request"),
        span("job"),
        server("dup", vec![s("http.route", "/first"), s("http.route", ""), s("http.method", "PUT")]),
    ];
    let mut req = traces(spans);
    req.resource_spans.push(ResourceSpans {
        resource: None,
        scope_spans: vec![ScopeSpans {
            spans: vec![server("GET /a", vec![s("http.route", "/a")])],
            ..Default::default()
        }],
        ..Default::default()
    });
    let buckets = span_buckets(&req, minute);
    assert_eq!(buckets, folded(&req, minute));
    let routes: Vec<&str> = buckets.iter().map(|(k, _, _)| k.route.as_str()).collect();
    assert_eq!(routes[..3], ["/a", "/b", "/a"], "first-seen order, a later minute apart");
    assert_eq!(buckets[0].2.requests, 2);
    assert!(buckets
        .iter()
        .any(|(k, _, _)| k.route.len() < 300 && k.route.starts_with("rrr") && k.method == "7"));
}
