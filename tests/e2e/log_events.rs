//! Error logs as users search and alert on them: one level vocabulary
//! whatever the runtime called the severity, case-insensitive keyword
//! fields, titles that read the same whichever event came first with the
//! latest raw message beside them, and culprits from `code.*` attributes or
//! the logger's name.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use faultline_tests::api::{encode, group_events, one_titled, titles, total};
use faultline_tests::otlp::{error_log, exception_span, kv, logs_request, post_protobuf, traces_request};
use faultline_tests::receiver::Receiver;
use faultline_tests::{wait_until, Server, TempDir};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ScopeLogs};

const SERVICE: &str = "shop";

fn config(hooks: &Receiver) -> String {
    format!(
        r#"
[[alerts.channels]]
id = "hook"
name = "Ops webhook"
config = {{ kind = "webhook", url = "{}" }}

[[alerts.rules]]
id = "new-errors"
kind = "new_group"
filter = {{ level = "error" }}
channels = ["hook"]
"#,
        hooks.url("/hook")
    )
}

fn log(number: i32, text: &str, message: &str, attributes: &[(&str, &str)]) -> LogRecord {
    LogRecord {
        severity_number: number,
        severity_text: text.into(),
        ..error_log(message, attributes.iter().map(|(k, v)| kv(k, v)).collect())
    }
}

/// One export with a scope (a logger) per record, as logging bridges send them.
fn export_logs(server: &Server, records: Vec<(&str, LogRecord)>) {
    let mut request: ExportLogsServiceRequest = logs_request(SERVICE, Vec::new());
    request.resource_logs[0].scope_logs = records
        .into_iter()
        .map(|(logger, record)| ScopeLogs {
            scope: Some(InstrumentationScope { name: logger.into(), ..Default::default() }),
            log_records: vec![record],
            ..Default::default()
        })
        .collect();
    assert_eq!(post_protobuf(&server.http_url("/v1/logs"), &request).unwrap().0, 200);
}

fn alert_titles(hooks: &Receiver) -> BTreeSet<String> {
    hooks
        .on("/hook")
        .iter()
        .flat_map(|r| r.json()["alerts"].as_array().cloned().unwrap_or_default())
        .map(|a| a["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn error_logs_read_alike_whatever_the_runtime() {
    let hooks = Receiver::start();
    let tmp = TempDir::new("faultline-log-events");
    let path = tmp.path().join("faultline.toml");
    std::fs::write(&path, config(&hooks)).unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap()]);

    let cart = traces_request(
        SERVICE,
        vec![exception_span(
            "GET /cart",
            "CartError",
            "cart 17 is locked",
            vec![kv("http.request.method", "GET")],
        )],
    );
    assert_eq!(post_protobuf(&server.http_url("/v1/traces"), &cart).unwrap().0, 200);
    export_logs(
        &server,
        vec![
            // Java's logging bridge: SEVERE, the class and method.
            (
                "com.acme.shop.Billing",
                log(
                    17,
                    "SEVERE",
                    "card 4242 refused",
                    &[("code.namespace", "com.acme.shop.Billing"), ("code.function", "charge")],
                ),
            ),
            // Python's logging handler: ERROR, function and file.
            (
                "shop",
                log(
                    17,
                    "ERROR",
                    "payment provider declined order 5521",
                    &[("code.function.name", "charge"), ("code.file.path", "/srv/app/shop/handlers.py")],
                ),
            ),
            (
                "shop",
                log(
                    17,
                    "ERROR",
                    "payment provider declined order 5522",
                    &[("code.function.name", "charge"), ("code.file.path", "/srv/app/shop/handlers.py")],
                ),
            ),
            // A bridge sending only a text, and nothing about the code.
            ("shop.storage", log(0, "CRITICAL", "disk full", &[])),
        ],
    );

    // Levels: one vocabulary, the SDK's text kept beside it.
    server.wait_for("/api/v1/search?q=&limit=100", |b| b["total"] == 5);
    assert_eq!(total(&server, "level:error source:log"), 3, "SEVERE and ERROR logs are errors");
    assert_eq!(total(&server, "level:ERROR"), 4, "the span too, whatever the query's case");
    assert_eq!(total(&server, "level:fatal"), 1);
    assert_eq!(total(&server, "source:LOG"), 4);
    assert_eq!(total(&server, "method:get"), 1);
    let severe = &server.get(&format!("/api/v1/search?q={}", encode("refused")))["events"][0];
    assert_eq!(severe["level"], "error");
    assert_eq!(severe["attributes"]["log.severity_text"], "SEVERE");
    assert_eq!(severe["attributes"]["otel.scope.name"], "com.acme.shop.Billing");

    // Titles parameterized, the latest raw message beside them; culprits.
    let groups = server.groups();
    assert_eq!(groups.len(), 4, "{:?}", titles(&groups));
    let declined = one_titled(&groups, "payment provider declined order <num>");
    assert_eq!(declined["count"], 2);
    assert_eq!(declined["last_message"], "payment provider declined order 5522");
    assert_eq!(declined["culprit"], "shop.handlers in charge");
    let id = declined["id"].as_u64().unwrap();
    assert_eq!(
        server.get(&format!("/api/v1/groups/{id}"))["last_message"],
        "payment provider declined order 5522"
    );
    assert_eq!(group_events(&server, declined)[0]["level"], "error");
    let refused = one_titled(&groups, "card <num> refused");
    assert_eq!(refused["last_message"], "card 4242 refused");
    assert_eq!(refused["culprit"], "com.acme.shop.Billing in charge");
    assert_eq!(one_titled(&groups, "disk full")["culprit"], "shop.storage", "the logger's name");
    let cart = one_titled(&groups, "CartError: cart <num> is locked");
    assert_eq!(cart["last_message"], "cart 17 is locked");

    // `level = "error"` alerts on error logs of every runtime, not on fatal ones.
    let expected: BTreeSet<String> = [
        "New issue in shop: CartError: cart <num> is locked",
        "New issue in shop: card <num> refused",
        "New issue in shop: payment provider declined order <num>",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    wait_until(
        Duration::from_secs(10),
        || alert_titles(&hooks).is_superset(&expected),
        || format!("alerts: {:?}", alert_titles(&hooks)),
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(alert_titles(&hooks), expected);
}
