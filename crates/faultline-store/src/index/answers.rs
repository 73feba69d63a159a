//! The search answers, the same for every engine: the index knows events
//! by fingerprint only, so each answer goes through a [`GroupLookup`] (the
//! engine's fingerprint -> group map as it is now). `group:ID` terms are
//! expanded to the group's fingerprints and counts are summed per group,
//! so merge and unmerge never touch indexed events.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use faultline_model::{Group, UnixNanos};

use super::query::{any_fingerprint, next_group_term};
use super::{SearchIndex, SearchPage, SearchRequest};
use crate::{Facet, GroupActivity, Result};

/// What the answers need to know of groups, from the engine that owns them.
pub trait GroupLookup {
    /// One group (merged ones too: their fingerprints moved to the target).
    fn group(&self, id: u64) -> Result<Option<Group>>;

    /// The group each of `fingerprints` maps to now; fingerprints no group
    /// has (any more) are left out.
    fn fingerprint_groups(&self, fingerprints: &[String]) -> Result<HashMap<String, u64>>;
}

/// The query with each `group:ID` (or `issue:ID`) replaced by the group's
/// fingerprints as they are now.
pub(crate) fn expand_groups(lookup: &dyn GroupLookup, query: &str) -> Result<String> {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some((before, id, after)) = next_group_term(rest) {
        out.push_str(before);
        let fingerprints = match lookup.group(id)? {
            Some(g) if g.merged_into.is_none() => g.fingerprints,
            _ => Vec::new(),
        };
        out.push_str(&any_fingerprint(&fingerprints));
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

impl SearchIndex {
    pub(crate) fn answer_search(
        &self,
        lookup: &dyn GroupLookup,
        request: &SearchRequest,
    ) -> Result<SearchPage> {
        let request = SearchRequest { query: expand_groups(lookup, &request.query)?, ..request.clone() };
        self.search(&request)
    }

    pub(crate) fn answer_validate(&self, lookup: &dyn GroupLookup, query: &str) -> Result<()> {
        self.parse(&expand_groups(lookup, query)?).map(|_| ())
    }

    pub(crate) fn answer_groups_matching(
        &self,
        lookup: &dyn GroupLookup,
        query: &str,
        max: usize,
    ) -> Result<HashSet<u64>> {
        let fingerprints: Vec<String> =
            self.fingerprints(&expand_groups(lookup, query)?, max)?.into_iter().collect();
        Ok(lookup.fingerprint_groups(&fingerprints)?.into_values().collect())
    }

    pub(crate) fn answer_group_event_counts(
        &self,
        lookup: &dyn GroupLookup,
        from: UnixNanos,
        to: UnixNanos,
        max_fingerprints: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)> {
        let (total, counts) = self.fingerprint_counts(from, to, max_fingerprints)?;
        let names: Vec<String> = counts.iter().map(|(fp, _)| fp.clone()).collect();
        let groups = lookup.fingerprint_groups(&names)?;
        let mut by_group = BTreeMap::new();
        for (fingerprint, count) in counts {
            if let Some(group_id) = groups.get(&fingerprint) {
                *by_group.entry(*group_id).or_insert(0) += count;
            }
        }
        Ok((total, by_group))
    }

    pub(crate) fn answer_histogram(
        &self,
        lookup: &dyn GroupLookup,
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>> {
        self.histogram(&expand_groups(lookup, query)?, from, to, step)
    }

    pub(crate) fn answer_facet(
        &self,
        lookup: &dyn GroupLookup,
        query: &str,
        range: (UnixNanos, UnixNanos),
        field: &str,
        limit: usize,
    ) -> Result<Facet> {
        self.facet(&expand_groups(lookup, query)?, range.0, range.1, field, limit)
    }

    pub(crate) fn answer_group_activity(
        &self,
        lookup: &dyn GroupLookup,
        group_ids: &[u64],
        query: &str,
        range: (UnixNanos, UnixNanos),
        step: Duration,
        tags: &[&str],
    ) -> Result<BTreeMap<u64, GroupActivity>> {
        let mut owner = BTreeMap::new();
        for id in group_ids {
            if let Some(g) = lookup.group(*id)? {
                for fp in g.fingerprints {
                    owner.insert(fp, *id);
                }
            }
        }
        let fingerprints: Vec<String> = owner.keys().cloned().collect();
        let (from, to) = range;
        let by_fp =
            self.fingerprint_activity(&fingerprints, &expand_groups(lookup, query)?, from, to, step, tags)?;
        let mut out: BTreeMap<u64, GroupActivity> = BTreeMap::new();
        for (fp, activity) in by_fp {
            let Some(id) = owner.get(&fp) else { continue };
            let entry = out.entry(*id).or_default();
            entry.count += activity.count;
            // Users of a merged group's fingerprints may overlap: the
            // largest is a lower bound, the sum an upper one.
            entry.users = entry.users.max(activity.users);
            // A merged group's top values: its busiest fingerprint's.
            for (tag, top) in activity.top_values {
                if entry.top_values.get(&tag).is_none_or(|seen| top.1 > seen.1) {
                    entry.top_values.insert(tag, top);
                }
            }
            if entry.histogram.is_empty() {
                entry.histogram = activity.histogram;
            } else {
                for (a, b) in entry.histogram.iter_mut().zip(activity.histogram) {
                    *a += b;
                }
            }
        }
        Ok(out)
    }
}
