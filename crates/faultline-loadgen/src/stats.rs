//! Counting and the final report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// What one client counted; merged into a [`Report`] at the end.
#[derive(Debug, Default, Clone)]
pub struct ClientStats {
    pub exports_sent: u64,
    pub exports_acked: u64,
    pub exports_failed: u64,
    pub attempts: u64,
    pub retried: u64,
    pub refused: BTreeMap<String, u64>,
    pub spans_acked: u64,
    pub spans_rejected: u64,
    pub error_events_acked: u64,
    /// Send to ack of acknowledged exports, retries and backoff included (ns).
    pub export_latency: Vec<u64>,
    /// Send to answer of every attempt that got one (ns).
    pub attempt_latency: Vec<u64>,
    pub last_refusal: Option<String>,
}

impl ClientStats {
    pub fn merge(&mut self, other: ClientStats) {
        self.exports_sent += other.exports_sent;
        self.exports_acked += other.exports_acked;
        self.exports_failed += other.exports_failed;
        self.attempts += other.attempts;
        self.retried += other.retried;
        for (code, n) in other.refused {
            *self.refused.entry(code).or_default() += n;
        }
        self.spans_acked += other.spans_acked;
        self.spans_rejected += other.spans_rejected;
        self.error_events_acked += other.error_events_acked;
        self.export_latency.extend(other.export_latency);
        self.attempt_latency.extend(other.attempt_latency);
        if other.last_refusal.is_some() {
            self.last_refusal = other.last_refusal;
        }
    }
}

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles: the value below which the share lies, never
    /// an interpolation between two measured values.
    pub fn of(samples_nanos: &mut [u64]) -> Latency {
        if samples_nanos.is_empty() {
            return Latency::default();
        }
        samples_nanos.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        Latency {
            count: samples_nanos.len(),
            p50_ms: ms(percentile(samples_nanos, 50.0)),
            p99_ms: ms(percentile(samples_nanos, 99.0)),
            max_ms: ms(samples_nanos[samples_nanos.len() - 1]),
        }
    }
}

/// Nearest rank of `p` percent in sorted, non-empty `sorted`.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The result of `--verify`.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub query: String,
    pub acked: u64,
    pub stored: u64,
    pub waited_s: f64,
    pub matched: bool,
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run_id: String,
    pub protocol: crate::client::Protocol,
    pub gzip: bool,
    pub endpoints: Vec<String>,
    pub clients: usize,
    pub spans_per_export: usize,
    pub target_spans_per_s: Option<f64>,
    pub error_ratio: f64,
    pub duration_s: f64,
    pub exports_sent: u64,
    pub exports_acked: u64,
    pub exports_failed: u64,
    pub attempts: u64,
    pub retried: u64,
    pub refused: BTreeMap<String, u64>,
    pub spans_acked: u64,
    pub spans_rejected: u64,
    pub error_events_acked: u64,
    pub spans_per_s: f64,
    pub error_events_per_s: f64,
    pub export_latency: Latency,
    pub attempt_latency: Latency,
    pub loadgen_cpu_s: Option<f64>,
    pub server_cpu_s: Option<f64>,
    pub last_refusal: Option<String>,
    pub verify: Option<Verification>,
}

/// The constant parts of a report, from the configuration.
pub struct RunInfo {
    pub run_id: String,
    pub protocol: crate::client::Protocol,
    pub gzip: bool,
    pub endpoints: Vec<String>,
    pub clients: usize,
    pub spans_per_export: usize,
    pub target_spans_per_s: Option<f64>,
    pub error_ratio: f64,
}

impl Report {
    pub fn new(info: RunInfo, mut stats: ClientStats, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Report {
            run_id: info.run_id,
            protocol: info.protocol,
            gzip: info.gzip,
            endpoints: info.endpoints,
            clients: info.clients,
            spans_per_export: info.spans_per_export,
            target_spans_per_s: info.target_spans_per_s,
            error_ratio: info.error_ratio,
            duration_s: elapsed.as_secs_f64(),
            exports_sent: stats.exports_sent,
            exports_acked: stats.exports_acked,
            exports_failed: stats.exports_failed,
            attempts: stats.attempts,
            retried: stats.retried,
            spans_acked: stats.spans_acked,
            spans_rejected: stats.spans_rejected,
            error_events_acked: stats.error_events_acked,
            spans_per_s: stats.spans_acked as f64 / secs,
            error_events_per_s: stats.error_events_acked as f64 / secs,
            export_latency: Latency::of(&mut stats.export_latency),
            attempt_latency: Latency::of(&mut stats.attempt_latency),
            refused: stats.refused,
            loadgen_cpu_s: None,
            server_cpu_s: None,
            last_refusal: stats.last_refusal,
            verify: None,
        }
    }

