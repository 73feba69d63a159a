//! Fair use against the real binary: rate limits answered retryably on
//! both transports and honoured by a real SDK, counted in `/metrics`; the
//! cap on new groups; truncation recorded on the event.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use faultline_tests::otlp::{exception_span, post_protobuf, traces_request};
use faultline_tests::rust_sdk::{Failure, RustService};
use faultline_tests::sdk_app;
use faultline_tests::{wait_until, Server, TempDir};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// `google.rpc.Status` with its details.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<Any>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Any {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

const UNAVAILABLE: i32 = 14;

/// A server with `limits` added to its config file's `[limits]`.
fn start(limits: &str) -> (Server, TempDir) {
    let dir = TempDir::new("faultline-fair-use");
    let path = dir.path().join("faultline.toml");
    std::fs::write(&path, format!("[limits]\n{limits}\n")).unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap()]);
    (server, dir)
}

/// An export of `n` error spans of one kind for `service`.
fn errors(service: &str, kind: &str, n: usize) -> ExportTraceServiceRequest {
    let spans = (0..n).map(|i| exception_span("GET /pay", kind, &format!("failed {i}"), vec![])).collect();
    traces_request(service, spans)
}

/// The delay of the RetryInfo detail in a `google.rpc.Status`.
fn retry_delay(status: &RpcStatus) -> Option<Duration> {
    let detail = status.details.iter().find(|d| d.type_url == "type.googleapis.com/google.rpc.RetryInfo")?;
    let delay = RetryInfo::decode(detail.value.as_slice()).ok()?.retry_delay?;
    Some(Duration::new(u64::try_from(delay.seconds).ok()?, u32::try_from(delay.nanos).ok()?))
}

fn metrics(server: &Server) -> String {
    reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap()
}

fn total_count(server: &Server) -> u64 {
    server.groups().iter().map(|g| g["count"].as_u64().unwrap()).sum()
}

