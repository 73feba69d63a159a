//! Sliding windows over an issue's events, for `group_frequency` rules.
//!
//! Both measures are bounded whatever the traffic:
//! - event counts go into at most [`BUCKETS`] buckets of `window / 60`
//!   each (at least 1 s), so the window's edge is accurate to 1/60 of it;
//! - distinct users: the engine remembers the most recently seen users
//!   only, up to twice the rule's `distinct_users` (at most
//!   [`MAX_USERS`]). That is exact for the question asked: at least N
//!   users were seen in the window iff the N most recent ones all were.
//!   Users are kept as 64-bit hashes, so no user id lands in the state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use super::facts::Issue;
use super::hash::fnv64;

pub const BUCKETS: i64 = 60;
const MIN_BUCKET: i64 = 1_000_000_000;
/// Most users remembered per issue and rule.
pub const MAX_USERS: usize = 20_000;
/// Most issues one rule keeps windows for; the issue quiet the longest
/// makes room for a new one.
pub const MAX_GROUPS_PER_RULE: usize = 10_000;

/// One issue's recent events under one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupWindow {
    /// The latest description of the issue, for alert titles.
    pub issue: Issue,
    /// (bucket start, events), oldest first.
    buckets: VecDeque<(UnixNanos, u64)>,
    /// user hash → last seen, and the same ordered by time for eviction.
    users: BTreeMap<u64, UnixNanos>,
    users_by_time: BTreeSet<(UnixNanos, u64)>,
    pub last_event: UnixNanos,
}

/// One rule's windows. `window` is stored with them so that a rule whose
/// window changed across a restart starts over instead of misreading them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RuleWindows {
    pub window: UnixNanos,
    pub groups: BTreeMap<u64, GroupWindow>,
}

fn bucket_width(window: UnixNanos) -> UnixNanos {
    (window / BUCKETS).max(MIN_BUCKET)
}

impl GroupWindow {
    fn new(issue: Issue) -> GroupWindow {
        GroupWindow {
            issue,
            buckets: VecDeque::new(),
            users: BTreeMap::new(),
            users_by_time: BTreeSet::new(),
            last_event: UnixNanos::MIN,
        }
    }

    /// Counts one event at `at` (already clamped to now by the caller).
    fn record(&mut self, at: UnixNanos, user: Option<&str>, window: UnixNanos, user_cap: usize) {
        self.last_event = self.last_event.max(at);
        let width = bucket_width(window);
        let start = at - at.rem_euclid(width);
        // Events mostly arrive in order, so the search is from the back.
        match self.buckets.iter().rposition(|(s, _)| *s <= start) {
            Some(i) if self.buckets[i].0 == start => self.buckets[i].1 += 1,
            Some(i) => self.buckets.insert(i + 1, (start, 1)),
            None => self.buckets.push_front((start, 1)),
        }
        if let Some(user) = user.filter(|_| user_cap > 0) {
            let hash = fnv64(user.as_bytes());
            let seen = self.users.entry(hash).or_insert(at);
            self.users_by_time.remove(&(*seen, hash));
            *seen = (*seen).max(at);
            self.users_by_time.insert((*seen, hash));
            while self.users.len() > user_cap {
                let Some(oldest) = self.users_by_time.pop_first() else {
                    break;
                };
                self.users.remove(&oldest.1);
            }
        }
    }

    /// Events in the window ending at `now`.
    pub fn count(&self, now: UnixNanos, window: UnixNanos) -> u64 {
        let width = bucket_width(window);
        let from = now.saturating_sub(window);
        self.buckets.iter().filter(|(start, _)| start + width > from).map(|(_, n)| n).sum()
    }

    /// Distinct users seen in the window ending at `now` (up to the cap).
    pub fn distinct_users(&self, now: UnixNanos, window: UnixNanos) -> u64 {
        let from = now.saturating_sub(window);
        self.users_by_time.range((from, 0)..).count() as u64
    }

