//! The schema is made at first start, found done at the next, and a
//! database with a newer schema is refused with a clear error.
#![allow(clippy::unwrap_used)]

use faultline_store::StorageOptions;
use faultline_store_postgres::{PgOptions, PgStore};

fn psql(db: &faultline_pg_testing::Database, sql: &str) -> String {
    faultline_pg_testing::server().query(&db.name, sql).unwrap()
}

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
    use faultline_model::{ErrorEvent, EventSource, Grouping};
    use faultline_store::HealthBatch;

    let db = faultline_pg_testing::database();
    let open = || {
        faultline_store_postgres::open_storage(
            &db.url(),
            StorageOptions::default(),
            PgOptions { background: false, ..Default::default() },
        )
        .unwrap()
    };
    let before = {
        let store = open();
        let mut event = ErrorEvent::blank("api", EventSource::SpanException, 1_700_000_000_000_000_000);
        event.message = Some("cart 17 is locked".into());
        event.service_version = Some("2.1.0".into());
        event.environment = Some("prod".into());
        let grouping = Grouping {
            fingerprint: "f1".into(),
            title: "cart <num> is locked".into(),
            culprit: "cart.py".into(),
            method: "message".into(),
            version: 1,
            previous_fingerprints: Vec::new(),
        };
        let committed = store
            .submit(vec![(event, grouping)], HealthBatch::new())
            .unwrap()
            .blocking_recv()
            .unwrap()
            .unwrap();
        store.group(committed[0].group_id).unwrap().unwrap()
    };
    // Back to schema 1: its groups table had the figures in the body only.
    psql(
        &db,
        "ALTER TABLE groups DROP COLUMN last_event_seq, DROP COLUMN last_message, \
         DROP COLUMN first_release, DROP COLUMN last_release; \
         DELETE FROM schema_version WHERE version > 1",
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
