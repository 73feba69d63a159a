//! TLS to the database: the test server has `ssl=on` with a certificate
//! signed by the run's CA; the engine's connections are encrypted as the
//! URL's `sslmode` asks, and `verify-full` refuses a certificate it cannot
//! verify.
#![allow(clippy::unwrap_used)]

use faultline_store::{Storage, StorageOptions};
use faultline_store_postgres::{open_storage, PgOptions};

fn psql(_db: &faultline_pg_testing::Database, sql: &str) -> String {
    faultline_pg_testing::server().query("postgres", sql).unwrap()
}

fn open(url: &str) -> Result<Storage, faultline_store_postgres::PgError> {
    open_storage(url, StorageOptions::default(), PgOptions { background: false, ..Default::default() })
}

/// Whether the engine's connections to `db` are encrypted (every one, and at least one).
fn encrypted(db: &faultline_pg_testing::Database) -> (u32, u32) {
    let sql = format!(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.datname = '{}' AND a.application_name = 'faultline'",
        db.name
    );
    let text = psql(db, &sql);
    let (yes, all) = text.split_once('|').unwrap();
    (yes.parse().unwrap(), all.parse().unwrap())
}

#[test]
fn verify_full_checks_the_certificate_against_sslrootcert() {
    let db = faultline_pg_testing::database();
    let storage = open(&db.tls_url("localhost", "verify-full")).unwrap();
    assert!(storage.group(1).unwrap().is_none(), "reads work over TLS");
    let (tls, all) = encrypted(&db);
    assert!(all > 0 && tls == all, "{tls} of {all} connections encrypted");
}

#[test]
fn verify_full_refuses_a_certificate_it_cannot_verify() {
    let db = faultline_pg_testing::database();
    // The public roots do not know the test CA.
    let url = format!(
        "postgres://{}@localhost:{}/{}?sslmode=verify-full",
        faultline_pg_testing::SUPERUSER,
        db.port,
        db.name
    );
    let err = open(&url).err().unwrap().to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // Nor is the certificate valid for another name.
    let url = db.tls_url("127.0.0.2", "verify-full");
    assert!(open(&url).is_err(), "a name the certificate does not carry is refused");
}

#[test]
fn require_encrypts_and_disable_does_not() {
    let db = faultline_pg_testing::database();
    let storage = open(&db.tls_url("127.0.0.1", "require")).unwrap();
    storage.tokens().unwrap();
    let (tls, all) = encrypted(&db);
    assert!(all > 0 && tls == all, "{tls} of {all} connections encrypted");
    drop(storage);

    let other = faultline_pg_testing::database();
    let storage = open(&other.url()).unwrap();
    storage.tokens().unwrap();
    let (tls, all) = encrypted(&other);
    assert!(all > 0 && tls == 0, "{tls} of {all} connections encrypted with sslmode=disable");
}
