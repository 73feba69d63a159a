//! Health buckets from HTTP server duration histograms, for services that
//! send metrics instead of spans.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use faultline_model::{HealthBucket, HealthKey, UnixNanos};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, AggregationTemporality, DataPointFlags, ExponentialHistogramDataPoint, HistogramDataPoint,
    Metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::histogram::{latency, Counts, Shape};
use super::series::{SeriesId, SeriesMap};
use super::{outcome, resource_names, text};
use crate::semconv;

/// The histograms read, with the unit each has when the metric names none:
/// the stable HTTP semconv name (seconds) and the one before 1.23 (ms).
pub const DURATION_METRICS: &[(&str, &str)] =
    &[("http.server.request.duration", "s"), ("http.server.duration", "ms")];

/// Cumulative series remembered by default. At about a hundred bytes plus
/// the bucket counts each, 100 000 series take some tens of megabytes.
pub const DEFAULT_MAX_SERIES: usize = 100_000;

/// Turns duration histograms into [`HealthBucket`]s, one per data point with
/// requests, keyed by the resource's service and environment and the point's
/// `http.route` ("" when absent) and method.
///
/// Outcomes come from the point's attributes: `error.type` or an HTTP status
/// ≥ 500 makes all its requests errors, a 4xx status client errors. Latency
/// is placed at one value per histogram bucket (see `histogram.rs`: the
/// percentiles are only as exact as the histogram's buckets).
///
/// Delta points count as they are. Cumulative points count the difference to
/// the previous point of their series; a series is the resource, scope,
/// metric name and point attributes (the start time is compared, not part
/// of the identity, so a restarted process replaces its old series instead
/// of leaving it to be evicted). The first point of a series counts in full
/// only if it started at or after `started_at`, otherwise it is the baseline;
/// a reset (a count going down, or a new start time) starts over. At most
/// `max_series` series are remembered; the least recently updated go first,
/// and come back with a baseline, so eviction loses counts, never doubles them.
#[derive(Debug)]
pub struct MetricsHealth {
    started_at: UnixNanos,
    series: SeriesMap,
    /// Two independently keyed hashers make the 128-bit series ids.
    hashers: [RandomState; 2],
}

/// What the points of one metric share.
struct Context<'a> {
    service: &'a str,
    environment: &'a str,
    /// The hash of resource, scope and metric name; points add their attributes.
    series: SeriesId,
    temporality: i32,
    to_ms: f64,
}

/// One data point of either histogram kind, reduced to what health needs.
struct Point<'a> {
    attributes: &'a [KeyValue],
    start: u64,
    time: u64,
    flags: u32,
    counts: Counts,
    shape: Shape<'a>,
}

impl MetricsHealth {
    /// A tracker whose cumulative series count in full only if they started
    /// at or after `started_at` (normally the process start).
    pub fn new(started_at: UnixNanos) -> MetricsHealth {
        MetricsHealth::with_max_series(started_at, DEFAULT_MAX_SERIES)
    }

    /// The same, remembering at most `max_series` cumulative series (at least one).
    pub fn with_max_series(started_at: UnixNanos, max_series: usize) -> MetricsHealth {
        MetricsHealth {
            started_at,
            series: SeriesMap::new(max_series),
            hashers: [RandomState::new(), RandomState::new()],
        }
    }

    /// Cumulative series currently remembered.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The buckets of one export: (endpoint, point time, figures), one per
    /// data point that added requests, in request order.
    pub fn buckets(
        &mut self,
        req: &ExportMetricsServiceRequest,
    ) -> Vec<(HealthKey, UnixNanos, HealthBucket)> {
        let mut out = Vec::new();
        for resource_metrics in &req.resource_metrics {
            // Read once per resource, and only if it sends a duration metric.
            let mut resource: Option<(String, String, Vec<u8>)> = None;
            for scope_metrics in &resource_metrics.scope_metrics {
                for metric in &scope_metrics.metrics {
                    let Some(to_ms) = ms_per_unit(metric) else { continue };
                    let (service, environment, resource_bytes) =
                        resource.get_or_insert_with(|| resource_parts(resource_metrics.resource.as_ref()));
                    let scope = scope_bytes(scope_metrics.scope.as_ref());
                    let context = Context {
                        service,
                        environment,
                        series: self.hash(&[resource_bytes, &scope, metric.name.as_bytes()]),
                        temporality: temporality(metric),
                        to_ms,
                    };
                    self.metric(&context, metric, &mut out);
                }
            }
        }
        out
    }

    fn metric(
        &mut self,
        context: &Context<'_>,
        metric: &Metric,
        out: &mut Vec<(HealthKey, UnixNanos, HealthBucket)>,
    ) {
        match &metric.data {
            Some(Data::Histogram(histogram)) => {
                for point in &histogram.data_points {
                    let point = self.explicit_point(point, context.to_ms);
                    out.extend(self.point(context, point));
                }
            }
            Some(Data::ExponentialHistogram(histogram)) => {
                for point in &histogram.data_points {
                    out.extend(self.point(context, exponential_point(point, context.to_ms)));
                }
            }
            _ => {}
        }
    }

