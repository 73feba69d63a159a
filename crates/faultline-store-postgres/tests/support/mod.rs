//! What the engine's tests share: a node without background work, a
//! grouping named by its fingerprint, and SQL run as the superuser.
#![allow(dead_code, clippy::unwrap_used)]

use faultline_model::Grouping;
use faultline_store::{Storage, StorageOptions};
use faultline_store_postgres::{open_storage, PgOptions};

/// An engine on `url` as one Faultline node would open it, without its
/// background maintenance (tests run it when they mean to).
pub fn node(url: &str) -> Storage {
    open_storage(url, StorageOptions::default(), PgOptions { background: false, ..Default::default() })
        .unwrap()
}

pub fn grouping(fp: &str) -> Grouping {
    Grouping {
        fingerprint: fp.into(),
        title: format!("title {fp}"),
        culprit: "culprit".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    }
}

/// `sql` in the test database, its rows as `psql -tA` prints them.
pub fn psql(db: &faultline_pg_testing::Database, sql: &str) -> String {
    faultline_pg_testing::server().query(&db.name, sql).unwrap()
}
