//! StoreAdmin: figures, retention, and what PostgreSQL leaves to its own
//! tools (backups: pg_dump).
//!
//! Retention of events, by arrival as the embedded engine has it:
//! - whole day partitions that ended before `now - retention.events` are
//!   dropped (no row-by-row delete for the bulk of expired events);
//! - each pass writes an arrival mark (its `now` -> the next event id), and
//!   events below the newest mark at or before the cutoff are deleted row
//!   by row, a bounded number per pass: the part of a day that expired
//!   before its partition as a whole did (and events a caller's clock
//!   placed in a day still kept).
//! - over `max_disk_bytes` (the database's size), the oldest events go too,
//!   a chunk per pass: deleted rows are space PostgreSQL reuses (after
//!   autovacuum) rather than gives back, so the quota stops growth; dropped
//!   partitions do give their space back.
//! - groups with no event arriving for `retention.groups` are deleted
//!   with their fingerprints.

use std::sync::atomic::Ordering;
use std::time::{Duration, UNIX_EPOCH};

use deadpool_postgres::{GenericClient, Transaction};
use faultline_model::UnixNanos;
use faultline_store::api::{Ack, StoreAdmin};
use faultline_store::{BackupReport, Error as StoreError, Result, RetentionPass, StorageStats};

use crate::error::PgResult;
use crate::shared::{unsigned, Shared};
use crate::PgStore;

/// The most events one pass deletes row by row (partitions go whole).
const EVENTS_PER_PASS: i64 = 2_000;
/// The most groups one pass deletes.
const GROUPS_PER_PASS: i64 = 5_000;
/// Advisory lock keys of a retention pass and of health maintenance (the
/// latter is the key `health::maintain` takes itself).
const RETENTION_LOCK: i64 = 7270761358;
const MAINTENANCE_LOCK: i64 = 7270761357;
/// `store_state` rows: when a node last finished each kind of round, in
/// milliseconds by the database's clock.
const RETENTION_DONE: &str = "retention_done_ms";
const MAINTENANCE_DONE: &str = "maintenance_done_ms";
/// How often a node looks whether health maintenance is due.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

fn time_of(at: UnixNanos) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(at).unwrap_or(0))
}

