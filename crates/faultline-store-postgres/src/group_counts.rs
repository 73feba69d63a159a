//! How a commit's events change their groups, done last before COMMIT so
//! that the groups' row locks (which every node's commits touching a busy
//! group queue on) are held as briefly as possible.
//!
//! The groups are locked in id order and read. An open group (unresolved,
//! not merged away) that the commit adds no fingerprint to only has its
//! figures added to: one UPDATE for all of them, `count = count + n`, the
//! earlier first seen, the later last seen and latest event, the new
//! environments. Any other group (resolved, ignored, new, or gaining a
//! fingerprint) goes through the domain rules whole, which decide
//! regressions and the end of an ignore.

use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::Transaction;
use faultline_model::{ErrorEvent, Group, GroupStatus};
use faultline_store::{rules, Committed};

use crate::error::{PgError, PgResult};
use crate::groups::{lock_groups, write_groups};
use crate::shared::big;

/// An event numbered and given its group, not yet counted.
pub(crate) struct Assigned {
    /// Which export of the commit it came in.
    pub export: usize,
    pub event: ErrorEvent,
    pub new_group: bool,
}

/// What a commit does to a group besides counting its events.
#[derive(Default)]
pub(crate) struct BodyChange {
    /// Fingerprints that now name the group (from an earlier grouping
    /// version's group, or the first of a new group).
    pub fingerprints: Vec<String>,
    /// Fingerprints collapsed into an overflow group by the new-group cap.
    pub collapsed: u64,
}

/// The commit's events and group decisions, ready to be counted.
pub(crate) struct Pending {
    pub exports: usize,
    /// In sequence order.
    pub assigned: Vec<Assigned>,
    /// Groups made in this commit, not yet written.
    pub made: HashMap<i64, Group>,
    pub changes: HashMap<i64, BodyChange>,
    /// Fingerprint -> group as found before any lock, to see a merge or
    /// unmerge that moved one meanwhile.
    pub found: HashMap<String, i64>,
    /// Group ids taken for the new fingerprints in the order they first
    /// appear, so new issues are numbered in arrival order although they
    /// are claimed in another (see `ingest::claim_new`).
    pub reserved: HashMap<String, i64>,
}

/// Counts the events into their groups; returns each export's events as
/// committed (with regressions and collapse marks).
pub(crate) async fn settle(txn: &Transaction<'_>, mut pending: Pending) -> PgResult<Vec<Vec<Committed>>> {
    let mut members: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (at, assigned) in pending.assigned.iter().enumerate() {
        members.entry(big(assigned.event.group_id)).or_default().push(at);
    }
    let stored: Vec<i64> = members.keys().copied().filter(|id| !pending.made.contains_key(id)).collect();
    let mut locked = lock_groups(txn, &stored).await?;
    let names: Vec<String> = pending.found.keys().cloned().collect();
    let now_found = crate::ingest::lookup(txn, &names).await?;
    if pending.found.iter().any(|(name, id)| now_found.get(name) != Some(id)) {
        // A merge, unmerge or group retention moved a fingerprint after
        // it was looked up: start again.
        return Err(PgError::Retry("a fingerprint moved to another group"));
    }

    // Per event: (regression, collapsed).
    let mut outcomes = vec![(false, false); pending.assigned.len()];
    let mut whole = Vec::new();
    let mut added = Additions::default();
    for (id, at) in members {
        let events = at.iter().filter_map(|&i| pending.assigned.get(i).map(|a| (i, &a.event)));
        let change = pending.changes.remove(&id);
        let group = match pending.made.remove(&id) {
            Some(group) => group,
            None => locked.remove(&id).ok_or_else(|| missing(id))?,
        };
        if change.is_none() && is_open(&group) && group.count > 0 {
            let collapsed = group.collapsed_fingerprints > 0;
            let mut delta = rules::blank(group.id, &group.service, &group.fingerprint);
            for (i, event) in events {
                rules::accumulate(&mut delta, event);
                outcomes[i] = (false, collapsed);
            }
            added.push(id, &delta)?;
        } else {
            let mut group = group;
            if let Some(change) = change {
                group.fingerprints.extend(change.fingerprints);
                group.collapsed_fingerprints += change.collapsed;
            }
            for (i, event) in events {
                let regression = rules::record_occurrence(&mut group, event);
                outcomes[i] = (regression, group.collapsed_fingerprints > 0);
            }
            whole.push(group);
        }
    }
    added.apply(txn).await?;
    write_groups(txn, &whole.iter().collect::<Vec<_>>()).await?;

    let mut answers = vec![Vec::new(); pending.exports];
    for (assigned, (regression, collapsed)) in pending.assigned.iter().zip(outcomes) {
        if let Some(answer) = answers.get_mut(assigned.export) {
            answer.push(Committed {
                seq: assigned.event.seq,
                group_id: assigned.event.group_id,
                new_group: assigned.new_group,
                regression,
                collapsed,
            });
        }
    }
    Ok(answers)
}

