//! Search with `--store postgres://...`: each node searches its own index
//! (in `DATA_DIR/pg-index`), fed from the database, so an event exported to
//! one node is found on every node; an index lost while the node was down
//! is rebuilt from the database.
#![allow(clippy::unwrap_used)]

use faultline_tests::otlp::{exception_span, kv, post_protobuf, traces_request};
use faultline_tests::Server;
use serde_json::Value;

fn export(server: &Server, service: &str, ty: &str, n: usize) {
    let spans = (0..n)
        .map(|i| {
            exception_span("GET /orders", ty, &format!("order {i} failed"), vec![kv("http.route", "/orders")])
        })
        .collect();
    let (status, _) = post_protobuf(&server.http_url("/v1/traces"), &traces_request(service, spans)).unwrap();
    assert_eq!(status, 200, "the export is acknowledged");
}

/// The hits of a query (every one, on one page): (total, their seqs).
fn search(server: &Server, query: &str) -> (u64, Vec<u64>) {
    let query: String = query.bytes().map(|b| format!("%{b:02X}")).collect();
    let page = server.get(&format!("/api/v1/search?q={query}&limit=100"));
    let seqs = page["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    (page["total"].as_u64().unwrap(), seqs)
}

fn wait_for_total(server: &Server, total: u64) {
    server.wait_for("/api/v1/search?q=&limit=1", |page: &Value| page["total"].as_u64() == Some(total));
}

#[test]
fn every_node_finds_every_nodes_events_and_rebuilds_a_lost_index() {
    let db = faultline_pg_testing::database();
    let url = db.url();
    let mut a = Server::start_with(&["--store", &url]);
    let b = Server::start_with(&["--store", &url]);
    export(&a, "checkout", "KeyError", 3);
    export(&b, "checkout", "TimeoutError", 2);
    export(&b, "api", "KeyError", 4);
    for server in [&a, &b] {
        wait_for_total(server, 9);
    }
    let key_error =
        a.groups().into_iter().find(|g| g["exception_type"] == "KeyError" && g["service"] == "api");
    let group = key_error.unwrap()["id"].as_u64().unwrap();
    let queries = [
        ("", 9),
        ("type:KeyError", 7),
        ("service:api", 4),
        ("type:KeyError -service:api", 3),
        ("\"order 1 failed\"", 3),
        (&format!("group:{group}") as &str, 4),
    ];
    for (query, total) in queries {
        let (found_a, found_b) = (search(&a, query), search(&b, query));
        assert_eq!(found_a.0, total, "{query}");
        assert_eq!(found_a, found_b, "{query}: both nodes find the same events");
    }
    for server in [&a, &b] {
        assert_eq!(
            server.get_raw("/api/v1/search?q=type:(").0,
            400,
            "a bad query is refused on PostgreSQL too"
        );
    }
    // The explorer's pages that count through the index (issue activity,
    // facets, histograms) render on PostgreSQL too.
    for path in ["/".to_string(), "/search?q=type%3AKeyError".to_string(), format!("/issues/{group}")] {
        let response = b.client().get(b.api_url(&path)).send().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(response.text().unwrap().contains("KeyError"), "{path}");
    }

    let index = a.data_dir.join("pg-index");
    assert!(index.join("meta.json").exists(), "the node's index lives in DATA_DIR/pg-index");
    a.kill9();
    std::fs::remove_dir_all(&index).unwrap();
    export(&b, "api", "KeyError", 1);
    a.restart();
    wait_for_total(&a, 10);
    wait_for_total(&b, 10);
    for (query, _) in queries {
        assert_eq!(search(&a, query), search(&b, query), "{query}: the rebuilt index answers alike");
    }
    assert_eq!(search(&a, "type:KeyError").0, 8);
}