    /// The human table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("run".into(), self.run_id.clone()),
            (
                "protocol".into(),
                format!(
                    "{:?}{} -> {}",
                    self.protocol,
                    if self.gzip { " (gzip)" } else { "" },
                    self.endpoints.join(", ")
                )
                .to_lowercase(),
            ),
            (
                "load".into(),
                format!(
                    "{} clients x {} spans/export, {}, {:.0} % errors",
                    self.clients,
                    self.spans_per_export,
                    match self.target_spans_per_s {
                        Some(rate) => format!("target {} spans/s", group(rate as u64)),
                        None => "as fast as acks allow".into(),
                    },
                    self.error_ratio * 100.0
                ),
            ),
            ("duration".into(), format!("{:.1} s", self.duration_s)),
            ("exports sent".into(), group(self.exports_sent)),
            ("exports acked".into(), group(self.exports_acked)),
            ("exports failed".into(), group(self.exports_failed)),
            ("attempts retried".into(), group(self.retried)),
            ("attempts refused".into(), refused_text(&self.refused)),
            ("spans acked".into(), group(self.spans_acked)),
            ("spans rejected (partial)".into(), group(self.spans_rejected)),
            ("error events acked".into(), group(self.error_events_acked)),
            (
                "throughput".into(),
                format!(
                    "{} spans/s, {} error events/s",
                    group(self.spans_per_s as u64),
                    group(self.error_events_per_s as u64)
                ),
            ),
            ("export latency".into(), latency_text(&self.export_latency)),
            ("attempt latency".into(), latency_text(&self.attempt_latency)),
        ];
        if let Some(cpu) = self.loadgen_cpu_s {
            rows.push(("loadgen CPU".into(), cpu_text(cpu, self.duration_s, self.spans_acked)));
        }
        if let Some(cpu) = self.server_cpu_s {
            rows.push(("server CPU".into(), cpu_text(cpu, self.duration_s, self.spans_acked)));
        }
        if let Some(last) = &self.last_refusal {
            rows.push(("last refusal".into(), last.clone()));
        }
        if let Some(v) = &self.verify {
            let verdict = if v.matched { "equal" } else { "DIFFERENT" };
            rows.push((
                "verify".into(),
                format!(
                    "acked {} vs stored {}: {verdict} (index caught up in {:.1} s)",
                    group(v.acked),
                    group(v.stored),
                    v.waited_s
                ),
            ));
        }
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            let _ = writeln!(out, "{k:<width$}  {v}");
        }
        out
    }
}

fn latency_text(l: &Latency) -> String {
    if l.count == 0 {
        return "-".into();
    }
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        l.p50_ms,
        l.p99_ms,
        l.max_ms,
        group(l.count as u64)
    )
}

fn refused_text(refused: &BTreeMap<String, u64>) -> String {
    if refused.is_empty() {
        return "0".into();
    }
    refused.iter().map(|(code, n)| format!("{code}: {}", group(*n))).collect::<Vec<_>>().join(", ")
}

fn cpu_text(cpu_s: f64, wall_s: f64, spans: u64) -> String {
    let per_span =
        if spans > 0 { format!(", {:.2} µs/span", cpu_s * 1e6 / spans as f64) } else { String::new() };
    format!("{cpu_s:.2} s ({:.0} % of one core{per_span})", 100.0 * cpu_s / wall_s.max(1e-9))
}

/// 1234567 -> "1,234,567".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u64> = (1..=100).rev().map(|ms| ms * 1_000_000).collect();
        let l = Latency::of(&mut samples);
        assert_eq!(l.count, 100);
        assert_eq!(l.p50_ms, 50.0);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(l.max_ms, 100.0);

        let mut one = vec![7_000_000];
        let l = Latency::of(&mut one);
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (7.0, 7.0, 7.0));

        assert_eq!(Latency::of(&mut []), Latency::default());
    }

    #[test]
    fn p99_sees_the_tail_of_a_skewed_set() {
        // 985 fast answers and 15 slow ones: p50 is fast, p99 is slow.
        let mut samples = vec![2_000_000u64; 985];
        samples.extend(vec![300_000_000u64; 15]);
        let l = Latency::of(&mut samples);
        assert_eq!(l.p50_ms, 2.0);
        assert_eq!(l.p99_ms, 300.0);
    }

    #[test]
    fn merging_adds_counts_and_refusals_by_code() {
        let mut a = ClientStats { exports_sent: 2, retried: 1, ..Default::default() };
        a.refused.insert("UNAVAILABLE".into(), 1);
        let mut b = ClientStats { exports_sent: 3, export_latency: vec![1, 2], ..Default::default() };
        b.refused.insert("UNAVAILABLE".into(), 2);
        b.refused.insert("http 503".into(), 1);
        a.merge(b);
        assert_eq!(a.exports_sent, 5);
        assert_eq!(a.refused["UNAVAILABLE"], 3);
        assert_eq!(a.refused["http 503"], 1);
        assert_eq!(a.export_latency.len(), 2);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }
}
