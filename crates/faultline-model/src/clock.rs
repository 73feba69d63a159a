//! The wall clock in the unit every timestamp here uses.
//!
//! Reading the clock is the one impure helper in this crate: it lives here
//! so every crate stamps times the same way (saturating, never panicking)
//! instead of each keeping its own copy.

use crate::UnixNanos;

/// Now, in nanoseconds since the Unix epoch.
///
/// A clock set before 1970 reads as 0 and one past 2262 (where `i64`
/// nanoseconds end) as `UnixNanos::MAX`: saturating keeps ordering sane
/// where wrapping or panicking would not.
pub fn now_nanos() -> UnixNanos {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| UnixNanos::try_from(since.as_nanos()).unwrap_or(UnixNanos::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2020_and_moves_forward() {
        let first = now_nanos();
        assert!(first > 1_577_836_800_000_000_000);
        assert!(now_nanos() >= first);
    }
}
