//! Importing an embedded store (`faultline migrate`): pages of
//! `faultline_store::export` records written with multi-row inserts, each
//! page in one transaction together with the progress row that says how
//! far its kind got, so a copy cut short (even by `kill -9`) resumes after
//! the last page committed and copies nothing twice. Ids, sequence
//! numbers and times are kept; the sequences are then set past the
//! highest ids copied, so new ids never collide with old ones.
//!
//! Progress lives in `migrate_progress` (source, kind, last key, rows),
//! the migration's own bookkeeping rather than part of the schema proper.
//! A database that holds Faultline data this migration did not write is
//! refused: ids would collide.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_postgres::{GenericClient, Object, Transaction};
use faultline_model::Group;
use faultline_store::export::{Counters, Kind, Page, Record};
use faultline_store::{rules, Error as StoreError, StorageOptions};
use tokio::sync::Mutex;

use crate::error::{PgError, PgResult};
use crate::shared::{big, Shared};

/// Advisory lock held by a running migration ("fltmigr" in ASCII), so two
/// cannot write into one database at once.
const MIGRATION_RUNNING: i64 = 0x0066_6c74_6d69_6772;

/// A connection to the destination, holding the migration's lock.
pub struct Importer {
    db: crate::pool::Db,
    shared: Arc<Shared>,
    client: Arc<Mutex<Object>>,
    source: String,
}

fn refused(text: String) -> PgError {
    PgError::Store(StoreError::Invalid(text))
}

impl Importer {
    /// Connects to `url`, brings the schema up to date and checks that the
    /// database is empty or holds only an earlier, unfinished (or finished)
    /// migration from `source` (a name for the data directory).
    pub fn connect(url: &str, source: &str) -> Result<Importer, PgError> {
        let target = crate::tls::parse(url)?;
        let db = crate::pool::Db::connect(target, 2)?;
        let shared = Arc::new(Shared::new(db.pool.clone(), StorageOptions::default()));
        let (pool, source_name) = (db.pool.clone(), source.to_string());
        let client = db.block(async move {
            let mut client = pool.get().await?;
            crate::schema::migrate(&mut client).await?;
            let locked: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&MIGRATION_RUNNING])
                .await?
                .try_get(0)?;
            if !locked {
                return Err(refused("another `faultline migrate` is writing into this database".into()));
            }
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS migrate_progress (
                         source text NOT NULL,
                         kind text NOT NULL,
                         last_key bytea,
                         rows bigint NOT NULL DEFAULT 0,
                         updated_at timestamptz NOT NULL DEFAULT now(),
                         PRIMARY KEY (source, kind))",
                )
                .await?;
            check_destination(&client, &source_name).await?;
            client
                .execute(
                    "INSERT INTO migrate_progress (source, kind) VALUES ($1, 'started') ON CONFLICT DO NOTHING",
                    &[&source_name],
                )
                .await?;
            Ok(client)
        })?;
        Ok(Importer { db, shared, client: Arc::new(Mutex::new(client)), source: source.to_string() })
    }

    /// The key after which `kind` continues (`None`: from its start).
    pub fn resume_key(&self, kind: Kind) -> Result<Option<Vec<u8>>, PgError> {
        let (client, source) = (self.client.clone(), self.source.clone());
        self.db.block(async move {
            let client = client.lock().await;
            let row = client
                .query_opt(
                    "SELECT last_key FROM migrate_progress WHERE source = $1 AND kind = $2",
                    &[&source, &kind.name()],
                )
                .await?;
            Ok(row.map(|r| r.try_get::<_, Option<Vec<u8>>>(0)).transpose()?.flatten())
        })
    }

    /// Writes one page of `kind` and records its last key, in one transaction.
    pub fn write(&self, kind: Kind, page: Page) -> Result<(), PgError> {
        let Some(last_key) = page.last_key.clone() else { return Ok(()) };
        let (client, shared, source) = (self.client.clone(), self.shared.clone(), self.source.clone());
        self.db.block(async move {
            let mut client = client.lock().await;
            if kind == Kind::Events {
                for day in event_days(&page.records) {
                    crate::partitions::ensure(&shared, &*client, day).await?;
                }
            }
            let txn = client.transaction().await?;
            let rows = insert(&txn, kind, &page.records).await?;
            txn.execute(
                "INSERT INTO migrate_progress (source, kind, last_key, rows) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source, kind) DO UPDATE SET last_key = excluded.last_key, \
                 rows = migrate_progress.rows + excluded.rows, updated_at = now()",
                &[&source, &kind.name(), &last_key, &rows],
            )
            .await?;
            txn.commit().await?;
            Ok(())
        })
    }

    /// After every kind is copied: the sequences past the source's ids,
    /// groups dated by their last event's arrival, retention's progress.
    pub fn finish(&self, counters: Counters) -> Result<(), PgError> {
        let (client, source) = (self.client.clone(), self.source.clone());
        self.db.block(async move {
            let mut client = client.lock().await;
            let txn = client.transaction().await?;
            let next_event = big(counters.next_event_seq);
            let next_group = big(counters.next_group_id);
            advance(&txn, "event_ids", "SELECT max(id) FROM events", next_event).await?;
            advance(&txn, "group_ids", "SELECT max(id) FROM groups", next_group).await?;
            txn.execute(
                "UPDATE groups g SET last_arrival = e.stored_at FROM events e \
                 WHERE e.id = (g.body->>'last_event_seq')::bigint",
                &[],
            )
            .await?;
            txn.execute(
                "INSERT INTO store_state (name, value) VALUES ('deleted_below', $1) \
                 ON CONFLICT (name) DO UPDATE SET value = greatest(store_state.value, excluded.value)",
                &[&big(counters.deleted_below)],
            )
            .await?;
            txn.execute(
                "INSERT INTO migrate_progress (source, kind) VALUES ($1, 'finished') \
                 ON CONFLICT (source, kind) DO UPDATE SET updated_at = now()",
                &[&source],
            )
            .await?;
            txn.commit().await?;
            Ok(())
        })
    }

    /// Rows of `kind` in the database.
    pub fn count(&self, kind: Kind) -> Result<u64, PgError> {
        let client = self.client.clone();
        self.db.block(async move {
            let client = client.lock().await;
            // Kind names are the tables' names.
            let sql = format!("SELECT count(*) FROM {}", kind.name());
            let n: i64 = client.query_one(&sql, &[]).await?.try_get(0)?;
            Ok(crate::shared::unsigned(n))
        })
    }
}

