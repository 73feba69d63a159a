//! Faultline's own counters, rendered in the Prometheus text format on
//! `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use faultline_model::{HealthBucket, HealthKey, HealthSample, Outcome};
use faultline_store::StorageStats;

/// The OTLP signals, for per-signal counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    TooLarge,
    UnsupportedMediaType,
    Busy,
    Internal,
}

impl Refusal {
    const ALL: [Refusal; 5] = [
        Refusal::Malformed,
        Refusal::TooLarge,
        Refusal::UnsupportedMediaType,
        Refusal::Busy,
        Refusal::Internal,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::TooLarge => "too_large",
            Refusal::UnsupportedMediaType => "unsupported_media_type",
            Refusal::Busy => "busy",
            Refusal::Internal => "internal",
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
    refused: [AtomicU64; 5],
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

    /// The Prometheus text. `recent` holds each endpoint's figures over the
    /// last few minutes, for latency quantiles and error ratio.
    pub fn render(
        &self,
        storage: Option<StorageStats>,
        recent: &BTreeMap<HealthKey, HealthBucket>,
    ) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        header(&mut out, "faultline_exports_total", "counter", "OTLP export requests accepted, by signal.");
        for s in Signal::ALL {
            let _ = writeln!(
                out,
                "faultline_exports_total{{signal=\"{}\"}} {}",
                s.as_str(),
                get(&self.exports[s.index()])
            );
        }
        header(
            &mut out,
            "faultline_items_received_total",
            "counter",
            "Spans, log records and metric data batches received.",
        );
        for s in Signal::ALL {
            let _ = writeln!(
                out,
                "faultline_items_received_total{{signal=\"{}\"}} {}",
                s.as_str(),
                get(&self.items_received[s.index()])
            );
        }
        header(
            &mut out,
            "faultline_items_rejected_total",
            "counter",
            "Items rejected over limits (reported as partial success).",
        );
        for s in Signal::ALL {
            let _ = writeln!(
                out,
                "faultline_items_rejected_total{{signal=\"{}\"}} {}",
                s.as_str(),
                get(&self.items_rejected[s.index()])
            );
        }
        header(
            &mut out,
            "faultline_exports_refused_total",
            "counter",
            "Export requests refused as a whole, by reason.",
        );
        for r in Refusal::ALL {
            let _ = writeln!(
                out,
                "faultline_exports_refused_total{{reason=\"{}\"}} {}",
                r.as_str(),
                get(&self.refused[r as usize])
            );
        }
        counter(
            &mut out,
            "faultline_events_stored_total",
            "Error events committed since start.",
            get(&self.events_stored),
        );
        counter(&mut out, "faultline_new_groups_total", "Groups created since start.", get(&self.new_groups));
        counter(
            &mut out,
            "faultline_regressions_total",
            "Resolved groups reopened since start.",
            get(&self.regressions),
        );
        if let Some(s) = storage {
            gauge(&mut out, "faultline_events", "Error events stored.", s.last_seq);
            gauge(&mut out, "faultline_groups", "Groups stored.", s.groups);
            gauge(
                &mut out,
                "faultline_index_lag_events",
                "Committed events not yet searchable.",
                s.last_seq.saturating_sub(s.indexed_seq),
            );
            counter(
                &mut out,
                "faultline_endpoints_overflowed_total",
                "Requests counted as route \"other\" over the per-service endpoint limit.",
                s.endpoints_overflowed,
            );
        }
        self.render_requests(&mut out);
        render_recent(&mut out, recent);
        out
    }

    fn render_requests(&self, out: &mut String) {
        let counts = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let series = [
            ("faultline_http_requests_total", "Server requests seen in spans, by endpoint.", 0),
            ("faultline_http_errors_total", "Server requests that failed (status ERROR or HTTP 5xx).", 1),
            ("faultline_http_client_errors_total", "Server requests answered with HTTP 4xx.", 2),
        ];
        for (name, help, which) in series {
            header(out, name, "counter", help);
            for (key, c) in counts.iter() {
                let value = [c.requests, c.errors, c.client_errors][which];
                let _ = writeln!(out, "{name}{{{}}} {value}", labels(key));
            }
        }
    }
}

/// Latency quantiles and error ratio per endpoint over the recent window.
fn render_recent(out: &mut String, recent: &BTreeMap<HealthKey, HealthBucket>) {
    header(
        out,
        "faultline_http_request_duration_ms",
        "gauge",
        "Server request latency quantiles over the last 5 minutes.",
    );
    for (key, bucket) in recent {
        for q in [0.5, 0.95, 0.99] {
            if let Some(v) = bucket.latency.quantile(q) {
                let _ = writeln!(
                    out,
                    "faultline_http_request_duration_ms{{{},quantile=\"{q}\"}} {v}",
                    labels(key)
                );
            }
        }
    }
    header(
        out,
        "faultline_http_error_ratio",
        "gauge",
        "Share of server requests that failed over the last 5 minutes.",
    );
    for (key, bucket) in recent {
        if let Some(rate) = bucket.error_rate() {
            let _ = writeln!(out, "faultline_http_error_ratio{{{}}} {rate}", labels(key));
        }
    }
}

fn labels(key: &HealthKey) -> String {
    format!(
        "service=\"{}\",environment=\"{}\",route=\"{}\",method=\"{}\"",
        escape(&key.service),
        escape(&key.environment),
        escape(&key.route),
        escape(&key.method)
    )
}

/// Label values escape backslash, double quote and newline.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}
