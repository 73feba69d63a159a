//! Sentry SDKs in, Faultline error events out: the Sentry ingestion
//! protocol beside OTLP, so a team keeps its Sentry SDKs and changes only
//! the DSN.
//!
//! The steps, each its own module:
//! - [`decompress`]: the body as sent (`Content-Encoding` gzip, deflate,
//!   br or none), within a size limit;
//! - [`sentry_key`]: the project key from `X-Sentry-Auth` or `?sentry_key=`;
//! - [`parse_envelope`] (`/api/{id}/envelope/`) and [`parse_store`] (the
//!   older `/api/{id}/store/`, one event as JSON): the items of a request;
//!   `event` items become error events, `transaction` and `span` items API
//!   health figures; `attachment` and unknown item types are recognised,
//!   acknowledged and dropped for now; an item that cannot be framed or
//!   read is set aside without costing the others;
//! - [`session_counts`]: ended sessions per release and outcome, from
//!   `session` and `sessions` items (release health);
//! - [`discarded`]: the counts of events the SDK dropped itself, from its
//!   `client_report` items;
//! - [`to_error_event`]: one Sentry event as the model's
//!   [`ErrorEvent`](faultline_model::ErrorEvent);
//! - [`transaction_sample`]: one transaction as the request it describes
//!   ([`HealthSample`](faultline_model::HealthSample)), keyed and
//!   classified as an OTLP server span is; [`streamed_span_samples`] the
//!   same for the segment spans of a `span` item (SDKs that stream spans
//!   instead of sending transactions).
//!
//! # How Sentry frames are grouped like OTel stack traces
//!
//! The model keeps a stack trace as the text the runtime printed
//! (`ErrorEvent::stacktrace`), and grouping parses that text
//! (`faultline_grouping::stacktrace::parse_trace`, one parser per runtime)
//! into its structured trace, applying that runtime's in-app detection and
//! normalization to what it parsed. An OTel SDK sends the text its runtime
//! prints, so this crate renders Sentry's structured frames as exactly that
//! text for the event's `platform` ([`traceback`]: Python, Node, Java, .NET,
//! Go, Ruby, PHP): the same bug sent by either SDK gives grouping the same
//! input and lands in one issue, with no second grouping path to keep in
//! step. The SDK's own `in_app` flags travel beside the text
//! (`faultline.in_app`) and override grouping's detection; the structured
//! frames (with context lines, `in_app`, `colno`) stay on the event as the
//! `sentry.exception` attribute for display.

mod auth;
mod client_report;
mod convert;
mod decompress;
mod envelope;
mod fields;
mod sessions;
mod streamed_spans;
pub mod traceback;
mod transaction;

pub use auth::{sentry_key, AuthError};
pub use client_report::{discarded, Discarded};
pub use convert::{to_error_event, Project, MAX_BREADCRUMBS};
pub use decompress::{decompress, DecompressError};
pub use envelope::{parse_envelope, parse_store, Envelope, EnvelopeError, Item, ItemKind};
pub use sessions::{session_counts, SessionCount, SESSION_OUTCOMES};
pub use streamed_spans::{streamed_span_samples, SpanItemError};
pub use transaction::transaction_sample;
