//! API health: buckets per endpoint and minute (`health_minutes`), rolled
//! up into hours (`health_hours`) and expired by maintenance.
//!
//! An export's figures are folded into their buckets in the export's own
//! transaction. The latency sketch is a DDSketch that only Rust can merge,
//! so a bucket row is read under its row lock (`FOR UPDATE`), merged and
//! written back, the lock held until COMMIT. For those locks not to queue
//! every writer of every node behind the same endpoint-minute, each bucket
//! is stored as several rows, one per `shard`: each writer task folds into
//! its own shard (`SHARD`, taken from the sequence `health_shards` when the
//! writer starts; see migration 3), so the only transaction that ever waits
//! on a writer's health rows is maintenance rolling them up. Reads add all
//! shards of a bucket up; maintenance merges a minute's shards into shard 0
//! of its hour.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Transaction};
use faultline_model::{HealthBucket, HealthKey, UnixNanos};
use faultline_store::{rules, HealthBatch, HealthFilter, OVERFLOW_ROUTE};

use crate::error::{PgError, PgResult};
use crate::shared::{big, unsigned, Shared};

/// Minute or hour buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Table {
    Minutes,
    Hours,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Minutes => "health_minutes",
            Table::Hours => "health_hours",
        }
    }

    fn slot(self) -> &'static str {
        match self {
            Table::Minutes => "minute",
            Table::Hours => "hour",
        }
    }
}

type Buckets = BTreeMap<(Table, u64, HealthKey), HealthBucket>;

/// The shard rows of maintenance's rollup (and of rows imported or written
/// before shards existed); writers' shards start at 1.
const ROLLUP_SHARD: i32 = 0;

tokio::task_local! {
    /// The health shard of the writer task running this code (set by
    /// `writer::run` around its loop).
    pub(crate) static SHARD: i32;
}

/// Rounds of lock / update / insert before giving up on a transaction
/// whose rows keep appearing and disappearing under it (see `merge_into`).
const MERGE_ROUNDS: usize = 4;

/// New shard ids for `n` writers starting now.
pub(crate) async fn take_shards(client: &impl GenericClient, n: usize) -> PgResult<Vec<i32>> {
    let rows = client
        .query(
            "SELECT nextval('health_shards')::integer FROM generate_series(1, $1::bigint)",
            &[&big(n as u64)],
        )
        .await?;
    rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
}

/// Folds the exports' figures into their buckets.
pub(crate) async fn add(shared: &Shared, txn: &Transaction<'_>, batches: &[&HealthBatch]) -> PgResult<()> {
    if batches.iter().all(|b| b.is_empty()) {
        return Ok(());
    }
    let cutoff = rules::rollup_cutoff(faultline_model::now_nanos(), &shared.options.health);
    let mut incoming: BTreeMap<(HealthKey, u64), HealthBucket> = BTreeMap::new();
    for batch in batches {
        for ((key, minute), bucket) in batch.iter() {
            incoming.entry((key.clone(), *minute)).or_default().merge(bucket);
        }
    }
    // Admitted in key order, so commits admitting the same new endpoints
    // take their services' locks in one order and do not deadlock.
    let mut buckets = Buckets::new();
    for ((key, minute), bucket) in incoming {
        let key = admit(shared, txn, key, bucket.requests).await?;
        // Minutes already rolled up go straight into their hour.
        let slot = if minute < cutoff {
            (Table::Hours, rules::hour_of_minute(minute))
        } else {
            (Table::Minutes, minute)
        };
        buckets.entry((slot.0, slot.1, key)).or_default().merge(&bucket);
    }
    // Outside a writer task (nothing calls it so today) shard 0 is still
    // exact: it only shares its rows with maintenance, which it waits for.
    let shard = SHARD.try_with(|shard| *shard).unwrap_or(ROLLUP_SHARD);
    merge_into(txn, buckets, shard).await
}

