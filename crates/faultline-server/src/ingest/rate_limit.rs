//! Fair use: error events per second per service and per ingest token,
//! each a token bucket with a burst.
//!
//! What counts is error events, the things that are stored, grouped and
//! alerted on; spans and log records that are not errors only add to
//! health figures, which are aggregated and cost little. An export is
//! taken or refused whole (OTLP has no way to refuse part of an export and
//! have that part resent): a refused export is answered retryably with
//! the time after which the buckets hold enough, and the SDK resends it.
//!
//! A bucket lends: an export is let in when every bucket it draws from
//! holds its events or is full, and the events are then taken, which may
//! leave the bucket below zero. So an export larger than the burst still
//! gets in once the bucket is full, instead of being refused forever.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use faultline_model::ErrorEvent;

/// A rate and the most it can save up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// The configured limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    pub per_service: Option<Rate>,
    pub per_token: Option<Rate>,
}

/// What a refused export was over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Over {
    Service(String),
    /// The token's name (its id is not shown to other readers of logs).
    Token(String),
}

/// A refused export: what it was over, when to retry, and its events by
/// service (for the counters).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} over its rate limit; retry in {:.1}s", over_text(&self.over), self.retry_after.as_secs_f64())]
pub struct Limited {
    pub over: Over,
    pub retry_after: Duration,
    pub events_by_service: BTreeMap<String, u64>,
}

impl Over {
    /// The limit's name in metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Over::Service(_) => "service",
            Over::Token(_) => "token",
        }
    }
}

fn over_text(over: &Over) -> String {
    match over {
        Over::Service(name) => format!("service {name:?} is"),
        Over::Token(name) => format!("ingest token {name:?} is"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Service(String),
    Token(String),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// Its rate (tokens may have their own), for pruning.
    rate: Rate,
}

/// Buckets kept before full ones (which hold nothing a new one would not)
/// are dropped, so many services or tokens cannot grow the map forever.
const PRUNE_ABOVE: usize = 10_000;

/// The buckets of every service and token that sent lately.
#[derive(Debug, Default)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

/// The token an export was sent with: its id (the bucket) and name (told
/// in the refusal).
#[derive(Debug, Clone)]
pub struct TokenRef {
    pub id: String,
    pub name: String,
    /// The token's own rate (events per second), over the configured one.
    pub events_per_second: Option<u64>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter { limits, buckets: Mutex::default() }
    }

    /// Whether any limit applies to an export sent with `token`.
    fn applies(&self, token: Option<&TokenRef>) -> bool {
        let own = token.is_some_and(|t| t.events_per_second.is_some());
        self.limits.per_service.is_some() || self.limits.per_token.is_some() || own
    }

    /// Takes the export's events from its buckets, or refuses it whole
    /// with the wait after which it would fit.
    pub fn take(&self, token: Option<&TokenRef>, events: &[ErrorEvent]) -> Result<(), Limited> {
        self.take_at(token, events, Instant::now())
    }

    fn take_at(&self, token: Option<&TokenRef>, events: &[ErrorEvent], now: Instant) -> Result<(), Limited> {
        if events.is_empty() || !self.applies(token) {
            return Ok(());
        }
        let by_service = count_by_service(events);
        let draws = self.draws(token, &by_service, events.len() as f64);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            prune(&mut buckets, now);
        }
        let mut refusal: Option<(Over, Duration)> = None;
        for (key, rate, n) in &draws {
            let bucket = refill(buckets.entry(key.clone()).or_insert(full(*rate, now)), *rate, now);
            if let Some(wait) = wait_for(bucket.tokens, *n, *rate) {
                if refusal.as_ref().is_none_or(|(_, longest)| wait > *longest) {
                    refusal = Some((over(key, token), wait));
                }
            }
        }
        if let Some((over, retry_after)) = refusal {
            return Err(Limited { over, retry_after, events_by_service: by_service });
        }
        for (key, _, n) in &draws {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.tokens -= n;
            }
        }
        Ok(())
    }

    /// Which buckets the export draws from, with their rate and amount.
    fn draws(
        &self,
        token: Option<&TokenRef>,
        by_service: &BTreeMap<String, u64>,
        total: f64,
    ) -> Vec<(Key, Rate, f64)> {
        let mut draws = Vec::new();
        if let Some(rate) = self.limits.per_service {
            for (service, n) in by_service {
                draws.push((Key::Service(service.clone()), rate, *n as f64));
            }
        }
        if let Some(token) = token {
            if let Some(rate) = token_rate(self.limits.per_token, token) {
                draws.push((Key::Token(token.id.clone()), rate, total));
            }
        }
        draws
    }
}

/// A token's own rate, with a burst of ten seconds of it, or the default.
fn token_rate(default: Option<Rate>, token: &TokenRef) -> Option<Rate> {
    match token.events_per_second {
        Some(n) if n > 0 => {
            let per_second = n as f64;
            Some(Rate { per_second, burst: per_second * TOKEN_BURST_SECONDS })
        }
        _ => default,
    }
}

/// A token's own rate saves up this many seconds of it.
const TOKEN_BURST_SECONDS: f64 = 10.0;

fn count_by_service(events: &[ErrorEvent]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts.entry(e.service.clone()).or_insert(0) += 1;
    }
    counts
}

fn over(key: &Key, token: Option<&TokenRef>) -> Over {
    match key {
        Key::Service(name) => Over::Service(name.clone()),
        Key::Token(id) => Over::Token(token.map_or_else(|| id.clone(), |t| t.name.clone())),
    }
}