#[test]
fn http_over_the_service_rate_is_429_with_retry_after_and_counted() {
    let (server, _dir) = start("events_per_second_per_service = 2\nevents_burst_per_service = 4");
    let url = server.http_url("/v1/traces");
    assert_eq!(post_protobuf(&url, &errors("shop", "PayError", 4)).unwrap().0, 200, "the burst");

    let response = reqwest::blocking::Client::new()
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(errors("shop", "PayError", 3).encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // 3 events at 2/s into an empty bucket: 1.5 s, rounded up.
    assert_eq!(retry_after, 2);
    let status = RpcStatus::decode(response.bytes().unwrap().as_ref()).unwrap();
    assert_eq!(status.code, UNAVAILABLE);
    assert!(status.message.contains("shop"), "{}", status.message);
    let delay = retry_delay(&status).unwrap();
    assert!(delay > Duration::from_secs(1) && delay <= Duration::from_secs(2), "{delay:?}");

    // Another service has its own bucket.
    assert_eq!(post_protobuf(&url, &errors("cart", "CartError", 4)).unwrap().0, 200);

    let text = metrics(&server);
    assert!(text.contains(r#"faultline_exports_refused_total{reason="rate_limited"} 1"#), "{text}");
    assert!(
        text.contains(r#"faultline_rate_limited_exports_total{service="shop",limit="service"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"faultline_rate_limited_events_total{service="shop",limit="service"} 3"#),
        "{text}"
    );

    // After the wait the same export is taken.
    std::thread::sleep(Duration::from_secs(retry_after));
    assert_eq!(post_protobuf(&url, &errors("shop", "PayError", 3)).unwrap().0, 200);
    wait_until(Duration::from_secs(10), || total_count(&server) == 11, || "11 events stored".into());
}

#[test]
fn grpc_over_the_service_rate_is_unavailable_with_retry_info() {
    let (server, _dir) = start("events_per_second_per_service = 1\nevents_burst_per_service = 2");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = TraceServiceClient::connect(server.grpc_endpoint()).await.unwrap();
        client.export(errors("shop", "PayError", 2)).await.unwrap();
        let refused = client.export(errors("shop", "PayError", 1)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
        let details = RpcStatus::decode(refused.details()).unwrap();
        assert_eq!(details.code, UNAVAILABLE);
        let delay = retry_delay(&details).unwrap();
        assert!(delay > Duration::ZERO && delay <= Duration::from_secs(1), "{delay:?}");
        // The same RetryInfo as a trailer, where some exporters look.
        let trailer = refused.metadata().get_bin("google.rpc.retryinfo-bin").unwrap().to_bytes().unwrap();
        assert_eq!(RetryInfo::decode(trailer.as_ref()).unwrap().retry_delay.map(|d| d.nanos > 0), Some(true));
        tokio::time::sleep(delay).await;
        client.export(errors("shop", "PayError", 1)).await.unwrap();
    });
    assert!(metrics(&server).contains(r#"faultline_exports_refused_total{reason="rate_limited"} 1"#));
}

/// The Rust SDK's exporter retries UNAVAILABLE with RetryInfo after the
/// delay it names: every event of a burst over the limit gets stored.
#[test]
fn rust_sdk_exports_over_the_limit_are_retried_and_all_stored() {
    let (server, _dir) = start("events_per_second_per_service = 4\nevents_burst_per_service = 4");
    let app = RustService::start(&server, "checkout", "1.0.0", "prod");
    let failure = Failure {
        method: "POST",
        route: "/pay",
        exception_type: "PaymentDeclined",
        message: "card declined",
        user: "u-1",
        function: "pay",
    };
    let started = Instant::now();
    for _ in 0..3 {
        for _ in 0..4 {
            app.fail(&failure);
        }
        app.flush();
    }
    wait_until(Duration::from_secs(20), || total_count(&server) == 12, || "all 12 events stored".into());
    assert!(started.elapsed() >= Duration::from_millis(1500), "the limit held the later exports back");
    let text = metrics(&server);
    assert!(!text.contains(r#"faultline_exports_refused_total{reason="rate_limited"} 0"#), "{text}");
}

/// Creates a token through the API (open on loopback while none exists,
/// then with `admin`); its secret.
fn create_token(server: &Server, admin: Option<&str>, name: &str, scope: &str) -> String {
    let mut request = reqwest::blocking::Client::new()
        .post(server.api_url("/api/v1/tokens"))
        .json(&serde_json::json!({"name": name, "scope": scope}));
    if let Some(admin) = admin {
        request = request.bearer_auth(admin);
    }
    let body: serde_json::Value = request.send().unwrap().json().unwrap();
    body["secret"].as_str().unwrap().to_string()
}

/// Posts an export with a bearer token; the HTTP status.
fn post_with(server: &Server, token: &str, request: &ExportTraceServiceRequest) -> u16 {
    let response = reqwest::blocking::Client::new()
        .post(server.http_url("/v1/traces"))
        .bearer_auth(token)
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .unwrap();
    response.status().as_u16()
}

/// A token's limit covers all its services together; another token has its own.
#[test]
fn a_token_over_its_rate_is_refused_whatever_the_service() {
    let (server, _dir) = start("events_per_second_per_token = 1\nevents_burst_per_token = 3");
    let admin = create_token(&server, None, "ops", "admin");
    let first = create_token(&server, Some(&admin), "team-a", "ingest");
    let second = create_token(&server, Some(&admin), "team-b", "ingest");
    assert_eq!(post_with(&server, &first, &errors("shop", "PayError", 2)), 200);
    assert_eq!(post_with(&server, &first, &errors("cart", "CartError", 1)), 200);
    assert_eq!(post_with(&server, &first, &errors("search", "SearchError", 1)), 429);
    assert_eq!(post_with(&server, &second, &errors("search", "SearchError", 3)), 200);
    let text = reqwest::blocking::Client::new()
        .get(server.api_url("/metrics"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains(r#"faultline_rate_limited_events_total{service="search",limit="token"} 1"#),
        "{text}"
    );
}

/// A token created with its own rate is held to it, with no rate in the
/// configuration; `faultline token create --events-per-second` sets it.
#[test]
fn a_token_with_its_own_rate_is_held_to_it() {
    let server = Server::start();
    let admin = create_token(&server, None, "ops", "admin");
    let out = std::process::Command::new(faultline_tests::binary())
        .args(["token", "create", "--name", "ci", "--scope", "ingest", "--events-per-second", "1"])
        .args(["--server", &server.api_url(""), "--token", &admin])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let limited = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let tokens: serde_json::Value = reqwest::blocking::Client::new()
        .get(server.api_url("/api/v1/tokens"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ci = tokens["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap();
    assert_eq!(ci["events_per_second"], 1);
    // A burst of ten seconds' worth, then refused.
    assert_eq!(post_with(&server, &limited, &errors("shop", "PayError", 10)), 200);
    assert_eq!(post_with(&server, &limited, &errors("shop", "PayError", 1)), 429);
    assert_eq!(
        post_with(&server, &admin, &errors("shop", "PayError", 50)),
        200,
        "the admin token has no limit"
    );
}

/// The Python SDK retries gRPC UNAVAILABLE after the RetryInfo delay (read
/// from the `google.rpc.retryinfo-bin` trailer) and HTTP 429 after
/// Retry-After: five exports at one a second all succeed and are stored.
#[test]
fn python_sdk_retries_rate_limited_exports_on_both_transports() {
    let (server, _dir) = start("events_per_second_per_service = 1\nevents_burst_per_service = 2");
    let mut stored = 0;
    for protocol in ["grpc", "http/protobuf"] {
        let before = refused_rate_limited(&server);
        let out = sdk_app::python_error_spans(&server, protocol, "", 5, 30);
        assert_eq!(out, "sent", "{protocol}: every export succeeds after its retries");
        stored += 5;
        wait_until(Duration::from_secs(10), || total_count(&server) == stored, || format!("{stored} stored"));
        assert!(refused_rate_limited(&server) > before, "{protocol}: some exports were refused first");
    }
}

/// `faultline_exports_refused_total{reason="rate_limited"}`.
fn refused_rate_limited(server: &Server) -> u64 {
    let text = metrics(server);
    let line =
        text.lines().find(|l| l.starts_with(r#"faultline_exports_refused_total{reason="rate_limited"}"#));
    line.and_then(|l| l.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap()
}

#[test]
fn a_fingerprint_storm_past_the_hourly_cap_collapses_into_one_overflow_group() {
    let (server, _dir) = start("max_new_groups_per_service_per_hour = 3");
    let url = server.http_url("/v1/traces");
    let spans =
        (0..8).map(|i| exception_span("GET /x", &format!("GeneratedError{i}"), "boom", vec![])).collect();
    assert_eq!(post_protobuf(&url, &traces_request("shop", spans)).unwrap().0, 200);
    // A fingerprint already collapsed stays in the overflow group.
    let again = vec![exception_span("GET /x", "GeneratedError7", "boom", vec![])];
    assert_eq!(post_protobuf(&url, &traces_request("shop", again)).unwrap().0, 200);

    let groups = server.groups();
    assert_eq!(groups.len(), 4, "three groups and the overflow group: {groups:#?}");
    let overflow = groups.iter().find(|g| g["collapsed_fingerprints"].as_u64() != Some(0)).unwrap();
    assert_eq!(overflow["title"], "Too many new issues: fingerprints over the hourly cap");
    assert_eq!(overflow["collapsed_fingerprints"], 5);
    assert_eq!(overflow["count"], 6);
    let text = metrics(&server);
    assert!(text.contains("faultline_new_groups_total 4"), "one new group for the storm: {text}");
    let page = reqwest::blocking::get(server.api_url(&format!("/issues/{}", overflow["id"])))
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains(r#"id="overflow-note">5 distinct fingerprints"#), "{page}");
}

#[test]
fn truncated_fields_are_listed_on_the_event() {
    let server = Server::start_with(&["--max-string-len", "64"]);
    let long = "x".repeat(500);
    let spans = vec![
        exception_span("GET /long", "LongError", &long, vec![]),
        exception_span("GET /short", "ShortError", "short", vec![]),
    ];
    let url = server.http_url("/v1/traces");
    assert_eq!(post_protobuf(&url, &traces_request("shop", spans)).unwrap().0, 200);
    let page = server.wait_for("/api/v1/search?q=type:LongError", |v| v["total"] == 1);
    let long_event = &page["events"][0];
    let truncated = long_event["attributes"]["faultline.truncated"].as_array().unwrap();
    assert!(truncated.contains(&serde_json::json!("message")), "{truncated:?}");
    let page = server.wait_for("/api/v1/search?q=type:ShortError", |v| v["total"] == 1);
    assert!(page["events"][0]["attributes"].get("faultline.truncated").is_none());
}
