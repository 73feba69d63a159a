//! The embedded engine's health figures, check runs and definitions,
//! alerting's state and delivery history, and access tokens.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use faultline_model::{AccessToken, CheckResult, HealthBucket, HealthKey, UnixNanos};
use tokio::sync::oneshot;

use super::Embedded;
use crate::api::{Ack, AlertStore, CheckStore, HealthStore, TokenStore};
use crate::backend::Op;
use crate::committer::Request;
use crate::health::{self, HealthFilter};
use crate::{checks, keys, tokens, Result};

impl HealthStore for Embedded {
    fn health(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        filter: &HealthFilter,
    ) -> Result<BTreeMap<HealthKey, HealthBucket>> {
        let mut merged: BTreeMap<HealthKey, HealthBucket> = BTreeMap::new();
        for (_, key, bucket) in health::scan(&*self.backend, &self.health_buffer.read(), from, to, filter)? {
            merged.entry(key).or_default().merge(&bucket);
        }
        Ok(merged)
    }

    fn health_series(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        filter: &HealthFilter,
    ) -> Result<Vec<(UnixNanos, HealthBucket)>> {
        let step = i64::try_from(step.as_nanos()).unwrap_or(i64::MAX).max(1);
        // Points sit on step boundaries (a 5m step gives :00, :05, ...), so
        // the first point is a whole bucket and series line up across requests.
        let from = from - from.rem_euclid(step);
        let steps = usize::try_from((to.saturating_sub(from)).max(0) / step + 1).unwrap_or(0);
        let mut series: Vec<(UnixNanos, HealthBucket)> =
            (0..steps).map(|i| (from + step * i as i64, HealthBucket::default())).collect();
        for (at, _, bucket) in health::scan(&*self.backend, &self.health_buffer.read(), from, to, filter)? {
            let index = usize::try_from((at.max(from) - from) / step).unwrap_or(0);
            if let Some((_, slot)) = series.get_mut(index) {
                slot.merge(&bucket);
            }
        }
        series.retain(|(at, _)| *at < to);
        Ok(series)
    }

    fn maintain(&self, now: UnixNanos) -> Result<Ack<()>> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Maintain { now, reply: Some(reply) })?;
        Ok(answer)
    }
}

impl CheckStore for Embedded {
    fn record_check_result(&self, result: &CheckResult) -> Result<Ack<()>> {
        let ops =
            vec![Op::Put(keys::check_result(&result.check_id, result.at), checks::encode_result(result))];
        self.write(ops)
    }

    fn check_results(&self, check_id: &str, from: UnixNanos, to: UnixNanos) -> Result<Vec<CheckResult>> {
        checks::results(&*self.backend, check_id, from, to)
    }

    fn put_check_definition(&self, id: &str, json: &str) -> Result<Ack<()>> {
        self.write(vec![Op::Put(keys::check_definition(id), checks::encode_definition(id, json))])
    }

    fn delete_check(&self, id: &str) -> Result<Ack<()>> {
        let mut ops = vec![Op::Delete(keys::check_definition(id))];
        for entry in self.backend.scan(&keys::check_results_start(id), &keys::check_results_end(id), false) {
            ops.push(Op::Delete(entry?.0));
        }
        self.write(ops)
    }

    fn check_definitions(&self) -> Result<Vec<(String, String)>> {
        let (start, end) = ([keys::CHECK_DEFINITION], [keys::CHECK_DEFINITION + 1]);
        self.backend.scan(&start, &end, false).map(|e| checks::decode_definition(&e?.1)).collect()
    }
}

impl AlertStore for Embedded {
    fn put_state(&self, name: &str, bytes: Vec<u8>) -> Result<Ack<()>> {
        self.write(vec![Op::Put(keys::state(name), bytes)])
    }

    fn state(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.backend.get(&keys::state(name))
    }

    /// One process holds the data directory, so a lock of this process
    /// held from the comparison to the commit makes the swap atomic.
    fn swap_states(&self, swaps: &[crate::StateSwap]) -> Result<bool> {
        let _swapping = self.state_swaps.lock().unwrap_or_else(|p| p.into_inner());
        for swap in swaps {
            if self.backend.get(&keys::state(&swap.name))? != swap.expected {
                return Ok(false);
            }
        }
        let ops = swaps.iter().map(|s| Op::Put(keys::state(&s.name), s.new.clone())).collect();
        self.write(ops)?.blocking_recv().map_err(|_| crate::Error::ShuttingDown)??;
        Ok(true)
    }

    fn record_delivery(&self, at: UnixNanos, json: Vec<u8>) -> Result<Ack<()>> {
        let n = self.deliveries_written.fetch_add(1, Ordering::Relaxed);
        self.write(vec![Op::Put(keys::delivery(at, n), json)])
    }

    fn deliveries(&self, limit: usize) -> Result<Vec<Vec<u8>>> {
        let (start, end) = ([keys::DELIVERY], [keys::DELIVERY + 1]);
        self.backend.scan(&start, &end, true).take(limit).map(|e| Ok(e?.1)).collect()
    }
}

impl TokenStore for Embedded {
    fn put_token(&self, token: &AccessToken) -> Result<Ack<()>> {
        self.write(vec![Op::Put(keys::token(&token.id), tokens::encode(token))])
    }

    fn delete_token(&self, id: &str) -> Result<Ack<()>> {
        self.write(vec![Op::Delete(keys::token(id))])
    }

    fn tokens(&self) -> Result<Vec<AccessToken>> {
        let (start, end) = ([keys::TOKEN], [keys::TOKEN + 1]);
        self.backend.scan(&start, &end, false).map(|e| tokens::decode(&e?.1)).collect()
    }
}

/// One process holds the data directory's lock: it always leads, and its
/// facts reach alerting in memory (the trait's defaults).
impl crate::cluster::ClusterStore for Embedded {}
