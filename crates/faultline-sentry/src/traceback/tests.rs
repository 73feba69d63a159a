//! Per runtime: a Sentry event and the stack text the OTel SDK of that
//! runtime sends for the same bug get one fingerprint and culprit from
//! the grouping the server runs.
#![allow(clippy::unwrap_used)]

use faultline_grouping::stacktrace::{event_trace, IN_APP_ATTRIBUTE};
use faultline_grouping::Grouper;
use faultline_model::{ErrorEvent, EventSource, Grouping};
use serde_json::{json, Value};

use crate::{to_error_event, Project};

const SERVICE: &str = "shop";

fn sentry(event: Value) -> ErrorEvent {
    let project = Project { service: SERVICE.into(), environment: None };
    to_error_event(event.as_object().unwrap(), &project, 1)
}

/// The event an OTel SDK's `exception` span event becomes.
fn otel(language: &str, exception_type: &str, message: &str, stack: &str) -> ErrorEvent {
    let mut event = ErrorEvent::blank(SERVICE, EventSource::SpanException, 1);
    event.sdk_language = Some(language.into());
    event.exception_type = Some(exception_type.into());
    event.message = Some(message.into());
    event.stacktrace = Some(stack.into());
    event
}

fn group(event: &ErrorEvent) -> Grouping {
    Grouper::new().group(event)
}

/// Same fingerprint, culprit and title; grouped by the stack.
fn assert_one_issue(sentry: &ErrorEvent, otel: &ErrorEvent, culprit: &str) {
    let (s, o) = (group(sentry), group(otel));
    let text = sentry.stacktrace.as_deref().unwrap_or_default();
    assert_eq!(s.method, "stacktrace", "{text}");
    assert_eq!(s.culprit, culprit, "{text}");
    assert_eq!((&s.fingerprint, &s.culprit, &s.title), (&o.fingerprint, &o.culprit, &o.title), "{text}");
}

fn node_error() -> Value {
    json!({
        "platform": "node",
        "exception": {"values": [
            {"type": "Error", "value": "sku SKU-404 missing", "stacktrace": {"frames": [
                {"filename": "/srv/app/node_modules/express/lib/router/layer.js", "function": "Layer.handle [as handle_request]",
                 "lineno": 95, "colno": 5, "in_app": false},
                {"filename": "/srv/app/src/handler.js", "function": "handle", "lineno": 44, "colno": 7, "in_app": true},
                {"filename": "/srv/app/src/stock.js", "function": "takeStock", "lineno": 9, "colno": 3, "in_app": true},
                {"filename": "/srv/app/src/orders.js", "function": "reserveStock", "lineno": 17, "colno": 11, "in_app": true}]}},
            {"type": "OrderError", "value": "order 3001 failed", "stacktrace": {"frames": [
                {"filename": "/srv/app/node_modules/express/lib/router/layer.js", "function": "Layer.handle [as handle_request]",
                 "lineno": 95, "colno": 5, "in_app": false},
                {"filename": "/srv/app/src/handler.js", "function": "handle", "lineno": 44, "colno": 7, "in_app": true},
                {"filename": "/srv/app/src/orders.js", "function": "reserveStock", "lineno": 19, "colno": 11, "in_app": true}]}}
        ]}
    })
}

#[test]
fn node() {
    let event = sentry(node_error());
    // `error.stack` of the outer error; the cause is not part of it.
    let stack = "OrderError: order 3001 failed
    at reserveStock (/srv/app/src/orders.js:19:11)
    at handle (/srv/app/src/handler.js:44:7)
    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)
";
    assert_eq!(event.stacktrace.as_deref(), Some(stack));
    assert_one_issue(
        &event,
        &otel("nodejs", "OrderError", "order 3001 failed", stack),
        "src/orders.js in reserveStock",
    );
}

