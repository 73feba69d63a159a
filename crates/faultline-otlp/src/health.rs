//! Per-endpoint health figures from OTLP, the pure part: [`span_samples`]
//! turns request spans into one [`HealthSample`] each, and [`MetricsHealth`]
//! turns `http.server.request.duration` histograms into [`HealthBucket`]s for
//! services that send metrics instead of spans. Storing and rolling them up
//! per minute and hour is the store's job.
//!
//! [`HealthSample`]: faultline_model::HealthSample
//! [`HealthBucket`]: faultline_model::HealthBucket

mod histogram;
mod metrics;
mod series;
mod spans;

pub use metrics::{MetricsHealth, DEFAULT_MAX_SERIES, DURATION_METRICS};
pub use spans::{span_samples, MAX_REQUEST_DURATION_NANOS};

use faultline_model::Outcome;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::attributes::{find_raw, http_status, value_text};
use crate::resource::UNKNOWN_SERVICE;
use crate::semconv;

/// Bytes kept of each part of a `HealthKey`. Keys are stored once per
/// endpoint and minute, so a 32 KiB route (a URL with a payload in it) must
/// not be copied into every one of them.
pub const MAX_KEY_PART_LEN: usize = 256;

/// `service.name` and the environment of a resource, cut for a key; the
/// service defaults as for error events, the environment to "".
fn resource_names(resource: Option<&Resource>) -> (String, String) {
    let attributes = resource.map(|r| r.attributes.as_slice()).unwrap_or_default();
    let service = text(attributes, &[semconv::SERVICE_NAME]).unwrap_or_else(|| UNKNOWN_SERVICE.to_owned());
    let environment = text(attributes, semconv::ENVIRONMENT).unwrap_or_default();
    (service, environment)
}

/// The first of `keys` holding a non-empty scalar, cut to [`MAX_KEY_PART_LEN`].
/// Reads the raw list: request spans are most spans, and converting all
/// their attributes would cost more than the lookups.
fn text(attributes: &[KeyValue], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| find_raw(attributes, key, MAX_KEY_PART_LEN).as_ref().and_then(value_text))
}

/// The HTTP status code under either semconv name, int or string.
fn status_code(attributes: &[KeyValue]) -> Option<u16> {
    semconv::HTTP_STATUS
        .iter()
        .find_map(|key| find_raw(attributes, key, MAX_KEY_PART_LEN).as_ref().and_then(http_status))
}

/// The outcome of the requests an attribute list describes, given whether
/// the source said they failed.
fn outcome(attributes: &[KeyValue], failed: bool) -> Outcome {
    Outcome::classify(failed, status_code(attributes))
}
