//! What one run of a check produced: the type lives in `faultline-model`
//! so the store and the API share it.

pub use faultline_model::CheckResult;
