//! Leadership and alert facts for nodes sharing the database.
//!
//! Leadership is a lease row (`leases`), not `pg_try_advisory_lock`: an
//! advisory lock lives as long as its session, and the session of a node
//! whose machine vanished (power, network) lingers until TCP keepalive
//! gives up — minutes to hours — while a lease expires by the database's
//! own clock after its TTL, so failover time is bounded by configuration,
//! whatever happened to the holder. Renewal and takeover are one upsert
//! (`... WHERE holder = me OR expires_at < now()`), so two nodes can
//! never both win it, and the clocks of the nodes play no part.
//!
//! Facts reach the leader through `alert_facts`: every node's ingest
//! writes its events' facts in the very transaction that commits the
//! events (see `queue_committed`), so a fact exists exactly when its
//! event is acknowledged — a node killed after the ack loses no fact,
//! one killed before loses neither. The leader reads them in id order
//! and deletes them in the transaction that saves their outcome (engine
//! state and claimed notifications), under the lease row's lock: a leader
//! that lost its lease writes nothing, and a new leader finds every fact
//! its predecessor did not finish. Consuming by deletion rather than by a
//! position matters: identity values are taken at insert, not at commit,
//! so a position could step over a fact committed late with a smaller id.
//! Status changes queue their "group resolved" the same way, in the
//! transaction of the change (`queue_resolved`).

use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};
use faultline_model::{ErrorEvent, UnixNanos};
use faultline_store::api::Ack;
use faultline_store::{
    AlertFact, AlertFactKind, AlertRound, ClusterStore, Committed, NotificationState, Result,
};

use crate::error::PgResult;
use crate::shared::{big, unsigned};
use crate::PgStore;

fn kind_code(kind: AlertFactKind) -> i16 {
    match kind {
        AlertFactKind::Event => 0,
        AlertFactKind::NewGroup => 1,
        AlertFactKind::Regression => 2,
        AlertFactKind::GroupResolved => 3,
    }
}

fn kind_of(code: i16) -> Option<AlertFactKind> {
    match code {
        0 => Some(AlertFactKind::Event),
        1 => Some(AlertFactKind::NewGroup),
        2 => Some(AlertFactKind::Regression),
        3 => Some(AlertFactKind::GroupResolved),
        _ => None,
    }
}

/// Queues "group resolved" for each of `groups` inside the transaction
/// that resolved, ignored or merged them away: the fact exists exactly
/// when the status change committed (a node dying just after the commit
/// loses no resolve for alerting).
pub(crate) async fn queue_resolved(txn: &Transaction<'_>, groups: &[u64], at: UnixNanos) -> PgResult<()> {
    let statement =
        txn.prepare_cached("INSERT INTO alert_facts (kind, group_id, at) VALUES ($1, $2, $3)").await?;
    for &group_id in groups {
        txn.execute(&statement, &[&kind_code(AlertFactKind::GroupResolved), &big(group_id), &at]).await?;
    }
    Ok(())
}

/// Queues the facts of a commit's events, inside its transaction.
pub(crate) async fn queue_committed(txn: &Transaction<'_>, answers: &[Vec<Committed>]) -> PgResult<()> {
    let committed: Vec<&Committed> = answers.iter().flatten().collect();
    if committed.is_empty() {
        return Ok(());
    }
    let kinds: Vec<i16> = committed
        .iter()
        .map(|c| {
            kind_code(if c.new_group {
                AlertFactKind::NewGroup
            } else if c.regression {
                AlertFactKind::Regression
            } else {
                AlertFactKind::Event
            })
        })
        .collect();
    let groups: Vec<i64> = committed.iter().map(|c| big(c.group_id)).collect();
    let events: Vec<i64> = committed.iter().map(|c| big(c.seq)).collect();
    let collapsed: Vec<bool> = committed.iter().map(|c| c.collapsed).collect();
    let statement = txn
        .prepare_cached(
            "INSERT INTO alert_facts (kind, group_id, event_id, collapsed, at) \
             SELECT u.kind, u.group_id, u.event_id, u.collapsed, $5 \
             FROM unnest($1::smallint[], $2::bigint[], $3::bigint[], $4::boolean[]) \
             WITH ORDINALITY AS u(kind, group_id, event_id, collapsed, n) ORDER BY u.n",
        )
        .await?;
    let now = faultline_model::now_nanos();
    txn.execute(&statement, &[&kinds, &groups, &events, &collapsed, &now]).await?;
    Ok(())
}

async fn read_facts(client: &impl GenericClient, limit: i64) -> PgResult<Vec<AlertFact>> {
    let statement = client
        .prepare_cached(
            "SELECT f.id, f.kind, f.group_id, f.collapsed, f.at, e.body, fp.title, fp.culprit \
             FROM (SELECT * FROM alert_facts ORDER BY id LIMIT $1) f \
             LEFT JOIN events e ON e.id = f.event_id \
             LEFT JOIN fingerprints fp ON fp.fingerprint = e.fingerprint \
             ORDER BY f.id",
        )
        .await?;
    let mut facts = Vec::new();
    for row in client.query(&statement, &[&limit]).await? {
        let id = unsigned(row.try_get(0)?);
        let Some(kind) = kind_of(row.try_get(1)?) else {
            tracing::warn!(fact = id, "alert fact of an unknown kind skipped");
            continue;
        };
        let event = match row.try_get::<_, Option<serde_json::Value>>(5)? {
            Some(body) => Some(serde_json::from_value::<ErrorEvent>(body)?),
            None => None,
        };
        facts.push(AlertFact {
            id,
            kind,
            group_id: unsigned(row.try_get(2)?),
            collapsed: row.try_get(3)?,
            at: row.try_get(4)?,
            event,
            title: row.try_get::<_, Option<String>>(6)?.unwrap_or_default(),
            culprit: row.try_get::<_, Option<String>>(7)?.unwrap_or_default(),
        });
    }
    Ok(facts)
}

