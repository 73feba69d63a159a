//! The domain traits storage is used through, one per concern. Every
//! engine (the embedded sled + tantivy one today, PostgreSQL later)
//! implements all of them; [`Store`] names the whole set so the server can
//! hold one `Storage` handle (or an `Arc<dyn Store>`).
//!
//! Writes go through the engine's commit path and answer through a
//! oneshot receiver ([`Ack`]) once they are durable, so async callers
//! await the answer and blocking callers use `blocking_recv`. Reads are
//! blocking calls; async callers run them on a blocking thread.
//!
//! The traits are object safe and `Send + Sync`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use faultline_model::{
    AccessToken, CheckResult, ErrorEvent, Group, GroupStatus, HealthBucket, HealthKey, StatusChange,
    UnixNanos,
};
use tokio::sync::oneshot;

use crate::{
    Committed, Error, EventBatch, Facet, GroupActivity, GroupCursor, GroupFilter, HealthBatch, HealthFilter,
    Result, SearchPage, SearchRequest, StorageStats,
};

/// The answer to a write, sent once it is durable (or failed).
pub type Ack<T> = oneshot::Receiver<Result<T>>;

/// The event log: exports in, events out.
pub trait EventStore: Send + Sync {
    /// Queues an export (its events with their groupings, and its health
    /// figures, committed together). Fails at once with
    /// [`Error::QueueFull`](crate::Error::QueueFull) when the engine is too
    /// far behind; otherwise the receiver answers once the export is durable.
    /// Encoding the events (CPU, and reads of the store) happens on the
    /// caller's thread: call it from a blocking context, not an async task.
    fn submit(&self, events: EventBatch, health: HealthBatch) -> Result<Ack<Vec<Committed>>>;

    /// Whether `submit` would fail with `QueueFull` now, without
    /// submitting: the server asks before it decodes an export, so a busy
    /// engine costs a refused client no CPU. Cheap (an atomic load).
    fn queue_full(&self) -> bool;

    /// How long the oldest write waiting for the engine has waited (zero
    /// when none waits): the server refuses new exports past a bound, so
    /// latency stays bounded when clients offer more than it can commit.
    fn oldest_queued_wait(&self) -> Duration;

    /// One event, with `group_id` set to the group its fingerprint belongs
    /// to now (merge and unmerge move fingerprints between groups).
    fn event(&self, seq: u64) -> Result<Option<ErrorEvent>>;

    /// A group's events, newest first, starting below `before_seq`; and the
    /// cursor of the next page.
    fn group_events(
        &self,
        id: u64,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ErrorEvent>, Option<u64>)>;

    /// Where event `seq` sits among its group's events, for a pager: the
    /// sequence numbers of the newest, the next newer, the next older and
    /// the oldest event of group `id` (each `None` when it is `seq` itself
    /// or there is none).
    fn group_event_neighbors(&self, id: u64, seq: u64) -> Result<EventNeighbors>;
}

/// A pager's view of one event among its group's events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventNeighbors {
    pub newest: Option<u64>,
    pub newer: Option<u64>,
    pub older: Option<u64>,
    pub oldest: Option<u64>,
}

/// Groups: reading, listing and the user's actions on them. Actions are
/// ordered with incoming events (they go through the same commit path).
pub trait GroupStore: Send + Sync {
    fn group(&self, id: u64) -> Result<Option<Group>>;

    /// Groups matching the filter, one page, and the next page's cursor.
    fn groups(&self, filter: &GroupFilter) -> Result<(Vec<Group>, Option<GroupCursor>)>;

    /// Changes a group's status with its conditions (resolve in the next
    /// release, ignore for a while or a number of events); refuses
    /// conditions that do not fit the status.
    fn change_group_status(&self, id: u64, change: StatusChange, now: UnixNanos) -> Result<Ack<Group>>;

    /// A plain status change, without conditions.
    fn set_group_status(&self, id: u64, status: GroupStatus, now: UnixNanos) -> Result<Ack<Group>> {
        self.change_group_status(id, StatusChange::from(status), now)
    }

    /// Merges `sources` into `target`; answers with the merged group.
    fn merge(&self, target: u64, sources: Vec<u64>) -> Result<Ack<Group>>;

    /// Splits fingerprints off a group into a new one; answers with
    /// (the group, the new group).
    fn unmerge(&self, id: u64, fingerprints: Vec<String>) -> Result<Ack<(Group, Group)>>;
}

