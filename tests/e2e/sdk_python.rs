//! The OpenTelemetry Python SDK sends real exceptions to the running
//! server, over gRPC and over HTTP/protobuf: tests/sdk/python/app.py runs a
//! small shop whose handlers raise real KeyError, ValueError and chained
//! exceptions inside spans and log errors through the logging handler; the
//! API must show exactly the groups a person would expect.
//!
//! Needs the SDK in `<workspace>/target/sdk-venv` (scripts/test installs it
//! from tests/sdk/python/requirements.txt). Without it these tests fail and
//! say so: they never skip.
#![allow(clippy::unwrap_used)]

use faultline_tests::api::{encode, group_events, one_titled, titled, titles, total};
use faultline_tests::sdk_app;
use faultline_tests::Server;
use serde_json::json;

const SERVICE: &str = "shop-py";
const RESOURCE: &str = "service.version=2.3.0,deployment.environment.name=staging,host.name=py-1";

/// `lookup_user` raises KeyError 'email' when called from `get_profile` and
/// from `send_receipt`: one bug, so one group, whatever the call path.
const KEY_ERROR_GROUPS: usize = 1;

/// Events app.py produces: 3 KeyError, 2 ValueError, 2 OrderError,
/// 1 logging.exception, 2 error logs (successful requests, the non-error
/// spans and the warning log produce none).
const EVENTS: u64 = 10;

/// Runs app.py against `server`; fails with its output unless it exported
/// everything and exited 0.
fn run_app(server: &Server, protocol: &str) {
    sdk_app::run(&sdk_app::python_shop(), server, protocol, SERVICE, RESOURCE);
}