/// Refuses a database with Faultline data this migration did not write.
async fn check_destination(client: &impl GenericClient, source: &str) -> PgResult<()> {
    let other = client
        .query_opt("SELECT source FROM migrate_progress WHERE source <> $1 LIMIT 1", &[&source])
        .await?;
    if let Some(row) = other {
        let other: String = row.try_get(0)?;
        return Err(refused(format!(
            "this database holds a migration from {other}; migrate {source} into an empty database"
        )));
    }
    let ours =
        client.query_opt("SELECT 1 FROM migrate_progress WHERE source = $1 LIMIT 1", &[&source]).await?;
    if ours.is_some() {
        return Ok(());
    }
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM groups), (SELECT count(*) FROM events), \
                    (SELECT count(*) FROM tokens) + (SELECT count(*) FROM check_definitions) \
                    + (SELECT count(*) FROM health_minutes) + (SELECT count(*) FROM health_hours)",
            &[],
        )
        .await?;
    let (groups, events, other): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if groups + events + other > 0 {
        return Err(refused(format!(
            "this database already holds Faultline data ({groups} groups, {events} events) that no migration \
             from {source} wrote; ids would collide: migrate into an empty database"
        )));
    }
    Ok(())
}

/// Sets `sequence` so its next value is at least `next` and past the
/// table's highest id; never moves it back.
async fn advance(txn: &Transaction<'_>, sequence: &str, highest: &str, next: i64) -> PgResult<()> {
    let sql = format!(
        "WITH wanted AS (SELECT greatest(($1::bigint) - 1, ({highest}), 0) AS v), \
              now AS (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS v FROM {sequence}) \
         SELECT setval('{sequence}', wanted.v) FROM wanted, now WHERE wanted.v > now.v"
    );
    txn.query(&sql, &[&next]).await?;
    Ok(())
}

