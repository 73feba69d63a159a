//! Event and group retention: what a retention pass deletes, run by the
//! committer like any other request so it never races an export.
//!
//! - **Events** are numbered in arrival order, so the oldest are a prefix
//!   of the `e` key space. Each pass writes an arrival mark (`n` + now →
//!   the next sequence number); the newest mark at or before `now -
//!   retention.events` says below which number every event is expired.
//!   Arrival, not the event's own timestamp, decides: a client's clock
//!   can be anywhere.
//!   An event may so outlive the retention by one pass interval. A pass
//!   deletes at most [`EVENTS_PER_PASS`] events (their `e` record and `x`
//!   membership key) and says whether more are due, so ingestion waits
//!   for one bounded commit at a time rather than one huge one.
//! - **Disk quota**: when the data directory is over `max_disk_bytes`,
//!   the pass also deletes the oldest [`EVENTS_PER_PASS`] events whatever
//!   their age; the caller measures again before asking for more. sled
//!   0.34 does not give deleted space back to the file system (measured:
//!   20,344 KiB for 20,000 events, 20,208 KiB after deleting half); it
//!   reuses it for new writes, so the quota stops growth rather than
//!   shrinking the directory.
//! - **Stack traces** (`t`) are shared: the committer keeps, per trace, the
//!   highest sequence number of an event naming it (`u` + hash). Once the
//!   deletion point passes it, no remaining event names the trace, and it
//!   is deleted in the same batch as the events. Traces stored before this
//!   bookkeeping existed have no `u` key and are kept.
//! - **Dictionaries** (`z`) are kept: one per fingerprint, a few KB, and
//!   ids may collide between fingerprints, so deleting one would need to
//!   prove no other fingerprint uses it.
//! - **Groups** whose last event arrived more than `retention.groups` ago
//!   (by the arrival marks, which are kept that long) are deleted with
//!   their summary, the fingerprint records pointing at them and any
//!   membership keys left. Each pass looks at a bounded number of groups,
//!   going on where the last one stopped.
//! - The **index** drops documents below the deletion point: the committer
//!   publishes it after the write and the indexer deletes by `seq` range.
//!
//! Numbering must never reuse a number or id whose event or group was
//! deleted (the index and links name them), so each pass stores the
//! counters in a state record that start-up reads besides the highest keys.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use faultline_model::UnixNanos;

use crate::backend::Op;
use crate::event_codec::{EventCodec, TraceHash};
use crate::txn::Txn;
use crate::{keys, records, Result};

/// The most events one pass deletes.
pub(crate) const EVENTS_PER_PASS: usize = 2_000;

/// The most groups one pass looks at (decodes); the next pass goes on
/// from there, so every group is looked at within a few passes.
const GROUPS_SCANNED_PER_PASS: usize = 5_000;

/// How long things are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOptions {
    /// Error events older than this (by arrival) are deleted.
    pub events: Duration,
    /// Groups with no event for this long are deleted; at least `events`.
    pub groups: Duration,
    /// When the data directory (store and index) is larger, the oldest
    /// events are deleted, a chunk per pass (`embedded/retention_task.rs`
    /// says why not more).
    pub max_disk_bytes: Option<u64>,
}

impl Default for RetentionOptions {
    fn default() -> Self {
        RetentionOptions {
            events: Duration::from_secs(30 * 24 * 3600),
            groups: Duration::from_secs(90 * 24 * 3600),
            max_disk_bytes: None,
        }
    }
}

impl RetentionOptions {
    /// How often retention runs: often enough that an event outlives its
    /// retention by a small fraction of it, at most once a minute.
    pub fn interval(&self) -> Duration {
        (self.events / 8).clamp(Duration::from_millis(250), Duration::from_secs(60))
    }
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPass {
    pub events_deleted: usize,
    /// Of `events_deleted`, those deleted for the disk quota rather than
    /// their age.
    pub events_deleted_by_quota: usize,
    pub traces_deleted: usize,
    pub groups_deleted: usize,
    /// Every event below this sequence number is deleted.
    pub deleted_below: u64,
    /// More is due now: ask again without waiting for the interval.
    pub more: bool,
}

/// The state record: counters that must not go back when the keys that
/// carried them are deleted, and how far deletion went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct State {
    pub next_seq: u64,
    pub next_group_id: u64,
    pub deleted_below: u64,
    /// The group id the next pass's group scan starts at.
    pub group_cursor: u64,
}

const STATE_KEY: &str = "retention";

pub(crate) fn load_state(backend: &dyn crate::backend::Backend) -> Result<State> {
    let Some(bytes) = backend.get(&keys::state(STATE_KEY))? else { return Ok(State::default()) };
    let at = |i| keys::u64_at(&bytes, i).ok_or_else(|| crate::Error::Corrupt("short retention state".into()));
    Ok(State { next_seq: at(0)?, next_group_id: at(8)?, deleted_below: at(16)?, group_cursor: at(24)? })
}

