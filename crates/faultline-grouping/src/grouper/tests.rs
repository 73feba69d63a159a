//! The product's grouping requirements, one test each.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use faultline_model::{ErrorEvent, EventSource, Grouping};
use serde_json::json;

use super::*;

fn event() -> ErrorEvent {
    ErrorEvent {
        service_version: Some("1.4.2".into()),
        environment: Some("production".into()),
        span_name: Some("POST /orders".into()),
        ..ErrorEvent::blank("checkout", EventSource::SpanException, 1_700_000_000_000_000_000)
    }
}

fn typed(exception_type: &str, message: &str) -> ErrorEvent {
    ErrorEvent { exception_type: Some(exception_type.into()), message: Some(message.into()), ..event() }
}

fn with_trace(language: &str, exception_type: &str, message: &str, trace: &str) -> ErrorEvent {
    ErrorEvent {
        sdk_language: Some(language.into()),
        stacktrace: Some(trace.into()),
        ..typed(exception_type, message)
    }
}

fn group(event: &ErrorEvent) -> Grouping {
    Grouper::new().group(event)
}

fn python_trace(entry: &str, line: u32) -> String {
    format!(
        r#"Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/flask/app.py", line 1484, in full_dispatch_request
    rv = self.dispatch_request()
  File "/srv/app/{entry}.py", line 10, in handle
    return orders.create(payload)
  File "/srv/app/orders.py", line 30, in create
    qty = parse_quantity(payload["qty"])
  File "/srv/app/orders.py", line {line}, in parse_quantity
    return int(raw)
ValueError: invalid literal for int() with base 10: 'abc'
"#
    )
}

// ---- message variant -------------------------------------------------------

#[test]
fn messages_differing_only_in_numbers_group_together() {
    let a = group(&typed("NotFound", "User 42 not found"));
    let b = group(&typed("NotFound", "User 97 not found"));
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.method, "message");
    let untyped_a = group(&ErrorEvent { message: Some("User 42 not found".into()), ..event() });
    let untyped_b = group(&ErrorEvent { message: Some("User 97 not found".into()), ..event() });
    assert_eq!(untyped_a.fingerprint, untyped_b.fingerprint);
}

#[test]
fn different_types_with_the_same_message_stay_apart() {
    let key = group(&typed("KeyError", "'user_id'"));
    let value = group(&typed("ValueError", "'user_id'"));
    assert_ne!(key.fingerprint, value.fingerprint);
}

#[test]
fn different_messages_stay_apart() {
    let a = group(&typed("Error", "User 42 not found"));
    let b = group(&typed("Error", "Order 42 not found"));
    assert_ne!(a.fingerprint, b.fingerprint);
}

#[test]
fn ids_in_messages_group_together() {
    let a = group(&typed(
        "Timeout",
        "call to 10.0.0.7:8080 for 3f2504e0-4f89-11d3-9a0c-0305e82c3301 at 2024-03-01T10:00:00Z",
    ));
    let b = group(&typed(
        "Timeout",
        "call to 10.0.0.9:8080 for 9a7b3c4d-1111-2222-3333-444455556666 at 2024-03-02T11:30:00Z",
    ));
    assert_eq!(a.fingerprint, b.fingerprint);
}

// ---- scoping and stability -------------------------------------------------

#[test]
fn fingerprints_are_scoped_by_service() {
    let a = typed("ValueError", "bad");
    let b = ErrorEvent { service: "billing".into(), ..a.clone() };
    assert_ne!(group(&a).fingerprint, group(&b).fingerprint);
}