/// The key to count under: the endpoint, or route `other` when its
/// service already has `max_endpoints_per_service` endpoints.
///
/// A new endpoint's admission first takes an advisory lock of its service
/// until the commit: without it, nodes (or this node's writers) admitting
/// new endpoints of one service at the same moment each counted the rows
/// committed before them and could each let one through past the cap.
/// With it the count is made after the other's commit (READ COMMITTED
/// takes a new snapshot per statement). Only endpoints this node has not
/// seen yet take it, so the steady state does not queue on it; two
/// transactions taking two services' locks in opposite orders deadlock,
/// which PostgreSQL detects and the writer reruns.
async fn admit(shared: &Shared, txn: &Transaction<'_>, key: HealthKey, requests: u64) -> PgResult<HealthKey> {
    let endpoint = (key.service.clone(), key.route.clone(), key.method.clone());
    if key.route == OVERFLOW_ROUTE
        || shared.endpoints.lock().unwrap_or_else(|p| p.into_inner()).contains(&endpoint)
    {
        return Ok(key);
    }
    // Key space: (the "endpoints" class, the service's hash).
    let lock = txn
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtext('faultline endpoints'), hashtext($1))")
        .await?;
    txn.execute(&lock, &[&key.service]).await?;
    let max = big(shared.options.health.max_endpoints_per_service as u64);
    let statement = txn
        .prepare_cached(
            "WITH added AS (INSERT INTO endpoints (service, route, method) \
                SELECT $1, $2, $3 WHERE (SELECT count(*) FROM endpoints WHERE service = $1) < $4 \
                ON CONFLICT DO NOTHING RETURNING 1) \
             SELECT EXISTS (SELECT 1 FROM added) OR EXISTS \
                (SELECT 1 FROM endpoints WHERE service = $1 AND route = $2 AND method = $3)",
        )
        .await?;
    let mut admitted: bool =
        txn.query_one(&statement, &[&key.service, &key.route, &key.method, &max]).await?.try_get(0)?;
    if !admitted {
        // The insert may have waited for another node adding the same
        // endpoint, whose row the statement's snapshot predates: look again.
        let statement = txn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM endpoints WHERE service = $1 AND route = $2 AND method = $3)",
            )
            .await?;
        admitted = txn.query_one(&statement, &[&key.service, &key.route, &key.method]).await?.try_get(0)?;
    }
    if admitted {
        shared.endpoints.lock().unwrap_or_else(|p| p.into_inner()).insert(endpoint);
        return Ok(key);
    }
    shared.overflowed.fetch_add(requests, std::sync::atomic::Ordering::Relaxed);
    Ok(HealthKey { route: OVERFLOW_ROUTE.to_string(), method: String::new(), ..key })
}

/// Adds buckets to shard `shard`'s stored rows: the rows that exist are
/// locked, merged and updated, the missing ones inserted whole. A row can
/// vanish between statements (maintenance rolled it up) or appear (another
/// transaction on the same shard, only possible for shard 0 or a reused
/// id): an insert that meets a row made meanwhile (`ON CONFLICT DO
/// NOTHING` returns no key) goes round again, now finding it to lock.
pub(crate) async fn merge_into(txn: &Transaction<'_>, buckets: Buckets, shard: i32) -> PgResult<()> {
    for table in [Table::Minutes, Table::Hours] {
        let mut part: BTreeMap<(u64, HealthKey), HealthBucket> = buckets
            .iter()
            .filter(|((t, _, _), _)| *t == table)
            .map(|((_, slot, key), bucket)| ((*slot, key.clone()), bucket.clone()))
            .collect();
        for _ in 0..MERGE_ROUNDS {
            if part.is_empty() {
                break;
            }
            let stored = lock_rows(txn, table, shard, &part).await?;
            let (found, missing): (Vec<_>, Vec<_>) =
                std::mem::take(&mut part).into_iter().partition(|(at, _)| stored.contains_key(at));
            let updates = found
                .into_iter()
                .map(|(at, bucket)| {
                    let mut merged = stored.get(&at).cloned().unwrap_or_default();
                    merged.merge(&bucket);
                    (at, bucket, merged)
                })
                .collect::<Vec<_>>();
            update_rows(txn, table, shard, &updates).await?;
            let inserted = insert_rows(txn, table, shard, &missing).await?;
            part = missing.into_iter().filter(|(at, _)| !inserted.contains(at)).collect();
        }
        if !part.is_empty() {
            return Err(PgError::Retry("health rows kept changing under the transaction"));
        }
    }
    Ok(())
}

const KEYS: &str = "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                    AS u(slot, service, environment, route, method)";

