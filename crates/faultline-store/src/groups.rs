//! Listing groups: filters and sort orders of `GET /api/v1/groups`.

use std::collections::HashSet;

use faultline_model::{Group, GroupStatus};

use crate::group_summary::Summary;

/// Sort orders, all descending (newest or largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupSort {
    #[default]
    LastSeen,
    FirstSeen,
    Count,
}

impl GroupSort {
    pub fn parse(text: &str) -> Option<GroupSort> {
        Some(match text {
            "last_seen" => GroupSort::LastSeen,
            "first_seen" => GroupSort::FirstSeen,
            "count" => GroupSort::Count,
            _ => return None,
        })
    }

    fn key(self, g: &Summary) -> i128 {
        match self {
            GroupSort::LastSeen => i128::from(g.last_seen),
            GroupSort::FirstSeen => i128::from(g.first_seen),
            GroupSort::Count => i128::from(g.count),
        }
    }
}

/// Position in a group listing: the sort key and id of the last group shown.
pub type GroupCursor = (i128, u64);

/// Which groups to list. Absent fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub status: Option<GroupStatus>,
    /// Only these ids (the groups of events matching a search query).
    pub ids: Option<HashSet<u64>>,
    pub sort: GroupSort,
    pub limit: usize,
    /// Opaque position: the cursor a previous page returned.
    pub cursor: Option<GroupCursor>,
}

impl GroupFilter {
    pub fn matches(&self, g: &Group) -> bool {
        self.accepts(g.id, g.merged_into.is_some(), &g.service, &g.environments, g.status)
    }

    /// The same test on a listing summary.
    pub(crate) fn matches_summary(&self, s: &Summary) -> bool {
        self.accepts(s.id, s.merged, &s.service, &s.environments, s.status)
    }

    fn accepts(&self, id: u64, merged: bool, service: &str, envs: &[String], status: GroupStatus) -> bool {
        !merged
            && self.service.as_ref().is_none_or(|s| service == s)
            && self.environment.as_ref().is_none_or(|e| envs.contains(e))
            && self.status.is_none_or(|s| status == s)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&id))
    }
}

/// Sorts and pages the matching groups' summaries; returns the page and
/// the cursor for the next one (sort key and id of its last group) when
/// there is more.
pub(crate) fn page(mut groups: Vec<Summary>, filter: &GroupFilter) -> (Vec<Summary>, Option<GroupCursor>) {
    let sort = filter.sort;
    if let Some(cursor) = filter.cursor {
        groups.retain(|g| (sort.key(g), g.id) < cursor);
    }
    groups.sort_by(|a, b| sort.key(b).cmp(&sort.key(a)).then(b.id.cmp(&a.id)));
    let more = groups.len() > filter.limit;
    groups.truncate(filter.limit);
    let next = if more { groups.last().map(|g| (sort.key(g), g.id)) } else { None };
    (groups, next)
}
