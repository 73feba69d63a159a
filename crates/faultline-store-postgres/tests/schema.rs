//! The schema is made at first start, found done at the next, and a
//! database with a newer schema is refused with a clear error.
#![allow(clippy::unwrap_used)]

use faultline_store::StorageOptions;
use faultline_store_postgres::{PgOptions, PgStore};

mod support;
use support::psql;

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let db = faultline_pg_testing::database();
    let open = || PgStore::open(&db.url(), StorageOptions::default(), PgOptions::default());
    drop(open().unwrap());
    let all: Vec<String> = (1..=faultline_store_postgres::schema::LATEST).map(|v| v.to_string()).collect();
    assert_eq!(
        psql(&db, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"),
        all.join(",")
    );
    let tables = psql(
        &db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'events\\_2%'",
    );
    assert_eq!(tables, "18", "the 17 tables of migration 1 and schema_version");
    drop(open().unwrap());
    assert_eq!(
        psql(&db, "SELECT count(*) FROM schema_version"),
        all.len().to_string(),
        "the second start applies nothing"
    );

    psql(&db, "INSERT INTO schema_version (version) VALUES (99)");
    let err = open().err().unwrap().to_string();
    assert!(err.contains("schema version 99") && err.contains("upgrade faultline"), "{err}");
}

#[test]
fn nodes_starting_at_once_migrate_once() {
    let db = faultline_pg_testing::database();
    let url = db.url();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                PgStore::open(&url, StorageOptions::default(), PgOptions::default()).map(drop)
            })
        })
        .collect();
    for start in starts {
        start.join().unwrap().unwrap();
    }
    let latest = faultline_store_postgres::schema::LATEST;
    assert_eq!(psql(&db, "SELECT count(*) FROM schema_version"), latest.to_string());
}

/// A database at schema 1 (group figures only in the body) moves to
/// schema 2 (figures in columns) with every group reading as before.
#[test]
fn schema_one_groups_keep_their_figures_through_migration_two() {
    use faultline_model::{ErrorEvent, EventSource};
    use faultline_store::HealthBatch;

    let db = faultline_pg_testing::database();
    let open = || support::node(&db.url());
    let before = {
        let store = open();
        let mut event = ErrorEvent::blank("api", EventSource::SpanException, 1_700_000_000_000_000_000);
        event.message = Some("cart 17 is locked".into());
        event.service_version = Some("2.1.0".into());
        event.environment = Some("prod".into());
        let grouping = support::grouping("f1");
        let committed = store
            .submit(vec![(event, grouping)], HealthBatch::new())
            .unwrap()
            .blocking_recv()
            .unwrap()
            .unwrap();
        store.group(committed[0].group_id).unwrap().unwrap()
    };
    // Back before schema 2: the groups table had the figures in the body only.
    psql(
        &db,
        "ALTER TABLE groups DROP COLUMN last_event_seq, DROP COLUMN last_message, \
         DROP COLUMN first_release, DROP COLUMN last_release; \
         DELETE FROM schema_version WHERE version = 2",
    );
    let after = open().group(before.id).unwrap().unwrap();
    assert_eq!(after, before);
    assert_eq!(after.last_message.as_deref(), Some("cart 17 is locked"));
    assert_eq!(after.first_release.as_deref(), Some("2.1.0"));
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let err = PgStore::open(
        "postgres://nobody@127.0.0.1:1/none?sslmode=disable",
        StorageOptions::default(),
        PgOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("PostgreSQL"), "{err}");
}

#[test]
fn a_schema_1_database_keeps_its_health_figures_through_the_shard_migration() {
    use faultline_model::{HealthBucket, HealthKey, HealthSample, Outcome};
    use faultline_store::HealthBatch;
    let db = faultline_pg_testing::database();
    // Schema 1 as a build that knew only migration 1 left it.
    psql(&db, "CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    psql(&db, include_str!("../src/migrations/0001_initial.sql"));
    psql(&db, "INSERT INTO schema_version (version) VALUES (1)");
    let key = |route: &str| HealthKey {
        service: "api".into(),
        environment: "prod".into(),
        route: route.into(),
        method: "GET".into(),
    };
    let bucket = |n: usize| {
        let mut b = HealthBucket::default();
        for i in 0..n {
            let outcome = if i % 4 == 0 { Outcome::ServerError } else { Outcome::Ok };
            b.add(&HealthSample { key: key("/"), at: 0, duration_ms: (i * 37 % 900 + 1) as f64, outcome });
        }
        b
    };
    let at = faultline_model::now_nanos();
    let minute = faultline_store::health::minute_of(at);
    let hour = minute / 60 - 3;
    let (in_minute, in_hour) = (bucket(50), bucket(80));
    let hex = |b: &HealthBucket| {
        faultline_store::rules::encode_bucket(b).iter().map(|x| format!("{x:02x}")).collect::<String>()
    };
    psql(
        &db,
        &format!(
            "INSERT INTO health_minutes VALUES ({minute}, 'api', 'prod', '/m', 'GET', {}, {}, {}, '\\x{}'); \
             INSERT INTO health_hours VALUES ({hour}, 'api', 'prod', '/h', 'GET', {}, {}, {}, '\\x{}')",
            in_minute.requests,
            in_minute.errors,
            in_minute.client_errors,
            hex(&in_minute),
            in_hour.requests,
            in_hour.errors,
            in_hour.client_errors,
            hex(&in_hour),
        ),
    );

    let storage = faultline_store_postgres::open_storage(
        &db.url(),
        StorageOptions::default(),
        PgOptions { background: false, ..Default::default() },
    )
    .unwrap();
    assert_eq!(
        psql(&db, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"),
        "1,2,3"
    );
    let from = (hour * 60 * 60_000_000_000) as i64;
    let read = storage.health(from, at + 60_000_000_000, &Default::default()).unwrap();
    same(&read[&key("/m")], &in_minute, "the minute row, now shard 0");
    same(&read[&key("/h")], &in_hour, "the hour row, now shard 0");

    // New figures for the same minute go to a writer's shard and add up.
    let more = bucket(10);
    let mut batch = HealthBatch::new();
    batch.insert((key("/m"), minute), more.clone());
    storage.submit(Vec::new(), batch).unwrap().blocking_recv().unwrap().unwrap();
    let shards = psql(&db, "SELECT count(*) || ',' || min(shard) || ',' || max(shard) FROM health_minutes");
    assert!(shards.starts_with("2,0,") && !shards.ends_with(",0"), "the old row and a writer's: {shards}");
    let read = storage.health(from, at + 60_000_000_000, &Default::default()).unwrap();
    let mut expected = in_minute.clone();
    expected.merge(&more);
    same(&read[&key("/m")], &expected, "the old row and the new one");
}

/// Counts, and the sketch's count and percentiles, equal.
fn same(found: &faultline_model::HealthBucket, expected: &faultline_model::HealthBucket, what: &str) {
    assert_eq!(
        (found.requests, found.errors, found.client_errors, found.latency.count()),
        (expected.requests, expected.errors, expected.client_errors, expected.latency.count()),
        "{what}"
    );
    for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
        assert_eq!(found.latency.quantile(q), expected.latency.quantile(q), "{what}: p{}", q * 100.0);
    }
}
