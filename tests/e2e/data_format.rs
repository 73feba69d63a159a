//! Storage formats with the real binary: `--version` names the format it
//! writes, a new data directory is marked with it, a directory marked by a
//! newer format is refused with both versions named, and a directory
//! written by the previous release format (`tests/fixtures/`) is served,
//! grows and is marked as migrated.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use faultline_tests::api::{group_events, one_titled, titles, total};
use faultline_tests::{binary, free_port, Server, TempDir};

/// The storage format `--version` names: `faultline X.Y.Z (storage format N)`.
fn current_format() -> u32 {
    let out = Command::new(binary()).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let format = text
        .trim()
        .strip_prefix(&format!("faultline {version} (storage format "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("--version printed {text:?}"));
    format.parse().unwrap()
}

fn marker(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("FORMAT")).unwrap()
}

#[test]
fn version_names_the_storage_format_a_new_directory_is_marked_with() {
    let format = current_format();
    assert!(format >= 2, "record format 2 exists, so the storage format is at least 2");
    let mut server = Server::start();
    assert_eq!(marker(&server.data_dir), format!("{format}\n"));
    assert!(server.terminate().success());
}

#[test]
fn a_directory_of_a_newer_format_is_refused_naming_both_versions() {
    let format = current_format();
    let tmp = TempDir::new("faultline-newer-format");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let newer = format + 2;
    std::fs::write(data.join("FORMAT"), format!("{newer}\n")).unwrap();
    let out = Command::new(binary())
        .arg("serve")
        .args(["--otlp-grpc-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--otlp-http-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--api-addr", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        "the data directory {} was written by storage format {newer}; this faultline reads formats 1 to \
         {format}: upgrade faultline",
        data.display()
    );
    assert!(stderr.contains(&expected), "stderr: {stderr}");
    // Refused before anything was opened: the directory holds only the marker.
    let names: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("FORMAT")]);
    assert_eq!(marker(&data), format!("{newer}\n"), "the marker is left as it was");
}

/// A data directory written by the previous release format (storage
/// format 1: no marker, event records of version 1), and the export bodies
/// that wrote it; `tests/fixtures/README.md` says how they were made.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/old-data-format1.tar.gz");
const SENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/old-data-exports.json");

/// Titles and what the fixture holds of each: service, count, status, and
/// a line of its stack trace.
const OLD_GROUPS: [(&str, &str, u64, &str, &str); 4] = [
    (
        "KeyError: <str>",
        "checkout",
        3,
        "unresolved",
        "File \"/srv/checkout/app/users.py\", line 17, in load_user",
    ),
    (
        "ConnectionError: connection to payments.internal timed out after 30s",
        "checkout",
        2,
        "resolved",
        "File \"/srv/checkout/app/http.py\", line 23, in post",
    ),
    (
        "java.lang.IllegalStateException: order <num> already shipped",
        "orders",
        2,
        "unresolved",
        "at com.shop.orders.OrderService.cancel(OrderService.java:118)",
    ),
    (
        "java.lang.RuntimeException: cannot price order <num>",
        "orders",
        2,
        "unresolved",
        "Caused by: java.lang.NullPointerException",
    ),
];

fn rfc3339_nanos(text: &str) -> i64 {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    t.unix_timestamp_nanos() as i64
}

/// Unpacks the fixture into `dir` (as `dir/data`).
fn unpack_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let status = Command::new("tar").arg("-xzf").arg(FIXTURE).arg("-C").arg(dir).status().unwrap();
    assert!(status.success());
    dir.join("data")
}

/// The service's figures over the whole fixture (its requests were sent
/// minutes before it was packed, any time ago).
fn service_figures(server: &Server, since_nanos: i64, service: &str) -> serde_json::Value {
    let window = (faultline_tests::otlp::now_nanos() as i64 - since_nanos) / 1_000_000_000 + 3600;
    let services = server.get(&format!("/api/v1/services?window={window}s"));
    services["services"].as_array().unwrap().iter().find(|s| s["service"] == service).cloned().unwrap()
}

/// The exports that wrote the fixture, with their times moved to now (the
/// same bugs happening again).
fn send_again(server: &Server) {
    let mut exports: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SENT).unwrap()).unwrap();
    let now = faultline_tests::otlp::now_nanos();
    for export in exports.as_array_mut().unwrap() {
        for span in export["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array_mut().unwrap() {
            let start: u64 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
            let end: u64 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
            span["startTimeUnixNano"] = (now - (end - start)).to_string().into();
            span["endTimeUnixNano"] = now.to_string().into();
            for event in span["events"].as_array_mut().into_iter().flatten() {
                event["timeUnixNano"] = now.to_string().into();
            }
        }
        let body = serde_json::to_vec(export).unwrap();
        let (status, _) =
            faultline_tests::otlp::post(&server.http_url("/v1/traces"), "application/json", body, None)
                .unwrap();
        assert_eq!(status, 200);
    }
}