#[test]
fn the_sdks_in_app_flags_win() {
    // The SDK was told (`in_app_exclude`) that orders.js is vendored code.
    let mut value = node_error();
    value["exception"]["values"][1]["stacktrace"]["frames"][2]["in_app"] = json!(false);
    let event = sentry(value);
    assert_eq!(event.attributes[IN_APP_ATTRIBUTE], json!([[false, true, false]]));
    let trace = event_trace(&event);
    let flags: Vec<bool> = trace.chain[0].frames.iter().map(|f| f.in_app).collect();
    assert_eq!(flags, [false, true, false]);
    assert_eq!(group(&event).culprit, "src/handler.js in handle");
    assert_ne!(group(&event).fingerprint, group(&sentry(node_error())).fingerprint);

    // Without flags, grouping's own detection decides.
    let mut value = node_error();
    for exception in value["exception"]["values"].as_array_mut().unwrap() {
        for frame in exception["stacktrace"]["frames"].as_array_mut().unwrap() {
            frame.as_object_mut().unwrap().remove("in_app");
        }
    }
    let event = sentry(value);
    assert!(!event.attributes.contains_key(IN_APP_ATTRIBUTE));
    assert_eq!(group(&event).fingerprint, group(&sentry(node_error())).fingerprint);
}

#[test]
fn java() {
    let thread_run = json!({"module": "java.lang.Thread", "function": "run", "filename": "Thread.java", "lineno": 1583, "in_app": false});
    let show = json!({"module": "com.acme.orders.OrderController", "function": "show", "filename": "OrderController.java", "lineno": 12, "in_app": true});
    let event = sentry(json!({
        "platform": "java",
        "exception": {"values": [
            {"type": "SQLException", "module": "java.sql", "value": "Connection refused", "stacktrace": {"frames": [
                thread_run, show,
                {"module": "com.acme.orders.OrderService", "function": "load", "filename": "OrderService.java", "lineno": 80, "in_app": true},
                {"module": "com.acme.orders.OrderRepository", "function": "find", "filename": "OrderRepository.java", "lineno": 30, "in_app": true},
                {"module": "org.postgresql.Driver", "function": "connect", "filename": "Driver.java", "lineno": 285, "in_app": false}]}},
            {"type": "OrderException", "module": "com.acme.orders", "value": "order 42 failed", "stacktrace": {"frames": [
                thread_run, show,
                {"module": "com.acme.orders.OrderService", "function": "load", "filename": "OrderService.java", "lineno": 87, "in_app": true}]}}
        ]}
    }));
    let stack = "com.acme.orders.OrderException: order 42 failed
\tat com.acme.orders.OrderService.load(OrderService.java:87)
\tat com.acme.orders.OrderController.show(OrderController.java:12)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: java.sql.SQLException: Connection refused
\tat org.postgresql.Driver.connect(Driver.java:285)
\tat com.acme.orders.OrderRepository.find(OrderRepository.java:30)
\tat com.acme.orders.OrderService.load(OrderService.java:80)
\t... 2 more
";
    assert!(event.stacktrace.as_deref().unwrap().contains("\nCaused by: java.sql.SQLException: Connection refused\n\tat org.postgresql.Driver.connect(Driver.java:285)\n"));
    let otel = otel("java", "com.acme.orders.OrderException", "order 42 failed", stack);
    assert_one_issue(&event, &otel, "com.acme.orders.OrderRepository in find");
}

#[test]
fn dotnet() {
    let event = sentry(json!({
        "platform": "csharp",
        "exception": {"values": [
            {"type": "System.IO.FileNotFoundException", "value": "Could not find file '/data/42.json'.", "stacktrace": {"frames": [
                {"module": "Acme.Orders.OrderStore", "function": "Read", "abs_path": "/src/Acme.Orders/OrderStore.cs", "lineno": 31, "in_app": true},
                {"module": "System.IO.FileSystem", "function": "OpenHandle", "abs_path": "/_/src/FileSystem.cs", "lineno": 10, "in_app": false}]}},
            {"type": "System.InvalidOperationException", "value": "Order 42 could not be loaded", "stacktrace": {"frames": [
                {"module": "Acme.Orders.OrderService", "function": "async Task<Order> OrderService.Load(int id)",
                 "abs_path": "/src/Acme.Orders/OrderService.cs", "lineno": 44, "in_app": true}]}}
        ]}
    }));
    let stack = "System.InvalidOperationException: Order 42 could not be loaded
 ---> System.IO.FileNotFoundException: Could not find file '/data/42.json'.
   at System.IO.FileSystem.OpenHandle(String path) in /_/src/FileSystem.cs:line 10
   at Acme.Orders.OrderStore.Read(Int32 id) in /src/Acme.Orders/OrderStore.cs:line 31
   --- End of inner exception stack trace ---
   at Acme.Orders.OrderService.Load(Int32 id) in /src/Acme.Orders/OrderService.cs:line 44
";
    let otel = otel("dotnet", "System.InvalidOperationException", "Order 42 could not be loaded", stack);
    assert_one_issue(&event, &otel, "Acme.Orders.OrderStore in Read");
}

