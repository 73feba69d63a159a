//! Three, and two, Faultline nodes on one PostgreSQL database fed at the
//! same time by the real Python, Node and Rust OpenTelemetry SDKs: with
//! three, the Python shop (tests/sdk/python/app.py) exports to nodes A and
//! B, the Node shop (tests/sdk/node/app.js) to B and C, the Rust SDK to C
//! and A, so every bug reaches two nodes at once, plus one bug only A and
//! one only C receives; with two, the Node shop exports to B and A and the
//! Rust SDK's C is B. Every node must then show one group per fingerprint
//! with exact counts, answer the README's searches alike, show a resolve
//! made on another node, and show the regression when the bug comes back
//! (with three, through the node that never received it).
//!
//! A fingerprint is scoped by service and made of the stack's frames, so
//! a Python and a JavaScript error are never one issue; the "same bug"
//! here is the same runtime's error sent to different nodes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_tests::api::{encode, titles};
use faultline_tests::rust_sdk::{Failure, RustService};
use faultline_tests::sdk_app;
use faultline_tests::{wait_until, Server};

const PY: &str = "shop-py";
const NODE: &str = "shop-node";
const RUST: &str = "shop-rs";

/// app.py's groups (by culprit) and their events in one run (see
/// tests/e2e/sdk_python.rs).
const PY_RUN: [(&str, u64); 5] = [
    ("shop.users in lookup_user", 3),
    ("shop.orders in parse_quantity", 2),
    ("shop.orders in reserve_stock", 2),
    ("shop.handlers in average_cost", 1),
    ("shop.handlers in charge", 2),
];

/// app.js's groups and their events in one run (see tests/e2e/sdk_node.rs).
const NODE_RUN: [(&str, u64); 4] = [
    ("src/users.js in displayName", 3),
    ("src/config.js in parseSettings", 1),
    ("src/orders.js in parseOrderBody", 2),
    ("src/templates.js in loadTemplate", 2),
];

/// Runs of each app per node it feeds.
const RUNS: u64 = 2;

/// The Rust SDK's bugs, sent to C and A alike, `RUST_PER_NODE` times each.
const RUST_SHARED: [(&str, &str); 2] = [("KeyError", "load_cart"), ("TimeoutError", "pay")];
const RUST_PER_NODE: u64 = 25;
/// Bugs only one node receives: (the last node rather than the first,
/// type, function, events).
const RUST_UNIQUE: [(bool, &str, &str, u64); 2] =
    [(false, "OnlyOnFirst", "audit_first", 3), (true, "OnlyOnLast", "audit_last", 4)];

fn rust_failure<'a>(exception_type: &'a str, function: &'a str, message: &'a str) -> Failure<'a> {
    Failure { route: "/cart", method: "POST", exception_type, message, user: "u-1", function }
}

/// Sends `n` events of each bug through the Rust SDK to `node`.
fn rust_sdk(node: &Server, bugs: &[(&str, &str)], n: u64) {
    let sdk = RustService::start(node, RUST, "3.0.0", "production");
    for i in 0..n {
        for (ty, function) in bugs {
            sdk.fail(&rust_failure(ty, function, &format!("{ty} number {i}")));
        }
        if i % 10 == 9 {
            sdk.flush();
        }
    }
    sdk.flush();
}

fn run_python(node: &Server, protocol: &str, host: &str) {
    let resource = format!("service.version=2.3.0,deployment.environment.name=staging,host.name={host}");
    sdk_app::run(&sdk_app::python_shop(), node, protocol, PY, &resource);
}

fn run_node(node: &Server, protocol: &str, host: &str) {
    let resource = format!("service.version=5.0.1,deployment.environment.name=canary,host.name={host}");
    sdk_app::run(&sdk_app::node_shop(), node, protocol, NODE, &resource);
}

/// (service, culprit) -> events, as a node lists its groups; fails when
/// two groups share a key (one bug split in two).
fn group_counts(node: &Server) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for g in node.groups() {
        let key = (g["service"].as_str().unwrap().to_string(), g["culprit"].as_str().unwrap().to_string());
        let before = out.insert(key.clone(), g["count"].as_u64().unwrap());
        assert!(before.is_none(), "two groups for {key:?} on node {}", node.api_port);
    }
    out
}

/// What every node must list after `py_runs` runs of app.py and the rest.
fn expected_counts(py_runs: u64) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for (culprit, n) in PY_RUN {
        out.insert((PY.to_string(), culprit.to_string()), n * py_runs);
    }
    for (culprit, n) in NODE_RUN {
        out.insert((NODE.to_string(), culprit.to_string()), n * 2 * RUNS);
    }
    for (_, function) in RUST_SHARED {
        out.insert((RUST.to_string(), format!("shop.cart in {function}")), 2 * RUST_PER_NODE);
    }
    for (_, _, function, n) in RUST_UNIQUE {
        out.insert((RUST.to_string(), format!("shop.cart in {function}")), n);
    }
    out
}

/// The group of `service` whose culprit is `culprit`, as `node` lists it.
fn group_of(node: &Server, service: &str, culprit: &str) -> serde_json::Value {
    let groups = node.groups();
    let found: Vec<_> =
        groups.iter().filter(|g| g["service"] == service && g["culprit"] == culprit).collect();
    assert_eq!(found.len(), 1, "{service} / {culprit} in {:?}", titles(&groups));
    found[0].clone()
}

