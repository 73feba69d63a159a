//! Alerting in the running server: feeds the rule engine with facts from
//! ingestion (new issues, regressions, events) and, on a tick, with health
//! windows and check states; sends its notifications through the
//! configured channels with retries, and keeps the delivery history.
//! Delivery runs in its own tasks: a slow or broken channel never holds up
//! ingestion or the other channels.

pub mod admin;
pub mod digest;
pub mod leader;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use std::time::Duration;
use tokio::sync::mpsc;

use faultline_alert::engine::{
    CheckStatus, Endpoint, EndpointWindow, Engine, EngineState, Fact, HourlyFigures, Input, Issue,
    IssueEvent, Observation, Rule, Silence, SilenceError, Snooze,
};
use faultline_alert::notify::{deliver, Channel, DeliveryAttempt, DeliveryPolicy};
use faultline_alert::{Alert, Notification, NotificationKind, Severity};
use faultline_model::{ErrorEvent, GroupStatus, Grouping, HealthBucket, HealthKey, UnixNanos};
use faultline_store::{Committed, HealthFilter, Storage};
use serde::Deserialize;

use crate::checks::Checks;
use faultline_model::now_nanos;

/// How often rate, latency, check and anomaly rules are evaluated.
pub const TICK: Duration = Duration::from_secs(5);
/// Delivery attempts `GET /api/v1/alerts` shows.
const DELIVERY_HISTORY: usize = 1000;
const STATE_KEY: &str = "alert-engine";
const HOUR_NANOS: i64 = 3_600_000_000_000;
/// Hours of history fed at start: the same hour on the previous 7 days.
const BASELINE_HOURS: i64 = 8 * 24;

/// `[alerts]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Base URL of this server as users reach it, for links in messages.
    pub public_url: Option<String>,
    /// Scheduled reports (`[[alerts.digests]]`).
    #[serde(default)]
    pub digests: Vec<crate::alerting::digest::DigestConfig>,
    /// With a store several nodes share: how long the alert leader's lease
    /// lasts without renewal, i.e. how soon another node takes over when
    /// the leader dies (renewed every quarter of it).
    #[serde(default, with = "faultline_model::duration::option")]
    pub leader_lease: Option<Duration>,
}

impl AlertsConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        faultline_alert::engine::validate_rules(&self.rules)?;
        for channel in &self.channels {
            channel.validate().map_err(|e| anyhow::anyhow!("channel {:?}: {e}", channel.id))?;
        }
        for rule in &self.rules {
            for name in rule.channels() {
                if !self.channels.iter().any(|c| &c.id == name) {
                    anyhow::bail!(
                        "alert rule {:?} names channel {name:?}, which is not configured",
                        rule.id()
                    );
                }
            }
        }
        crate::alerting::digest::validate(&self.digests, &self.channels)?;
        Ok(())
    }
}

/// Exports' committed facts waiting for evaluation (each one export or one
/// status change); evaluation takes about a millisecond each.
const FACTS_QUEUE: usize = 4096;

/// Engine inputs from one export or status change, with the time they happened.
struct Facts {
    inputs: Vec<Input>,
    now: UnixNanos,
}

pub struct Alerting {
    pub(crate) engine: Mutex<Engine>,
    /// Start of the last hour whose figures the engine has been given.
    hourly_fed: Mutex<Option<UnixNanos>>,
    /// Channels of the config file and of the API, by id.
    pub(crate) channels: Mutex<BTreeMap<String, Channel>>,
    /// What the config file defines (read-only through the API) and what the API added.
    pub(crate) admin: crate::alerting::admin::Admin,
    policy: DeliveryPolicy,
    storage: Arc<Storage>,
    checks: Arc<Checks>,
    /// Facts from ingestion and status changes, in the order they happened,
    /// for the evaluation task: the ack of an export never waits for rules.
    facts: mpsc::Sender<Facts>,
    public_url: Option<String>,
    /// Set when several nodes share the store: this node evaluates only
    /// while it holds the leader's lease.
    pub(crate) cluster: Option<leader::Cluster>,
}

