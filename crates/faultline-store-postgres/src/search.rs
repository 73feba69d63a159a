//! Search is not yet available on PostgreSQL: a per-node index fed from
//! the events table comes next. Until then every search answers with a
//! clear error (HTTP 501) rather than an empty result that would read as
//! "nothing matched".

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use faultline_model::{ErrorEvent, UnixNanos};
use faultline_store::api::SearchStore;
use faultline_store::{Error, Facet, GroupActivity, Result, SearchPage, SearchRequest};

use crate::PgStore;

fn unavailable<T>() -> Result<T> {
    Err(Error::Unsupported(
        "search is not yet available with the PostgreSQL store: groups, events, health and checks are; \
         search, facets and histograms come with its per-node index"
            .into(),
    ))
}

impl SearchStore for PgStore {
    fn search(&self, _request: &SearchRequest) -> Result<(SearchPage, Vec<ErrorEvent>)> {
        unavailable()
    }

    fn validate_query(&self, _query: &str) -> Result<()> {
        unavailable()
    }

    fn groups_matching(&self, _query: &str, _max: usize) -> Result<HashSet<u64>> {
        unavailable()
    }

    fn group_event_counts(
        &self,
        _from: UnixNanos,
        _to: UnixNanos,
        _max: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)> {
        unavailable()
    }

    fn event_histogram(
        &self,
        _q: &str,
        _from: UnixNanos,
        _to: UnixNanos,
        _step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>> {
        unavailable()
    }

    fn facet(
        &self,
        _q: &str,
        _from: UnixNanos,
        _to: UnixNanos,
        _field: &str,
        _limit: usize,
    ) -> Result<Facet> {
        unavailable()
    }

    fn group_activity(
        &self,
        _ids: &[u64],
        _q: &str,
        _from: UnixNanos,
        _to: UnixNanos,
        _step: Duration,
        _tags: &[&str],
    ) -> Result<BTreeMap<u64, GroupActivity>> {
        unavailable()
    }

    /// Nothing is indexed, so nothing will become searchable: false.
    fn wait_indexed(&self, _timeout: Duration) -> bool {
        false
    }
}