fn put_state(state: State) -> Op {
    let mut bytes = Vec::with_capacity(32);
    for n in [state.next_seq, state.next_group_id, state.deleted_below, state.group_cursor] {
        bytes.extend_from_slice(&n.to_be_bytes());
    }
    Op::Put(keys::state(STATE_KEY), bytes)
}

/// One retention pass's inputs from the committer.
pub(crate) struct PassInput<'a> {
    pub codec: &'a EventCodec,
    pub options: &'a RetentionOptions,
    pub now: UnixNanos,
    pub next_seq: u64,
    pub next_group_id: u64,
    /// The data directory is over its quota: delete the oldest events too.
    pub over_quota: bool,
}

/// Adds one pass's deletions to the batch; returns what it did and the
/// keys of the traces it deleted (for the committer's caches).
pub(crate) fn pass(txn: &mut Txn, input: &PassInput) -> Result<(RetentionPass, Vec<TraceHash>)> {
    let previous = load_state(txn.backend())?;
    txn.ops.push(Op::Put(keys::arrival(input.now), input.next_seq.to_be_bytes().to_vec()));
    let options = input.options;
    let expired = arrived_before(txn, input.now - nanos(options.events))?.map_or(0, |(_, seq)| seq);
    let mut target = expired;
    if input.over_quota {
        target = target.max(first_event(txn)?.saturating_add(EVENTS_PER_PASS as u64));
    }
    let target = target.min(input.next_seq);
    let deletion = delete_events(txn, input.codec, previous.deleted_below, target, expired)?;
    let Deletion { deleted, traces, reached, at_or_above_expired: by_quota } = deletion;
    let deleted_below = previous.deleted_below.max(reached);
    let swept = sweep_traces(txn, traces, deleted_below)?;
    let groups_cutoff = input.now - nanos(options.groups.max(options.events));
    let (groups_deleted, group_cursor) = match arrived_before(txn, groups_cutoff)? {
        Some((mark, quiet_below)) => {
            delete_marks_before(txn, &mark)?;
            delete_groups(txn, quiet_below, previous.group_cursor)?
        }
        None => (0, previous.group_cursor),
    };
    txn.ops.push(put_state(State {
        next_seq: input.next_seq.max(previous.next_seq),
        next_group_id: input.next_group_id.max(previous.next_group_id),
        deleted_below,
        group_cursor,
    }));
    let done = RetentionPass {
        events_deleted: deleted,
        events_deleted_by_quota: by_quota,
        traces_deleted: swept.len(),
        groups_deleted,
        deleted_below,
        more: reached < target,
    };
    Ok((done, swept))
}

/// The newest arrival mark at or before `cutoff`: its key, and the
/// sequence number below which every event arrived before it.
fn arrived_before(txn: &Txn, cutoff: UnixNanos) -> Result<Option<(Vec<u8>, u64)>> {
    let end = keys::arrival(cutoff.saturating_add(1));
    let Some(entry) = txn.backend().scan(&[keys::ARRIVAL], &end, true).next() else { return Ok(None) };
    let (mark, value) = entry?;
    Ok(Some((mark, keys::u64_at(&value, 0).unwrap_or(0))))
}

/// Marks older than the one the group cutoff uses are no longer needed.
fn delete_marks_before(txn: &mut Txn, mark: &[u8]) -> Result<()> {
    for old in txn.backend().scan(&[keys::ARRIVAL], mark, false).take(EVENTS_PER_PASS) {
        txn.ops.push(Op::Delete(old?.0));
    }
    Ok(())
}

fn first_event(txn: &Txn) -> Result<u64> {
    match txn.backend().scan(&[keys::EVENT], &[keys::EVENT + 1], false).next() {
        Some(entry) => Ok(keys::u64_at(&entry?.0, 1).unwrap_or(0)),
        None => Ok(0),
    }
}

/// What [`delete_events`] deleted.
struct Deletion {
    deleted: usize,
    /// The traces the deleted events named.
    traces: BTreeSet<TraceHash>,
    /// Every event below this sequence number is now gone.
    reached: u64,
    /// Deleted events numbered at or above `expired` (not yet expired:
    /// deleted for the quota).
    at_or_above_expired: usize,
}

