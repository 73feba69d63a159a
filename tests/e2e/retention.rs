//! Data retention and a full disk, with the real binary: expired events
//! leave the store and the search index while their group stays; a data
//! directory on a small tmpfs (mounted by the test as root, skipped with
//! the reason printed otherwise) is filled until exports are refused
//! retryably, and freed until they are accepted again, without a restart.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::tmpfs::Tmpfs;
use faultline_tests::{wait_until, Server, TempDir};

fn export(server: &Server, service: &str, marker: &str, message: &str) -> u16 {
    let span = exception_span("POST /pay", "RetentionError", message, vec![kv("test.marker", marker)]);
    post_protobuf(&server.http_url("/v1/traces"), &traces_request(service, vec![span])).map_or(0, |(s, _)| s)
}

fn found(server: &Server, query: &str) -> usize {
    let page = server.get(&format!("/api/v1/search?q={query}&limit=100"));
    page["events"].as_array().map_or(0, Vec::len)
}

fn read_metrics(server: &Server) -> String {
    reqwest::blocking::get(server.api_url("/metrics")).unwrap().text().unwrap()
}

/// The value of the sample `name` (with its labels) in a /metrics text.
fn metric(metrics: &str, name: &str) -> Option<u64> {
    let line = metrics.lines().find(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with(' ')))?;
    line.rsplit(' ').next()?.parse().ok()
}

#[test]
fn retention_deletes_expired_events_from_the_store_and_the_index_and_keeps_the_group() {
    let dir = TempDir::new("faultline-retention");
    let config = dir.path().join("faultline.toml");
    std::fs::write(&config, "[retention]\nevents = \"2s\"\ngroups = \"1h\"\nmax_disk_bytes = 1073741824\n")
        .unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap()]);
    assert_eq!(export(&server, "shop", "old", "card declined"), 200);
    wait_until(
        Duration::from_secs(10),
        || found(&server, "test.marker:old") == 1,
        || "old event indexed".into(),
    );
    let seq = server.get("/api/v1/search?q=test.marker:old&limit=1")["events"][0]["seq"].as_u64().unwrap();
    let group = server.groups().into_iter().find(|g| g["service"] == "shop").unwrap();

    wait_until(
        Duration::from_secs(20),
        || found(&server, "test.marker:old") == 0,
        || "the expired event is still found by search".into(),
    );
    let (status, _) = server.get_raw(&format!("/api/v1/events/{seq}"));
    assert_eq!(status, 404, "the expired event is gone from the store");
    let kept = server.get(&format!("/api/v1/groups/{}", group["id"]));
    assert_eq!(kept["count"], 1, "the group and its count stay: {kept}");

    // What retention did, on /metrics: one event deleted for its age, none
    // for the quota (1 GiB, far above this directory), the directory's size
    // as `du` counts it, and no oldest event while none is kept.
    let metrics = read_metrics(&server);
    assert_eq!(metric(&metrics, "faultline_events_deleted_total{reason=\"age\"}"), Some(1));
    assert_eq!(metric(&metrics, "faultline_events_deleted_total{reason=\"quota\"}"), Some(0));
    assert_eq!(metric(&metrics, "faultline_disk_quota_bytes"), Some(1 << 30));
    let du = std::process::Command::new("du").args(["-s", "-B1"]).arg(&server.data_dir).output().unwrap();
    let du: u64 = String::from_utf8(du.stdout).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let reported = metric(&metrics, "faultline_data_dir_bytes").unwrap();
    // du counts the directories' own blocks too; the index may commit in between.
    assert!(reported.abs_diff(du) < du / 10, "reported {reported} B, du says {du} B");
    assert_eq!(metric(&metrics, "faultline_oldest_event_age_seconds"), None, "no event is kept");

    assert_eq!(export(&server, "shop", "new", "card declined"), 200);
    // Read at once: the new event expires 2 s after it arrived.
    let age = metric(&read_metrics(&server), "faultline_oldest_event_age_seconds");
    assert!(age.is_some_and(|a| a <= 2), "the event just sent is the oldest kept: {age:?}");
    wait_until(
        Duration::from_secs(10),
        || found(&server, "test.marker:new") == 1,
        || "new event indexed".into(),
    );
    let again = server.get(&format!("/api/v1/groups/{}", group["id"]));
    assert_eq!(again["count"], 2, "a new event joins the kept group: {again}");
}

/// Incompressible, so each export takes its size on disk.
fn noise(n: u64, len: usize) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

fn readyz(server: &Server) -> (u16, String) {
    let r = reqwest::blocking::get(server.api_url("/readyz")).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn a_full_disk_refuses_exports_retryably_and_they_resume_when_space_returns() {
    let fs = match Tmpfs::mount("64m") {
        Ok(fs) => fs,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let server = Server::start_in(Some(fs.path().join("data")), &[]);
    assert_eq!(export(&server, "disk", "first", "before the disk filled"), 200);
    // Indexed first: an index commit needs room too.
    wait_until(
        Duration::from_secs(10),
        || found(&server, "test.marker:first") == 1,
        || "first indexed".into(),
    );
    let filler = fs.fill("filler", 6 << 20);

    let mut refused = None;
    for n in 0..500 {
        match export(&server, "disk", &format!("fill-{n}"), &noise(n, 30_000)) {
            200 => {}
            status => {
                refused = Some(status);
                break;
            }
        }
    }
    assert_eq!(refused, Some(503), "exports are refused retryably once the disk is full");
    let (status, why) = readyz(&server);
    assert_eq!(status, 503);
    assert!(why.contains("cannot write") && why.contains("No space left on device"), "{why}");
    assert_eq!(found(&server, "test.marker:first"), 1, "search still answers and finds acked events");
    assert_eq!(export(&server, "disk", "while-full", "still full"), 503);

    std::fs::remove_file(&filler).unwrap();
    wait_until(
        Duration::from_secs(20),
        || export(&server, "disk", "after", "room again") == 200,
        || "exports resume once there is room".into(),
    );
    assert_eq!(readyz(&server).0, 200, "ready again without a restart");
    wait_until(
        Duration::from_secs(10),
        || found(&server, "test.marker:after") >= 1,
        || "indexed after".into(),
    );
    assert_eq!(found(&server, "test.marker:while-full"), 0, "the refused export left nothing");
}
