//! EventStore and GroupStore: exports go to the writers (`writer.rs`),
//! reads and group actions run on the engine's runtime.

use std::sync::Arc;
use std::time::Duration;

use faultline_model::{now_nanos, ErrorEvent, Group, GroupStatus, StatusChange, UnixNanos};
use faultline_store::api::{Ack, EventNeighbors, EventStore, GroupStore};
use faultline_store::{Committed, EventBatch, GroupCursor, GroupFilter, HealthBatch, Result};
use tokio_postgres::Row;

use crate::error::PgResult;
use crate::shared::{big, unsigned};
use crate::PgStore;

/// An event row (`body`, the group its fingerprint names now) as the API serves it.
pub(crate) fn decode(row: &Row) -> PgResult<ErrorEvent> {
    let mut event: ErrorEvent = serde_json::from_value(row.try_get(0)?)?;
    if let Some(group_id) = row.try_get::<_, Option<i64>>(1)? {
        event.group_id = unsigned(group_id);
    }
    Ok(event)
}

impl EventStore for PgStore {
    fn submit(&self, events: EventBatch, health: HealthBatch) -> Result<Ack<Vec<Committed>>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let ticket = self.shared.queued();
        let sent = self.with_sender(|sender| {
            sender
                .try_send(crate::writer::Export { events, health, reply, ticket })
                .map_err(crate::PgError::from)
        });
        if sent.is_err() {
            self.shared.taken(ticket);
        }
        sent?;
        Ok(answer)
    }

    fn queue_full(&self) -> bool {
        self.with_sender(|sender| Ok(sender.capacity() == 0)).unwrap_or(true)
    }

    fn oldest_queued_wait(&self) -> Duration {
        self.shared.oldest_wait()
    }

    fn event(&self, seq: u64) -> Result<Option<ErrorEvent>> {
        self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "SELECT e.body, f.group_id FROM events e LEFT JOIN fingerprints f ON f.fingerprint = e.fingerprint \
                     WHERE e.id = $1",
                )
                .await?;
            client.query_opt(&statement, &[&big(seq)]).await?.map(|row| decode(&row)).transpose()
        })
    }

    fn group_events(
        &self,
        id: u64,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ErrorEvent>, Option<u64>)> {
        self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "SELECT e.body, f.group_id FROM events e JOIN fingerprints f ON f.fingerprint = e.fingerprint \
                     WHERE f.group_id = $1 AND e.id < $2 ORDER BY e.id DESC LIMIT $3",
                )
                .await?;
            let before = before_seq.map_or(i64::MAX, big);
            let rows = client.query(&statement, &[&big(id), &before, &big(limit as u64 + 1)]).await?;
            let mut events = rows.iter().map(decode).collect::<PgResult<Vec<_>>>()?;
            let next = if events.len() > limit {
                events.truncate(limit);
                events.last().map(|e| e.seq)
            } else {
                None
            };
            Ok((events, next))
        })
    }

    fn group_event_neighbors(&self, id: u64, seq: u64) -> Result<EventNeighbors> {
        self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "WITH own AS (SELECT e.id FROM events e JOIN fingerprints f ON f.fingerprint = e.fingerprint \
                                  WHERE f.group_id = $1) \
                     SELECT (SELECT max(id) FROM own), (SELECT min(id) FROM own WHERE id > $2), \
                            (SELECT max(id) FROM own WHERE id < $2), (SELECT min(id) FROM own)",
                )
                .await?;
            let row = client.query_one(&statement, &[&big(id), &big(seq)]).await?;
            let at = |i: usize| -> PgResult<Option<u64>> { Ok(row.try_get::<_, Option<i64>>(i)?.map(unsigned)) };
            let other = |found: Option<u64>| found.filter(|s| *s != seq);
            Ok(EventNeighbors { newest: other(at(0)?), newer: at(1)?, older: at(2)?, oldest: other(at(3)?) })
        })
    }
}

impl GroupStore for PgStore {
    fn group(&self, id: u64) -> Result<Option<Group>> {
        self.read(move |client| async move { crate::groups::group(&client, id).await })
    }

    fn groups(&self, filter: &GroupFilter) -> Result<(Vec<Group>, Option<GroupCursor>)> {
        let filter = filter.clone();
        self.read(move |client| async move { crate::groups::list(&client, &filter).await })
    }

    /// A group resolved or ignored queues "group resolved" for the alert
    /// leader in the same transaction.
    fn change_group_status(&self, id: u64, change: StatusChange, now: UnixNanos) -> Result<Ack<Group>> {
        self.transact(move |txn| {
            Box::pin(async move {
                let group = crate::groups::change_status(txn, id, change, now).await?;
                if group.status != GroupStatus::Unresolved {
                    crate::cluster::queue_resolved(txn, &[group.id], now).await?;
                }
                Ok(group)
            })
        })
    }

    /// The groups merged away queue "group resolved" in the same transaction.
    fn merge(&self, target: u64, sources: Vec<u64>) -> Result<Ack<Group>> {
        let sources = Arc::new(sources);
        self.transact(move |txn| {
            let sources = sources.clone();
            Box::pin(async move {
                let merged = crate::groups::merge(txn, target, &sources).await?;
                let mut resolved = sources.to_vec();
                resolved.sort_unstable();
                resolved.dedup();
                crate::cluster::queue_resolved(txn, &resolved, now_nanos()).await?;
                Ok(merged)
            })
        })
    }

    fn unmerge(&self, id: u64, fingerprints: Vec<String>) -> Result<Ack<(Group, Group)>> {
        let fingerprints = Arc::new(fingerprints);
        self.transact(move |txn| {
            let fingerprints = fingerprints.clone();
            Box::pin(async move { crate::groups::unmerge(txn, id, &fingerprints).await })
        })
    }
}
