//! Active checks end to end: the server probes real local servers the test
//! starts (an HTTP server switched between healthy and failing, a TCP
//! listener that is closed, a TLS server whose certificate expires in 10
//! days) and the API reports state, uptime, incidents and days left.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use faultline_tests::tls::tls_server;
use faultline_tests::web::Web;
use faultline_tests::{Server, TempDir};
use serde_json::Value;

/// A TCP listener that can be closed.
struct Port {
    port: u16,
    open: Arc<AtomicBool>,
}

impl Port {
    fn start() -> Port {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let flag = open.clone();
        std::thread::spawn(move || {
            while flag.load(Ordering::SeqCst) {
                let _ = listener.accept();
                std::thread::sleep(Duration::from_millis(10));
            }
            // Dropping the listener closes the port: connects are refused.
        });
        Port { port, open }
    }

    fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
    }
}

fn send(server: &Server, method: reqwest::Method, path: &str, body: Value) -> (u16, String) {
    let r =
        reqwest::blocking::Client::new().request(method, server.api_url(path)).json(&body).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn check(server: &Server, id: &str) -> Value {
    server.get(&format!("/api/v1/checks/{id}"))
}

fn wait_check(server: &Server, id: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let c = check(server, id);
        if ok(&c) {
            return c;
        }
        assert!(std::time::Instant::now() < deadline, "check {id} never became {what}: {c}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn checks_follow_real_servers_up_and_down() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let web = Web::start();
    let db = Port::start();
    let tls_port = tls_server(&runtime, 10);
    let tmp = TempDir::new("faultline-checks");
    let config = tmp.path().join("checks.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[checks]]
id = "web"
kind = "http"
url = "http://127.0.0.1:{}/healthz"
expected_status = "200-299"
body_contains = "ok"
interval = "1s"
timeout = "2s"

[[checks]]
id = "db"
kind = "tcp"
address = "127.0.0.1:{}"
interval = "1s"

[[checks]]
id = "cert"
kind = "tls"
address = "localhost:{tls_port}"
min_days_left = 14
interval = "1s"
"#,
            web.port, db.port
        ),
    )
    .unwrap();
    let mut server = Server::start_with(&["--config", config.to_str().unwrap()]);

    // Healthy first.
    let up = |c: &Value| c["state"] == "up" && c["recent_runs"].as_array().unwrap().len() >= 2;
    wait_check(&server, "web", "up", up);
    wait_check(&server, "db", "up", up);

    // The HTTP server fails, then recovers: one closed incident.
    web.status.store(503, Ordering::SeqCst);
    let down = wait_check(&server, "web", "down", |c| c["state"] == "down");
    assert!(down["last_run"]["error"].as_str().unwrap().contains("503"), "{down}");
    assert_eq!(down["last_run"]["status_code"], 503);
    assert!(down["open_incident"].is_object());
    web.status.store(200, Ordering::SeqCst);
    let back = wait_check(&server, "web", "up again", |c| {
        c["state"] == "up" && c["incidents"].as_array().unwrap().len() == 1
    });
    let incident = &back["incidents"][0];
    assert!(incident["ended_at"].is_string(), "{incident}");
    assert!(incident["failed_checks"].as_u64().unwrap() >= 1);
    assert!(incident["first_error"].as_str().unwrap().contains("expected status 200-299, got 503"));
    assert!(back["open_incident"].is_null());
    let uptime = back["uptime"]["24h"].as_f64().unwrap();
    assert!(uptime > 0.0 && uptime < 1.0, "some runs failed, most passed: {uptime}");

    // The port closes: down, with consecutive failures counted.
    db.close();
    let closed = wait_check(&server, "db", "down", |c| {
        c["state"] == "down" && c["consecutive_failures"].as_u64() >= Some(2)
    });
    assert!(closed["last_run"]["error"].as_str().unwrap().contains("refused"), "{closed}");

    // The certificate has 10 days left, under the 14 required.
    let cert = wait_check(&server, "cert", "checked", |c| c["last_run"].is_object());
    let days = cert["tls_days_left"].as_f64().unwrap();
    assert!((days - 10.0).abs() < 0.1, "days left {days}");
    assert_eq!(cert["state"], "down");
    assert!(cert["last_run"]["error"].as_str().unwrap().contains("< 14"), "{cert}");

    // Listing, and the Prometheus view.
    let list = server.get("/api/v1/checks");
    let ids: Vec<&str> =
        list["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["cert", "db", "web"]);
    let text = reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap();
    assert!(text.contains("faultline_check_up{check=\"web\"} 1"), "{text}");
    assert!(text.contains("faultline_check_up{check=\"db\"} 0"), "{text}");
    assert!(text.contains("faultline_check_tls_days_left{check=\"cert\"} 9.9"), "{text}");

    // History survives a restart.
    server.restart();
    let again = check(&server, "web");
    assert_eq!(again["incidents"].as_array().unwrap().len(), 1);
}

#[test]
fn checks_are_managed_through_the_api() {
    let web = Web::start();
    let tmp = TempDir::new("faultline-checks-api");
    let config = tmp.path().join("checks.toml");
    std::fs::write(
        &config,
        format!("[[checks]]\nid = \"fixed\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{}\"\n", web.port),
    )
    .unwrap();
    let mut server = Server::start_with(&["--config", config.to_str().unwrap()]);
    let definition = serde_json::json!({
        "id": "site", "kind": "http", "url": format!("http://127.0.0.1:{}/", web.port), "interval": "1s"
    });
    assert_eq!(send(&server, reqwest::Method::POST, "/api/v1/checks", definition.clone()).0, 201);
    assert_eq!(send(&server, reqwest::Method::POST, "/api/v1/checks", definition.clone()).0, 409, "exists");
    let (status, body) = send(
        &server,
        reqwest::Method::POST,
        "/api/v1/checks",
        serde_json::json!({"id": "x", "kind": "http"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("url"), "says what is missing: {body}");
    let fixed = serde_json::json!({"id": "fixed", "kind": "tcp", "address": "127.0.0.1:1"});
    assert_eq!(
        send(&server, reqwest::Method::PUT, "/api/v1/checks/fixed", fixed).0,
        409,
        "config checks are read-only"
    );
    wait_check(&server, "site", "up", |c| c["state"] == "up");
    assert_eq!(check(&server, "site")["source"], "api");
    assert_eq!(check(&server, "fixed")["source"], "config");

    // Created checks persist across restarts, then can be deleted.
    server.restart();
    wait_check(&server, "site", "up after restart", |c| c["state"] == "up");
    assert_eq!(send(&server, reqwest::Method::DELETE, "/api/v1/checks/site", Value::Null).0, 204);
    assert_eq!(server.get_raw("/api/v1/checks/site").0, 404);
    assert_eq!(send(&server, reqwest::Method::DELETE, "/api/v1/checks/site", Value::Null).0, 404);
    server.restart();
    assert_eq!(server.get_raw("/api/v1/checks/site").0, 404);
}
