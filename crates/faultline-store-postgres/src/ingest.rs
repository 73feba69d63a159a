//! One group commit of exports: events numbered from a sequence, their
//! fingerprints found or claimed, the events written in one multi-row
//! insert, the health figures folded into their buckets, and last the
//! groups counted (`group_counts.rs`), all in one transaction.
//!
//! Several nodes (and this node's writers) commit at once:
//! - a new fingerprint is claimed with `INSERT ... ON CONFLICT DO NOTHING`
//!   on its primary key, so of two nodes seeing it at once one makes the
//!   group and the other waits for that commit and joins the group;
//! - groups are locked only at the end, in id order, and open ones are
//!   added to (`count = count + n`), so counts from concurrent commits add
//!   up exactly; a deadlock that happens anyway reruns the transaction;
//! - a merge or unmerge that moved a fingerprint between the lookup and
//!   the lock is seen by looking the fingerprints up again once locked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

use deadpool_postgres::Transaction;
use faultline_model::{ErrorEvent, Grouping};
use faultline_store::rules;
use faultline_store::{Committed, EventBatch, HealthBatch};

use crate::error::{PgError, PgResult};
use crate::group_counts::{missing, Assigned, Pending};
use crate::shared::{big, Shared};

const NANOS_PER_HOUR: i64 = 3_600 * 1_000_000_000;

/// Commits the exports; returns each one's events as committed.
pub(crate) async fn commit(
    shared: &Shared,
    exports: &[(&EventBatch, &HealthBatch)],
) -> PgResult<Vec<Vec<Committed>>> {
    let stored_at = SystemTime::now();
    let mut client = shared.pool.get().await?;
    let has_events = exports.iter().any(|(events, _)| !events.is_empty());
    if has_events {
        crate::partitions::ensure(shared, &client, crate::partitions::day_of(stored_at)).await?;
    }
    let txn = client.transaction().await?;
    let pending = if has_events { Some(add_events(shared, &txn, exports, stored_at).await?) } else { None };
    let health: Vec<&HealthBatch> = exports.iter().map(|(_, h)| *h).collect();
    crate::health::add(shared, &txn, &health).await?;
    let answers = match pending {
        Some(pending) => crate::group_counts::settle(&txn, pending).await?,
        None => vec![Vec::new(); exports.len()],
    };
    // The alert leader's facts, durable exactly when the events are.
    crate::cluster::queue_committed(&txn, &answers).await?;
    txn.commit().await?;
    Ok(answers)
}

