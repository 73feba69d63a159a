//! Turns an error event into a fingerprint, a title and a culprit.
//!
//! The server calls [`Grouper::group`] once per [`ErrorEvent`]; events whose
//! fingerprints are equal become one issue. The algorithm follows Sentry's:
//! a fallback chain of *variants*, first match wins.
//!
//! 1. `custom`: an `error.fingerprint` / `faultline.fingerprint` attribute,
//!    else the first matching fingerprint rule of the server's
//!    configuration (see [`GroupingConfig`]).
//! 2. `route`: HTTP 5xx server spans without an exception (type + route + method).
//! 3. `stacktrace`: exception type + the function and module of the frame
//!    that locates the root cause, its top in-app frame (see `locate` and
//!    [`stacktrace`]).
//! 4. `message`: exception type + the parameterized message (see
//!    [`normalize::parameterize_message`]).
//! 5. `route` again for events that carry nothing else (span name, route, status).
//!
//! Every fingerprint is scoped by `service.name`. The algorithm's version is
//! [`GROUPING_VERSION`], stored with each group so a later version can change
//! the rules without silently splitting existing issues.
//!
//! Input comes from the network: every parser works on a capped prefix of the
//! text (see `limits`), never panics and never fails; text it cannot read
//! just falls through to the next variant.
//!
//! [`ErrorEvent`]: faultline_model::ErrorEvent

mod code_location;
mod custom;
mod fingerprint;
mod grouper;
mod in_app;
mod limits;
mod locate;
pub mod normalize;
mod rules;
pub mod stacktrace;
mod title;
mod variant;

pub use grouper::Grouper;
pub use rules::{FingerprintRule, GlobError, GroupingConfig, RuleError};
pub use variant::Method;

/// Version of the grouping algorithm, stored on every group. Bump it whenever
/// a change would give an existing event a different fingerprint, and have
/// [`Grouper::group`] list the previous version's fingerprint.
///
/// 1. stack traces hashed up to five frames nearest the raise site;
/// 2. one frame, the one locating the root cause, so the entry point that
///    reached a failure no longer splits it.
pub const GROUPING_VERSION: u32 = 2;
