//! The demo's traffic: turns the scenario into requests, failures and
//! error logs, first as a few hours of back-dated history (so the charts
//! have a shape from the first second), then live, one export per service
//! per second, with a deploy every `deploy_every`.

use std::time::Duration;

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::sync::watch;

use super::otlp::{self, Exporter, Request};
use super::rng::Rng;
use super::scenario::{self, Service, SERVICES};
use super::stacks::Trace;

const SECOND: u64 = 1_000_000_000;
/// Length of the seeded history, and of each of its exports' slices.
pub const HISTORY: Duration = Duration::from_secs(3 * 3600);
const HISTORY_SLICE: u64 = 10 * 60 * SECOND;
/// The history keeps this share of the live request rate: its shape, not
/// its volume, is what the charts need, and it is sent in a few seconds.
const HISTORY_SHARE: f64 = 0.05;
/// Share of requests that raise one of the service's failure kinds.
const FAILURE_RATE: f64 = 0.015;
/// Requests per second that hit the bug that comes back, while it is in.
const REGRESSION_PER_SECOND: f64 = 0.3;
/// Share of a release's failures that are the kind it brought.
const NEW_KIND_SHARE: f64 = 0.25;
/// Error log records per second per service.
const LOGS_PER_SECOND: f64 = 0.08;

/// Where the traffic goes and how the story is paced.
pub struct Traffic {
    exporter: Exporter,
    api: super::api::Api,
    rng: Rng,
    deploy_every: Duration,
    regression_resolved: bool,
}

impl Traffic {
    pub fn new(exporter: Exporter, api: super::api::Api, deploy_every: Duration) -> Traffic {
        Traffic { exporter, api, rng: Rng::from_entropy(), deploy_every, regression_resolved: false }
    }

    /// Sends `HISTORY` of back-dated traffic, one release per hour.
    pub async fn seed_history(&mut self) -> anyhow::Result<()> {
        let now = now();
        let start = now - HISTORY.as_nanos() as u64;
        let hours = HISTORY.as_secs() / 3600;
        let mut slice_start = start;
        while slice_start + HISTORY_SLICE <= now {
            let hour = (slice_start - start) / (3600 * SECOND);
            // Spread the history's releases over its hours.
            let release = (hour * u64::from(scenario::HISTORY_RELEASES) / hours.max(1)) as u32;
            self.send_window(slice_start, HISTORY_SLICE, HISTORY_SHARE, release).await?;
            slice_start += HISTORY_SLICE;
        }
        Ok(())
    }