#[test]
fn go() {
    let event = sentry(json!({
        "platform": "go",
        "exception": [
            {"type": "*errors.errorString", "value": "order 42: unknown sku", "stacktrace": {"frames": [
                {"module": "main", "function": "main", "abs_path": "/src/shop/main.go", "lineno": 12, "in_app": true},
                {"module": "github.com/acme/shop/orders", "function": "(*Service).Reserve", "abs_path": "/src/shop/orders/service.go", "lineno": 42, "in_app": true}]}}
        ]
    }));
    let stack = "panic: order 42: unknown sku

goroutine 1 [running]:
github.com/acme/shop/orders.(*Service).Reserve(0xc000010000, {0x4d1a40, 0x3})
\t/src/shop/orders/service.go:42 +0x1d
main.main()
\t/src/shop/main.go:12 +0x25
";
    let otel = otel("go", "*errors.errorString", "order 42: unknown sku", stack);
    assert_one_issue(&event, &otel, "github.com/acme/shop/orders in (*Service).Reserve");
}

#[test]
fn ruby() {
    let event = sentry(json!({
        "platform": "ruby",
        "exception": {"values": [
            {"type": "NoMethodError", "value": "undefined method 'price' for nil", "stacktrace": {"frames": [
                {"abs_path": "/usr/local/bundle/gems/actionpack-7.1.0/lib/action_controller/metal/basic_implicit_render.rb",
                 "function": "ActionController::BasicImplicitRender#send_action", "lineno": 6, "in_app": false},
                {"abs_path": "/app/app/controllers/orders_controller.rb", "function": "OrdersController#show", "lineno": 8, "in_app": true},
                {"abs_path": "/app/app/models/order.rb", "function": "Order#total", "lineno": 12, "in_app": true}]}}
        ]}
    }));
    let stack = "/app/app/models/order.rb:12:in 'Order#total': undefined method 'price' for nil (NoMethodError)
\tfrom /app/app/controllers/orders_controller.rb:8:in 'OrdersController#show'
\tfrom /usr/local/bundle/gems/actionpack-7.1.0/lib/action_controller/metal/basic_implicit_render.rb:6:in 'ActionController::BasicImplicitRender#send_action'
";
    assert_eq!(event.stacktrace.as_deref(), Some(stack));
    let otel = otel("ruby", "NoMethodError", "undefined method 'price' for nil", stack);
    assert_one_issue(&event, &otel, "models/order in total");
}

#[test]
fn php() {
    let event = sentry(json!({
        "platform": "php",
        "exception": {"values": [
            {"type": "App\\OrderNotFound", "value": "Order 42 not found", "stacktrace": {"frames": [
                {"abs_path": "/var/www/public/index.php", "lineno": 20, "in_app": true},
                {"abs_path": "/var/www/vendor/symfony/http-kernel/HttpKernel.php", "function": "Symfony\\Component\\HttpKernel\\HttpKernel::handle",
                 "lineno": 181, "in_app": false},
                {"abs_path": "/var/www/src/OrderController.php", "function": "App\\OrderController::show", "lineno": 31, "in_app": true},
                {"abs_path": "/var/www/src/OrderService.php", "function": "App\\OrderService::load", "lineno": 87, "in_app": true}]}}
        ]}
    }));
    let stack = "App\\OrderNotFound: Order 42 not found in /var/www/src/OrderService.php:87
Stack trace:
#0 /var/www/src/OrderController.php(31): App\\OrderService->load(42)
#1 /var/www/vendor/symfony/http-kernel/HttpKernel.php(181): App\\OrderController->show(Object(Request))
#2 /var/www/public/index.php(20): Symfony\\Component\\HttpKernel\\HttpKernel->handle(Object(Request))
#3 {main}";
    let otel = otel("php", "App\\OrderNotFound", "Order 42 not found", stack);
    assert_one_issue(&event, &otel, "App\\OrderService in load");
    assert!(!event.attributes.contains_key(IN_APP_ATTRIBUTE), "PHP frames are judged by grouping");
}

