//! The real binary over PostgreSQL (`--store postgres://...`, a test
//! server from faultline-pg-testing): OTLP exports become groups and
//! events read through the API, two nodes share the database, and what
//! was acknowledged is there after `kill -9` and a restart.
#![allow(clippy::unwrap_used)]

use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::Server;

fn export(server: &Server, service: &str, ty: &str, n: usize) {
    let spans = (0..n)
        .map(|i| {
            exception_span("GET /orders", ty, &format!("order {i} failed"), vec![kv("http.route", "/orders")])
        })
        .collect();
    let (status, _) = post_protobuf(&server.http_url("/v1/traces"), &traces_request(service, spans)).unwrap();
    assert_eq!(status, 200, "the export is acknowledged");
}

fn count_of(server: &Server, ty: &str) -> u64 {
    let groups = server.groups();
    let group = groups
        .iter()
        .find(|g| g["exception_type"] == ty)
        .unwrap_or_else(|| panic!("no group for {ty}: {groups:?}"));
    group["count"].as_u64().unwrap()
}

#[test]
fn exports_are_stored_in_postgres_and_survive_kill_9() {
    let db = faultline_pg_testing::database();
    let url = db.url();
    let mut server = Server::start_with(&["--store", &url]);
    export(&server, "checkout", "KeyError", 3);
    export(&server, "checkout", "TimeoutError", 2);
    assert_eq!(count_of(&server, "KeyError"), 3);
    assert_eq!(count_of(&server, "TimeoutError"), 2);
    let group = server.groups().into_iter().find(|g| g["exception_type"] == "KeyError").unwrap();
    let events = server.get(&format!("/api/v1/groups/{}/events?limit=10", group["id"]));
    let events = events["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["service"] == "checkout" && e["group_id"] == group["id"]));
    let seq = events[0]["seq"].as_u64().unwrap();
    assert_eq!(server.get(&format!("/api/v1/events/{seq}"))["exception_type"], "KeyError");

    // The API health page reads the store's health buckets (no search needed).
    let page = server.client().get(server.api_url("/health")).send().unwrap();
    assert_eq!(page.status(), 200);
    // A second node on the same database counts into the same groups.
    let other = Server::start_with(&["--store", &url]);
    export(&other, "checkout", "KeyError", 4);
    assert_eq!(count_of(&server, "KeyError"), 7, "seen by the first node");

    // Acknowledged means committed: kill -9 loses none of it.
    export(&server, "checkout", "KeyError", 1);
    server.kill9();
    server.restart();
    assert_eq!(count_of(&server, "KeyError"), 8);
    assert_eq!(count_of(&server, "TimeoutError"), 2);
    assert_eq!(server.groups().len(), 2);
}

#[test]
fn a_bad_store_url_is_refused_by_config_check() {
    let dir = faultline_tests::TempDir::new("faultline-pg-config");
    let file = dir.path().join("faultline.toml");
    std::fs::write(&file, "[store]\nurl = \"mysql://db/faultline\"\n").unwrap();
    let out = std::process::Command::new(faultline_tests::binary())
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("store.url") && stderr.contains("postgres://"), "{stderr}");
    std::fs::write(
        &file,
        "[store]\nurl = \"postgres://faultline@db.internal/faultline?sslmode=verify-full\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(faultline_tests::binary())
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
