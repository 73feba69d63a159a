//! The entry point: one event in, one [`Grouping`] out.

use faultline_model::{ErrorEvent, Grouping};

use crate::stacktrace::{parse_trace, Trace};
use crate::variant::default_variant;
use crate::{custom, title, GROUPING_VERSION};

/// Groups error events. Cheap to clone and share between threads.
///
/// Server-side fingerprint rules (Sentry's "fingerprint rules": match on
/// type, message, module or path and assign a fingerprint) will be
/// configured here; today there is nothing to configure.
#[derive(Debug, Clone, Default)]
pub struct Grouper {
    /// Placeholder for configuration so adding it is not a breaking change.
    _config: (),
}

impl Grouper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fingerprint, title, culprit and method for one event. Never fails
    /// and never panics: input that cannot be read falls through to the
    /// next variant of the chain (see the crate docs).
    pub fn group(&self, event: &ErrorEvent) -> Grouping {
        let trace = read_trace(event);
        let default = default_variant(event, &trace);
        let variant = custom::variant(event, &default).unwrap_or(default);
        Grouping {
            fingerprint: variant.fingerprint(&event.service),
            title: title::title(event, &trace),
            culprit: title::culprit(event, &trace),
            method: variant.method.as_str().to_string(),
            version: GROUPING_VERSION,
        }
    }
}

/// The event's stack trace parsed with its SDK language as the hint.
fn read_trace(event: &ErrorEvent) -> Trace {
    match event.stacktrace.as_deref() {
        Some(text) if !text.trim().is_empty() => parse_trace(text, event.sdk_language.as_deref()),
        _ => Trace::default(),
    }
}

#[cfg(test)]
mod tests;
