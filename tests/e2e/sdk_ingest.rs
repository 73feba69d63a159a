//! The Rust OpenTelemetry SDK (opentelemetry-otlp) sends real exceptions
//! and error logs over gRPC, HTTP/protobuf and HTTP/JSON; the API shows them
//! grouped, counted and searchable.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::encode;
use faultline_tests::Server;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Compression, Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::Value;

#[derive(Clone, Copy)]
enum Transport {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

fn resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(service.to_string())
        .with_attributes([
            KeyValue::new("service.version", "1.4.2"),
            KeyValue::new("deployment.environment.name", "prod"),
            KeyValue::new("host.name", "web-1"),
        ])
        .build()
}

fn providers(server: &Server, transport: Transport, service: &str) -> (SdkTracerProvider, SdkLoggerProvider) {
    let (spans, logs) = match transport {
        Transport::Grpc => (
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(server.grpc_endpoint())
                .with_compression(Compression::Gzip)
                .build()
                .unwrap(),
            opentelemetry_otlp::LogExporter::builder()
                .with_tonic()
                .with_endpoint(server.grpc_endpoint())
                .build()
                .unwrap(),
        ),
        Transport::HttpProtobuf | Transport::HttpJson => {
            let protocol = if matches!(transport, Transport::HttpJson) {
                Protocol::HttpJson
            } else {
                Protocol::HttpBinary
            };
            (
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(protocol)
                    .with_compression(Compression::Gzip)
                    .with_endpoint(server.http_url("/v1/traces"))
                    .build()
                    .unwrap(),
                opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_protocol(protocol)
                    .with_endpoint(server.http_url("/v1/logs"))
                    .build()
                    .unwrap(),
            )
        }
    };
    let tracer_provider =
        SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource(service)).build();
    let logger_provider =
        SdkLoggerProvider::builder().with_batch_exporter(logs).with_resource(resource(service)).build();
    (tracer_provider, logger_provider)
}

/// A failing request handler, as an instrumented web service records it.
fn failing_request(provider: &SdkTracerProvider, user: u32, exception_type: &str, message: &str) {
    let tracer = provider.tracer("e2e");
    let mut span = tracer
        .span_builder("GET /users/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.route", "/users/{id}"),
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 500),
            KeyValue::new("user.id", format!("u-{user}")),
        ])
        .start(&tracer);
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", exception_type.to_string()),
            KeyValue::new("exception.message", message.to_string()),
            KeyValue::new(
                "exception.stacktrace",
                format!(
                    "Traceback (most recent call last):\n  File \"/srv/app/users.py\", line {}, in get_user\n    raise {exception_type}(msg)\n{exception_type}: {message}",
                    40 + user
                ),
            ),
        ],
    );
    span.set_status(Status::error(message.to_string()));
    span.end();
}

/// A 503 answered without an exception being recorded.
fn unavailable_request(provider: &SdkTracerProvider) {
    let tracer = provider.tracer("e2e");
    let mut span = tracer
        .span_builder("POST /checkout")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.route", "/checkout"),
            KeyValue::new("http.method", "POST"),
            KeyValue::new("http.status_code", 503),
        ])
        .start(&tracer);
    span.end();
}

/// `record_error`: the Rust SDK sends only `exception.message`.
fn recorded_error(provider: &SdkTracerProvider) {
    let tracer = provider.tracer("e2e");
    let mut span = tracer.start("sync-inventory");
    let err = std::io::Error::other("inventory feed returned 17 malformed rows");
    span.record_error(&err);
    span.set_status(Status::error("sync failed"));
    span.end();
}

fn error_log(provider: &SdkLoggerProvider, order: u32) {
    let logger = provider.logger("e2e");
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Error);
    record.set_severity_text("ERROR");
    record.set_body(AnyValue::from(format!("payment declined for order {order}")));
    record.add_attribute("order.id", i64::from(order));
    logger.emit(record);
}

fn titles(groups: &[Value]) -> Vec<String> {
    groups.iter().map(|g| g["title"].as_str().unwrap_or("").to_string()).collect()
}

fn group_with<'a>(groups: &'a [Value], needle: &str) -> &'a Value {
    groups
        .iter()
        .find(|g| g["title"].as_str().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no group titled like {needle:?} in {:?}", titles(groups)))
}

