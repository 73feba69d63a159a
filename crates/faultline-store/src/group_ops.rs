//! How events and user actions change groups: counting an occurrence,
//! reopening on regression, status changes, merge and unmerge.

use std::collections::HashSet;

use faultline_model::{
    duration, is_later_release, ErrorEvent, Group, GroupStatus, Grouping, StatusChange, UnixNanos,
    LAST_MESSAGE_CHARS,
};

use crate::backend::Op;
use crate::event_codec::EventCodec;
use crate::txn::Txn;
use crate::{keys, records, Error, Result};

pub fn new_group(id: u64, event: &ErrorEvent, grouping: &Grouping) -> Group {
    let mut group = blank(id, &event.service, &grouping.fingerprint);
    group.grouping_version = grouping.version;
    group.title = grouping.title.clone();
    group.culprit = grouping.culprit.clone();
    group.exception_type = event.exception_type.clone();
    group.first_seen = event.timestamp;
    group.last_seen = event.timestamp;
    group
}

/// An unresolved group with one fingerprint and no events yet.
pub fn blank(id: u64, service: &str, fingerprint: &str) -> Group {
    Group {
        id,
        fingerprint: fingerprint.to_string(),
        grouping_version: 0,
        service: service.to_string(),
        title: String::new(),
        culprit: String::new(),
        last_message: None,
        exception_type: None,
        first_seen: 0,
        last_seen: 0,
        count: 0,
        status: GroupStatus::Unresolved,
        regressed: false,
        regressed_at: None,
        resolved_at: None,
        environments: Vec::new(),
        first_release: None,
        last_release: None,
        last_event_seq: 0,
        fingerprints: vec![fingerprint.to_string()],
        merged_into: None,
        resolved_in_release: None,
        ignored_until: None,
        ignored_until_count: None,
        collapsed_fingerprints: 0,
    }
}

/// Counts an event into a group's figures.
pub fn accumulate(group: &mut Group, event: &ErrorEvent) {
    if group.count == 0 {
        group.first_seen = event.timestamp;
        group.last_seen = event.timestamp;
    }
    group.count += 1;
    group.first_seen = group.first_seen.min(event.timestamp);
    group.last_seen = group.last_seen.max(event.timestamp);
    // Latest by sequence, like `last_event_seq`: the committer hands events
    // over in sequence order and unmerge recounts them in it.
    if event.seq >= group.last_event_seq {
        group.last_message = headline(event.message.as_deref());
    }
    group.last_event_seq = group.last_event_seq.max(event.seq);
    if let Some(env) = &event.environment {
        if let Err(at) = group.environments.binary_search(env) {
            group.environments.insert(at, env.clone());
        }
    }
    if event.service_version.is_some() {
        group.last_release = event.service_version.clone();
        if group.first_release.is_none() {
            group.first_release = event.service_version.clone();
        }
    }
}

/// A message's first non-blank line, cut to [`LAST_MESSAGE_CHARS`] characters.
fn headline(message: Option<&str>) -> Option<String> {
    let line = message?.lines().map(str::trim).find(|line| !line.is_empty())?;
    if line.chars().count() <= LAST_MESSAGE_CHARS {
        return Some(line.to_string());
    }
    let mut cut: String = line.chars().take(LAST_MESSAGE_CHARS - 1).collect();
    cut.push('…');
    Some(cut)
}

/// Counts an event and reopens a resolved group; returns whether it did.
/// An ignored group whose condition has run out comes back too (as
/// unresolved, not as a regression: it was never called fixed).
///
/// Only an event that happened after the resolution reopens it, so a late
/// batch of old events does not turn a fix into a false regression; and a
/// group resolved in the next release waits for an event from a later one.
pub fn record_occurrence(group: &mut Group, event: &ErrorEvent) -> bool {
    accumulate(group, event);
    if group.status == GroupStatus::Ignored && ignore_ran_out(group, event) {
        group.status = GroupStatus::Unresolved;
        clear_conditions(group);
    }
    let reopens = group.status == GroupStatus::Resolved
        && group.resolved_at.is_none_or(|at| event.timestamp > at)
        && from_a_later_release(group, event);
    if reopens {
        group.status = GroupStatus::Unresolved;
        group.regressed = true;
        group.regressed_at = Some(event.timestamp);
        group.resolved_at = None;
        clear_conditions(group);
    }
    reopens
}