/// Per-endpoint request figures. They are written with the export they
/// came in ([`EventStore::submit`]); this reads them and keeps them tidy.
pub trait HealthStore: Send + Sync {
    /// Health figures per endpoint over `[from, to)`, merged across time.
    fn health(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        filter: &HealthFilter,
    ) -> Result<BTreeMap<HealthKey, HealthBucket>>;

    /// Health figures over `[from, to)` in steps of `step`, every endpoint
    /// the filter accepts merged together: one bucket per step, in order,
    /// each point on a step boundary.
    fn health_series(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        filter: &HealthFilter,
    ) -> Result<Vec<(UnixNanos, HealthBucket)>>;

    /// Runs maintenance as if the time were `now` (engines also run it by
    /// themselves): rollup of old minutes, expiry of what is past the
    /// retention (health, check runs, deliveries).
    fn maintain(&self, now: UnixNanos) -> Result<Ack<()>>;
}

/// Active checks: their runs and the checks created through the API.
pub trait CheckStore: Send + Sync {
    /// Stores one run of a check; answers once it is durable.
    fn record_check_result(&self, result: &CheckResult) -> Result<Ack<()>>;

    /// A check's runs in `[from, to)`, oldest first.
    fn check_results(&self, check_id: &str, from: UnixNanos, to: UnixNanos) -> Result<Vec<CheckResult>>;

    /// Saves a check created through the API (its definition as JSON).
    fn put_check_definition(&self, id: &str, json: &str) -> Result<Ack<()>>;

    /// Deletes a check created through the API, with its runs.
    fn delete_check(&self, id: &str) -> Result<Ack<()>>;

    /// Every check created through the API: (id, definition JSON).
    fn check_definitions(&self) -> Result<Vec<(String, String)>>;
}

/// Attempts of [`AlertStore::update_states`] before it gives up (each
/// failed one means another writer saved in between).
const UPDATE_ATTEMPTS: usize = 64;

/// What [`AlertStore::update_states`] runs: the stored documents in, their
/// new bytes (or `None`: save nothing) out.
pub type StateChange<'a> = dyn FnMut(&[Option<Vec<u8>>]) -> Option<Vec<Vec<u8>>> + 'a;

/// One document of [`AlertStore::swap_states`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSwap {
    pub name: String,
    /// What the document must hold for the swap to happen (`None`: absent).
    pub expected: Option<Vec<u8>>,
    pub new: Vec<u8>,
}

/// What alerting keeps: components' saved state and the delivery history.
pub trait AlertStore: Send + Sync {
    /// Saves a component's state (an opaque, self-versioned document).
    fn put_state(&self, name: &str, bytes: Vec<u8>) -> Result<Ack<()>>;

    fn state(&self, name: &str) -> Result<Option<Vec<u8>>>;

    /// Saves every swap's `new` bytes, all or none, and only if each named
    /// document still holds its `expected` bytes (`None`: absent); answers
    /// whether it saved. Blocking: answers once the save is durable. With
    /// [`AlertStore::update_states`] it makes read-modify-writes of a
    /// document safe against other writers, on this node or another.
    fn swap_states(&self, swaps: &[StateSwap]) -> Result<bool>;

    /// Read-modify-write of documents saved whole (the rules and channels
    /// created through the API, the shared silences): `change` gets the
    /// documents as stored now, in `names`' order, and answers their new
    /// bytes (same order), or `None` to save nothing. When another writer
    /// changed one of them in between, it runs again on the newer bytes,
    /// so of two changes at the same moment neither is lost. Answers
    /// whether it saved. Blocking.
    fn update_states(&self, names: &[&str], change: &mut StateChange<'_>) -> Result<bool> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = names.iter().map(|name| self.state(name)).collect::<Result<Vec<_>>>()?;
            let Some(new) = change(&current) else { return Ok(false) };
            if new.len() != names.len() {
                return Err(Error::Invalid(format!(
                    "{} documents for {} names in a state update",
                    new.len(),
                    names.len()
                )));
            }
            let swaps: Vec<StateSwap> = names
                .iter()
                .zip(current)
                .zip(new)
                .map(|((name, expected), new)| StateSwap { name: name.to_string(), expected, new })
                .collect();
            if self.swap_states(&swaps)? {
                return Ok(true);
            }
        }
        Err(Error::CommitFailed(format!(
            "{names:?} kept changing under {UPDATE_ATTEMPTS} attempts to update them"
        )))
    }

    /// Records one delivery attempt (a self-describing JSON document).
    fn record_delivery(&self, at: UnixNanos, json: Vec<u8>) -> Result<Ack<()>>;

    /// The latest `limit` delivery attempts, newest first.
    fn deliveries(&self, limit: usize) -> Result<Vec<Vec<u8>>>;
}