/// Locks the shard's existing rows for `part`'s buckets, in key order;
/// returns their stored sketches.
async fn lock_rows(
    txn: &Transaction<'_>,
    table: Table,
    shard: i32,
    part: &BTreeMap<(u64, HealthKey), HealthBucket>,
) -> PgResult<BTreeMap<(u64, HealthKey), HealthBucket>> {
    let mut cols = Columns::default();
    part.keys().for_each(|(slot, key)| cols.push_key(*slot, key));
    let (name, slot) = (table.name(), table.slot());
    let lock = txn
        .prepare_cached(&format!(
            "SELECT h.{slot}, h.service, h.environment, h.route, h.method, h.latency FROM {name} h JOIN {KEYS} \
             ON h.{slot} = u.slot AND h.service = u.service AND h.environment = u.environment \
             AND h.route = u.route AND h.method = u.method AND h.shard = $6 \
             ORDER BY 1, 2, 3, 4, 5 FOR UPDATE OF h"
        ))
        .await?;
    let mut stored = BTreeMap::new();
    for row in txn
        .query(&lock, &[&cols.slots, &cols.services, &cols.environments, &cols.routes, &cols.methods, &shard])
        .await?
    {
        let key = key_of(&row)?;
        let latency: Vec<u8> = row.try_get(5)?;
        stored.insert((unsigned(row.try_get(0)?), key), rules::decode_bucket(&latency)?);
    }
    Ok(stored)
}

/// Adds the counts of locked rows and stores their merged sketches:
/// (slot and key, what is added, the sketch after merging).
async fn update_rows(
    txn: &Transaction<'_>,
    table: Table,
    shard: i32,
    updates: &[((u64, HealthKey), HealthBucket, HealthBucket)],
) -> PgResult<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let mut cols = Columns::default();
    for ((slot, key), added, merged) in updates {
        cols.push_bucket(*slot, key, added, merged);
    }
    let (name, slot) = (table.name(), table.slot());
    let statement = txn
        .prepare_cached(&format!(
            "UPDATE {name} h SET requests = h.requests + u.requests, errors = h.errors + u.errors, \
             client_errors = h.client_errors + u.client_errors, latency = u.latency \
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bytea[]) \
             AS u(slot, service, environment, route, method, requests, errors, client_errors, latency) \
             WHERE h.{slot} = u.slot AND h.service = u.service AND h.environment = u.environment \
             AND h.route = u.route AND h.method = u.method AND h.shard = $10"
        ))
        .await?;
    txn.execute(&statement, &cols.params_with(&shard)).await?;
    Ok(())
}

/// Inserts rows for buckets the shard has no row for yet; returns the
/// ones inserted (a row another transaction made meanwhile is left alone).
async fn insert_rows(
    txn: &Transaction<'_>,
    table: Table,
    shard: i32,
    missing: &[((u64, HealthKey), HealthBucket)],
) -> PgResult<std::collections::BTreeSet<(u64, HealthKey)>> {
    if missing.is_empty() {
        return Ok(Default::default());
    }
    let mut cols = Columns::default();
    for ((slot, key), bucket) in missing {
        cols.push_bucket(*slot, key, bucket, bucket);
    }
    let (name, slot) = (table.name(), table.slot());
    let statement = txn
        .prepare_cached(&format!(
            "INSERT INTO {name} ({slot}, service, environment, route, method, requests, errors, client_errors, latency, shard) \
             SELECT u.*, $10 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bytea[]) \
             AS u(slot, service, environment, route, method, requests, errors, client_errors, latency) \
             ORDER BY 1, 2, 3, 4, 5 ON CONFLICT DO NOTHING \
             RETURNING {slot}, service, environment, route, method"
        ))
        .await?;
    let mut inserted = std::collections::BTreeSet::new();
    for row in txn.query(&statement, &cols.params_with(&shard)).await? {
        inserted.insert((unsigned(row.try_get(0)?), key_of(&row)?));
    }
    Ok(inserted)
}

#[derive(Default)]
struct Columns {
    slots: Vec<i64>,
    services: Vec<String>,
    environments: Vec<String>,
    routes: Vec<String>,
    methods: Vec<String>,
    requests: Vec<i64>,
    errors: Vec<i64>,
    client_errors: Vec<i64>,
    latency: Vec<Vec<u8>>,
}

