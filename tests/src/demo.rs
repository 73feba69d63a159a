//! A day of traffic for a small shop, as OTLP trace exports: three services,
//! their routes with realistic latencies, a deploy half-way that brings a
//! new error, and failing requests with Python and Node stack traces. For
//! pictures of the explorer (the docs screenshots) and for trying it out.
//! Timestamps lie in the past, spread over `hours`, so charts have a shape.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use rand::{Rng, SeedableRng};

use crate::otlp::{kv, kv_int, now_nanos};

const HOUR: u64 = 3_600_000_000_000;

struct Route {
    service: &'static str,
    method: &'static str,
    route: &'static str,
    /// Median latency in ms; the tail is longer.
    median_ms: f64,
    /// Requests per simulated minute.
    per_minute: u32,
}

const ROUTES: &[Route] = &[
    Route { service: "checkout", method: "POST", route: "/cart/items", median_ms: 45.0, per_minute: 6 },
    Route { service: "checkout", method: "POST", route: "/checkout", median_ms: 180.0, per_minute: 3 },
    Route { service: "checkout", method: "GET", route: "/cart", median_ms: 20.0, per_minute: 8 },
    Route { service: "catalog", method: "GET", route: "/products/{id}", median_ms: 12.0, per_minute: 10 },
    Route { service: "catalog", method: "GET", route: "/search", median_ms: 90.0, per_minute: 4 },
    Route { service: "payments", method: "POST", route: "/charges", median_ms: 320.0, per_minute: 2 },
];

struct Failure {
    route: &'static str,
    exception_type: &'static str,
    message: &'static str,
    /// (file, function, line) from the outermost call to the raise site.
    frames: &'static [(&'static str, &'static str, u32)],
    /// Chance per request.
    rate: f64,
    /// Only after the deploy (a regression the new release brought).
    new_in_release: bool,
}

const FAILURES: &[Failure] = &[
    Failure {
        route: "/cart/items",
        exception_type: "KeyError",
        message: "'sku'",
        frames: &[
            ("/usr/lib/python3.12/site-packages/flask/app.py", "full_dispatch_request", 880),
            ("/srv/shop/cart/views.py", "add_item", 57),
            ("/srv/shop/cart/pricing.py", "price_of", 23),
        ],
        rate: 0.02,
        new_in_release: false,
    },
    Failure {
        route: "/checkout",
        exception_type: "ZeroDivisionError",
        message: "division by zero",
        frames: &[
            ("/usr/lib/python3.12/site-packages/flask/app.py", "full_dispatch_request", 880),
            ("/srv/shop/checkout/views.py", "checkout", 112),
            ("/srv/shop/checkout/discounts.py", "apply_discount", 41),
        ],
        rate: 0.06,
        new_in_release: true,
    },
    Failure {
        route: "/charges",
        exception_type: "TimeoutError",
        message: "upstream acquirer timed out after 5000 ms",
        frames: &[
            ("/usr/lib/python3.12/site-packages/httpx/_client.py", "send", 1014),
            ("/srv/payments/acquirer.py", "authorize", 88),
        ],
        rate: 0.03,
        new_in_release: false,
    },
    Failure {
        route: "/search",
        exception_type: "ValueError",
        message: "invalid page size 0",
        frames: &[("/srv/catalog/search.py", "parse_params", 19)],
        rate: 0.01,
        new_in_release: false,
    },
];

/// One export per service per simulated 10 minutes over the last `hours`,
/// the release changing from `1.4.0` to `1.5.0` half-way. Seeded, so the
/// same call gives the same traffic.
pub fn shop_day(hours: u64) -> Vec<ExportTraceServiceRequest> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let now = now_nanos();
    let start = now - hours * HOUR;
    let deploy = start + hours * HOUR / 2;
    let slice = 10 * 60_000_000_000u64;
    let mut exports = Vec::new();
    let mut t = start;
    while t + slice <= now {
        for service in ["checkout", "catalog", "payments"] {
            let release = if t >= deploy { "1.5.0" } else { "1.4.0" };
            let mut spans = Vec::new();
            for route in ROUTES.iter().filter(|r| r.service == service) {
                for _ in 0..route.per_minute * 10 {
                    let at = t + rng.random_range(0..slice);
                    spans.push(request_span(&mut rng, route, at, at >= deploy));
                }
            }
            exports.push(export(service, release, spans));
        }
        t += slice;
    }
    exports
}

fn request_span(rng: &mut impl Rng, route: &Route, end: u64, after_deploy: bool) -> Span {
    // A log-normal-ish latency: median times a long right tail.
    let tail: f64 = rng.random::<f64>().powi(6) * 8.0;
    let millis = route.median_ms * (0.6 + rng.random::<f64>() * 0.8) * (1.0 + tail);
    let failure = FAILURES
        .iter()
        .filter(|f| f.route == route.route && (!f.new_in_release || after_deploy))
        .find(|f| rng.random::<f64>() < f.rate);
    let user = format!("user-{}", rng.random_range(1..400));
    let mut attributes = vec![
        kv("http.route", route.route),
        kv("http.request.method", route.method),
        kv_int("http.response.status_code", if failure.is_some() { 500 } else { 200 }),
        kv("enduser.id", &user),
    ];
    attributes.push(kv("tenant", ["acme", "globex", "initech"][rng.random_range(0..3)]));
    let mut span = Span {
        trace_id: rng.random::<[u8; 16]>().to_vec(),
        span_id: rng.random::<[u8; 8]>().to_vec(),
        name: format!("{} {}", route.method, route.route),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: end - (millis * 1e6) as u64,
        end_time_unix_nano: end,
        attributes,
        ..Default::default()
    };
    if let Some(f) = failure {
        span.events.push(span::Event {
            time_unix_nano: end,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", f.exception_type),
                kv("exception.message", f.message),
                kv("exception.stacktrace", &python_trace(f)),
            ],
            ..Default::default()
        });
        span.status = Some(Status { code: status::StatusCode::Error as i32, message: f.message.into() });
    }
    span
}

fn python_trace(f: &Failure) -> String {
    let mut text = String::from("Traceback (most recent call last):\n");
    for (file, function, line) in f.frames {
        text.push_str(&format!("  File \"{file}\", line {line}, in {function}\n    ...\n"));
    }
    text.push_str(&format!("{}: {}", f.exception_type, f.message));
    text
}

fn export(service: &str, release: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    let resource: Vec<KeyValue> = vec![
        kv("service.name", service),
        kv("service.version", release),
        kv("deployment.environment.name", "production"),
        kv("host.name", &format!("{service}-1")),
        kv("telemetry.sdk.language", "python"),
    ];
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            ..Default::default()
        }],
    }
}
