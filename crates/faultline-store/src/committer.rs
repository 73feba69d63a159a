//! The single writer. Every change to events and groups goes through one
//! thread that batches whatever requests are waiting into one atomic write
//! followed by one flush (group commit), then answers them all. One writer
//! also means group read-modify-writes never race.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use faultline_model::{ErrorEvent, Group, Grouping, StatusChange, UnixNanos};
use tokio::sync::oneshot;

use crate::backend::{Backend, Op};
use crate::event_codec::{Bounded, EncodedEvent, EventCodec, PreparedEvent};
use crate::group_ops::{self, new_group, record_occurrence};
use crate::health::{self, Endpoints, HealthBatch, HealthOptions};
use crate::health_buffer::{self, HealthBuffer};
use crate::new_group_cap::{overflow_grouping, NewGroupCap};
use crate::queue::QueueGauge;
use crate::records::Envelope;
use crate::retention::{self, RetentionOptions, RetentionPass};
use crate::txn::Txn;
use crate::watermark::Watermark;
use crate::{keys, records, Error, Result};

/// Events of one export, each with the grouping decided for it.
pub type EventBatch = Vec<(ErrorEvent, Grouping)>;

/// What committing one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub group_id: u64,
    /// The event created its group.
    pub new_group: bool,
    /// The event reopened a resolved group.
    pub regression: bool,
    /// The event's group is its service's overflow group: its fingerprint
    /// came past the cap on new groups.
    pub collapsed: bool,
}

type Reply<T> = oneshot::Sender<Result<T>>;

pub(crate) enum Request {
    /// An export: its error events (encoded by the sender,
    /// `EventCodec::prepare`) and its health figures, committed together.
    Events {
        events: Vec<PreparedEvent>,
        health: HealthBatch,
        reply: Reply<Vec<Committed>>,
    },
    /// Plain writes that read nothing first (check runs and definitions).
    Write {
        ops: Vec<Op>,
        reply: Reply<()>,
    },
    /// Write buffered health figures into their buckets, roll old minute
    /// buckets up into hours and drop expired ones.
    Maintain {
        now: UnixNanos,
        reply: Option<Reply<()>>,
    },
    SetStatus {
        id: u64,
        change: StatusChange,
        now: UnixNanos,
        reply: Reply<Group>,
    },
    Merge {
        target: u64,
        sources: Vec<u64>,
        reply: Reply<Group>,
    },
    Unmerge {
        id: u64,
        fingerprints: Vec<String>,
        reply: Reply<(Group, Group)>,
    },
    /// Delete expired events, traces and groups, a bounded amount
    /// (`retention.rs`); `over_quota` deletes the oldest events too.
    Retain {
        now: UnixNanos,
        over_quota: bool,
        reply: Reply<RetentionPass>,
    },
}

/// Health log bytes written between two folds of the buffer at most (one
/// more commit's worth), whatever the minute's pass would do.
const FOLD_AFTER_LOGGED_BYTES: usize = 1 << 20;

/// The most requests folded into one write; bounds the batch's memory.
const MAX_REQUESTS_PER_COMMIT: usize = 256;

