//! `faultline migrate` with the real binary: an embedded data directory
//! filled through OTLP and the API (groups, a resolved and a merged one,
//! events, health from spans, a check with runs, an alert rule with its
//! delivery, a token) is copied into a throwaway PostgreSQL, and a server
//! on `--store postgres://...` answers the API as the embedded one did;
//! the same bug sent again joins the same group. A copy killed mid-way
//! resumes and copies nothing twice; the previous release's data format
//! migrates too (into FAULTLINE_STORE); a running server's directory, one
//! of a newer format and a database holding other data are refused.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::receiver::Receiver;
use faultline_tests::web::Web;
use faultline_tests::{binary, Server, TempDir};
use opentelemetry_proto::tonic::trace::v1::{status, Span, Status};
use serde_json::{json, Value};

/// `faultline migrate --from DIR --to URL --json [extra]`.
fn migrate(from: &Path, url: &str, extra: &[&str]) -> Output {
    Command::new(binary())
        .arg("migrate")
        .arg("--from")
        .arg(from)
        .args(["--to", url, "--json"])
        .args(extra)
        .env_remove("FAULTLINE_STORE")
        .output()
        .unwrap()
}

/// The JSON report of a migration that succeeded, by table.
fn succeeded(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "migrate failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    report
}

/// (copied now, in the data directory, in PostgreSQL) of one table.
fn figures(report: &Value, table: &str) -> (u64, u64, u64) {
    let line = report["tables"].as_array().unwrap().iter().find(|t| t["table"] == table).unwrap();
    let n = |k: &str| line[k].as_u64().unwrap();
    (n("copied"), n("source"), n("postgres"))
}

fn export(server: &Server, service: &str, spans: Vec<Span>) {
    let (status, _) = post_protobuf(&server.http_url("/v1/traces"), &traces_request(service, spans)).unwrap();
    assert_eq!(status, 200, "the export is acknowledged");
}

fn failure(ty: &str, message: &str) -> Span {
    exception_span(
        "GET /orders",
        ty,
        message,
        vec![kv("http.route", "/orders"), kv("http.request.method", "GET")],
    )
}

/// A request that succeeded: a server span without an exception.
fn success(route: &str) -> Span {
    let mut span = exception_span(&format!("GET {route}"), "x", "x", vec![kv("http.route", route)]);
    span.attributes.push(kv("http.request.method", "GET"));
    span.events.clear();
    span.status = Some(Status { code: status::StatusCode::Ok as i32, message: String::new() });
    span
}

/// An API client sending `token` (or none).
struct Api<'a> {
    server: &'a Server,
    token: Option<String>,
}