/// Whether an ignored group's time or event budget is spent (`event` is
/// already counted). Ignored without conditions means forever.
fn ignore_ran_out(group: &Group, event: &ErrorEvent) -> bool {
    let time_up = group.ignored_until.is_some_and(|until| event.timestamp >= until);
    let count_reached = group.ignored_until_count.is_some_and(|target| group.count >= target);
    time_up || count_reached
}

/// For a group resolved in the next release: whether the event comes from
/// a release later than the one it was resolved in. An event without a
/// release says nothing about the fix, so it does not reopen.
fn from_a_later_release(group: &Group, event: &ErrorEvent) -> bool {
    match &group.resolved_in_release {
        None => true,
        Some(current) => {
            event.service_version.as_deref().is_some_and(|release| is_later_release(release, current))
        }
    }
}

fn clear_conditions(group: &mut Group) {
    group.resolved_in_release = None;
    group.ignored_until = None;
    group.ignored_until_count = None;
}

/// Applies a user's status change. Conditions of an earlier change are
/// replaced by the new one's.
pub(crate) fn set_status(txn: &mut Txn, id: u64, change: StatusChange, now: UnixNanos) -> Result<Group> {
    change.validate().map_err(|e| Error::Invalid(e.to_string()))?;
    let group = live_group(txn, id)?;
    apply_status(group, change, now);
    Ok(group.clone())
}

/// A validated status change applied to a group (the part every engine shares).
pub fn apply_status(group: &mut Group, change: StatusChange, now: UnixNanos) {
    if group.status != change.status {
        group.status = change.status;
        match change.status {
            GroupStatus::Resolved => {
                group.resolved_at = Some(now);
                group.regressed = false;
            }
            GroupStatus::Unresolved | GroupStatus::Ignored => group.resolved_at = None,
        }
    }
    clear_conditions(group);
    if change.in_next_release {
        // Without any release seen there is no "next" one: a plain resolve.
        group.resolved_in_release = group.last_release.clone();
    }
    group.ignored_until = change.ignore_for.map(|d| now.saturating_add(duration::nanos(d)));
    group.ignored_until_count = change.ignore_count.map(|n| group.count.saturating_add(n));
}

/// A group that has not been merged away.
fn live_group<'t>(txn: &'t mut Txn, id: u64) -> Result<&'t mut Group> {
    let group = txn.group_mut(id)?;
    if let Some(into) = group.merged_into {
        return Err(Error::Invalid(format!("group {id} was merged into group {into}")));
    }
    Ok(group)
}

/// Merges `sources` into `target`: their fingerprints now map to the
/// target (so future events land there), their events and counts move, and
/// each source is left as a redirect to the target.
pub(crate) fn merge(txn: &mut Txn, target: u64, sources: &[u64]) -> Result<Group> {
    let service = live_group(txn, target)?.service.clone();
    let unique: HashSet<u64> = sources.iter().copied().collect();
    if unique.is_empty() {
        return Err(Error::Invalid("name at least one group to merge".into()));
    }
    if unique.contains(&target) {
        return Err(Error::Invalid(format!("group {target} cannot be merged into itself")));
    }
    for &source in &unique {
        let group = live_group(txn, source)?.clone();
        if group.service != service {
            return Err(Error::Invalid(format!(
                "group {source} belongs to service {:?}, group {target} to {service:?}; only groups of one service merge",
                group.service
            )));
        }
        move_events(txn, source, target)?;
        for fp in &group.fingerprints {
            txn.repoint_fingerprint(fp, target)?;
        }
        absorb(live_group(txn, target)?, &group);
        let emptied = txn.group_mut(source)?;
        emptied.merged_into = Some(target);
        emptied.count = 0;
    }
    Ok(txn.group_mut(target)?.clone())
}

/// Adds a merged group's figures and fingerprints to the target's.
pub fn absorb(target: &mut Group, source: &Group) {
    if source.first_seen < target.first_seen {
        target.first_release = source.first_release.clone().or(target.first_release.take());
    }
    if source.last_event_seq > target.last_event_seq {
        target.last_release = source.last_release.clone().or(target.last_release.take());
        target.last_message = source.last_message.clone();
    }
    target.count += source.count;
    target.first_seen = target.first_seen.min(source.first_seen);
    target.last_seen = target.last_seen.max(source.last_seen);
    target.last_event_seq = target.last_event_seq.max(source.last_event_seq);
    for env in &source.environments {
        if let Err(at) = target.environments.binary_search(env) {
            target.environments.insert(at, env.clone());
        }
    }
    target.fingerprints.extend(source.fingerprints.iter().cloned());
}