pub(crate) struct Committer {
    backend: Arc<dyn Backend>,
    next_seq: u64,
    next_group_id: u64,
    committed: Arc<Watermark>,
    health: HealthOptions,
    endpoints: Endpoints,
    /// Health samples counted as route `other`, shared with `Storage::stats`.
    overflowed: Arc<AtomicU64>,
    /// Told of every request taken off the channel, so senders can see a
    /// full or slow queue without sending.
    queue: Arc<QueueGauge>,
    /// Health increments logged but not yet in their buckets, shared with readers.
    health_buffer: Arc<HealthBuffer>,
    next_health_log: u64,
    /// Bytes of health log records written since the buffer was last folded.
    logged_since_fold: usize,
    /// `FOLD_AFTER_LOGGED_BYTES`, smaller in tests.
    fold_after_logged_bytes: usize,
    /// Encodes and decodes event records; shared with the senders.
    codec: Arc<EventCodec>,
    /// Shared keys (stack traces, dictionaries) written or seen stored, so
    /// each is written once; forgotten when a commit fails.
    shared_written: Bounded<Vec<u8>, ()>,
    /// New groups per service this hour, against the cap.
    new_groups: NewGroupCap,
    retention: RetentionOptions,
    /// Traces retention deleted in the batch being built: an event of the
    /// same batch naming one writes it again.
    swept_in_batch: std::collections::HashSet<Vec<u8>>,
    /// Sequence number below which retention deleted every event, written
    /// after the commit; the indexer deletes those documents.
    deleted_below: Arc<Watermark>,
    /// Events retention deleted in committed passes, by age and by quota.
    deleted_counts: Arc<retention::DeletedCounts>,
    /// Why the last commit failed, until one succeeds (`/readyz`).
    write_failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl Committer {
    pub fn new(
        backend: Arc<dyn Backend>,
        committed: Arc<Watermark>,
        health: HealthOptions,
        overflowed: Arc<AtomicU64>,
    ) -> Result<Committer> {
        let endpoints = Endpoints::load(&*backend)?;
        let (health_buffer, next_health_log) = HealthBuffer::replay(&*backend)?;
        let mut c = Committer {
            backend: backend.clone(),
            next_seq: 1,
            next_group_id: 1,
            committed,
            health,
            endpoints,
            overflowed,
            queue: Arc::default(),
            health_buffer: Arc::new(health_buffer),
            next_health_log,
            logged_since_fold: 0,
            fold_after_logged_bytes: FOLD_AFTER_LOGGED_BYTES,
            codec: Arc::new(EventCodec::new(backend.clone())),
            shared_written: Bounded::default(),
            new_groups: NewGroupCap::default(),
            retention: RetentionOptions::default(),
            swept_in_batch: Default::default(),
            deleted_below: Arc::default(),
            deleted_counts: Arc::default(),
            write_failure: Arc::default(),
        };
        c.reload_counters()?;
        Ok(c)
    }

    /// Reads the next sequence number and group id from what is stored, so
    /// numbering survives restarts and failed writes.
    /// Retention's state record keeps the counters when the keys holding
    /// the highest numbers were deleted.
    fn reload_counters(&mut self) -> Result<()> {
        let kept = retention::load_state(&*self.backend)?;
        self.next_seq = last_id(&*self.backend, keys::EVENT)?.map_or(1, |s| s + 1).max(kept.next_seq);
        self.next_group_id =
            last_id(&*self.backend, keys::GROUP)?.map_or(1, |g| g + 1).max(kept.next_group_id);
        self.deleted_below.set(kept.deleted_below);
        self.endpoints = Endpoints::load(&*self.backend)?;
        self.committed.set(self.next_seq - 1);
        Ok(())
    }

    /// Caps new groups per service per hour (`None`: no cap).
    pub fn with_new_group_cap(mut self, max_per_hour: Option<u64>) -> Committer {
        self.new_groups = NewGroupCap::new(max_per_hour);
        self
    }

    /// Reports taken requests to `queue` (the one the senders count on).
    pub fn with_queue(mut self, queue: Arc<QueueGauge>) -> Committer {
        self.queue = queue;
        self
    }

    /// Sets how long events and groups are kept.
    pub fn with_retention(mut self, retention: RetentionOptions) -> Committer {
        self.retention = retention;
        self
    }

    /// Below which sequence number retention deleted every event.
    pub fn deleted_below(&self) -> Arc<Watermark> {
        self.deleted_below.clone()
    }

    /// How many events committed retention passes deleted, and why.
    pub fn deleted_counts(&self) -> Arc<retention::DeletedCounts> {
        self.deleted_counts.clone()
    }

    /// Why the last commit failed, `None` once one succeeds.
    pub fn write_failure(&self) -> Arc<std::sync::Mutex<Option<String>>> {
        self.write_failure.clone()
    }

    #[cfg(test)]
    pub fn fold_after_logged_bytes(mut self, bytes: usize) -> Committer {
        self.fold_after_logged_bytes = bytes;
        self
    }

    /// The health increments this committer buffers, for readers.
    pub fn health_buffer(&self) -> Arc<HealthBuffer> {
        self.health_buffer.clone()
    }

    /// The codec senders encode events with before submitting them.
    pub fn codec(&self) -> Arc<EventCodec> {
        self.codec.clone()
    }

    /// Serves requests until every sender is gone.
    pub fn run(mut self, requests: Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            self.queue.taken();
            let mut batch = vec![first];
            while batch.len() < MAX_REQUESTS_PER_COMMIT {
                match requests.try_recv() {
                    Ok(r) => {
                        self.queue.taken();
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
        tracing::debug!("committer stopped");
    }

    fn commit(&mut self, batch: Vec<Request>) {
        if let Err(e) = self.recover() {
            self.note_write(&Err(e.clone()));
            batch.into_iter().for_each(|request| Answer::refused(request).fail(&e));
            return;
        }
        let backend = self.backend.clone();
        // Groups of a batch that fails are not made: their count goes back.
        let new_groups_before = self.new_groups.clone();
        let mut txn = Txn::new(&*backend);
        let answers: Vec<Answer> = batch.into_iter().map(|request| self.apply(&mut txn, request)).collect();
        // Events fail only when storage itself does; then the batch is unsafe to write.
        let broken = answers
            .iter()
            .find_map(Answer::storage_failure)
            .or_else(|| self.fold_if_due(&mut txn).err().map(|e| e.to_string()));
        let written = match broken {
            Some(e) => Err(e),
            None => self.write(txn),
        };
        self.swept_in_batch.clear();
        self.note_write(&written);
        match written {
            Ok(()) => {
                self.committed.set(self.next_seq - 1);
                if let Some(below) = answers.iter().find_map(Answer::deleted_below) {
                    self.deleted_below.set(below);
                }
                answers.iter().filter_map(Answer::retention_pass).for_each(|p| self.deleted_counts.add(p));
                self.overflowed.store(self.endpoints.overflowed, Ordering::Relaxed);
                answers.into_iter().for_each(Answer::send);
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; nothing in this batch was acknowledged");
                // Now rather than at the next commit, so reads work meanwhile.
                if let Err(e) = self.backend.recover() {
                    tracing::warn!(error = %e, "storage still cannot write");
                }
                self.shared_written.clear();
                self.new_groups = new_groups_before;
                if let Err(e) = self.reload_counters() {
                    tracing::error!(error = %e, "could not re-read counters after a failed commit");
                }
                answers.into_iter().for_each(|a| a.fail(&e));
            }
        }
    }

    /// After a failed commit, makes the store writable again before the
    /// next one (and re-reads the counters from what it holds then).
    fn recover(&mut self) -> std::result::Result<(), String> {
        if self.write_failure.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            return Ok(());
        }
        self.backend.recover().map_err(|e| e.to_string())?;
        self.shared_written.clear();
        self.reload_counters().map_err(|e| e.to_string())
    }

    /// Remembers why writing failed, for readiness, until a write succeeds.
    fn note_write(&self, written: &std::result::Result<(), String>) {
        let mut failure = self.write_failure.lock().unwrap_or_else(|p| p.into_inner());
        match written {
            Ok(()) if failure.is_some() => {
                tracing::info!("storage writable again");
                *failure = None;
            }
            Ok(()) => {}
            Err(e) => *failure = Some(e.clone()),
        }
    }

    /// Writes and flushes the batch, logging its health increments, and
    /// then adds them to the buffer.
    fn write(&mut self, mut txn: Txn) -> std::result::Result<(), String> {
        let increments = txn.take_health_increments();
        let folded = txn.health_folded;
        let mut ops = txn.finish();
        let mut logged = 0;
        if !increments.is_empty() {
            let record = health_buffer::encode_log(&increments);
            logged = record.len();
            ops.push(Op::Put(keys::health_log(self.next_health_log), record));
        }
        let buffer = self.health_buffer.clone();
        // A batch that folds the buffer into the stored buckets empties it
        // while readers wait, so none counts those figures twice (stored
        // and buffered) or not at all. Once a minute (or per
        // `FOLD_AFTER_LOGGED_BYTES`), for one write.
        let size: usize = ops.iter().map(op_bytes).sum();
        self.backend.check_room(size as u64).map_err(|e| e.to_string())?;
        let mut pending = folded.then(|| buffer.write());
        self.backend.write(ops).and_then(|()| self.backend.flush()).map_err(|e| e.to_string())?;
        if !increments.is_empty() {
            self.next_health_log += 1;
        }
        self.logged_since_fold = if folded { logged } else { self.logged_since_fold + logged };
        match pending.as_mut() {
            Some(pending) => {
                pending.clear();
                health_buffer::add_all(pending, increments);
            }
            None => health_buffer::add_all(&mut buffer.write(), increments),
        }
        Ok(())
    }

    /// Applies one request to the transaction. An admin request that is
    /// refused (say, merging a missing group) is answered with its error and
    /// rolled back, so the rest of the batch still commits.
    fn apply(&mut self, txn: &mut Txn, request: Request) -> Answer {
        let savepoint = match &request {
            // These fail only when storage does, and then the whole batch does.
            Request::Events { .. } | Request::Retain { .. } => None,
            _ => Some(txn.savepoint()),
        };
        let answer = match request {
            Request::Events { events, health, reply } => {
                let result = events
                    .into_iter()
                    .map(|prepared| self.add_event(txn, prepared))
                    .collect::<Result<Vec<_>>>()
                    .and_then(|committed| self.add_health(txn, health).map(|()| committed));
                Answer::Events(reply, result)
            }
            Request::Maintain { now, reply } => Answer::Maintenance(reply, self.maintain(txn, now)),
            Request::Retain { now, over_quota, reply } => {
                Answer::Retained(reply, self.retain(txn, now, over_quota))
            }
            Request::Write { ops, reply } => {
                txn.ops.extend(ops);
                Answer::Written(reply)
            }
            Request::SetStatus { id, change, now, reply } => {
                Answer::Group(reply, Box::new(group_ops::set_status(txn, id, change, now)))
            }
            Request::Merge { target, sources, reply } => {
                Answer::Group(reply, Box::new(group_ops::merge(txn, target, &sources)))
            }
            Request::Unmerge { id, fingerprints, reply } => {
                let new_id = self.next_group_id;
                let result = group_ops::unmerge(txn, &self.codec, id, &fingerprints, new_id);
                if result.is_ok() {
                    self.next_group_id += 1;
                }
                Answer::Split(reply, Box::new(result))
            }
        };
        if let (true, Some(savepoint)) = (answer.failed(), savepoint) {
            txn.rollback(savepoint);
        }
        answer
    }

    /// Numbers the event, finds or creates its group and writes the record
    /// the sender encoded, inside an envelope with seq and group id.
    fn add_event(&mut self, txn: &mut Txn, prepared: PreparedEvent) -> Result<Committed> {
        let PreparedEvent { mut event, grouping, encoded } = prepared;
        let seq = self.next_seq;
        self.next_seq += 1;
        let (group_id, new_group) = match self.existing_group(txn, &grouping)? {
            Some(id) => (id, false),
            None if self.new_groups.allow(&event.service, faultline_model::now_nanos()) => {
                let id = self.next_group_id;
                self.next_group_id += 1;
                txn.insert_group(new_group(id, &event, &grouping));
                txn.add_fingerprint(id, &grouping)?;
                (id, true)
            }
            None => self.collapse_into_overflow(txn, &event, &grouping)?,
        };
        event.seq = seq;
        event.group_id = group_id;
        let regression = record_occurrence(txn.group_mut(group_id)?, &event);
        let EncodedEvent { body, dictionary_id, stacktrace_hash, new_stacktrace, new_dictionary } = encoded;
        let brings_trace = new_stacktrace.is_some();
        self.add_shared(txn, new_stacktrace, new_dictionary)?;
        self.track_trace(txn, stacktrace_hash, brings_trace, event.stacktrace.as_deref(), seq)?;
        let envelope = Envelope { seq, group_id, dictionary_id, body };
        txn.ops.push(Op::Put(keys::event(seq), records::encode_event_envelope(envelope)));
        txn.ops.push(Op::Put(keys::group_event(group_id, seq), Vec::new()));
        let collapsed = txn.group_mut(group_id)?.collapsed_fingerprints > 0;
        Ok(Committed { seq, group_id, new_group, regression, collapsed })
    }

    /// Past the hourly cap: the fingerprint joins the service's overflow
    /// group (made now if it has none), which counts it. The fingerprint's
    /// record points there, so its later events land there too and its
    /// stored events keep a group. Returns the group and whether it is new.
    fn collapse_into_overflow(
        &mut self,
        txn: &mut Txn,
        event: &ErrorEvent,
        grouping: &Grouping,
    ) -> Result<(u64, bool)> {
        let overflow = overflow_grouping(&event.service);
        let (id, created) = match txn.group_id_for(&overflow.fingerprint)? {
            Some(id) => (id, false),
            None => {
                let id = self.next_group_id;
                self.next_group_id += 1;
                txn.insert_group(new_group(id, event, &overflow));
                txn.add_fingerprint(id, &overflow)?;
                (id, true)
            }
        };
        txn.add_fingerprint(id, grouping)?;
        txn.group_mut(id)?.collapsed_fingerprints += 1;
        Ok((id, created))
    }

    /// Writes the stack trace and dictionary an event brought, unless
    /// written before. A trace is content-addressed, so writing it twice
    /// is only waste; a dictionary must never be replaced (bodies were
    /// compressed with the stored one), so storage is asked first.
    fn add_shared(
        &mut self,
        txn: &mut Txn,
        stacktrace: Option<(Vec<u8>, String)>,
        dictionary: Option<(u32, Vec<u8>)>,
    ) -> Result<()> {
        if let Some((key, text)) = stacktrace {
            if self.shared_written.get(&key).is_none() {
                self.shared_written.insert(key.clone(), ());
                txn.ops.push(Op::Put(key, text.into_bytes()));
            }
        }
        if let Some((id, raw)) = dictionary {
            let key = keys::dictionary(id);
            if self.shared_written.get(&key).is_none() {
                self.shared_written.insert(key.clone(), ());
                if txn.backend().get(&key)?.is_none() {
                    txn.ops.push(Op::Put(key, raw));
                }
            }
        }
        Ok(())
    }
}

impl Committer {
    /// Records that event `seq` names its trace (for retention), and writes
    /// the trace again if retention deleted it after the sender saw it
    /// stored: a trace the committer has not written or seen is checked.
    fn track_trace(
        &mut self,
        txn: &mut Txn,
        hash: Option<crate::event_codec::TraceHash>,
        brought: bool,
        text: Option<&str>,
        seq: u64,
    ) -> Result<()> {
        let (Some(hash), Some(text)) = (hash, text) else { return Ok(()) };
        txn.trace_uses.insert(hash, seq);
        let key = keys::stacktrace(&hash);
        if brought || self.shared_written.get(&key).is_some() {
            return Ok(());
        }
        let missing = self.swept_in_batch.remove(&key) || txn.backend().get(&key)?.is_none();
        if missing {
            txn.ops.push(Op::Put(key.clone(), text.as_bytes().to_vec()));
        }
        self.shared_written.insert(key, ());
        Ok(())
    }

    /// One retention pass; the traces it deletes are forgotten by the
    /// caches that would otherwise let an event name them unwritten.
    fn retain(&mut self, txn: &mut Txn, now: UnixNanos, over_quota: bool) -> Result<RetentionPass> {
        let input = retention::PassInput {
            codec: &self.codec,
            options: &self.retention,
            now,
            next_seq: self.next_seq,
            next_group_id: self.next_group_id,
            over_quota,
        };
        let (pass, swept) = retention::pass(txn, &input)?;
        for hash in swept {
            let key = keys::stacktrace(&hash);
            self.shared_written.remove(&key);
            self.codec.forget_trace(&hash);
            self.swept_in_batch.insert(key);
        }
        Ok(pass)
    }

    /// Adds an export's health buckets to the batch's increments. Figures
    /// for minutes already rolled up go straight into their hour.
    fn add_health(&mut self, txn: &mut Txn, batch: HealthBatch) -> Result<()> {
        let cutoff = health::rollup_cutoff(faultline_model::now_nanos(), &self.health);
        for ((key, minute), bucket) in batch {
            let key = self.endpoints.admit(
                key,
                bucket.requests,
                self.health.max_endpoints_per_service,
                &mut txn.ops,
            );
            let key = if minute < cutoff {
                keys::health(keys::HEALTH_HOUR, health::hour_of_minute(minute), &key)
            } else {
                keys::health(keys::HEALTH_MINUTE, minute, &key)
            };
            txn.add_health_increment(key, bucket);
        }
        Ok(())
    }

    /// Folds the buffer in this batch once the log records written since
    /// the last fold pass `FOLD_AFTER_LOGGED_BYTES`: under heavy load a
    /// minute of log records (a sketch per endpoint per commit) would
    /// otherwise pile up on disk until the minute's pass deletes them.
    fn fold_if_due(&mut self, txn: &mut Txn) -> Result<()> {
        if self.logged_since_fold < self.fold_after_logged_bytes {
            return Ok(());
        }
        self.fold_health(txn, faultline_model::now_nanos())
    }

    /// Folds the buffered increments into their stored buckets and deletes
    /// the log records that held them. Minutes that have meanwhile passed
    /// the rollup go into their hour (the rollup below only sees stored
    /// minutes); figures past the retention are dropped.
    fn fold_health(&mut self, txn: &mut Txn, now: UnixNanos) -> Result<()> {
        if txn.health_folded {
            return Ok(()); // a second pass in one batch would count the buffer twice
        }
        let cutoff = health::rollup_cutoff(now, &self.health);
        let first_kept_hour = health::retention_cutoff_hour(now, &self.health);
        for (key, bucket) in self.health_buffer.snapshot() {
            let Some((slot, endpoint)) = keys::parse_health(&key) else { continue };
            let (kind, slot) = match key.first() {
                Some(&keys::HEALTH_MINUTE) if slot >= cutoff => (keys::HEALTH_MINUTE, slot),
                Some(&keys::HEALTH_MINUTE) => (keys::HEALTH_HOUR, health::hour_of_minute(slot)),
                _ => (keys::HEALTH_HOUR, slot),
            };
            let hour = if kind == keys::HEALTH_HOUR { slot } else { health::hour_of_minute(slot) };
            if hour >= first_kept_hour {
                txn.merge_health(kind, slot, &endpoint, &bucket)?;
            }
        }
        let logged_end = keys::health_log(self.next_health_log);
        for entry in txn.backend().scan(&[keys::HEALTH_LOG], &logged_end, false) {
            txn.ops.push(Op::Delete(entry?.0));
        }
        txn.health_folded = true;
        Ok(())
    }

    /// Rolls minute buckets older than `rollup_after` into hourly ones and
    /// deletes buckets older than the retention, a bounded amount per pass.
    fn maintain(&mut self, txn: &mut Txn, now: UnixNanos) -> Result<()> {
        const MAX_KEYS_PER_PASS: usize = 20_000;
        self.fold_health(txn, now)?;
        let backend = txn.backend();
        let cutoff = health::rollup_cutoff(now, &self.health);
        let minutes_end = keys::health_prefix(keys::HEALTH_MINUTE, cutoff);
        for entry in backend.scan(&[keys::HEALTH_MINUTE], &minutes_end, false).take(MAX_KEYS_PER_PASS) {
            let (key, value) = entry?;
            txn.ops.push(Op::Delete(key.clone()));
            let Some((minute, endpoint)) = keys::parse_health(&key) else { continue };
            txn.merge_health(
                keys::HEALTH_HOUR,
                health::hour_of_minute(minute),
                &endpoint,
                &health::decode(&value)?,
            )?;
        }
        let expired =
            keys::health_prefix(keys::HEALTH_HOUR, health::retention_cutoff_hour(now, &self.health));
        for entry in backend.scan(&[keys::HEALTH_HOUR], &expired, false).take(MAX_KEYS_PER_PASS) {
            txn.ops.push(Op::Delete(entry?.0));
        }
        // Delivery attempts and check runs are kept as long as health figures.
        let oldest_kept = health::minute_start(health::retention_cutoff_hour(now, &self.health) * 60);
        let deliveries_end = keys::delivery(oldest_kept, 0);
        for entry in backend.scan(&[keys::DELIVERY], &deliveries_end, false).take(MAX_KEYS_PER_PASS) {
            txn.ops.push(Op::Delete(entry?.0));
        }
        let cutoff = health::minute_start(health::retention_cutoff_hour(now, &self.health) * 60);
        txn.ops.extend(crate::checks::expire(backend, cutoff, MAX_KEYS_PER_PASS)?);
        Ok(())
    }

    /// The group of the event's fingerprint, or of a fingerprint an earlier
    /// grouping version gave it; in that case the new fingerprint is added
    /// to that group so later events find it directly.
    fn existing_group(&self, txn: &mut Txn, grouping: &Grouping) -> Result<Option<u64>> {
        if let Some(id) = txn.group_id_for(&grouping.fingerprint)? {
            return Ok(Some(id));
        }
        for previous in &grouping.previous_fingerprints {
            if let Some(id) = txn.group_id_for(previous)? {
                txn.add_fingerprint(id, grouping)?;
                txn.group_mut(id)?.fingerprints.push(grouping.fingerprint.clone());
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

enum Answer {
    Events(Reply<Vec<Committed>>, Result<Vec<Committed>>),
    /// Maintenance has no requester; a failure fails the batch like storage errors.
    Maintenance(Option<Reply<()>>, Result<()>),
    Written(Reply<()>),
    Group(Reply<Group>, Box<Result<Group>>),
    Split(Reply<(Group, Group)>, Box<Result<(Group, Group)>>),
    Retained(Reply<RetentionPass>, Result<RetentionPass>),
}

impl Answer {
    /// A request answered without being applied (storage cannot write).
    fn refused(request: Request) -> Answer {
        // The placeholder result is never sent: `fail` answers instead.
        fn never<T>() -> Result<T> {
            Err(Error::ShuttingDown)
        }
        match request {
            Request::Events { reply, .. } => Answer::Events(reply, never()),
            Request::Write { reply, .. } => Answer::Written(reply),
            Request::Maintain { reply, .. } => Answer::Maintenance(reply, never()),
            Request::SetStatus { reply, .. } | Request::Merge { reply, .. } => {
                Answer::Group(reply, Box::new(never()))
            }
            Request::Unmerge { reply, .. } => Answer::Split(reply, Box::new(never())),
            Request::Retain { reply, .. } => Answer::Retained(reply, never()),
        }
    }

    fn failed(&self) -> bool {
        match self {
            Answer::Events(_, r) => r.is_err(),
            Answer::Maintenance(_, r) => r.is_err(),
            Answer::Written(_) => false,
            Answer::Group(_, r) => r.is_err(),
            Answer::Split(_, r) => r.is_err(),
            Answer::Retained(_, r) => r.is_err(),
        }
    }

    /// How far a retention pass in the batch deleted.
    fn deleted_below(&self) -> Option<u64> {
        self.retention_pass().map(|pass| pass.deleted_below)
    }

    fn retention_pass(&self) -> Option<&RetentionPass> {
        match self {
            Answer::Retained(_, Ok(pass)) => Some(pass),
            _ => None,
        }
    }

    /// The error of an events or maintenance request, which only storage
    /// failures cause (a failed read, a damaged record): the batch is then
    /// not written. As text: every request of the batch gets a copy.
    fn storage_failure(&self) -> Option<String> {
        match self {
            Answer::Events(_, Err(e)) | Answer::Maintenance(_, Err(e)) | Answer::Retained(_, Err(e)) => {
                Some(e.to_string())
            }
            _ => None,
        }
    }

    fn send(self) {
        // A requester that stopped waiting (client gone) is not an error.
        match self {
            Answer::Events(reply, r) => drop(reply.send(r)),
            Answer::Maintenance(reply, r) => drop(reply.map(|reply| reply.send(r))),
            Answer::Written(reply) => drop(reply.send(Ok(()))),
            Answer::Group(reply, r) => drop(reply.send(*r)),
            Answer::Split(reply, r) => drop(reply.send(*r)),
            Answer::Retained(reply, r) => drop(reply.send(r)),
        }
    }

    fn fail(self, message: &str) {
        // A write that did not happen is not damage to what is stored:
        // callers may retry, and nothing of the batch is half-written.
        let err = || Error::CommitFailed(message.to_string());
        match self {
            Answer::Events(reply, _) => drop(reply.send(Err(err()))),
            Answer::Maintenance(reply, _) => drop(reply.map(|reply| reply.send(Err(err())))),
            Answer::Written(reply) => drop(reply.send(Err(err()))),
            Answer::Group(reply, _) => drop(reply.send(Err(err()))),
            Answer::Split(reply, _) => drop(reply.send(Err(err()))),
            Answer::Retained(reply, _) => drop(reply.send(Err(err()))),
        }
    }
}

/// Bytes an op adds to the store, about.
fn op_bytes(op: &Op) -> usize {
    match op {
        Op::Put(k, v) => k.len() + v.len(),
        Op::Delete(k) => k.len(),
    }
}

/// The highest id stored under a one-byte kind prefix.
pub(crate) fn last_id(backend: &dyn Backend, kind: u8) -> Result<Option<u64>> {
    let start = [kind];
    let end = [kind + 1];
    match backend.scan(&start, &end, true).next() {
        Some(entry) => Ok(keys::u64_at(&entry?.0, 1)),
        None => Ok(None),
    }
}

#[cfg(test)]
#[path = "committer_tests.rs"]
mod tests;
