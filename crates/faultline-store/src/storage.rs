//! `Storage`: the one handle the server holds. It owns the backend, the
//! committer thread (writes) and the indexer thread (search).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use faultline_model::{CheckResult, ErrorEvent, Group, GroupStatus, HealthBucket, HealthKey, UnixNanos};
use tokio::sync::oneshot;

use crate::backend::{Backend, Op, SledBackend};
use crate::committer::{last_id, Committed, Committer, EventBatch, Request};
use crate::groups::{self, GroupCursor, GroupFilter};
use crate::health::{self, HealthBatch, HealthFilter, HealthOptions};
use crate::index::{Indexer, SearchIndex, SearchPage, SearchRequest};
use crate::watermark::Watermark;
use crate::{checks, keys, records, Error, Result};

#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Exports waiting for the committer before new ones are refused.
    pub queue_depth: usize,
    /// Longest time between an event's commit and it being searchable.
    pub index_commit_interval: Duration,
    pub health: HealthOptions,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            queue_depth: 1024,
            index_commit_interval: Duration::from_millis(500),
            health: HealthOptions::default(),
        }
    }
}

/// How often old health buckets are rolled up and expired ones dropped.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

/// Figures for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct StorageStats {
    pub last_seq: u64,
    pub indexed_seq: u64,
    pub groups: u64,
    /// Health samples counted under route `other` (cardinality limit) since start.
    pub endpoints_overflowed: u64,
}

pub struct Storage {
    backend: Arc<dyn Backend>,
    requests: Mutex<Option<SyncSender<Request>>>,
    committer: Mutex<Option<JoinHandle<()>>>,
    indexer: Mutex<Option<JoinHandle<()>>>,
    index: Arc<SearchIndex>,
    committed: Arc<Watermark>,
    indexed: Arc<AtomicU64>,
    stop_indexer: Arc<AtomicBool>,
    stop_maintenance: Arc<AtomicBool>,
    maintenance: Mutex<Option<JoinHandle<()>>>,
    overflowed: Arc<AtomicU64>,
    /// Distinguishes delivery records written in the same nanosecond.
    deliveries_written: AtomicU64,
    dir: PathBuf,
}

/// Names the two start-up failures a user can fix themselves: a directory
/// another process holds, and one this user may not write.
fn data_dir_error(dir: &Path, e: std::io::Error) -> Error {
    // sled 0.34 reports a held lock as an `Other` error with this text.
    let lock_held =
        e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().starts_with("could not acquire lock");
    if lock_held {
        return Error::Locked(dir.to_path_buf());
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            Error::DataDirAccess { dir: dir.to_path_buf(), reason: e }
        }
        _ => Error::Io(e),
    }
}

