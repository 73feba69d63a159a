//! The versioned schema: numbered SQL migrations compiled into the binary,
//! applied at start in one transaction under an advisory lock (several
//! nodes may start at once: one migrates, the others wait and find it
//! done). A database whose schema is newer than this build knows is refused.

use tokio_postgres::Client;

use crate::error::{PgError, PgResult};

/// (version, SQL), in order. Append only: a released migration never changes.
/// Numbers need not be consecutive: each one not yet recorded in
/// `schema_version` is applied, in this order.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_group_counters.sql")),
    (3, include_str!("migrations/0003_health_shards.sql")),
];

/// The schema version this build writes (the highest of [`MIGRATIONS`]).
pub const LATEST: i32 = 3;

/// Key of the advisory lock migrations run under ("faultlin" in ASCII).
const MIGRATION_LOCK: i64 = 0x6661_756c_746c_696e;

/// Brings the schema up to [`LATEST`]; returns the version found before.
pub async fn migrate(client: &mut Client) -> PgResult<i32> {
    let txn = client.transaction().await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let row = txn.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await?;
    let found: i32 = row.try_get(0)?;
    if found > LATEST {
        return Err(PgError::NewerSchema { found, supported: LATEST });
    }
    // Every migration not applied yet, not only those above the highest
    // applied: branches that added migrations side by side (a database
    // that got 3 before 2 existed) still get each one exactly once.
    let applied: Vec<i32> = txn
        .query("SELECT version FROM schema_version", &[])
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
        tracing::info!(version, "applying schema migration");
        txn.batch_execute(sql).await?;
        txn.execute("INSERT INTO schema_version (version) VALUES ($1)", &[version]).await?;
    }
    txn.commit().await?;
    Ok(found)
}
