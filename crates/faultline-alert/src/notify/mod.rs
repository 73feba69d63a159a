//! Notification channels: where a [`Notification`](crate::Notification)
//! goes (webhook, Slack, email, PagerDuty), what it looks like there, and
//! how it gets there ([`deliver`], with retries).
//!
//! Rendering is pure (`render_*`), so the server can show a preview and
//! tests can check the shape without a network. Delivery reports every
//! attempt through a callback, so the server can keep a history of what
//! was tried and why it failed.
//!
//! # Webhook format (version 1)
//!
//! A webhook channel POSTs `application/json`. Every alert is listed; times
//! are RFC 3339 UTC; absent values are `null`. New fields may be added
//! within a version; removing or retyping one bumps `version`.
//!
//! ```json
//! {
//!   "version": 1,
//!   "id": "n-0001",
//!   "kind": "firing",
//!   "title": "[FIRING] Error rate 12.5% on checkout /pay",
//!   "rule": { "id": "rule-errors", "name": "Error rate above 5%" },
//!   "severity": "critical",
//!   "created_at": "2025-01-01T00:01:00Z",
//!   "alerts": [{
//!     "key": "service=checkout,route=/pay",
//!     "state": "firing",
//!     "severity": "critical",
//!     "title": "Error rate 12.5% on checkout /pay",
//!     "summary": "12.5% of 400 requests failed in 5m\nculprit: checkout.pay in handlers/pay.py",
//!     "labels": { "route": "/pay", "service": "checkout" },
//!     "value": 12.5,
//!     "threshold": 5.0,
//!     "url": "https://faultline.example.com/services/checkout",
//!     "service": "checkout",
//!     "group_id": 42,
//!     "check_id": null,
//!     "started_at": "2025-01-01T00:00:00Z",
//!     "resolved_at": null
//!   }]
//! }
//! ```
//!
//! `kind` is `firing`, `reminder` (still firing after the repeat interval)
//! or `resolved`; an alert's `state` is `pending`, `firing` or `resolved`;
//! `severity` is `warning` or `critical`. `id` stays the same across
//! retries, so a receiver can drop duplicates.
//!
//! # Webhook signatures
//!
//! A webhook channel with a `secret` signs each request:
//!
//! ```text
//! X-Faultline-Timestamp: 1735689600
//! X-Faultline-Signature: sha256=<hex(HMAC-SHA256(secret, "1735689600." + body))>
//! ```
//!
//! The timestamp is the Unix time in seconds when the attempt was made, so
//! every retry is signed anew. A receiver recomputes the HMAC over the
//! timestamp header, a `.` and the raw body bytes, compares it in constant
//! time, and rejects timestamps too far from its own clock (replays).

mod channel;
mod deliver;
mod email;
mod error;
mod format;
mod http;
mod outcome;
mod pagerduty;
mod policy;
pub mod report;
mod slack;
mod smtp;
mod webhook;

pub use channel::{Channel, ChannelConfig, EmailTls, DEFAULT_PAGERDUTY_EVENTS_URL};
pub use deliver::{deliver, DeliveryAttempt};
pub use email::render_email;
pub use error::{CaFileError, ChannelError, DeliveryError};
pub use pagerduty::render_pagerduty;
pub use policy::DeliveryPolicy;
pub use slack::render_slack;
pub use webhook::{render_webhook, sign_webhook, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_VERSION};
