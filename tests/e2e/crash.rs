//! Ack means durable: concurrent clients export while the server is killed
//! with SIGKILL at random moments, round after round. After each restart
//! every acknowledged event must be stored, counted in its group and
//! searchable.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::Server;
use rand::Rng;
use serde_json::Value;

const ROUNDS: usize = 20;
const CLIENTS: usize = 4;
const KINDS: [&str; 3] = ["CrashA", "CrashB", "CrashC"];

/// Exports until told to stop or the server goes away; returns the markers
/// of every event whose export was acknowledged.
fn client(url: String, round: usize, id: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let mut acked = Vec::new();
    let mut rng = rand::rng();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let batch: Vec<String> = (0..rng.random_range(1..=5))
            .map(|_| {
                n += 1;
                format!("r{round}-c{id}-n{n}")
            })
            .collect();
        let spans = batch
            .iter()
            .map(|marker| {
                let kind = KINDS[marker.len() % KINDS.len()];
                exception_span("POST /crash", kind, "worker crashed", vec![kv("test.marker", marker)])
            })
            .collect();
        match post_protobuf(&url, &traces_request("crashy", spans)) {
            Ok((200, _)) => acked.extend(batch),
            Ok((status, _)) => panic!("unexpected status {status}"),
            Err(_) => break, // killed mid-request: not acknowledged
        }
    }
    acked
}

/// Every marker the search API returns, paging with the cursor.
fn searchable_markers(server: &Server) -> HashSet<String> {
    let mut markers = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = server.get(&format!("/api/v1/search?q=service:crashy&limit=500&cursor={cursor}"));
        for e in page["events"].as_array().unwrap() {
            markers.insert(e["attributes"]["test.marker"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return markers,
        }
    }
}

#[test]
fn acknowledged_events_survive_kill_9() {
    let mut server = Server::start();
    let url = server.http_url("/v1/traces");
    let mut all_acked: Vec<String> = Vec::new();
    let mut rng = rand::rng();
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let (url, stop) = (url.clone(), stop.clone());
                std::thread::spawn(move || client(url, round, id, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(20..400)));
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        for h in handles {
            all_acked.extend(h.join().unwrap());
        }
        server.restart();
        // Right after restart, before the index catches up: groups must
        // already count every acknowledged event.
        let counted: u64 = server.groups().iter().map(|g| g["count"].as_u64().unwrap()).sum();
        assert!(
            counted >= all_acked.len() as u64,
            "round {round}: {counted} counted < {} acked",
            all_acked.len()
        );
        // The spans' health figures too (they are server spans), replayed
        // from the log even when no per-minute bucket was written yet.
        assert!(
            service_requests(&server) >= all_acked.len() as u64,
            "round {round}: health figures lost acknowledged requests"
        );
    }
    assert!(all_acked.len() > 100, "the clients should have exported a fair amount: {}", all_acked.len());

    // Groups agree with the event log, and every acked event is searchable.
    let groups = server.groups();
    let counted: u64 = groups.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    let stored =
        server.wait_for("/api/v1/search?q=service:crashy&limit=1", |b| b["total"].as_u64() == Some(counted));
    assert_eq!(stored["total"].as_u64(), Some(counted));
    let markers = searchable_markers(&server);
    let missing: Vec<_> = all_acked.iter().filter(|m| !markers.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    // Each group's count is exactly its events in the log.
    let mut per_group: HashMap<u64, u64> = HashMap::new();
    for g in &groups {
        let id = g["id"].as_u64().unwrap();
        let events: Value = server.get(&format!("/api/v1/groups/{id}/events?limit=1000"));
        let mut n = events["events"].as_array().unwrap().len() as u64;
        let mut cursor = events["next_cursor"].as_str().map(str::to_string);
        while let Some(c) = cursor {
            let page = server.get(&format!("/api/v1/groups/{id}/events?limit=1000&cursor={c}"));
            n += page["events"].as_array().unwrap().len() as u64;
            cursor = page["next_cursor"].as_str().map(str::to_string);
        }
        per_group.insert(id, n);
        assert_eq!(g["count"].as_u64(), Some(n), "group {id} count matches its events");
    }
    assert_eq!(groups.len(), KINDS.len());
    // Events and request figures of a span are committed together: never one without the other.
    assert_eq!(service_requests(&server), counted, "one request counted per stored event");
}

/// Requests counted for the test's service over the last hour.
fn service_requests(server: &Server) -> u64 {
    let services = server.get("/api/v1/services?window=1h");
    let all = services["services"].as_array().unwrap();
    all.iter().filter(|s| s["service"] == "crashy").map(|s| s["requests"].as_u64().unwrap()).sum()
}