/// True while `node` holds lease `role`; locks its row until the
/// transaction ends, so no takeover interleaves with the caller's writes.
async fn holds_lease(txn: &Transaction<'_>, role: &str, node: &str) -> PgResult<bool> {
    let statement = txn
        .prepare_cached(
            "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR UPDATE",
        )
        .await?;
    Ok(txn.query_opt(&statement, &[&role, &node]).await?.is_some())
}

async fn write_round(txn: &Transaction<'_>, round: &AlertRound) -> PgResult<Vec<String>> {
    let consumed: Vec<i64> = round.consumed.iter().map(|&id| big(id)).collect();
    if !consumed.is_empty() {
        let statement = txn.prepare_cached("DELETE FROM alert_facts WHERE id = ANY($1)").await?;
        txn.execute(&statement, &[&consumed]).await?;
    }
    if let Some((name, body)) = &round.state {
        let statement = txn
            .prepare_cached(
                "INSERT INTO alert_state (name, body, updated_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            )
            .await?;
        txn.execute(&statement, &[name, body]).await?;
    }
    if round.notifications.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<&str> = round.notifications.iter().map(|n| n.key.as_str()).collect();
    let bodies: Vec<&[u8]> = round.notifications.iter().map(|n| n.body.as_slice()).collect();
    let statement = txn
        .prepare_cached(
            "INSERT INTO notifications_sent (key, body) SELECT * FROM unnest($1::text[], $2::bytea[]) \
             ON CONFLICT (key) DO NOTHING RETURNING key",
        )
        .await?;
    let mut claimed = Vec::new();
    for row in txn.query(&statement, &[&keys, &bodies]).await? {
        claimed.push(row.try_get(0)?);
    }
    Ok(claimed)
}

impl ClusterStore for PgStore {
    fn shared(&self) -> bool {
        true
    }

    fn try_lead(&self, role: &str, node: &str, ttl: Duration) -> Result<bool> {
        let (role, node) = (role.to_string(), node.to_string());
        let seconds = ttl.as_secs_f64();
        self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "INSERT INTO leases AS l (name, holder, expires_at) \
                     VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3)) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE l.holder = excluded.holder OR l.expires_at < clock_timestamp() RETURNING holder",
                )
                .await?;
            Ok(client.query_opt(&statement, &[&role, &node, &seconds]).await?.is_some())
        })
    }

    fn resign(&self, role: &str, node: &str) -> Result<()> {
        let (role, node) = (role.to_string(), node.to_string());
        self.read(move |client| async move {
            client.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&role, &node]).await?;
            Ok(())
        })
    }

    fn queue_group_resolved(&self, group_id: u64, at: UnixNanos) -> Result<Ack<()>> {
        self.write(move |client| async move {
            let statement = client
                .prepare_cached("INSERT INTO alert_facts (kind, group_id, at) VALUES ($1, $2, $3)")
                .await?;
            client
                .execute(&statement, &[&kind_code(AlertFactKind::GroupResolved), &big(group_id), &at])
                .await?;
            Ok(())
        })
    }

    fn alert_facts(&self, limit: usize) -> Result<Vec<AlertFact>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |client| async move { read_facts(&client, limit).await })
    }

    fn commit_alert_round(
        &self,
        role: &str,
        node: &str,
        round: AlertRound,
    ) -> Result<Ack<Option<Vec<String>>>> {
        let (role, node) = (role.to_string(), node.to_string());
        self.transact(move |txn| {
            let (role, node, round) = (role.clone(), node.clone(), round.clone());
            Box::pin(async move {
                if !holds_lease(txn, &role, &node).await? {
                    return Ok(None);
                }
                Ok(Some(write_round(txn, &round).await?))
            })
        })
    }

    fn set_notification_state(&self, key: &str, state: NotificationState) -> Result<Ack<()>> {
        let key = key.to_string();
        self.write(move |client| async move {
            let statement =
                client.prepare_cached("UPDATE notifications_sent SET state = $2 WHERE key = $1").await?;
            client.execute(&statement, &[&key, &state.as_str()]).await?;
            Ok(())
        })
    }

    fn prune_notifications(&self, age: Duration) -> Result<u64> {
        let seconds = age.as_secs_f64();
        self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "DELETE FROM notifications_sent WHERE state IN ('done', 'unknown') \
                     AND at < now() - make_interval(secs => $1)",
                )
                .await?;
            Ok(client.execute(&statement, &[&seconds]).await?)
        })
    }

    fn notifications_in(&self, state: NotificationState) -> Result<Vec<(String, Vec<u8>)>> {
        self.read(move |client| async move {
            let statement = client
                .prepare_cached("SELECT key, body FROM notifications_sent WHERE state = $1 ORDER BY at, key")
                .await?;
            let mut out = Vec::new();
            for row in client.query(&statement, &[&state.as_str()]).await? {
                out.push((row.try_get(0)?, row.try_get(1)?));
            }
            Ok(out)
        })
    }
}