fn run_scenario(transport: Transport) {
    let server = Server::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let (traces, logs) = providers(&server, transport, "checkout");

    failing_request(&traces, 42, "UserNotFound", "User 42 not found");
    failing_request(&traces, 97, "UserNotFound", "User 97 not found");
    failing_request(&traces, 5, "KeyError", "'email'");
    failing_request(&traces, 6, "ValueError", "'email'");
    unavailable_request(&traces);
    unavailable_request(&traces);
    recorded_error(&traces);
    error_log(&logs, 1234);
    error_log(&logs, 5678);
    traces.force_flush().unwrap();
    logs.force_flush().unwrap();

    // 2 UserNotFound + KeyError + ValueError + 503 + record_error + log.
    let body = server.wait_for("/api/v1/groups?limit=100", |b| b["groups"].as_array().unwrap().len() >= 6);
    let groups = body["groups"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 6, "groups: {:?}", titles(&groups));

    let user = group_with(&groups, "UserNotFound");
    assert_eq!(user["count"], 2, "User 42 and User 97 are one issue");
    assert_eq!(user["title"], "UserNotFound: User <num> not found");
    assert!(user["last_message"] == "User 97 not found" || user["last_message"] == "User 42 not found");
    assert_eq!(user["service"], "checkout");
    assert_eq!(user["status"], "unresolved");
    assert_eq!(user["environments"], serde_json::json!(["prod"]));
    assert_eq!(user["first_release"], "1.4.2");
    assert_eq!(group_with(&groups, "KeyError")["count"], 1);
    assert_eq!(group_with(&groups, "ValueError")["count"], 1);
    assert_ne!(group_with(&groups, "KeyError")["id"], group_with(&groups, "ValueError")["id"]);
    assert_eq!(group_with(&groups, "HTTP 503")["count"], 2);
    assert_eq!(group_with(&groups, "inventory feed")["count"], 1);
    assert_eq!(group_with(&groups, "payment declined")["count"], 2);

    // Search: every event is there once the index commits.
    let all = server.wait_for("/api/v1/search?q=&limit=100", |b| b["total"] == 9);
    let events = all["events"].as_array().unwrap();
    let user_event = events.iter().find(|e| e["exception_type"] == "UserNotFound").unwrap();
    assert_eq!(user_event["group_id"], user["id"]);
    assert_eq!(user_event["http_route"], "/users/{id}");
    assert_eq!(user_event["http_method"], "GET");
    assert_eq!(user_event["http_status"], 500);
    assert_eq!(user_event["service_version"], "1.4.2");
    assert_eq!(user_event["environment"], "prod");
    assert_eq!(user_event["host"], "web-1");
    assert_eq!(user_event["trace_id"].as_str().unwrap().len(), 32);

    let total = |q: &str| -> u64 {
        let path = format!("/api/v1/search?q={}", encode(q));
        server.get(&path)["total"].as_u64().unwrap()
    };
    assert_eq!(total("type:UserNotFound"), 2);
    assert_eq!(total("exception.type:KeyError"), 1);
    assert_eq!(total("service:checkout AND environment:prod"), 9);
    assert_eq!(total("release:1.4.2"), 9);
    assert_eq!(total("service:other"), 0);
    assert_eq!(total("route:\"/users/{id}\""), 4);
    assert_eq!(total("http.response.status_code:500"), 4);
    assert_eq!(total("status:503"), 2);
    assert_eq!(total("user.id:u-42"), 1);
    assert_eq!(total("declined"), 2);
    assert_eq!(total("level:error source:log"), 2);
    assert_eq!(total("level:ERROR"), 9);
    assert_eq!(total("order.id:1234"), 1);
    assert_eq!(total("get_user"), 4, "free text covers the stack trace");
    let trace_id = user_event["trace_id"].as_str().unwrap();
    assert_eq!(total(&format!("trace_id:{trace_id}")), 1);

    // A group's own events, and its detail.
    let id = user["id"].as_u64().unwrap();
    let group_events = server.get(&format!("/api/v1/groups/{id}/events"));
    assert_eq!(group_events["events"].as_array().unwrap().len(), 2);
    assert_eq!(server.get(&format!("/api/v1/groups/{id}"))["count"], 2);

    traces.shutdown().unwrap();
    logs.shutdown().unwrap();
}

#[test]
fn grpc_sdk_errors_are_grouped_and_searchable() {
    run_scenario(Transport::Grpc);
}

#[test]
fn http_protobuf_sdk_errors_are_grouped_and_searchable() {
    run_scenario(Transport::HttpProtobuf);
}

#[test]
fn http_json_sdk_errors_are_grouped_and_searchable() {
    run_scenario(Transport::HttpJson);
}

