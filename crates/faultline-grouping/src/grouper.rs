//! The entry point: one event in, one [`Grouping`] out.

use faultline_model::{ErrorEvent, Grouping};

use crate::rules::{RuleError, Rules};
use crate::stacktrace::{event_trace, Trace};
use crate::variant::{default_variant, default_variant_v1, Variant};
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
        let trace = event_trace(event);
        let (variant, title_override) = self.choose(event, &trace, default_variant(event, &trace));
        let fingerprint = variant.fingerprint(&event.service);
        Grouping {
            previous_fingerprints: self.previous_fingerprints(event, &trace, &fingerprint),
            fingerprint,
            title: title_override.map_or_else(|| title::title(event, &trace), str::to_string),
            culprit: title::culprit(event, &trace),
            method: variant.method.as_str().to_string(),
            version: GROUPING_VERSION,
        }
    }

    /// Version 1's fingerprint of the event when it differs, so the event
    /// joins the issue version 1 made (rules and `{{ default }}` included).
    fn previous_fingerprints(&self, event: &ErrorEvent, trace: &Trace, current: &str) -> Vec<String> {
        let (v1, _) = self.choose(event, trace, default_variant_v1(event, trace));
        let previous = v1.fingerprint(&event.service);
        if previous == current {
            Vec::new()
        } else {
            vec![previous]
        }
    }

    /// The SDK's fingerprint attribute first (the code knows best), then the
    /// first matching rule, then the built-in chain; with the rule's title
    /// override, if any.
    fn choose(&self, event: &ErrorEvent, trace: &Trace, default: Variant) -> (Variant, Option<&str>) {
        if let Some(custom) = custom::variant(event, &default) {
            return (custom, None);
        }
        match self.rules.apply(event, trace, &default) {
            Some(rule) => (rule.variant, rule.title),
            None => (default, None),
        }
    }
}

#[cfg(test)]
mod tests;