#[test]
fn fingerprints_are_stable_hex() {
    let grouping = group(&typed("KeyError", "'user_id'"));
    assert_eq!(grouping.fingerprint.len(), 32);
    assert!(grouping.fingerprint.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // Pinned: a change here reshuffles every stored group; bump GROUPING_VERSION.
    assert_eq!(
        grouping.fingerprint,
        crate::fingerprint::digest(&["message", "checkout", "KeyError", "<str>"])
    );
    assert_eq!(grouping.fingerprint, "a6eea69c79c7a0278fc516dbcc20d1c9");
    assert_eq!(grouping.version, crate::GROUPING_VERSION);
}

#[test]
fn unrelated_event_fields_do_not_change_the_fingerprint() {
    let a = with_trace("python", "ValueError", "x", &python_trace("views", 42));
    let b = ErrorEvent {
        timestamp: 1,
        host: Some("web-7".into()),
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        service_version: Some("1.5.0".into()),
        message: Some("invalid literal for int() with base 10: 'xyz'".into()),
        ..a.clone()
    };
    assert_eq!(group(&a).fingerprint, group(&b).fingerprint);
}

// ---- stacktrace variant ----------------------------------------------------

#[test]
fn stacktraces_ignore_line_numbers() {
    let a = group(&with_trace("python", "ValueError", "x", &python_trace("views", 42)));
    let b = group(&with_trace("python", "ValueError", "x", &python_trace("views", 57)));
    assert_eq!(a.method, "stacktrace");
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn stacktraces_prefer_in_app_frames() {
    let with_framework = python_trace("views", 42);
    let without_framework: String = with_framework
        .lines()
        .filter(|l| !l.contains("flask") && !l.contains("self.dispatch_request"))
        .map(|l| format!("{l}\n"))
        .collect();
    let a = group(&with_trace("python", "ValueError", "x", &with_framework));
    let b = group(&with_trace("python", "ValueError", "x", &without_framework));
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn stacktraces_use_only_the_frames_nearest_the_raise_site() {
    let deep = |entry: &str| {
        let mut text = String::from("Traceback (most recent call last):\n");
        text.push_str(&format!("  File \"/srv/app/{entry}.py\", line 1, in main\n"));
        for name in ["a", "b", "c", "d", "e"] {
            text.push_str(&format!("  File \"/srv/app/core.py\", line 2, in {name}\n"));
        }
        text.push_str("RuntimeError: boom\n");
        text
    };
    let a = group(&with_trace("python", "RuntimeError", "boom", &deep("cli")));
    let b = group(&with_trace("python", "RuntimeError", "boom", &deep("worker")));
    assert_eq!(a.fingerprint, b.fingerprint, "entry points beyond the top 5 frames do not matter");
}

#[test]
fn different_functions_split_groups() {
    let a = with_trace("python", "ValueError", "x", &python_trace("views", 42));
    let renamed = python_trace("views", 42).replace("in parse_quantity", "in parse_price");
    let b = with_trace("python", "ValueError", "x", &renamed);
    assert_ne!(group(&a).fingerprint, group(&b).fingerprint);
}

#[test]
fn recursion_depth_does_not_split_groups() {
    let recursive = |depth: usize| {
        let mut text = String::from("Traceback (most recent call last):\n");
        text.push_str(&"  File \"/srv/app/tree.py\", line 9, in walk\n".repeat(depth));
        text.push_str("RecursionError: maximum recursion depth exceeded\n");
        text
    };
    let a = group(&with_trace("python", "RecursionError", "m", &recursive(3)));
    let b = group(&with_trace("python", "RecursionError", "m", &recursive(30)));
    assert_eq!(a.fingerprint, b.fingerprint);
}

#[test]
fn the_stack_type_matters() {
    let a = with_trace("python", "ValueError", "x", &python_trace("views", 42));
    let b_text = python_trace("views", 42).replace("ValueError:", "TypeError:");
    let b = with_trace("python", "TypeError", "x", &b_text);
    assert_ne!(group(&a).fingerprint, group(&b).fingerprint);
}

#[test]
fn python_chains_group_by_the_root_cause() {
    let chained = |wrapper: &str| {
        format!(
            r#"Traceback (most recent call last):
  File "/srv/app/db.py", line 12, in fetch
    return conn.execute(sql)
sqlite3.OperationalError: database is locked

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/api.py", line 40, in get_order
    raise {wrapper}("lookup failed") from exc
app.errors.{wrapper}: lookup failed
"#
        )
    };
    let a = group(&with_trace("python", "ServiceError", "lookup failed", &chained("ServiceError")));
    let b = group(&with_trace("python", "LookupFailed", "lookup failed", &chained("LookupFailed")));
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.title, "ServiceError: lookup failed", "the title names what the SDK reported");
    assert_eq!(a.culprit, "app.db in fetch", "the culprit is where the root cause was raised");
}

#[test]
fn java_chains_group_by_the_root_cause() {
    let chained = |wrapper: &str| {
        format!(
            "{wrapper}: order 42 failed
\tat com.acme.shop.OrderController.create(OrderController.java:55)
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)
Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available
\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)
\tat com.acme.shop.OrderRepository.save(OrderRepository.java:31)
\tat com.acme.shop.OrderController.create(OrderController.java:52)
\t... 1 more
"
        )
    };
    let a =
        group(&with_trace("java", "java.lang.RuntimeException", "x", &chained("java.lang.RuntimeException")));
    let b =
        group(&with_trace("java", "com.acme.shop.OrderFailed", "x", &chained("com.acme.shop.OrderFailed")));
    assert_eq!(a.method, "stacktrace");
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.culprit, "com.acme.shop.OrderRepository in save");
}