    /// Sends live traffic every second until `stop` turns true.
    pub async fn run_live(&mut self, mut stop: watch::Receiver<bool>) {
        let started = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_release = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            let elapsed = started.elapsed();
            let deploys = (elapsed.as_nanos() / self.deploy_every.as_nanos().max(1)) as u32;
            let release = scenario::HISTORY_RELEASES + deploys;
            if last_release != Some(release) {
                tracing::info!(
                    "demo: release {} deployed",
                    SERVICES
                        .iter()
                        .map(|s| format!("{} {}", s.name, scenario::version(s, release)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                last_release = Some(release);
            }
            if let Err(e) = self.send_window(now() - SECOND, SECOND, 1.0, release).await {
                tracing::warn!("demo: sending traffic failed: {e:#}");
            }
            let into_release = elapsed.saturating_sub(self.deploy_every * deploys);
            if release == fixed_release()
                && into_release >= self.deploy_every / 2
                && !self.regression_resolved
            {
                self.resolve_regression().await;
            }
        }
    }

    /// The issue fixed in `fixed_release` is marked resolved, as a
    /// developer would after the deploy; it comes back in the next release.
    async fn resolve_regression(&mut self) {
        match self.api.resolve_group(scenario::REGRESSION_SERVICE, scenario::REGRESSION_TYPE).await {
            Ok(Some(id)) => {
                tracing::info!(
                    "demo: issue #{id} ({}) marked resolved; it comes back in the next release",
                    scenario::REGRESSION_TYPE
                );
                self.regression_resolved = true;
            }
            Ok(None) => tracing::debug!("demo: the issue to resolve is not there yet"),
            Err(e) => tracing::warn!("demo: cannot resolve the issue: {e:#}"),
        }
    }

    /// One export of spans and one of logs per service, for the requests of
    /// `[start, start + length)` at `share` of the live rate.
    async fn send_window(&mut self, start: u64, length: u64, share: f64, release: u32) -> anyhow::Result<()> {
        for service in SERVICES {
            let version = scenario::version(service, release);
            let resource = otlp::resource(service.name, &version, service.language.sdk_name());
            let spans = self.requests(service, start, length, share, release);
            self.exporter.traces(&otlp::traces(resource.clone(), spans)).await?;
            let logs = self.logs(service, start, length, share);
            if !logs.is_empty() {
                self.exporter.logs(&otlp::logs(resource, logs)).await?;
            }
        }
        Ok(())
    }

    fn requests(
        &mut self,
        service: &Service,
        start: u64,
        length: u64,
        share: f64,
        release: u32,
    ) -> Vec<Span> {
        let seconds = length as f64 / SECOND as f64;
        let mut spans = Vec::new();
        for route in service.routes {
            for _ in 0..self.rng.count(route.per_second * seconds * share) {
                let at = start + self.rng.below(length);
                spans.push(self.request(service, route, at, release));
            }
        }
        if service.name == scenario::REGRESSION_SERVICE && regression_present(release) {
            for _ in 0..self.rng.count(REGRESSION_PER_SECOND * seconds * share) {
                let at = start + self.rng.below(length);
                spans.push(self.regression_request(service, at, release));
            }
        }
        spans
    }

    fn request(&mut self, service: &Service, route: &scenario::Route, at: u64, release: u32) -> Span {
        let slow = service.name == scenario::SLOW_SERVICE
            && route.route == scenario::SLOW_ROUTE
            && release > scenario::HISTORY_RELEASES;
        let median = if slow { route.median_ms * 2.5 } else { route.median_ms };
        let mut request = Request {
            method: route.method,
            route: route.route,
            start_nanos: at,
            duration_nanos: (self.rng.lognormal(median, 0.5) * 1e6) as u64,
            status_code: 200,
            exception: None,
            user: Some(format!("user-{}", self.rng.below(400))),
        };
        let flaky = service.name == scenario::FLAKY_SERVICE && route.route == scenario::FLAKY_ROUTE;
        if flaky && flaky_at(at) && self.rng.chance(0.35) {
            // The gateway gives up on the acquirer after 5 s.
            request.status_code = 503;
            request.duration_nanos = 5_000 * 1_000_000 + self.rng.below(200) * 1_000_000;
            return request.span(&mut self.rng);
        }
        if self.rng.chance(FAILURE_RATE) {
            let kinds = scenario::kinds_in_release(release);
            let weights: Vec<f64> = (0..kinds).map(scenario::kind_weight).collect();
            // A release's newest kind is its hot new bug, not a rare one.
            let kind = match scenario::new_kind(release) {
                Some(new) if self.rng.chance(NEW_KIND_SHARE) => new,
                _ => self.rng.weighted(&weights),
            };
            request.status_code = 500;
            request.exception = Some(self.exception(service, kind, release));
        } else if route.route.contains('{') && self.rng.chance(0.02) {
            request.status_code = 404;
        }
        request.span(&mut self.rng)
    }

    fn regression_request(&mut self, service: &Service, at: u64, release: u32) -> Span {
        let message = self.fill(scenario::REGRESSION_MESSAGE);
        let frames = scenario::failure_frames(service, 1, release);
        let trace = Trace {
            language: service.language,
            exception_type: scenario::REGRESSION_TYPE,
            message: &message,
            frames: &frames,
            cause: None,
        };
        Request {
            method: "POST",
            route: "/reservations",
            start_nanos: at,
            duration_nanos: (self.rng.lognormal(12.0, 0.4) * 1e6) as u64,
            status_code: 500,
            exception: Some((scenario::REGRESSION_TYPE, message.clone(), trace.render())),
            user: None,
        }
        .span(&mut self.rng)
    }

    /// Type, message and stack trace of failure kind `kind`.
    fn exception(&mut self, service: &Service, kind: usize, release: u32) -> (&'static str, String, String) {
        let (exception_type, template) = scenario::failure_error(service, kind);
        let message = self.fill(template);
        let frames = scenario::failure_frames(service, kind, release);
        let trace = Trace {
            language: service.language,
            exception_type,
            message: &message,
            frames: &frames,
            cause: kind.is_multiple_of(3).then_some(("java.net.SocketTimeoutException", "Read timed out")),
        };
        let stacktrace = trace.render();
        (exception_type, message, stacktrace)
    }

    fn logs(&mut self, service: &Service, start: u64, length: u64, share: f64) -> Vec<LogRecord> {
        let seconds = length as f64 / SECOND as f64;
        (0..self.rng.count(LOGS_PER_SECOND * seconds * share))
            .map(|_| {
                let template = service.logs[self.rng.below(service.logs.len() as u64) as usize];
                let at = start + self.rng.below(length);
                otlp::error_log(at, self.fill(template), service.name)
            })
            .collect()
    }

    /// A message template with its `{n}` filled in.
    fn fill(&mut self, template: &str) -> String {
        let n = 2 + self.rng.below(9000);
        template.replace("{n}", &n.to_string())
    }
}

/// The release that fixes the bug that comes back.
fn fixed_release() -> u32 {
    scenario::HISTORY_RELEASES + 1
}

/// The bug is in every release but the one that fixed it.
fn regression_present(release: u32) -> bool {
    release != fixed_release()
}

/// The flaky endpoint fails in bursts: 20 seconds out of every minute.
fn flaky_at(at_nanos: u64) -> bool {
    (at_nanos / SECOND) % 60 < 20
}

fn now() -> u64 {
    u64::try_from(faultline_model::now_nanos()).unwrap_or(0)
}
