//! The health pages in a real headless Chromium against the real binary:
//! the Rust SDK sends SERVER spans of known durations and statuses, an HTTP
//! check probes a local server the test switches from healthy to failing,
//! and the pages show what a user needs: each service's figures (p95 within
//! the sketch's 1% error), its endpoints most failing or slowest first, one
//! endpoint's own figures, and the check's state, uptime and incident.
//! Screenshots in light and dark go to target/screenshots/<test>/.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use faultline_tests::browser::Browser;
use faultline_tests::web::Web;
use faultline_tests::{Server, TempDir};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::Value;

const SERVICE: &str = "shop";
const CHECK: &str = "shop-web";
/// A service and route whose names would run script if shown unescaped.
const EVIL_SERVICE: &str = "<img src=x onerror=\"window.__xss=1\">";
const EVIL_ROUTE: &str = "/<script>window.__xss=2</script>";

fn provider(server: &Server, service: &str) -> SdkTracerProvider {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.grpc_endpoint())
        .build()
        .unwrap();
    let resource = Resource::builder().with_service_name(service.to_string()).build();
    SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build()
}

/// One request span that took exactly `ms` milliseconds, ending a little in the past.
fn request(provider: &SdkTracerProvider, route: &str, status: i64, ms: u64) {
    let tracer = provider.tracer("e2e");
    let end = SystemTime::now() - Duration::from_secs(5);
    let mut span = tracer
        .span_builder(format!("GET {route}"))
        .with_kind(SpanKind::Server)
        .with_start_time(end - Duration::from_millis(ms))
        .with_attributes([
            KeyValue::new("http.route", route.to_string()),
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", status),
        ])
        .start(&tracer);
    if status >= 500 {
        span.set_status(Status::error("server error"));
    }
    span.end_with_timestamp(end);
}

/// The value at a quantile's rank as the sketch ranks (floor of q·(n−1)).
fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize] as f64
}

/// A latency as the page writes it (`575 ms`, `0.8 ms`, `1.2 s`), in ms.
fn parse_millis(text: &str) -> f64 {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix(" ms") {
        ms.parse().unwrap_or_else(|_| panic!("not a latency: {text:?}"))
    } else if let Some(s) = text.strip_suffix(" s") {
        s.parse::<f64>().unwrap_or_else(|_| panic!("not a latency: {text:?}")) * 1000.0
    } else {
        panic!("not a latency: {text:?}")
    }
}

/// The page shows whole milliseconds from 10 ms: half a millisecond of
/// rounding on top of the sketch's 1% relative error.
fn assert_latency(shown: &str, exact: f64, what: &str) {
    let v = parse_millis(shown);
    assert!(
        (v - exact).abs() <= exact * 0.0101 + 0.5,
        "{what}: page shows {shown:?}, exact value {exact} ms"
    );
}

fn assert_inert(browser: &Browser, page: &str) {
    assert_eq!(browser.execute_script("return window.__xss", vec![]), Value::Null, "script ran on {page}");
    assert!(browser.find_all_now("img[src='x'], [onerror]").is_empty(), "an injected <img> exists on {page}");
    let errors = browser.js_errors();
    assert!(errors.is_empty(), "script errors on {page}: {errors:?}");
}

/// The routes of the endpoints table, top to bottom.
fn table_routes(browser: &Browser) -> Vec<String> {
    browser
        .find_all("#endpoint-table tbody tr")
        .iter()
        .map(|row| row.attribute("data-route").unwrap_or_default())
        .collect()
}

/// Sends the requests and answers every duration of the service, sorted,
/// with the durations of `/search` alone.
fn send_requests(server: &Server) -> (Vec<u64>, Vec<u64>) {
    let shop = provider(server, SERVICE);
    let evil = provider(server, EVIL_SERVICE);
    let mut all = Vec::new();
    // /orders/{id}: 300 requests of 1..=300 ms, every tenth a 500: the most failing.
    for i in 1..=300u64 {
        let ms = (i * 7) % 300 + 1; // every value 1..=300 once, shuffled
        request(&shop, "/orders/{id}", if i % 10 == 0 { 500 } else { 200 }, ms);
        all.push(ms);
    }
    // /search: 100 requests of 500..=599 ms, none failing: the slowest.
    let mut search = Vec::new();
    for i in 0..100u64 {
        request(&shop, "/search", 200, 500 + i);
        search.push(500 + i);
    }
    all.extend(&search);
    // /healthz: 100 quick ones.
    for _ in 0..100 {
        request(&shop, "/healthz", 200, 2);
    }
    all.extend([2; 100]);
    for _ in 0..3 {
        request(&evil, EVIL_ROUTE, 500, 30);
    }
    shop.force_flush().unwrap();
    evil.force_flush().unwrap();
    all.sort_unstable();
    (all, search)
}

