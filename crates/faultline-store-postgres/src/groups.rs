//! Groups: reading, listing, and the user's actions (status changes,
//! merge, unmerge), each one transaction under the groups' row locks.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{GenericClient, Transaction};
use faultline_model::{ErrorEvent, Group, StatusChange, UnixNanos};
use faultline_store::{rules, Error as StoreError, GroupCursor, GroupFilter, GroupSort};
use tokio_postgres::Row;

use crate::error::{PgError, PgResult};
use crate::shared::{big, unsigned};

/// A group's columns as read: the body and, after it, the figures every
/// event changes, which live in columns of their own (see
/// `group_counts.rs`) and are the truth over the body's copies.
pub(crate) const COLUMNS: &str =
    "body, count, first_seen, last_seen, environments, last_event_seq, last_message, first_release, last_release";

/// The group in [`COLUMNS`] starting at `column`.
pub(crate) fn decode(row: &Row, column: usize) -> PgResult<Group> {
    let body: serde_json::Value = row.try_get(column)?;
    let mut group: Group = serde_json::from_value(body)?;
    group.count = unsigned(row.try_get(column + 1)?);
    group.first_seen = row.try_get(column + 2)?;
    group.last_seen = row.try_get(column + 3)?;
    group.environments = row.try_get(column + 4)?;
    group.last_event_seq = unsigned(row.try_get(column + 5)?);
    group.last_message = row.try_get(column + 6)?;
    group.first_release = row.try_get(column + 7)?;
    group.last_release = row.try_get(column + 8)?;
    Ok(group)
}

/// Locks groups (in id order, so concurrent commits queue rather than
/// deadlock) and reads them.
pub(crate) async fn lock_groups(txn: &Transaction<'_>, ids: &[i64]) -> PgResult<HashMap<i64, Group>> {
    let statement = txn
        .prepare_cached(&format!(
            "SELECT id, {COLUMNS} FROM groups WHERE id = ANY($1) ORDER BY id FOR UPDATE"
        ))
        .await?;
    let mut out = HashMap::with_capacity(ids.len());
    for row in txn.query(&statement, &[&ids]).await? {
        out.insert(row.try_get(0)?, decode(&row, 1)?);
    }
    Ok(out)
}

