//! The cap on new groups per service per hour. A fingerprint storm (an
//! id in an exception type, a generated class name, a minified bundle
//! changing every deploy) would otherwise make thousands of groups, each a
//! "new issue" alert; past the cap, events that would make a new group
//! join the service's one overflow group instead, which counts the
//! distinct fingerprints it took.
//!
//! The count is per clock hour of commit (not of the events' own times,
//! which may be old), kept in the committer's memory: a restart starts the
//! hour's count afresh, so at most one more hour's cap gets through.

use std::collections::HashMap;

use faultline_model::{Grouping, UnixNanos};

const NANOS_PER_HOUR: i64 = 3_600 * 1_000_000_000;

/// Title of every overflow group.
pub const OVERFLOW_TITLE: &str = "Too many new issues: fingerprints over the hourly cap";

/// The fingerprint a service's overflow group is found by. Real
/// fingerprints are hex digests, so this one never collides with them.
pub fn overflow_fingerprint(service: &str) -> String {
    format!("overflow:{service}")
}

/// What grouping would have said of the overflow group, for its record.
pub fn overflow_grouping(service: &str) -> Grouping {
    Grouping {
        fingerprint: overflow_fingerprint(service),
        title: OVERFLOW_TITLE.to_string(),
        culprit: format!("limits.max_new_groups_per_service_per_hour, service {service}"),
        method: "overflow".to_string(),
        version: 0,
        previous_fingerprints: Vec::new(),
    }
}

/// New groups made per service in the current hour.
#[derive(Debug, Default, Clone)]
pub(crate) struct NewGroupCap {
    /// `None`: no cap.
    max_per_hour: Option<u64>,
    hour: i64,
    made: HashMap<String, u64>,
}

impl NewGroupCap {
    pub fn new(max_per_hour: Option<u64>) -> NewGroupCap {
        NewGroupCap { max_per_hour, hour: 0, made: HashMap::new() }
    }

    /// Whether `service` may make one more group at `now`; counts it if so.
    pub fn allow(&mut self, service: &str, now: UnixNanos) -> bool {
        let Some(max) = self.max_per_hour else { return true };
        let hour = now.div_euclid(NANOS_PER_HOUR);
        if hour != self.hour {
            self.hour = hour;
            self.made.clear();
        }
        let made = self.made.entry(service.to_string()).or_insert(0);
        if *made >= max {
            return false;
        }
        *made += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_gets_its_cap_each_hour() {
        let mut cap = NewGroupCap::new(Some(2));
        let t = 10 * NANOS_PER_HOUR;
        assert!(cap.allow("api", t));
        assert!(cap.allow("api", t + 1));
        assert!(!cap.allow("api", t + 2));
        assert!(cap.allow("web", t + 3));
        assert!(cap.allow("api", t + NANOS_PER_HOUR));
    }

    #[test]
    fn no_cap_allows_everything() {
        let mut cap = NewGroupCap::new(None);
        assert!((0..10_000).all(|i| cap.allow("api", i)));
    }
}