/// Whether an event can only add to the group's figures: nothing about
/// its status can change (no regression, no ignore running out).
fn is_open(group: &Group) -> bool {
    group.status == GroupStatus::Unresolved && group.merged_into.is_none()
}

pub(crate) fn missing(id: i64) -> PgError {
    PgError::Corrupt(format!("group {id} is named by a fingerprint but does not exist"))
}

/// The commit's figures per open group, column by column, for one UPDATE.
#[derive(Default)]
struct Additions {
    ids: Vec<i64>,
    counts: Vec<i64>,
    first: Vec<i64>,
    last: Vec<i64>,
    last_seqs: Vec<i64>,
    last_messages: Vec<Option<String>>,
    first_releases: Vec<Option<String>>,
    last_releases: Vec<Option<String>>,
    environments: Vec<serde_json::Value>,
}

impl Additions {
    /// `delta` is the group's events counted into a blank group.
    fn push(&mut self, id: i64, delta: &Group) -> PgResult<()> {
        self.ids.push(id);
        self.counts.push(big(delta.count));
        self.first.push(delta.first_seen);
        self.last.push(delta.last_seen);
        self.last_seqs.push(big(delta.last_event_seq));
        self.last_messages.push(delta.last_message.clone());
        self.first_releases.push(delta.first_release.clone());
        self.last_releases.push(delta.last_release.clone());
        // text[][] cannot be ragged: environments go as one JSON array each.
        self.environments.push(serde_json::to_value(&delta.environments)?);
        Ok(())
    }

    /// Adds the figures: the same outcome as counting each event with
    /// `rules::accumulate`, in sequence order (the latest event's message
    /// and release win; environments stay sorted by byte order).
    async fn apply(self, txn: &Transaction<'_>) -> PgResult<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let statement = txn
            .prepare_cached(
                "UPDATE groups AS g SET count = g.count + u.n, \
                    first_seen = least(g.first_seen, u.first_seen), \
                    last_seen = greatest(g.last_seen, u.last_seen), \
                    last_message = CASE WHEN u.last_seq >= g.last_event_seq THEN u.last_message ELSE g.last_message END, \
                    last_release = CASE WHEN u.last_release IS NOT NULL AND u.last_seq >= g.last_event_seq \
                        THEN u.last_release ELSE coalesce(g.last_release, u.last_release) END, \
                    last_event_seq = greatest(g.last_event_seq, u.last_seq), \
                    first_release = coalesce(g.first_release, u.first_release), \
                    environments = ARRAY(SELECT DISTINCT e COLLATE \"C\" FROM unnest(g.environments || \
                        ARRAY(SELECT json_array_elements_text(u.environments))) AS e ORDER BY 1), \
                    last_arrival = now() \
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], \
                             $7::text[], $8::text[], $9::json[]) \
                 AS u(id, n, first_seen, last_seen, last_seq, last_message, first_release, last_release, environments) \
                 WHERE g.id = u.id",
            )
            .await?;
        let updated = txn
            .execute(
                &statement,
                &[
                    &self.ids,
                    &self.counts,
                    &self.first,
                    &self.last,
                    &self.last_seqs,
                    &self.last_messages,
                    &self.first_releases,
                    &self.last_releases,
                    &self.environments,
                ],
            )
            .await?;
        if updated != self.ids.len() as u64 {
            return Err(PgError::Corrupt(format!(
                "{} of {} locked groups were updated",
                updated,
                self.ids.len()
            )));
        }
        Ok(())
    }
}