pub(crate) async fn retain(
    shared: &Shared,
    txn: &Transaction<'_>,
    now: UnixNanos,
    over_quota: bool,
) -> PgResult<RetentionPass> {
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&RETENTION_LOCK]).await?;
    let options = &shared.options.retention;
    let next_id: i64 = txn
        .query_one("SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM event_ids", &[])
        .await?
        .try_get(0)?;
    txn.execute(
        "INSERT INTO arrival_marks (at, next_event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&now, &next_id],
    )
    .await?;
    let events_nanos = i64::try_from(options.events.as_nanos()).unwrap_or(i64::MAX);
    let cutoff = now.saturating_sub(events_nanos);
    let mut pass = RetentionPass::default();
    let dropped = crate::partitions::drop_before(shared, txn, time_of(cutoff)).await?;
    let below: i64 = txn
        .query_one("SELECT coalesce(max(next_event_id), 0) FROM arrival_marks WHERE at <= $1", &[&cutoff])
        .await?
        .try_get(0)?;
    let deleted = txn
        .execute(
            "DELETE FROM events WHERE (id, stored_at) IN \
             (SELECT id, stored_at FROM events WHERE id < $1 ORDER BY id LIMIT $2)",
            &[&below, &EVENTS_PER_PASS],
        )
        .await?;
    pass.more = i64::try_from(deleted).unwrap_or(i64::MAX) >= EVENTS_PER_PASS;
    pass.events_deleted = usize::try_from(dropped + deleted).unwrap_or(usize::MAX);
    if over_quota {
        let by_quota = txn
            .execute(
                "DELETE FROM events WHERE (id, stored_at) IN \
                 (SELECT id, stored_at FROM events ORDER BY id LIMIT $1)",
                &[&EVENTS_PER_PASS],
            )
            .await?;
        pass.events_deleted_by_quota = usize::try_from(by_quota).unwrap_or(usize::MAX);
        pass.events_deleted += pass.events_deleted_by_quota;
        pass.more = true;
    }
    let oldest_left: Option<i64> = txn.query_one("SELECT min(id) FROM events", &[]).await?.try_get(0)?;
    let deleted_below = match oldest_left {
        Some(oldest) => oldest.min(below.max(1)),
        None => below.max(next_id),
    };
    txn.execute(
        "INSERT INTO store_state (name, value) VALUES ('deleted_below', $1) \
         ON CONFLICT (name) DO UPDATE SET value = greatest(store_state.value, excluded.value)",
        &[&deleted_below],
    )
    .await?;
    pass.deleted_below = unsigned(
        txn.query_one("SELECT value FROM store_state WHERE name = 'deleted_below'", &[]).await?.try_get(0)?,
    );
    let groups_nanos = i64::try_from(options.groups.as_nanos()).unwrap_or(i64::MAX);
    let group_cutoff = time_of(now.saturating_sub(groups_nanos));
    let gone = txn
        .query(
            "DELETE FROM groups WHERE id IN (SELECT id FROM groups WHERE last_arrival < $1 LIMIT $2) RETURNING id",
            &[&group_cutoff, &GROUPS_PER_PASS],
        )
        .await?;
    let gone: Vec<i64> = gone.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
    txn.execute("DELETE FROM fingerprints WHERE group_id = ANY($1)", &[&gone]).await?;
    pass.groups_deleted = gone.len();
    // Marks are needed as long as the events they date.
    txn.execute("DELETE FROM arrival_marks WHERE at < $1 AND next_event_id < $2", &[&cutoff, &below]).await?;
    Ok(pass)
}

impl StoreAdmin for PgStore {
    fn stats(&self) -> Result<StorageStats> {
        let shared = self.shared.clone();
        let indexed_seq = self.progress.indexed_seq.load(Ordering::Relaxed);
        self.read(move |client| async move {
            let row = client
                .query_one(
                    "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_ids), \
                            (SELECT count(*) FROM groups WHERE merged_into IS NULL), \
                            (SELECT coalesce(max(value), 0) FROM store_state WHERE name = 'deleted_below'), \
                            pg_database_size(current_database()), \
                            (SELECT min(stored_at) FROM events)",
                    &[],
                )
                .await?;
            let last_seq = unsigned(row.try_get(0)?);
            let oldest: Option<std::time::SystemTime> = row.try_get(4)?;
            Ok(StorageStats {
                last_seq,
                // This node's index.
                indexed_seq: indexed_seq.min(last_seq),
                groups: unsigned(row.try_get(1)?),
                endpoints_overflowed: shared.overflowed.load(Ordering::Relaxed),
                deleted_below: unsigned(row.try_get(2)?),
                events_deleted_by_age: shared.deleted_by_age.load(Ordering::Relaxed),
                events_deleted_by_quota: shared.deleted_by_quota.load(Ordering::Relaxed),
                disk_bytes: Some(unsigned(row.try_get(3)?)),
                max_disk_bytes: shared.options.retention.max_disk_bytes,
                oldest_event_received_at: oldest
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            })
        })
    }

