//! Counting rejected items and explaining why, for OTLP partial success.

use crate::limits::truncate;

/// How many reasons the error message lists; the count covers the rest.
const MAX_REASONS: usize = 3;
/// Names quoted in reasons are cut to this many bytes to keep the message short.
pub(crate) const MAX_NAME_IN_REASON: usize = 100;

/// Rejected items of one export and the first few reasons.
#[derive(Debug)]
pub(crate) struct Rejections {
    singular: &'static str,
    plural: &'static str,
    count: i64,
    reasons: Vec<String>,
}

impl Rejections {
    /// `singular` / `plural` name the item, e.g. `span` / `spans`.
    pub(crate) fn new(singular: &'static str, plural: &'static str) -> Rejections {
        Rejections { singular, plural, count: 0, reasons: Vec::new() }
    }

    pub(crate) fn reject(&mut self, reason: String) {
        self.count += 1;
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(reason);
        }
    }

    pub(crate) fn count(&self) -> i64 {
        self.count
    }

    /// E.g. `2 spans rejected: span 'x' has 500 attributes, the limit is 128; …`.
    /// Empty when nothing was rejected, as OTLP requires.
    pub(crate) fn message(&self) -> String {
        if self.count == 0 {
            return String::new();
        }
        let noun = if self.count == 1 { self.singular } else { self.plural };
        let mut message = format!("{} {noun} rejected: {}", self.count, self.reasons.join("; "));
        if self.count > self.reasons.len() as i64 {
            message.push_str("; …");
        }
        message
    }
}

/// A user-supplied name, shortened and quoted for a reason.
pub(crate) fn quoted(name: &str) -> String {
    format!("'{}'", truncate(name, MAX_NAME_IN_REASON))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_rejected_means_empty_message() {
        let rejections = Rejections::new("span", "spans");
        assert_eq!(rejections.count(), 0);
        assert_eq!(rejections.message(), "");
    }

    #[test]
    fn message_uses_singular_and_plural() {
        let mut rejections = Rejections::new("span", "spans");
        rejections.reject("span 'a' has 3 events, the limit is 2".into());
        assert_eq!(rejections.message(), "1 span rejected: span 'a' has 3 events, the limit is 2");
        rejections.reject("span 'b' too".into());
        assert_eq!(
            rejections.message(),
            "2 spans rejected: span 'a' has 3 events, the limit is 2; span 'b' too"
        );
    }

    #[test]
    fn message_lists_at_most_three_reasons() {
        let mut rejections = Rejections::new("log record", "log records");
        for i in 0..5 {
            rejections.reject(format!("r{i}"));
        }
        assert_eq!(rejections.count(), 5);
        assert_eq!(rejections.message(), "5 log records rejected: r0; r1; r2; …");
    }
}