/// When an event arrived (its partition's time): as the receiving node
/// stamped it, or for records without that stamp its own time, never
/// later than now.
fn stored_at(event: &faultline_model::ErrorEvent) -> SystemTime {
    let at = if event.received_at > 0 { event.received_at } else { event.timestamp };
    let at = at.clamp(0, faultline_model::now_nanos());
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(at).unwrap_or(0))
}

fn event_days(records: &[Record]) -> std::collections::BTreeSet<i64> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Event { event, .. } => Some(crate::partitions::day_of(stored_at(event))),
            _ => None,
        })
        .collect()
}

/// Inserts a page's records; returns how many rows were new.
async fn insert(txn: &Transaction<'_>, kind: Kind, records: &[Record]) -> PgResult<i64> {
    let inserted = match kind {
        Kind::Groups => {
            let groups: Vec<&Group> = records
                .iter()
                .filter_map(|r| if let Record::Group(g) = r { Some(&**g) } else { None })
                .collect();
            crate::groups::write_groups(txn, &groups).await?;
            groups.len() as u64
        }
        Kind::Fingerprints => fingerprints(txn, records).await?,
        Kind::Events => events(txn, records).await?,
        Kind::HealthMinutes => health(txn, "health_minutes", "minute", records).await?,
        Kind::HealthHours => health(txn, "health_hours", "hour", records).await?,
        Kind::Endpoints => endpoints(txn, records).await?,
        Kind::CheckDefinitions | Kind::AlertState | Kind::Tokens | Kind::ArrivalMarks => {
            one_by_one(txn, records).await?
        }
        Kind::CheckRuns => check_runs(txn, records).await?,
        Kind::Deliveries => deliveries(txn, records).await?,
    };
    Ok(big(inserted))
}

async fn fingerprints(txn: &Transaction<'_>, records: &[Record]) -> PgResult<u64> {
    let (mut names, mut groups, mut versions, mut titles, mut culprits, mut methods) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in records {
        if let Record::Fingerprint(f) = record {
            names.push(f.fingerprint.as_str());
            groups.push(big(f.group_id));
            versions.push(i32::try_from(f.grouping_version).unwrap_or(i32::MAX));
            titles.push(f.title.as_str());
            culprits.push(f.culprit.as_str());
            methods.push(f.method.as_str());
        }
    }
    Ok(txn
        .execute(
            "INSERT INTO fingerprints (fingerprint, group_id, grouping_version, title, culprit, method) \
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::text[]) \
             ON CONFLICT DO NOTHING",
            &[&names, &groups, &versions, &titles, &culprits, &methods],
        )
        .await?)
}

async fn events(txn: &Transaction<'_>, records: &[Record]) -> PgResult<u64> {
    let (mut ids, mut times, mut fingerprints, mut services, mut occurred, mut bodies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in records {
        if let Record::Event { event, fingerprint } = record {
            ids.push(big(event.seq));
            times.push(stored_at(event));
            fingerprints.push(fingerprint.as_str());
            services.push(event.service.as_str());
            occurred.push(event.timestamp);
            bodies.push(serde_json::to_value(&**event)?);
        }
    }
    Ok(txn
        .execute(
            "INSERT INTO events (id, stored_at, fingerprint, service, occurred_at, body) \
             SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::json[]) \
             ON CONFLICT DO NOTHING",
            &[&ids, &times, &fingerprints, &services, &occurred, &bodies],
        )
        .await?)
}

async fn health(txn: &Transaction<'_>, table: &str, slot: &str, records: &[Record]) -> PgResult<u64> {
    let mut c = HealthColumns::default();
    for record in records {
        if let Record::Health { slot, key, bucket } = record {
            c.slots.push(big(*slot));
            c.services.push(key.service.as_str());
            c.environments.push(key.environment.as_str());
            c.routes.push(key.route.as_str());
            c.methods.push(key.method.as_str());
            c.requests.push(big(bucket.requests));
            c.errors.push(big(bucket.errors));
            c.client_errors.push(big(bucket.client_errors));
            c.latency.push(rules::encode_bucket(bucket));
        }
    }
    let sql = format!(
        "INSERT INTO {table} ({slot}, service, environment, route, method, requests, errors, client_errors, latency) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], \
                              $7::bigint[], $8::bigint[], $9::bytea[]) \
         ON CONFLICT DO NOTHING"
    );
    Ok(txn
        .execute(
            &sql,
            &[
                &c.slots,
                &c.services,
                &c.environments,
                &c.routes,
                &c.methods,
                &c.requests,
                &c.errors,
                &c.client_errors,
                &c.latency,
            ],
        )
        .await?)
}

#[derive(Default)]
struct HealthColumns<'a> {
    slots: Vec<i64>,
    services: Vec<&'a str>,
    environments: Vec<&'a str>,
    routes: Vec<&'a str>,
    methods: Vec<&'a str>,
    requests: Vec<i64>,
    errors: Vec<i64>,
    client_errors: Vec<i64>,
    latency: Vec<Vec<u8>>,
}