/// Deletes up to [`EVENTS_PER_PASS`] events below `target`, with their
/// membership keys.
fn delete_events(
    txn: &mut Txn,
    codec: &EventCodec,
    from: u64,
    target: u64,
    expired: u64,
) -> Result<Deletion> {
    let backend = txn.backend();
    let mut traces = BTreeSet::new();
    let mut deleted = 0;
    let mut at_or_above_expired = 0;
    let mut reached = target;
    let mut groups: HashMap<String, Option<u64>> = HashMap::new();
    for entry in backend.scan(&keys::event(from), &keys::event(target), false) {
        let (key, value) = entry?;
        let seq = keys::u64_at(&key, 1).unwrap_or(0);
        if deleted == EVENTS_PER_PASS {
            reached = seq;
            break;
        }
        txn.ops.push(Op::Delete(key));
        deleted += 1;
        if seq >= expired {
            at_or_above_expired += 1;
        }
        // A damaged record still goes; a membership key it leaves behind
        // only points at nothing, which readers skip.
        let Ok(refs) = codec.references(&value) else { continue };
        txn.ops.push(Op::Delete(keys::group_event(refs.group_id, seq)));
        // Merge and unmerge move membership keys to the fingerprint's group now.
        let now_in = match groups.get(&refs.fingerprint) {
            Some(id) => *id,
            None => {
                let id = txn.group_id_for(&refs.fingerprint)?;
                groups.insert(refs.fingerprint.clone(), id);
                id
            }
        };
        if let Some(group_id) = now_in.filter(|id| *id != refs.group_id) {
            txn.ops.push(Op::Delete(keys::group_event(group_id, seq)));
        }
        traces.extend(refs.stacktrace_hash);
    }
    Ok(Deletion { deleted, traces, reached, at_or_above_expired })
}

/// Events retention deleted since start, by why: shared by the committer
/// (which counts committed passes) and `stats` (`/metrics`).
#[derive(Debug, Default)]
pub(crate) struct DeletedCounts {
    pub by_age: std::sync::atomic::AtomicU64,
    pub by_quota: std::sync::atomic::AtomicU64,
}

impl DeletedCounts {
    pub fn add(&self, pass: &RetentionPass) {
        use std::sync::atomic::Ordering::Relaxed;
        let by_quota = pass.events_deleted_by_quota as u64;
        self.by_quota.fetch_add(by_quota, Relaxed);
        self.by_age.fetch_add((pass.events_deleted as u64).saturating_sub(by_quota), Relaxed);
    }
}

/// Deletes the traces no event at or above `deleted_below` names.
fn sweep_traces(
    txn: &mut Txn,
    candidates: BTreeSet<TraceHash>,
    deleted_below: u64,
) -> Result<Vec<TraceHash>> {
    let mut swept = Vec::new();
    for hash in candidates {
        let last_use = match txn.trace_uses.get(&hash) {
            Some(seq) => Some(*seq),
            None => txn.backend().get(&keys::trace_use(&hash))?.and_then(|v| keys::u64_at(&v, 0)),
        };
        // No `u` key: stored before uses were tracked; keep it.
        if last_use.is_some_and(|last| last < deleted_below) {
            txn.ops.push(Op::Delete(keys::stacktrace(&hash)));
            txn.ops.push(Op::Delete(keys::trace_use(&hash)));
            swept.push(hash);
        }
    }
    Ok(swept)
}

/// Looks at up to [`GROUPS_SCANNED_PER_PASS`] groups from `cursor` (the
/// scan wraps around over passes) and deletes those whose last event
/// arrived before sequence number `quiet_below`. Returns how many, and
/// where the next pass goes on.
fn delete_groups(txn: &mut Txn, quiet_below: u64, cursor: u64) -> Result<(usize, u64)> {
    let backend = txn.backend();
    let mut expired = Vec::new();
    let mut next_cursor = 0; // wrap around when the scan reaches the end
    for (n, entry) in backend.scan(&keys::group(cursor), &[keys::GROUP + 1], false).enumerate() {
        let (key, value) = entry?;
        let id = keys::u64_at(&key, 1).unwrap_or(0);
        if n == GROUPS_SCANNED_PER_PASS {
            next_cursor = id;
            break;
        }
        let group = records::decode_group(&value)?;
        if group.last_event_seq < quiet_below {
            expired.push(group);
        }
    }
    for group in &expired {
        for fp in &group.fingerprints {
            // A merged group's fingerprints point at its target: keep those.
            if txn.group_id_for(fp)? == Some(group.id) {
                txn.delete_fingerprint(fp);
            }
        }
        txn.ops.push(Op::Delete(keys::group(group.id)));
        txn.ops.push(Op::Delete(keys::group_summary(group.id)));
        let end = keys::group_event_end(group.id);
        for entry in backend.scan(&keys::group_event(group.id, 0), &end, false).take(EVENTS_PER_PASS) {
            txn.ops.push(Op::Delete(entry?.0));
        }
        txn.forget_group(group.id);
    }
    Ok((expired.len(), next_cursor))
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
