//! Faultline's own counters, rendered in the Prometheus (OpenMetrics) text
//! format on `GET /metrics` by `prometheus-client`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use faultline_model::{HealthBucket, HealthKey};
use faultline_store::StorageStats;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The OTLP signals, and Sentry SDKs' requests, for per-signal counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
    /// Envelopes and store bodies of the Sentry endpoints.
    Sentry,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
            Signal::Sentry => "sentry",
        }
    }

    const ALL: [Signal; 4] = [Signal::Traces, Signal::Logs, Signal::Metrics, Signal::Sentry];

    fn index(self) -> usize {
        self as usize
    }
}

/// Why an export was refused as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    Malformed,
    TooLarge,
    UnsupportedMediaType,
    Busy,
    Internal,
    /// Refused before decoding: the request bytes in flight were at the budget.
    InflightBytes,
    /// Refused before decoding: the oldest queued export had waited too long.
    QueueWait,
    /// No token, or one that is unknown or revoked.
    Unauthenticated,
    /// A token without the ingest scope, or pinned to other services.
    Forbidden,
    /// Over a fair-use rate (per service or per token).
    RateLimited,
    /// Storage could not write (a full disk, an I/O error): retryable.
    Unwritable,
    /// Admitted, but waited too long for an extraction slot.
    ExtractionWait,
}

impl Refusal {
    const ALL: [Refusal; 12] = [
        Refusal::Malformed,
        Refusal::TooLarge,
        Refusal::UnsupportedMediaType,
        Refusal::Busy,
        Refusal::Internal,
        Refusal::InflightBytes,
        Refusal::QueueWait,
        Refusal::Unauthenticated,
        Refusal::Forbidden,
        Refusal::RateLimited,
        Refusal::Unwritable,
        Refusal::ExtractionWait,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::TooLarge => "too_large",
            Refusal::UnsupportedMediaType => "unsupported_media_type",
            Refusal::Busy => "busy",
            Refusal::Internal => "internal",
            Refusal::InflightBytes => "inflight_bytes",
            Refusal::QueueWait => "queue_wait",
            Refusal::Unwritable => "unwritable",
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::Forbidden => "forbidden",
            Refusal::RateLimited => "rate_limited",
            Refusal::ExtractionWait => "extraction_wait",
        }
    }
}

/// Request counters per endpoint since start, for Prometheus.
#[derive(Debug, Default, Clone, Copy)]
struct RequestCounts {
    requests: u64,
    errors: u64,
    client_errors: u64,
}

/// Distinct endpoints with their own Prometheus series; later ones are
/// counted under route `other`, as in storage.
const MAX_ENDPOINT_SERIES: usize = 2000;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<HealthKey, RequestCounts>>,
    exports: [AtomicU64; Signal::ALL.len()],
    items_received: [AtomicU64; Signal::ALL.len()],
    items_rejected: [AtomicU64; Signal::ALL.len()],
    refused: [AtomicU64; Refusal::ALL.len()],
    events_stored: AtomicU64,
    new_groups: AtomicU64,
    regressions: AtomicU64,
    /// Exports and events refused over a rate limit, by service and limit.
    rate_limited: Mutex<BTreeMap<RateLimitedLabels, (u64, u64)>>,
    /// Events Sentry SDKs report (client reports) they dropped themselves.
    sentry_discarded: Mutex<BTreeMap<DiscardedLabels, u64>>,
    /// Sessions Sentry SDKs report ended, by service, release and outcome.
    sentry_sessions: Mutex<BTreeMap<SessionLabels, u64>>,
}

/// Session series (service, release, outcome) of their own; later ones
/// count under release `other`.
const MAX_SESSION_SERIES: usize = 4000;

/// Reason and category pairs with their own series; later ones (SDKs name
/// them, so they are unbounded in principle) count as `other`.
const MAX_DISCARDED_SERIES: usize = 200;

/// Services with their own rate-limited series; later ones count as `other`.
const MAX_RATE_LIMITED_SERIES: usize = 1000;