/// Numbers the events, decides their groups and inserts them; the groups
/// are counted later, by `group_counts::settle`.
async fn add_events(
    shared: &Shared,
    txn: &Transaction<'_>,
    exports: &[(&EventBatch, &HealthBatch)],
    stored_at: SystemTime,
) -> PgResult<Pending> {
    let names: Vec<String> = exports
        .iter()
        .flat_map(|(events, _)| events.iter())
        .flat_map(|(_, g)| {
            std::iter::once(g.fingerprint.clone()).chain(g.previous_fingerprints.iter().cloned())
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = lookup(txn, &names).await?;
    let mut pending = Pending {
        exports: exports.len(),
        assigned: Vec::new(),
        made: HashMap::new(),
        changes: HashMap::new(),
        found: found.clone(),
        reserved: HashMap::new(),
    };
    // Fingerprint -> group id, as stored or decided in this transaction.
    let mut by_fingerprint = found;

    let total: i64 = exports.iter().map(|(events, _)| big(events.len() as u64)).sum();
    let numbers = txn
        .query(
            &txn.prepare_cached("SELECT nextval('event_ids') FROM generate_series(1, $1::bigint) ORDER BY 1")
                .await?,
            &[&total],
        )
        .await?;
    let mut numbers = numbers.iter().map(|row| row.try_get::<_, i64>(0));

    let mut makers = claim_new(shared, txn, exports, &mut by_fingerprint, &mut pending).await?;
    let mut rows = EventRows::default();
    for (export, (events, _)) in exports.iter().enumerate() {
        for (event, grouping) in events.iter() {
            let seq =
                numbers.next().ok_or_else(|| PgError::Corrupt("the sequence gave too few ids".into()))??;
            let (group_id, _) =
                group_of(shared, txn, &mut by_fingerprint, &mut pending, event, grouping).await?;
            // The first event of a fingerprint that made a group is the one
            // that made it.
            let new_group = makers.remove(&grouping.fingerprint);
            let mut event = event.clone();
            event.seq = crate::shared::unsigned(seq);
            event.group_id = crate::shared::unsigned(group_id);
            rows.push(seq, &grouping.fingerprint, &event)?;
            pending.assigned.push(Assigned { export, event, new_group });
        }
    }
    rows.insert(txn, stored_at).await?;
    Ok(pending)
}

/// Finds or makes the group of every fingerprint not stored yet, before
/// the events are counted, in (service, fingerprint) order: commits
/// claiming the same new fingerprints (and their services' new-group
/// slots) then take those locks in one order and do not deadlock. Returns
/// the fingerprints whose claim made a group.
async fn claim_new(
    shared: &Shared,
    txn: &Transaction<'_>,
    exports: &[(&EventBatch, &HealthBatch)],
    by_fingerprint: &mut HashMap<String, i64>,
    pending: &mut Pending,
) -> PgResult<HashSet<String>> {
    let mut new: BTreeMap<(&str, &str), (&ErrorEvent, &Grouping)> = BTreeMap::new();
    let mut arrival: Vec<&str> = Vec::new();
    for (event, grouping) in exports.iter().flat_map(|(events, _)| events.iter()) {
        if !by_fingerprint.contains_key(&grouping.fingerprint) {
            let key = (event.service.as_str(), grouping.fingerprint.as_str());
            if let std::collections::btree_map::Entry::Vacant(slot) = new.entry(key) {
                arrival.push(grouping.fingerprint.as_str());
                slot.insert((event, grouping));
            }
        }
    }
    if !arrival.is_empty() {
        let statement = txn
            .prepare_cached("SELECT nextval('group_ids') FROM generate_series(1, $1::bigint) ORDER BY 1")
            .await?;
        let ids = txn.query(&statement, &[&big(arrival.len() as u64)]).await?;
        for (fingerprint, row) in arrival.iter().zip(&ids) {
            pending.reserved.entry((*fingerprint).to_string()).or_insert(row.try_get(0)?);
        }
    }
    let mut makers = HashSet::new();
    for (event, grouping) in new.into_values() {
        if by_fingerprint.contains_key(&grouping.fingerprint) {
            continue; // one fingerprint sent by two services: claimed once
        }
        let (_, made) = group_of(shared, txn, by_fingerprint, pending, event, grouping).await?;
        if made {
            makers.insert(grouping.fingerprint.clone());
        }
    }
    Ok(makers)
}

/// Fingerprint -> group id of those stored.
pub(crate) async fn lookup(txn: &Transaction<'_>, names: &[String]) -> PgResult<HashMap<String, i64>> {
    let statement = txn
        .prepare_cached("SELECT fingerprint, group_id FROM fingerprints WHERE fingerprint = ANY($1)")
        .await?;
    let mut out = HashMap::with_capacity(names.len());
    for row in txn.query(&statement, &[&names]).await? {
        out.insert(row.try_get(0)?, row.try_get(1)?);
    }
    Ok(out)
}

/// The group an event joins: its fingerprint's, an earlier grouping
/// version's (the new fingerprint is added to it), a new one, or past the
/// new-group cap its service's overflow group. And whether it made it.
async fn group_of(
    shared: &Shared,
    txn: &Transaction<'_>,
    by_fingerprint: &mut HashMap<String, i64>,
    pending: &mut Pending,
    event: &ErrorEvent,
    grouping: &Grouping,
) -> PgResult<(i64, bool)> {
    if let Some(&id) = by_fingerprint.get(&grouping.fingerprint) {
        return Ok((id, false));
    }
    if let Some(id) = grouping.previous_fingerprints.iter().find_map(|p| by_fingerprint.get(p).copied()) {
        let id = join(txn, by_fingerprint, pending, id, grouping, Joins::Listed).await?;
        return Ok((id, false));
    }
    let allowed = match shared.options.max_new_groups_per_service_per_hour {
        None => true,
        Some(max) => claim_new_group_slot(txn, &event.service, big(max)).await?,
    };
    if allowed {
        let (id, made) = claim(txn, by_fingerprint, pending, event, grouping).await?;
        if !made && shared.options.max_new_groups_per_service_per_hour.is_some() {
            release_new_group_slot(txn, &event.service).await?;
        }
        return Ok((id, made));
    }
    let overflow = rules::overflow_grouping(&event.service);
    let (id, made) = claim(txn, by_fingerprint, pending, event, &overflow).await?;
    let id = join(txn, by_fingerprint, pending, id, grouping, Joins::Collapsed).await?;
    Ok((id, made))
}

/// How a fingerprint joins a group: named in its list, or counted as one
/// collapsed into its service's overflow group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Joins {
    Listed,
    Collapsed,
}

/// Adds `grouping`'s fingerprint to group `id`; returns the group it
/// names (another node's, if one added it meanwhile).
async fn join(
    txn: &Transaction<'_>,
    by_fingerprint: &mut HashMap<String, i64>,
    pending: &mut Pending,
    id: i64,
    grouping: &Grouping,
    joins: Joins,
) -> PgResult<i64> {
    let inserted = insert_fingerprint(txn, &grouping.fingerprint, id, grouping).await?;
    let id = match inserted {
        Some(id) => id,
        // Another node added it meanwhile (its commit is visible now).
        None => lookup(txn, std::slice::from_ref(&grouping.fingerprint))
            .await?
            .get(&grouping.fingerprint)
            .copied()
            .ok_or_else(|| missing(id))?,
    };
    by_fingerprint.insert(grouping.fingerprint.clone(), id);
    if inserted.is_some() {
        let change = pending.changes.entry(id).or_default();
        match joins {
            Joins::Listed => change.fingerprints.push(grouping.fingerprint.clone()),
            Joins::Collapsed => change.collapsed += 1,
        }
    }
    Ok(id)
}

/// Finds or makes the group of a fingerprint nobody had when the batch
/// began: whoever inserts the fingerprint first makes the group.
async fn claim(
    txn: &Transaction<'_>,
    by_fingerprint: &mut HashMap<String, i64>,
    pending: &mut Pending,
    event: &ErrorEvent,
    grouping: &Grouping,
) -> PgResult<(i64, bool)> {
    if let Some(&id) = by_fingerprint.get(&grouping.fingerprint) {
        return Ok((id, false));
    }
    // COALESCE evaluates nextval only when no id was reserved.
    let statement = txn
        .prepare_cached(
            "INSERT INTO fingerprints (fingerprint, group_id, grouping_version, title, culprit, method) \
             VALUES ($1, coalesce($6::bigint, nextval('group_ids')), $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING RETURNING group_id",
        )
        .await?;
    let version = i32::try_from(grouping.version).unwrap_or(i32::MAX);
    let reserved = pending.reserved.remove(&grouping.fingerprint);
    let row = txn
        .query_opt(
            &statement,
            &[
                &grouping.fingerprint,
                &version,
                &grouping.title,
                &grouping.culprit,
                &grouping.method,
                &reserved,
            ],
        )
        .await?;
    let (id, made) = match row {
        Some(row) => {
            let id: i64 = row.try_get(0)?;
            pending.made.insert(id, rules::new_group(crate::shared::unsigned(id), event, grouping));
            (id, true)
        }
        None => {
            // Another node made it; its group is counted like any stored one.
            let found = lookup(txn, std::slice::from_ref(&grouping.fingerprint)).await?;
            let id = *found
                .get(&grouping.fingerprint)
                .ok_or_else(|| PgError::Corrupt(format!("fingerprint {} vanished", grouping.fingerprint)))?;
            (id, false)
        }
    };
    by_fingerprint.insert(grouping.fingerprint.clone(), id);
    Ok((id, made))
}

async fn insert_fingerprint(
    txn: &Transaction<'_>,
    fingerprint: &str,
    id: i64,
    grouping: &Grouping,
) -> PgResult<Option<i64>> {
    let statement = txn
        .prepare_cached(
            "INSERT INTO fingerprints (fingerprint, group_id, grouping_version, title, culprit, method) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING group_id",
        )
        .await?;
    let version = i32::try_from(grouping.version).unwrap_or(i32::MAX);
    let row = txn
        .query_opt(
            &statement,
            &[&fingerprint, &id, &version, &grouping.title, &grouping.culprit, &grouping.method],
        )
        .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(PgError::from)
}

/// Counts one more new group for `service` this hour if under `max`
/// (one statement, so nodes cannot both take the last slot).
async fn claim_new_group_slot(txn: &Transaction<'_>, service: &str, max: i64) -> PgResult<bool> {
    let hour = faultline_model::now_nanos().div_euclid(NANOS_PER_HOUR);
    let statement = txn
        .prepare_cached(
            "INSERT INTO new_groups_per_hour AS n (service, hour, made) SELECT $1, $2::bigint, 1 WHERE $3::bigint > 0 \
             ON CONFLICT (service, hour) DO UPDATE SET made = n.made + 1 WHERE n.made < $3::bigint RETURNING made",
        )
        .await?;
    Ok(txn.query_opt(&statement, &[&service, &hour, &max]).await?.is_some())
}

/// Gives back a slot taken for a fingerprint another node grouped first.
async fn release_new_group_slot(txn: &Transaction<'_>, service: &str) -> PgResult<()> {
    let hour = faultline_model::now_nanos().div_euclid(NANOS_PER_HOUR);
    let statement = txn
        .prepare_cached(
            "UPDATE new_groups_per_hour SET made = made - 1 WHERE service = $1 AND hour = $2 AND made > 0",
        )
        .await?;
    txn.execute(&statement, &[&service, &hour]).await?;
    Ok(())
}

/// The batch's event rows, column by column, for one multi-row insert.
#[derive(Default)]
struct EventRows {
    ids: Vec<i64>,
    fingerprints: Vec<String>,
    services: Vec<String>,
    occurred: Vec<i64>,
    bodies: Vec<serde_json::Value>,
}

impl EventRows {
    fn push(&mut self, id: i64, fingerprint: &str, event: &ErrorEvent) -> PgResult<()> {
        self.ids.push(id);
        self.fingerprints.push(fingerprint.to_string());
        self.services.push(event.service.clone());
        self.occurred.push(event.timestamp);
        self.bodies.push(serde_json::to_value(event)?);
        Ok(())
    }

    async fn insert(self, txn: &Transaction<'_>, stored_at: SystemTime) -> PgResult<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let statement = txn
            .prepare_cached(
                "INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body) \
                 SELECT u.id, $2, u.fingerprint, u.service, u.occurred_at, u.body \
                 FROM unnest($1::bigint[], $3::text[], $4::text[], $5::bigint[], $6::json[]) \
                 AS u(id, fingerprint, service, occurred_at, body)",
            )
            .await?;
        txn.execute(
            &statement,
            &[&self.ids, &stored_at, &self.fingerprints, &self.services, &self.occurred, &self.bodies],
        )
        .await?;
        Ok(())
    }
}
