//! The OpenTelemetry JS SDK on Node sends real errors to the running
//! server, over gRPC and over HTTP/protobuf: tests/sdk/node/app.js runs a
//! small shop whose handlers throw real TypeError, SyntaxError (JSON.parse)
//! and ENOENT errors inside spans and record them with `recordException`;
//! the API must show exactly the groups a person would expect.
//!
//! Needs `node` on PATH and tests/sdk/node/node_modules (scripts/test runs
//! `npm ci` there). Without them these tests fail and say so: they never
//! skip.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::{encode, group_events, titles, total};
use faultline_tests::sdk_app;
use faultline_tests::Server;
use serde_json::{json, Value};

const SERVICE: &str = "shop-node";
const RESOURCE: &str = "service.version=5.0.1,deployment.environment.name=canary,host.name=node-1";

/// `displayName` throws the TypeError when called from `getProfile` and
/// from `sendReceipt`: one bug, so one group, whatever the call path.
const TYPE_ERROR_GROUPS: usize = 1;

/// The JS SDK's `recordException` puts `err.code` ("ENOENT") in
/// exception.type, and Node's message already starts with the code: the
/// title must not say it twice.
const ENOENT_TITLE_PREFIX: &str = "";

/// Events app.js produces: 3 TypeError, 1 + 2 SyntaxError, 2 ENOENT (the
/// successful requests produce none).
const EVENTS: u64 = 8;

/// Runs app.js against `server`; fails with its output unless it exported
/// everything and exited 0.
fn run_app(server: &Server, protocol: &str) {
    sdk_app::run(&sdk_app::node_shop(), server, protocol, SERVICE, RESOURCE);
}

/// The one group whose culprit is exactly `culprit`.
fn by_culprit<'a>(groups: &'a [Value], culprit: &str) -> &'a Value {
    let found: Vec<&Value> = groups.iter().filter(|g| g["culprit"] == culprit).collect();
    assert_eq!(found.len(), 1, "groups with culprit {culprit:?} in {:?}", titles(groups));
    found[0]
}

