//! The run: N clients, each with its own connection, templates and random
//! stream, sending one export at a time (as an SDK's batch exporter does),
//! paced to the target rate or as fast as acks come back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::args::{Config, RetryPolicy};
use crate::client::{Exporter, Outcome};
use crate::cpu::cpu_time;
use crate::payload::Template;
use crate::rng::Rng;
use crate::stats::{ClientStats, Report, RunInfo};
use crate::zipf::Zipf;
use crate::Error;

/// When to stop, shared by all clients.
struct Limits {
    /// Exports not yet claimed (`u64::MAX` without `--exports`).
    remaining: AtomicU64,
    deadline: Option<Instant>,
}

impl Limits {
    /// Takes one export from the budget; false once it is spent.
    fn claim(&self) -> bool {
        self.remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
    }

    fn past_deadline(&self, at: Instant) -> bool {
        self.deadline.is_some_and(|d| at >= d)
    }
}

struct Client {
    exporter: Exporter,
    templates: Vec<Template>,
    rng: Rng,
    /// Time between this client's sends at the target rate.
    period: Option<Duration>,
    /// Where in the period this client sends, so clients do not send in step.
    offset: Duration,
}

/// Builds every client's templates (before the clock starts), runs the load
/// and returns the report (without verification).
pub async fn run(config: &Config) -> Result<Report, Error> {
    config.check()?;
    let zipf = Zipf::new(config.payload.kinds, config.payload.zipf_exponent);
    let period = config.rate.map(|rate| {
        Duration::from_secs_f64(config.payload.spans_per_export as f64 * config.clients as f64 / rate)
    });
    let mut clients = Vec::with_capacity(config.clients);
    for id in 0..config.clients {
        let (templates, rng) = client_templates(config, &zipf, id)?;
        let endpoint = &config.endpoints[id % config.endpoints.len()];
        let exporter =
            Exporter::new(config.protocol, endpoint, config.gzip, config.timeout, config.token.as_deref())?;
        let offset = period.map_or(Duration::ZERO, |p| p.mul_f64(id as f64 / config.clients as f64));
        clients.push(Client { exporter, templates, rng, period, offset });
    }

    let cpu_before = cpu_time(None);
    let server_cpu_before = config.server_pid.and_then(|pid| cpu_time(Some(pid)));
    let started = Instant::now();
    let limits = Arc::new(Limits {
        remaining: AtomicU64::new(config.exports.unwrap_or(u64::MAX)),
        deadline: config.duration.map(|d| started + d),
    });
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::spawn(client_loop(client, limits.clone(), config.retry, started)))
        .collect();
    let mut total = ClientStats::default();
    for task in tasks {
        total.merge(task.await?);
    }
    let elapsed = started.elapsed();

    let info = RunInfo {
        run_id: config.payload.run_id.clone(),
        protocol: config.protocol,
        gzip: config.gzip,
        endpoints: config.endpoints.clone(),
        clients: config.clients,
        spans_per_export: config.payload.spans_per_export,
        target_spans_per_s: config.rate,
        error_ratio: config.payload.error_ratio,
    };
    let mut report = Report::new(info, total, elapsed);
    report.loadgen_cpu_s = cpu_delta(cpu_before, cpu_time(None));
    report.server_cpu_s = cpu_delta(server_cpu_before, config.server_pid.and_then(|pid| cpu_time(Some(pid))));
    Ok(report)
}

/// The templates client `client` of a run of `config` sends: the same
/// payloads, for measuring what decoding them costs.
pub fn templates_for(config: &Config, client: usize) -> Result<Vec<Template>, Error> {
    let zipf = Zipf::new(config.payload.kinds, config.payload.zipf_exponent);
    Ok(client_templates(config, &zipf, client)?.0)
}

/// A client's templates and the random stream it goes on with, both from
/// the seed and the client's number.
fn client_templates(config: &Config, zipf: &Zipf, client: usize) -> Result<(Vec<Template>, Rng), Error> {
    let mut rng = Rng::stream(config.seed, client as u64);
    let templates = (0..config.templates)
        .map(|_| Template::build(&config.payload, zipf, &mut rng))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((templates, rng))
}

