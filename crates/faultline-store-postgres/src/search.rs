//! SearchStore: every answer comes from this node's index (`tail.rs` feeds
//! it from the events table) through faultline-store's shared answers —
//! the embedded engine's schema, query language and aggregations — with
//! groups and events read from the database.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use faultline_model::{ErrorEvent, Group, UnixNanos};
use faultline_store::api::{GroupStore, SearchStore};
use faultline_store::{Facet, GroupActivity, GroupLookup, Result, SearchPage, SearchRequest};

use crate::error::PgResult;
use crate::shared::{big, unsigned};
use crate::PgStore;

impl GroupLookup for PgStore {
    fn group(&self, id: u64) -> Result<Option<Group>> {
        GroupStore::group(self, id)
    }

    fn fingerprint_groups(&self, fingerprints: &[String]) -> Result<HashMap<String, u64>> {
        if fingerprints.is_empty() {
            return Ok(HashMap::new());
        }
        let fingerprints = fingerprints.to_vec();
        self.read(move |client| async move {
            let statement = client
                .prepare_cached("SELECT fingerprint, group_id FROM fingerprints WHERE fingerprint = ANY($1)")
                .await?;
            let rows = client.query(&statement, &[&fingerprints]).await?;
            rows.iter()
                .map(|row| Ok((row.try_get::<_, String>(0)?, unsigned(row.try_get(1)?))))
                .collect::<PgResult<HashMap<_, _>>>()
        })
    }
}

impl PgStore {
    /// The events of `ids` in that order (ones deleted since are left out).
    fn events_by_id(&self, ids: Vec<u64>) -> Result<Vec<ErrorEvent>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<i64> = ids.iter().map(|&id| big(id)).collect();
        let mut found: HashMap<u64, ErrorEvent> = self.read(move |client| async move {
            let statement = client
                .prepare_cached(
                    "SELECT e.body, f.group_id FROM events e LEFT JOIN fingerprints f ON f.fingerprint = e.fingerprint \
                     WHERE e.id = ANY($1)",
                )
                .await?;
            let rows = client.query(&statement, &[&wanted]).await?;
            rows.iter().map(|row| crate::events::decode(row).map(|e| (e.seq, e))).collect::<PgResult<_>>()
        })?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

impl SearchStore for PgStore {
    fn search(&self, request: &SearchRequest) -> Result<(SearchPage, Vec<ErrorEvent>)> {
        let page = self.index.search(self, request)?;
        let events = self.events_by_id(page.hits.iter().map(|hit| hit.seq).collect())?;
        Ok((page, events))
    }

    fn validate_query(&self, query: &str) -> Result<()> {
        self.index.validate_query(self, query)
    }

    fn groups_matching(&self, query: &str, max: usize) -> Result<HashSet<u64>> {
        self.index.groups_matching(self, query, max)
    }

    fn group_event_counts(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        max_fingerprints: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)> {
        self.index.group_event_counts(self, from, to, max_fingerprints)
    }

    fn event_histogram(
        &self,
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>> {
        self.index.event_histogram(self, query, from, to, step)
    }

    fn facet(&self, query: &str, from: UnixNanos, to: UnixNanos, field: &str, limit: usize) -> Result<Facet> {
        self.index.facet(self, query, (from, to), field, limit)
    }

    fn group_activity(
        &self,
        group_ids: &[u64],
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        tags: &[&str],
    ) -> Result<BTreeMap<u64, GroupActivity>> {
        self.index.group_activity(self, group_ids, query, (from, to), step, tags)
    }

    /// Everything committed before the call, by any node, is searchable
    /// on this node once a tailer pass that started after the call is done.
    fn wait_indexed(&self, timeout: Duration) -> bool {
        self.progress.wait_indexed(timeout)
    }
}
