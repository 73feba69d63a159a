//! What one run of a check produced: the type lives in `faultline-model`
//! so the store and the API share it.

pub use faultline_model::CheckResult;
use faultline_model::UnixNanos;

/// Now, in the unit of [`CheckResult::at`].
pub fn now_nanos() -> UnixNanos {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // i64 nanoseconds last until 2262; saturate rather than wrap after that.
    UnixNanos::try_from(since_epoch.as_nanos()).unwrap_or(UnixNanos::MAX)
}