    /// Drops what fell out of the window; true when nothing is left.
    fn expire(&mut self, now: UnixNanos, window: UnixNanos) -> bool {
        let width = bucket_width(window);
        let from = now.saturating_sub(window);
        while self.buckets.front().is_some_and(|(start, _)| start + width <= from) {
            self.buckets.pop_front();
        }
        while let Some(&(seen, hash)) = self.users_by_time.first() {
            if seen >= from {
                break;
            }
            self.users_by_time.pop_first();
            self.users.remove(&hash);
        }
        self.buckets.is_empty() && self.users.is_empty()
    }
}

impl RuleWindows {
    pub fn new(window: UnixNanos) -> RuleWindows {
        RuleWindows { window, groups: BTreeMap::new() }
    }

    /// Records an event of `issue`; events older than the window are
    /// ignored (an SDK resending an hour-old batch is not a burst now).
    pub fn record(
        &mut self,
        issue: &Issue,
        at: UnixNanos,
        user: Option<&str>,
        user_cap: usize,
        now: UnixNanos,
    ) {
        if at <= now.saturating_sub(self.window) {
            return;
        }
        if !self.groups.contains_key(&issue.group_id) && self.groups.len() >= MAX_GROUPS_PER_RULE {
            let quietest = self.groups.iter().min_by_key(|(_, g)| g.last_event).map(|(id, _)| *id);
            if let Some(id) = quietest {
                self.groups.remove(&id);
            }
        }
        let group = self.groups.entry(issue.group_id).or_insert_with(|| GroupWindow::new(issue.clone()));
        if group.issue != *issue {
            group.issue = issue.clone();
        }
        group.record(at, user, self.window, user_cap);
    }

    /// Slides every window to `now`, dropping issues with nothing left.
    pub fn expire(&mut self, now: UnixNanos) {
        let window = self.window;
        self.groups.retain(|_, g| !g.expire(now, window));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn issue() -> Issue {
        Issue {
            group_id: 7,
            service: "checkout".into(),
            environment: None,
            exception_type: None,
            level: "error".into(),
            title: "KeyError".into(),
            culprit: String::new(),
        }
    }

    #[test]
    fn counts_slide_out() {
        let window = 600 * S;
        let mut w = RuleWindows::new(window);
        for i in 0..100 {
            w.record(&issue(), i * S, None, 0, i * S);
        }
        let g = &w.groups[&7];
        assert_eq!(g.count(99 * S, window), 100);
        // Buckets are 10 s: the last one (90–100 s) leaves the window at 100 s + window.
        assert_eq!(g.count(99 * S + window, window), 10);
        assert_eq!(g.count(100 * S + window, window), 0);
        w.expire(1_000 * S);
        assert!(w.groups.is_empty());
    }

    #[test]
    fn out_of_order_events_land_in_their_bucket() {
        let window = 600 * S;
        let mut w = RuleWindows::new(window);
        w.record(&issue(), 100 * S, None, 0, 100 * S);
        w.record(&issue(), 10 * S, None, 0, 100 * S);
        w.record(&issue(), 50 * S, None, 0, 100 * S);
        let g = &w.groups[&7];
        assert!(g.buckets.iter().zip(g.buckets.iter().skip(1)).all(|(a, b)| a.0 < b.0));
        assert_eq!(g.count(100 * S, window), 3);
    }

    #[test]
    fn users_are_capped_to_the_most_recent() {
        let window = 600 * S;
        let mut w = RuleWindows::new(window);
        for i in 0..50 {
            w.record(&issue(), i * S, Some(&format!("user-{i}")), 10, 50 * S);
        }
        w.record(&issue(), 51 * S, Some("user-45"), 10, 51 * S);
        let g = &w.groups[&7];
        assert_eq!(g.users.len(), 10);
        assert_eq!(g.distinct_users(51 * S, window), 10);
        assert_eq!(g.users_by_time.len(), 10);
    }
}
