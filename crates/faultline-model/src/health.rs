//! Per-endpoint health figures: request and error counts and a latency
//! sketch per service, environment, route and method. Samples come from
//! spans or metrics; buckets (per minute, per hour) add them up and merge.

use serde::{Deserialize, Serialize};

use crate::sketch::Sketch;
use crate::UnixNanos;

/// The endpoint a health figure is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HealthKey {
    pub service: String,
    /// `deployment.environment(.name)` of the resource; "" when unknown.
    pub environment: String,
    /// `http.route`, else the span name (spans) or "" (metrics).
    pub route: String,
    /// HTTP method as sent; "" when unknown or not HTTP.
    pub method: String,
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// HTTP 4xx: the caller's fault, counted apart from errors.
    ClientError,
    /// Status ERROR (span status, `error.type`) or HTTP 5xx.
    ServerError,
}

impl Outcome {
    /// The outcome of a request that `failed` (span status ERROR, or
    /// `error.type` on a metric point) and answered `http_status`, if HTTP.
    /// A failure wins over a 4xx: the service itself said it failed.
    pub fn classify(failed: bool, http_status: Option<u16>) -> Outcome {
        match http_status {
            _ if failed => Outcome::ServerError,
            Some(500..) => Outcome::ServerError,
            Some(400..=499) => Outcome::ClientError,
            _ => Outcome::Ok,
        }
    }
}

/// One request seen in a span.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSample {
    pub key: HealthKey,
    /// When the request ended (the span's end time).
    pub at: UnixNanos,
    pub duration_ms: f64,
    pub outcome: Outcome,
}

/// The figures of one endpoint over one time bucket.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthBucket {
    pub requests: u64,
    /// Server errors: [`Outcome::ServerError`].
    pub errors: u64,
    /// HTTP 4xx answers: [`Outcome::ClientError`].
    pub client_errors: u64,
    /// Request durations in milliseconds.
    pub latency: Sketch,
}

impl HealthBucket {
    /// Counts one sample.
    pub fn add(&mut self, sample: &HealthSample) {
        self.record(sample.outcome, 1);
        self.latency.add(sample.duration_ms);
    }

    /// Counts `n` requests with `outcome` without touching the latency, for
    /// sources (metric histograms) that give durations separately.
    pub fn record(&mut self, outcome: Outcome, n: u64) {
        self.requests = self.requests.saturating_add(n);
        match outcome {
            Outcome::Ok => {}
            Outcome::ClientError => self.client_errors = self.client_errors.saturating_add(n),
            Outcome::ServerError => self.errors = self.errors.saturating_add(n),
        }
    }

    /// Adds another bucket of the same endpoint (another minute, instance, source).
    pub fn merge(&mut self, other: &HealthBucket) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.client_errors = self.client_errors.saturating_add(other.client_errors);
        self.latency.merge(&other.latency);
    }

    /// `errors / requests`; `None` without requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// `client_errors / requests`; `None` without requests.
    pub fn client_error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.client_errors as f64 / self.requests as f64)
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.requests == 0 && self.latency.count() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(outcome: Outcome, duration_ms: f64) -> HealthSample {
        HealthSample {
            key: HealthKey {
                service: "checkout".into(),
                environment: "production".into(),
                route: "/orders/{id}".into(),
                method: "GET".into(),
            },
            at: 1_700_000_000_000_000_000,
            duration_ms,
            outcome,
        }
    }

    #[test]
    fn classify_follows_status_then_http_code() {
        assert_eq!(Outcome::classify(false, Some(200)), Outcome::Ok);
        assert_eq!(Outcome::classify(false, None), Outcome::Ok);
        assert_eq!(Outcome::classify(false, Some(404)), Outcome::ClientError);
        assert_eq!(Outcome::classify(false, Some(503)), Outcome::ServerError);
        assert_eq!(Outcome::classify(true, Some(200)), Outcome::ServerError);
        assert_eq!(Outcome::classify(true, Some(404)), Outcome::ServerError);
        assert_eq!(Outcome::classify(true, None), Outcome::ServerError);
    }

    #[test]
    fn bucket_counts_outcomes_and_latency() {
        let mut bucket = HealthBucket::default();
        assert_eq!(bucket.error_rate(), None);
        assert!(bucket.is_empty());
        for (outcome, ms) in [
            (Outcome::Ok, 10.0),
            (Outcome::Ok, 20.0),
            (Outcome::ClientError, 5.0),
            (Outcome::ServerError, 900.0),
        ] {
            bucket.add(&sample(outcome, ms));
        }
        assert_eq!((bucket.requests, bucket.errors, bucket.client_errors), (4, 1, 1));
        assert_eq!(bucket.error_rate(), Some(0.25));
        assert_eq!(bucket.client_error_rate(), Some(0.25));
        assert_eq!(bucket.latency.count(), 4);
        assert_eq!(bucket.latency.max(), Some(900.0));
    }

    #[test]
    fn merge_adds_everything() {
        let mut a = HealthBucket::default();
        a.add(&sample(Outcome::Ok, 10.0));
        let mut b = HealthBucket::default();
        b.add(&sample(Outcome::ServerError, 30.0));
        b.add(&sample(Outcome::ClientError, 3.0));
        let mut both = a.clone();
        both.merge(&b);
        let mut direct = HealthBucket::default();
        for s in
            [sample(Outcome::Ok, 10.0), sample(Outcome::ServerError, 30.0), sample(Outcome::ClientError, 3.0)]
        {
            direct.add(&s);
        }
        assert_eq!(both, direct);
    }

    #[test]
    fn serializes_with_snake_case_outcomes_and_sketch_parts() {
        assert_eq!(serde_json::to_string(&Outcome::ClientError).ok().as_deref(), Some("\"client_error\""));
        let mut bucket = HealthBucket::default();
        bucket.add(&sample(Outcome::Ok, 12.0));
        let json = serde_json::to_string(&bucket).unwrap_or_default();
        let back: Option<HealthBucket> = serde_json::from_str(&json).ok();
        assert_eq!(back, Some(bucket));
    }
}