impl Metrics {
    pub fn export_accepted(&self, signal: Signal, items: u64, rejected: u64) {
        self.exports[signal.index()].fetch_add(1, Ordering::Relaxed);
        self.items_received[signal.index()].fetch_add(items, Ordering::Relaxed);
        self.items_rejected[signal.index()].fetch_add(rejected, Ordering::Relaxed);
    }

    /// Counts requests seen in spans (before they are committed: a counter
    /// of traffic received, like the other counters here), given as the
    /// export's per-endpoint buckets in the order endpoints were first seen,
    /// so the series cap admits the same endpoints as counting one request
    /// at a time would.
    pub fn count_requests<'a>(&self, buckets: impl IntoIterator<Item = (&'a HealthKey, &'a HealthBucket)>) {
        let mut counts = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for (key, bucket) in buckets {
            let series = if counts.contains_key(key) || counts.len() < MAX_ENDPOINT_SERIES {
                key.clone()
            } else {
                HealthKey {
                    route: faultline_store::OVERFLOW_ROUTE.into(),
                    method: String::new(),
                    ..key.clone()
                }
            };
            let c = counts.entry(series).or_default();
            c.requests += bucket.requests;
            c.errors += bucket.errors;
            c.client_errors += bucket.client_errors;
        }
    }

    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an export refused over a rate limit (`limit`: `service` or
    /// `token`), once per service it carried events for, with those events.
    pub fn rate_limited(&self, limit: &'static str, events_by_service: &BTreeMap<String, u64>) {
        let mut counts = self.rate_limited.lock().unwrap_or_else(|p| p.into_inner());
        for (service, events) in events_by_service {
            let mut labels = RateLimitedLabels { service: service.clone(), limit };
            if !counts.contains_key(&labels) && counts.len() >= MAX_RATE_LIMITED_SERIES {
                labels.service = "other".into();
            }
            let entry = counts.entry(labels).or_default();
            entry.0 += 1;
            entry.1 += events;
        }
    }

    /// Counts what Sentry SDKs report they dropped (their client reports).
    pub fn sentry_client_discarded(&self, reports: &[faultline_sentry::Discarded]) {
        if reports.is_empty() {
            return;
        }
        let mut counts = self.sentry_discarded.lock().unwrap_or_else(|p| p.into_inner());
        for report in reports {
            let mut labels =
                DiscardedLabels { reason: report.reason.clone(), category: report.category.clone() };
            if !counts.contains_key(&labels) && counts.len() >= MAX_DISCARDED_SERIES {
                labels = DiscardedLabels { reason: "other".into(), category: "other".into() };
            }
            *counts.entry(labels).or_default() += report.quantity;
        }
    }

    /// Counts the sessions of `service` that Sentry SDKs report ended.
    pub fn sentry_sessions(&self, service: &str, sessions: &[faultline_sentry::SessionCount]) {
        if sessions.is_empty() {
            return;
        }
        let mut counts = self.sentry_sessions.lock().unwrap_or_else(|p| p.into_inner());
        for session in sessions {
            let mut labels = SessionLabels {
                service: service.to_string(),
                release: session.release.clone(),
                outcome: session.outcome,
            };
            if !counts.contains_key(&labels) && counts.len() >= MAX_SESSION_SERIES {
                labels.release = "other".into();
            }
            *counts.entry(labels).or_default() += session.count;
        }
    }

    pub fn committed(&self, events: u64, new_groups: u64, regressions: u64) {
        self.events_stored.fetch_add(events, Ordering::Relaxed);
        self.new_groups.fetch_add(new_groups, Ordering::Relaxed);
        self.regressions.fetch_add(regressions, Ordering::Relaxed);
    }

    /// The Prometheus text (OpenMetrics). `recent` holds each endpoint's
    /// figures over the last few minutes, for latency quantiles and error
    /// ratio. The counters live in atomics on the hot path; a registry is
    /// filled from them per scrape, and `prometheus-client` writes it.
    pub fn render(
        &self,
        storage: Option<StorageStats>,
        recent: &BTreeMap<HealthKey, HealthBucket>,
        extra: impl FnOnce(&mut Registry),
    ) -> String {
        let mut registry = Registry::default();
        self.register_exports(&mut registry);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        register_counter(
            &mut registry,
            "faultline_events_stored",
            "Error events committed since start.",
            get(&self.events_stored),
        );
        register_counter(
            &mut registry,
            "faultline_new_groups",
            "Groups created since start.",
            get(&self.new_groups),
        );
        register_counter(
            &mut registry,
            "faultline_regressions",
            "Resolved groups reopened since start.",
            get(&self.regressions),
        );
        if let Some(s) = storage {
            register_gauge(&mut registry, "faultline_events", "Error events stored.", s.last_seq);
            register_gauge(&mut registry, "faultline_groups", "Groups stored.", s.groups);
            register_gauge(
                &mut registry,
                "faultline_index_lag_events",
                "Committed events not yet searchable.",
                s.last_seq.saturating_sub(s.indexed_seq),
            );
            register_counter(
                &mut registry,
                "faultline_endpoints_overflowed",
                "Requests counted as route \"other\" over the per-service endpoint limit.",
                s.endpoints_overflowed,
            );
            register_retention(&mut registry, &s, faultline_model::now_nanos());
        }
        self.register_requests(&mut registry);
        register_recent(&mut registry, recent);
        extra(&mut registry);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }

    fn register_exports(&self, registry: &mut Registry) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let per_signal = [
            ("faultline_exports", "OTLP export requests accepted, by signal.", &self.exports),
            (
                "faultline_items_received",
                "Spans, log records and metric data batches received.",
                &self.items_received,
            ),
            (
                "faultline_items_rejected",
                "Items rejected over limits (reported as partial success).",
                &self.items_rejected,
            ),
        ];
        for (name, help, values) in per_signal {
            let family = Family::<SignalLabels, Counter>::default();
            for signal in Signal::ALL {
                family.get_or_create(&SignalLabels { signal }).inc_by(get(&values[signal.index()]));
            }
            registry.register(name, help, family);
        }
        let refused = Family::<RefusalLabels, Counter>::default();
        for reason in Refusal::ALL {
            refused.get_or_create(&RefusalLabels { reason }).inc_by(get(&self.refused[reason as usize]));
        }
        registry.register(
            "faultline_exports_refused",
            "Export requests refused as a whole, by reason.",
            refused,
        );
        self.register_rate_limited(registry);
        self.register_sentry_discarded(registry);
        self.register_sentry_sessions(registry);
    }

    fn register_sentry_sessions(&self, registry: &mut Registry) {
        let counts = self.sentry_sessions.lock().unwrap_or_else(|p| p.into_inner());
        let family = Family::<SessionLabels, Counter>::default();
        for (labels, count) in counts.iter() {
            family.get_or_create(labels).inc_by(*count);
        }
        registry.register(
            "faultline_sentry_sessions",
            "Sessions Sentry SDKs report ended (release health), by service, release and outcome \
             (exited, errored, crashed, abnormal).",
            family,
        );
    }

    fn register_sentry_discarded(&self, registry: &mut Registry) {
        let counts = self.sentry_discarded.lock().unwrap_or_else(|p| p.into_inner());
        let family = Family::<DiscardedLabels, Counter>::default();
        for (labels, quantity) in counts.iter() {
            family.get_or_create(labels).inc_by(*quantity);
        }
        registry.register(
            "faultline_sentry_client_discarded",
            "Events Sentry SDKs report they dropped before sending (client reports), by reason and category.",
            family,
        );
    }

    fn register_rate_limited(&self, registry: &mut Registry) {
        let counts = self.rate_limited.lock().unwrap_or_else(|p| p.into_inner());
        let exports = Family::<RateLimitedLabels, Counter>::default();
        let events = Family::<RateLimitedLabels, Counter>::default();
        for (labels, (n_exports, n_events)) in counts.iter() {
            exports.get_or_create(labels).inc_by(*n_exports);
            events.get_or_create(labels).inc_by(*n_events);
        }
        registry.register(
            "faultline_rate_limited_exports",
            "Exports refused over a fair-use rate, by service and limit (service or token).",
            exports,
        );
        registry.register(
            "faultline_rate_limited_events",
            "Error events in exports refused over a fair-use rate, by service and limit.",
            events,
        );
    }

    fn register_requests(&self, registry: &mut Registry) {
        let counts = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let series: [(&str, &str, CountOf); 3] = [
            ("faultline_http_requests", "Server requests seen in spans, by endpoint.", |c| c.requests),
            ("faultline_http_errors", "Server requests that failed (status ERROR or HTTP 5xx).", |c| {
                c.errors
            }),
            ("faultline_http_client_errors", "Server requests answered with HTTP 4xx.", |c| c.client_errors),
        ];
        for (name, help, value) in series {
            let family = Family::<EndpointLabels, Counter>::default();
            for (key, c) in counts.iter() {
                family.get_or_create(&EndpointLabels::of(key)).inc_by(value(c));
            }
            registry.register(name, help, family);
        }
    }
}