/// Writes groups (new or locked) whole: every column and the body.
pub(crate) async fn write_groups(txn: &Transaction<'_>, groups: &[&Group]) -> PgResult<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::new();
    let mut services = Vec::new();
    let mut statuses = Vec::new();
    let mut merged = Vec::new();
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut counts = Vec::new();
    let mut environments = Vec::new();
    let mut last_seqs = Vec::new();
    let mut last_messages = Vec::new();
    let mut first_releases = Vec::new();
    let mut last_releases = Vec::new();
    let mut bodies = Vec::new();
    for g in groups {
        ids.push(big(g.id));
        services.push(g.service.clone());
        statuses.push(g.status.as_str().to_string());
        merged.push(g.merged_into.map(big));
        first.push(g.first_seen);
        last.push(g.last_seen);
        counts.push(big(g.count));
        // text[][] cannot be ragged: environments go as one JSON array each.
        environments.push(serde_json::to_value(&g.environments)?);
        last_seqs.push(big(g.last_event_seq));
        last_messages.push(g.last_message.clone());
        first_releases.push(g.first_release.clone());
        last_releases.push(g.last_release.clone());
        bodies.push(serde_json::to_value(g)?);
    }
    let statement = txn
        .prepare_cached(
            "INSERT INTO groups AS g (id, service, status, merged_into, first_seen, last_seen, count, environments, \
                last_event_seq, last_message, first_release, last_release, body) \
             SELECT u.id, u.service, u.status, u.merged_into, u.first_seen, u.last_seen, u.count, \
                    ARRAY(SELECT json_array_elements_text(u.environments)), \
                    u.last_event_seq, u.last_message, u.first_release, u.last_release, u.body \
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::json[], \
                         $9::bigint[], $10::text[], $11::text[], $12::text[], $13::json[]) \
             AS u(id, service, status, merged_into, first_seen, last_seen, count, environments, \
                  last_event_seq, last_message, first_release, last_release, body) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, merged_into = excluded.merged_into, \
                first_seen = excluded.first_seen, last_seen = excluded.last_seen, count = excluded.count, \
                environments = excluded.environments, last_event_seq = excluded.last_event_seq, \
                last_message = excluded.last_message, first_release = excluded.first_release, \
                last_release = excluded.last_release, body = excluded.body, \
                last_arrival = CASE WHEN excluded.count > g.count THEN now() ELSE g.last_arrival END",
        )
        .await?;
    txn.execute(
        &statement,
        &[
            &ids,
            &services,
            &statuses,
            &merged,
            &first,
            &last,
            &counts,
            &environments,
            &last_seqs,
            &last_messages,
            &first_releases,
            &last_releases,
            &bodies,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn group(client: &impl GenericClient, id: u64) -> PgResult<Option<Group>> {
    let statement = client.prepare_cached(&format!("SELECT {COLUMNS} FROM groups WHERE id = $1")).await?;
    client.query_opt(&statement, &[&big(id)]).await?.map(|row| decode(&row, 0)).transpose()
}

/// One page of the listing, newest (or largest) first, and the next cursor.
pub(crate) async fn list(
    client: &impl GenericClient,
    filter: &GroupFilter,
) -> PgResult<(Vec<Group>, Option<GroupCursor>)> {
    let column = match filter.sort {
        GroupSort::LastSeen => "last_seen",
        GroupSort::FirstSeen => "first_seen",
        GroupSort::Count => "count",
    };
    let sql = format!(
        "SELECT {column}, id, {COLUMNS} FROM groups WHERE merged_into IS NULL \
         AND ($1::text IS NULL OR service = $1) \
         AND ($2::text IS NULL OR $2 = ANY(environments)) \
         AND ($3::text IS NULL OR status = $3) \
         AND ($4::bigint[] IS NULL OR id = ANY($4)) \
         AND ($5::bigint IS NULL OR ({column}, id) < ($5, $6)) \
         ORDER BY {column} DESC, id DESC LIMIT $7"
    );
    let statement = client.prepare_cached(&sql).await?;
    let ids: Option<Vec<i64>> = filter.ids.as_ref().map(|ids| ids.iter().map(|&id| big(id)).collect());
    let status = filter.status.map(|s| s.as_str());
    // Sort keys are bigint columns: a cursor beyond them is clamped.
    let cursor_key =
        filter.cursor.map(|(key, _)| i64::try_from(key).unwrap_or(if key < 0 { i64::MIN } else { i64::MAX }));
    let cursor_id = filter.cursor.map(|(_, id)| big(id));
    let limit = big(filter.limit as u64).saturating_add(1);
    let rows = client
        .query(
            &statement,
            &[&filter.service, &filter.environment, &status, &ids, &cursor_key, &cursor_id, &limit],
        )
        .await?;
    let mut page = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        keys.push((i128::from(row.try_get::<_, i64>(0)?), unsigned(row.try_get(1)?)));
        page.push(decode(row, 2)?);
    }
    let next = if page.len() > filter.limit {
        page.truncate(filter.limit);
        keys.get(filter.limit.saturating_sub(1)).copied().filter(|_| filter.limit > 0)
    } else {
        None
    };
    Ok((page, next))
}

/// A locked group that has not been merged away.
fn live(found: &mut HashMap<i64, Group>, id: u64) -> PgResult<Group> {
    let group = found.remove(&big(id)).ok_or(PgError::Store(StoreError::GroupNotFound(id)))?;
    if let Some(into) = group.merged_into {
        return Err(PgError::Store(StoreError::Invalid(format!("group {id} was merged into group {into}"))));
    }
    Ok(group)
}

pub(crate) async fn change_status(
    txn: &Transaction<'_>,
    id: u64,
    change: StatusChange,
    now: UnixNanos,
) -> PgResult<Group> {
    change.validate().map_err(|e| PgError::Store(StoreError::Invalid(e.to_string())))?;
    let mut group = live(&mut lock_groups(txn, &[big(id)]).await?, id)?;
    rules::apply_status(&mut group, change, now);
    write_groups(txn, &[&group]).await?;
    Ok(group)
}

/// Merges `sources` into `target`: their fingerprints now name the target
/// (so their events, found by fingerprint, and future ones are the
/// target's), their figures are added, and each is left as a redirect.
pub(crate) async fn merge(txn: &Transaction<'_>, target: u64, sources: &[u64]) -> PgResult<Group> {
    let invalid = |text: String| PgError::Store(StoreError::Invalid(text));
    let mut ids: Vec<i64> = sources.iter().map(|&s| big(s)).collect();
    ids.push(big(target));
    let mut found = lock_groups(txn, &ids).await?;
    let mut merged = live(&mut found.clone(), target)?;
    let unique: HashSet<u64> = sources.iter().copied().collect();
    if unique.is_empty() {
        return Err(invalid("name at least one group to merge".into()));
    }
    if unique.contains(&target) {
        return Err(invalid(format!("group {target} cannot be merged into itself")));
    }
    let mut emptied = Vec::new();
    let mut order: Vec<u64> = unique.into_iter().collect();
    order.sort_unstable();
    for source in order {
        let mut group = live(&mut found, source)?;
        if group.service != merged.service {
            return Err(invalid(format!(
                "group {source} belongs to service {:?}, group {target} to {:?}; only groups of one service merge",
                group.service, merged.service
            )));
        }
        let statement =
            txn.prepare_cached("UPDATE fingerprints SET group_id = $2 WHERE group_id = $1").await?;
        txn.execute(&statement, &[&big(source), &big(target)]).await?;
        rules::absorb(&mut merged, &group);
        group.merged_into = Some(target);
        group.count = 0;
        emptied.push(group);
    }
    let mut all: Vec<&Group> = emptied.iter().collect();
    all.push(&merged);
    write_groups(txn, &all).await?;
    Ok(merged)
}

/// Splits `fingerprints` off group `id` into a new group; both are
/// recounted from their events. Returns (remaining group, new group).
pub(crate) async fn unmerge(
    txn: &Transaction<'_>,
    id: u64,
    fingerprints: &[String],
) -> PgResult<(Group, Group)> {
    let invalid = |text: String| PgError::Store(StoreError::Invalid(text));
    let split: HashSet<&str> = fingerprints.iter().map(String::as_str).collect();
    let original = live(&mut lock_groups(txn, &[big(id)]).await?, id)?;
    if split.is_empty() {
        return Err(invalid("name at least one fingerprint to unmerge".into()));
    }
    if let Some(fp) = split.iter().find(|fp| !original.fingerprints.iter().any(|own| own == *fp)) {
        return Err(invalid(format!("fingerprint {fp} is not in group {id}")));
    }
    if split.len() >= original.fingerprints.len() {
        return Err(invalid(format!("group {id} would keep no fingerprint; leave at least one")));
    }
    let first = fingerprints.first().map(String::as_str).unwrap_or_default();
    let naming = txn
        .query_opt(
            "SELECT title, culprit, grouping_version FROM fingerprints WHERE fingerprint = $1",
            &[&first],
        )
        .await?
        .ok_or_else(|| invalid(format!("unknown fingerprint {first}")))?;
    let (title, culprit, version): (String, String, i32) =
        (naming.try_get(0)?, naming.try_get(1)?, naming.try_get(2)?);
    let new_id: i64 = txn.query_one("SELECT nextval('group_ids')", &[]).await?.try_get(0)?;
    let named = |id: u64, fingerprint: &str| {
        let mut g = rules::blank(id, &original.service, fingerprint);
        g.title = title.clone();
        g.culprit = culprit.clone();
        g.grouping_version = u32::try_from(version).unwrap_or(0);
        g.fingerprints = Vec::new();
        g
    };
    let mut moved = named(unsigned(new_id), first);
    moved.fingerprints =
        original.fingerprints.iter().filter(|f| split.contains(f.as_str())).cloned().collect();
    let mut kept = named(id, &original.fingerprint);
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
    let statement = txn
        .prepare_cached("SELECT fingerprint, body FROM events WHERE fingerprint = ANY($1) ORDER BY id")
        .await?;
    for row in txn.query(&statement, &[&original.fingerprints]).await? {
        let fingerprint: String = row.try_get(0)?;
        let event: ErrorEvent = serde_json::from_value(row.try_get(1)?)?;
        if split.contains(fingerprint.as_str()) {
            if moved.exception_type.is_none() {
                moved.exception_type = event.exception_type.clone();
            }
            rules::accumulate(&mut moved, &event);
        } else {
            rules::accumulate(&mut kept, &event);
        }
    }
    let statement =
        txn.prepare_cached("UPDATE fingerprints SET group_id = $2 WHERE fingerprint = ANY($1)").await?;
    txn.execute(&statement, &[&moved.fingerprints, &new_id]).await?;
    write_groups(txn, &[&kept, &moved]).await?;
    Ok((kept, moved))
}
