//! The real Sentry Node SDK (@sentry/node from npm) sends to the running
//! server by DSN: tests/sdk/node/sentry_app.js captures an Error with a
//! cause, a message, an error with a custom fingerprint and two root
//! spans (streamed as `span` items, and as transactions), with release, environment, user, tags and a breadcrumb
//! set; the API must show them, after a SIGKILL, as issues with the right
//! titles, culprits, frames and data, and the transactions as API health.
//! The same JS bug reported once through the OpenTelemetry JS SDK and once
//! through @sentry/node is one issue. And an SDK's retry of an event the
//! server already stored (same `event_id`) is not stored twice.
//!
//! Needs `node` on PATH and tests/sdk/node/node_modules (scripts/test runs
//! `npm ci` there). Without them these tests fail and say so: they never
//! skip.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::{group_events, one_titled, titles, total};
use faultline_tests::sdk_app::{self, App};
use faultline_tests::{Server, TempDir};
use serde_json::{json, Value};

const KEY: &str = "7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f";
const SERVICE: &str = "shop-node";
const RELEASE: &str = "shop-node@5.1.0";

/// A server accepting Sentry project 1 with [`KEY`] as `shop-node`.
fn start(tmp: &TempDir) -> Server {
    let config = tmp.path().join("faultline.toml");
    let text = format!("[[sentry.projects]]\nid = 1\nkey = \"{KEY}\"\nservice = \"{SERVICE}\"\n");
    std::fs::write(&config, text).unwrap();
    Server::start_with(&["--config", config.to_str().unwrap()])
}

fn dsn(server: &Server) -> String {
    format!("http://{KEY}@127.0.0.1:{}/1", server.http_port)
}

/// Runs tests/sdk/node/sentry_app.js with `args`; fails with its output
/// unless it printed `sent` (every request answered 200) and exited 0.
fn run_node(server: &Server, label: &str, args: &[&str], env: &[(&str, &str)]) {
    let app = App {
        label,
        program: "node".into(),
        args,
        dir: faultline_tests::workspace().join("tests/sdk/node"),
        clear_env: &[
            "NODE_OPTIONS",
            "SENTRY_DSN",
            "SENTRY_RELEASE",
            "SENTRY_ENVIRONMENT",
            "SENTRY_TRACE_LIFECYCLE",
        ],
        extra_env: env,
        missing_sdk: (
            "Cannot find module",
            "@sentry/node is not installed in tests/sdk/node/node_modules: run scripts/test (npm ci)",
        ),
    };
    let resource = format!("service.version={RELEASE},deployment.environment.name=staging");
    let (stdout, stderr) = sdk_app::run_output(&app, server, "http/protobuf", SERVICE, &resource);
    assert_eq!(stdout.trim(), "sent", "{label}; stderr:\n{stderr}");
}

fn frames(event: &Value, exception: usize) -> Vec<Value> {
    event["attributes"]["sentry.exception"][exception]["stacktrace"]["frames"].as_array().unwrap().clone()
}

