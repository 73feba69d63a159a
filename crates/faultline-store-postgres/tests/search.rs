//! Search on PostgreSQL: each node's own index, fed from the database,
//! answers as every other node does and as the embedded engine does.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use faultline_model::{ErrorEvent, EventSource, Grouping};
use faultline_store::{HealthBatch, SearchRequest, Storage, StorageOptions, Store, StoreConfig};
use faultline_store_postgres::{open_storage, PgOptions};

const T0: i64 = 1_700_000_000_000_000_000;
const SECOND: i64 = 1_000_000_000;
/// Past the last event of the corpus used (640 events, 7 s apart).
const END: i64 = T0 + 2 * 3600 * SECOND;
const WAIT: Duration = Duration::from_secs(20);

fn options() -> StorageOptions {
    StorageOptions { index_commit_interval: Duration::from_millis(50), ..Default::default() }
}

fn node(url: &str, index_dir: Option<&Path>) -> Storage {
    let pg =
        PgOptions { background: false, index_dir: index_dir.map(Path::to_path_buf), ..Default::default() };
    open_storage(url, options(), pg).unwrap()
}

/// Event `i` of the corpus: every query of the README's "Searching" table
/// finds some events and misses others.
fn corpus(i: usize) -> (ErrorEvent, Grouping) {
    let service = ["checkout", "api"][i % 2];
    let mut e = ErrorEvent::blank(service, EventSource::SpanException, T0 + i as i64 * 7 * SECOND);
    e.message = Some(
        ["timeout connecting to db", "connection reset by peer", "reset the connection", "out of stock"]
            [i % 4]
            .into(),
    );
    e.stacktrace =
        Some(format!("Traceback:\n  File \"shop/{}.py\", line {}", ["cart", "pay", "user"][i % 3], i % 5));
    e.environment = Some(["prod", "staging", "Prod"][i % 3].into());
    e.service_version = Some(["1.4.2", "1.4.3"][(i % 2) ^ ((i / 5) % 2)].into());
    e.exception_type =
        Some(["KeyError", "ValueError", "shop.NotFound", "OrderError", "KeyError"][i % 5].into());
    e.http_status = [Some(500), Some(503), Some(404), None][i % 4];
    e.http_route = Some(["/users/{id}", "/orders"][i % 3 % 2].into());
    e.http_method = Some(["GET", "POST", "get"][i % 3].into());
    e.trace_id = if i.is_multiple_of(9) {
        "0af7651916cd43dd8448eb211c80319c".into()
    } else {
        format!("{:032x}", i as u128 * 7919)
    };
    e.span_id = format!("{:016x}", i + 1);
    e.host = Some(format!("web-{}", i % 3));
    if i % 4 != 3 {
        e.attributes.insert("user.id".into(), serde_json::json!(["42", "7", "9"][i % 3]));
    }
    e.attributes.insert("http.request.method".into(), serde_json::json!(["POST", "GET"][i % 2]));
    let fingerprint = format!("{service}-{}", e.exception_type.as_deref().unwrap_or_default());
    let grouping = Grouping {
        fingerprint: fingerprint.clone(),
        title: format!("title {fingerprint}"),
        culprit: "culprit".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    };
    (e, grouping)
}

/// The queries of the README's "Searching" table, and a few more.
const QUERIES: &[&str] = &[
    "",
    "timeout",
    "\"connection reset\"",
    "service:checkout environment:prod",
    "type:KeyError OR type:ValueError",
    "-type:NotFound",
    "status:[500 TO 599]",
    "route:\"/users/{id}\" method:GET",
    "release:1.4.2",
    "trace_id:0af7651916cd43dd8448eb211c80319c",
    "user.id:42",
    "http.request.method:POST",
    "type:OrderError AND stacktrace:pay",
    "level:ERROR source:SPAN_EXCEPTION -host:web-0",
];

