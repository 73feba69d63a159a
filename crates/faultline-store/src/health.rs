//! Per-endpoint request figures: one bucket per endpoint and minute, rolled
//! up into hourly buckets after a while and dropped after the retention.
//!
//! An export's figures are logged by the committer in the same atomic batch
//! as its error events, so an acknowledged export's figures are durable;
//! the buckets themselves are written once a minute (`health_buffer.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use faultline_model::{HealthBucket, HealthKey, HealthSample, Sketch, SketchParts, UnixNanos};
use prost::Message;

use crate::backend::{Backend, Op};
use crate::health_buffer::Increments;
use crate::records::proto;
use crate::{keys, records, Result};

const NANOS_PER_MINUTE: i64 = 60_000_000_000;
const MINUTES_PER_HOUR: u64 = 60;

/// Health figures of one export, by endpoint and minute.
pub type HealthBatch = BTreeMap<(HealthKey, u64), HealthBucket>;

/// The minute (since the epoch) a timestamp falls in.
pub fn minute_of(at: UnixNanos) -> u64 {
    u64::try_from(at.max(0) / NANOS_PER_MINUTE).unwrap_or(0)
}

/// Start of a minute, in nanoseconds.
pub fn minute_start(minute: u64) -> UnixNanos {
    i64::try_from(minute).unwrap_or(i64::MAX / NANOS_PER_MINUTE).saturating_mul(NANOS_PER_MINUTE)
}

/// Folds span samples into per-minute buckets.
pub fn add_samples(batch: &mut HealthBatch, samples: &[HealthSample]) {
    for sample in samples {
        batch.entry((sample.key.clone(), minute_of(sample.at))).or_default().add(sample);
    }
}

/// Retention and cardinality settings.
#[derive(Debug, Clone)]
pub struct HealthOptions {
    /// Minute buckets older than this are merged into hourly ones.
    pub rollup_after: Duration,
    /// Buckets older than this are deleted.
    pub retention: Duration,
    /// Distinct (route, method) pairs kept per service; more are counted as route `other`.
    pub max_endpoints_per_service: usize,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            rollup_after: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(30 * 24 * 3600),
            max_endpoints_per_service: 200,
        }
    }
}

/// The route that endpoints over the cardinality limit are counted under.
pub const OVERFLOW_ROUTE: &str = "other";

/// The endpoints each service has, kept in memory to enforce the limit.
#[derive(Debug, Default)]
pub(crate) struct Endpoints {
    known: HashMap<String, HashSet<(String, String)>>,
    /// Requests folded into `other` since start.
    pub overflowed: u64,
}

impl Endpoints {
    pub fn load(backend: &dyn Backend) -> Result<Endpoints> {
        let mut endpoints = Endpoints::default();
        for entry in backend.scan(&[keys::ENDPOINT], &[keys::ENDPOINT + 1], false) {
            let (key, _) = entry?;
            if let Some((service, route, method)) = keys::parse_endpoint(&key) {
                endpoints.known.entry(service).or_default().insert((route, method));
            }
        }
        Ok(endpoints)
    }

    /// The key to count `requests` under: the endpoint itself, or `other`
    /// when the service already has `max` endpoints. New endpoints are
    /// queued in `ops`.
    pub fn admit(&mut self, key: HealthKey, requests: u64, max: usize, ops: &mut Vec<Op>) -> HealthKey {
        let known = self.known.entry(key.service.clone()).or_default();
        let endpoint = (key.route.clone(), key.method.clone());
        if known.contains(&endpoint) || key.route == OVERFLOW_ROUTE {
            return key;
        }
        if known.len() < max {
            ops.push(Op::Put(keys::endpoint(&key.service, &key.route, &key.method), Vec::new()));
            known.insert(endpoint);
            return key;
        }
        self.overflowed += requests;
        HealthKey { route: OVERFLOW_ROUTE.to_string(), method: String::new(), ..key }
    }
}

/// Which health buckets a query reads. Absent fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct HealthFilter {
    pub service: Option<String>,
    pub environment: Option<String>,
    pub route: Option<String>,
    pub method: Option<String>,
}