/// Moves every event membership key of `from` to `to`.
fn move_events(txn: &mut Txn, from: u64, to: u64) -> Result<()> {
    let backend = txn.backend();
    for entry in backend.scan(&keys::group_event(from, 0), &keys::group_event_end(from), false) {
        let seq = member_seq(&entry?.0)?;
        txn.ops.push(Op::Delete(keys::group_event(from, seq)));
        txn.ops.push(Op::Put(keys::group_event(to, seq), Vec::new()));
    }
    Ok(())
}

fn member_seq(key: &[u8]) -> Result<u64> {
    keys::u64_at(key, 9).ok_or_else(|| Error::Corrupt("short group-event key".into()))
}

/// Splits `fingerprints` off `id` into a new group `new_id`: their events
/// and future events go there. Both groups' figures are recounted from
/// their events. Returns (remaining group, new group).
pub(crate) fn unmerge(
    txn: &mut Txn,
    codec: &EventCodec,
    id: u64,
    fingerprints: &[String],
    new_id: u64,
) -> Result<(Group, Group)> {
    let split: HashSet<&str> = fingerprints.iter().map(String::as_str).collect();
    let original = live_group(txn, id)?.clone();
    if split.is_empty() {
        return Err(Error::Invalid("name at least one fingerprint to unmerge".into()));
    }
    if let Some(fp) = split.iter().find(|fp| !original.fingerprints.iter().any(|own| own == *fp)) {
        return Err(Error::Invalid(format!("fingerprint {fp} is not in group {id}")));
    }
    if split.len() >= original.fingerprints.len() {
        return Err(Error::Invalid(format!("group {id} would keep no fingerprint; leave at least one")));
    }
    let first = fingerprints.first().map(String::as_str).unwrap_or_default();
    let naming =
        txn.fingerprint(first)?.ok_or_else(|| Error::Invalid(format!("unknown fingerprint {first}")))?;
    let mut moved = empty_like(&original, new_id, &naming, first);
    moved.fingerprints =
        original.fingerprints.iter().filter(|f| split.contains(f.as_str())).cloned().collect();
    let mut kept = empty_like(&original, id, &naming, &original.fingerprint);
    kept.title = original.title.clone();
    kept.culprit = original.culprit.clone();
    kept.grouping_version = original.grouping_version;
    kept.exception_type = original.exception_type.clone();
    kept.status = original.status;
    kept.resolved_at = original.resolved_at;
    kept.regressed = original.regressed;
    kept.regressed_at = original.regressed_at;
    kept.fingerprints =
        original.fingerprints.iter().filter(|f| !split.contains(f.as_str())).cloned().collect();
    if split.contains(original.fingerprint.as_str()) {
        kept.fingerprint = kept.fingerprints.first().cloned().unwrap_or_default();
    }

    let backend = txn.backend();
    for entry in backend.scan(&keys::group_event(id, 0), &keys::group_event_end(id), false) {
        let seq = member_seq(&entry?.0)?;
        let Some(bytes) = backend.get(&keys::event(seq))? else { continue };
        let (event, fp) = codec.decode(&bytes)?;
        if split.contains(fp.as_str()) {
            txn.ops.push(Op::Delete(keys::group_event(id, seq)));
            txn.ops.push(Op::Put(keys::group_event(new_id, seq), Vec::new()));
            if moved.exception_type.is_none() {
                moved.exception_type = event.exception_type.clone();
            }
            accumulate(&mut moved, &event);
        } else {
            accumulate(&mut kept, &event);
        }
    }
    for fp in &moved.fingerprints {
        txn.repoint_fingerprint(fp, new_id)?;
    }
    *txn.group_mut(id)? = kept.clone();
    txn.insert_group(moved.clone());
    Ok((kept, moved))
}

/// A group with no events yet, named from a fingerprint's record.
fn empty_like(original: &Group, id: u64, naming: &records::FingerprintRecord, fingerprint: &str) -> Group {
    let mut group = blank(id, &original.service, fingerprint);
    group.grouping_version = naming.grouping_version;
    group.title = naming.title.clone();
    group.culprit = naming.culprit.clone();
    group.fingerprints = Vec::new();
    group
}

#[cfg(test)]
#[path = "group_ops_tests.rs"]
mod tests;
