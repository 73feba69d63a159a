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
pub use spans::{span_buckets, span_samples, MAX_REQUEST_DURATION_NANOS};

use std::borrow::Cow;

use faultline_model::Outcome;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Otlp, KeyValue};
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
    let (service, environment) = resource_names_ref(resource);
    (service.into_owned(), environment.into_owned())
}

/// [`resource_names`], borrowed from the resource where it can be.
fn resource_names_ref(resource: Option<&Resource>) -> (Cow<'_, str>, Cow<'_, str>) {
    let attributes = resource.map(|r| r.attributes.as_slice()).unwrap_or_default();
    let service = text_ref(attributes, &[semconv::SERVICE_NAME]).unwrap_or(Cow::Borrowed(UNKNOWN_SERVICE));
    let environment = text_ref(attributes, semconv::ENVIRONMENT).unwrap_or_default();
    (service, environment)
}

/// What [`text`] gives, borrowed when the value is a string short enough
/// to keep whole (nearly always): request spans are most spans, and a copy
/// of each of their key parts would cost more than the lookups.
fn text_ref<'a>(attributes: &'a [KeyValue], keys: &[&str]) -> Option<Cow<'a, str>> {
    keys.iter().find_map(|key| {
        let found = attributes.iter().rev().find(|kv| kv.key == *key)?;
        match found.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Otlp::StringValue(s)) if s.len() <= MAX_KEY_PART_LEN => {
                (!s.is_empty()).then_some(Cow::Borrowed(s.as_str()))
            }
            // Rare: long strings, numbers, booleans, bytes take the converting path.
            _ => text(std::slice::from_ref(found), &[key]).map(Cow::Owned),
        }
    })
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