fn cpu_delta(before: Option<Duration>, after: Option<Duration>) -> Option<f64> {
    Some(after?.saturating_sub(before?).as_secs_f64())
}

async fn client_loop(
    mut client: Client,
    limits: Arc<Limits>,
    retry: RetryPolicy,
    started: Instant,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut n: u64 = 0;
    loop {
        if let Some(period) = client.period {
            // Open-loop schedule: a late export does not shift the later ones.
            let at = started + client.offset + period.mul_f64(n as f64);
            if limits.past_deadline(at) {
                break;
            }
            tokio::time::sleep_until(at.into()).await;
        }
        if limits.past_deadline(Instant::now()) || !limits.claim() {
            break;
        }
        let template = &client.templates[(n % client.templates.len() as u64) as usize];
        let body = Bytes::from(template.stamp(&mut client.rng, now_nanos()));
        stats.exports_sent += 1;
        send_with_retries(&mut client.exporter, body, template, retry, &mut client.rng, &mut stats).await;
        n += 1;
    }
    stats
}

/// One export, retried after retryable refusals like an SDK: after the
/// server's delay when it gives one, else exponential backoff with jitter,
/// at most `max_retries` times.
async fn send_with_retries(
    exporter: &mut Exporter,
    body: Bytes,
    template: &Template,
    policy: RetryPolicy,
    rng: &mut Rng,
    stats: &mut ClientStats,
) {
    let first_sent = Instant::now();
    let mut retries = 0;
    loop {
        let sent = Instant::now();
        stats.attempts += 1;
        // Bytes clones share the buffer: a retry resends without copying.
        let outcome = exporter.export(body.clone()).await;
        stats.attempt_latency.push(nanos(sent.elapsed()));
        match outcome {
            Outcome::Acked { rejected_spans } => {
                stats.exports_acked += 1;
                let rejected = rejected_spans.min(template.spans);
                stats.spans_acked += template.spans - rejected;
                stats.spans_rejected += rejected;
                // Generated spans are within the server's limits, so none
                // should be rejected; if some are, the report shows it and
                // --verify finds the difference.
                stats.error_events_acked += template.error_events;
                stats.export_latency.push(nanos(first_sent.elapsed()));
                return;
            }
            Outcome::Refused { code, retryable, retry_after, message } => {
                stats.last_refusal = Some(format!("{code}: {message}"));
                *stats.refused.entry(code).or_default() += 1;
                if !retryable || retries >= policy.max_retries {
                    stats.exports_failed += 1;
                    return;
                }
                let delay = retry_after.unwrap_or_else(|| backoff(policy, retries, rng));
                retries += 1;
                stats.retried += 1;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// `initial * 2^retry`, capped, times a jitter factor in [0.5, 1.5) so
/// refused clients do not all come back at the same instant.
pub fn backoff(policy: RetryPolicy, retry: u32, rng: &mut Rng) -> Duration {
    let exp = policy.initial_backoff.saturating_mul(2u32.saturating_pow(retry.min(30)));
    exp.min(policy.max_backoff).mul_f64(0.5 + rng.unit())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(nanos).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let mut rng = Rng::new(4);
        for retry in 0..10 {
            let base = Duration::from_millis(100 * (1 << retry.min(20))).min(Duration::from_secs(1));
            let d = backoff(policy, retry, &mut rng);
            assert!(d >= base / 2 && d < base.mul_f64(1.5), "retry {retry}: {d:?}");
        }
        let draws: std::collections::HashSet<_> = (0..10).map(|_| backoff(policy, 1, &mut rng)).collect();
        assert!(draws.len() > 1, "no jitter");
    }

    #[test]
    fn the_export_budget_is_shared_exactly() {
        let limits = Limits { remaining: AtomicU64::new(3), deadline: None };
        let claimed = (0..10).filter(|_| limits.claim()).count();
        assert_eq!(claimed, 3);
    }
}