impl Columns {
    fn push_key(&mut self, slot: u64, key: &HealthKey) {
        self.slots.push(big(slot));
        self.services.push(key.service.clone());
        self.environments.push(key.environment.clone());
        self.routes.push(key.route.clone());
        self.methods.push(key.method.clone());
    }

    /// A row's key, the counts `added` and the sketch to store.
    fn push_bucket(&mut self, slot: u64, key: &HealthKey, added: &HealthBucket, stored: &HealthBucket) {
        self.push_key(slot, key);
        self.requests.push(big(added.requests));
        self.errors.push(big(added.errors));
        self.client_errors.push(big(added.client_errors));
        self.latency.push(rules::encode_bucket(stored));
    }

    /// The nine columns as statement parameters $1-$9, and `shard` as $10.
    fn params_with<'a>(&'a self, shard: &'a i32) -> [&'a (dyn tokio_postgres::types::ToSql + Sync); 10] {
        [
            &self.slots,
            &self.services,
            &self.environments,
            &self.routes,
            &self.methods,
            &self.requests,
            &self.errors,
            &self.client_errors,
            &self.latency,
            shard,
        ]
    }
}

const NANOS_PER_MINUTE: i64 = 60_000_000_000;

/// Every bucket row overlapping `[from, to)` the filter accepts, with its
/// slot's start time; hourly buckets are included whole. A bucket comes
/// as one row per shard that holds part of it: callers merge by key and
/// time, which adds the shards up.
pub(crate) async fn scan(
    client: &impl GenericClient,
    from: UnixNanos,
    to: UnixNanos,
    filter: &HealthFilter,
) -> PgResult<Vec<(UnixNanos, HealthKey, HealthBucket)>> {
    let first_minute = faultline_store::health::minute_of(from);
    let end_minute = faultline_store::health::minute_of(to.saturating_sub(1)) + 1;
    let ranges = [
        (Table::Minutes, first_minute, end_minute, 1u64),
        (Table::Hours, first_minute / 60, end_minute.div_ceil(60), 60u64),
    ];
    let mut out = Vec::new();
    for (table, first, end, minutes) in ranges {
        let (name, slot) = (table.name(), table.slot());
        let statement = client
            .prepare_cached(&format!(
                "SELECT {slot}, service, environment, route, method, requests, errors, client_errors, latency FROM {name} \
                 WHERE {slot} >= $1 AND {slot} < $2 AND ($3::text IS NULL OR service = $3) \
                 AND ($4::text IS NULL OR environment = $4) AND ($5::text IS NULL OR route = $5) \
                 AND ($6::text IS NULL OR method = $6)"
            ))
            .await?;
        let rows = client
            .query(
                &statement,
                &[
                    &big(first),
                    &big(end),
                    &filter.service,
                    &filter.environment,
                    &filter.route,
                    &filter.method,
                ],
            )
            .await?;
        for row in rows {
            let (key, bucket) = (key_of(&row)?, bucket_of(&row)?);
            let start =
                i64::try_from(unsigned(row.try_get(0)?) * minutes).unwrap_or(i64::MAX / NANOS_PER_MINUTE);
            out.push((start.saturating_mul(NANOS_PER_MINUTE), key, bucket));
        }
    }
    Ok(out)
}

/// Rolls minutes older than `rollup_after` into hours, drops hours past the
/// retention, and with them old deliveries and check runs. Nodes take
/// turns (an advisory lock), so shard 0 of the hours has one writer at a
/// time. A minute's rows of every shard are deleted and returned with the
/// figures they hold when deleted: a writer still folding into one (a
/// late export at the cutoff) holds its lock, the DELETE waits for that
/// commit and takes the row as committed; a row a writer makes after the
/// DELETE is rolled up by the next pass.
pub(crate) async fn maintain(shared: &Shared, txn: &Transaction<'_>, now: UnixNanos) -> PgResult<()> {
    const MAX_ROWS_PER_PASS: i64 = 20_000;
    txn.execute("SELECT pg_advisory_xact_lock(7270761357)", &[]).await?;
    let options = &shared.options.health;
    let cutoff = big(rules::rollup_cutoff(now, options));
    let rows = txn
        .query(
            "DELETE FROM health_minutes WHERE (minute, service, environment, route, method, shard) IN \
             (SELECT minute, service, environment, route, method, shard FROM health_minutes WHERE minute < $1 LIMIT $2) \
             RETURNING minute, service, environment, route, method, requests, errors, client_errors, latency",
            &[&cutoff, &MAX_ROWS_PER_PASS],
        )
        .await?;
    let mut hours = Buckets::new();
    for row in rows {
        let (key, bucket) = (key_of(&row)?, bucket_of(&row)?);
        let hour = rules::hour_of_minute(unsigned(row.try_get(0)?));
        hours.entry((Table::Hours, hour, key)).or_default().merge(&bucket);
    }
    merge_into(txn, hours, ROLLUP_SHARD).await?;
    let first_kept_hour = rules::retention_cutoff_hour(now, options);
    txn.execute("DELETE FROM health_hours WHERE hour < $1", &[&big(first_kept_hour)]).await?;
    // Delivery attempts and check runs are kept as long as health figures.
    let oldest_kept = faultline_store::health::minute_start(first_kept_hour * 60);
    txn.execute("DELETE FROM alert_deliveries WHERE at < $1", &[&oldest_kept]).await?;
    txn.execute("DELETE FROM check_runs WHERE at < $1", &[&oldest_kept]).await?;
    Ok(())
}