impl Alerting {
    /// Restores the engine's state (firing alerts, silences, windows) and
    /// starts the evaluation tick.
    pub fn start(
        storage: Arc<Storage>,
        checks: Arc<Checks>,
        config: AlertsConfig,
    ) -> anyhow::Result<Arc<Alerting>> {
        let admin = crate::alerting::admin::Admin::load(&storage, &config)?;
        let (rules, channels) = admin.merged(&config);
        let saved = storage.state(STATE_KEY)?.and_then(|b| serde_json::from_slice::<EngineState>(&b).ok());
        let engine = match saved {
            Some(state) => Engine::restore(rules, state)?,
            None => Engine::new(rules)?,
        };
        let (facts, facts_rx) = mpsc::channel(FACTS_QUEUE);
        let storage_shared = storage.shared();
        let alerting = Arc::new(Alerting {
            facts,
            engine: Mutex::new(engine),
            hourly_fed: Mutex::new(None),
            channels: Mutex::new(channels.into_iter().map(|c| (c.id.clone(), c)).collect()),
            admin,
            policy: DeliveryPolicy::default(),
            storage,
            checks,
            public_url: config.public_url.map(|u| u.trim_end_matches('/').to_string()),
            cluster: storage_shared.then(|| leader::Cluster::new(config.leader_lease)),
        });
        if alerting.cluster.is_some() {
            leader::start(&alerting)?;
        } else {
            tokio::spawn(alerting.clone().run_ticks());
            tokio::spawn(alerting.clone().run_facts(facts_rx));
        }
        crate::alerting::digest::start(&alerting, config.digests);
        Ok(alerting)
    }

    /// Whether this node evaluates alert rules and runs checks: always when
    /// it has the store to itself, while it holds the lease when shared.
    pub fn is_leading(&self) -> bool {
        self.cluster.as_ref().is_none_or(leader::Cluster::leading)
    }

    /// Stops leading (giving the lease up at once); before storage closes.
    pub async fn shutdown(&self) {
        leader::shutdown(self).await;
    }

    pub(crate) fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Facts of one committed export: new issues, regressions, events.
    /// Queued for the evaluation task; returns at once.
    pub fn on_committed(&self, events: &[(IssueEvent, &Committed)]) {
        if self.cluster.is_some() {
            // The store queued them for the leader in the same commit.
            return;
        }
        let now = now_nanos();
        let facts: Vec<Input> = events
            .iter()
            .map(|(event, committed)| {
                let mut event = event.clone();
                event.issue.group_id = committed.group_id;
                if committed.collapsed {
                    // Alerts name the overflow group, not the first
                    // fingerprint that happened to open it.
                    event.issue.title = faultline_store::OVERFLOW_TITLE.to_string();
                    event.issue.culprit = String::new();
                }
                let fact = if committed.new_group {
                    Fact::NewGroup(event)
                } else if committed.regression {
                    Fact::Regression(event)
                } else {
                    Fact::GroupEvent(event)
                };
                Input::from(fact)
            })
            .collect();
        self.enqueue(Facts { inputs: facts, now });
    }

    /// A group was resolved, ignored or merged away: its alerts resolve.
    /// Queued behind the facts of exports committed before it.
    pub fn on_group_status(&self, group_id: u64, status: GroupStatus) {
        if status == GroupStatus::Unresolved {
            return;
        }
        if self.cluster.is_some() {
            // A shared store queued "group resolved" for the leader in the
            // transaction of the status change or merge itself.
            return;
        }
        let now = now_nanos();
        self.enqueue(Facts { inputs: vec![Input::from(Fact::GroupResolved { group_id, at: now })], now });
    }

