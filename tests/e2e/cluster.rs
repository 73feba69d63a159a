//! Several Faultline nodes on one PostgreSQL database (each with its own
//! ports and data directory, the same `--store`): fed at once by real
//! OpenTelemetry SDKs they make one group per fingerprint with exact
//! counts, found by every node's search; a status change made on one node
//! is seen on every node and resolves the leader's alert; the
//! alert leader killed with SIGKILL is replaced within seconds and every
//! notification arrives exactly once; a node killed mid-export loses
//! nothing it acknowledged; rules, channels and silences created at the
//! same moment through two nodes are all kept.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_tests::otlp::{exception_span, post_protobuf, traces_request};
use faultline_tests::receiver::Receiver;
use faultline_tests::rust_sdk::{Failure, RustService};
use faultline_tests::{wait_until, Server, TempDir};

/// The alert leader's lease in these tests: failover within a few seconds.
const LEASE: &str = "2s";

fn config(tmp: &TempDir, hooks: &Receiver) -> String {
    config_with_lease(tmp, hooks, LEASE)
}

fn config_with_lease(tmp: &TempDir, hooks: &Receiver, lease: &str) -> String {
    let path = tmp.path().join(format!("cluster-{lease}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"
[alerts]
leader_lease = "{lease}"

[[alerts.channels]]
id = "hook"
name = "Ops webhook"
config = {{ kind = "webhook", url = "{}" }}

[[alerts.rules]]
id = "new-issues"
name = "New issue"
kind = "new_group"
channels = ["hook"]
"#,
            hooks.url("/hook")
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn nodes(n: usize, url: &str, config: &str) -> Vec<Server> {
    (0..n).map(|_| Server::start_with(&["--store", url, "--config", config])).collect()
}

fn group_counts(server: &Server) -> BTreeMap<String, u64> {
    server
        .groups()
        .iter()
        .map(|g| (g["exception_type"].as_str().unwrap().to_string(), g["count"].as_u64().unwrap()))
        .collect()
}

/// The nodes that say they lead alerting now (indexes into `nodes`).
fn leaders(nodes: &[Option<Server>]) -> Vec<usize> {
    nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.as_ref().filter(|n| n.get("/api/v1/alerts")["leader"] == true).map(|_| i))
        .collect()
}

fn wait_for_one_leader(nodes: &[Option<Server>], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let found = leaders(nodes);
        if found.len() == 1 {
            return found[0];
        }
        assert!(Instant::now() < deadline, "no single alert leader: {found:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (notification id, group id, kind) of every alert the webhook received.
fn received_alerts(hooks: &Receiver) -> Vec<(String, u64, String)> {
    let mut out = Vec::new();
    for request in hooks.on("/hook") {
        let body = request.json();
        for alert in body["alerts"].as_array().cloned().unwrap_or_default() {
            out.push((
                body["id"].as_str().unwrap().to_string(),
                alert["group_id"].as_u64().unwrap(),
                body["kind"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn export_new_issue(server: &Server, ty: &str) -> u16 {
    let spans = vec![exception_span("GET /orders", ty, &format!("{ty} happened"), vec![])];
    post_protobuf(&server.http_url("/v1/traces"), &traces_request("checkout", spans))
        .map(|(s, _)| s)
        .unwrap_or(0)
}

/// Two nodes with the test's alerting config (a webhook to the returned
/// receiver), once one of them leads: (config dir, receiver, nodes, leader).
fn two_nodes_with_a_leader(url: &str) -> (TempDir, Receiver, Vec<Option<Server>>, usize) {
    let (tmp, hooks) = (TempDir::new("faultline-cluster"), Receiver::start());
    let config = config(&tmp, &hooks);
    let nodes: Vec<Option<Server>> = nodes(2, url, &config).into_iter().map(Some).collect();
    let leader = wait_for_one_leader(&nodes, Duration::from_secs(10));
    (tmp, hooks, nodes, leader)
}

#[test]
fn three_nodes_fed_by_sdks_make_one_group_per_fingerprint_and_see_each_others_changes() {
    let db = faultline_pg_testing::database();
    let (tmp, hooks) = (TempDir::new("faultline-cluster"), Receiver::start());
    let config = config(&tmp, &hooks);
    let nodes = nodes(3, &db.url(), &config);

    // Each node gets its own SDK, all sending the same four bugs at once.
    const KINDS: [(&str, &str); 4] = [
        ("KeyError", "load_cart"),
        ("TimeoutError", "pay"),
        ("ValueError", "parse_sku"),
        ("OSError", "save"),
    ];
    const PER_NODE: usize = 60;
    std::thread::scope(|scope| {
        for node in &nodes {
            scope.spawn(move || {
                let sdk = RustService::start(node, "shop", "1.0.0", "production");
                for i in 0..PER_NODE {
                    for (ty, function) in KINDS {
                        sdk.fail(&Failure {
                            route: "/cart",
                            method: "POST",
                            exception_type: ty,
                            message: &format!("{ty} number {i}"),
                            user: &format!("user-{}", i % 7),
                            function,
                        });
                    }
                    if i % 20 == 19 {
                        sdk.flush();
                    }
                }
                sdk.flush();
            });
        }
    });
    let expected: BTreeMap<String, u64> =
        KINDS.iter().map(|(ty, _)| (ty.to_string(), (PER_NODE * nodes.len()) as u64)).collect();
    for node in &nodes {
        wait_until(
            Duration::from_secs(30),
            || group_counts(node) == expected,
            || format!("groups on node {}: {:?}, expected {expected:?}", node.api_port, group_counts(node)),
        );
        assert_eq!(node.groups().len(), KINDS.len(), "one group per fingerprint");
    }
    // Events carry ids unique across the nodes.
    let group = nodes[0].groups().into_iter().find(|g| g["exception_type"] == "KeyError").unwrap();
    let events = nodes[1].get(&format!("/api/v1/groups/{}/events?limit=500", group["id"]));
    let seqs: std::collections::BTreeSet<u64> =
        events["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs.len(), PER_NODE * nodes.len());

    // Every node's search finds every node's events.
    let total = (PER_NODE * nodes.len() * KINDS.len()) as u64;
    for node in &nodes {
        node.wait_for("/api/v1/search?q=&limit=1", |page: &serde_json::Value| {
            page["total"].as_u64() == Some(total)
        });
        let page = node.get("/api/v1/search?q=type:TimeoutError&limit=1");
        assert_eq!(page["total"].as_u64(), Some((PER_NODE * nodes.len()) as u64), "{page}");
    }

    // A status change on one node is seen by every node.
    let id = group["id"].as_u64().unwrap();
    let resp = nodes[0]
        .client()
        .patch(nodes[0].api_url(&format!("/api/v1/groups/{id}")))
        .json(&serde_json::json!({"status": "resolved"}))
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().unwrap());
    for node in &nodes[1..] {
        assert_eq!(node.get(&format!("/api/v1/groups/{id}"))["status"], "resolved");
    }

    // Exactly one node leads alerting, and the four new issues were announced
    // once each, whichever node received their first event.
    let nodes: Vec<Option<Server>> = nodes.into_iter().map(Some).collect();
    wait_for_one_leader(&nodes, Duration::from_secs(10));
    wait_until(
        Duration::from_secs(20),
        || received_alerts(&hooks).iter().filter(|(_, _, kind)| kind == "firing").count() >= KINDS.len(),
        || format!("webhooks: {:?}", received_alerts(&hooks)),
    );
    std::thread::sleep(Duration::from_secs(2));
    let firing: Vec<u64> =
        received_alerts(&hooks).into_iter().filter(|(_, _, k)| k == "firing").map(|(_, g, _)| g).collect();
    assert_eq!(firing.len(), KINDS.len(), "one firing alert per new issue: {firing:?}");
    // The resolve made on node 0 reached the leader's engine: the issue's
    // alert resolved, announced once.
    wait_until(
        Duration::from_secs(20),
        || received_alerts(&hooks).iter().any(|(_, g, k)| *g == id && k == "resolved"),
        || format!("no resolved notification for group {id}: {:?}", received_alerts(&hooks)),
    );
    std::thread::sleep(Duration::from_secs(2));
    let resolved =
        received_alerts(&hooks).into_iter().filter(|(_, g, k)| *g == id && k == "resolved").count();
    assert_eq!(resolved, 1);
}

#[test]
fn the_alert_leader_killed_with_sigkill_is_replaced_and_every_notification_arrives_once() {
    let db = faultline_pg_testing::database();
    let (tmp, hooks) = (TempDir::new("faultline-cluster"), Receiver::start());
    let config = config(&tmp, &hooks);
    let mut nodes: Vec<Option<Server>> = nodes(3, &db.url(), &config).into_iter().map(Some).collect();
    let leader = wait_for_one_leader(&nodes, Duration::from_secs(10));
    let others: Vec<usize> = (0..nodes.len()).filter(|&i| i != leader).collect();

    // New issues sent to the other nodes are announced by the leader.
    for (n, ty) in ["BeforeA", "BeforeB", "BeforeC"].iter().enumerate() {
        let node = nodes[others[n % others.len()]].as_ref().unwrap();
        assert_eq!(export_new_issue(node, ty), 200);
    }
    wait_until(
        Duration::from_secs(15),
        || received_alerts(&hooks).len() >= 3,
        || format!("webhooks: {:?}", received_alerts(&hooks)),
    );

    // A stream of new issues to a surviving node; the leader is killed in the middle of it.
    let target = nodes[others[0]].as_ref().unwrap().http_url("/v1/traces");
    let sent = Arc::new(AtomicU64::new(0));
    let feeder = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            for i in 0..40 {
                let spans = vec![exception_span("GET /orders", &format!("During{i}"), "it happened", vec![])];
                assert_eq!(post_protobuf(&target, &traces_request("checkout", spans)).unwrap().0, 200);
                sent.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    wait_until(Duration::from_secs(20), || sent.load(Ordering::SeqCst) >= 10, || "feeding".into());
    nodes[leader].as_mut().unwrap().kill9();
    let killed_at = Instant::now();
    nodes[leader] = None;
    let new_leader = wait_for_one_leader(&nodes, Duration::from_secs(15));
    let failover = killed_at.elapsed();
    assert_ne!(new_leader, leader);
    eprintln!("failover: another node led {failover:?} after the SIGKILL (lease {LEASE})");
    assert!(failover < Duration::from_secs(8), "failover took {failover:?}");
    feeder.join().unwrap();
    assert!(sent.load(Ordering::SeqCst) == 40);

    // Every new issue announced, and none twice.
    let groups = 3 + 40;
    wait_until(
        Duration::from_secs(30),
        || received_alerts(&hooks).len() >= groups,
        || format!("{} of {groups} alerts: {:?}", received_alerts(&hooks).len(), received_alerts(&hooks)),
    );
    std::thread::sleep(Duration::from_secs(3));
    let alerts = received_alerts(&hooks);
    let mut per_group: BTreeMap<u64, usize> = BTreeMap::new();
    for (_, group, _) in &alerts {
        *per_group.entry(*group).or_default() += 1;
    }
    let twice: Vec<_> = per_group.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "announced more than once: {twice:?} in {alerts:?}");
    let survivor = nodes.iter().flatten().next().unwrap();
    let stored: Vec<u64> = survivor.groups().iter().map(|g| g["id"].as_u64().unwrap()).collect();
    assert_eq!(stored.len(), groups);
    let missing: Vec<_> = stored.iter().filter(|g| !per_group.contains_key(g)).collect();
    assert!(missing.is_empty(), "never announced: {missing:?}");
    // Each message's id is unique too: no request was repeated.
    let mut ids: Vec<String> =
        hooks.on("/hook").iter().map(|r| r.json()["id"].as_str().unwrap().to_string()).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "a notification was sent twice");
}

#[test]
fn a_node_killed_mid_export_loses_nothing_it_acknowledged() {
    let db = faultline_pg_testing::database();
    let (tmp, hooks) = (TempDir::new("faultline-cluster"), Receiver::start());
    let config = config(&tmp, &hooks);
    let mut nodes = nodes(2, &db.url(), &config);
    const BATCH: u64 = 50;
    let acked = Arc::new(AtomicU64::new(0));
    let port = nodes[1].http_port;
    let feeder = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            let url = format!("http://127.0.0.1:{port}/v1/traces");
            for i in 0.. {
                let spans = (0..BATCH)
                    .map(|j| exception_span("GET /orders", "KeyError", &format!("order {i}-{j}"), vec![]))
                    .collect();
                match post_protobuf(&url, &traces_request("checkout", spans)) {
                    Ok((200, _)) => acked.fetch_add(BATCH, Ordering::SeqCst),
                    _ => return,
                };
            }
        })
    };
    wait_until(Duration::from_secs(30), || acked.load(Ordering::SeqCst) >= 20 * BATCH, || "feeding".into());
    nodes[1].kill9();
    feeder.join().unwrap();
    let acked = acked.load(Ordering::SeqCst);
    let stored = group_counts(&nodes[0]).get("KeyError").copied().unwrap_or(0);
    // At most the one export in flight at the kill may have committed unacknowledged.
    assert!(stored >= acked && stored <= acked + BATCH, "acknowledged {acked}, stored {stored}");
    eprintln!("acknowledged {acked} events before the SIGKILL; {stored} stored");
}

#[test]
fn a_check_created_on_any_node_runs_on_the_leader_alone_and_moves_with_it() {
    let db = faultline_pg_testing::database();
    let (tmp, hooks, target) = (TempDir::new("faultline-cluster"), Receiver::start(), Receiver::start());
    let config = config(&tmp, &hooks);
    let mut nodes: Vec<Option<Server>> = nodes(3, &db.url(), &config).into_iter().map(Some).collect();
    let leader = wait_for_one_leader(&nodes, Duration::from_secs(10));
    let other = (0..nodes.len()).find(|&i| i != leader).unwrap();

    // Created through a node that does not lead; run by the leader, once a second.
    let on = nodes[other].as_ref().unwrap();
    let definition =
        serde_json::json!({"id": "site", "kind": "http", "url": target.url("/ping"), "interval": "1s"});
    let r = on.client().post(on.api_url("/api/v1/checks")).json(&definition).send().unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
    target.wait("/ping", 2, Duration::from_secs(15));
    let start = (Instant::now(), target.on("/ping").len());
    std::thread::sleep(Duration::from_secs(6));
    let runs = target.on("/ping").len() - start.1;
    let seconds = start.0.elapsed().as_secs_f64();
    // One node probing: about one run a second, not one per node.
    assert!(runs as f64 <= seconds + 1.0, "{runs} runs in {seconds:.1} s: more than one node probes");
    // Every node shows its state from the stored runs.
    for node in nodes.iter().flatten() {
        wait_until(
            Duration::from_secs(10),
            || node.get("/api/v1/checks/site")["state"] == "up",
            || format!("node {}: {}", node.api_port, node.get("/api/v1/checks/site")),
        );
    }

    // The leader dies: the check goes on from another node.
    nodes[leader].as_mut().unwrap().kill9();
    nodes[leader] = None;
    wait_for_one_leader(&nodes, Duration::from_secs(15));
    let before = target.on("/ping").len();
    target.wait("/ping", before + 3, Duration::from_secs(15));
}

#[test]
fn a_rule_and_channel_created_on_a_node_that_does_not_lead_are_used_by_the_leader() {
    let db = faultline_pg_testing::database();
    let (_tmp, hooks, nodes, leader) = two_nodes_with_a_leader(&db.url());
    let on = nodes[1 - leader].as_ref().unwrap();
    let post = |path: &str, body: serde_json::Value| {
        let r = on.client().post(on.api_url(path)).json(&body).send().unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
    };
    post(
        "/api/v1/channels",
        serde_json::json!({"id": "api-hook", "name": "API hook", "config": {"kind": "webhook", "url": hooks.url("/api-hook")}}),
    );
    post(
        "/api/v1/alert-rules",
        serde_json::json!({"id": "api-new", "kind": "new_group", "channels": ["api-hook"]}),
    );
    let leading = nodes[leader].as_ref().unwrap();
    wait_until(
        Duration::from_secs(15),
        || {
            leading.get("/api/v1/alert-rules")["rules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == "api-new")
        },
        || format!("the leader's rules: {}", leading.get("/api/v1/alert-rules")),
    );
    assert_eq!(export_new_issue(on, "FromApiRule"), 200);
    let got = hooks.wait("/api-hook", 1, Duration::from_secs(15));
    assert_eq!(got[0].json()["rule"]["id"], "api-new");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(hooks.on("/api-hook").len(), 1, "sent once");
}

#[test]
fn a_silence_made_on_a_node_that_does_not_lead_mutes_the_leaders_notifications() {
    let db = faultline_pg_testing::database();
    let (_tmp, hooks, nodes, leader) = two_nodes_with_a_leader(&db.url());
    let (leading, on) = (nodes[leader].as_ref().unwrap(), nodes[1 - leader].as_ref().unwrap());
    let silence =
        serde_json::json!({"matchers": {"rule": "new-issues"}, "duration": "1h", "comment": "deploying"});
    let response = on.client().post(on.api_url("/api/v1/silences")).json(&silence).send().unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let id = response.json::<serde_json::Value>().unwrap()["id"].as_str().unwrap().to_string();
    wait_until(
        Duration::from_secs(15),
        || leading.get("/api/v1/silences")["silences"].as_array().unwrap().len() == 1,
        || format!("the leader's silences: {}", leading.get("/api/v1/silences")),
    );
    assert_eq!(export_new_issue(on, "QuietError"), 200);
    std::thread::sleep(Duration::from_secs(3));
    assert!(hooks.on("/hook").is_empty(), "silenced on another node, still sent");
    assert!(
        on.get("/api/v1/silences")["silences"].as_array().unwrap().len() == 1,
        "kept on the node that made it"
    );

    // Removed on the leader this time: the firing alert goes out, once.
    let deleted = leading.client().delete(leading.api_url(&format!("/api/v1/silences/{id}"))).send().unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    hooks.wait("/hook", 1, Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(hooks.on("/hook").len(), 1);
    wait_until(
        Duration::from_secs(10),
        || on.get("/api/v1/silences")["silences"].as_array().unwrap().is_empty(),
        || "the other node still shows the silence".into(),
    );
}

#[test]
fn rules_channels_and_silences_created_at_once_on_two_nodes_are_all_kept() {
    let db = faultline_pg_testing::database();
    let (tmp, hooks) = (TempDir::new("faultline-cluster"), Receiver::start());
    let config = config(&tmp, &hooks);
    let nodes = nodes(2, &db.url(), &config);
    // Threads per node, all released at once: each makes a channel, a
    // rule sending to it, and a silence.
    const PER_NODE: usize = 6;
    let barrier = std::sync::Barrier::new(2 * PER_NODE);
    std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            for i in 0..PER_NODE {
                let (barrier, hooks) = (&barrier, &hooks);
                scope.spawn(move || {
                    let client = reqwest::blocking::Client::new();
                    let post = |path: &str, body: serde_json::Value| {
                        let r = client.post(node.api_url(path)).json(&body).send().unwrap();
                        assert_eq!(r.status().as_u16(), 201, "{path}: {}", r.text().unwrap());
                    };
                    let id = format!("at-once-{n}-{i}");
                    barrier.wait();
                    post(
                        "/api/v1/channels",
                        serde_json::json!({"id": id, "name": id, "config": {"kind": "webhook", "url": hooks.url("/c")}}),
                    );
                    post("/api/v1/alert-rules", serde_json::json!({"id": id, "kind": "new_group", "channels": [id]}));
                    post(
                        "/api/v1/silences",
                        serde_json::json!({"matchers": {"rule": id}, "duration": "1h", "comment": id}),
                    );
                });
            }
        }
    });
    let mut want: Vec<String> =
        (0..2).flat_map(|n| (0..PER_NODE).map(move |i| format!("at-once-{n}-{i}"))).collect();
    want.sort();
    let listed = |node: &Server, path: &str, field: &str, key: &str| -> Vec<String> {
        let mut got: Vec<String> = node.get(path)[field]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r[key].as_str().map(str::to_string))
            .filter(|id| id.starts_with("at-once-"))
            .collect();
        got.sort();
        got
    };
    for node in &nodes {
        for (path, field, key) in [
            ("/api/v1/alert-rules", "rules", "id"),
            ("/api/v1/channels", "channels", "id"),
            ("/api/v1/silences", "silences", "comment"),
        ] {
            wait_until(
                Duration::from_secs(15),
                || listed(node, path, field, key) == want,
                || format!("{path} on a node: {:?}, want {want:?}", listed(node, path, field, key)),
            );
        }
    }
}

#[test]
fn an_issue_resolved_on_a_node_that_does_not_lead_resolves_the_leaders_alert() {
    let db = faultline_pg_testing::database();
    let (_tmp, hooks, nodes, leader) = two_nodes_with_a_leader(&db.url());
    let on = nodes[1 - leader].as_ref().unwrap();
    assert_eq!(export_new_issue(on, "ResolvedElsewhere"), 200);
    hooks.wait("/hook", 1, Duration::from_secs(15));
    let group = on.groups().into_iter().find(|g| g["exception_type"] == "ResolvedElsewhere").unwrap();
    // The status change's fact is written in its own transaction by this
    // node, and the leader's alert resolves from it.
    let url = on.api_url(&format!("/api/v1/groups/{}", group["id"]));
    let changed = on.client().patch(url).json(&serde_json::json!({"status": "resolved"})).send().unwrap();
    assert_eq!(changed.status().as_u16(), 200);
    wait_until(
        Duration::from_secs(15),
        || {
            received_alerts(&hooks)
                .iter()
                .any(|(_, id, kind)| Some(*id) == group["id"].as_u64() && kind == "resolved")
        },
        || format!("no resolved notice: {:?}", received_alerts(&hooks)),
    );
    std::thread::sleep(Duration::from_secs(2));
    let resolved = received_alerts(&hooks).into_iter().filter(|(_, _, kind)| kind == "resolved").count();
    assert_eq!(resolved, 1, "sent once");
}

#[test]
fn a_leader_stopped_with_sigterm_hands_over_without_waiting_for_its_lease() {
    let db = faultline_pg_testing::database();
    let (tmp, hooks) = (TempDir::new("faultline-cluster"), Receiver::start());
    // A long lease: a takeover well before it ends shows the lease was given up.
    let config = config_with_lease(&tmp, &hooks, "20s");
    let mut nodes: Vec<Option<Server>> = nodes(2, &db.url(), &config).into_iter().map(Some).collect();
    let leader = wait_for_one_leader(&nodes, Duration::from_secs(10));
    let status = nodes[leader].as_mut().unwrap().terminate();
    assert!(status.success(), "clean exit: {status}");
    let stopped = Instant::now();
    nodes[leader] = None;
    wait_for_one_leader(&nodes, Duration::from_secs(12));
    let handover = stopped.elapsed();
    eprintln!("handover after SIGTERM: {handover:?} (lease 20s)");
    assert!(handover < Duration::from_secs(10), "took {handover:?}: the lease was not given up");
    assert_eq!(export_new_issue(nodes[1 - leader].as_ref().unwrap(), "AfterHandover"), 200);
    hooks.wait("/hook", 1, Duration::from_secs(15));
}