fn run_scenario(protocol: &str) {
    let server = Server::start();
    run_app(&server, protocol);

    // Exports are acknowledged after their events are committed, so the
    // groups are final; the search index catches up within its interval.
    let all = server.wait_for("/api/v1/search?q=&limit=100", |b| b["total"] == EVENTS);
    let events = all["events"].as_array().unwrap().clone();
    let groups = server.groups();
    assert_eq!(groups.len(), 3 + TYPE_ERROR_GROUPS, "groups: {:?}", titles(&groups));
    assert_eq!(groups.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(), EVENTS);

    // Every group and event carries the resource's service, release and
    // environment; every event is a recorded exception on a 500 span.
    for group in &groups {
        assert_eq!(group["service"], SERVICE, "{group}");
        assert_eq!(group["status"], "unresolved", "{group}");
        assert_eq!(group["environments"], json!(["canary"]), "{group}");
        assert_eq!(group["first_release"], "5.0.1", "{group}");
        assert_eq!(group["last_release"], "5.0.1", "{group}");
    }
    for event in &events {
        assert_eq!(event["service"], SERVICE, "{event}");
        assert_eq!(event["service_version"], "5.0.1", "{event}");
        assert_eq!(event["environment"], "canary", "{event}");
        assert_eq!(event["host"], "node-1", "{event}");
        assert_eq!(event["sdk_language"], "nodejs", "{event}");
        assert_eq!(event["source"], "span_exception", "{event}");
        assert_eq!(event["http_status"], 500, "{event}");
        // The JS SDK sends no exception.escaped.
        assert!(event["escaped"].is_null(), "{event}");
        assert_eq!(event["trace_id"].as_str().unwrap().len(), 32, "{event}");
    }

    // TypeError reading 'name' of undefined in displayName, from
    // getProfile (x2) and sendReceipt.
    let type_errors: Vec<&Value> = groups
        .iter()
        .filter(|g| g["title"] == "TypeError: Cannot read properties of undefined (reading <str>)")
        .collect();
    assert_eq!(type_errors.len(), TYPE_ERROR_GROUPS, "see TYPE_ERROR_GROUPS; groups: {:?}", titles(&groups));
    assert_eq!(type_errors.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(), 3);
    let mut routes = Vec::new();
    for group in &type_errors {
        assert_eq!(group["culprit"], "src/users.js in displayName");
        assert_eq!(group["exception_type"], "TypeError");
        let group_events = group_events(&server, group);
        assert_eq!(group_events.len() as u64, group["count"].as_u64().unwrap());
        for event in group_events {
            assert_eq!(event["exception_type"], "TypeError");
            let stacktrace = event["stacktrace"].as_str().unwrap();
            assert!(stacktrace.contains("at displayName ("), "{stacktrace}");
            routes.push(event["span_name"].as_str().unwrap().to_string());
        }
    }
    routes.sort();
    assert_eq!(routes, ["GET /users/:id", "GET /users/:id", "POST /orders/:id/receipt"]);

    // JSON.parse failing in two different functions: two groups, titled by
    // the message parameterized (V8's wording varies between Node versions),
    // the latest raw message beside it.
    let settings = by_culprit(&groups, "src/config.js in parseSettings");
    let orders = by_culprit(&groups, "src/orders.js in parseOrderBody");
    assert_ne!(settings["id"], orders["id"]);
    assert_eq!(settings["count"], 1);
    assert_eq!(orders["count"], 2);
    for group in [settings, orders] {
        assert_eq!(group["exception_type"], "SyntaxError");
        let group_events = group_events(&server, group);
        let first = group_events[0]["message"].as_str().unwrap();
        assert!(first.contains("JSON"), "{first}");
        let title = group["title"].as_str().unwrap();
        assert!(title.starts_with("SyntaxError: ") && title.contains("JSON"), "{title}");
        assert_eq!(group["last_message"], group_events.last().unwrap()["message"]);
        for event in &group_events {
            assert_eq!(event["exception_type"], "SyntaxError");
            assert!(event["stacktrace"].as_str().unwrap().contains("at JSON.parse ("));
        }
    }
    let order_events = group_events(&server, orders);
    assert_eq!(order_events[0]["span_name"], "POST /orders");
    assert_ne!(order_events[0]["message"], order_events[1]["message"], "different bodies, one bug");

    // fs.readFileSync of a missing file after an await: err.code ENOENT.
    let enoent = by_culprit(&groups, "src/templates.js in loadTemplate");
    assert_eq!(enoent["count"], 2, "two missing templates, one bug");
    let enoent_events = group_events(&server, enoent);
    assert_eq!(
        enoent_events[0]["message"],
        "ENOENT: no such file or directory, open 'templates/invoice.de.html'"
    );
    assert_eq!(
        enoent_events[1]["message"],
        "ENOENT: no such file or directory, open 'templates/invoice.fr.html'"
    );
    // See ENOENT_TITLE_PREFIX.
    assert_eq!(
        enoent["title"],
        format!("{ENOENT_TITLE_PREFIX}ENOENT: no such file or directory, open <str>")
    );
    for event in &enoent_events {
        assert_eq!(event["attributes"]["exception.type"], "ENOENT", "what the SDK sent");
        assert_eq!(event["span_name"], "GET /orders/:id/invoice");
        let stacktrace = event["stacktrace"].as_str().unwrap();
        assert!(stacktrace.starts_with("Error: ENOENT: no such file or directory"), "{stacktrace}");
        assert!(stacktrace.contains("at async "), "an async stack: {stacktrace}");
    }

    // Search.
    assert_eq!(total(&server, ""), EVENTS);
    assert_eq!(total(&server, "type:TypeError"), 3);
    assert_eq!(total(&server, "type:SyntaxError"), 3);
    assert_eq!(total(&server, "type:TypeError OR type:SyntaxError"), 6);
    assert_eq!(total(&server, &format!("service:{SERVICE} -type:TypeError")), EVENTS - 3);
    assert_eq!(total(&server, "displayName"), 3, "free text covers the stack trace");
    assert_eq!(total(&server, "parseOrderBody"), 2);
    assert_eq!(total(&server, "\"no such file or directory\""), 2);
    assert_eq!(
        total(&server, &format!("service:{SERVICE} AND environment:canary AND release:5.0.1")),
        EVENTS
    );
    assert_eq!(total(&server, "host:node-1"), EVENTS);
    assert_eq!(total(&server, "service:other"), 0);
    assert_eq!(total(&server, "route:\"/users/:id\" method:GET"), 2);
    assert_eq!(total(&server, "route:\"/orders\" method:POST"), 2);
    assert_eq!(total(&server, "status:500"), EVENTS);
    assert_eq!(total(&server, "status:200"), 0, "successful requests are not stored");
    let trace_id = events[0]["trace_id"].as_str().unwrap();
    assert_eq!(total(&server, &format!("trace_id:{trace_id}")), 1);

    // Groups filtered by an event query.
    let syntax_groups = server.get(&format!("/api/v1/groups?q={}", encode("type:SyntaxError")));
    assert_eq!(syntax_groups["groups"].as_array().unwrap().len(), 2);
    let by_service = server.get(&format!("/api/v1/groups?service={SERVICE}&environment=canary&limit=100"));
    assert_eq!(by_service["groups"].as_array().unwrap().len(), groups.len());
}

#[test]
fn node_sdk_over_grpc_groups_real_errors() {
    run_scenario("grpc");
}

#[test]
fn node_sdk_over_http_protobuf_groups_real_errors() {
    run_scenario("http/protobuf");
}
