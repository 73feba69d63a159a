//! The node's search index, fed from the `events` table by a tailer thread.
//!
//! Ids come from a sequence, so with several writers (nodes, or writer
//! tasks) they do not commit in id order: a transaction holding id 7 may
//! commit after one holding id 9, and tailing `id > last` would skip 7 for
//! good. The tailer follows commits instead. Each row carries the id of
//! the transaction that wrote it (`committed_xid`, xid8), and each pass
//! reads in one REPEATABLE READ snapshot:
//! - every transaction below the snapshot's `xmin` has ended, so all rows
//!   with `committed_xid < xmin` are visible or gone for good;
//! - transactions at or above `xmin` may still be running: the ones whose
//!   rows were read are remembered (`seen`) until `xmin` passes them.
//!
//! A pass reads the rows with `committed_xid >= position.xmin` not in
//! `seen`, then moves the position to the snapshot's `xmin` and the
//! transactions seen at or above it. The position is the commit payload of
//! the tantivy index, written in the same commit as the documents it
//! covers, so a restart resumes exactly there (a long catch-up, such as a
//! rebuild, also commits part way, where a transaction's rows begin). The payload also names the
//! database (a random id kept in `store_state`): an index built from
//! another database, or ahead of this one (a restored database), is
//! emptied and rebuilt; rows restored with transaction ids ahead of this
//! cluster's are renumbered when a node starts (`repair_future_xids`).
//!
//! Retention deletes events oldest id first (row by row or whole day
//! partitions), so each pass also deletes the documents below the oldest id
//! still in the table (all of them when the table is empty). A day's
//! partition may also hold ids above the oldest one kept (nodes' clocks
//! differ around midnight; a node wrote late into an old day): when a
//! partition is gone (and after a start, which may have missed one), the
//! documents from the oldest kept id up are checked against the table, a
//! window of ids per pass, and those whose event is gone are deleted.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use faultline_model::ErrorEvent;
use faultline_store::IndexFeed;
use serde_json::{json, Value};
use tokio::runtime::Handle;
use tokio_postgres::IsolationLevel;

use crate::error::{PgError, PgResult};
use crate::shared::unsigned;

/// Rows read per query while catching up, to bound memory.
const PAGE: i64 = 2_000;
/// Documents added between commits while catching up.
const COMMIT_EVERY: usize = 50_000;
/// Event ids whose documents are checked against the table per pass
/// after a partition went.
const RECONCILE_WINDOW: u64 = 10_000;
/// The longest wait between passes while they fail.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Where the tailer stands: every transaction below `xmin` is indexed,
/// and so are those in `seen` (all at or above `xmin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub xmin: u64,
    pub seen: BTreeSet<u64>,
}

impl Position {
    /// Moves to a snapshot's `xmin`, forgetting what it has passed.
    fn advance(&mut self, xmin: u64, read: impl IntoIterator<Item = u64>) {
        self.seen.extend(read);
        self.xmin = self.xmin.max(xmin);
        let kept = self.seen.split_off(&self.xmin);
        self.seen = kept;
    }
}

/// The commit payload: the database the index was built from and the position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload {
    pub database: i64,
    pub position: Position,
}

impl Payload {
    pub fn encode(&self) -> String {
        json!({"database": self.database, "xmin": self.position.xmin, "seen": self.position.seen}).to_string()
    }

    /// `None` for text that is no payload of this engine (an index of the
    /// embedded engine, say): the index is then rebuilt.
    pub fn decode(text: &str) -> Option<Payload> {
        let value: Value = serde_json::from_str(text).ok()?;
        let seen = value["seen"].as_array()?.iter().map(Value::as_u64).collect::<Option<BTreeSet<u64>>>()?;
        Some(Payload {
            database: value["database"].as_i64()?,
            position: Position { xmin: value["xmin"].as_u64()?, seen },
        })
    }
}

/// Passes of the tailer, for `wait_indexed`: a pass that started after a
/// call sees everything committed before it.
#[derive(Default)]
pub(crate) struct Progress {
    state: Mutex<Passes>,
    changed: Condvar,
    stop: AtomicBool,
    /// Event ids handed out when the last finished pass took its
    /// snapshot: everything committed below is indexed (`stats`; ids still
    /// in a running transaction then count as indexed, so the lag shown is
    /// a close lower bound).
    pub indexed_seq: AtomicU64,
}