fn run_scenario(protocol: &str) {
    let server = Server::start();
    run_app(&server, protocol);

    // Exports are acknowledged after their events are committed, so the
    // groups are final; the search index catches up within its interval.
    let all = server.wait_for("/api/v1/search?q=&limit=100", |b| b["total"] == EVENTS);
    let events = all["events"].as_array().unwrap().clone();
    let groups = server.groups();
    assert_eq!(groups.len(), 4 + KEY_ERROR_GROUPS, "groups: {:?}", titles(&groups));
    assert_eq!(groups.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(), EVENTS);

    // Every group carries the resource's service, release and environment.
    for group in &groups {
        assert_eq!(group["service"], SERVICE, "{group}");
        assert_eq!(group["status"], "unresolved", "{group}");
        assert_eq!(group["environments"], json!(["staging"]), "{group}");
        assert_eq!(group["first_release"], "2.3.0", "{group}");
        assert_eq!(group["last_release"], "2.3.0", "{group}");
    }
    for event in &events {
        assert_eq!(event["service"], SERVICE, "{event}");
        assert_eq!(event["service_version"], "2.3.0", "{event}");
        assert_eq!(event["environment"], "staging", "{event}");
        assert_eq!(event["host"], "py-1", "{event}");
        assert_eq!(event["sdk_language"], "python", "{event}");
        assert_eq!(event["resource"]["telemetry.sdk.name"], "opentelemetry", "{event}");
    }

    // KeyError 'email' in lookup_user, from get_profile (x2) and send_receipt.
    let key_errors = titled(&groups, "KeyError: <str>");
    assert_eq!(key_errors.len(), KEY_ERROR_GROUPS, "see KEY_ERROR_GROUPS; groups: {:?}", titles(&groups));
    assert_eq!(key_errors.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(), 3);
    let mut routes = Vec::new();
    for group in &key_errors {
        assert_eq!(group["culprit"], "shop.users in lookup_user");
        assert_eq!(group["exception_type"], "KeyError");
        let group_events = group_events(&server, group);
        assert_eq!(group_events.len() as u64, group["count"].as_u64().unwrap());
        for event in group_events {
            assert_eq!(event["source"], "span_exception");
            assert_eq!(event["exception_type"], "KeyError");
            assert_eq!(event["message"], "'email'");
            assert_eq!(event["http_status"], 500);
            assert_eq!(event["escaped"], false, "recorded by hand: escaped=False");
            assert_eq!(event["trace_id"].as_str().unwrap().len(), 32);
            let stacktrace = event["stacktrace"].as_str().unwrap();
            assert!(stacktrace.starts_with("Traceback (most recent call last):"), "{stacktrace}");
            assert!(stacktrace.contains("in lookup_user"), "{stacktrace}");
            routes.push(format!(
                "{} {}",
                event["http_method"].as_str().unwrap(),
                event["http_route"].as_str().unwrap()
            ));
        }
    }
    routes.sort();
    assert_eq!(routes, ["GET /users/{id}", "GET /users/{id}", "POST /orders/{id}/receipt"]);

    // ValueError from int() in parse_quantity: one group whatever the input;
    // the title is the message parameterized, so whichever input came first.
    let value_error = one_titled(&groups, "ValueError: invalid literal for int() with base <num>: <str>");
    assert_eq!(value_error["count"], 2);
    assert_eq!(value_error["culprit"], "shop.orders in parse_quantity");
    assert_eq!(value_error["exception_type"], "ValueError");
    let mut messages: Vec<String> = group_events(&server, value_error)
        .iter()
        .map(|e| {
            assert_eq!(e["span_name"], "POST /orders");
            assert_eq!(e["http_route"], "/orders");
            assert_eq!(e["http_method"], "POST");
            // Recorded by start_as_current_span as the exception escaped;
            // the SDK (use_span) still sends exception.escaped="False".
            assert_eq!(e["attributes"]["exception.escaped"], "False");
            assert_eq!(e["escaped"], false);
            e["message"].as_str().unwrap().to_string()
        })
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        ["invalid literal for int() with base 10: '12x'", "invalid literal for int() with base 10: 'abc'"]
    );

    // OrderError raised from a KeyError: titled by the outermost exception,
    // grouped by the root cause's frames (reserve_stock), apart from the
    // KeyError 'email' groups, one group for both orders.
    let order_error = one_titled(&groups, "shop.orders.OrderError: order <num>: unknown sku <str>");
    assert_eq!(order_error["count"], 2);
    assert_eq!(order_error["culprit"], "shop.orders in reserve_stock");
    assert_eq!(order_error["exception_type"], "shop.orders.OrderError");
    for event in group_events(&server, order_error) {
        // A span used as a context manager records escaping exceptions
        // with exception.escaped=True.
        assert_eq!(event["escaped"], true, "{event}");
        assert_eq!(event["span_name"], "fulfil-order");
        assert_eq!(event["attributes"]["job.name"], "fulfil-order");
        let stacktrace = event["stacktrace"].as_str().unwrap();
        assert!(
            stacktrace.contains("The above exception was the direct cause of the following exception:"),
            "{stacktrace}"
        );
    }

    // logging.exception through the OTel logging handler, inside a span.
    let zero = one_titled(&groups, "ZeroDivisionError: division by zero");
    assert_eq!(zero["count"], 1);
    assert_eq!(zero["culprit"], "shop.handlers in average_cost");
    let zero_event = &group_events(&server, zero)[0];
    assert_eq!(zero_event["source"], "log");
    assert_eq!(zero_event["level"], "error");
    assert_eq!(zero_event["attributes"]["log.severity_text"], "ERROR");
    assert_eq!(zero_event["attributes"]["code.function.name"], "sync_inventory");
    assert!(zero_event["stacktrace"].as_str().unwrap().contains("in average_cost"));
    let log_trace = zero_event["trace_id"].as_str().unwrap();
    assert_eq!(log_trace.len(), 32, "the log record carries its span's trace id");

    // Plain error logs that differ only in the order id: one group.
    let declined = one_titled(&groups, "payment provider declined order <num>");
    assert_eq!(declined["count"], 2);
    assert_eq!(declined["last_message"], "payment provider declined order 5522");
    assert!(declined["exception_type"].is_null());
    // No traceback: the culprit is where the handler says the call was.
    assert_eq!(declined["culprit"], "shop.handlers in charge");
    for event in group_events(&server, declined) {
        assert_eq!(event["source"], "log");
        assert_eq!(event["level"], "error");
        assert_eq!(event["attributes"]["otel.scope.name"], "shop", "the logger's name");
        assert_eq!(event["attributes"]["code.function.name"], "charge");
    }

    // Search.
    assert_eq!(total(&server, ""), EVENTS);
    assert_eq!(total(&server, "type:KeyError"), 3, "the OrderError's KeyError cause is not its type");
    assert_eq!(total(&server, "type:ValueError"), 2);
    assert_eq!(total(&server, "type:ValueError OR type:KeyError"), 5);
    assert_eq!(total(&server, "type:\"shop.orders.OrderError\""), 2);
    assert_eq!(total(&server, &format!("service:{SERVICE} -type:KeyError")), EVENTS - 3);
    assert_eq!(total(&server, "lookup_user"), 3, "free text covers the stack trace");
    assert_eq!(total(&server, "reserve_stock"), 2);
    assert_eq!(total(&server, "\"invalid literal\""), 2);
    assert_eq!(total(&server, "declined"), 2);
    assert_eq!(
        total(&server, &format!("service:{SERVICE} AND environment:staging AND release:2.3.0")),
        EVENTS
    );
    assert_eq!(total(&server, "host:py-1"), EVENTS);
    assert_eq!(total(&server, "service:other"), 0);
    assert_eq!(total(&server, "environment:prod"), 0);
    assert_eq!(total(&server, "source:log"), 3);
    assert_eq!(total(&server, "level:error source:log"), 3);
    assert_eq!(total(&server, "source:span_exception"), 7);
    assert_eq!(total(&server, "route:\"/users/{id}\" method:GET"), 2);
    assert_eq!(total(&server, "status:500"), 3);
    assert_eq!(total(&server, "span:fulfil-order"), 2);
    assert_eq!(total(&server, "exception.escaped:True"), 2);
    assert_eq!(total(&server, "code.function.name:charge"), 2);
    assert_eq!(total(&server, &format!("trace_id:{log_trace}")), 1);

    // Groups filtered by an event query.
    let key_error_groups = server.get(&format!("/api/v1/groups?q={}", encode("type:KeyError")));
    assert_eq!(key_error_groups["groups"].as_array().unwrap().len(), KEY_ERROR_GROUPS);
    let by_service = server.get(&format!("/api/v1/groups?service={SERVICE}&environment=staging&limit=100"));
    assert_eq!(by_service["groups"].as_array().unwrap().len(), groups.len());
}

#[test]
fn python_sdk_over_grpc_groups_real_exceptions() {
    run_scenario("grpc");
}

#[test]
fn python_sdk_over_http_protobuf_groups_real_exceptions() {
    run_scenario("http/protobuf");
}