    fn explicit_point<'a>(&self, point: &'a HistogramDataPoint, to_ms: f64) -> Point<'a> {
        Point {
            attributes: &point.attributes,
            start: point.start_time_unix_nano,
            time: point.time_unix_nano,
            flags: point.flags,
            counts: Counts::explicit(point, &self.hashers[0]),
            shape: Shape { bounds: &point.explicit_bounds, min: point.min, max: point.max, to_ms },
        }
    }

    /// The bucket of one point, or `None` when it adds no requests (a
    /// baseline, an idle interval) or cannot be read.
    fn point(
        &mut self,
        context: &Context<'_>,
        point: Point<'_>,
    ) -> Option<(HealthKey, UnixNanos, HealthBucket)> {
        // A point flagged "no recorded value" marks a series as gone; the
        // next real point is compared with the last one before the gap.
        if point.flags & DataPointFlags::NoRecordedValueMask as u32 != 0 {
            return None;
        }
        let at = UnixNanos::try_from(point.time).ok().filter(|time| *time > 0)?;
        let counts = if context.temporality == AggregationTemporality::Delta as i32 {
            point.counts
        } else if context.temporality == AggregationTemporality::Cumulative as i32 {
            let id = self.hash(&[&context.series.to_le_bytes(), &sorted_bytes(point.attributes)]);
            self.series.advance(id, point.start, point.counts, self.started_at)?
        } else {
            return None;
        };
        if counts.total == 0 {
            return None;
        }
        let failed = text(point.attributes, &[semconv::ERROR_TYPE]).is_some();
        let mut bucket = HealthBucket::default();
        bucket.record(outcome(point.attributes, failed), counts.total);
        bucket.latency = latency(&counts, &point.shape);
        let key = HealthKey {
            service: context.service.to_owned(),
            environment: context.environment.to_owned(),
            route: text(point.attributes, semconv::HTTP_ROUTE).unwrap_or_default(),
            method: text(point.attributes, semconv::HTTP_METHOD).unwrap_or_default(),
        };
        Some((key, at, bucket))
    }

    /// A 128-bit hash of length-prefixed parts.
    fn hash(&self, parts: &[&[u8]]) -> SeriesId {
        let [first, second] = self.hashers.each_ref().map(|hasher| {
            let mut state = hasher.build_hasher();
            for part in parts {
                state.write_usize(part.len());
                state.write(part);
            }
            state.finish()
        });
        (u128::from(first) << 64) | u128::from(second)
    }
}

fn exponential_point(point: &ExponentialHistogramDataPoint, to_ms: f64) -> Point<'_> {
    Point {
        attributes: &point.attributes,
        start: point.start_time_unix_nano,
        time: point.time_unix_nano,
        flags: point.flags,
        counts: Counts::exponential(point),
        shape: Shape { bounds: &[], min: point.min, max: point.max, to_ms },
    }
}

/// Milliseconds per unit of a duration metric; `None` for other metrics
/// and for units that are not durations.
fn ms_per_unit(metric: &Metric) -> Option<f64> {
    let (_, default_unit) = DURATION_METRICS.iter().find(|(name, _)| *name == metric.name)?;
    let unit = if metric.unit.is_empty() { default_unit } else { metric.unit.as_str() };
    match unit {
        "s" => Some(1000.0),
        "ms" => Some(1.0),
        "us" => Some(1e-3),
        "ns" => Some(1e-6),
        _ => None,
    }
}

fn temporality(metric: &Metric) -> i32 {
    match &metric.data {
        Some(Data::Histogram(h)) => h.aggregation_temporality,
        Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality,
        _ => AggregationTemporality::Unspecified as i32,
    }
}

/// Service, environment and the identity bytes of a resource.
fn resource_parts(resource: Option<&Resource>) -> (String, String, Vec<u8>) {
    let (service, environment) = resource_names(resource);
    let attributes = resource.map(|r| r.attributes.as_slice()).unwrap_or_default();
    (service, environment, sorted_bytes(attributes))
}

fn scope_bytes(scope: Option<&InstrumentationScope>) -> Vec<u8> {
    scope.map(|s| [s.name.as_bytes(), &[0], s.version.as_bytes()].concat()).unwrap_or_default()
}

/// An attribute list in a canonical byte form: sorted by key (an SDK may
/// send a set in any order), each pair protobuf-encoded.
fn sorted_bytes(attributes: &[KeyValue]) -> Vec<u8> {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted.iter().flat_map(|kv| kv.encode_length_delimited_to_vec()).collect()
}

#[cfg(test)]
mod tests;