/// Every page of a query's hits (small pages, so cursors are used).
fn all_hits(store: &dyn Store, query: &str) -> (usize, Vec<u64>) {
    let mut request = SearchRequest { query: query.into(), limit: 37, ..Default::default() };
    request.from = Some(T0);
    request.to = Some(END);
    let mut seqs = Vec::new();
    loop {
        let (page, events) = store.search(&request).unwrap();
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            page.hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
            "every hit read back as an event"
        );
        seqs.extend(page.hits.iter().map(|h| h.seq));
        match page.next_cursor {
            Some(cursor) => request.before_seq = Some(cursor),
            None => return (page.total, seqs),
        }
    }
}

/// The answers to one query that do not depend on how the engine numbers
/// events and groups (so the embedded engine gives them too).
#[derive(Debug, PartialEq)]
struct Numbers {
    total: usize,
    histogram: Vec<(i64, u64)>,
    facets: Vec<faultline_store::Facet>,
    groups: usize,
}

fn numbers(store: &dyn Store, query: &str) -> Numbers {
    let (total, seqs) = all_hits(store, query);
    assert_eq!(seqs.len(), total, "{query}: pages hold every hit once");
    let step = Duration::from_secs(300);
    Numbers {
        total,
        histogram: store.event_histogram(query, T0, END, step).unwrap(),
        facets: [
            "release",
            "environment",
            "status",
            "user",
            "method",
            "route",
            "host",
            "http.request.method",
        ]
        .iter()
        .map(|field| store.facet(query, T0, END, field, 2).unwrap())
        .collect(),
        groups: store.groups_matching(query, 1000).unwrap().len(),
    }
}

/// Groups by fingerprint, so engines numbering groups differently compare.
fn group_of(store: &dyn Store, seqs: &[u64]) -> HashMap<String, u64> {
    seqs.iter()
        .map(|seq| {
            let group = store.group(store.event(*seq).unwrap().unwrap().group_id).unwrap().unwrap();
            (group.fingerprint.clone(), group.id)
        })
        .collect()
}