#[derive(Default)]
struct Passes {
    started: u64,
    finished: u64,
    /// Someone waits: start the next pass now, not at the next tick.
    wanted: bool,
}

impl Progress {
    /// The first pass starts at once.
    pub fn new() -> Progress {
        let progress = Progress::default();
        progress.state.lock().unwrap_or_else(|p| p.into_inner()).wanted = true;
        progress
    }

    /// Waits until a pass that started after this call has finished.
    pub fn wait_indexed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let target = state.started + 1;
        state.wanted = true;
        self.changed.notify_all();
        while state.finished < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stop.load(Ordering::SeqCst) {
                return false;
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        true
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.changed.notify_all();
    }

    /// Sleeps until the next tick (`interval` from now) or a waiter; returns the pass number to
    /// run, or `None` when stopping.
    fn next_pass(&self, interval: Duration) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.wanted && !self.stop.load(Ordering::SeqCst) {
            state = self.changed.wait_timeout(state, interval).unwrap_or_else(|p| p.into_inner()).0;
        }
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        state.wanted = false;
        state.started += 1;
        Some(state.started)
    }

    fn finished(&self, pass: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.finished = state.finished.max(pass);
        self.changed.notify_all();
    }
}

/// The tailer: owns the index's writing side.
pub(crate) struct Tailer {
    pub pool: Pool,
    pub handle: Handle,
    pub feed: IndexFeed,
    pub progress: Arc<Progress>,
    pub interval: Duration,
    /// The last commit's payload (`None`: the index is new or rebuilt).
    pub committed: Option<Payload>,
}

/// What the tailer holds between passes (reset to the last commit after a failure).
struct State {
    database: Option<i64>,
    position: Position,
    /// The oldest event id whose documents below were deleted (`Some(None)`:
    /// all deleted, the table being empty); `None` before the first pass.
    applied_oldest: Option<Option<i64>>,
    /// The day partitions of `events` at the last pass (`None` before the first).
    partitions: Option<BTreeSet<String>>,
    /// Documents from this sequence number up are still to be checked
    /// against the table.
    reconcile_from: Option<u64>,
}

impl Tailer {
    pub fn run(mut self) {
        let mut state = self.state_from_commit();
        let mut wait = self.interval;
        while let Some(pass) = self.progress.next_pass(wait) {
            match self.pass(&mut state) {
                Ok(()) => {
                    self.progress.finished(pass);
                    wait = self.interval;
                }
                Err(e) => {
                    tracing::error!(error = %e, "indexing from PostgreSQL failed; retrying from the last index commit");
                    if let Err(e) = self.feed.rollback() {
                        tracing::error!(error = %e, "rolling the index writer back failed");
                    }
                    state = self.state_from_commit();
                    // A database that is down is asked less and less often.
                    wait = (wait * 2).clamp(Duration::from_millis(250), MAX_BACKOFF);
                }
            }
        }
        tracing::debug!("PostgreSQL index tailer stopped");
    }

    fn state_from_commit(&self) -> State {
        State {
            database: self.committed.as_ref().map(|p| p.database),
            position: self.committed.as_ref().map(|p| p.position.clone()).unwrap_or_default(),
            applied_oldest: None,
            partitions: None,
            reconcile_from: None,
        }
    }

