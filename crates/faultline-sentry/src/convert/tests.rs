#![allow(clippy::unwrap_used)]

use faultline_grouping::Grouper;
use serde_json::json;

use super::*;
use crate::parse_envelope;

const CHAINED: &[u8] = include_bytes!("../../tests/fixtures/python_chained.envelope");
const FINGERPRINT: &[u8] = include_bytes!("../../tests/fixtures/python_fingerprint.envelope");
const LOGGING: &[u8] = include_bytes!("../../tests/fixtures/python_logging.envelope");
/// What `traceback.format_exception` printed for the same OrderError, as
/// an OTel Python SDK would send it.
const CHAINED_TRACEBACK: &str = include_str!("../../tests/fixtures/python_chained.traceback.txt");

fn project() -> Project {
    Project { service: "shop-py".into(), environment: Some("prod".into()) }
}

fn convert(envelope: &[u8]) -> ErrorEvent {
    let envelope = parse_envelope(envelope).unwrap();
    let events = envelope.events();
    to_error_event(events[0].as_ref().unwrap(), &project(), 7)
}

#[test]
fn a_chained_exception_from_sentry_python() {
    let event = convert(CHAINED);
    assert_eq!(event.source, EventSource::Sentry);
    assert_eq!(event.service, "shop-py");
    assert_eq!(event.environment.as_deref(), Some("staging"), "the event's own environment wins");
    assert_eq!(event.service_version.as_deref(), Some("shop@2.3.0"));
    assert_eq!(event.host.as_deref(), Some("py-1"));
    assert_eq!(event.sdk_language.as_deref(), Some("python"));
    assert_eq!(event.level, "error");
    assert_eq!(event.timestamp, parse_rfc3339("2026-12-05T22:42:39.345312Z").unwrap());
    assert_eq!(event.received_at, 7);
    // Sentry lists the outermost exception last.
    assert_eq!(event.exception_type.as_deref(), Some("OrderError"));
    assert_eq!(event.message.as_deref(), Some("order 3001: unknown sku 'SKU-404'"));
    assert_eq!(event.escaped, Some(false), "handled: captured by capture_exception");
    assert_eq!(event.trace_id, "3bbe2145d019491992f678b03fc5ede7");
    assert_eq!(event.span_id, "b8e50c7a02e4bcfb");
    let text = event.stacktrace.as_deref().unwrap();
    assert!(text.starts_with("Traceback (most recent call last):\n  File \"/work/wt-sentry/tests/sdk/python/shop/orders.py\", line 17, in reserve_stock\n    available = STOCK[sku]\nKeyError: 'SKU-404'\n"), "{text}");
    assert!(text.ends_with("shop.orders.OrderError: order 3001: unknown sku 'SKU-404'\n"), "{text}");

    let a = &event.attributes;
    assert_eq!(a["tags.tenant"], "acme");
    assert_eq!(a["user.id"], "42");
    assert_eq!(a["user.email"], "ada@example.com");
    assert_eq!(a["sentry.event_id"], "38354266fba942e9b33b1d9dc60dde07");
    assert_eq!(a["sentry.breadcrumbs"][0]["message"], "processing order queue");
    assert_eq!(a["sentry.contexts"]["runtime"]["name"], "CPython");
    let frames = &a["sentry.exception"][1]["stacktrace"]["frames"];
    assert_eq!(frames[2]["function"], "reserve_stock");
    assert_eq!(frames[2]["module"], "shop.orders");
    assert_eq!(frames[2]["lineno"], 19);
    assert_eq!(frames[2]["in_app"], true);
    assert_eq!(frames[2]["pre_context"].as_array().unwrap().len(), 5);
    assert!(frames[2].get("vars").is_none(), "local variables are not kept");
    assert_eq!(event.resource["telemetry.sdk.name"], "sentry.python");
    assert_eq!(event.resource["telemetry.sdk.version"], "2.75.0");
    assert_eq!(event.resource["service.name"], "shop-py");
}

#[test]
fn groups_with_the_same_bug_sent_as_an_otel_python_traceback() {
    let sentry = convert(CHAINED);
    let mut otel = ErrorEvent::blank("shop-py", EventSource::SpanException, 1);
    otel.sdk_language = Some("python".into());
    otel.exception_type = Some("OrderError".into());
    otel.message = Some("order 3001: unknown sku 'SKU-404'".into());
    otel.stacktrace = Some(CHAINED_TRACEBACK.into());
    let grouper = Grouper::new();
    let (from_sentry, from_otel) = (grouper.group(&sentry), grouper.group(&otel));
    assert_eq!(from_sentry.fingerprint, from_otel.fingerprint);
    assert_eq!(from_sentry.title, from_otel.title);
    assert_eq!(from_sentry.culprit, from_otel.culprit);
    assert_eq!(from_sentry.method, "stacktrace");
}