impl HealthFilter {
    pub fn matches(&self, k: &HealthKey) -> bool {
        self.service.as_ref().is_none_or(|s| &k.service == s)
            && self.environment.as_ref().is_none_or(|e| &k.environment == e)
            && self.route.as_ref().is_none_or(|r| &k.route == r)
            && self.method.as_ref().is_none_or(|m| &k.method == m)
    }
}

/// Every bucket overlapping `[from, to)` that the filter accepts, stored
/// figures plus the `pending` increments not yet written into them, with
/// the start time of its slot. Hourly buckets are included whole.
pub(crate) fn scan(
    backend: &dyn Backend,
    pending: &Increments,
    from: UnixNanos,
    to: UnixNanos,
    filter: &HealthFilter,
) -> Result<Vec<(UnixNanos, HealthKey, HealthBucket)>> {
    let (first_minute, end_minute) = (minute_of(from), minute_of(to.saturating_sub(1)) + 1);
    let mut out = Vec::new();
    let ranges = [
        (keys::HEALTH_MINUTE, first_minute, end_minute, 1),
        (
            keys::HEALTH_HOUR,
            first_minute / MINUTES_PER_HOUR,
            end_minute.div_ceil(MINUTES_PER_HOUR),
            MINUTES_PER_HOUR,
        ),
    ];
    for (kind, first, end, minutes) in ranges {
        let (start_key, end_key) = (keys::health_prefix(kind, first), keys::health_prefix(kind, end));
        let mut buckets = Increments::new();
        for entry in backend.scan(&start_key, &end_key, false) {
            let (key, value) = entry?;
            buckets.insert(key, decode(&value)?);
        }
        let buffered = pending.range(start_key..end_key).map(|(k, b)| (k.clone(), b.clone()));
        crate::health_buffer::add_all(&mut buckets, buffered);
        for (key, bucket) in buckets {
            let Some((slot, endpoint)) = keys::parse_health(&key) else { continue };
            if filter.matches(&endpoint) {
                out.push((minute_start(slot * minutes), endpoint, bucket));
            }
        }
    }
    Ok(out)
}

pub(crate) fn encode(bucket: &HealthBucket) -> Vec<u8> {
    to_record(bucket).encode_to_vec()
}

pub(crate) fn decode(bytes: &[u8]) -> Result<HealthBucket> {
    from_record(proto::HealthRecord::decode(bytes)?)
}

pub(crate) fn to_record(bucket: &HealthBucket) -> proto::HealthRecord {
    let p = bucket.latency.to_parts();
    proto::HealthRecord {
        format_version: records::FORMAT_VERSION,
        requests: bucket.requests,
        errors: bucket.errors,
        client_errors: bucket.client_errors,
        latency: Some(proto::SketchRecord {
            zero_count: p.zero_count,
            offset: p.offset,
            counts: p.counts,
            sum: p.sum,
            min: p.min,
            max: p.max,
        }),
    }
}

pub(crate) fn from_record(r: proto::HealthRecord) -> Result<HealthBucket> {
    records::check_version(r.format_version)?;
    let s = r.latency.unwrap_or_default();
    let latency = Sketch::from_parts(SketchParts {
        zero_count: s.zero_count,
        offset: s.offset,
        counts: s.counts,
        sum: s.sum,
        min: s.min,
        max: s.max,
    });
    Ok(HealthBucket { requests: r.requests, errors: r.errors, client_errors: r.client_errors, latency })
}

/// The first minute that is still kept at minute resolution at `now`.
pub fn rollup_cutoff(now: UnixNanos, options: &HealthOptions) -> u64 {
    minute_of(now.saturating_sub(duration_nanos(options.rollup_after)))
}

/// The first hour still kept at `now`.
pub fn retention_cutoff_hour(now: UnixNanos, options: &HealthOptions) -> u64 {
    minute_of(now.saturating_sub(duration_nanos(options.retention))) / MINUTES_PER_HOUR
}

pub fn hour_of_minute(minute: u64) -> u64 {
    minute / MINUTES_PER_HOUR
}

fn duration_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// A bucket as stored (HealthRecord protobuf: counts and latency sketch).
pub fn encode_bucket(bucket: &HealthBucket) -> Vec<u8> {
    encode(bucket)
}

/// The inverse of [`encode_bucket`].
pub fn decode_bucket(bytes: &[u8]) -> Result<HealthBucket> {
    decode(bytes)
}