#[test]
fn an_unknown_platform_is_rendered_by_its_files() {
    let mut value = node_error();
    value["platform"] = json!("other");
    let event = sentry(value);
    assert!(event
        .stacktrace
        .as_deref()
        .unwrap()
        .starts_with("OrderError: order 3001 failed\n    at reserveStock"));
    assert_eq!(group(&event).culprit, "src/orders.js in reserveStock");
}

#[test]
fn a_crashed_threads_stack_serves_an_exception_without_one() {
    let event = sentry(json!({
        "platform": "java",
        "exception": {"values": [{"type": "IllegalStateException", "module": "java.lang", "value": "closed", "thread_id": 7}]},
        "threads": {"values": [
            {"id": 1, "current": true, "stacktrace": {"frames": [{"module": "com.acme.Idle", "function": "park", "filename": "Idle.java", "lineno": 3}]}},
            {"id": 7, "crashed": true, "stacktrace": {"frames": [
                {"module": "com.acme.Pool", "function": "run", "filename": "Pool.java", "lineno": 5},
                {"module": "com.acme.Conn", "function": "send", "filename": "Conn.java", "lineno": 40}]}}
        ]}
    }));
    assert_eq!(
        event.stacktrace.as_deref(),
        Some("java.lang.IllegalStateException: closed\n\tat com.acme.Conn.send(Conn.java:40)\n\tat com.acme.Pool.run(Pool.java:5)\n")
    );
    assert_eq!(group(&event).culprit, "com.acme.Conn in send");
}

#[test]
fn a_message_events_attached_stack_locates_it_and_the_message_groups_it() {
    // sentry-python's attach_stacktrace: the current thread's stack.
    let logged = |formatted: &str, line: u64| {
        sentry(json!({
            "platform": "python",
            "logentry": {"message": "stock low for %s", "formatted": formatted},
            "threads": {"values": [{"current": true, "stacktrace": {"frames": [
                {"abs_path": "/app/main.py", "function": "main", "lineno": 3, "in_app": true},
                {"abs_path": "/app/shop/stock.py", "module": "shop.stock", "function": "check", "lineno": line, "in_app": true},
                {"abs_path": "/usr/lib/python3.12/logging/__init__.py", "function": "error", "lineno": 1568, "in_app": false}]}}]}
        }))
    };
    let event = logged("stock low for SKU-1", 9);
    assert_eq!(event.stacktrace, None, "not grouped by the frame it was sent from");
    assert_eq!(event.exception_type, None);
    assert_eq!(event.attributes["code.function.name"], "check");
    assert_eq!(event.attributes["code.file.path"], "/app/shop/stock.py");
    assert_eq!(event.attributes["code.line.number"], 9);
    assert_eq!(event.attributes["sentry.stacktrace"]["frames"][1]["function"], "check");
    let grouping = group(&event);
    assert_eq!((grouping.method.as_str(), grouping.title.as_str()), ("message", "stock low for SKU-<num>"));
    assert_eq!(grouping.culprit, "shop.stock in check");
    // The same message sent from elsewhere in the function: one issue; a
    // different message from the same place: another.
    assert_eq!(group(&logged("stock low for SKU-2", 12)).fingerprint, grouping.fingerprint);
    assert_ne!(group(&logged("stock gone", 9)).fingerprint, grouping.fingerprint);

    // @sentry/node's captureMessage: a typeless "synthetic" exception.
    let event = sentry(json!({
        "platform": "node",
        "message": "cache miss storm",
        "exception": {"values": [{"value": "cache miss storm", "mechanism": {"type": "generic", "synthetic": true},
            "stacktrace": {"frames": [
                {"filename": "node:internal/modules/cjs/loader", "function": "Module._load", "lineno": 1091, "in_app": false},
                {"filename": "/srv/app/src/cache.js", "function": "get", "lineno": 4, "colno": 2, "in_app": true}]}}]}
    }));
    assert_eq!(event.stacktrace, None);
    assert_eq!(group(&event).title, "cache miss storm");
    assert_eq!(group(&event).culprit, "src/cache.js in get");

    // A top-level `stacktrace` (older SDKs), without flags.
    let event = sentry(json!({
        "platform": "node",
        "message": "cache miss storm",
        "stacktrace": {"frames": [{"filename": "/srv/app/src/cache.js", "function": "get", "lineno": 4, "colno": 2}]}
    }));
    assert_eq!(event.attributes["code.function.name"], "get");
    assert_eq!(group(&event).culprit, "src/cache.js in get");
}