/// Search over events. It may lag the event log a little (the embedded
/// engine indexes in the background); [`SearchStore::wait_indexed`] waits
/// for it to catch up.
pub trait SearchStore: Send + Sync {
    /// One page of hits for a query, and the hits as full events.
    fn search(&self, request: &SearchRequest) -> Result<(SearchPage, Vec<ErrorEvent>)>;

    /// Checks a query without running it, for a clear 400 before any work.
    fn validate_query(&self, query: &str) -> Result<()>;

    /// Groups with at least one event matching the query (from at most `max` fingerprints).
    fn groups_matching(&self, query: &str, max: usize) -> Result<HashSet<u64>>;

    /// Events with a timestamp in `[from, to)`: the total, and the count
    /// per group (as fingerprints map to groups now) for the
    /// `max_fingerprints` busiest fingerprints.
    fn group_event_counts(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        max_fingerprints: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)>;

    /// Events matching `query` with a timestamp in `[from, to)`, counted
    /// per step: one point per step, each on a multiple of `step`, zeros included.
    fn event_histogram(
        &self,
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>>;

    /// The `limit` most frequent values of one tag (`release`,
    /// `environment`, `host`, `route`, `method`, `status`, `sdk`, `user`,
    /// `level`, `source`, `service`, or an attribute name) among the
    /// events matching `query` in `[from, to)`.
    fn facet(&self, query: &str, from: UnixNanos, to: UnixNanos, field: &str, limit: usize) -> Result<Facet>;

    /// For each of `group_ids`: its events matching `query` in `[from,
    /// to)`: count, distinct users, counts per step (as
    /// [`SearchStore::event_histogram`] steps them) and the most frequent
    /// value of each of `tags` (names [`SearchStore::facet`] takes).
    /// Groups without such events are left out.
    fn group_activity(
        &self,
        group_ids: &[u64],
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        tags: &[&str],
    ) -> Result<BTreeMap<u64, GroupActivity>>;

    /// Waits (bounded) until everything committed so far is searchable.
    fn wait_indexed(&self, timeout: Duration) -> bool;
}

/// Access tokens (secrets kept only as hashes). Callers keep their own
/// lookup map and reload it after a change: tokens are few and change
/// rarely, and a request must not wait on a store read.
pub trait TokenStore: Send + Sync {
    /// Saves a token (a new one, or a changed one with the same id).
    fn put_token(&self, token: &AccessToken) -> Result<Ack<()>>;

    /// Deletes a token; deleting one that does not exist is no error.
    fn delete_token(&self, id: &str) -> Result<Ack<()>>;

    /// Every stored token, in id order.
    fn tokens(&self) -> Result<Vec<AccessToken>>;
}

/// The engine as a whole: figures and an orderly stop.
pub trait StoreAdmin: Send + Sync {
    fn stats(&self) -> Result<StorageStats>;

    /// Why storage cannot be written right now (the last commit failed,
    /// say for a full disk), or `None` once a commit succeeds again.
    fn write_failure(&self) -> Option<String>;

    /// Runs one retention pass now (it also runs in the background):
    /// deletes expired events, traces and groups, a bounded amount, and
    /// the oldest events too when `over_quota`.
    fn retain(&self, now: UnixNanos, over_quota: bool) -> Result<Ack<crate::RetentionPass>>;

    /// Copies the store into `to` (an absolute path: a new or empty
    /// directory outside the data directory) as a data directory of its
    /// own, while the engine runs: writes wait during the copy, so it
    /// holds whole commits, every one acknowledged before it started. The
    /// index is rebuilt from the copy's event log when it is first opened.
    fn backup(&self, to: &std::path::Path) -> Result<crate::BackupReport>;

    /// Stops accepting writes, finishes queued commits and makes
    /// everything durable. Safe to call more than once.
    fn shutdown(&self) -> Result<()>;
}

/// Every concern at once: what an engine implements and the server holds.
pub trait Store:
    EventStore
    + GroupStore
    + HealthStore
    + CheckStore
    + AlertStore
    + SearchStore
    + TokenStore
    + StoreAdmin
    + crate::cluster::ClusterStore
{
}

impl<T> Store for T where
    T: EventStore
        + GroupStore
        + HealthStore
        + CheckStore
        + AlertStore
        + SearchStore
        + TokenStore
        + StoreAdmin
        + crate::cluster::ClusterStore
{
}