/// The scenario with `traceLifecycle` `lifecycle`: `stream` (11.x's
/// default) sends the spans as `span` items, `static` as transactions.
fn sentry_node_events_become_issues(lifecycle: &str) {
    let tmp = TempDir::new("sentry-node-e2e");
    let mut server = start(&tmp);
    let dsn = dsn(&server);
    run_node(&server, "sentry_app.js", &["sentry_app.js", &dsn], &[("SENTRY_TRACE_LIFECYCLE", lifecycle)]);

    // Acknowledged means committed: it survives SIGKILL.
    server.kill9();
    server.restart();
    let groups = server.groups();
    assert_eq!(groups.len(), 3, "groups: {:?}", titles(&groups));
    for group in &groups {
        assert_eq!(group["service"], SERVICE, "{group}");
        assert_eq!(group["count"], 1, "{group}");
        assert_eq!(group["first_release"], RELEASE, "{group}");
        assert_eq!(group["environments"], json!(["staging"]), "{group}");
    }

    // The Error with a cause: titled by the outer error, located at the
    // application function that threw it (a JS stack holds no cause).
    let chained = one_titled(&groups, "OrderError: order <num>: unknown sku SKU-<num>");
    assert_eq!(chained["culprit"], "src/stock.js in reserveStock");
    let event = &group_events(&server, chained)[0];
    assert_eq!(event["source"], "sentry");
    assert_eq!(event["sdk_language"], "node");
    assert_eq!(event["host"], "node-1");
    assert_eq!(event["escaped"], false, "captured, so handled");
    let stack = event["stacktrace"].as_str().unwrap();
    assert!(
        stack.starts_with("OrderError: order 3001: unknown sku SKU-404\n    at reserveStock ("),
        "{stack}"
    );
    assert!(stack.contains("/tests/sdk/node/src/stock.js:22:11)\n"), "{stack}");
    // The cause, structured, listed first as Sentry does.
    let cause = frames(event, 0);
    assert_eq!(event["attributes"]["sentry.exception"][0]["type"], "TypeError");
    let innermost = cause.last().unwrap();
    assert_eq!(innermost["function"], "stockOf");
    assert_eq!(innermost["lineno"], 15);
    assert_eq!(innermost["in_app"], true);
    assert_eq!(innermost["context_line"], "  return STOCK.get(sku).count;");
    let outer = frames(event, 1);
    assert_eq!(outer.last().unwrap()["function"], "reserveStock");
    assert!(outer.iter().any(|f| f["in_app"] == false), "node's own frames: {outer:?}");
    let a = &event["attributes"];
    assert_eq!(a["user.id"], "42");
    assert_eq!(a["user.email"], "ada@example.com");
    assert_eq!(a["tags.tenant"], "acme");
    assert_eq!(a["sentry.breadcrumbs"][0]["message"], "processing order queue");
    assert_eq!(a["faultline.in_app"][0][0], true, "the SDK's flags, raise site first");
    assert_eq!(event["resource"]["telemetry.sdk.name"], "sentry.javascript.node");
    assert_eq!(event["resource"]["telemetry.sdk.version"], "11.12.0");

    // captureMessage: @sentry/node attaches the stack of the call; the
    // culprit is the function that sent it, the message names and groups
    // it, as for an OTel error log.
    let message = one_titled(&groups, "payment provider declined order <num>");
    assert_eq!(message["exception_type"], Value::Null);
    assert_eq!(message["culprit"], "node/sentry_app.js in sentryScenarios");
    let event = &group_events(&server, message)[0];
    assert_eq!(event["level"], "error");
    assert_eq!(event["stacktrace"], Value::Null, "grouped by its message, not the frame");
    assert_eq!(event["attributes"]["code.function.name"], "sentryScenarios");
    let sent_from = event["attributes"]["sentry.stacktrace"]["frames"].as_array().unwrap().last().unwrap();
    assert_eq!(
        sent_from["context_line"],
        "  Sentry.captureMessage('payment provider declined order 3002', 'error');"
    );

    // The custom fingerprint ["{{ default }}", "tenant-acme"]: the
    // SyntaxError located at the application's function, not JSON.parse
    // (the SDK flags that frame as not the application's).
    let custom = groups.iter().find(|g| g["exception_type"] == "SyntaxError").unwrap();
    assert_eq!(custom["culprit"], "src/orders.js in parseOrderBody");
    let event = &group_events(&server, custom)[0];
    assert_eq!(event["attributes"]["error.fingerprint"], json!(["{{ default }}", "tenant-acme"]));

    // The two root spans as API health: one request answered 500.
    let path = format!("/api/v1/services/{SERVICE}/endpoints?window=1h");
    let body = server.wait_for(&path, |b| b["endpoints"].as_array().is_some_and(|e| e.len() == 1));
    let endpoint = &body["endpoints"][0];
    assert_eq!((endpoint["route"].as_str(), endpoint["method"].as_str()), (Some("/orders/:id"), Some("GET")));
    assert_eq!(endpoint["requests"], 2, "{body}");
    assert_eq!(endpoint["errors"], 1, "{body}");
    // Each span ran at least 5 ms; the sketch's error is 1%.
    assert!(endpoint["p50_ms"].as_f64().unwrap() >= 4.95, "each was busy 5 ms: {body}");

    // Searchable like OTel events.
    server.wait_for("/api/v1/search?q=source:sentry&limit=1", |b| b["total"] == 3);
    assert_eq!(total(&server, "user.id:42"), 3);
    assert_eq!(total(&server, "tags.tenant:acme"), 3);
    assert_eq!(total(&server, &format!("release:{RELEASE} type:OrderError")), 1);
}

