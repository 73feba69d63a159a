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
    assert_eq!(psql(&db, "SELECT string_agg(version::text, ',') FROM schema_version"), "1");
    let tables = psql(
        &db,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'events\\_2%'",
    );
    assert_eq!(tables, "18", "the 17 tables of migration 1 and schema_version");
    drop(open().unwrap());
    assert_eq!(psql(&db, "SELECT count(*) FROM schema_version"), "1", "the second start applies nothing");

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
    assert_eq!(psql(&db, "SELECT count(*) FROM schema_version"), "1");
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
