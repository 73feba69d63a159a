//! Alerting end to end: errors sent over OTLP reach a real webhook and a
//! Slack-shaped receiver within seconds, once, grouped per rule; resolving
//! and regressing notify; an error-rate rule fires and resolves from real
//! spans; a broken channel is retried and recorded without holding up the
//! others.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use faultline_tests::otlp::{exception_span, kv, kv_int, now_nanos, post_protobuf, traces_request};
use faultline_tests::receiver::Receiver;
use faultline_tests::{wait_until, Server, TempDir};
use opentelemetry_proto::tonic::trace::v1::{span, Span};
use serde_json::Value;

fn config(hooks: &Receiver, broken: &Receiver) -> String {
    format!(
        r#"
[alerts]
public_url = "http://faultline.test"

[[alerts.channels]]
id = "hook"
name = "Ops webhook"
config = {{ kind = "webhook", url = "{}", secret = "s3cret" }}

[[alerts.channels]]
id = "slack"
name = "Slack #oncall"
config = {{ kind = "slack", webhook_url = "{}" }}

[[alerts.channels]]
id = "broken"
name = "Broken receiver"
config = {{ kind = "webhook", url = "{}" }}

[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"
channels = ["hook", "slack", "broken"]

[[alerts.rules]]
id = "regressions"
kind = "regression"
channels = ["hook"]

[[alerts.rules]]
id = "checkout-errors"
kind = "error_rate"
service = "checkout"
window = "1m"
min_requests = 10
warning = 0.2
critical = 0.5
resolve = 0.1
channels = ["hook"]
"#,
        hooks.url("/hook"),
        hooks.url("/slack"),
        broken.url("/broken")
    )
}

fn start(hooks: &Receiver, broken: &Receiver, tmp: &TempDir) -> Server {
    let path = tmp.path().join("alerts.toml");
    std::fs::write(&path, config(hooks, broken)).unwrap();
    Server::start_with(&["--config", path.to_str().unwrap()])
}

fn export(server: &Server, spans: Vec<Span>) {
    assert_eq!(
        post_protobuf(&server.http_url("/v1/traces"), &traces_request("checkout", spans)).unwrap().0,
        200
    );
}

fn webhooks_of(hooks: &Receiver, rule: &str) -> Vec<Value> {
    hooks.on("/hook").iter().map(|r| r.json()).filter(|j| j["rule"]["id"] == rule).collect()
}

#[test]
fn new_issues_notify_once_grouped_then_resolve_and_regress() {
    let (hooks, broken) = (Receiver::start(), Receiver::start());
    broken.status.store(500, Ordering::SeqCst);
    let tmp = TempDir::new("faultline-alerts");
    let server = start(&hooks, &broken, &tmp);

    // Two new issues in one export: one message per channel, both alerts in it.
    let sent = Instant::now();
    export(
        &server,
        vec![
            exception_span("GET /cart", "CartError", "cart 17 is locked", vec![]),
            exception_span("POST /pay", "PaymentError", "card declined", vec![]),
        ],
    );
    let first = hooks.wait("/hook", 1, Duration::from_secs(10));
    let latency = sent.elapsed();
    assert!(latency < Duration::from_secs(5), "new-issue webhook took {latency:?}");
    let body = first[0].json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["kind"], "firing");
    assert_eq!(body["rule"]["id"], "new-issues");
    let alerts = body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2, "grouped into one message: {body}");
    assert!(alerts.iter().any(|a| a["title"].as_str().unwrap().contains("CartError")), "{body}");
    assert!(alerts.iter().all(|a| a["url"].as_str().unwrap().starts_with("http://faultline.test/issues/")));
    let signature = first[0].headers.get("x-faultline-signature").cloned().unwrap_or_default();
    assert!(signature.starts_with("sha256="), "signed: {:?}", first[0].headers);

    let slack = hooks.wait("/slack", 1, Duration::from_secs(10))[0].json();
    assert!(slack["blocks"].as_array().is_some_and(|b| !b.is_empty()), "Block Kit: {slack}");
    assert!(slack["text"].as_str().unwrap().contains("New issue") || slack.to_string().contains("CartError"));

    // More events of the same issues: no new message.
    export(&server, vec![exception_span("GET /cart", "CartError", "cart 18 is locked", vec![])]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(webhooks_of(&hooks, "new-issues").len(), 1, "one notification per new issue");

    // The broken channel was retried and every attempt is on record, and
    // the working channels were not held up by it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let attempts = loop {
        let alerts = server.get("/api/v1/alerts");
        let failed: Vec<Value> = alerts["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["channel_id"] == "broken")
            .cloned()
            .collect();
        if failed.len() >= 2 || Instant::now() > deadline {
            break failed;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(attempts.len() >= 2, "retried: {attempts:?}");
    assert!(attempts.iter().all(|a| a["ok"] == false && a["status_code"] == 500));
    assert!(broken.on("/broken").len() >= 2);

    // Resolving the issue resolves its alert; an event after that regresses it.
    let groups = server.groups();
    let cart = groups.iter().find(|g| g["title"].as_str().unwrap().starts_with("CartError")).unwrap();
    let id = cart["id"].as_u64().unwrap();
    let client = reqwest::blocking::Client::new();
    let url = server.api_url(&format!("/api/v1/groups/{id}"));
    client.patch(url).json(&serde_json::json!({"status": "resolved"})).send().unwrap();
    wait_until(
        Duration::from_secs(10),
        || webhooks_of(&hooks, "new-issues").iter().any(|w| w["kind"] == "resolved"),
        || "no resolved notice".to_string(),
    );
    export(&server, vec![exception_span("GET /cart", "CartError", "cart 19 is locked", vec![])]);
    wait_until(
        Duration::from_secs(10),
        || !webhooks_of(&hooks, "regressions").is_empty(),
        || "no regression notice".to_string(),
    );
    let regression = &webhooks_of(&hooks, "regressions")[0];
    assert_eq!(regression["kind"], "firing");
    assert_eq!(regression["alerts"][0]["group_id"], id);

    // The channel test endpoint sends through the real channel.
    let before = hooks.on("/hook").len();
    let test: Value =
        client.post(server.api_url("/api/v1/channels/hook/test")).send().unwrap().json().unwrap();
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(hooks.on("/hook").len(), before + 1);
    assert_eq!(client.post(server.api_url("/api/v1/channels/nope/test")).send().unwrap().status(), 404);
    let channels = server.get("/api/v1/channels");
    assert!(!channels.to_string().contains("s3cret"), "secrets stay out of the API: {channels}");
}

fn request_span(status: i64) -> Span {
    let now = now_nanos();
    Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: "POST /pay".into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: now - 20_000_000,
        end_time_unix_nano: now,
        attributes: vec![
            kv("http.route", "/pay"),
            kv("http.request.method", "POST"),
            kv_int("http.response.status_code", status),
        ],
        ..Default::default()
    }
}

#[test]
fn error_rate_rule_fires_from_real_spans_and_resolves() {
    let (hooks, broken) = (Receiver::start(), Receiver::start());
    let tmp = TempDir::new("faultline-alerts-rate");
    let server = start(&hooks, &broken, &tmp);
    // 12 of 20 requests fail: 60%, over the critical 50%.
    export(&server, (0..20).map(|i| request_span(if i < 12 { 503 } else { 200 })).collect());
    wait_until(
        Duration::from_secs(20),
        || !webhooks_of(&hooks, "checkout-errors").is_empty(),
        || "error-rate rule did not fire".to_string(),
    );
    let firing = &webhooks_of(&hooks, "checkout-errors")[0];
    assert_eq!(firing["kind"], "firing");
    assert_eq!(firing["severity"], "critical");
    // Healthy traffic brings the rate under the resolve level (12 / 240 = 5%).
    export(&server, (0..220).map(|_| request_span(200)).collect());
    wait_until(
        Duration::from_secs(20),
        || webhooks_of(&hooks, "checkout-errors").iter().any(|w| w["kind"] == "resolved"),
        || "error-rate alert did not resolve".to_string(),
    );
    assert_eq!(
        webhooks_of(&hooks, "checkout-errors").iter().filter(|w| w["kind"] == "firing").count(),
        1,
        "fired exactly once"
    );
    let alerts = server.get("/api/v1/alerts");
    assert!(
        alerts["history"].as_array().unwrap().iter().any(|a| a["rule_id"] == "checkout-errors"),
        "{alerts}"
    );
}

#[test]
fn silences_mute_matching_alerts_until_removed() {
    let (hooks, broken) = (Receiver::start(), Receiver::start());
    let tmp = TempDir::new("faultline-alerts-silence");
    let server = start(&hooks, &broken, &tmp);
    let client = reqwest::blocking::Client::new();
    let silence = serde_json::json!({"matchers": {"service": "checkout", "rule": "new-issues"}, "duration": "1h", "comment": "deploying"});
    let response = client.post(server.api_url("/api/v1/silences")).json(&silence).send().unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(server.get("/api/v1/silences")["silences"].as_array().unwrap().len(), 1);
    let bad = serde_json::json!({"matchers": {}, "duration": "soon"});
    assert_eq!(client.post(server.api_url("/api/v1/silences")).json(&bad).send().unwrap().status(), 400);

    // Silenced: the alert exists, nothing is sent.
    export(&server, vec![exception_span("GET /a", "QuietError", "while silenced", vec![])]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(webhooks_of(&hooks, "new-issues").is_empty(), "silenced alerts are not sent");
    let active = server.get("/api/v1/alerts")["alerts"].as_array().unwrap().clone();
    assert!(active.iter().any(|a| a["rule_id"] == "new-issues"), "still tracked: {active:?}");

    // Removing the silence releases the firing alert on the next tick.
    let deleted = client.delete(server.api_url(&format!("/api/v1/silences/{id}"))).send().unwrap();
    assert_eq!(deleted.status(), 204);
    wait_until(
        Duration::from_secs(15),
        || !webhooks_of(&hooks, "new-issues").is_empty(),
        || "alert not sent after the silence ended".to_string(),
    );
    let group = &server.groups()[0];
    let snoozed: Value = client
        .post(server.api_url(&format!("/api/v1/groups/{}/snooze", group["id"])))
        .json(&serde_json::json!({"duration": "4h"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(snoozed["until"].is_string(), "{snoozed}");
}

#[test]
fn rules_and_channels_are_managed_through_the_api_and_persist() {
    let (hooks, broken) = (Receiver::start(), Receiver::start());
    let tmp = TempDir::new("faultline-alerts-admin");
    let mut server = start(&hooks, &broken, &tmp);
    let client = reqwest::blocking::Client::new();
    let send = |server: &Server, method: reqwest::Method, path: &str, body: Value| {
        let r = client.request(method, server.api_url(path)).json(&body).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    use reqwest::Method;
    let channel = serde_json::json!({"id": "api-hook", "name": "API hook", "config": {"kind": "webhook", "url": hooks.url("/api-hook")}});
    assert_eq!(send(&server, Method::POST, "/api/v1/channels", channel.clone()).0, 201);
    assert_eq!(send(&server, Method::POST, "/api/v1/channels", channel).0, 409, "exists");
    let rule = serde_json::json!({"id": "payments-new", "kind": "new_group", "filter": {"service": "checkout"}, "channels": ["api-hook"]});
    assert_eq!(send(&server, Method::POST, "/api/v1/alert-rules", rule).0, 201);
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/alert-rules",
        serde_json::json!({"id": "x", "kind": "new_group", "channels": ["nowhere"]}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nowhere"), "{body}");
    let (status, _) = send(
        &server,
        Method::PUT,
        "/api/v1/alert-rules/new-issues",
        serde_json::json!({"id": "new-issues", "kind": "regression"}),
    );
    assert_eq!(status, 409, "rules of the config file are read-only");
    let rules = server.get("/api/v1/alert-rules");
    let sources: Vec<(String, String)> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r["source"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        sources.contains(&("payments-new".into(), "api".into()))
            && sources.contains(&("new-issues".into(), "config".into()))
    );

    // Rules and channels made through the API survive a restart and work.
    server.restart();
    export(&server, vec![exception_span("POST /pay", "LedgerError", "ledger closed", vec![])]);
    let got = hooks.wait("/api-hook", 1, Duration::from_secs(10));
    assert_eq!(got[0].json()["rule"]["id"], "payments-new");

    assert_eq!(
        send(&server, Method::DELETE, "/api/v1/channels/api-hook", Value::Null).0,
        400,
        "a rule still uses it"
    );
    assert_eq!(send(&server, Method::DELETE, "/api/v1/alert-rules/payments-new", Value::Null).0, 204);
    assert_eq!(send(&server, Method::DELETE, "/api/v1/channels/api-hook", Value::Null).0, 204);
    assert_eq!(send(&server, Method::DELETE, "/api/v1/channels/hook", Value::Null).0, 409, "config channel");
    server.restart();
    assert!(!server.get("/api/v1/alert-rules").to_string().contains("payments-new"));
}

#[test]
fn rules_and_channels_created_at_the_same_moment_are_all_kept() {
    let (hooks, broken) = (Receiver::start(), Receiver::start());
    let tmp = TempDir::new("faultline-alerts-concurrent");
    let mut server = start(&hooks, &broken, &tmp);
    const AT_ONCE: usize = 12;
    let barrier = std::sync::Barrier::new(AT_ONCE);
    std::thread::scope(|scope| {
        for i in 0..AT_ONCE {
            let (server, barrier, hooks) = (&server, &barrier, &hooks);
            scope.spawn(move || {
                let client = reqwest::blocking::Client::new();
                let post = |path: &str, body: Value| {
                    let r = client.post(server.api_url(path)).json(&body).send().unwrap();
                    assert_eq!(r.status().as_u16(), 201, "{path}: {}", r.text().unwrap());
                };
                barrier.wait();
                post(
                    "/api/v1/channels",
                    serde_json::json!({"id": format!("c{i}"), "name": format!("C{i}"), "config": {"kind": "webhook", "url": hooks.url("/c")}}),
                );
                post(
                    "/api/v1/alert-rules",
                    serde_json::json!({"id": format!("r{i}"), "kind": "new_group", "channels": [format!("c{i}")]}),
                );
            });
        }
    });
    let ids = |server: &Server, path: &str, field: &str| -> Vec<String> {
        let mut ids: Vec<String> = server.get(path)[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .filter(|id| id.starts_with('r') || id.starts_with('c'))
            .filter(|id| id[1..].parse::<usize>().is_ok())
            .collect();
        ids.sort();
        ids
    };
    let want = |prefix: char| {
        let mut want: Vec<String> = (0..AT_ONCE).map(|i| format!("{prefix}{i}")).collect();
        want.sort();
        want
    };
    assert_eq!(ids(&server, "/api/v1/alert-rules", "rules"), want('r'));
    assert_eq!(ids(&server, "/api/v1/channels", "channels"), want('c'));
    server.restart();
    assert_eq!(ids(&server, "/api/v1/alert-rules", "rules"), want('r'), "saved");
    assert_eq!(ids(&server, "/api/v1/channels", "channels"), want('c'), "saved");
}

#[test]
fn check_down_latency_and_frequency_rules_fire_remind_and_resolve() {
    let hooks = Receiver::start();
    let target = Receiver::start();
    let tmp = TempDir::new("faultline-alerts-kinds");
    let path = tmp.path().join("kinds.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[checks]]
id = "api-health"
kind = "http"
url = "{}"
interval = "1s"
timeout = "1s"

[[alerts.channels]]
id = "hook"
name = "hook"
config = {{ kind = "webhook", url = "{}" }}

[[alerts.rules]]
id = "down"
kind = "check_down"
check = "api-*"
consecutive = 2
repeat_interval = "4s"
channels = ["hook"]

[[alerts.rules]]
id = "slow"
kind = "latency"
service = "checkout"
percentile = "p95"
window = "1m"
min_requests = 10
threshold_ms = {{ warning = 300, critical = 800 }}
channels = ["hook"]

[[alerts.rules]]
id = "hot"
kind = "group_frequency"
count = 5
window = "10m"
channels = ["hook"]
"#,
            target.url("/healthz"),
            hooks.url("/hook")
        ),
    )
    .unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap()]);
    let of =
        |rule: &str, kind: &str| webhooks_of(&hooks, rule).into_iter().filter(|w| w["kind"] == kind).count();
    let wait = |what: &str, ok: &dyn Fn() -> bool| {
        wait_until(Duration::from_secs(30), ok, || {
            let got: Vec<Value> = hooks.on("/hook").iter().map(|r| r.json()).collect();
            format!("timed out waiting for {what}; got {got:?}")
        });
    };

    // The checked server fails: down after 2 runs, a reminder after 4 s, resolved when it recovers.
    target.status.store(503, Ordering::SeqCst);
    wait("check_down firing", &|| of("down", "firing") == 1);
    let firing = webhooks_of(&hooks, "down").into_iter().find(|w| w["kind"] == "firing").unwrap();
    assert_eq!(firing["severity"], "critical");
    assert_eq!(firing["alerts"][0]["check_id"], "api-health");
    wait("a reminder", &|| of("down", "reminder") >= 1);
    target.status.store(200, Ordering::SeqCst);
    wait("check_down resolved", &|| of("down", "resolved") == 1);
    assert_eq!(of("down", "firing"), 1, "fired exactly once");

    // Slow requests: p95 of 900 ms is critical.
    let now = now_nanos();
    let slow: Vec<Span> = (0..20)
        .map(|_| Span {
            start_time_unix_nano: now - 900_000_000,
            end_time_unix_nano: now,
            ..request_span(200)
        })
        .collect();
    export(&server, slow);
    wait("latency firing", &|| of("slow", "firing") == 1);
    let latency = webhooks_of(&hooks, "slow").into_iter().find(|w| w["kind"] == "firing").unwrap();
    assert_eq!(latency["severity"], "critical");
    assert!(latency["alerts"][0]["value"].as_f64().unwrap() > 800.0, "{latency}");

    // One issue seen more than 5 times in 10 minutes.
    for i in 0..6 {
        export(&server, vec![exception_span("GET /hot", "HotError", &format!("burst {i}"), vec![])]);
    }
    wait("frequency firing", &|| of("hot", "firing") == 1);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(of("hot", "firing"), 1, "fired exactly once");
}

#[test]
fn an_exception_from_the_rust_sdk_reaches_a_mailbox() {
    use faultline_tests::smtp::SmtpServer;
    use opentelemetry::trace::{Span as _, Status, Tracer as _, TracerProvider as _};
    use opentelemetry_otlp::WithExportConfig;
    let smtp = SmtpServer::start();
    let tmp = TempDir::new("faultline-alerts-mail");
    let path = tmp.path().join("mail.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[alerts]
public_url = "http://faultline.test"

[[alerts.channels]]
id = "mail"
name = "On-call mail"
config = {{ kind = "email", smtp_host = "127.0.0.1", smtp_port = {}, tls = "none", from = "faultline@example.test", to = ["oncall@example.test", "lead@example.test"] }}

[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"
channels = ["mail"]
"#,
            smtp.port
        ),
    )
    .unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.grpc_endpoint())
        .build()
        .unwrap();
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("billing").build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("e2e");
    let mut span = tracer.start("charge");
    span.record_error(&std::io::Error::other("card <b>declined</b> for invoice 42"));
    span.set_status(Status::error("charge failed"));
    span.end();
    provider.force_flush().unwrap();

    let mail = smtp.next_message(Duration::from_secs(20));
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.contains("New issue"), "{mail}");
    assert!(mail["to"].as_str().unwrap().contains("lead@example.test"), "{mail}");
    let parts = mail["parts"].as_array().unwrap();
    let text = parts.iter().find(|p| p["content_type"] == "text/plain").unwrap()["body"].as_str().unwrap();
    let html = parts.iter().find(|p| p["content_type"] == "text/html").unwrap()["body"].as_str().unwrap();
    assert!(text.contains("card <b>declined</b>"), "plain text keeps the message: {text}");
    assert!(html.contains("card &lt;b&gt;declined&lt;/b&gt;"), "HTML escapes it: {html}");
    assert!(html.contains("http://faultline.test/issues/"), "links to the issue: {html}");
    provider.shutdown().unwrap();
}

#[test]
fn a_certificate_expiring_soon_alerts_with_its_severity() {
    let hooks = Receiver::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tls_port = faultline_tests::tls::tls_server(&runtime, 10);
    let tmp = TempDir::new("faultline-alerts-cert");
    let path = tmp.path().join("cert.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[checks]]
id = "api-cert"
kind = "tls"
address = "localhost:{tls_port}"
min_days_left = 5
interval = "1s"

[[alerts.channels]]
id = "hook"
name = "hook"
config = {{ kind = "webhook", url = "{}" }}

[[alerts.rules]]
id = "certificates"
kind = "cert_expiry"
days = 14
critical_days = 3
channels = ["hook"]
"#,
            hooks.url("/hook")
        ),
    )
    .unwrap();
    let _server = Server::start_with(&["--config", path.to_str().unwrap()]);
    wait_until(
        Duration::from_secs(30),
        || !webhooks_of(&hooks, "certificates").is_empty(),
        || "no certificate alert".to_string(),
    );
    let alert = &webhooks_of(&hooks, "certificates")[0];
    assert_eq!(alert["kind"], "firing");
    assert_eq!(alert["severity"], "warning", "10 days left: under 14, over 3");
    assert_eq!(alert["alerts"][0]["check_id"], "api-cert");
    let days = alert["alerts"][0]["value"].as_f64().unwrap();
    assert!((days - 10.0).abs() < 0.1, "{alert}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(webhooks_of(&hooks, "certificates").len(), 1, "once, not on every run");
}

#[test]
fn an_error_rate_far_from_its_baseline_is_an_anomaly() {
    let hooks = Receiver::start();
    let tmp = TempDir::new("faultline-alerts-anomaly");
    let path = tmp.path().join("anomaly.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[alerts.channels]]
id = "hook"
name = "hook"
config = {{ kind = "webhook", url = "{}" }}

[[alerts.rules]]
id = "seasonal-anomaly"
kind = "anomaly"
metric = "error_rate"
service = "seasonal"
sensitivity = 3.0
min_requests = 100
channels = ["hook"]
"#,
            hooks.url("/hook")
        ),
    )
    .unwrap();
    let mut server = Server::start_with(&["--config", path.to_str().unwrap()]);
    const HOUR: u64 = 3_600_000_000_000;
    let this_hour = now_nanos() / HOUR * HOUR;
    // Eight days of ordinary hours (1% failing), then 30% failing.
    let hour_of = |hours_ago: u64, failing: usize| -> Vec<Span> {
        let start = this_hour - hours_ago * HOUR;
        (0..200)
            .map(|i| Span {
                start_time_unix_nano: start + i as u64 * 10_000_000_000,
                end_time_unix_nano: start + i as u64 * 10_000_000_000 + 20_000_000,
                ..request_span(if i < failing { 503 } else { 200 })
            })
            .collect()
    };
    let mut spans = Vec::new();
    for hours_ago in (2..=8 * 24).rev() {
        spans.extend(hour_of(hours_ago, 2));
        if spans.len() >= 4000 {
            let batch = std::mem::take(&mut spans);
            assert_eq!(
                post_protobuf(&server.http_url("/v1/traces"), &traces_request("seasonal", batch)).unwrap().0,
                200
            );
        }
    }
    // The spike: the last 50 minutes, which the rule's one-hour window covers.
    let now = now_nanos();
    spans.extend((0..200).map(|i| Span {
        start_time_unix_nano: now - 3_000_000_000_000 + i * 12_000_000_000,
        end_time_unix_nano: now - 3_000_000_000_000 + i * 12_000_000_000 + 20_000_000,
        ..request_span(if i < 60 { 503 } else { 200 })
    }));
    assert_eq!(
        post_protobuf(&server.http_url("/v1/traces"), &traces_request("seasonal", spans)).unwrap().0,
        200
    );
    // The engine reads its baselines from stored hours when it starts.
    server.restart();
    wait_until(
        Duration::from_secs(30),
        || !webhooks_of(&hooks, "seasonal-anomaly").is_empty(),
        || format!("no anomaly alert; alerts: {}", server.get("/api/v1/alerts")),
    );
    let alert = &webhooks_of(&hooks, "seasonal-anomaly")[0];
    assert_eq!(alert["kind"], "firing");
    assert_eq!(alert["alerts"][0]["service"], "seasonal");
    assert!(alert["alerts"][0]["value"].as_f64().unwrap() > 0.2, "{alert}");
}