#[test]
fn sentry_node_events_become_issues_spans_streamed() {
    sentry_node_events_become_issues("stream");
}

#[test]
fn sentry_node_events_become_issues_spans_as_transactions() {
    sentry_node_events_become_issues("static");
}

#[test]
fn the_same_js_bug_from_opentelemetry_and_sentry_is_one_issue() {
    let tmp = TempDir::new("sentry-node-e2e");
    let server = start(&tmp);
    run_node(&server, "same-bug otel", &["sentry_app.js", "same-bug", "otel"], &[]);
    let dsn = dsn(&server);
    run_node(&server, "same-bug sentry", &["sentry_app.js", "same-bug", "sentry", &dsn], &[]);

    let groups = server.groups();
    assert_eq!(groups.len(), 1, "groups: {:?}", titles(&groups));
    let group = &groups[0];
    assert_eq!(group["count"], 2, "{group}");
    assert_eq!(group["title"], "OrderError: order <num>: unknown sku SKU-<num>");
    assert_eq!(group["culprit"], "src/stock.js in reserveStock");
    let sources: Vec<Value> = group_events(&server, group).iter().map(|e| e["source"].clone()).collect();
    assert_eq!(sources, [json!("span_exception"), json!("sentry")]);
}

#[test]
fn a_retried_event_is_stored_once() {
    let tmp = TempDir::new("sentry-node-e2e");
    let server = start(&tmp);
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, body: String| {
        let url = server.http_url(&format!("{path}?sentry_key={KEY}"));
        let response = client.post(url).body(body).send().unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap())
    };
    let envelope = |id: &str, message: &str| {
        format!(
            "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\"}}\n{{\"event_id\":\"{id}\",\"message\":\"{message}\"}}\n"
        )
    };
    let id = "0a1b2c3d4e5f40718293a4b5c6d7e8f9";
    // The SDK sends, does not get the answer, sends again: both answered
    // as stored, one event stored. The store endpoint and a dashed
    // spelling of the id are the same event too.
    for _ in 0..2 {
        assert_eq!(post("/api/1/envelope/", envelope(id, "checkout failed")), (200, json!({ "id": id })));
    }
    let store =
        r#"{"event_id":"0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9","message":"checkout failed"}"#.to_string();
    assert_eq!(post("/api/1/store/", store).0, 200);
    // Another event with the same text is another event.
    let other = "ffeeddccbbaa40998877665544332211";
    assert_eq!(post("/api/1/envelope/", envelope(other, "checkout failed")), (200, json!({ "id": other })));

    let groups = server.groups();
    assert_eq!(groups.len(), 1, "groups: {:?}", titles(&groups));
    assert_eq!(groups[0]["count"], 2, "the retries were not stored: {:?}", titles(&groups));
    let ids: Vec<Value> = group_events(&server, &groups[0])
        .iter()
        .map(|e| e["attributes"]["sentry.event_id"].clone())
        .collect();
    assert_eq!(ids, [json!(id), json!(other)]);
}
