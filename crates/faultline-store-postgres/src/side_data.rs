//! Health reads and maintenance, check runs and definitions, alerting
//! state and deliveries, and tokens: plain rows, each write its own
//! transaction acknowledged after COMMIT.

use std::collections::BTreeMap;
use std::time::Duration;

use deadpool_postgres::GenericClient;
use faultline_model::{AccessToken, CheckResult, HealthBucket, HealthKey, TokenScope, UnixNanos};
use faultline_store::api::{Ack, AlertStore, CheckStore, HealthStore, TokenStore};
use faultline_store::{HealthFilter, Result};

use crate::error::{PgError, PgResult};
use crate::shared::{big, unsigned};
use crate::PgStore;

impl HealthStore for PgStore {
    fn health(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        filter: &HealthFilter,
    ) -> Result<BTreeMap<HealthKey, HealthBucket>> {
        let filter = filter.clone();
        self.read(move |client| async move {
            let mut merged: BTreeMap<HealthKey, HealthBucket> = BTreeMap::new();
            for (_, key, bucket) in crate::health::scan(&client, from, to, &filter).await? {
                merged.entry(key).or_default().merge(&bucket);
            }
            Ok(merged)
        })
    }

    fn health_series(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        filter: &HealthFilter,
    ) -> Result<Vec<(UnixNanos, HealthBucket)>> {
        let filter = filter.clone();
        self.read(move |client| async move {
            let step = i64::try_from(step.as_nanos()).unwrap_or(i64::MAX).max(1);
            let from = from - from.rem_euclid(step);
            let steps = usize::try_from((to.saturating_sub(from)).max(0) / step + 1).unwrap_or(0);
            let mut series: Vec<(UnixNanos, HealthBucket)> =
                (0..steps).map(|i| (from + step * i as i64, HealthBucket::default())).collect();
            for (at, _, bucket) in crate::health::scan(&client, from, to, &filter).await? {
                let index = usize::try_from((at.max(from) - from) / step).unwrap_or(0);
                if let Some((_, slot)) = series.get_mut(index) {
                    slot.merge(&bucket);
                }
            }
            series.retain(|(at, _)| *at < to);
            Ok(series)
        })
    }

    fn maintain(&self, now: UnixNanos) -> Result<Ack<()>> {
        let shared = self.shared.clone();
        self.transact(move |txn| {
            let shared = shared.clone();
            Box::pin(async move { crate::health::maintain(&shared, txn, now).await })
        })
    }
}

impl CheckStore for PgStore {
    fn record_check_result(&self, result: &CheckResult) -> Result<Ack<()>> {
        let r = result.clone();
        self.write(move |client| async move {
            let statement = client
                .prepare_cached(
                    "INSERT INTO check_runs (check_id, at, ok, latency_ms, status_code, error, tls_days_left, tls_not_after) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (check_id, at) DO UPDATE SET ok = excluded.ok, \
                     latency_ms = excluded.latency_ms, status_code = excluded.status_code, error = excluded.error, \
                     tls_days_left = excluded.tls_days_left, tls_not_after = excluded.tls_not_after",
                )
                .await?;
            let status = r.status_code.map(i32::from);
            client
                .execute(&statement, &[&r.check_id, &r.at, &r.ok, &r.latency_ms, &status, &r.error, &r.tls_days_left, &r.tls_not_after])
                .await?;
            Ok(())
        })
    }

    fn check_results(&self, check_id: &str, from: UnixNanos, to: UnixNanos) -> Result<Vec<CheckResult>> {
        let check_id = check_id.to_string();
        self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "SELECT at, ok, latency_ms, status_code, error, tls_days_left, tls_not_after FROM check_runs \
                     WHERE check_id = $1 AND at >= $2 AND at < $3 ORDER BY at",
                )
                .await?;
            let mut out = Vec::new();
            for row in client.query(&statement, &[&check_id, &from, &to]).await? {
                out.push(CheckResult {
                    check_id: check_id.clone(),
                    at: row.try_get(0)?,
                    ok: row.try_get(1)?,
                    latency_ms: row.try_get(2)?,
                    status_code: row.try_get::<_, Option<i32>>(3)?.and_then(|s| u16::try_from(s).ok()),
                    error: row.try_get(4)?,
                    tls_days_left: row.try_get(5)?,
                    tls_not_after: row.try_get(6)?,
                });
            }
            Ok(out)
        })
    }

    fn put_check_definition(&self, id: &str, json: &str) -> Result<Ack<()>> {
        let (id, json) = (id.to_string(), json.to_string());
        self.write(move |client| async move {
            let statement = client
                .prepare_cached(
                    "INSERT INTO check_definitions (id, definition) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET definition = excluded.definition",
                )
                .await?;
            client.execute(&statement, &[&id, &json]).await?;
            Ok(())
        })
    }

    fn delete_check(&self, id: &str) -> Result<Ack<()>> {
        let id = id.to_string();
        self.transact(move |txn| {
            let id = id.clone();
            Box::pin(async move {
                txn.execute("DELETE FROM check_definitions WHERE id = $1", &[&id]).await?;
                txn.execute("DELETE FROM check_runs WHERE check_id = $1", &[&id]).await?;
                Ok(())
            })
        })
    }

    fn check_definitions(&self) -> Result<Vec<(String, String)>> {
        self.read(move |client| async move {
            let rows = client.query("SELECT id, definition FROM check_definitions ORDER BY id", &[]).await?;
            rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect()
        })
    }
}