impl Api<'_> {
    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::blocking::Client::new().request(method, self.server.api_url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

/// What the API says about the store, to compare across engines.
fn snapshot(api: &Api) -> Value {
    let listed = api.get("/api/v1/groups?limit=100")["groups"].as_array().unwrap().clone();
    // Merged-away groups are not listed; ids past the highest listed are
    // asked for too, so their redirects are compared as well.
    let max = listed.iter().map(|g| g["id"].as_u64().unwrap()).max().unwrap_or(0);
    let mut groups = Vec::new();
    for id in 1..=max + 5 {
        let (status, g) = api.send(reqwest::Method::GET, &format!("/api/v1/groups/{id}"), None);
        if status == 404 {
            continue;
        }
        let fields = [
            "id",
            "title",
            "culprit",
            "service",
            "count",
            "status",
            "first_seen",
            "last_seen",
            "merged_into",
            "fingerprints",
            "regressed",
            "environments",
            "exception_type",
            "last_event_seq",
        ];
        let picked: serde_json::Map<String, Value> =
            fields.iter().map(|f| (f.to_string(), g[*f].clone())).collect();
        let events = api.get(&format!("/api/v1/groups/{id}/events?limit=100"))["events"].clone();
        groups.push(json!({ "group": picked, "events": events }));
    }
    let endpoints = api.get("/api/v1/services/checkout/endpoints?window=1h")["endpoints"].clone();
    let checks: Vec<Value> = api.get("/api/v1/checks")["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({ "id": c["id"], "source": c["source"] }))
        .collect();
    let deliveries = api.get("/api/v1/alerts")["deliveries"].clone();
    let tokens = api.get("/api/v1/tokens")["tokens"].clone();
    json!({ "groups": groups, "endpoints": endpoints, "checks": checks, "deliveries": deliveries, "tokens": tokens })
}

fn alert_config(dir: &Path, hooks: &Receiver) -> String {
    let path = dir.join("faultline.toml");
    let config = format!(
        "[alerts]\npublic_url = \"http://faultline.test\"\n\n[[alerts.channels]]\nid = \"hook\"\nname = \"Ops\"\n\
         config = {{ kind = \"webhook\", url = \"{}\" }}\n\n[[alerts.rules]]\nid = \"new-issues\"\n\
         kind = \"new_group\"\nchannels = [\"hook\"]\n",
        hooks.url("/hook")
    );
    std::fs::write(&path, config).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn an_embedded_store_moves_to_postgres_and_the_api_answers_alike() {
    let tmp = TempDir::new("faultline-migrate");
    let data = tmp.path().join("data");
    let hooks = Receiver::start();
    let web = Web::start();
    let config = alert_config(tmp.path(), &hooks);
    let mut embedded = Server::start_in(Some(data.clone()), &["--config", &config]);

    export(&embedded, "checkout", (0..3).map(|i| failure("KeyError", &format!("'user {i}'"))).collect());
    export(&embedded, "checkout", (0..2).map(|_| failure("TimeoutError", "payments timed out")).collect());
    export(&embedded, "checkout", (0..2).map(|_| failure("DbError", "db gone")).collect());
    export(&embedded, "checkout", vec![failure("PoolError", "pool exhausted")]);
    export(&embedded, "checkout", (0..10).map(|_| success("/orders")).collect());
    let id_of = |ty: &str| {
        embedded.groups().iter().find(|g| g["exception_type"] == ty).unwrap()["id"].as_u64().unwrap()
    };
    let (timeout, db, pool) = (id_of("TimeoutError"), id_of("DbError"), id_of("PoolError"));
    let api = Api { server: &embedded, token: None };
    let (status, body) = api.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/groups/{timeout}"),
        Some(json!({"status": "resolved"})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        api.send(reqwest::Method::POST, &format!("/api/v1/groups/{db}/merge"), Some(json!({"ids": [pool]})));
    assert_eq!(status, 200, "{body}");
    let check = json!({"id": "site", "kind": "http", "url": format!("http://127.0.0.1:{}/", web.port), "interval": "1s"});
    assert_eq!(api.send(reqwest::Method::POST, "/api/v1/checks", Some(check)).0, 201);
    embedded.wait_for("/api/v1/checks/site", |c| c["state"] == "up");
    hooks.wait("/hook", 1, Duration::from_secs(20));
    embedded.wait_for("/api/v1/alerts", |a| a["deliveries"].as_array().is_some_and(|d| !d.is_empty()));
    let out = Command::new(binary())
        .args(["token", "create", "--name", "ops", "--scope", "admin"])
        .env("FAULTLINE_SERVER", embedded.api_url(""))
        .env_remove("FAULTLINE_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let api = Api { server: &embedded, token: Some(token.clone()) };
    let before = snapshot(&api);
    let groups = before["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4, "{before}");
    let merged = groups.iter().find(|g| g["group"]["id"] == pool).unwrap();
    assert_eq!((merged["group"]["merged_into"].as_u64(), &merged["group"]["count"]), (Some(db), &json!(0)));
    assert_eq!(
        groups.iter().find(|g| g["group"]["id"] == db).unwrap()["events"].as_array().unwrap().len(),
        3
    );
    assert_eq!(before["endpoints"][0]["requests"], 18, "{before}");
    assert!(!before["deliveries"].as_array().unwrap().is_empty());

    // While the server runs on it, the directory is refused.
    let db_url = faultline_pg_testing::database().url();
    let out = migrate(&data, &db_url, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in use") || stderr.contains("running"), "{stderr}");

    assert!(embedded.terminate().success());
    let report = succeeded(&migrate(&data, &db_url, &[]));
    assert_eq!(figures(&report, "groups"), (4, 4, 4), "{report}");
    assert_eq!(figures(&report, "events"), (8, 8, 8), "{report}");
    for table in
        ["fingerprints", "health_minutes", "check_definitions", "check_runs", "alert_state", "tokens"]
    {
        let (copied, source, postgres) = figures(&report, table);
        assert!(copied > 0 && copied == source && source == postgres, "{table}: {report}");
    }

    let mut pg = Server::start_with(&["--store", &db_url, "--config", &config]);
    let api = Api { server: &pg, token: Some(token.clone()) };
    let after = snapshot(&api);
    assert_eq!(after["groups"], before["groups"], "groups and their events");
    assert_eq!(after["endpoints"], before["endpoints"], "health figures");
    assert_eq!(after["checks"], before["checks"]);
    assert_eq!(after["tokens"], before["tokens"]);
    assert_eq!(after["deliveries"], before["deliveries"]);
    let anonymous = Api { server: &pg, token: None };
    assert_eq!(
        anonymous.send(reqwest::Method::GET, "/api/v1/groups", None).0,
        401,
        "the token is still needed"
    );

    // The same bug again joins its group; a new one gets a new id.
    let key_error = id_of_with(&api, "KeyError");
    let count = api.get(&format!("/api/v1/groups/{key_error}"))["count"].as_u64().unwrap();
    let request =
        traces_request("checkout", vec![failure("KeyError", "'user 9'"), failure("NewError", "new")]);
    let (status, _) = reqwest::blocking::Client::new()
        .post(pg.http_url("/v1/traces"))
        .bearer_auth(&token)
        .header("content-type", "application/x-protobuf")
        .body(prost::Message::encode_to_vec(&request))
        .send()
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(api.get(&format!("/api/v1/groups/{key_error}"))["count"].as_u64().unwrap(), count + 1);
    let new_error = id_of_with(&api, "NewError");
    let highest_old =
        before["groups"].as_array().unwrap().iter().map(|g| g["group"]["id"].as_u64().unwrap()).max();
    assert!(Some(new_error) > highest_old, "new ids continue after the copied ones");
    assert!(pg.terminate().success());

    // The database now holds more than the data directory: a second run
    // copies nothing, says which counts differ and fails.
    let out = migrate(&data, &db_url, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the counts differ for groups, fingerprints, events"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["ok"].clone(), figures(&report, "events")), (json!(false), (0, 8, 10)), "{report}");
}

fn id_of_with(api: &Api, ty: &str) -> u64 {
    let groups = api.get("/api/v1/groups?limit=100")["groups"].as_array().unwrap().clone();
    groups.iter().find(|g| g["exception_type"] == ty).unwrap_or_else(|| panic!("no {ty}: {groups:?}"))["id"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_migration_killed_mid_copy_resumes_without_copying_twice() {
    let tmp = TempDir::new("faultline-migrate-resume");
    let data = tmp.path().join("data");
    let mut embedded = Server::start_in(Some(data.clone()), &[]);
    for export_no in 0..6 {
        let spans =
            (0..100).map(|i| failure(&format!("Error{}", (export_no * 100 + i) % 20), "boom")).collect();
        export(&embedded, "checkout", spans);
    }
    assert!(embedded.terminate().success());
    let url = faultline_pg_testing::database().url();

    // 50 records a batch: groups (20) and fingerprints (20) take one each,
    // then three batches of events; it pauses there and is killed.
    let mut child = Command::new(binary())
        .arg("migrate")
        .arg("--from")
        .arg(&data)
        .args(["--to", &url, "--batch", "50", "--json"])
        .env("FAULTLINE_MIGRATE_PAUSE_AFTER_BATCHES", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("paused after 5 batches") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "migrate ended before pausing");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let report = succeeded(&migrate(&data, &url, &["--batch", "50"]));
    assert_eq!(figures(&report, "events"), (450, 600, 600), "the rest, and nothing twice: {report}");
    assert_eq!(figures(&report, "groups"), (0, 20, 20), "{report}");
    assert_eq!(figures(&report, "fingerprints"), (0, 20, 20), "{report}");
    // Run again: nothing left to copy, the counts still agree.
    let report = succeeded(&migrate(&data, &url, &[]));
    assert_eq!(figures(&report, "events"), (0, 600, 600), "{report}");

    // Another data directory is refused: its ids would collide.
    let other = tmp.path().join("other");
    let mut second = Server::start_in(Some(other.clone()), &[]);
    export(&second, "checkout", vec![failure("KeyError", "x")]);
    assert!(second.terminate().success());
    let out = migrate(&other, &url, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds a migration from") && stderr.contains("empty database"), "{stderr}");
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/old-data-format1.tar.gz");

#[test]
fn a_directory_of_the_previous_release_format_migrates() {
    let tmp = TempDir::new("faultline-migrate-old");
    let status = Command::new("tar").arg("-xzf").arg(FIXTURE).arg("-C").arg(tmp.path()).status().unwrap();
    assert!(status.success());
    let data = tmp.path().join("data");
    let url = faultline_pg_testing::database().url();
    // The destination from FAULTLINE_STORE, as `serve --store` takes it.
    let out = Command::new(binary())
        .arg("migrate")
        .arg("--from")
        .arg(&data)
        .arg("--json")
        .env("FAULTLINE_STORE", &url)
        .output()
        .unwrap();
    let report = succeeded(&out);
    assert_eq!(figures(&report, "groups"), (4, 4, 4), "{report}");
    assert_eq!(figures(&report, "events"), (9, 9, 9), "{report}");
    assert!(!data.join("FORMAT").exists(), "the old directory is left as it was");

    let pg = Server::start_with(&["--store", &url]);
    let mut counts: Vec<(String, u64, String)> = pg
        .groups()
        .iter()
        .map(|g| {
            (g["title"].as_str().unwrap().to_string(), g["count"].as_u64().unwrap(), g["status"].to_string())
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            (
                "ConnectionError: connection to payments.internal timed out after 30s".into(),
                2,
                "\"resolved\"".into()
            ),
            ("KeyError: <str>".into(), 3, "\"unresolved\"".into()),
            (
                "java.lang.IllegalStateException: order <num> already shipped".into(),
                2,
                "\"unresolved\"".into()
            ),
            ("java.lang.RuntimeException: cannot price order <num>".into(), 2, "\"unresolved\"".into()),
        ]
    );
    let group = pg.groups().into_iter().find(|g| g["title"] == "KeyError: <str>").unwrap();
    let events = pg.get(&format!("/api/v1/groups/{}/events?limit=10", group["id"]));
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["stacktrace"].as_str().unwrap().contains("load_user")), "{events:?}");
}

#[test]
fn a_directory_of_a_newer_format_is_refused_untouched() {
    let tmp = TempDir::new("faultline-migrate-newer");
    let data = tmp.path().join("data");
    let mut server = Server::start_in(Some(data.clone()), &[]);
    export(&server, "checkout", vec![failure("KeyError", "x")]);
    assert!(server.terminate().success());
    std::fs::write(data.join("FORMAT"), "99\n").unwrap();
    let url = faultline_pg_testing::database().url();
    let out = migrate(&data, &url, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage format 99") && stderr.contains("upgrade faultline"), "{stderr}");
    assert_eq!(std::fs::read_to_string(data.join("FORMAT")).unwrap(), "99\n");
}

#[test]
fn a_database_a_server_already_stored_in_is_refused() {
    let url = faultline_pg_testing::database().url();
    let mut node = Server::start_with(&["--store", &url]);
    export(&node, "checkout", vec![failure("KeyError", "x")]);
    assert!(node.terminate().success());
    let tmp = TempDir::new("faultline-migrate-occupied");
    let data = tmp.path().join("data");
    let mut server = Server::start_in(Some(data.clone()), &[]);
    export(&server, "checkout", vec![failure("TimeoutError", "y")]);
    assert!(server.terminate().success());
    let out = migrate(&data, &url, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already holds Faultline data (1 groups, 1 events)"), "{stderr}");
}
