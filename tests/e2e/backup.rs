//! Backup and compaction with the real binary: `faultline backup` against
//! a running server while a client keeps exporting, a server started on
//! the copy showing what was acknowledged before the backup (groups,
//! events, search, health, alert rules, checks, tokens); the offline
//! backup and `faultline compact` of a stopped data directory, and their
//! refusal while a server holds it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use faultline_tests::otlp::{exception_span, kv, traces_request};
use faultline_tests::{binary, wait_until, Server, TempDir};
use prost::Message;
use serde_json::{json, Value};

const ADMIN: &str = "an-operator-chosen-admin-token-for-backups";

fn start(config: &Path, data_dir: Option<&Path>) -> Server {
    Server::start_in(data_dir.map(Path::to_path_buf), &["--config", config.to_str().unwrap()])
}

fn cli(server: &Server, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .args(["--server", &server.api_url("")])
        .env("FAULTLINE_TOKEN", ADMIN)
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// One exception span of `service`, sent with `token`; the HTTP status.
fn export(server: &Server, token: &str, service: &str, message: &str) -> u16 {
    let span = exception_span("POST /pay", "BackupError", message, vec![kv("test.run", "backup")]);
    reqwest::blocking::Client::new()
        .post(server.http_url("/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .bearer_auth(token)
        .body(traces_request(service, vec![span]).encode_to_vec())
        .send()
        .map_or(0, |r| r.status().as_u16())
}

fn request(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request =
        reqwest::blocking::Client::new().request(method, server.api_url(path)).bearer_auth(ADMIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    (response.status().as_u16(), response.json().unwrap_or(Value::Null))
}

fn get(server: &Server, path: &str) -> Value {
    let (status, body) = request(server, reqwest::Method::GET, path, None);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Events stored for `service`, as its groups count them.
fn counted(server: &Server, service: &str) -> u64 {
    let groups = get(server, &format!("/api/v1/groups?service={service}&limit=1000"));
    groups["groups"].as_array().unwrap().iter().map(|g| g["count"].as_u64().unwrap()).sum()
}

fn searched(server: &Server, query: &str) -> u64 {
    get(server, &format!("/api/v1/search?q={query}&limit=1"))["total"].as_u64().unwrap()
}

/// What must be the same on the copy: the `billing` service's groups,
/// events and health, the rules, channels, checks and tokens.
fn figures(server: &Server) -> Value {
    let groups = get(server, "/api/v1/groups?service=billing&limit=1000");
    let events: Vec<Value> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| get(server, &format!("/api/v1/groups/{}/events?limit=100", g["id"])))
        .collect();
    json!({
        "groups": groups,
        "events": events,
        "health": get(server, "/api/v1/services/billing/endpoints?window=1h")["endpoints"],
        "rules": get(server, "/api/v1/alert-rules"),
        "channels": get(server, "/api/v1/channels"),
        "checks": get(server, "/api/v1/checks").to_string().contains("\"backup-check\""),
        "tokens": get(server, "/api/v1/tokens"),
    })
}

#[test]
fn a_backup_of_a_running_server_while_it_ingests_opens_with_what_was_acknowledged() {
    let tmp = TempDir::new("faultline-backup");
    let config = tmp.path().join("faultline.toml");
    std::fs::write(&config, format!("[auth]\nadmin_token = \"{ADMIN}\"\n")).unwrap();
    let server = start(&config, None);

    let out = cli(&server, &["token", "create", "--name", "shop", "--scope", "ingest"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ingest = text(&out.stdout).trim().to_string();
    for i in 0..30 {
        assert_eq!(export(&server, &ingest, "billing", &format!("card {} declined", i % 3)), 200);
    }
    let channel = json!({"id": "hook", "name": "Hook", "config": {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}});
    assert_eq!(request(&server, reqwest::Method::POST, "/api/v1/channels", Some(channel)).0, 201);
    let rule = json!({"id": "billing-new", "kind": "new_group", "filter": {"service": "billing"}, "channels": ["hook"]});
    assert_eq!(request(&server, reqwest::Method::POST, "/api/v1/alert-rules", Some(rule)).0, 201);
    let check = json!({"id": "backup-check", "kind": "tcp", "address": "127.0.0.1:9", "interval": "1h"});
    assert_eq!(request(&server, reqwest::Method::POST, "/api/v1/checks", Some(check)).0, 201);
    wait_until(
        Duration::from_secs(20),
        || searched(&server, "service:billing") == 30,
        || "billing indexed".into(),
    );
    let before = figures(&server);
    assert_eq!(before["checks"], true);

    // A client that keeps exporting through the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let exporter = {
        let (stop, acked, url, token) =
            (stop.clone(), acked.clone(), server.http_url("/v1/traces"), ingest.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let span = exception_span("GET /cart", "CartError", &format!("cart {}", n % 5), vec![]);
                let sent = client
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .bearer_auth(&token)
                    .body(traces_request("shop", vec![span]).encode_to_vec())
                    .send();
                if sent.is_ok_and(|r| r.status().is_success()) {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                n += 1;
            }
        })
    };
    wait_until(Duration::from_secs(10), || acked.load(Ordering::SeqCst) >= 50, || "exporter running".into());
    let acked_before = acked.load(Ordering::SeqCst);
    let to = tmp.path().join("copy");
    let out = cli(&server, &["backup", "--to", to.to_str().unwrap()]);
    assert!(out.status.success(), "backup: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Backup written to"), "{}", text(&out.stdout));
    // Ingestion went on after the backup.
    let after_backup = acked.load(Ordering::SeqCst);
    wait_until(
        Duration::from_secs(10),
        || acked.load(Ordering::SeqCst) >= after_backup + 20,
        || "exports acknowledged after the backup".into(),
    );
    stop.store(true, Ordering::SeqCst);
    exporter.join().unwrap();
    let acked_total = acked.load(Ordering::SeqCst);

    // A second backup into the same directory is refused; so is one without a token.
    let again = cli(&server, &["backup", "--to", to.to_str().unwrap()]);
    assert!(!again.status.success() && text(&again.stderr).contains("not empty"), "{}", text(&again.stderr));
    let other = tmp.path().join("other");
    let anonymous = Command::new(binary())
        .args(["backup", "--to", other.to_str().unwrap(), "--server", &server.api_url("")])
        .env_remove("FAULTLINE_TOKEN")
        .output()
        .unwrap();
    assert!(
        !anonymous.status.success() && text(&anonymous.stderr).contains("401"),
        "{}",
        text(&anonymous.stderr)
    );
    assert!(!other.join("store").exists());

    let copy = start(&config, Some(&to));
    let shop = counted(&copy, "shop");
    assert!(
        (acked_before..=acked_total).contains(&shop),
        "the copy counts {shop} shop events; {acked_before} were acknowledged before the backup, {acked_total} in all"
    );
    // Consistent: every counted event is stored, and the rebuilt index finds them all.
    wait_until(
        Duration::from_secs(60),
        || searched(&copy, "service:shop") == shop,
        || {
            format!(
                "the copy's index finds {} shop events, its groups count {shop}",
                searched(&copy, "service:shop")
            )
        },
    );
    assert_eq!(searched(&copy, "service:billing"), 30);
    assert_eq!(figures(&copy), before);
    // The stored ingest token works on the copy.
    assert_eq!(export(&copy, &ingest, "billing", "card 0 declined"), 200);
}

#[test]
fn a_stopped_data_directory_is_backed_up_and_compacted_offline_and_refused_while_served() {
    let tmp = TempDir::new("faultline-compact");
    let config = tmp.path().join("faultline.toml");
    std::fs::write(&config, format!("[auth]\nadmin_token = \"{ADMIN}\"\n")).unwrap();
    let data = tmp.path().join("data");
    let mut server = start(&config, Some(&data));
    for i in 0..40 {
        assert_eq!(export(&server, ADMIN, "billing", &format!("card {} declined", i % 4)), 200);
    }
    wait_until(Duration::from_secs(20), || searched(&server, "service:billing") == 40, || "indexed".into());
    let before = figures(&server);
    let data_arg = data.to_str().unwrap();
    let held = Command::new(binary()).args(["compact", "--data-dir", data_arg]).output().unwrap();
    assert!(!held.status.success(), "compaction of a served directory must fail");
    assert!(text(&held.stderr).contains("in use by another running Faultline"), "{}", text(&held.stderr));
    let offline = tmp.path().join("offline-copy");
    let held = Command::new(binary())
        .args(["backup", "--data-dir", data_arg, "--to", offline.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(text(&held.stderr).contains("in use by another running Faultline"), "{}", text(&held.stderr));
    assert!(server.terminate().success());

    let out = Command::new(binary()).args(["compact", "--data-dir", data_arg]).output().unwrap();
    assert!(out.status.success(), "compact: {}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Compacted"), "{}", text(&out.stdout));
    let out = Command::new(binary())
        .args(["backup", "--data-dir", data_arg, "--to", offline.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "offline backup: {}", text(&out.stderr));

    for dir in [&data, &offline] {
        let server = start(&config, Some(dir));
        wait_until(
            Duration::from_secs(20),
            || searched(&server, "service:billing") == 40,
            || "indexed".into(),
        );
        assert_eq!(figures(&server), before, "{}", dir.display());
    }
}