#[test]
fn each_language_groups_by_stack() {
    let cases = [
        ("nodejs", "TypeError", "Cannot read properties of undefined (reading 'id')\n    at getUser (/srv/app/src/users.js:12:19)\n    at async handler (/srv/app/src/routes.js:40:5)", "src/users.js in getUser"),
        ("go", "*errors.errorString", "goroutine 7 [running]:\nmain.(*Store).Get(0xc000010000)\n\t/app/store.go:42 +0x22\nmain.main()\n\t/app/main.go:9 +0x1d\n", "main in (*Store).Get"),
        ("dotnet", "System.NullReferenceException", "System.NullReferenceException: Object reference not set to an instance of an object.\n   at Acme.Cart.Total() in /src/Acme/Cart.cs:line 18\n   at Acme.Program.Main(String[] args) in /src/Acme/Program.cs:line 5", "Acme.Cart in Total"),
        ("ruby", "NoMethodError", "/app/app/models/order.rb:12:in 'Order#total': undefined method 'price' for nil (NoMethodError)\n\tfrom /app/app/controllers/orders_controller.rb:8:in 'OrdersController#show'", "models/order in total"),
        ("php", "TypeError", "#0 /var/www/src/Cart.php(18): App\\Cart->total()\n#1 /var/www/public/index.php(5): App\\Kernel->run()\n#2 {main}", "App\\Cart in total"),
        ("rust", "panic", "thread 'main' panicked at src/cart.rs:18:5:\nempty cart\nstack backtrace:\n   0: rust_begin_unwind\n   1: shop::cart::total\n             at ./src/cart.rs:18:5\n   2: shop::main\n", "shop::cart in total"),
    ];
    for (language, exception_type, trace, culprit) in cases {
        let grouping = group(&with_trace(language, exception_type, "m", trace));
        assert_eq!(grouping.method, "stacktrace", "{language}");
        assert_eq!(grouping.culprit, culprit, "{language}");
        let moved = trace
            .replace(":12:", ":13:")
            .replace(":42 ", ":43 ")
            .replace("line 18", "line 19")
            .replace("(18)", "(19)")
            .replace(":18:", ":19:");
        assert_eq!(
            grouping.fingerprint,
            group(&with_trace(language, exception_type, "m", &moved)).fingerprint,
            "{language}"
        );
    }
}

#[test]
fn unparseable_stacktraces_fall_back_to_the_message() {
    let a = group(&with_trace("python", "ValueError", "User 42 not found", "<<binary \u{0} junk>>"));
    let b = group(&with_trace("python", "ValueError", "User 97 not found", "something else entirely"));
    assert_eq!(a.method, "message");
    assert_eq!(a.fingerprint, b.fingerprint);
}