#[test]
fn two_nodes_ingesting_at_once_answer_every_query_alike_and_as_the_embedded_engine() {
    const THREADS: usize = 4;
    const EXPORTS: usize = 20;
    const PER_EXPORT: usize = 8;
    let db = faultline_pg_testing::database();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let nodes =
        [Arc::new(node(&db.url(), Some(dirs[0].path()))), Arc::new(node(&db.url(), Some(dirs[1].path())))];
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (node, start) = (nodes[t % 2].clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for export in 0..EXPORTS {
                    let first = (export * THREADS + t) * PER_EXPORT;
                    let batch = (first..first + PER_EXPORT).map(corpus).collect();
                    node.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
                    // The other node searches while this one writes.
                    if export % 5 == 0 {
                        node.search(&SearchRequest {
                            query: "timeout".into(),
                            limit: 5,
                            ..Default::default()
                        })
                        .unwrap();
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let events = THREADS * EXPORTS * PER_EXPORT;
    let embedded = faultline_store::open(StoreConfig::InMemory { options: options() }).unwrap();
    for i in 0..events {
        embedded.submit(vec![corpus(i)], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    }

    // A merge made on one node shows in both nodes' group terms.
    assert!(nodes[0].wait_indexed(WAIT) && embedded.wait_indexed(WAIT));
    let (_, seqs) = all_hits(&**nodes[0], "");
    let pg_groups = group_of(&**nodes[0], &seqs);
    let (_, seqs) = all_hits(&*embedded, "");
    let embedded_groups = group_of(&*embedded, &seqs);
    assert_eq!(pg_groups.len(), 8);
    let (target, source) = ("api-KeyError", "api-ValueError");
    nodes[1].merge(pg_groups[target], vec![pg_groups[source]]).unwrap().blocking_recv().unwrap().unwrap();
    embedded
        .merge(embedded_groups[target], vec![embedded_groups[source]])
        .unwrap()
        .blocking_recv()
        .unwrap()
        .unwrap();

    for store in [&**nodes[0], &**nodes[1], &*embedded] {
        assert!(store.wait_indexed(WAIT));
    }
    let mut queries: Vec<(String, String)> = QUERIES.iter().map(|q| (q.to_string(), q.to_string())).collect();
    queries.push((
        format!("group:{} connection", pg_groups[target]),
        format!("group:{} connection", embedded_groups[target]),
    ));
    queries.push((format!("-issue:{}", pg_groups[target]), format!("-issue:{}", embedded_groups[target])));
    for (pg_query, embedded_query) in &queries {
        let answers = [numbers(&**nodes[0], pg_query), numbers(&**nodes[1], pg_query)];
        assert_eq!(answers[0], answers[1], "{pg_query}: the two nodes answer alike");
        assert_eq!(answers[0], numbers(&*embedded, embedded_query), "{pg_query}: as the embedded engine");
        assert_eq!(
            all_hits(&**nodes[0], pg_query).1,
            all_hits(&**nodes[1], pg_query).1,
            "{pg_query}: same hits"
        );
        let total = answers[0].total;
        if pg_query.is_empty() {
            assert_eq!(total, events);
        } else {
            assert!(total > 0 && total < events, "{pg_query} finds some events, not all: {total}");
        }
        let ids: Vec<u64> = pg_groups.values().copied().collect();
        let range = (T0, END);
        let activity = |node: &Storage| {
            node.group_activity(
                &ids,
                pg_query,
                range.0,
                range.1,
                Duration::from_secs(600),
                &["release", "user"],
            )
            .unwrap()
        };
        assert_eq!(activity(&nodes[0]), activity(&nodes[1]), "{pg_query}: group activity");
        assert_eq!(
            nodes[0].groups_matching(pg_query, 1000).unwrap(),
            nodes[1].groups_matching(pg_query, 1000).unwrap()
        );
    }
    let counts: Vec<(u64, BTreeMap<u64, u64>)> =
        nodes.iter().map(|n| n.group_event_counts(T0, END, 100).unwrap()).collect();
    assert_eq!(counts[0], counts[1]);
    assert_eq!(counts[0].0, events as u64);
    assert_eq!(counts[0].1.len(), 7, "eight fingerprints, two of them in one group");
    for bad in ["status:[500 TO", "nosuchfield:[a TO b]x)"] {
        assert!(nodes[0].validate_query(bad).is_err() && nodes[1].validate_query(bad).is_err(), "{bad}");
        assert!(embedded.validate_query(bad).is_err(), "{bad}");
    }
}

#[test]
fn an_index_removed_while_stopped_is_rebuilt_and_one_of_another_database_too() {
    let (db, other) = (faultline_pg_testing::database(), faultline_pg_testing::database());
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("pg-index");
    let everything = |store: &Storage| {
        assert!(store.wait_indexed(WAIT));
        store.search(&SearchRequest { query: String::new(), limit: 1, ..Default::default() }).unwrap().0.total
    };
    {
        let store = node(&db.url(), Some(&index));
        let batch = (0..30).map(corpus).collect();
        store.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        assert_eq!(everything(&store), 30);
    }
    assert!(index.join("meta.json").exists(), "the index lives in its directory");
    {
        // Reopened: resumes where its last commit stopped (nothing twice).
        let store = node(&db.url(), Some(&index));
        assert_eq!(everything(&store), 30);
        store.submit(vec![corpus(30)], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        assert_eq!(everything(&store), 31);
    }
    std::fs::remove_dir_all(&index).unwrap();
    {
        let store = node(&db.url(), Some(&index));
        assert_eq!(everything(&store), 31, "rebuilt from the database");
        assert_eq!(
            store
                .search(&SearchRequest { query: "timeout".into(), limit: 100, ..Default::default() })
                .unwrap()
                .0
                .total,
            8
        );
    }
    {
        // The same directory on another database: emptied and refilled from it.
        let store = node(&other.url(), Some(&index));
        assert_eq!(everything(&store), 0);
        store.submit(vec![corpus(1)], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        assert_eq!(everything(&store), 1);
    }
}

/// A transaction that took a lower id commits after one with a higher id:
/// tailing by id would skip it; tailing by commit does not.
#[test]
fn an_event_committed_after_a_higher_id_is_still_indexed() {
    let db = faultline_pg_testing::database();
    let dir = tempfile::tempdir().unwrap();
    let store = node(&db.url(), Some(dir.path()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, connection) =
        runtime.block_on(tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)).unwrap();
    runtime.spawn(connection);
    runtime.block_on(client.batch_execute("BEGIN")).unwrap();
    let low: i64 = runtime.block_on(client.query_one("SELECT nextval('event_ids')", &[])).unwrap().get(0);
    let (mut held, _) = corpus(0);
    held.seq = low as u64;
    held.message = Some("held back".into());
    runtime
        .block_on(client.execute(
            "INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body) \
             VALUES ($1, now(), 'held', $2, $3, $4)",
            &[&low, &held.service, &held.timestamp, &serde_json::to_value(&held).unwrap()],
        ))
        .unwrap();

    let (mut quick, grouping) = corpus(1);
    quick.message = Some("committed first".into());
    let high =
        store.submit(vec![(quick, grouping)], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert!(high[0].seq > low as u64, "the later transaction holds the higher id");
    let find = |query: &str| {
        assert!(store.wait_indexed(WAIT));
        let request = SearchRequest { query: query.into(), limit: 10, ..Default::default() };
        store.search(&request).unwrap().0.hits.iter().map(|h| h.seq).collect::<Vec<_>>()
    };
    assert_eq!(find(""), vec![high[0].seq], "only the committed event");

    runtime.block_on(client.batch_execute("COMMIT")).unwrap();
    assert_eq!(find("held"), vec![low as u64], "the lower id, committed later, is indexed");
    assert_eq!(find(""), vec![high[0].seq, low as u64]);
    drop(store);
    let store = node(&db.url(), Some(dir.path()));
    assert!(store.wait_indexed(WAIT));
    let request = SearchRequest { query: String::new(), limit: 10, ..Default::default() };
    assert_eq!(store.search(&request).unwrap().0.total, 2, "nothing indexed twice after a restart");
}

/// A day's partition dropped by retention may hold ids above events kept
/// (a node wrote late into an old day): their documents go too.
#[test]
fn a_dropped_day_leaves_the_index_even_with_ids_above_the_days_kept() {
    let db = faultline_pg_testing::database();
    let store = node(&db.url(), None);
    let batch = (0..3).map(corpus).collect();
    store.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, connection) =
        runtime.block_on(tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)).unwrap();
    runtime.spawn(connection);
    // A day 40 days back, written after today's events (higher ids).
    runtime
        .block_on(client.batch_execute(
            "DO $$ BEGIN EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', \
               'events_' || to_char((now() AT TIME ZONE 'UTC')::date - 40, 'YYYYMMDD'), \
               (((now() AT TIME ZONE 'UTC')::date - 40)::timestamp) AT TIME ZONE 'UTC', \
               (((now() AT TIME ZONE 'UTC')::date - 39)::timestamp) AT TIME ZONE 'UTC'); END $$; \
             INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body) \
             SELECT nextval('event_ids'), now() - interval '40 days', e.fingerprint, e.service, e.occurred_at, e.body \
             FROM generate_series(1, 5), (SELECT * FROM events LIMIT 1) e",
        ))
        .unwrap();
    let total = |query: &str| {
        assert!(store.wait_indexed(WAIT));
        let request = SearchRequest { query: query.into(), limit: 10, ..Default::default() };
        store.search(&request).unwrap().0.total
    };
    assert_eq!(total(""), 8);
    let pass = store.retain(faultline_model::now_nanos(), false).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(pass.events_deleted, 5, "{pass:?}");
    assert_eq!(total(""), 3, "the dropped day's documents are gone, today's kept");
    let kept =
        store.search(&SearchRequest { query: String::new(), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(kept.1.len(), 3, "every hit is an event still stored");
}

/// A rebuild of more events than one index commit holds (commits part way,
/// at transaction boundaries) indexes every event once, and a restart after
/// it indexes none again; the transactions' ids cross a power of ten.
#[test]
fn a_long_rebuild_commits_part_way_and_indexes_every_event_once() {
    const TRANSACTIONS: i64 = 60;
    const ROWS: i64 = 1_000;
    let db = faultline_pg_testing::database();
    let dir = tempfile::tempdir().unwrap();
    drop(node(&db.url(), None)); // the schema
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, connection) =
        runtime.block_on(tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)).unwrap();
    runtime.spawn(connection);
    let (mut template, _) = corpus(0);
    template.message = Some("bulk N__".into());
    let template = serde_json::to_string(&template).unwrap();
    // Transaction ids that cross a power of ten, where their order as text
    // and as numbers part (a bug found this way: rows sorted as text).
    let current: String =
        runtime.block_on(client.query_one("SELECT pg_current_xact_id()::text", &[])).unwrap().get(0);
    let current: i64 = current.parse().unwrap();
    let mut boundary = 10;
    while boundary <= current + TRANSACTIONS {
        boundary *= 10;
    }
    let burn = boundary - TRANSACTIONS / 2 - current - 1;
    runtime
        .block_on(client.batch_execute(&format!(
            "DO $$ BEGIN FOR i IN 1..{burn} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$"
        )))
        .unwrap();
    for _ in 0..TRANSACTIONS {
        runtime
            .block_on(client.execute(
                "INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body) \
                 SELECT nextval('event_ids'), now(), 'fp' || (g % 7), 'checkout', g, replace($1, 'N__', g::text)::json \
                 FROM generate_series(1, $2::bigint) g",
                &[&template, &ROWS],
            ))
            .unwrap();
    }
    let all = SearchRequest { query: "bulk".into(), limit: 1, ..Default::default() };
    for _ in 0..2 {
        let store = node(&db.url(), Some(dir.path()));
        assert!(store.wait_indexed(Duration::from_secs(300)));
        assert_eq!(store.search(&all).unwrap().0.total, (TRANSACTIONS * ROWS) as usize);
        let one = SearchRequest { query: "bulk AND 17".into(), limit: 100, ..Default::default() };
        assert_eq!(store.search(&one).unwrap().0.total, TRANSACTIONS as usize, "each row once");
    }
}

/// Rows restored with `pg_dump` into another cluster keep transaction ids
/// from the old one, ahead of the new cluster's: a node renumbers them at
/// start, so they are indexed and later transactions are too.
#[test]
fn rows_restored_with_ids_from_another_cluster_are_indexed() {
    let db = faultline_pg_testing::database();
    drop(node(&db.url(), None)); // the schema
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, connection) =
        runtime.block_on(tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)).unwrap();
    runtime.spawn(connection);
    let (mut restored, _) = corpus(0);
    restored.message = Some("restored".into());
    runtime
        .block_on(client.execute(
            "INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body, committed_xid) \
             VALUES (nextval('event_ids'), now(), 'old', $1, $2, $3, '900000000'::xid8)",
            &[&restored.service, &restored.timestamp, &serde_json::to_value(&restored).unwrap()],
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = node(&db.url(), Some(dir.path()));
    let find = |query: &str| {
        assert!(store.wait_indexed(WAIT));
        store.search(&SearchRequest { query: query.into(), limit: 10, ..Default::default() }).unwrap().0.total
    };
    assert_eq!(find("restored"), 1);
    store.submit(vec![corpus(1)], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    store.submit(vec![corpus(2)], HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(find(""), 3, "later transactions indexed too");
    let ahead: i64 = runtime
        .block_on(client.query_one(
            "SELECT count(*) FROM events WHERE committed_xid >= pg_snapshot_xmax(pg_current_snapshot())",
            &[],
        ))
        .unwrap()
        .get(0);
    assert_eq!(ahead, 0, "no row is left with a transaction id from the future");
}