/// Searches of the README's *Searching* table and what they must find
/// after `py_runs` runs of app.py.
fn searches(py_runs: u64) -> Vec<(String, u64)> {
    let node_events: u64 = NODE_RUN.iter().map(|(_, n)| n).sum::<u64>() * 2 * RUNS;
    let py_events: u64 = PY_RUN.iter().map(|(_, n)| n).sum::<u64>() * py_runs;
    let rust_events =
        RUST_SHARED.len() as u64 * 2 * RUST_PER_NODE + RUST_UNIQUE.iter().map(|u| u.3).sum::<u64>();
    vec![
        (String::new(), py_events + node_events + rust_events),
        // Python: 3 KeyError and 2 ValueError a run; the Rust SDK's KeyError.
        ("type:KeyError OR type:ValueError".into(), 5 * py_runs + 2 * RUST_PER_NODE),
        (format!("service:{PY} -type:KeyError"), py_events - 3 * py_runs),
        // app.py's two GET /users/{id} failures a run.
        ("route:\"/users/{id}\" method:GET".into(), 2 * py_runs),
        (format!("service:{NODE}"), node_events),
        ("lookup_user".into(), 3 * py_runs),
        ("type:OnlyOnLast".into(), 4),
    ]
}

/// Every node lists `expected` and answers every search alike.
fn assert_all_nodes_agree(nodes: &[Server], py_runs: u64) {
    let expected = expected_counts(py_runs);
    for node in nodes {
        wait_until(
            Duration::from_secs(30),
            || group_counts(node) == expected,
            || format!("node {}: {:#?}\nexpected {expected:#?}", node.api_port, group_counts(node)),
        );
    }
    for (q, total) in searches(py_runs) {
        for node in nodes {
            let path = format!("/api/v1/search?q={}&limit=1", encode(&q));
            // Each node's index catches up with the others' commits within its interval.
            node.wait_for(&path, |page| page["total"].as_u64() == Some(total));
        }
    }
}

/// `n` nodes (2 or 3) on one database: each SDK exports to two of them at
/// once (Python to the first and second, Node to the second and third,
/// Rust to the last and first), then every node must agree.
fn nodes_fed_by_python_node_and_rust_sdks_at_once_agree(n: usize) {
    let db = faultline_pg_testing::database();
    let nodes: Vec<Server> = (0..n).map(|_| Server::start_with(&["--store", &db.url()])).collect();
    let node = |i: usize| &nodes[i % n];
    let host = |runtime: &str, i: usize| format!("{runtime}-{}", ["a", "b", "c"][i % n]);

    std::thread::scope(|s| {
        let (py_a, py_b, node_b, node_c) = (host("py", 0), host("py", 1), host("node", 1), host("node", 2));
        s.spawn(move || (0..RUNS).for_each(|_| run_python(node(0), "grpc", &py_a)));
        s.spawn(move || (0..RUNS).for_each(|_| run_python(node(1), "http/protobuf", &py_b)));
        s.spawn(move || (0..RUNS).for_each(|_| run_node(node(1), "grpc", &node_b)));
        s.spawn(move || (0..RUNS).for_each(|_| run_node(node(2), "http/protobuf", &node_c)));
        s.spawn(move || rust_sdk(node(n - 1), &RUST_SHARED, RUST_PER_NODE));
        s.spawn(move || rust_sdk(node(0), &RUST_SHARED, RUST_PER_NODE));
        for (last, ty, function, events) in RUST_UNIQUE {
            let to = node(if last { n - 1 } else { 0 });
            s.spawn(move || rust_sdk(to, &[(ty, function)], events));
        }
    });
    assert_all_nodes_agree(&nodes, 2 * RUNS);

    // Every node shows the same group, by id, with the hosts of both nodes' senders.
    let culprit = PY_RUN[0].0;
    let key_error = group_of(node(0), PY, culprit);
    let id = key_error["id"].as_u64().unwrap();
    for node in &nodes {
        let group = node.get(&format!("/api/v1/groups/{id}"));
        assert_eq!((group["culprit"].as_str(), group["count"].as_u64()), (Some(culprit), Some(3 * 2 * RUNS)));
        let events = node.get(&format!("/api/v1/groups/{id}/events?limit=100"));
        let mut hosts: Vec<&str> =
            events["events"].as_array().unwrap().iter().map(|e| e["host"].as_str().unwrap()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        assert_eq!(hosts, ["py-a", "py-b"], "node {}", node.api_port);
    }

    // Resolved on the second node: resolved on every node.
    let on = node(1);
    let resp = on
        .client()
        .patch(on.api_url(&format!("/api/v1/groups/{id}")))
        .json(&serde_json::json!({"status": "resolved"}))
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().unwrap());
    for node in &nodes {
        let group = node.get(&format!("/api/v1/groups/{id}"));
        assert_eq!(group["status"], "resolved", "node {}: {group}", node.api_port);
        let listed = node.get(&format!("/api/v1/groups?status=resolved&service={PY}"));
        let ids: Vec<u64> =
            listed["groups"].as_array().unwrap().iter().map(|g| g["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, [id], "node {} lists the resolved issue", node.api_port);
    }

    // The bug comes back through another node (with three, one that never
    // received it): a regression on every node.
    let back = if n > 2 { 2 } else { 0 };
    run_python(node(back), "grpc", "py-back");
    assert_all_nodes_agree(&nodes, 2 * RUNS + 1);
    for node in &nodes {
        let group = node.get(&format!("/api/v1/groups/{id}"));
        assert_eq!(
            (group["status"].as_str(), group["regressed"].as_bool()),
            (Some("unresolved"), Some(true)),
            "node {}: {group}",
            node.api_port
        );
    }
}

#[test]
fn three_nodes_fed_by_python_node_and_rust_sdks_at_once_agree_on_everything() {
    nodes_fed_by_python_node_and_rust_sdks_at_once_agree(3);
}

#[test]
fn two_nodes_fed_by_python_node_and_rust_sdks_at_once_agree_on_everything() {
    nodes_fed_by_python_node_and_rust_sdks_at_once_agree(2);
}