// ---- route variant ---------------------------------------------------------

fn server_error(status: u16, method: &str, route: &str) -> ErrorEvent {
    ErrorEvent {
        source: EventSource::HttpServerError,
        exception_type: Some(format!("HTTP {status}")),
        http_status: Some(status),
        http_method: Some(method.into()),
        http_route: Some(route.into()),
        span_name: Some(format!("{method} {route}")),
        ..event()
    }
}

#[test]
fn http_server_errors_group_by_type_route_and_method() {
    let a = group(&server_error(503, "GET", "/users/{id}"));
    let again = group(&ErrorEvent { trace_id: "ff".into(), ..server_error(503, "GET", "/users/{id}") });
    assert_eq!(a.method, "route");
    assert_eq!(a.fingerprint, again.fingerprint);
    assert_ne!(a.fingerprint, group(&server_error(503, "POST", "/users/{id}")).fingerprint);
    assert_ne!(a.fingerprint, group(&server_error(503, "GET", "/orders/{id}")).fingerprint);
    assert_ne!(a.fingerprint, group(&server_error(500, "GET", "/users/{id}")).fingerprint);
    assert_eq!(a.title, "HTTP 503");
    assert_eq!(a.culprit, "GET /users/{id}");
}

#[test]
fn events_with_nothing_else_group_by_span_and_status() {
    let bare =
        ErrorEvent { source: EventSource::SpanStatus, span_name: Some("charge-card".into()), ..event() };
    let grouping = group(&bare);
    assert_eq!(grouping.method, "route");
    assert_eq!(grouping.title, "charge-card");
    assert_eq!(grouping.culprit, "charge-card");
    let other = ErrorEvent { span_name: Some("refund".into()), ..bare.clone() };
    assert_ne!(grouping.fingerprint, group(&other).fingerprint);
    let with_status = ErrorEvent { http_status: Some(502), ..bare };
    assert_ne!(grouping.fingerprint, group(&with_status).fingerprint);
}

// ---- custom variant --------------------------------------------------------

fn with_attribute(name: &str, value: serde_json::Value) -> ErrorEvent {
    let mut e = with_trace("python", "ValueError", "x", &python_trace("views", 42));
    e.attributes.insert(name.into(), value);
    e
}

#[test]
fn fingerprint_attributes_override_everything() {
    let a = group(&with_attribute("error.fingerprint", json!("payment-gateway-down")));
    let b = group(&ErrorEvent {
        exception_type: Some("KeyError".into()),
        ..with_attribute("faultline.fingerprint", json!("payment-gateway-down"))
    });
    assert_eq!(a.method, "custom");
    assert_eq!(a.fingerprint, b.fingerprint);
    let array = group(&with_attribute("error.fingerprint", json!(["payment", "gateway"])));
    assert_eq!(array.method, "custom");
    assert_ne!(array.fingerprint, a.fingerprint);
    assert_eq!(a.title, "ValueError: x", "titles still describe the error");
}

#[test]
fn custom_fingerprints_are_scoped_by_service() {
    let a = with_attribute("error.fingerprint", json!("same"));
    let b = ErrorEvent { service: "billing".into(), ..a.clone() };
    assert_ne!(group(&a).fingerprint, group(&b).fingerprint);
}

#[test]
fn custom_fingerprints_can_extend_the_default() {
    let base = group(&with_attribute("error.fingerprint", json!(["{{ default }}", "tenant-a"])));
    let other_tenant = group(&with_attribute("error.fingerprint", json!(["{{default}}", "tenant-b"])));
    let plain = group(&with_trace("python", "ValueError", "x", &python_trace("views", 42)));
    assert_eq!(base.method, "custom");
    assert_ne!(base.fingerprint, other_tenant.fingerprint);
    assert_ne!(base.fingerprint, plain.fingerprint);
}