    /// One snapshot: deletions, new rows, and a commit when anything changed.
    fn pass(&mut self, state: &mut State) -> PgResult<()> {
        let handle = self.handle.clone();
        let mut client = handle.block_on(self.pool.get())?;
        let txn = handle.block_on(
            client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )?;
        let row = handle.block_on(txn.query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, pg_snapshot_xmax(pg_current_snapshot())::text, \
                    (SELECT min(id) FROM events), (SELECT value FROM store_state WHERE name = 'database_id'), \
                    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_ids)",
            &[],
        ))?;
        let xmin = parse_xid(row.try_get(0)?)?;
        let xmax = parse_xid(row.try_get(1)?)?;
        let oldest: Option<i64> = row.try_get(2)?;
        let database: Option<i64> = row.try_get(3)?;
        let handed_out: i64 = row.try_get(4)?;
        // Named when the engine opened (`name_database`).
        let database = database.ok_or_else(|| PgError::Corrupt("the database has no database_id".into()))?;
        let mut changed = false;
        if state.database != Some(database) || state.position.xmin > xmax {
            if state.database.is_some() {
                tracing::warn!("the search index was built from another database; rebuilding it");
            }
            self.feed.delete_all()?;
            *state = State {
                database: Some(database),
                position: Position::default(),
                applied_oldest: None,
                partitions: None,
                reconcile_from: None,
            };
            changed = true;
        }
        if state.applied_oldest != Some(oldest) {
            match oldest {
                Some(id) => self.feed.delete_below(unsigned(id))?,
                None => self.feed.delete_all()?,
            }
            state.applied_oldest = Some(oldest);
            changed = true;
        }
        changed |= self.reconcile(&handle, &txn, state, oldest, unsigned(handed_out))?;
        let read = self.read_new(&handle, &txn, &state.position, (database, xmin))?;
        handle.block_on(txn.commit())?;
        changed |= !read.is_empty();
        state.position.advance(xmin, read);
        if changed {
            let payload = Payload { database, position: state.position.clone() };
            self.feed.commit(&payload.encode()).map_err(PgError::Store)?;
            self.committed = Some(payload);
        }
        self.progress.indexed_seq.store(unsigned(handed_out), Ordering::Relaxed);
        Ok(())
    }

    /// After a partition went: checks the documents of a window of ids
    /// (from the oldest kept id up to the last id handed out) against the
    /// table and deletes those whose event is gone. Returns whether it
    /// deleted any.
    fn reconcile(
        &mut self,
        handle: &Handle,
        txn: &deadpool_postgres::Transaction<'_>,
        state: &mut State,
        oldest: Option<i64>,
        handed_out: u64,
    ) -> PgResult<bool> {
        let rows = handle.block_on(txn.query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'events'::regclass",
            &[],
        ))?;
        let partitions = rows.iter().map(|row| row.try_get(0)).collect::<Result<BTreeSet<String>, _>>()?;
        let went = state.partitions.as_ref().is_none_or(|before| !before.is_subset(&partitions));
        state.partitions = Some(partitions);
        let from = match (state.reconcile_from, went) {
            (_, true) => oldest.map_or(0, unsigned),
            (Some(from), false) => from,
            (None, false) => return Ok(false),
        };
        let to = from.saturating_add(RECONCILE_WINDOW);
        state.reconcile_from = (to <= handed_out).then_some(to);
        let seqs = self.feed.committed_seqs(from, to).map_err(PgError::Store)?;
        if seqs.is_empty() {
            return Ok(false);
        }
        let ids: Vec<i64> = seqs.iter().map(|&seq| crate::shared::big(seq)).collect();
        let kept = handle.block_on(txn.query("SELECT id FROM events WHERE id = ANY($1)", &[&ids]))?;
        let kept =
            kept.iter().map(|row| row.try_get(0).map(unsigned)).collect::<Result<BTreeSet<u64>, _>>()?;
        let mut deleted = 0;
        for seq in seqs.iter().filter(|seq| !kept.contains(seq)) {
            self.feed.delete(*seq).map_err(PgError::Store)?;
            deleted += 1;
        }
        if deleted > 0 {
            tracing::info!(
                deleted,
                "documents of events retention deleted out of id order removed from the index"
            );
        }
        Ok(deleted > 0)
    }

    /// Adds every visible row not yet indexed; returns the transactions read.
    fn read_new(
        &mut self,
        handle: &Handle,
        txn: &deadpool_postgres::Transaction<'_>,
        position: &Position,
        (database, snapshot_xmin): (i64, u64),
    ) -> PgResult<BTreeSet<u64>> {
        let statement = handle.block_on(txn.prepare_cached(
            // The text column has a name of its own: ORDER BY would take an
            // output column named `committed_xid` and sort it as text.
            "SELECT id, fingerprint, body, committed_xid::text AS xid_text FROM events \
             WHERE committed_xid >= $1::text::xid8 AND committed_xid <> ALL($2::text[]::xid8[]) \
               AND (committed_xid, id) > ($3::text::xid8, $4) \
             ORDER BY events.committed_xid, events.id LIMIT $5",
        ))?;
        let from = position.xmin.to_string();
        let seen: Vec<String> = position.seen.iter().map(u64::to_string).collect();
        let mut after = ("0".to_string(), i64::MIN);
        let mut read = BTreeSet::new();
        loop {
            let rows = handle.block_on(txn.query(&statement, &[&from, &seen, &after.0, &after.1, &PAGE]))?;
            for row in &rows {
                let id: i64 = row.try_get(0)?;
                let fingerprint: String = row.try_get(1)?;
                let text: String = row.try_get(3)?;
                let xid = parse_xid(Some(text.clone()))?;
                if !read.contains(&xid) {
                    self.commit_part(position, xid, snapshot_xmin, database)?;
                }
                read.insert(xid);
                match serde_json::from_value::<ErrorEvent>(row.try_get(2)?) {
                    Ok(mut event) => {
                        event.seq = unsigned(id);
                        self.feed.add(&event, &fingerprint).map_err(PgError::Store)?;
                    }
                    // One damaged row must not stop the index; it stays readable by id.
                    Err(e) => tracing::error!(id, error = %e, "skipping an unreadable event row"),
                }
                after = (text, id);
            }
            if rows.len() < PAGE as usize {
                return Ok(read);
            }
        }
    }

    /// While catching up on many rows (a rebuild), commits what is added so
    /// far before the first row of transaction `next`, so an interrupted
    /// rebuild resumes there and searches see it grow. Only where the
    /// position can say exactly what the index holds: every transaction
    /// below `next` has ended (`next <= xmin` of the snapshot) and all its
    /// rows are read (rows come in transaction order).
    fn commit_part(
        &mut self,
        start: &Position,
        next: u64,
        snapshot_xmin: u64,
        database: i64,
    ) -> PgResult<()> {
        if self.feed.pending() < COMMIT_EVERY || next > snapshot_xmin {
            return Ok(());
        }
        let mut position = start.clone();
        position.advance(next, []);
        let payload = Payload { database, position };
        self.feed.commit(&payload.encode()).map_err(PgError::Store)?;
        self.committed = Some(payload);
        Ok(())
    }
}