#[test]
fn ui_health_pages_show_services_endpoints_and_checks() {
    let web = Web::start();
    let tmp = TempDir::new("faultline-ui-health");
    let config = tmp.path().join("checks.toml");
    std::fs::write(
        &config,
        format!(
            "[[checks]]\nid = \"{CHECK}\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{}/healthz\"\n\
             expected_status = \"200-299\"\ninterval = \"1s\"\ntimeout = \"2s\"\n",
            web.port
        ),
    )
    .unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let (all, search) = send_requests(&server);
    server.wait_for(&format!("/api/v1/services/{SERVICE}/endpoints?window=1h"), |b| {
        b["endpoints"].as_array().unwrap().iter().map(|e| e["requests"].as_u64().unwrap()).sum::<u64>() == 500
    });
    server.wait_for(&format!("/api/v1/checks/{CHECK}"), |c| {
        c["state"] == "up" && c["uptime"]["24h"].as_f64().is_some()
    });

    let browser = Browser::start();

    // /health: the service with its figures, the check with its bars.
    browser.goto(&server.api_url("/health"));
    let shop_row = browser.find(&format!("tr[data-service='{SERVICE}']"));
    let cells: Vec<String> = shop_row.find_all("td").iter().map(|c| c.text()).collect();
    assert_eq!(cells[1], "500", "requests of {SERVICE}: {cells:?}");
    assert_eq!(cells[3], "6.0%", "30 of 500 failed: {cells:?}");
    assert_latency(&cells[4], exact_quantile(&all, 0.95), "p95 on /health");
    let check_row = browser.find(&format!("tr[data-check='{CHECK}']"));
    let text = check_row.text();
    assert!(text.contains("up"), "the check is up: {text}");
    assert!(text.contains("100%"), "and has been all along: {text}");
    assert_eq!(check_row.find_all(".uptime").len(), 3, "bars for 24h, 7d and 30d");
    assert!(!check_row.find_all(".uptime i").is_empty());
    let body = browser.find("body").text();
    assert!(body.contains(EVIL_SERVICE), "a service name with markup reads as text:\n{body}");
    assert_inert(&browser, "/health");
    browser.screenshot("health");

    // The service page: its p95 from the page text, charts, endpoints most failing first.
    shop_row.find("a").click();
    browser.wait_until("the service page", || browser.current_url().contains("/services/shop"));
    let p95 = browser.find("#stat-p95").text();
    assert_latency(&p95, exact_quantile(&all, 0.95), "service p95");
    assert_latency(&browser.find("#stat-p50").text(), exact_quantile(&all, 0.5), "service p50");
    assert_latency(&browser.find("#stat-p99").text(), exact_quantile(&all, 0.99), "service p99");
    assert_eq!(browser.find("#stat-error-rate").text(), "6.0%");
    assert_eq!(browser.find_all("svg.chart").len(), 3, "rate, error rate and latency charts");
    assert_eq!(table_routes(&browser), ["/orders/{id}", "/search", "/healthz"], "most failing, then slowest");
    let issues = browser.find("#service-issues").attribute("href").unwrap();
    assert!(issues.contains("service=shop"), "the service's issues: {issues}");
    assert_inert(&browser, "/services/shop");
    browser.screenshot("service");
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)", vec![]);
    browser.screenshot("service-endpoints");

    browser.find("#sort-slowest").click();
    browser.wait_until("the slowest sort", || browser.current_url().contains("sort=slowest"));
    assert_eq!(table_routes(&browser), ["/search", "/orders/{id}", "/healthz"], "slowest first");

    // One endpoint: its own figures and charts.
    browser.find("#endpoint-table tr[data-route='/search'] a").click();
    browser.wait_until("the endpoint page", || browser.current_url().contains("route=%2Fsearch"));
    assert!(browser.current_url().contains("method=GET"), "{}", browser.current_url());
    assert_eq!(browser.find("#page-title").text(), "GET /search");
    assert_latency(&browser.find("#stat-p95").text(), exact_quantile(&search, 0.95), "/search p95");
    assert_eq!(browser.find("#stat-requests").text(), "100");
    assert_eq!(browser.find("#stat-error-rate").text(), "0%");
    assert_eq!(browser.find_all("#endpoint-table tr.selected").len(), 1);
    browser.screenshot("endpoint");

    // The failing endpoint links to its issues: its 500s, found by route.
    browser.goto(&server.api_url("/services/shop?route=%2Forders%2F%7Bid%7D&method=GET"));
    assert_eq!(browser.find("#stat-error-rate").text(), "10%");
    assert_eq!(browser.find("#stat-requests").text(), "300");
    browser.find("#endpoint-issues").click();
    browser.wait_until("the route's issues are listed", || {
        browser.refresh();
        !browser.find_all_now("tr[data-group]").is_empty()
    });
    assert!(browser.current_url().contains("q=route"), "{}", browser.current_url());

    // The check page while healthy.
    browser.goto(&server.api_url(&format!("/checks/{CHECK}")));
    assert_eq!(browser.find("#check-state").text(), "up");
    let uptime = browser.find("#uptime").text();
    assert!(uptime.contains("24h") && uptime.contains("100%"), "uptime while healthy: {uptime}");
    let definition = browser.find("#definition").text();
    assert!(definition.contains(&format!("127.0.0.1:{}/healthz", web.port)), "the target: {definition}");
    assert!(definition.contains("1s"), "the interval: {definition}");
    assert!(browser.find("#incidents").text().contains("No incidents"));
    assert_eq!(browser.find_all("#response-chart svg.chart").len(), 1);
    browser.screenshot("check-up");

    // The target fails: the check goes down with an open incident.
    web.status.store(503, Ordering::SeqCst);
    server.wait_for(&format!("/api/v1/checks/{CHECK}"), |c| {
        c["state"] == "down" && c["consecutive_failures"].as_u64().unwrap_or(0) >= 2
    });
    browser.refresh();
    assert_eq!(browser.find("#check-state").text(), "down");
    let notice = browser.find("#open-incident").text();
    assert!(notice.contains("503"), "the incident says why: {notice}");
    assert!(browser.find("#incidents").text().contains("ongoing"));
    let pct = browser.find("#uptime .uptime-pct").text();
    assert!(pct != "100%" && pct.ends_with('%'), "uptime after failures: {pct}");
    assert!(!browser.find_all("#uptime .uptime i.part, #uptime .uptime i.down").is_empty());
    browser.screenshot("check-down");

    // Dark theme, as a user with a dark system theme sees the pages.
    browser.prefer_color_scheme("dark");
    browser.refresh();
    browser.screenshot("check-down-dark");
    browser.goto(&server.api_url("/health"));
    let down_row = browser.find(&format!("tr[data-check='{CHECK}']")).text();
    assert!(
        down_row.contains("down") && down_row.contains("ongoing"),
        "/health shows the incident: {down_row}"
    );
    browser.screenshot("health-dark");
    browser.goto(&server.api_url("/services/shop"));
    browser.find("#stat-p95");
    browser.screenshot("service-dark");

    // The service with markup in its name and route stays inert on its own page.
    browser.goto(&server.api_url(&format!("/services/{}", faultline_tests::api::encode(EVIL_SERVICE))));
    let title = browser.find("#page-title").text();
    assert_eq!(title, EVIL_SERVICE);
    assert!(browser.find("#endpoint-table").text().contains(EVIL_ROUTE));
    assert_inert(&browser, "the service with markup");
}

#[test]
fn ui_health_unknown_names_are_not_found_pages() {
    let server = Server::start();
    let browser = Browser::start();
    for (path, name) in [("/services/nobody", "nobody"), ("/checks/nope", "nope")] {
        let status = reqwest::blocking::get(server.api_url(path)).unwrap().status();
        assert_eq!(status, 404, "{path}");
        browser.goto(&server.api_url(path));
        let text = browser.find("main").text();
        assert!(text.contains(name), "the not-found page names {name:?}:\n{text}");
    }
    // With nothing sent, /health says how data arrives instead of showing empty tables.
    browser.goto(&server.api_url("/health"));
    let text = browser.find("main").text();
    assert!(text.contains("No requests") && text.contains("No active checks"), "{text}");
    browser.screenshot("health-empty");
}
