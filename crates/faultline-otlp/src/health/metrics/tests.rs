#![allow(clippy::unwrap_used)]

use super::*;
use crate::test_support::*;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, ExponentialHistogram, Gauge, Histogram, NumberDataPoint,
    ResourceMetrics, ScopeMetrics,
};

/// The bucket bounds the HTTP semconv advises for `http.server.request.duration`, in seconds.
const BOUNDS: [f64; 14] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
const STARTED_AT: UnixNanos = 1_700_000_000_000_000_000;
const SECOND: u64 = 1_000_000_000;
/// A process that started before the tracker, and one that started after.
const OLD_START: u64 = STARTED_AT as u64 - 3600 * SECOND;
const NEW_START: u64 = STARTED_AT as u64 + 10 * SECOND;
const DELTA: AggregationTemporality = AggregationTemporality::Delta;
const CUMULATIVE: AggregationTemporality = AggregationTemporality::Cumulative;

fn ok_attributes() -> Vec<KeyValue> {
    vec![
        s("http.request.method", "GET"),
        s("http.route", "/users/{id}"),
        i("http.response.status_code", 200),
        s("url.scheme", "https"),
    ]
}

/// Counts per bucket of [`BOUNDS`], given sparsely as (bucket, count).
fn point(attributes: Vec<KeyValue>, start: u64, time: u64, counts: &[(usize, u64)]) -> HistogramDataPoint {
    let mut bucket_counts = vec![0; BOUNDS.len() + 1];
    for (bucket, n) in counts {
        bucket_counts[*bucket] += n;
    }
    HistogramDataPoint {
        attributes,
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: bucket_counts.iter().sum(),
        bucket_counts,
        explicit_bounds: BOUNDS.to_vec(),
        ..Default::default()
    }
}

fn histogram(
    name: &str,
    unit: &str,
    temporality: AggregationTemporality,
    points: Vec<HistogramDataPoint>,
) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: temporality as i32,
        })),
        ..Default::default()
    }
}

fn durations(temporality: AggregationTemporality, points: Vec<HistogramDataPoint>) -> Metric {
    histogram("http.server.request.duration", "s", temporality, points)
}

fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource()),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.flask".into(),
                    version: "0.48b0".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn buckets(tracker: &mut MetricsHealth, metrics: Vec<Metric>) -> Vec<(HealthKey, UnixNanos, HealthBucket)> {
    tracker.buckets(&request(metrics))
}

fn only(mut out: Vec<(HealthKey, UnixNanos, HealthBucket)>) -> (HealthKey, UnixNanos, HealthBucket) {
    assert_eq!(out.len(), 1, "{out:#?}");
    out.remove(0)
}

fn requests(out: &[(HealthKey, UnixNanos, HealthBucket)]) -> Vec<u64> {
    out.iter().map(|(_, _, bucket)| bucket.requests).collect()
}

#[test]
fn delta_explicit_histogram_becomes_a_bucket() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let time = STARTED_AT as u64 + 60 * SECOND;
    // 60 requests of 10-25 ms, 30 of 50-75 ms, 10 of 250-500 ms.
    let p = point(ok_attributes(), time - 60 * SECOND, time, &[(2, 60), (4, 30), (7, 10)]);
    let (key, at, bucket) = only(buckets(&mut tracker, vec![durations(DELTA, vec![p])]));
    assert_eq!(
        key,
        HealthKey {
            service: "checkout".into(),
            environment: "production".into(),
            route: "/users/{id}".into(),
            method: "GET".into(),
        }
    );
    assert_eq!(at, time as UnixNanos);
    assert_eq!((bucket.requests, bucket.errors, bucket.client_errors), (100, 0, 0));
    assert_eq!(bucket.latency.count(), 100);
    // Each bucket's count sits at its midpoint, in milliseconds.
    let close = |q: f64, ms: f64| (bucket.latency.quantile(q).unwrap() - ms).abs() <= ms * 0.01;
    assert!(close(0.5, 17.5), "{:?}", bucket.latency.quantile(0.5));
    assert!(close(0.8, 62.5));
    assert!(close(0.99, 375.0));
    assert_eq!(tracker.series_count(), 0, "delta series need no memory");
}