#[test]
fn unusable_fingerprint_attributes_are_ignored() {
    for value in [json!(""), json!("   "), json!([]), json!({"a": 1}), json!(null), json!([null, {}])] {
        let grouping = group(&with_attribute("error.fingerprint", value.clone()));
        assert_eq!(grouping.method, "stacktrace", "{value}");
    }
}

#[test]
fn resource_fingerprints_apply_but_the_events_own_win() {
    let mut e = typed("ValueError", "x");
    e.resource.insert("faultline.fingerprint".into(), json!("from-resource"));
    let from_resource = group(&e);
    assert_eq!(from_resource.method, "custom");
    e.attributes.insert("error.fingerprint".into(), json!("from-event"));
    assert_ne!(group(&e).fingerprint, from_resource.fingerprint);
}

// ---- titles and culprits ---------------------------------------------------

#[test]
fn titles_follow_sentry() {
    let full = group(&with_trace(
        "python",
        "ValueError",
        "invalid literal for int() with base 10: 'abc'",
        &python_trace("views", 42),
    ));
    assert_eq!(full.title, "ValueError: invalid literal for int() with base <num>: <str>");
    assert_eq!(full.culprit, "app.orders in parse_quantity");
    assert_eq!(group(&ErrorEvent { exception_type: Some("KeyError".into()), ..event() }).title, "KeyError");
    assert_eq!(group(&ErrorEvent { message: Some("disk full\nmore".into()), ..event() }).title, "disk full");
    assert_eq!(group(&event()).title, "POST /orders");
    let long = group(&typed("E", &"x".repeat(1000)));
    assert_eq!(long.title.chars().count(), 200);
    assert!(long.title.ends_with('…'));
}

#[test]
fn titles_fall_back_to_the_trace_header() {
    let trace = python_trace("views", 42);
    let grouping =
        group(&ErrorEvent { stacktrace: Some(trace), sdk_language: Some("python".into()), ..event() });
    assert_eq!(grouping.title, "ValueError: invalid literal for int() with base <num>: <str>");
    assert_eq!(grouping.method, "stacktrace");
}

#[test]
fn titles_read_the_same_whichever_event_came_first() {
    let a = group(&typed("CartError", "cart 17 is locked"));
    let b = group(&typed("CartError", "cart 18 is locked"));
    assert_eq!(a.title, "CartError: cart <num> is locked");
    assert_eq!(a.title, b.title);
    assert_eq!(
        group(&typed("NotFound", "User 42 not found\nat 12:30:45")).title,
        "NotFound: User <num> not found"
    );
    assert_eq!(
        group(&server_error(503, "GET", "/users/{id}")).title,
        "HTTP 503",
        "types are not parameterized"
    );
}

#[test]
fn culprits_fall_back_to_route_and_span() {
    let routed = ErrorEvent {
        http_route: Some("/users/{id}".into()),
        http_method: Some("get".into()),
        ..typed("KeyError", "x")
    };
    assert_eq!(group(&routed).culprit, "GET /users/{id}");
    assert_eq!(group(&typed("KeyError", "x")).culprit, "POST /orders");
    assert_eq!(group(&ErrorEvent { span_name: None, ..typed("KeyError", "x") }).culprit, "");
}

fn error_log(attributes: &[(&str, &str)]) -> ErrorEvent {
    let mut log = ErrorEvent {
        source: EventSource::Log,
        span_name: None,
        message: Some("payment provider declined order 5521".into()),
        ..event()
    };
    for (name, value) in attributes {
        log.attributes.insert((*name).into(), json!(value));
    }
    log
}

