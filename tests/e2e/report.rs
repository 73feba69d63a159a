//! Reports end to end: errors and request spans sent over OTLP show up in
//! `GET /api/v1/report`, in `faultline report`, and in a scheduled digest
//! delivered to a real webhook receiver, signed, once per slot across a
//! restart.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use faultline_tests::otlp::{error_log, kv, kv_int, logs_request, now_nanos, post_protobuf, traces_request};
use faultline_tests::receiver::Receiver;
use faultline_tests::{binary, free_port, Server, TempDir};
use opentelemetry_proto::tonic::trace::v1::{span, Span};
use serde_json::Value;

fn config(receiver: &Receiver) -> String {
    format!(
        r#"
[alerts]
public_url = "http://faultline.test"

[[alerts.channels]]
id = "digest"
name = "Digest webhook"
config = {{ kind = "webhook", url = "{}", secret = "s3cret" }}

[[alerts.digests]]
channel = "digest"
schedule = "every:10s"
since = "1h"
"#,
        receiver.url("/digest")
    )
}

/// An error log with an exception type, so it makes an issue but no request.
fn errors(server: &Server, service: &str, kind: &str, messages: &[&str]) {
    let records = messages
        .iter()
        .map(|m| error_log(m, vec![kv("exception.type", kind), kv("exception.message", m)]))
        .collect();
    let (status, _) = post_protobuf(&server.http_url("/v1/logs"), &logs_request(service, records)).unwrap();
    assert_eq!(status, 200);
}