#[test]
fn outcomes_from_status_and_error_type() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let time = STARTED_AT as u64 + 60 * SECOND;
    let with = |status: KeyValue| {
        let mut attributes = vec![s("http.request.method", "POST"), s("http.route", "/orders")];
        attributes.push(status);
        point(attributes, time - 60 * SECOND, time, &[(5, 4)])
    };
    let points = vec![
        with(i("http.response.status_code", 503)),
        with(s("http.status_code", "404")),
        with(s("error.type", "java.net.SocketTimeoutException")),
        with(i("http.response.status_code", 201)),
    ];
    let out = buckets(&mut tracker, vec![durations(DELTA, points)]);
    let figures: Vec<(u64, u64, u64)> =
        out.iter().map(|(_, _, b)| (b.requests, b.errors, b.client_errors)).collect();
    assert_eq!(figures, [(4, 4, 0), (4, 0, 4), (4, 4, 0), (4, 0, 0)]);
    assert_eq!(out[0].2.error_rate(), Some(1.0));
}

#[test]
fn cumulative_points_count_their_differences() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let at = |minute: u64| STARTED_AT as u64 + minute * 60 * SECOND;
    let export = |tracker: &mut MetricsHealth, minute: u64, counts: &[(usize, u64)]| {
        buckets(
            tracker,
            vec![durations(CUMULATIVE, vec![point(ok_attributes(), OLD_START, at(minute), counts)])],
        )
    };
    // The process ran before the tracker: the first point is the baseline.
    assert!(export(&mut tracker, 1, &[(2, 500), (7, 20)]).is_empty());
    let (_, time, second) = only(export(&mut tracker, 2, &[(2, 560), (7, 20), (10, 1)]));
    assert_eq!(time, at(2) as UnixNanos);
    assert_eq!(second.requests, 61);
    assert_eq!(second.latency.count(), 61);
    assert!((second.latency.max().unwrap() - 1750.0).abs() < 1e-9, "the 1-2.5 s bucket's midpoint");
    let (_, _, third) = only(export(&mut tracker, 3, &[(2, 565), (7, 25), (10, 1)]));
    assert_eq!(third.requests, 10);
    assert!((third.latency.quantile(0.9).unwrap() - 375.0).abs() <= 3.75);
    // Nothing new: no bucket at all.
    assert!(export(&mut tracker, 4, &[(2, 565), (7, 25), (10, 1)]).is_empty());
    assert_eq!(tracker.series_count(), 1);
}

#[test]
fn first_point_counts_only_if_the_series_began_while_running() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let time = NEW_START + 30 * SECOND;
    let old = point(ok_attributes(), OLD_START, time, &[(3, 1000)]);
    let mut new_attributes = ok_attributes();
    new_attributes.push(s("server.address", "web-2"));
    let new = point(new_attributes, NEW_START, time, &[(3, 7)]);
    let unknown_start = point(vec![s("http.route", "/health")], 0, time, &[(3, 9)]);
    let out = buckets(&mut tracker, vec![durations(CUMULATIVE, vec![old, new, unknown_start])]);
    assert_eq!(requests(&out), [7]);
    assert_eq!(tracker.series_count(), 3);
}

#[test]
fn resets_start_over() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let at = |minute: u64| NEW_START + minute * 60 * SECOND;
    let export = |tracker: &mut MetricsHealth, start: u64, minute: u64, n: u64| {
        let p = point(ok_attributes(), start, at(minute), &[(4, n)]);
        requests(&buckets(tracker, vec![durations(CUMULATIVE, vec![p])]))
    };
    assert_eq!(export(&mut tracker, NEW_START, 1, 50), [50], "began after the tracker: in full");
    assert_eq!(export(&mut tracker, NEW_START, 2, 80), [30]);
    // The count went down under the same start time: an unmarked reset.
    assert_eq!(export(&mut tracker, NEW_START, 3, 12), [12]);
    assert_eq!(export(&mut tracker, NEW_START, 4, 20), [8]);
    // The process restarted: a new start time, and everything since is new.
    assert_eq!(export(&mut tracker, at(5), 6, 5), [5]);
    assert_eq!(export(&mut tracker, at(5), 7, 9), [4]);
    assert_eq!(tracker.series_count(), 1, "the restarted series replaced the old one");
}