#[test]
fn resolve_then_regress_and_filters() {
    let server = Server::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let (traces, _logs) = providers(&server, Transport::Grpc, "billing");
    failing_request(&traces, 1, "TimeoutError", "upstream timed out after 30s");
    traces.force_flush().unwrap();
    let groups =
        server.wait_for("/api/v1/groups", |b| !b["groups"].as_array().unwrap().is_empty())["groups"].clone();
    let id = groups[0]["id"].as_u64().unwrap();

    let client = reqwest::blocking::Client::new();
    let resolved: Value = client
        .patch(server.api_url(&format!("/api/v1/groups/{id}")))
        .json(&serde_json::json!({"status": "resolved"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(server.get("/api/v1/groups?status=resolved")["groups"].as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v1/groups?status=unresolved")["groups"].as_array().unwrap().len(), 0);

    failing_request(&traces, 2, "TimeoutError", "upstream timed out after 31s");
    traces.force_flush().unwrap();
    let group = server.wait_for(&format!("/api/v1/groups/{id}"), |g| g["count"] == 2);
    assert_eq!(group["status"], "unresolved");
    assert_eq!(group["regressed"], true);
    assert!(group["regressed_at"].is_string());

    // Filters and sort orders.
    assert_eq!(server.get("/api/v1/groups?service=billing")["groups"].as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v1/groups?service=nope")["groups"].as_array().unwrap().len(), 0);
    assert_eq!(
        server.get("/api/v1/groups?environment=prod&sort=count")["groups"].as_array().unwrap().len(),
        1
    );
    assert_eq!(server.get("/api/v1/groups?environment=staging")["groups"].as_array().unwrap().len(), 0);
    server.wait_for("/api/v1/search?q=timed", |b| b["total"] == 2);
    assert_eq!(server.get("/api/v1/groups?q=timed")["groups"].as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v1/groups?q=nothing_like_this")["groups"].as_array().unwrap().len(), 0);
    traces.shutdown().unwrap();
}

#[test]
fn merge_and_unmerge_through_the_api() {
    use faultline_tests::otlp::{exception_span, post_protobuf, traces_request};
    let server = Server::start();
    let export = |kind: &str| {
        let req =
            traces_request("merge-svc", vec![exception_span("GET /m", kind, "lost connection", vec![])]);
        assert_eq!(post_protobuf(&server.http_url("/v1/traces"), &req).unwrap().0, 200);
    };
    export("DbError");
    export("DbError");
    export("PoolError");
    let groups = server.groups();
    let id_of = |kind: &str| group_with(&groups, kind)["id"].as_u64().unwrap();
    let (db, pool) = (id_of("DbError"), id_of("PoolError"));
    let pool_fingerprint = group_with(&groups, "PoolError")["fingerprint"].as_str().unwrap().to_string();

    let client = reqwest::blocking::Client::new();
    let post = |path: String, body: Value| {
        let response = client.post(server.api_url(&path)).json(&body).send().unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap())
    };
    assert_eq!(post(format!("/api/v1/groups/{db}/merge"), serde_json::json!({"ids": [db]})).0, 400);
    assert_eq!(post(format!("/api/v1/groups/{db}/merge"), serde_json::json!({"ids": [424242]})).0, 404);
    assert_eq!(post(format!("/api/v1/groups/{db}/merge"), serde_json::json!({"wrong": 1})).0, 400);

    let (status, merged) = post(format!("/api/v1/groups/{db}/merge"), serde_json::json!({"ids": [pool]}));
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["count"], 3);
    assert_eq!(server.get(&format!("/api/v1/groups/{pool}"))["merged_into"], db);
    assert_eq!(server.groups().len(), 1, "a merged group leaves the list");
    export("PoolError");
    assert_eq!(server.get(&format!("/api/v1/groups/{db}"))["count"], 4, "future events follow the merge");
    let hits = server.wait_for("/api/v1/search?q=type:PoolError", |b| b["total"] == 2);
    assert!(hits["events"].as_array().unwrap().iter().all(|e| e["group_id"] == db));

    let (status, split) =
        post(format!("/api/v1/groups/{db}/unmerge"), serde_json::json!({"fingerprints": [pool_fingerprint]}));
    assert_eq!(status, 200, "{split}");
    assert_eq!(split["group"]["count"], 2);
    assert_eq!(split["new_group"]["count"], 2);
    assert!(split["new_group"]["title"].as_str().unwrap().starts_with("PoolError"));
    let new_id = split["new_group"]["id"].as_u64().unwrap();
    export("PoolError");
    assert_eq!(server.get(&format!("/api/v1/groups/{new_id}"))["count"], 3);
    assert_eq!(server.get(&format!("/api/v1/groups/{db}"))["count"], 2);
    let (status, body) = post(
        format!("/api/v1/groups/{db}/unmerge"),
        serde_json::json!({"fingerprints": ["not-a-fingerprint"]}),
    );
    assert_eq!(status, 400, "{body}");
}
