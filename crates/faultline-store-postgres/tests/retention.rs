//! Retention on PostgreSQL: a day of events past `retention.events` goes
//! as a whole partition; the days ahead exist before any event needs them.
#![allow(clippy::unwrap_used)]

use faultline_model::{ErrorEvent, EventSource, Grouping};
use faultline_store::{HealthBatch, StorageOptions};
use faultline_store_postgres::{open_storage, PgOptions};

mod support;
use support::psql;

#[test]
fn expired_days_are_dropped_whole_and_the_days_ahead_exist() {
    let db = faultline_pg_testing::database();
    let storage = open_storage(
        &db.url(),
        StorageOptions::default(),
        PgOptions { background: false, ..Default::default() },
    )
    .unwrap();
    let ahead = psql(
        &db,
        "SELECT count(*) FROM generate_series(0, 2) d \
         WHERE to_regclass('events_' || to_char((now() AT TIME ZONE 'UTC')::date + d, 'YYYYMMDD')) IS NOT NULL",
    );
    assert_eq!(ahead, "3", "today's partition and the next two days'");

    let grouping = Grouping {
        fingerprint: "fa".into(),
        title: "t".into(),
        culprit: "c".into(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    };
    let batch = (0..3).map(|i| (ErrorEvent::blank("api", EventSource::Log, i), grouping.clone())).collect();
    storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
    // A day 40 days back, as a node running then would have written it.
    let old = psql(&db, "SELECT 'events_' || to_char((now() AT TIME ZONE 'UTC')::date - 40, 'YYYYMMDD')");
    psql(
        &db,
        &format!(
            "CREATE TABLE {old} PARTITION OF events FOR VALUES FROM \
             ((((now() AT TIME ZONE 'UTC')::date - 40)::timestamp) AT TIME ZONE 'UTC') TO \
             ((((now() AT TIME ZONE 'UTC')::date - 39)::timestamp) AT TIME ZONE 'UTC')"
        ),
    );
    psql(
        &db,
        "INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body) \
         SELECT nextval('event_ids'), now() - interval '40 days', e.fingerprint, e.service, e.occurred_at, e.body \
         FROM generate_series(1, 5), (SELECT * FROM events LIMIT 1) e",
    );
    assert_eq!(psql(&db, "SELECT count(*) FROM events"), "8");

    let pass = storage.retain(faultline_model::now_nanos(), false).unwrap().blocking_recv().unwrap().unwrap();
    assert_eq!(pass.events_deleted, 5, "{pass:?}");
    assert_eq!(
        psql(&db, &format!("SELECT to_regclass('{old}') IS NULL")),
        "t",
        "the day's partition is gone"
    );
    assert_eq!(psql(&db, "SELECT count(*) FROM events"), "3", "the days kept keep their events");
    assert_eq!(storage.stats().unwrap().events_deleted_by_age, 5);
    let group = storage.group(1).unwrap().unwrap();
    assert_eq!(group.count, 3, "the group keeps counting what it saw");
}