#[test]
fn rebucketed_series_is_a_reset() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let first = point(ok_attributes(), NEW_START, NEW_START + SECOND, &[(4, 10)]);
    assert_eq!(requests(&buckets(&mut tracker, vec![durations(CUMULATIVE, vec![first])])), [10]);
    let mut second = point(ok_attributes(), NEW_START, NEW_START + 2 * SECOND, &[(4, 15)]);
    second.explicit_bounds[0] = 0.001;
    assert_eq!(requests(&buckets(&mut tracker, vec![durations(CUMULATIVE, vec![second])])), [15]);
}

#[test]
fn attribute_order_does_not_split_a_series() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let first = point(ok_attributes(), OLD_START, NEW_START, &[(4, 10)]);
    let mut reversed = ok_attributes();
    reversed.reverse();
    let second = point(reversed, OLD_START, NEW_START + SECOND, &[(4, 13)]);
    assert!(buckets(&mut tracker, vec![durations(CUMULATIVE, vec![first])]).is_empty());
    assert_eq!(requests(&buckets(&mut tracker, vec![durations(CUMULATIVE, vec![second])])), [3]);
}

#[test]
fn series_of_other_resources_and_metrics_are_apart() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let p = |n: u64| point(ok_attributes(), NEW_START, NEW_START + SECOND, &[(4, n)]);
    let old_name = |n: u64| histogram("http.server.duration", "ms", CUMULATIVE, vec![p(n)]);
    let out = buckets(&mut tracker, vec![durations(CUMULATIVE, vec![p(5)]), old_name(7)]);
    assert_eq!(requests(&out), [5, 7]);
    let mut other = request(vec![durations(CUMULATIVE, vec![p(11)])]);
    other.resource_metrics[0].resource.as_mut().unwrap().attributes.push(s("service.instance.id", "b"));
    assert_eq!(requests(&tracker.buckets(&other)), [11]);
    assert_eq!(tracker.series_count(), 3);
}

#[test]
fn units_are_converted_to_milliseconds() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let time = NEW_START;
    // One request in the 50-75 bucket of each metric's unit.
    let p = || point(ok_attributes(), time - SECOND, time, &[(4, 1)]);
    let median = |metric: Metric, tracker: &mut MetricsHealth| {
        only(buckets(tracker, vec![metric])).2.latency.quantile(0.5).unwrap()
    };
    let close = |value: f64, expected: f64| (value - expected).abs() <= expected * 0.01;
    assert!(close(median(durations(DELTA, vec![p()]), &mut tracker), 62.5));
    assert!(close(
        median(histogram("http.server.request.duration", "ms", DELTA, vec![p()]), &mut tracker),
        0.0625
    ));
    assert!(close(
        median(histogram("http.server.request.duration", "", DELTA, vec![p()]), &mut tracker),
        62.5
    ));
    assert!(close(median(histogram("http.server.duration", "", DELTA, vec![p()]), &mut tracker), 0.0625));
    assert!(close(
        median(histogram("http.server.duration", "us", DELTA, vec![p()]), &mut tracker),
        0.0000625
    ));
    let bytes = histogram("http.server.request.duration", "By", DELTA, vec![p()]);
    assert!(buckets(&mut tracker, vec![bytes]).is_empty(), "not a duration unit");
}

#[test]
fn other_metrics_are_ignored() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let p = point(ok_attributes(), NEW_START, NEW_START + SECOND, &[(4, 3)]);
    let client = histogram("http.client.request.duration", "s", DELTA, vec![p.clone()]);
    let size = histogram("http.server.request.body.size", "By", DELTA, vec![p.clone()]);
    let gauge = Metric {
        name: "http.server.request.duration".into(),
        unit: "s".into(),
        data: Some(Data::Gauge(Gauge { data_points: vec![NumberDataPoint::default()] })),
        ..Default::default()
    };
    assert!(buckets(&mut tracker, vec![client, size, gauge]).is_empty());
    let unspecified =
        histogram("http.server.request.duration", "s", AggregationTemporality::Unspecified, vec![p]);
    assert!(buckets(&mut tracker, vec![unspecified]).is_empty());
}