    /// Hands facts to the evaluation task without waiting. A full queue
    /// (evaluation fell far behind) is waited on in a task of its own, so
    /// no fact is dropped and still no export waits.
    fn enqueue(&self, facts: Facts) {
        match self.facts.try_send(facts) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(facts)) => {
                let sender = self.facts.clone();
                tokio::spawn(async move {
                    let _ = sender.send(facts).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => tracing::warn!("alert evaluation has stopped"),
        }
    }

    /// Evaluates queued facts in order. One call per export, so new issues
    /// of one export make one message per rule.
    async fn run_facts(self: Arc<Self>, mut facts: mpsc::Receiver<Facts>) {
        while let Some(Facts { inputs, now }) = facts.recv().await {
            let notifications = self.engine().observe_all(inputs, now);
            self.dispatch(notifications);
        }
    }

    async fn run_ticks(self: Arc<Self>) {
        let mut interval = tokio::time::interval(TICK);
        loop {
            interval.tick().await;
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.evaluate(now_nanos())).await {
                Ok(Ok(notifications)) => self.dispatch(notifications),
                Ok(Err(e)) => tracing::error!(error = %e, "alert evaluation failed"),
                Err(e) => tracing::error!(error = %e, "alert evaluation task failed"),
            }
        }
    }

    /// One evaluation, its state saved.
    fn evaluate(&self, now: UnixNanos) -> anyhow::Result<Vec<Notification>> {
        let (notifications, state) = self.evaluate_unsaved(now)?;
        // Saved each tick; the answer is not awaited (nothing is acknowledged on it).
        let _ = self.storage.put_state(STATE_KEY, state);
        Ok(notifications)
    }

    /// One evaluation: health windows and check states in, due changes
    /// and the engine's state after them out.
    fn evaluate_unsaved(&self, now: UnixNanos) -> anyhow::Result<(Vec<Notification>, Vec<u8>)> {
        let windows = self.engine().endpoint_windows();
        let mut observations = Vec::new();
        for window in windows {
            let from = now - i64::try_from(window.as_nanos()).unwrap_or(i64::MAX);
            let buckets = self.storage.health(from, now + 1, &HealthFilter::default())?;
            observations
                .extend(endpoint_windows(&buckets, window, now).into_iter().map(Observation::Endpoint));
        }
        observations.extend(self.checks.statuses().into_iter().map(|s| {
            Observation::Check(CheckStatus {
                check_id: s.check_id,
                consecutive_failures: s.consecutive_failures,
                last_error: s.last_error,
                tls_days_left: s.tls_days_left,
                at: s.at,
            })
        }));
        observations.extend(self.hourly_figures(now)?.into_iter().map(Observation::Hourly));
        let mut engine = self.engine();
        let mut notifications = engine.observe_all(observations.into_iter().map(Input::from), now);
        notifications.extend(engine.tick(now));
        let state = serde_json::to_vec(&engine.state())?;
        Ok((notifications, state))
    }

    /// For anomaly rules: each completed hour's figures, once. The first
    /// evaluation after start backfills the history the baselines need.
    fn hourly_figures(&self, now: UnixNanos) -> anyhow::Result<Vec<HourlyFigures>> {
        if !self.engine().wants_hourly() {
            return Ok(Vec::new());
        }
        let current_hour = now - now.rem_euclid(HOUR_NANOS);
        let mut fed = self.hourly_fed.lock().unwrap_or_else(|p| p.into_inner());
        let mut hour = fed.map_or(current_hour - BASELINE_HOURS * HOUR_NANOS, |h| h + HOUR_NANOS);
        let mut figures = Vec::new();
        while hour < current_hour {
            let buckets = self.storage.health(hour, hour + HOUR_NANOS, &HealthFilter::default())?;
            for w in endpoint_windows(&buckets, Duration::from_secs(3600), hour) {
                figures.push(HourlyFigures {
                    endpoint: w.endpoint,
                    hour_start: hour,
                    requests: w.requests,
                    errors: w.errors,
                    p95_ms: w.p95_ms,
                });
            }
            hour += HOUR_NANOS;
        }
        *fed = Some(current_hour - HOUR_NANOS);
        Ok(figures)
    }

    /// Silences mute matching alerts until they end; snoozes mute one issue.
    pub fn add_silence(&self, silence: Silence) -> Result<(), SilenceError> {
        self.engine().add_silence(silence.clone())?;
        self.share_mutes(leader::MuteChange::AddSilence(silence));
        Ok(())
    }

