//! The entry point: one event in, one [`Grouping`] out.

use faultline_model::{ErrorEvent, Grouping};

use crate::rules::{RuleError, Rules};
use crate::stacktrace::{parse_trace, Trace};
use crate::variant::{default_variant, Variant};
use crate::{custom, title, GroupingConfig, GROUPING_VERSION};

/// Groups error events. Cheap to clone and share between threads.
///
/// Holds the server's fingerprint rules (see [`GroupingConfig`]), compiled
/// once so grouping an event never parses configuration.
#[derive(Debug, Clone, Default)]
pub struct Grouper {
    rules: Rules,
}

impl Grouper {
    /// The built-in algorithm without fingerprint rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// A grouper applying `config`'s rules; fails on the first invalid rule
    /// so a broken configuration stops the server at startup.
    pub fn with_config(config: GroupingConfig) -> Result<Grouper, RuleError> {
        Ok(Grouper { rules: Rules::compile(&config)? })
    }

    /// Fingerprint, title, culprit and method for one event. Never fails
    /// and never panics: input that cannot be read falls through to the
    /// next variant of the chain (see the crate docs).
    pub fn group(&self, event: &ErrorEvent) -> Grouping {
        let trace = read_trace(event);
        let (variant, title_override) = self.choose(event, &trace);
        Grouping {
            fingerprint: variant.fingerprint(&event.service),
            title: title_override.map_or_else(|| title::title(event, &trace), str::to_string),
            culprit: title::culprit(event, &trace),
            method: variant.method.as_str().to_string(),
            version: GROUPING_VERSION,
            // Version 1 is the first; a version 2 lists version 1's
            // fingerprint of the event here so existing issues keep their events.
            previous_fingerprints: Vec::new(),
        }
    }

    /// The SDK's fingerprint attribute first (the code knows best), then the
    /// first matching rule, then the built-in chain; with the rule's title
    /// override, if any.
    fn choose(&self, event: &ErrorEvent, trace: &Trace) -> (Variant, Option<&str>) {
        let default = default_variant(event, trace);
        if let Some(custom) = custom::variant(event, &default) {
            return (custom, None);
        }
        match self.rules.apply(event, trace, &default) {
            Some(rule) => (rule.variant, rule.title),
            None => (default, None),
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