/// The endpoint of a bucket row: columns 1-4 (service, environment, route, method).
fn key_of(row: &tokio_postgres::Row) -> PgResult<HealthKey> {
    Ok(HealthKey {
        service: row.try_get(1)?,
        environment: row.try_get(2)?,
        route: row.try_get(3)?,
        method: row.try_get(4)?,
    })
}

/// A bucket row's figures: counts in columns 5-7, the latency sketch in 8.
fn bucket_of(row: &tokio_postgres::Row) -> PgResult<HealthBucket> {
    let latency: Vec<u8> = row.try_get(8)?;
    let mut bucket = rules::decode_bucket(&latency)?;
    bucket.requests = unsigned(row.try_get(5)?);
    bucket.errors = unsigned(row.try_get(6)?);
    bucket.client_errors = unsigned(row.try_get(7)?);
    Ok(bucket)
}

#[cfg(test)]
mod admit_tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::{PgOptions, PgStore};

    fn key(service: &str, route: &str) -> HealthKey {
        HealthKey {
            service: service.into(),
            environment: String::new(),
            route: route.into(),
            method: "GET".into(),
        }
    }

    /// Two nodes' transactions admitting new endpoints of one service at
    /// the same moment: the later one counts the earlier one's, so the cap
    /// (2 here) holds across nodes.
    #[test]
    fn nodes_admitting_endpoints_at_once_keep_the_cap() {
        let db = faultline_pg_testing::database();
        let mut options = faultline_store::StorageOptions::default();
        options.health.max_endpoints_per_service = 2;
        let pg = || PgOptions { background: false, ..Default::default() };
        let (a, b) = (
            PgStore::open(&db.url(), options.clone(), pg()).unwrap(),
            PgStore::open(&db.url(), options, pg()).unwrap(),
        );
        let (shared_a, shared_b) = (a.shared.clone(), b.shared.clone());
        let (started, wait_started) = tokio::sync::oneshot::channel::<()>();
        // Node a admits two endpoints and holds its transaction open a while.
        let first = a.db.handle().unwrap().spawn(async move {
            let mut client = shared_a.pool.get().await?;
            let txn = client.transaction().await?;
            let one = admit(&shared_a, &txn, key("api", "/one"), 1).await?;
            let two = admit(&shared_a, &txn, key("api", "/two"), 1).await?;
            let _ = started.send(());
            tokio::time::sleep(Duration::from_millis(500)).await;
            txn.commit().await?;
            PgResult::Ok((one.route, two.route))
        });
        // Node b admits a third meanwhile.
        let third =
            b.db.block(async move {
                let _ = wait_started.await;
                let mut client = shared_b.pool.get().await?;
                let txn = client.transaction().await?;
                let three = admit(&shared_b, &txn, key("api", "/three"), 1).await?;
                txn.commit().await?;
                Ok(three.route)
            })
            .unwrap();
        let (one, two) = a.db.block(async move { Ok(first.await.unwrap()) }).unwrap().unwrap();
        assert_eq!((one.as_str(), two.as_str()), ("/one", "/two"));
        assert_eq!(third, OVERFLOW_ROUTE, "a third endpoint past the cap of 2");
    }
}