#[test]
fn a_directory_of_the_previous_release_format_is_served_migrated_and_grows() {
    let format = current_format();
    let tmp = TempDir::new("faultline-old-data");
    let data = unpack_fixture(tmp.path());
    assert!(!data.join("FORMAT").exists(), "the previous release wrote no marker");
    // Kept however old the fixture is: its health figures and events
    // would otherwise expire by the defaults' 30 days.
    let config = tmp.path().join("faultline.toml");
    std::fs::write(&config, "[health]\nretention = \"36500d\"\n").unwrap();
    let mut server = Server::start_in(Some(data.clone()), &["--config", config.to_str().unwrap()]);
    assert_eq!(marker(&data), format!("{format}\n"), "migrated and marked");

    // The same groups, counts and statuses.
    let groups = server.groups();
    assert_eq!(groups.len(), 4, "{:?}", titles(&groups));
    let mut oldest = i64::MAX;
    for (title, service, count, status, frame) in OLD_GROUPS {
        let group = one_titled(&groups, title);
        assert_eq!(
            (group["service"].as_str(), group["count"].as_u64()),
            (Some(service), Some(count)),
            "{group}"
        );
        assert_eq!(group["status"], status, "{group}");
        // Its events, with their stack traces and attributes.
        let events = group_events(&server, group);
        assert_eq!(events.len() as u64, count, "{title}");
        for event in &events {
            let trace = event["stacktrace"].as_str().unwrap_or("");
            assert!(trace.contains(frame), "{title}: {trace}");
            assert_eq!(event["environment"], "prod");
            assert_eq!(event["service_version"], "1.4.2");
            let ts = rfc3339_nanos(event["timestamp"].as_str().unwrap());
            oldest = oldest.min(ts);
        }
    }
    let key_errors = group_events(&server, one_titled(&groups, OLD_GROUPS[0].0));
    let users: Vec<_> = key_errors.iter().map(|e| e["attributes"]["user.id"].as_str().unwrap()).collect();
    assert_eq!(users, ["u-1", "u-2", "u-3"]);
    assert_eq!(key_errors[1]["attributes"]["cart.items"], 4);

    // Search reads the old index (or its rebuild from the old records).
    assert_eq!(total(&server, ""), 9);
    assert_eq!(total(&server, "user.id:u-2"), 1);
    assert_eq!(total(&server, "type:IllegalStateException"), 2);
    assert_eq!(total(&server, "service.name:orders AND NullPointerException"), 2);
    assert_eq!(total(&server, "\"payments.internal timed out\""), 2);

    // Health figures per service and route.
    let checkout = service_figures(&server, oldest, "checkout");
    assert_eq!(
        (checkout["requests"].as_u64(), checkout["errors"].as_u64()),
        (Some(23), Some(5)),
        "{checkout}"
    );
    let orders = service_figures(&server, oldest, "orders");
    assert_eq!(
        (orders["requests"].as_u64(), orders["errors"].as_u64(), orders["client_errors"].as_u64()),
        (Some(12), Some(4), Some(2)),
        "{orders}"
    );
    let window = (faultline_tests::otlp::now_nanos() as i64 - oldest) / 1_000_000_000 + 3600;
    let endpoints = server.get(&format!("/api/v1/services/checkout/endpoints?window={window}s"));
    let routes: Vec<_> = endpoints["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["route"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(routes, [("/cart/{id}".into(), "GET".into(), 15), ("/pay".into(), "POST".into(), 8)]);

    // The check and the alert rule created through the old API.
    let check = server.get("/api/v1/checks/shop-health");
    assert_eq!(check["definition"]["url"], "http://127.0.0.1:9/healthz", "{check}");
    let rules = server.get("/api/v1/alert-rules");
    let rule = rules["rules"].as_array().unwrap().iter().find(|r| r["id"] == "checkout-new-issues").cloned();
    assert_eq!(rule.map(|r| r["filter"]["service"].clone()), Some("checkout".into()), "{rules}");

    // The same bugs again join the same groups: fingerprints are stable
    // across the versions; the resolved one regresses.
    send_again(&server);
    server.wait_for("/api/v1/search?q=&limit=1", |b| b["total"] == 18);
    let after = server.groups();
    assert_eq!(after.len(), 4, "no new group: {:?}", titles(&after));
    for (title, _, count, _, _) in OLD_GROUPS {
        let group = one_titled(&after, title);
        let before = one_titled(&groups, title);
        assert_eq!(
            (group["id"].clone(), group["count"].as_u64()),
            (before["id"].clone(), Some(2 * count)),
            "{title}"
        );
        assert_eq!(group["status"], "unresolved", "{group}");
    }

    // A restart serves it all again; the marker stays the current format.
    assert!(server.terminate().success());
    let server = Server::start_in(Some(data.clone()), &["--config", config.to_str().unwrap()]);
    assert_eq!(total(&server, ""), 18);
    let restarted = server.groups();
    assert_eq!(titles(&restarted), titles(&after));
    assert_eq!(marker(&data), format!("{format}\n"));
}