impl Storage {
    /// Opens (or creates) storage under `dir`: the event store in
    /// `dir/store`, the index in `dir/index`.
    pub fn open(dir: &Path, options: StorageOptions) -> Result<Storage> {
        std::fs::create_dir_all(dir).map_err(|e| data_dir_error(dir, e))?;
        let backend: Arc<dyn Backend> =
            Arc::new(SledBackend::open(&dir.join("store")).map_err(|e| match e {
                Error::Backend(sled::Error::Io(io)) => data_dir_error(dir, io),
                other => other,
            })?);
        let committed = Arc::new(Watermark::default());
        let overflowed = Arc::new(AtomicU64::new(0));
        let committer =
            Committer::new(backend.clone(), committed.clone(), options.health.clone(), overflowed.clone())?;
        let (tx, rx) = sync_channel(options.queue_depth.max(1));
        let stop_maintenance = Arc::new(AtomicBool::new(false));
        let maintenance = spawn_maintenance(tx.clone(), stop_maintenance.clone())?;
        let committer_thread =
            std::thread::Builder::new().name("faultline-commit".into()).spawn(move || committer.run(rx))?;

        let (index, writer, indexed_seq) = SearchIndex::open(&dir.join("index"))?;
        let index = Arc::new(index);
        // An index ahead of the log (log restored from a backup) is rebuilt.
        let indexed_seq = if indexed_seq > committed.get() { 0 } else { indexed_seq };
        let indexed = Arc::new(AtomicU64::new(indexed_seq));
        let stop_indexer = Arc::new(AtomicBool::new(false));
        let indexer = Indexer {
            backend: backend.clone(),
            index: index.clone(),
            writer,
            committed: committed.clone(),
            indexed: indexed.clone(),
            stop: stop_indexer.clone(),
            interval: options.index_commit_interval,
        };
        let indexer_thread =
            std::thread::Builder::new().name("faultline-index".into()).spawn(move || indexer.run())?;
        tracing::info!(last_seq = committed.get(), indexed_seq, dir = %dir.display(), "storage open");
        Ok(Storage {
            backend,
            requests: Mutex::new(Some(tx)),
            committer: Mutex::new(Some(committer_thread)),
            indexer: Mutex::new(Some(indexer_thread)),
            index,
            committed,
            indexed,
            stop_indexer,
            stop_maintenance,
            maintenance: Mutex::new(Some(maintenance)),
            overflowed,
            deliveries_written: AtomicU64::new(0),
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues events for commit. Fails at once with [`Error::QueueFull`]
    /// when the committer is too far behind; otherwise the receiver answers
    /// once the events are durable.
    pub fn submit(
        &self,
        events: EventBatch,
        health: HealthBatch,
    ) -> Result<oneshot::Receiver<Result<Vec<Committed>>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Events { events, health, reply })?;
        Ok(answer)
    }

    /// Runs health maintenance as if the time were `now` (it also runs by
    /// itself every minute): rollup of old minutes, expiry of old hours.
    pub fn maintain(&self, now: UnixNanos) -> Result<oneshot::Receiver<Result<()>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Maintain { now, reply: Some(reply) })?;
        Ok(answer)
    }

    /// Stores one run of an active check; answers once it is durable.
    pub fn record_check_result(&self, result: &CheckResult) -> Result<oneshot::Receiver<Result<()>>> {
        let ops =
            vec![Op::Put(keys::check_result(&result.check_id, result.at), checks::encode_result(result))];
        self.write(ops)
    }

    /// A check's runs in `[from, to)`, oldest first.
    pub fn check_results(&self, check_id: &str, from: UnixNanos, to: UnixNanos) -> Result<Vec<CheckResult>> {
        checks::results(&*self.backend, check_id, from, to)
    }

    /// Saves a check created through the API (its definition as JSON).
    pub fn put_check_definition(&self, id: &str, json: &str) -> Result<oneshot::Receiver<Result<()>>> {
        self.write(vec![Op::Put(keys::check_definition(id), checks::encode_definition(id, json))])
    }

    /// Deletes a check created through the API, with its runs.
    pub fn delete_check(&self, id: &str) -> Result<oneshot::Receiver<Result<()>>> {
        let mut ops = vec![Op::Delete(keys::check_definition(id))];
        for entry in self.backend.scan(&keys::check_results_start(id), &keys::check_results_end(id), false) {
            ops.push(Op::Delete(entry?.0));
        }
        self.write(ops)
    }

    /// Every check created through the API: (id, definition JSON).
    pub fn check_definitions(&self) -> Result<Vec<(String, String)>> {
        let (start, end) = ([keys::CHECK_DEFINITION], [keys::CHECK_DEFINITION + 1]);
        self.backend.scan(&start, &end, false).map(|e| checks::decode_definition(&e?.1)).collect()
    }

    /// Records one alert delivery attempt (a self-describing JSON document).
    pub fn record_delivery(&self, at: UnixNanos, json: Vec<u8>) -> Result<oneshot::Receiver<Result<()>>> {
        let n = self.deliveries_written.fetch_add(1, Ordering::Relaxed);
        self.write(vec![Op::Put(keys::delivery(at, n), json)])
    }

    /// The latest `limit` delivery attempts, newest first.
    pub fn deliveries(&self, limit: usize) -> Result<Vec<Vec<u8>>> {
        let (start, end) = ([keys::DELIVERY], [keys::DELIVERY + 1]);
        self.backend.scan(&start, &end, true).take(limit).map(|e| Ok(e?.1)).collect()
    }

    /// Saves a component's state (an opaque, self-versioned document).
    pub fn put_state(&self, name: &str, bytes: Vec<u8>) -> Result<oneshot::Receiver<Result<()>>> {
        self.write(vec![Op::Put(keys::state(name), bytes)])
    }

    pub fn state(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.backend.get(&keys::state(name))
    }

    fn write(&self, ops: Vec<Op>) -> Result<oneshot::Receiver<Result<()>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Write { ops, reply })?;
        Ok(answer)
    }

    /// Health figures per endpoint over `[from, to)`, merged across time.
    pub fn health(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        filter: &HealthFilter,
    ) -> Result<BTreeMap<HealthKey, HealthBucket>> {
        let mut merged: BTreeMap<HealthKey, HealthBucket> = BTreeMap::new();
        for (_, key, bucket) in health::scan(&*self.backend, from, to, filter)? {
            merged.entry(key).or_default().merge(&bucket);
        }
        Ok(merged)
    }

    /// Health figures over `[from, to)` in steps of `step`, every endpoint
    /// the filter accepts merged together: one bucket per step, in order.
    pub fn health_series(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        filter: &HealthFilter,
    ) -> Result<Vec<(UnixNanos, HealthBucket)>> {
        let step = i64::try_from(step.as_nanos()).unwrap_or(i64::MAX).max(1);
        // Points sit on step boundaries (a 5m step gives :00, :05, ...), so
        // the first point is a whole bucket and series line up across requests.
        let from = from - from.rem_euclid(step);
        let steps = usize::try_from((to.saturating_sub(from)).max(0) / step + 1).unwrap_or(0);
        let mut series: Vec<(UnixNanos, HealthBucket)> =
            (0..steps).map(|i| (from + step * i as i64, HealthBucket::default())).collect();
        for (at, _, bucket) in health::scan(&*self.backend, from, to, filter)? {
            let index = usize::try_from((at.max(from) - from) / step).unwrap_or(0);
            if let Some((_, slot)) = series.get_mut(index) {
                slot.merge(&bucket);
            }
        }
        series.retain(|(at, _)| *at < to);
        Ok(series)
    }

    /// Changes a group's status (through the committer, so it is durable
    /// and ordered with incoming events).
    pub fn set_group_status(
        &self,
        id: u64,
        status: GroupStatus,
        now: UnixNanos,
    ) -> Result<oneshot::Receiver<Result<Group>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::SetStatus { id, status, now, reply })?;
        Ok(answer)
    }

    fn send(&self, request: Request) -> Result<()> {
        let guard = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let sender = guard.as_ref().ok_or(Error::ShuttingDown)?;
        sender.try_send(request).map_err(|e| match e {
            TrySendError::Full(_) => Error::QueueFull,
            TrySendError::Disconnected(_) => Error::ShuttingDown,
        })
    }

    /// One event, with `group_id` set to the group its fingerprint belongs
    /// to now (merge and unmerge move fingerprints between groups).
    pub fn event(&self, seq: u64) -> Result<Option<ErrorEvent>> {
        let Some(bytes) = self.backend.get(&keys::event(seq))? else { return Ok(None) };
        let (mut event, fingerprint) = records::decode_event(&bytes)?;
        if let Some(group_id) = self.fingerprint_group(&fingerprint)? {
            event.group_id = group_id;
        }
        Ok(Some(event))
    }

    fn fingerprint_group(&self, fingerprint: &str) -> Result<Option<u64>> {
        if fingerprint.is_empty() {
            return Ok(None);
        }
        let record = self.backend.get(&keys::fingerprint(fingerprint))?;
        Ok(record.map(|b| records::decode_fingerprint(&b)).transpose()?.map(|r| r.group_id))
    }

    /// Merges `sources` into `target`; answers with the merged group.
    pub fn merge(&self, target: u64, sources: Vec<u64>) -> Result<oneshot::Receiver<Result<Group>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Merge { target, sources, reply })?;
        Ok(answer)
    }

    /// Splits fingerprints off a group into a new one; answers with
    /// (the group, the new group).
    pub fn unmerge(
        &self,
        id: u64,
        fingerprints: Vec<String>,
    ) -> Result<oneshot::Receiver<Result<(Group, Group)>>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Unmerge { id, fingerprints, reply })?;
        Ok(answer)
    }

    pub fn group(&self, id: u64) -> Result<Option<Group>> {
        self.backend.get(&keys::group(id))?.map(|b| records::decode_group(&b)).transpose()
    }

    /// Groups matching the filter, one page, and the next page's cursor.
    pub fn groups(&self, filter: &GroupFilter) -> Result<(Vec<Group>, Option<GroupCursor>)> {
        let mut matching = Vec::new();
        for entry in self.backend.scan(&[keys::GROUP], &[keys::GROUP + 1], false) {
            let group = records::decode_group(&entry?.1)?;
            if filter.matches(&group) {
                matching.push(group);
            }
        }
        Ok(groups::page(matching, filter))
    }

    /// A group's events, newest first, starting below `before_seq`.
    pub fn group_events(
        &self,
        id: u64,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ErrorEvent>, Option<u64>)> {
        let from = keys::group_event(id, 0);
        let to = match before_seq {
            Some(seq) => keys::group_event(id, seq),
            None => keys::group_event_end(id),
        };
        let mut events = Vec::new();
        for entry in self.backend.scan(&from, &to, true).take(limit + 1) {
            let seq =
                keys::u64_at(&entry?.0, 9).ok_or_else(|| Error::Corrupt("short group-event key".into()))?;
            if let Some(event) = self.event(seq)? {
                events.push(event);
            }
        }
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok((events, next))
    }

    /// Searches events; hits come back as full events from the log.
    pub fn search(&self, request: &SearchRequest) -> Result<(SearchPage, Vec<ErrorEvent>)> {
        let page = self.index.search(request)?;
        let mut events = Vec::with_capacity(page.hits.len());
        for hit in &page.hits {
            if let Some(event) = self.event(hit.seq)? {
                events.push(event);
            }
        }
        Ok((page, events))
    }

    /// Checks a query without running it, for a clear 400 before any work.
    pub fn validate_query(&self, query: &str) -> Result<()> {
        self.index.parse(query).map(|_| ())
    }

    /// Groups with at least one event matching the query.
    pub fn groups_matching(&self, query: &str, max: usize) -> Result<HashSet<u64>> {
        let mut ids = HashSet::new();
        for fingerprint in self.index.fingerprints(query, max)? {
            ids.extend(self.fingerprint_group(&fingerprint)?);
        }
        Ok(ids)
    }

    /// Events with a timestamp in `[from, to)`: the total, and the count
    /// per group (groups as fingerprints map to them now, so merged groups
    /// count under their target) for the `max_fingerprints` busiest
    /// fingerprints. Read from the index: events committed in the last
    /// index interval may not be counted yet.
    pub fn group_event_counts(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        max_fingerprints: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)> {
        let (total, counts) = self.index.fingerprint_counts(from, to, max_fingerprints)?;
        let mut by_group = BTreeMap::new();
        for (fingerprint, count) in counts {
            if let Some(group_id) = self.fingerprint_group(&fingerprint)? {
                *by_group.entry(group_id).or_insert(0) += count;
            }
        }
        Ok((total, by_group))
    }

    pub fn stats(&self) -> Result<StorageStats> {
        Ok(StorageStats {
            last_seq: self.committed.get(),
            indexed_seq: self.indexed.load(Ordering::SeqCst),
            groups: last_id(&*self.backend, keys::GROUP)?.unwrap_or(0),
            endpoints_overflowed: self.overflowed.load(Ordering::Relaxed),
        })
    }

    /// Waits (bounded) until everything committed so far is searchable.
    pub fn wait_indexed(&self, timeout: Duration) -> bool {
        let target = self.committed.get();
        let deadline = std::time::Instant::now() + timeout;
        while self.indexed.load(Ordering::SeqCst) < target {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Stops accepting writes, finishes queued commits, indexes everything
    /// committed and flushes. Safe to call more than once.
    pub fn shutdown(&self) -> Result<()> {
        self.stop_maintenance.store(true, Ordering::SeqCst);
        if let Some(handle) = self.maintenance.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        drop(self.requests.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(handle) = self.committer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        self.stop_indexer.store(true, Ordering::SeqCst);
        self.committed.wake();
        if let Some(handle) = self.indexer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        self.backend.flush()
    }
}

/// Asks the committer for health maintenance now and then, until stopped.
fn spawn_maintenance(requests: SyncSender<Request>, stop: Arc<AtomicBool>) -> Result<JoinHandle<()>> {
    let thread = std::thread::Builder::new().name("faultline-maintain".into()).spawn(move || {
        let mut waited = MAINTENANCE_INTERVAL;
        while !stop.load(Ordering::SeqCst) {
            if waited >= MAINTENANCE_INTERVAL {
                waited = Duration::ZERO;
                // A full queue just means a busy moment; try again next time.
                let _ =
                    requests.try_send(Request::Maintain { now: faultline_model::now_nanos(), reply: None });
            }
            std::thread::sleep(Duration::from_millis(200));
            waited += Duration::from_millis(200);
        }
    })?;
    Ok(thread)
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "storage shutdown failed");
        }
    }
}