#[test]
fn unusable_points_are_skipped() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let no_time = point(ok_attributes(), NEW_START, 0, &[(4, 3)]);
    let stale = HistogramDataPoint {
        flags: DataPointFlags::NoRecordedValueMask as u32,
        ..point(ok_attributes(), NEW_START, NEW_START + SECOND, &[(4, 3)])
    };
    let empty = point(ok_attributes(), NEW_START, NEW_START + SECOND, &[]);
    let mut mismatched = point(ok_attributes(), NEW_START, NEW_START + SECOND, &[(4, 3)]);
    mismatched.bucket_counts.pop();
    let out = buckets(&mut tracker, vec![durations(DELTA, vec![no_time, stale, empty, mismatched])]);
    // Only the point with mismatched buckets remains: its requests count,
    // its latency is unknown.
    let (_, _, bucket) = only(out);
    assert_eq!((bucket.requests, bucket.latency.count()), (3, 0));
}

#[test]
fn min_and_max_narrow_the_edge_buckets() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let mut p = point(ok_attributes(), NEW_START, NEW_START + SECOND, &[(0, 1), (14, 1)]);
    (p.min, p.max) = (Some(0.002), Some(30.0));
    let (_, _, bucket) = only(buckets(&mut tracker, vec![durations(DELTA, vec![p])]));
    assert!((bucket.latency.quantile(0.0).unwrap() - 3.5).abs() < 0.04, "(2 ms + 5 ms) / 2");
    assert!((bucket.latency.quantile(1.0).unwrap() - 20_000.0).abs() < 200.0, "(10 s + 30 s) / 2");
}

fn exponential(
    temporality: AggregationTemporality,
    start: u64,
    time: u64,
    scale: i32,
    offset: i32,
    counts: &[u64],
) -> Metric {
    let point = ExponentialHistogramDataPoint {
        attributes: ok_attributes(),
        start_time_unix_nano: start,
        time_unix_nano: time,
        count: counts.iter().sum(),
        scale,
        positive: Some(Buckets { offset, bucket_counts: counts.to_vec() }),
        ..Default::default()
    };
    Metric {
        name: "http.server.request.duration".into(),
        unit: "s".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![point],
            aggregation_temporality: temporality as i32,
        })),
        ..Default::default()
    }
}

#[test]
fn exponential_histograms_are_read() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    // Scale 3: bucket -40 is (2^-5, 2^-4.875] s = (31.25, 34.08] ms.
    let metric = exponential(DELTA, NEW_START, NEW_START + SECOND, 3, -40, &[10]);
    let (_, _, bucket) = only(buckets(&mut tracker, vec![metric]));
    let median = bucket.latency.quantile(0.5).unwrap();
    assert!(median > 31.25 * 0.99 && median < 34.08 * 1.01, "{median}");
}

#[test]
fn cumulative_exponential_histograms_survive_downscaling() {
    let mut tracker = MetricsHealth::new(STARTED_AT);
    let first = exponential(CUMULATIVE, OLD_START, NEW_START, 3, -40, &[10, 2]);
    assert!(buckets(&mut tracker, vec![first]).is_empty());
    // Scale 2: bucket -20 holds scale-3 buckets -40 and -39.
    let second =
        exponential(CUMULATIVE, OLD_START, NEW_START + SECOND, 2, -20, &[15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
    let (_, _, bucket) = only(buckets(&mut tracker, vec![second]));
    assert_eq!(bucket.requests, 7);
    assert_eq!(bucket.latency.count(), 7);
}

#[test]
fn series_memory_is_bounded() {
    let mut tracker = MetricsHealth::with_max_series(STARTED_AT, 2);
    for route in ["/a", "/b", "/c", "/d"] {
        let p = point(vec![s("http.route", route)], NEW_START, NEW_START + SECOND, &[(4, 1)]);
        assert_eq!(requests(&buckets(&mut tracker, vec![durations(CUMULATIVE, vec![p])])), [1]);
    }
    assert_eq!(tracker.series_count(), 2);
}