#[test]
fn fingerprint_with_default_splits_the_group() {
    let event = convert(FINGERPRINT);
    assert_eq!(event.attributes["error.fingerprint"], json!(["{{ default }}", "tenant-acme"]));
    assert_eq!(event.exception_type.as_deref(), Some("ValueError"));
    let mut without = event.clone();
    without.attributes.remove("error.fingerprint");
    let grouper = Grouper::new();
    let (custom, plain) = (grouper.group(&event), grouper.group(&without));
    assert_eq!(custom.method, "custom");
    assert_ne!(custom.fingerprint, plain.fingerprint);
    assert_eq!(custom.title, plain.title);
}

#[test]
fn a_logging_error_is_a_message_event() {
    let event = convert(LOGGING);
    assert_eq!(event.exception_type, None);
    assert_eq!(event.stacktrace, None);
    assert_eq!(event.message.as_deref(), Some("payment provider declined order 5521"));
    assert_eq!(event.attributes["otel.scope.name"], "shop");
    assert_eq!(Grouper::new().group(&event).culprit, "shop");
}

#[test]
fn a_wsgi_request_keeps_method_url_and_harmless_headers() {
    let event = convert(include_bytes!("../../tests/fixtures/python_request.envelope"));
    assert_eq!(event.http_method.as_deref(), Some("GET"));
    assert_eq!(event.attributes["url.full"], "http://127.0.0.1/users/7?tab=orders");
    assert_eq!(event.attributes["http.request.header.user-agent"], "shop-test/1.0");
    assert_eq!(event.attributes["http.request.header.host"], "127.0.0.1");
    assert!(!event.attributes.keys().any(|k| k.ends_with("cookie") || k.ends_with("authorization")));
    assert_eq!(event.escaped, Some(true), "unhandled, caught by the WSGI middleware");
    assert_eq!(event.exception_type.as_deref(), Some("KeyError"));
    assert_eq!(event.span_name.as_deref(), Some("generic WSGI request"));
    assert_eq!(Grouper::new().group(&event).culprit, "shop.users in lookup_user");
}

#[test]
fn capture_message_is_an_info_event() {
    let event = convert(include_bytes!("../../tests/fixtures/python_message.envelope"));
    assert_eq!(event.message.as_deref(), Some("brotli hello"));
    assert_eq!(event.level, "info");
    assert_eq!(event.exception_type, None);
    assert_eq!(event.environment.as_deref(), Some("production"), "the SDK's default environment");
}

#[test]
fn request_headers_lose_their_secrets() {
    let event = json!({
        "platform": "javascript", "level": "warning", "timestamp": 1_700_000_000.5,
        "message": "plain message",
        "request": {"method": "post", "url": "https://shop.example/cart?x=1", "query_string": [["y", "2"]],
            "headers": [["Cookie", "session=s"], ["Authorization", "Bearer t"], ["User-Agent", "curl/8"]]},
        "tags": [["tenant", "acme"], ["shard", 3]],
        "user": {"id": 7, "ip_address": "10.0.0.1"},
        "fingerprint": "checkout-flaky",
        "exception": [{"type": "TypeError", "value": "x is undefined", "mechanism": {"handled": false}}]
    });
    let event = to_error_event(event.as_object().unwrap(), &project(), 9);
    assert_eq!(event.timestamp, 1_700_000_000_500_000_000);
    assert_eq!(event.level, "warning");
    assert_eq!(event.environment.as_deref(), Some("prod"), "the project's when the event names none");
    assert_eq!(event.http_method.as_deref(), Some("POST"));
    assert_eq!(event.attributes["url.full"], "https://shop.example/cart?x=1");
    assert_eq!(event.attributes["http.request.header.user-agent"], "curl/8");
    assert!(!event.attributes.keys().any(|k| k.contains("cookie") || k.contains("authorization")));
    assert_eq!(event.attributes["tags.shard"], "3");
    assert_eq!(event.attributes["user.id"], "7");
    assert_eq!(event.attributes["client.address"], "10.0.0.1");
    assert_eq!(event.attributes["error.fingerprint"], "checkout-flaky");
    assert_eq!(event.escaped, Some(true), "unhandled");
    assert_eq!(event.message.as_deref(), Some("x is undefined"), "the exception's value wins over message");
    assert_eq!(event.stacktrace.as_deref(), Some("TypeError: x is undefined\n"));
}

#[test]
fn odd_shapes_read_as_absent() {
    let event = json!({"timestamp": "yesterday", "level": 3, "user": "ada", "tags": 5, "exception": {"values": "x"},
        "contexts": {"trace": {"trace_id": 1}}, "breadcrumbs": {"values": [1, 2]}, "fingerprint": {"a": 1}});
    let event = to_error_event(event.as_object().unwrap(), &project(), 11);
    assert_eq!(event.timestamp, 11);
    assert_eq!(event.level, "error");
    assert_eq!(event.exception_type, None);
    assert_eq!(event.trace_id, "");
    assert!(!event.attributes.contains_key("error.fingerprint"));
    assert_eq!(event.attributes["sentry.breadcrumbs"], json!([1, 2]));
}