impl AlertStore for PgStore {
    fn put_state(&self, name: &str, bytes: Vec<u8>) -> Result<Ack<()>> {
        let name = name.to_string();
        self.write(move |client| async move {
            let statement = client
                .prepare_cached(
                    "INSERT INTO alert_state (name, body) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = now()",
                )
                .await?;
            client.execute(&statement, &[&name, &bytes]).await?;
            Ok(())
        })
    }

    fn state(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let name = name.to_string();
        self.read(move |client| async move {
            let statement = client.prepare_cached("SELECT body FROM alert_state WHERE name = $1").await?;
            Ok(client.query_opt(&statement, &[&name]).await?.map(|row| row.try_get(0)).transpose()?)
        })
    }

    /// One transaction of conditional writes, in name order (two nodes
    /// swapping the same documents lock their rows in the same order). A
    /// concurrent swap of a row makes this one's UPDATE wait for its
    /// commit and then find other bytes, or its INSERT find the row: no
    /// row written, and everything rolls back.
    fn swap_states(&self, swaps: &[faultline_store::StateSwap]) -> Result<bool> {
        let mut swaps = swaps.to_vec();
        swaps.sort_by(|a, b| a.name.cmp(&b.name));
        let pool = self.shared.pool.clone();
        let result = self.db.block(async move {
            let mut client = pool.get().await?;
            let txn = client.transaction().await?;
            for swap in &swaps {
                let written = match &swap.expected {
                    Some(old) => {
                        txn.execute(
                            "UPDATE alert_state SET body = $2, updated_at = now() WHERE name = $1 AND body = $3",
                            &[&swap.name, &swap.new, old],
                        )
                        .await?
                    }
                    None => {
                        txn.execute(
                            "INSERT INTO alert_state (name, body) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                            &[&swap.name, &swap.new],
                        )
                        .await?
                    }
                };
                if written != 1 {
                    txn.rollback().await?;
                    return Ok(false);
                }
            }
            txn.commit().await?;
            Ok(true)
        });
        self.shared.note_write(&result);
        match result {
            // Lost a race in another way: the caller reads again and retries.
            Err(e) if crate::error::is_retryable(&e) => Ok(false),
            other => other.map_err(Into::into),
        }
    }

    fn record_delivery(&self, at: UnixNanos, json: Vec<u8>) -> Result<Ack<()>> {
        self.write(move |client| async move {
            let statement =
                client.prepare_cached("INSERT INTO alert_deliveries (at, body) VALUES ($1, $2)").await?;
            client.execute(&statement, &[&at, &json]).await?;
            Ok(())
        })
    }

    fn deliveries(&self, limit: usize) -> Result<Vec<Vec<u8>>> {
        self.read(move |client| async move {
            let statement = client
                .prepare_cached("SELECT body FROM alert_deliveries ORDER BY at DESC, id DESC LIMIT $1")
                .await?;
            let rows = client.query(&statement, &[&big(limit as u64)]).await?;
            rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
        })
    }
}

fn token(row: &tokio_postgres::Row) -> PgResult<AccessToken> {
    let id: String = row.try_get(0)?;
    let scope: String = row.try_get(2)?;
    let scope = TokenScope::parse(&scope)
        .ok_or_else(|| PgError::Corrupt(format!("token {id} has an unknown scope {scope:?}")))?;
    let hash: Vec<u8> = row.try_get(5)?;
    let secret_sha256 = <[u8; 32]>::try_from(hash.as_slice())
        .map_err(|_| PgError::Corrupt(format!("token {id} has a hash that is not 32 bytes")))?;
    Ok(AccessToken {
        id,
        name: row.try_get(1)?,
        scope,
        services: row.try_get(3)?,
        created_at: row.try_get(4)?,
        secret_sha256,
        events_per_second: row.try_get::<_, Option<i64>>(6)?.map(unsigned),
    })
}

impl TokenStore for PgStore {
    fn put_token(&self, token: &AccessToken) -> Result<Ack<()>> {
        let t = token.clone();
        self.write(move |client| async move {
            let statement = client
                .prepare_cached(
                    "INSERT INTO tokens (id, name, scope, services, created_at, secret_sha256, events_per_second) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     scope = excluded.scope, services = excluded.services, created_at = excluded.created_at, \
                     secret_sha256 = excluded.secret_sha256, events_per_second = excluded.events_per_second",
                )
                .await?;
            let hash = t.secret_sha256.to_vec();
            let rate = t.events_per_second.map(big);
            client
                .execute(&statement, &[&t.id, &t.name, &t.scope.as_str(), &t.services, &t.created_at, &hash, &rate])
                .await?;
            Ok(())
        })
    }

    fn delete_token(&self, id: &str) -> Result<Ack<()>> {
        let id = id.to_string();
        self.write(move |client| async move {
            client.execute("DELETE FROM tokens WHERE id = $1", &[&id]).await?;
            Ok(())
        })
    }

    fn tokens(&self) -> Result<Vec<AccessToken>> {
        self.read(move |client| async move {
            let rows = client
                .query(
                    "SELECT id, name, scope, services, created_at, secret_sha256, events_per_second FROM tokens ORDER BY id",
                    &[],
                )
                .await?;
            rows.iter().map(token).collect()
        })
    }
}