/// Which of an endpoint's counts a series shows.
type CountOf = fn(&RequestCounts) -> u64;

/// Latency quantiles and error ratio per endpoint over the recent window.
fn register_recent(registry: &mut Registry, recent: &BTreeMap<HealthKey, HealthBucket>) {
    let latency = Family::<QuantileLabels, Gauge<f64, AtomicU64>>::default();
    let ratio = Family::<EndpointLabels, Gauge<f64, AtomicU64>>::default();
    for (key, bucket) in recent {
        let endpoint = EndpointLabels::of(key);
        for q in ["0.5", "0.95", "0.99"] {
            let Ok(level) = q.parse::<f64>() else { continue };
            if let Some(v) = bucket.latency.quantile(level) {
                latency.get_or_create(&QuantileLabels { endpoint: endpoint.clone(), quantile: q }).set(v);
            }
        }
        if let Some(rate) = bucket.error_rate() {
            ratio.get_or_create(&endpoint).set(rate);
        }
    }
    registry.register(
        "faultline_http_request_duration_ms",
        "Server request latency quantiles over the last 5 minutes.",
        latency,
    );
    registry.register(
        "faultline_http_error_ratio",
        "Share of server requests that failed over the last 5 minutes.",
        ratio,
    );
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignalLabels {
    signal: Signal,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct RateLimitedLabels {
    service: String,
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct SessionLabels {
    service: String,
    release: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct DiscardedLabels {
    reason: String,
    category: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeletionLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: Refusal,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    service: String,
    environment: String,
    route: String,
    method: String,
}

impl EndpointLabels {
    fn of(key: &HealthKey) -> EndpointLabels {
        EndpointLabels {
            service: key.service.clone(),
            environment: key.environment.clone(),
            route: key.route.clone(),
            method: key.method.clone(),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuantileLabels {
    #[prometheus(flatten)]
    endpoint: EndpointLabels,
    quantile: &'static str,
}

impl EncodeLabelValue for Signal {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

impl EncodeLabelValue for Refusal {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// A counter with its value as of this scrape.
pub fn register_counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let counter = Counter::<u64>::default();
    counter.inc_by(value);
    registry.register(name, help, counter);
}

/// What retention and the disk quota did, and where the directory stands.
fn register_retention(registry: &mut Registry, s: &StorageStats, now: faultline_model::UnixNanos) {
    let deleted = Family::<DeletionLabels, Counter>::default();
    for (reason, value) in [("age", s.events_deleted_by_age), ("quota", s.events_deleted_by_quota)] {
        deleted.get_or_create(&DeletionLabels { reason }).inc_by(value);
    }
    registry.register(
        "faultline_events_deleted",
        "Error events retention deleted since start: by age (retention.events) or for the disk quota.",
        deleted,
    );
    if let Some(bytes) = s.disk_bytes {
        register_gauge(
            registry,
            "faultline_data_dir_bytes",
            "Bytes the data directory takes on disk.",
            bytes,
        );
    }
    if let Some(max) = s.max_disk_bytes {
        register_gauge(
            registry,
            "faultline_disk_quota_bytes",
            "The data directory's quota (retention.max_disk_bytes).",
            max,
        );
    }
    if let Some(received) = s.oldest_event_received_at {
        let age = u64::try_from(now.saturating_sub(received) / 1_000_000_000).unwrap_or(0);
        register_gauge(
            registry,
            "faultline_oldest_event_age_seconds",
            "Seconds since the oldest error event still kept arrived.",
            age,
        );
    }
}

/// A gauge with its value as of this scrape.
pub fn register_gauge(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
    registry.register(name, help, gauge);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_labels_are_written_as_prometheus_reads_them() {
        let metrics = Metrics::default();
        metrics.export_accepted(Signal::Traces, 7, 1);
        metrics.refused(Refusal::Busy);
        let key = HealthKey {
            service: "shop".into(),
            environment: "prod".into(),
            route: "/a\"b\nc".into(),
            method: "GET".into(),
        };
        let mut bucket = HealthBucket::default();
        bucket.record(faultline_model::Outcome::ServerError, 1);
        metrics.count_requests([(&key, &bucket)]);
        let text = metrics.render(None, &BTreeMap::new(), |_| {});
        assert!(text.contains("# TYPE faultline_exports counter"), "{text}");
        assert!(text.contains("faultline_exports_total{signal=\"traces\"} 1\n"), "{text}");
        assert!(text.contains("faultline_items_received_total{signal=\"traces\"} 7\n"), "{text}");
        assert!(text.contains("faultline_items_rejected_total{signal=\"traces\"} 1\n"), "{text}");
        assert!(text.contains("faultline_exports_refused_total{reason=\"busy\"} 1\n"), "{text}");
        assert!(
            text.contains(
                "faultline_http_errors_total{service=\"shop\",environment=\"prod\",route=\"/a\\\"b\\nc\",method=\"GET\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn rate_limited_exports_and_events_are_counted_by_service_and_limit() {
        let metrics = Metrics::default();
        let by_service = BTreeMap::from([("shop".to_string(), 3), ("cart".to_string(), 2)]);
        metrics.rate_limited("service", &by_service);
        metrics.rate_limited("service", &BTreeMap::from([("shop".to_string(), 4)]));
        metrics.rate_limited("token", &BTreeMap::from([("shop".to_string(), 1)]));
        let text = metrics.render(None, &BTreeMap::new(), |_| {});
        for line in [
            "faultline_rate_limited_exports_total{service=\"shop\",limit=\"service\"} 2\n",
            "faultline_rate_limited_events_total{service=\"shop\",limit=\"service\"} 7\n",
            "faultline_rate_limited_events_total{service=\"cart\",limit=\"service\"} 2\n",
            "faultline_rate_limited_exports_total{service=\"shop\",limit=\"token\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn sentry_series_are_capped() {
        let metrics = Metrics::default();
        for i in 0..MAX_DISCARDED_SERIES + 5 {
            let report = faultline_sentry::Discarded {
                reason: format!("r{i}"),
                category: "error".into(),
                quantity: 2,
            };
            metrics.sentry_client_discarded(&[report]);
        }
        let discarded = metrics.sentry_discarded.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(discarded.len(), MAX_DISCARDED_SERIES + 1, "the rest as `other`");
        let other = DiscardedLabels { reason: "other".into(), category: "other".into() };
        assert_eq!(discarded[&other], 10);
        for i in 0..MAX_SESSION_SERIES + 3 {
            let session =
                faultline_sentry::SessionCount { release: format!("v{i}"), outcome: "crashed", count: 1 };
            metrics.sentry_sessions("shop", &[session]);
        }
        let sessions = metrics.sentry_sessions.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(sessions.len(), MAX_SESSION_SERIES + 1);
        let other = SessionLabels { service: "shop".into(), release: "other".into(), outcome: "crashed" };
        assert_eq!(sessions[&other], 3);
    }

    #[test]
    fn rate_limited_series_are_capped() {
        let metrics = Metrics::default();
        for i in 0..MAX_RATE_LIMITED_SERIES + 5 {
            metrics.rate_limited("service", &BTreeMap::from([(format!("s{i}"), 1)]));
        }
        let counts = metrics.rate_limited.lock().map(|c| c.len()).unwrap_or(0);
        assert_eq!(counts, MAX_RATE_LIMITED_SERIES + 1, "the rest as `other`");
    }
}