/// Gives rows whose transaction id lies in the future (restored with
/// `pg_dump` into another cluster, whose transaction ids start lower) the
/// id of this transaction: as if committed now, which is when they came
/// back. Without it an index would wait for the cluster's ids to pass
/// theirs, and take new transactions with the same id as seen. Returns how
/// many rows changed (none, but after a restore).
pub(crate) async fn repair_future_xids(client: &impl deadpool_postgres::GenericClient) -> PgResult<u64> {
    let changed = client
        .execute(
            "UPDATE events SET committed_xid = pg_current_xact_id() \
             WHERE committed_xid >= pg_snapshot_xmax(pg_current_snapshot())",
            &[],
        )
        .await?;
    if changed > 0 {
        tracing::warn!(
            rows = changed,
            "events with transaction ids from another cluster (a restore) renumbered"
        );
    }
    Ok(changed)
}

/// Gives the database its random id (what an index payload names),
/// unless a node already has.
pub(crate) async fn name_database(client: &impl deadpool_postgres::GenericClient) -> PgResult<()> {
    client
        .execute(
            "INSERT INTO store_state (name, value) \
             VALUES ('database_id', (random() * 9.0e18)::bigint) ON CONFLICT (name) DO NOTHING",
            &[],
        )
        .await?;
    Ok(())
}

fn parse_xid(text: Option<String>) -> PgResult<u64> {
    let text = text.ok_or_else(|| PgError::Corrupt("no transaction id".into()))?;
    text.parse().map_err(|_| PgError::Corrupt(format!("transaction id {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_forgets_transactions_below_xmin() {
        let mut position = Position { xmin: 10, seen: BTreeSet::from([11, 14]) };
        position.advance(13, [12, 15, 16]);
        assert_eq!(position, Position { xmin: 13, seen: BTreeSet::from([14, 15, 16]) });
        // A snapshot never moves the position back.
        position.advance(5, []);
        assert_eq!(position.xmin, 13);
    }

    #[test]
    fn payloads_round_trip_and_foreign_ones_are_refused() {
        let payload =
            Payload { database: -7, position: Position { xmin: 42, seen: BTreeSet::from([43, 50]) } };
        assert_eq!(Payload::decode(&payload.encode()), Some(payload));
        assert_eq!(Payload::decode("1234"), None, "the embedded engine's payload");
        assert_eq!(Payload::decode("{\"xmin\": 1}"), None);
    }
}