/// A node event's frames are rendered as V8's `error.stack` (see
/// `crate::traceback` for every runtime).
#[test]
fn node_frames_are_rendered_as_v8_prints_them() {
    let event = json!({"platform": "node", "exception": {"values": [{"type": "TypeError", "value": "x is undefined",
    "stacktrace": {"frames": [
        {"function": "handle", "module": "app.routes", "abs_path": "/srv/app/src/routes.js", "lineno": 10, "colno": 3, "in_app": true},
        {"function": "parseOrder", "module": "app.orders", "abs_path": "/srv/app/src/orders.js", "lineno": 13, "colno": 22, "in_app": true}
    ]}}]}});
    let event = to_error_event(event.as_object().unwrap(), &project(), 1);
    assert_eq!(
        event.stacktrace.as_deref(),
        Some("TypeError: x is undefined\n    at parseOrder (/srv/app/src/orders.js:13:22)\n    at handle (/srv/app/src/routes.js:10:3)\n")
    );
    assert_eq!(event.attributes["faultline.in_app"], json!([[true, true]]));
    let grouping = Grouper::new().group(&event);
    assert_eq!(grouping.method, "stacktrace");
    assert_eq!(grouping.culprit, "src/orders.js in parseOrder");
}

#[test]
fn the_in_app_attribute_is_the_one_grouping_reads() {
    assert_eq!(IN_APP_ATTRIBUTE, faultline_grouping::stacktrace::IN_APP_ATTRIBUTE);
}

/// A Java exception's type is qualified by its package, as the JVM (and
/// so the OTel Java agent) names it.
#[test]
fn java_types_are_qualified() {
    let event = json!({"platform": "java", "exception": {"values": [{"type": "IllegalStateException", "module": "java.lang", "value": "closed"}]}});
    let event = to_error_event(event.as_object().unwrap(), &project(), 1);
    assert_eq!(event.exception_type.as_deref(), Some("java.lang.IllegalStateException"));
}

#[test]
fn user_extras_request_body_and_extra_are_kept_small_bodies_only() {
    let event = json!({
        "message": "checkout failed",
        "user": {"id": "7", "username": "ada", "segment": "beta", "geo": {"country_code": "DE"}, "name": null},
        "request": {"method": "POST", "url": "https://shop.example/cart", "data": {"sku": "SKU-1", "quantity": 2}},
        "extra": {"cart_size": 3}
    });
    let event = to_error_event(event.as_object().unwrap(), &project(), 1);
    let a = &event.attributes;
    assert_eq!(a["user.name"], "ada");
    assert_eq!(a["sentry.user"], json!({"segment": "beta", "geo": {"country_code": "DE"}}));
    assert_eq!(a["sentry.request.data"], json!({"sku": "SKU-1", "quantity": 2}));
    assert_eq!(a["sentry.extra"], json!({"cart_size": 3}));

    let upload = "x".repeat(MAX_REQUEST_DATA);
    let event =
        json!({"message": "m", "user": {"id": "7"}, "request": {"url": "https://a/", "data": upload}});
    let event = to_error_event(event.as_object().unwrap(), &project(), 1);
    assert!(!event.attributes.contains_key("sentry.request.data"), "a large body is left out");
    assert!(!event.attributes.contains_key("sentry.user"), "no other user fields");
    assert!(!event.attributes.contains_key("sentry.extra"));
}

#[test]
fn breadcrumbs_keep_the_newest_that_fit_the_byte_budget() {
    let crumb = |i: usize| json!({"message": format!("step {i}"), "data": {"blob": "x".repeat(1000)}});
    let event = json!({"message": "m", "breadcrumbs": {"values": (0..150).map(crumb).collect::<Vec<_>>()}});
    let event = to_error_event(event.as_object().unwrap(), &project(), 1);
    let kept = event.attributes["sentry.breadcrumbs"].as_array().unwrap();
    assert!(kept.len() > 10 && kept.len() < MAX_BREADCRUMBS, "{}", kept.len());
    assert!(Value::Array(kept.clone()).to_string().len() <= MAX_BREADCRUMBS_BYTES);
    assert_eq!(kept.last().unwrap()["message"], "step 149", "the newest last");
    assert_eq!(kept[0]["message"], format!("step {}", 150 - kept.len()), "a run of the most recent");

    let small =
        json!({"message": "m", "breadcrumbs": (0..120).map(|i| json!({"message": i})).collect::<Vec<_>>()});
    let small = to_error_event(small.as_object().unwrap(), &project(), 1);
    let kept = small.attributes["sentry.breadcrumbs"].as_array().unwrap();
    assert_eq!((kept.len(), &kept[0]["message"]), (MAX_BREADCRUMBS, &json!(20)));

    let huge = json!({"message": "m", "breadcrumbs": [{"message": "y".repeat(MAX_BREADCRUMBS_BYTES + 1)}]});
    let huge = to_error_event(huge.as_object().unwrap(), &project(), 1);
    assert_eq!(
        huge.attributes["sentry.breadcrumbs"].as_array().unwrap().len(),
        1,
        "the newest alone is kept"
    );
}
