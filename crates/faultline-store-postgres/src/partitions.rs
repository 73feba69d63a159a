//! Day partitions of `events` (`events_YYYYMMDD`, by arrival): created
//! ahead by maintenance and on demand before a commit that needs one, and
//! dropped whole by retention.

use std::time::{SystemTime, UNIX_EPOCH};

use deadpool_postgres::GenericClient;

use crate::error::PgResult;
use crate::shared::Shared;

const DAY_SECS: i64 = 86_400;

/// Days since the epoch of a time.
pub(crate) fn day_of(at: SystemTime) -> i64 {
    let secs = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    secs.div_euclid(DAY_SECS)
}

/// The partition's name: `events_` and its UTC date.
fn name(day: i64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("events_{y:04}{m:02}{d:02}")
}

/// Makes sure the partition of `day` exists (once per node and day).
pub(crate) async fn ensure(shared: &Shared, client: &impl GenericClient, day: i64) -> PgResult<()> {
    if shared.partitions.lock().unwrap_or_else(|p| p.into_inner()).contains(&day) {
        return Ok(());
    }
    let from = i64_to_f64(day * DAY_SECS);
    let to = i64_to_f64((day + 1) * DAY_SECS);
    // Nodes creating the same partition at once: the advisory lock makes
    // them take turns, and IF NOT EXISTS lets the later ones pass.
    let sql = format!(
        "DO $$ BEGIN PERFORM pg_advisory_xact_lock(7270761356); \
         CREATE TABLE IF NOT EXISTS {} PARTITION OF events \
         FOR VALUES FROM (to_timestamp({from})) TO (to_timestamp({to})); END $$",
        name(day)
    );
    client.batch_execute(&sql).await?;
    shared.partitions.lock().unwrap_or_else(|p| p.into_inner()).insert(day);
    Ok(())
}

fn i64_to_f64(n: i64) -> f64 {
    n as f64
}

/// Today's partition and the next two days'.
pub(crate) async fn create_ahead(shared: &Shared, client: &impl GenericClient) -> PgResult<()> {
    let today = day_of(SystemTime::now());
    for day in today..today + 3 {
        ensure(shared, client, day).await?;
    }
    Ok(())
}

/// Drops every partition that ends at or before `cutoff`; returns how
/// many events they held.
pub(crate) async fn drop_before(
    shared: &Shared,
    client: &impl GenericClient,
    cutoff: SystemTime,
) -> PgResult<u64> {
    let last_whole_day = day_of(cutoff) - 1; // partitions of days before cutoff's day end by cutoff
    let rows = client
        .query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'events'::regclass ORDER BY c.relname",
            &[],
        )
        .await?;
    let mut deleted = 0u64;
    for row in rows {
        let table: String = row.try_get(0)?;
        let Some(day) = day_from_name(&table).filter(|day| *day <= last_whole_day) else { continue };
        let count: i64 = client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await?.try_get(0)?;
        client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")).await?;
        shared.partitions.lock().unwrap_or_else(|p| p.into_inner()).remove(&day);
        deleted += crate::shared::unsigned(count);
        tracing::info!(partition = %table, events = count, "dropped an expired day of events");
    }
    Ok(deleted)
}

/// The day a partition name stands for.
fn day_from_name(table: &str) -> Option<i64> {
    let date = table.strip_prefix("events_")?;
    if date.len() != 8 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) =
        (date[..4].parse().ok()?, date[4..6].parse().ok()?, date[6..].parse().ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_are_utc_dates_both_ways() {
        assert_eq!(name(0), "events_19700101");
        assert_eq!(name(20_426), "events_20251204");
        for day in [-1, 0, 59, 10_000, 20_426, 20_793] {
            assert_eq!(day_from_name(&name(day)), Some(day));
        }
        assert_eq!(day_from_name("events_default"), None);
    }
}