    pub fn remove_silence(&self, id: &str) -> Option<Silence> {
        let removed = self.engine().remove_silence(id);
        self.share_mutes(leader::MuteChange::RemoveSilence(id.to_string()));
        removed
    }

    pub fn silences(&self) -> Vec<Silence> {
        self.engine().silences()
    }

    pub fn snooze(&self, group_id: u64, until: UnixNanos) {
        let snooze = Snooze { group_id, until };
        self.engine().snooze(snooze);
        self.share_mutes(leader::MuteChange::Snooze(snooze));
    }

    /// With several nodes: applies the change to the silences and snoozes
    /// saved for the leader to take (`leader::apply_shared_mutes`),
    /// wherever the change was made. The saved list is changed where it
    /// is stored (`update_states`), not replaced by this node's, so
    /// changes made at the same moment on two nodes are all kept.
    fn share_mutes(&self, change: leader::MuteChange) {
        if self.cluster.is_none() {
            return;
        }
        let (silences, snoozes) = {
            let engine = self.engine();
            (engine.silences(), engine.snoozes())
        };
        let mine = leader::SharedMutes { silences, snoozes };
        let share = || leader::share_mute_change(&self.storage, mine, change);
        // A store round trip: off the async workers when called on one.
        let shared = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(share),
            _ => share(),
        };
        if let Err(e) = shared {
            tracing::warn!(error = %e, "silences not shared with the other nodes");
        }
    }

    /// Sends each notification to each of its rule's channels, each in its
    /// own task.
    fn dispatch(self: &Arc<Self>, notifications: Vec<Notification>) {
        for mut notification in notifications {
            self.add_links(&mut notification);
            let channel_ids = self.engine().channels(&notification.rule_id).to_vec();
            for id in channel_ids {
                let Some(channel) = self.channel(&id) else { continue };
                let me = self.clone();
                let notification = notification.clone();
                tokio::spawn(async move { me.send(&channel, &notification).await });
            }
        }
    }

    async fn send(&self, channel: &Channel, notification: &Notification) -> bool {
        let result = deliver(channel, notification, &self.policy, |attempt| self.record(attempt)).await;
        if let Err(e) = &result {
            tracing::warn!(channel = %channel.id, notification = %notification.id, error = %e, "alert delivery failed");
        }
        result.is_ok()
    }

    /// Keeps a delivery attempt in the store for `GET /api/v1/alerts`.
    pub(crate) fn record(&self, attempt: DeliveryAttempt) {
        let stored = serde_json::to_vec(&attempt)
            .map_err(|e| e.to_string())
            .and_then(|json| self.storage.record_delivery(now_nanos(), json).map_err(|e| e.to_string()));
        if let Err(e) = stored {
            tracing::warn!(channel = %attempt.channel_id, error = %e, "delivery attempt not recorded");
        }
    }

    /// Links alerts to the UI pages of their group, service or check.
    fn add_links(&self, notification: &mut Notification) {
        let Some(base) = &self.public_url else { return };
        for alert in &mut notification.alerts {
            alert.url = match (&alert.group_id, &alert.check_id, &alert.service) {
                (Some(id), _, _) => Some(format!("{base}/issues/{id}")),
                (None, Some(check), _) => Some(format!("{base}/checks/{check}")),
                (None, None, Some(service)) => Some(format!("{base}/services/{service}")),
                _ => None,
            };
        }
    }

    /// Sends a test notification through one channel and waits for the outcome.
    pub async fn test_channel(&self, id: &str) -> Option<(bool, Vec<DeliveryAttempt>)> {
        let channel = self.channel(id)?;
        let now = now_nanos();
        let alert = Alert {
            rule_id: "test".into(),
            rule_name: "Test notification".into(),
            key: "test".into(),
            labels: BTreeMap::new(),
            severity: Severity::Warning,
            state: faultline_alert::AlertState::Firing,
            title: format!("Test notification for channel {}", channel.name),
            summary: "Faultline can reach this channel.".into(),
            value: None,
            threshold: None,
            url: self.public_url.clone(),
            service: None,
            group_id: None,
            check_id: None,
            started_at: now,
            resolved_at: None,
        };
        let notification = Notification {
            id: format!("test-{id}-{now}"),
            kind: NotificationKind::Firing,
            rule_id: "test".into(),
            rule_name: "Test notification".into(),
            severity: Severity::Warning,
            alerts: vec![alert],
            created_at: now,
        };
        let mut attempts = Vec::new();
        let ok = deliver(&channel, &notification, &self.policy, |a| {
            attempts.push(a.clone());
            self.record(a);
        })
        .await
        .is_ok();
        Some((ok, attempts))
    }

    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    pub(crate) fn checks(&self) -> &Checks {
        &self.checks
    }

    /// `public_url` of `[alerts]`, without a trailing slash.
    pub(crate) fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    pub(crate) fn channel(&self, id: &str) -> Option<Channel> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    pub fn rules(&self) -> Vec<Rule> {
        self.engine().rules().to_vec()
    }

    /// Current alerts (pending and firing) and the recent history.
    pub fn alerts(&self) -> (Vec<Alert>, Vec<Alert>) {
        let engine = self.engine();
        (engine.alerts(), engine.history().to_vec())
    }

    /// The latest delivery attempts, newest first.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        let stored = self.storage.deliveries(DELIVERY_HISTORY).unwrap_or_default();
        stored.iter().filter_map(|json| serde_json::from_slice(json).ok()).collect()
    }
}

