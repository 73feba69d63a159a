//! Faultline's own counters, rendered in the Prometheus (OpenMetrics) text
//! format on `GET /metrics` by `prometheus-client`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use faultline_model::{HealthBucket, HealthKey, HealthSample, Outcome};
use faultline_store::StorageStats;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The OTLP signals, for per-signal counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Traces,
    Logs,
    Metrics,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
            Signal::Metrics => "metrics",
        }
    }

    const ALL: [Signal; 3] = [Signal::Traces, Signal::Logs, Signal::Metrics];

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
    /// Storage could not write (a full disk, an I/O error): retryable.
    Unwritable,
}

impl Refusal {
    const ALL: [Refusal; 10] = [
        Refusal::Malformed,
        Refusal::TooLarge,
        Refusal::UnsupportedMediaType,
        Refusal::Busy,
        Refusal::Internal,
        Refusal::InflightBytes,
        Refusal::QueueWait,
        Refusal::Unauthenticated,
        Refusal::Forbidden,
        Refusal::Unwritable,
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
    exports: [AtomicU64; 3],
    items_received: [AtomicU64; 3],
    items_rejected: [AtomicU64; 3],
    refused: [AtomicU64; Refusal::ALL.len()],
    events_stored: AtomicU64,
    new_groups: AtomicU64,
    regressions: AtomicU64,
}

impl Metrics {
    pub fn export_accepted(&self, signal: Signal, items: u64, rejected: u64) {
        self.exports[signal.index()].fetch_add(1, Ordering::Relaxed);
        self.items_received[signal.index()].fetch_add(items, Ordering::Relaxed);
        self.items_rejected[signal.index()].fetch_add(rejected, Ordering::Relaxed);
    }

    /// Counts requests seen in spans (before they are committed: a counter
    /// of traffic received, like the other counters here).
    pub fn count_requests(&self, samples: &[HealthSample]) {
        let mut counts = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for s in samples {
            let key = if counts.contains_key(&s.key) || counts.len() < MAX_ENDPOINT_SERIES {
                s.key.clone()
            } else {
                HealthKey {
                    route: faultline_store::OVERFLOW_ROUTE.into(),
                    method: String::new(),
                    ..s.key.clone()
                }
            };
            let c = counts.entry(key).or_default();
            c.requests += 1;
            match s.outcome {
                Outcome::ServerError => c.errors += 1,
                Outcome::ClientError => c.client_errors += 1,
                Outcome::Ok => {}
            }
        }
    }

    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
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
        metrics.count_requests(&[HealthSample {
            key,
            at: 0,
            duration_ms: 1.0,
            outcome: Outcome::ServerError,
        }]);
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
}
