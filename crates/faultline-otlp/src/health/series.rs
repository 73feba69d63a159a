//! The last cumulative point of each metric series, bounded in number, so
//! that cumulative histograms can be turned into per-export differences.

use std::collections::{BTreeMap, HashMap};

use super::histogram::Counts;
use faultline_model::UnixNanos;

/// A series' identity: a 128-bit hash of its resource, scope, metric name
/// and point attributes (see `MetricsHealth`). Storing the hash instead of
/// the attributes keeps a series to about a hundred bytes.
pub(super) type SeriesId = u128;

/// What is remembered of a series.
#[derive(Debug)]
struct Entry {
    /// Position in `by_use`.
    used: u64,
    start: u64,
    counts: Counts,
}

/// Series by id, with least-recently-updated eviction beyond `max`.
#[derive(Debug)]
pub(super) struct SeriesMap {
    max: usize,
    clock: u64,
    entries: HashMap<SeriesId, Entry>,
    by_use: BTreeMap<u64, SeriesId>,
}

impl SeriesMap {
    pub(super) fn new(max: usize) -> SeriesMap {
        SeriesMap { max: max.max(1), clock: 0, entries: HashMap::new(), by_use: BTreeMap::new() }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Records the point `counts` (started at `start`) of series `id` and
    /// returns what it added since the previous point of the series:
    ///
    /// - same start time, nothing went down: the difference;
    /// - same start time, something went down: a reset the SDK did not
    ///   mark, so everything counted is new (as Prometheus' `increase` does);
    /// - first point, or a new start time (the process restarted): all of it
    ///   if the series started at or after `started_at`, i.e. while this
    ///   tracker was running; else it is only the baseline and yields nothing,
    ///   since its counts go back to before we were counting.
    pub(super) fn advance(
        &mut self,
        id: SeriesId,
        start: u64,
        counts: Counts,
        started_at: UnixNanos,
    ) -> Option<Counts> {
        let added = match self.entries.get(&id) {
            Some(previous) if previous.start == start => {
                Some(counts.since(&previous.counts).unwrap_or_else(|| counts.clone()))
            }
            _ => began_while_running(start, started_at).then(|| counts.clone()),
        };
        self.insert(id, start, counts);
        added
    }

    fn insert(&mut self, id: SeriesId, start: u64, counts: Counts) {
        self.clock += 1;
        if let Some(previous) = self.entries.insert(id, Entry { used: self.clock, start, counts }) {
            self.by_use.remove(&previous.used);
        }
        self.by_use.insert(self.clock, id);
        while self.entries.len() > self.max {
            let Some((_, oldest)) = self.by_use.pop_first() else { break };
            self.entries.remove(&oldest);
        }
    }
}

/// OTLP's 0 means "unknown start", which cannot be shown to be recent.
fn began_while_running(start: u64, started_at: UnixNanos) -> bool {
    start != 0 && UnixNanos::try_from(start).is_ok_and(|start| start >= started_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::histogram::Layout;

    const STARTED_AT: UnixNanos = 1_000;

    fn counts(total: u64) -> Counts {
        Counts {
            total,
            layout: Layout::Exponential { scale: 0 },
            zero: total,
            offset: 0,
            buckets: Vec::new(),
        }
    }

    #[test]
    fn least_recently_updated_series_are_evicted() {
        let mut map = SeriesMap::new(2);
        map.advance(1, 5, counts(1), STARTED_AT);
        map.advance(2, 5, counts(1), STARTED_AT);
        map.advance(1, 5, counts(2), STARTED_AT);
        map.advance(3, 5, counts(1), STARTED_AT);
        assert_eq!(map.len(), 2);
        // Series 1 was updated after 2, so 2 was evicted and 1 kept.
        assert_eq!(map.advance(1, 5, counts(4), STARTED_AT).map(|c| c.total), Some(2));
        // Series 2's next point is a baseline again, not a difference.
        assert_eq!(map.advance(2, 5, counts(9), STARTED_AT), None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn unknown_start_is_never_recent() {
        assert!(!began_while_running(0, 0));
        assert!(began_while_running(STARTED_AT as u64, STARTED_AT));
        assert!(!began_while_running(u64::MAX, STARTED_AT));
    }
}