/// The issue an event belongs to, before its group id is known.
pub fn issue_event(event: &ErrorEvent, grouping: &Grouping) -> IssueEvent {
    titled_issue_event(event, &grouping.title, &grouping.culprit)
}

/// The issue an event belongs to, with its grouping's title and culprit.
fn titled_issue_event(event: &ErrorEvent, title: &str, culprit: &str) -> IssueEvent {
    IssueEvent {
        issue: Issue {
            group_id: 0,
            service: event.service.clone(),
            environment: event.environment.clone(),
            exception_type: event.exception_type.clone(),
            level: event.level.clone(),
            title: title.to_string(),
            culprit: culprit.to_string(),
        },
        user: faultline_alert::engine::user_of(event),
        at: event.timestamp,
    }
}

/// Per service and environment, and per route within them, the window's figures.
fn endpoint_windows(
    buckets: &BTreeMap<HealthKey, HealthBucket>,
    window: Duration,
    at: UnixNanos,
) -> Vec<EndpointWindow> {
    let mut merged: BTreeMap<Endpoint, HealthBucket> = BTreeMap::new();
    for (key, bucket) in buckets {
        let environment = Some(key.environment.clone()).filter(|e| !e.is_empty());
        let service = Endpoint { service: key.service.clone(), environment, route: None };
        let route = Endpoint { route: Some(key.route.clone()), ..service.clone() };
        merged.entry(service).or_default().merge(bucket);
        merged.entry(route).or_default().merge(bucket);
    }
    merged
        .into_iter()
        .map(|(endpoint, b)| EndpointWindow {
            endpoint,
            window,
            requests: b.requests,
            errors: b.errors,
            p95_ms: b.latency.quantile(0.95),
            p99_ms: b.latency.quantile(0.99),
            at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    /// The ingest path and the API hand facts over and return, even while
    /// evaluation is busy (here: its engine lock is held).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn facts_are_queued_not_evaluated_by_the_caller() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("faultline-alerting-{}-{nanos}", std::process::id()));
        let storage = Arc::new(Storage::open(&dir, faultline_store::StorageOptions::default()).unwrap());
        let checks = Checks::start(storage.clone(), Vec::new()).unwrap();
        let alerting = Alerting::start(storage.clone(), checks, AlertsConfig::default()).unwrap();

        let busy = alerting.engine();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let caller = alerting.clone();
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            let _entered = runtime.enter();
            caller.on_committed(&[]);
            caller.on_group_status(7, GroupStatus::Resolved);
            let _ = done_tx.send(());
        });
        let returned = done_rx.recv_timeout(Duration::from_secs(5)).is_ok();
        drop(busy);
        assert!(returned, "on_committed / on_group_status waited for evaluation");
        drop(alerting);
        storage.shutdown().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
