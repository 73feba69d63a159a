//! OTLP requests in, Faultline error events out.
//!
//! [`decode`] turns an OTLP/HTTP body (protobuf or OTLP/JSON) into the
//! opentelemetry-proto request types, which gRPC receivers get directly.
//! [`extract_traces`] and [`extract_logs`] then find the errors in it under
//! the [`Limits`], reporting rejected items for OTLP partial success.
//! [`status`] holds the `google.rpc.Status` error body of OTLP/HTTP.
//! [`span_samples`] and [`MetricsHealth`] give per-endpoint health figures
//! from request spans and HTTP server duration histograms.

mod attributes;
pub mod decode;
mod event;
mod health;
mod limits;
mod logs;
mod rejection;
mod resource;
mod semconv;
pub mod status;
mod traces;

#[cfg(test)]
mod test_support;

pub use health::{
    span_buckets, span_samples, MetricsHealth, DEFAULT_MAX_SERIES, DURATION_METRICS, MAX_KEY_PART_LEN,
    MAX_REQUEST_DURATION_NANOS,
};
pub use limits::{mark_truncated, truncate, Limits, TRUNCATED_ATTRIBUTE, TRUNCATION_MARKER};
pub use logs::{extract_logs, LOG_BODY, LOG_SEVERITY_TEXT, SCOPE_NAME};
pub use resource::UNKNOWN_SERVICE;
pub use traces::extract_traces;

/// The generated OTLP types, for anything not re-exported below.
pub use opentelemetry_proto;
/// Request, response and service types of the three OTLP collector services.
pub use opentelemetry_proto::tonic::collector::{logs::v1::*, metrics::v1::*, trace::v1::*};

use faultline_model::ErrorEvent;

/// What one export yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// Error events found, in request order.
    pub events: Vec<ErrorEvent>,
    /// Items rejected for exceeding the limits: OTLP's `rejected_spans` /
    /// `rejected_log_records`.
    pub rejected: i64,
    /// Why items were rejected; empty when nothing was.
    pub error_message: String,
    /// Spans or log records seen, rejected ones included.
    pub items: u64,
}