    fn write_failure(&self) -> Option<String> {
        self.shared.write_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn retain(&self, now: UnixNanos, over_quota: bool) -> Result<Ack<RetentionPass>> {
        let shared = self.shared.clone();
        self.transact_then(
            move |txn| {
                let shared = shared.clone();
                Box::pin(async move { retain(&shared, txn, now, over_quota).await })
            },
            {
                let shared = self.shared.clone();
                move |pass: &RetentionPass| count(&shared, pass)
            },
        )
    }

    fn backup(&self, _to: &std::path::Path) -> Result<BackupReport> {
        Err(StoreError::Unsupported(
            "faultline backup copies the embedded engine's data directory; this server stores in PostgreSQL: \
             back it up with PostgreSQL's own tools (pg_dump, or pg_basebackup with WAL archiving)"
                .into(),
        ))
    }

    fn shutdown(&self) -> Result<()> {
        self.stop();
        Ok(())
    }
}

/// Runs retention and maintenance in the background until stopped.
///
/// Every node runs this loop, but a round of either is done by one node:
/// each round starts with `my_turn`, which skips it when another node is
/// doing that work right now (its advisory lock is held: waiting for it,
/// as the work's own lock would, only queues the nodes to redo the same
/// round one after the other) or finished it less than a period ago (so
/// N nodes do not make N rounds per period). Any node may do the next
/// round, so no node needs to be elected for it and a node that stops
/// leaves the work to the others without a handover; the alert leader's
/// lease is not used, as a store without alerting's leader loop (a
/// `faultline migrate`, a test) still needs its retention.
pub(crate) async fn background(shared: std::sync::Arc<Shared>) {
    let tick = Duration::from_millis(250);
    let mut since_retention = Duration::ZERO;
    let mut since_maintenance = Duration::from_secs(3600);
    while !shared.stopping.load(Ordering::SeqCst) {
        if since_maintenance >= MAINTENANCE_EVERY {
            since_maintenance = Duration::ZERO;
            if let Err(e) = maintain_now(&shared).await {
                tracing::warn!(error = %e, "PostgreSQL maintenance failed; retrying in a minute");
            }
        }
        if since_retention >= shared.options.retention.interval() {
            since_retention = Duration::ZERO;
            match retain_now(&shared).await {
                Ok(Some(pass)) if pass.more => since_retention = Duration::from_secs(3600),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "PostgreSQL retention pass failed"),
            }
        }
        tokio::time::sleep(tick).await;
        since_retention += tick;
        since_maintenance += tick;
    }
}

/// Whether this transaction should do a round of the work under `lock`:
/// it takes the lock without waiting (false if another node's transaction
/// holds it), and false too if a node finished such a round (`done`) less
/// than nine tenths of `every` ago by the database's clock, so the
/// nodes' clocks play no part. The work's own `pg_advisory_xact_lock` of
/// the same key then passes at once: advisory locks are re-entrant within
/// a session.
async fn my_turn(txn: &Transaction<'_>, lock: i64, done: &str, every: Duration) -> PgResult<bool> {
    let got: bool = txn.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&lock]).await?.try_get(0)?;
    if !got {
        return Ok(false);
    }
    let recent_ms = i64::try_from(every.as_millis() * 9 / 10).unwrap_or(i64::MAX);
    let recent: bool = txn
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM store_state WHERE name = $1 \
             AND value > (extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2)",
            &[&done, &recent_ms],
        )
        .await?
        .try_get(0)?;
    Ok(!recent)
}

/// Notes, in the round's transaction, that a round of `done` finished.
async fn turn_done(txn: &Transaction<'_>, done: &str) -> PgResult<()> {
    txn.execute(
        "INSERT INTO store_state (name, value) VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[&done],
    )
    .await?;
    Ok(())
}

/// One round of health maintenance, unless another node does it (false).
async fn maintain_now(shared: &Shared) -> PgResult<bool> {
    let mut client = shared.pool.get().await?;
    // Cheap and once per node and day: each node knows its partitions.
    crate::partitions::create_ahead(shared, &client).await?;
    let txn = client.transaction().await?;
    if !my_turn(&txn, MAINTENANCE_LOCK, MAINTENANCE_DONE, MAINTENANCE_EVERY).await? {
        return Ok(false);
    }
    crate::health::maintain(shared, &txn, faultline_model::now_nanos()).await?;
    turn_done(&txn, MAINTENANCE_DONE).await?;
    txn.commit().await?;
    Ok(true)
}