fn request(status: i64) -> Span {
    let now = now_nanos();
    Span {
        trace_id: rand::random::<[u8; 16]>().to_vec(),
        span_id: rand::random::<[u8; 8]>().to_vec(),
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

fn cli(server: &Server, args: &[&str]) -> String {
    let out = Command::new(binary()).args(args).args(["--server", &server.api_url("")]).output().unwrap();
    assert!(out.status.success(), "faultline {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn digests(receiver: &Receiver) -> Vec<Value> {
    receiver.on("/digest").iter().map(|r| r.json()).collect()
}

#[test]
fn report_api_cli_and_digest() {
    let receiver = Receiver::start();
    let tmp = TempDir::new("faultline-report");
    let path = tmp.path().join("report.toml");
    std::fs::write(&path, config(&receiver)).unwrap();
    let mut server = Server::start_with(&["--config", path.to_str().unwrap()]);

    errors(
        &server,
        "checkout",
        "CartError",
        &["cart 17 is locked", "cart 18 is locked", "cart 19 is locked"],
    );
    errors(&server, "checkout", "PaymentError", &["card declined"]);
    errors(&server, "search", "SearchError", &["index unavailable"]);
    // 20 requests, 5 failed: 25%. The 503s are error events too (one issue).
    let spans = (0..20).map(|i| request(if i < 5 { 503 } else { 200 })).collect();
    let (status, _) =
        post_protobuf(&server.http_url("/v1/traces"), &traces_request("checkout", spans)).unwrap();
    assert_eq!(status, 200);

    // The API: counts come from the index, so wait until it has them all.
    let report = server.wait_for("/api/v1/report?since=1h", |r| r["summary"]["events"] == 10);
    assert_eq!(report["version"], 1);
    assert_eq!(report["period_seconds"], 3600);
    assert_eq!(report["summary"]["new_groups"], 4, "{report}");
    assert_eq!(report["summary"]["previous_events"], 0);
    let new_groups = report["new_groups"].as_array().unwrap();
    assert_eq!(new_groups.len(), 4, "{report}");
    assert!(new_groups.iter().all(|g| g["new"] == true));
    assert!(new_groups
        .iter()
        .all(|g| g["url"].as_str().unwrap().starts_with("http://faultline.test/issues/")));
    let services: BTreeSet<&str> = new_groups.iter().map(|g| g["service"].as_str().unwrap()).collect();
    assert_eq!(services, BTreeSet::from(["checkout", "search"]));
    let top: Vec<(&str, u64)> = report["top_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["title"].as_str().unwrap(), g["events"].as_u64().unwrap()))
        .collect();
    assert_eq!(top.len(), 4, "{report}");
    assert!(top[0].0.starts_with("HTTP 503") && top[0].1 == 5, "{top:?}");
    assert!(top[1].0.starts_with("CartError") && top[1].1 == 3, "{top:?}");
    assert_eq!(report["top_groups"][1]["service"], "checkout");
    assert_eq!(report["top_groups"][1]["previous_events"], 0);
    let checkout =
        report["services"].as_array().unwrap().iter().find(|s| s["service"] == "checkout").unwrap();
    assert_eq!(checkout["requests"], 20, "{report}");
    assert_eq!(checkout["errors"], 5);
    assert_eq!(checkout["error_rate"], 0.25);
    assert_eq!(checkout["previous_requests"], 0);
    assert!(checkout["p95_ms"].as_f64().unwrap() > 0.0);

    let text = reqwest::blocking::get(server.api_url("/api/v1/report?since=1h&format=text")).unwrap();
    assert!(text.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(text.text().unwrap().starts_with("Faultline report: last 1h"));
    for bad in ["since=30s", "since=soon", "format=xml"] {
        assert_eq!(server.get_raw(&format!("/api/v1/report?{bad}")).0, 400, "{bad}");
    }

    // The CLI prints the same report as text, or the JSON.
    let out = cli(&server, &["report", "--since", "1h"]);
    assert!(out.starts_with("Faultline report: last 1h\n"), "{out}");
    let service_row = out.lines().find(|l| l.trim_start().starts_with("checkout ")).unwrap();
    assert!(service_row.contains("20") && service_row.contains("25.00%"), "{out}");
    let top_rows: Vec<&str> =
        out.lines().skip_while(|l| !l.starts_with("TOP ISSUES")).skip(2).take(2).collect();
    assert!(top_rows[0].contains("HTTP 503") && top_rows[0].contains(" 5 "), "{out}");
    assert!(top_rows[1].contains("CartError") && top_rows[1].contains(" 3 "), "{out}");
    let json: Value = serde_json::from_str(&cli(&server, &["report", "--since", "1h", "--json"])).unwrap();
    assert_eq!(json["summary"]["events"], 10);

    // The digest: every 10 s, covering the last hour, signed.
    let deadline = Instant::now() + Duration::from_secs(40);
    let digest = loop {
        let found = digests(&receiver).into_iter().find(|d| d["report"]["summary"]["events"] == 10);
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no digest with the events: {:?}", digests(&receiver));
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(digest["version"], 1);
    assert_eq!(digest["kind"], "report");
    assert!(digest["id"].as_str().unwrap().starts_with("digest-digest-"), "{digest}");
    assert!(digest["title"].as_str().unwrap().contains("4 new issues, 10 error events"), "{digest}");
    let text = digest["text"].as_str().unwrap();
    assert!(text.contains("CartError") && text.contains("checkout") && text.contains("25.00%"), "{text}");
    let request = &receiver.on("/digest")[0];
    assert!(request.headers["x-faultline-signature"].starts_with("sha256="), "{:?}", request.headers);
    assert!(request.headers.contains_key("x-faultline-timestamp"));
    let deliveries = server.get("/api/v1/alerts")["deliveries"].as_array().unwrap().clone();
    assert!(deliveries.iter().any(|d| d["channel_id"] == "digest" && d["ok"] == true), "{deliveries:?}");

    // A restart neither repeats a slot nor skips the next one.
    server.restart();
    let before = digests(&receiver).len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while digests(&receiver).len() < before + 2 {
        assert!(Instant::now() < deadline, "digests stopped after the restart");
        std::thread::sleep(Duration::from_millis(200));
    }
    let ids: Vec<String> = digests(&receiver).iter().map(|d| d["id"].as_str().unwrap().to_string()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a slot was sent twice: {ids:?}");
}

#[test]
fn digest_to_pagerduty_is_refused_at_start() {
    let tmp = TempDir::new("faultline-report-pd");
    let path = tmp.path().join("pd.toml");
    let config = r#"
[[alerts.channels]]
id = "pager"
name = "Pager"
config = { kind = "pagerduty", routing_key = "abc" }

[[alerts.digests]]
channel = "pager"
schedule = "daily"
at = "08:30"
"#;
    std::fs::write(&path, config).unwrap();
    let out = Command::new(binary())
        .args(["serve", "--config", path.to_str().unwrap()])
        .args(["--api-addr", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pagerduty channels cannot receive reports"), "{stderr}");
}