#[test]
fn log_culprits_come_from_code_attributes_else_the_logger() {
    let current = error_log(&[
        ("code.function.name", "charge"),
        ("code.file.path", "/srv/app/shop/handlers.py"),
        ("code.line.number", "52"),
        ("otel.scope.name", "shop"),
    ]);
    assert_eq!(group(&current).culprit, "shop.handlers in charge", "Python's handler, current names");
    let older = error_log(&[("code.function", "charge"), ("code.filepath", "/srv/app/shop/handlers.py")]);
    assert_eq!(group(&older).culprit, "shop.handlers in charge", "Python's handler, older names");
    let java = ErrorEvent {
        sdk_language: Some("java".into()),
        ..error_log(&[("code.namespace", "com.acme.shop.Billing"), ("code.function", "charge")])
    };
    assert_eq!(group(&java).culprit, "com.acme.shop.Billing in charge");
    assert_eq!(group(&error_log(&[("code.function.name", "charge")])).culprit, "charge");
    assert_eq!(group(&error_log(&[("otel.scope.name", "shop.payments")])).culprit, "shop.payments");
    assert_eq!(group(&error_log(&[])).culprit, "");
}

#[test]
fn span_culprits_use_code_attributes_before_the_route() {
    let mut span = server_error(503, "GET", "/users/{id}");
    span.attributes.insert("code.function.name".into(), json!("get_user"));
    span.attributes.insert("code.file.path".into(), json!("/srv/app/users.py"));
    assert_eq!(group(&span).culprit, "app.users in get_user");
    let traced = with_trace("python", "ValueError", "x", &python_trace("views", 42));
    let mut traced_with_code = traced.clone();
    traced_with_code.attributes.insert("code.function.name".into(), json!("handle"));
    assert_eq!(group(&traced_with_code).culprit, group(&traced).culprit, "the stack trace wins");
}

// ---- hostile input ---------------------------------------------------------

fn assert_fast(started: Instant) {
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn hostile_input_is_bounded_and_never_panics() {
    let started = Instant::now();
    let huge = "A".repeat(8 * 1024 * 1024);
    let cases = [
        ErrorEvent { message: Some(huge.clone()), ..event() },
        ErrorEvent { stacktrace: Some(huge.clone()), ..event() },
        ErrorEvent {
            exception_type: Some(huge.clone()),
            stacktrace: Some("\u{0}\u{1}\u{fffd}".repeat(100_000)),
            ..event()
        },
        ErrorEvent { stacktrace: Some("\n".repeat(3_000_000)), sdk_language: Some("java".into()), ..event() },
        ErrorEvent { stacktrace: Some(String::new()), message: Some(String::new()), ..event() },
    ];
    for case in &cases {
        let grouping = group(case);
        assert_eq!(grouping.fingerprint.len(), 32);
        assert!(grouping.title.chars().count() <= 200);
        assert!(grouping.culprit.chars().count() <= 200);
    }
    assert_fast(started);
}

#[test]
fn ten_thousand_level_chains_are_bounded() {
    let started = Instant::now();
    let mut java = String::from("java.lang.RuntimeException: top\n\tat com.acme.A.a(A.java:1)\n");
    for i in 0..10_000 {
        java.push_str(&format!(
            "Caused by: com.acme.Level{i}: x\n\tat com.acme.B.b{i}(B.java:1)\n\t... 1 more\n"
        ));
    }
    let grouping = group(&with_trace("java", "java.lang.RuntimeException", "top", &java));
    assert_eq!(grouping.method, "stacktrace");
    let python = "Traceback (most recent call last):\n  File \"/app/a.py\", line 1, in f\nValueError: x\n\nDuring handling of the above exception, another exception occurred:\n\n".repeat(10_000);
    assert_eq!(group(&with_trace("python", "ValueError", "x", &python)).method, "stacktrace");
    assert_fast(started);
}

#[test]
fn a_type_the_message_already_starts_with_is_not_repeated() {
    let enoent = typed("ENOENT", "ENOENT: no such file or directory, open 'a.html'");
    assert_eq!(group(&enoent).title, "ENOENT: no such file or directory, open <str>");
    // Only a whole leading type followed by a colon counts.
    assert_eq!(group(&typed("Error", "Errors: 3 found")).title, "Error: Errors: <num> found");
}
