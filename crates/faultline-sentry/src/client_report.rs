//! `client_report` items: what the SDK itself dropped (sampled out,
//! filtered by `before_send`, its queue full, backing off a rate limit...),
//! per reason and data category, so the operator sees events that never
//! reached the server.
//!
//! ```text
//! {"timestamp": 1733446500.1, "discarded_events": [
//!     {"reason": "before_send", "category": "error", "quantity": 2}]}
//! ```

use serde::Deserialize;

use crate::envelope::{Envelope, ItemKind};

/// Events an SDK reports it dropped, of one reason and category.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discarded {
    pub reason: String,
    pub category: String,
    pub quantity: u64,
}

#[derive(Deserialize)]
struct ClientReport {
    #[serde(default)]
    discarded_events: Vec<Discarded>,
}

/// The discarded counts of the envelope's `client_report` items; a report
/// that cannot be read counts for nothing (it is the SDK's bookkeeping,
/// not data of the user's).
pub fn discarded(envelope: &Envelope) -> Vec<Discarded> {
    envelope
        .items
        .iter()
        .filter(|item| item.kind == ItemKind::ClientReport)
        .filter_map(|item| serde_json::from_slice::<ClientReport>(&item.payload).ok())
        .flat_map(|report| report.discarded_events)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::parse_envelope;

    #[test]
    fn reads_the_discarded_counts_of_every_report() {
        let body = b"{}\n{\"type\":\"client_report\"}\n\
{\"timestamp\":1.5,\"discarded_events\":[{\"reason\":\"before_send\",\"category\":\"error\",\"quantity\":2},\
{\"reason\":\"queue_overflow\",\"category\":\"transaction\",\"quantity\":1}]}\n\
{\"type\":\"client_report\"}\nnot json\n\
{\"type\":\"client_report\"}\n{\"timestamp\":2}\n\
{\"type\":\"event\"}\n{\"discarded_events\":[{\"reason\":\"x\",\"category\":\"y\",\"quantity\":9}]}\n";
        let found = discarded(&parse_envelope(body).unwrap());
        let summary: Vec<(&str, &str, u64)> =
            found.iter().map(|d| (d.reason.as_str(), d.category.as_str(), d.quantity)).collect();
        assert_eq!(summary, [("before_send", "error", 2), ("queue_overflow", "transaction", 1)]);
    }
}