fn full(rate: Rate, now: Instant) -> Bucket {
    Bucket { tokens: rate.burst, at: now, rate }
}

/// Adds what the rate gave since the bucket was last seen, up to the burst.
fn refill(bucket: &mut Bucket, rate: Rate, now: Instant) -> &mut Bucket {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
    bucket.at = now;
    bucket
}

/// `None` when `n` events may be taken now (the bucket holds them, or is
/// full: see the module's comment); otherwise how long until it may.
fn wait_for(tokens: f64, n: f64, rate: Rate) -> Option<Duration> {
    let needed = n.min(rate.burst);
    if tokens >= needed {
        return None;
    }
    let seconds = (needed - tokens) / rate.per_second;
    Some(Duration::from_secs_f64(seconds.clamp(0.001, 3600.0)))
}

fn prune(buckets: &mut HashMap<Key, Bucket>, now: Instant) {
    buckets.retain(|_, bucket| {
        let rate = bucket.rate;
        refill(bucket, rate, now).tokens < rate.burst
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_model::EventSource;

    fn events(service: &str, n: usize) -> Vec<ErrorEvent> {
        (0..n).map(|_| ErrorEvent::blank(service, EventSource::SpanException, 0)).collect()
    }

    fn limiter(per_service: Option<Rate>, per_token: Option<Rate>) -> RateLimiter {
        RateLimiter::new(RateLimits { per_service, per_token })
    }

    const TEN: Rate = Rate { per_second: 10.0, burst: 20.0 };

    #[test]
    fn unlimited_takes_everything() {
        let limiter = limiter(None, None);
        assert!(limiter.take(None, &events("api", 1_000_000)).is_ok());
    }

    #[test]
    fn a_service_gets_its_burst_then_waits_for_the_rate() {
        let limiter = limiter(Some(TEN), None);
        let start = Instant::now();
        assert!(limiter.take_at(None, &events("api", 20), start).is_ok());
        let refused = limiter.take_at(None, &events("api", 5), start).err();
        let refused = refused.as_ref();
        assert_eq!(refused.map(|l| &l.over), Some(&Over::Service("api".into())));
        assert_eq!(refused.map(|l| l.retry_after), Some(Duration::from_millis(500)));
        assert_eq!(refused.and_then(|l| l.events_by_service.get("api")).copied(), Some(5));
        // Another service has its own bucket.
        assert!(limiter.take_at(None, &events("web", 20), start).is_ok());
        // Half a second later five have come back.
        assert!(limiter.take_at(None, &events("api", 5), start + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn an_export_larger_than_the_burst_gets_in_when_the_bucket_is_full() {
        let limiter = limiter(Some(TEN), None);
        let start = Instant::now();
        assert!(limiter.take_at(None, &events("api", 50), start).is_ok());
        // 30 in debt: 20 + 30 events' worth of refill before a full bucket.
        let wait = limiter.take_at(None, &events("api", 50), start).err().map(|l| l.retry_after);
        assert_eq!(wait, Some(Duration::from_secs(5)));
        assert!(limiter.take_at(None, &events("api", 50), start + Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn a_token_limits_all_its_services_together() {
        let limiter = limiter(None, Some(TEN));
        let token = TokenRef { id: "t1".into(), name: "checkout-prod".into(), events_per_second: None };
        let start = Instant::now();
        assert!(limiter.take_at(Some(&token), &events("api", 15), start).is_ok());
        let refused = limiter.take_at(Some(&token), &events("web", 10), start).err();
        assert_eq!(refused.map(|l| l.over), Some(Over::Token("checkout-prod".into())));
        // Without a token only service limits apply, and there are none.
        assert!(limiter.take_at(None, &events("web", 100), start).is_ok());
    }

    #[test]
    fn a_refused_export_takes_nothing() {
        let limiter = limiter(Some(TEN), Some(Rate { per_second: 1.0, burst: 1.0 }));
        let token = TokenRef { id: "t1".into(), name: "t".into(), events_per_second: None };
        let start = Instant::now();
        assert!(limiter.take_at(Some(&token), &events("api", 1), start).is_ok());
        // The token refuses; the service bucket keeps its 19.
        assert!(limiter.take_at(Some(&token), &events("api", 1), start).is_err());
        assert!(limiter.take_at(None, &events("api", 19), start).is_ok());
    }

    #[test]
    fn a_token_with_its_own_rate_is_limited_even_with_no_configured_limit() {
        let limiter = limiter(None, None);
        let token = TokenRef { id: "t1".into(), name: "ci".into(), events_per_second: Some(1) };
        let start = Instant::now();
        assert!(limiter.take_at(Some(&token), &events("api", 10), start).is_ok());
        let refused = limiter.take_at(Some(&token), &events("api", 1), start).err();
        assert_eq!(refused.map(|l| l.retry_after), Some(Duration::from_secs(1)));
        let other = TokenRef { id: "t2".into(), name: "other".into(), events_per_second: None };
        assert!(limiter.take_at(Some(&other), &events("api", 1000), start).is_ok());
    }

    #[test]
    fn full_buckets_are_pruned() {
        let limiter = limiter(Some(TEN), None);
        let start = Instant::now();
        for i in 0..=PRUNE_ABOVE {
            assert!(limiter.take_at(None, &events(&format!("s{i}"), 1), start).is_ok());
        }
        let later = start + Duration::from_secs(10);
        assert!(limiter.take_at(None, &events("last", 1), later).is_ok());
        let kept = limiter.buckets.lock().map(|b| b.len()).unwrap_or(0);
        assert_eq!(kept, 1);
    }
}