/// One retention pass, unless another node does it (`None`). A pass that
/// left more to delete is not noted as done, so the next one follows at
/// once on whichever node comes first.
async fn retain_now(shared: &Shared) -> PgResult<Option<RetentionPass>> {
    let mut client = shared.pool.get().await?;
    // The quota (`retention.max_disk_bytes`) is the database's size here.
    let over_quota = match shared.options.retention.max_disk_bytes {
        Some(max) => {
            let size: i64 =
                client.query_one("SELECT pg_database_size(current_database())", &[]).await?.try_get(0)?;
            unsigned(size) > max
        }
        None => false,
    };
    let txn = client.transaction().await?;
    if !my_turn(&txn, RETENTION_LOCK, RETENTION_DONE, shared.options.retention.interval()).await? {
        return Ok(None);
    }
    let pass = retain(shared, &txn, faultline_model::now_nanos(), over_quota).await?;
    if !pass.more {
        turn_done(&txn, RETENTION_DONE).await?;
    }
    txn.commit().await?;
    count(shared, &pass);
    Ok(Some(pass))
}

/// Adds a committed pass's deletions to this node's figures.
pub(crate) fn count(shared: &Shared, pass: &RetentionPass) {
    let by_quota = pass.events_deleted_by_quota as u64;
    shared.deleted_by_quota.fetch_add(by_quota, Ordering::Relaxed);
    shared.deleted_by_age.fetch_add((pass.events_deleted as u64).saturating_sub(by_quota), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{PgOptions, PgStore};

    fn node(url: &str) -> PgStore {
        let pg = PgOptions { background: false, ..Default::default() };
        PgStore::open(url, faultline_store::StorageOptions::default(), pg).unwrap()
    }

    /// A round, run on `store`'s runtime; `Err` if it waited over 5 s.
    fn retention_round(store: &PgStore) -> std::result::Result<Option<RetentionPass>, ()> {
        let shared = store.shared.clone();
        let waited = Duration::from_secs(5);
        store
            .db
            .block(async move { Ok(tokio::time::timeout(waited, retain_now(&shared)).await) })
            .unwrap()
            .map_err(|_| ())
            .map(|r| r.unwrap())
    }

    fn maintenance_round(store: &PgStore) -> std::result::Result<bool, ()> {
        let shared = store.shared.clone();
        let waited = Duration::from_secs(5);
        store
            .db
            .block(async move { Ok(tokio::time::timeout(waited, maintain_now(&shared)).await) })
            .unwrap()
            .map_err(|_| ())
            .map(|r| r.unwrap())
    }

    #[test]
    fn a_round_another_node_is_doing_or_just_did_is_skipped_not_waited_for() {
        let db = faultline_pg_testing::database();
        let (a, b) = (node(&db.url()), node(&db.url()));
        // A session of a holds both locks, as a's rounds in progress would.
        let pool = a.shared.pool.clone();
        let holder =
            a.db.block(async move {
                let client = pool.get().await?;
                client
                    .execute(
                        "SELECT pg_advisory_lock($1), pg_advisory_lock($2)",
                        &[&RETENTION_LOCK, &MAINTENANCE_LOCK],
                    )
                    .await?;
                Ok(client)
            })
            .unwrap();
        assert_eq!(retention_round(&b), Ok(None), "skipped while another node's pass runs");
        assert_eq!(maintenance_round(&b), Ok(false), "skipped while another node's maintenance runs");
        a.db.block(async move {
            holder.execute("SELECT pg_advisory_unlock_all()", &[]).await?;
            Ok(())
        })
        .unwrap();
        // Free: b does the rounds, and a, coming right after, skips them.
        assert!(matches!(retention_round(&b), Ok(Some(_))));
        assert_eq!(maintenance_round(&b), Ok(true));
        assert_eq!(retention_round(&a), Ok(None), "done by b less than a period ago");
        assert_eq!(maintenance_round(&a), Ok(false), "done by b less than a period ago");
    }
}
