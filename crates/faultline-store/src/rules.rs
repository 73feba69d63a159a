//! The domain rules every engine applies alike, for engines that live
//! outside this crate (PostgreSQL): how an event changes its group
//! (counts, first and last seen, regressions), status changes, merging a
//! group's figures, the overflow group of the new-group cap, and the
//! encoding of health buckets (their latency sketch).

pub use crate::group_ops::{absorb, accumulate, apply_status, blank, new_group, record_occurrence};
pub use crate::health::{decode_bucket, encode_bucket, hour_of_minute, retention_cutoff_hour, rollup_cutoff};
pub use crate::new_group_cap::overflow_grouping;