async fn endpoints(txn: &Transaction<'_>, records: &[Record]) -> PgResult<u64> {
    let (mut services, mut routes, mut methods) = (Vec::new(), Vec::new(), Vec::new());
    for record in records {
        if let Record::Endpoint { service, route, method } = record {
            services.push(service.as_str());
            routes.push(route.as_str());
            methods.push(method.as_str());
        }
    }
    Ok(txn
        .execute(
            "INSERT INTO endpoints (service, route, method) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
            &[&services, &routes, &methods],
        )
        .await?)
}

async fn check_runs(txn: &Transaction<'_>, records: &[Record]) -> PgResult<u64> {
    let (mut ids, mut ats, mut oks, mut latencies, mut statuses, mut errors, mut days, mut not_after) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for record in records {
        if let Record::CheckRun(r) = record {
            ids.push(r.check_id.as_str());
            ats.push(r.at);
            oks.push(r.ok);
            latencies.push(r.latency_ms);
            statuses.push(r.status_code.map(i32::from));
            errors.push(r.error.as_deref());
            days.push(r.tls_days_left);
            not_after.push(r.tls_not_after);
        }
    }
    Ok(txn
        .execute(
            "INSERT INTO check_runs (check_id, at, ok, latency_ms, status_code, error, tls_days_left, tls_not_after) \
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::float8[], $5::integer[], \
                                  $6::text[], $7::float8[], $8::bigint[]) \
             ON CONFLICT DO NOTHING",
            &[&ids, &ats, &oks, &latencies, &statuses, &errors, &days, &not_after],
        )
        .await?)
}

async fn deliveries(txn: &Transaction<'_>, records: &[Record]) -> PgResult<u64> {
    let (mut ats, mut bodies) = (Vec::new(), Vec::new());
    for record in records {
        if let Record::Delivery { at, body } = record {
            ats.push(*at);
            bodies.push(body.as_slice());
        }
    }
    // No natural key: the page's transaction with its progress row is
    // what keeps a resumed copy from writing these twice.
    Ok(txn
        .execute(
            "INSERT INTO alert_deliveries (at, body) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
            &[&ats, &bodies],
        )
        .await?)
}

/// The small kinds (a few rows each): a statement per record.
async fn one_by_one(txn: &Transaction<'_>, records: &[Record]) -> PgResult<u64> {
    let mut inserted = 0;
    for record in records {
        inserted += match record {
            Record::CheckDefinition { id, json } => {
                txn.execute(
                    "INSERT INTO check_definitions (id, definition) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[id, json],
                )
                .await?
            }
            Record::AlertState { name, body } => {
                txn.execute(
                    "INSERT INTO alert_state (name, body) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[name, body],
                )
                .await?
            }
            Record::Token(t) => {
                let hash = t.secret_sha256.to_vec();
                let rate = t.events_per_second.map(big);
                txn.execute(
                    "INSERT INTO tokens (id, name, scope, services, created_at, secret_sha256, events_per_second) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[&t.id, &t.name, &t.scope.as_str(), &t.services, &t.created_at, &hash, &rate],
                )
                .await?
            }
            Record::ArrivalMark { at, next_seq } => {
                txn.execute(
                    "INSERT INTO arrival_marks (at, next_event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[at, &big(*next_seq)],
                )
                .await?
            }
            _ => 0,
        };
    }
    Ok(inserted)
}
