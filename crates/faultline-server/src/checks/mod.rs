//! Active checks in the running server: the scheduler, the task that
//! stores each run and follows up/down transitions, and the figures the
//! API and `/metrics` show.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use faultline_model::{CheckResult, UnixNanos};
use faultline_probe::{
    incidents, uptime_summary, Check, CheckState, ConfigError, Incident, Scheduler, SchedulerOptions,
    StateTracker, Transition, UptimeSummary,
};
use faultline_store::Storage;
use tokio::sync::mpsc;

const DAY_NANOS: i64 = 24 * 3600 * 1_000_000_000;
/// Results read to rebuild a check's state at start-up.
const REPLAY_WINDOW_NANOS: i64 = 7 * DAY_NANOS;

/// Reads one figure off a check run, for a Prometheus gauge.
type ResultValue = fn(&CheckResult) -> Option<f64>;

/// Where a check was defined: the config file's are read-only through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Api => "api",
        }
    }
}

/// A check as the API and the pages show it (see [`Checks::status`]).
#[derive(Debug, Clone)]
pub struct CheckStatus {
    pub check: Check,
    pub source: Source,
    pub state: CheckState,
    pub consecutive_failures: u32,
    /// Over the last day, week and 30 days.
    pub uptime: UptimeSummary,
    /// The latest run since the server started.
    pub last: Option<CheckResult>,
    /// Over the last 30 days, oldest first.
    pub incidents: Vec<Incident>,
    /// The stored runs of the last 30 days, oldest first.
    pub results: Vec<CheckResult>,
}

/// A check's latest state as alert rules see it.
#[derive(Debug, Clone)]
pub struct LiveStatus {
    pub check_id: String,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub tls_days_left: Option<f64>,
    pub at: UnixNanos,
}

/// What the server keeps in memory per check.
#[derive(Debug, Default)]
struct Live {
    tracker: StateTracker,
    last: Option<CheckResult>,
}

pub struct Checks {
    scheduler: Mutex<Option<Scheduler>>,
    storage: Arc<Storage>,
    config_ids: HashSet<String>,
    live: Mutex<HashMap<String, Live>>,
    /// Whether this node runs the checks: always alone, only while it
    /// leads when several nodes share the store (see `alerting::leader`).
    active: tokio::sync::watch::Sender<bool>,
}

/// Why a change to checks was refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    #[error("check {0:?} is defined in the config file; change it there")]
    FromConfig(String),
    #[error("no check {0:?}")]
    NotFound(String),
    #[error("storage: {0}")]
    Storage(String),
}

impl Checks {
    /// Starts the checks of the config file and those created through the
    /// API before, rebuilding each one's state from its stored runs.
    pub fn start(storage: Arc<Storage>, configured: Vec<Check>) -> anyhow::Result<Arc<Checks>> {
        let config_ids: HashSet<String> = configured.iter().map(|c| c.id.clone()).collect();
        let mut all = configured;
        for (id, definition) in storage.check_definitions()? {
            match serde_json::from_str::<Check>(&definition) {
                Ok(check) if !config_ids.contains(&check.id) => all.push(check),
                Ok(_) => {
                    tracing::warn!(check = %id, "a check of the config file replaces the one created through the API")
                }
                Err(e) => {
                    tracing::error!(check = %id, error = %e, "stored check is no longer valid; not running it")
                }
            }
        }
        let live = replay(&storage, &all)?;
        let (tx, rx) = mpsc::channel(256);
        // A node sharing the store waits for leadership before running any.
        let (active, gate) = tokio::sync::watch::channel(!storage.shared());
        let scheduler = Scheduler::new(tx, SchedulerOptions::default()).with_gate(gate);
        scheduler.replace_all(all)?;
        let checks = Arc::new(Checks {
            scheduler: Mutex::new(Some(scheduler)),
            storage,
            config_ids,
            live: Mutex::new(live),
            active,
        });
        tokio::spawn(checks.clone().consume(rx));
        Ok(checks)
    }

    /// Starts or stops running the checks on this node (leadership gained
    /// or lost). Either way each check's state is rebuilt from the stored
    /// runs first, which the previous leader wrote. Blocking (store reads).
    pub fn set_active(&self, active: bool) -> anyhow::Result<()> {
        self.sync_definitions()?;
        self.reload_live()?;
        self.active.send_replace(active);
        Ok(())
    }

    /// Brings the checks created through the API in line with the store,
    /// where other nodes sharing it create and delete them too: new and
    /// changed ones scheduled, deleted ones removed. Blocking (store read).
    pub fn sync_definitions(&self) -> anyhow::Result<()> {
        let mut stored = std::collections::HashMap::new();
        for (id, definition) in self.storage.check_definitions()? {
            if self.config_ids.contains(&id) {
                continue;
            }
            match serde_json::from_str::<Check>(&definition) {
                Ok(check) => {
                    stored.insert(id, check);
                }
                Err(e) => {
                    tracing::error!(check = %id, error = %e, "stored check is no longer valid; not running it")
                }
            }
        }
        for check in self.list() {
            if !self.config_ids.contains(&check.id) && !stored.contains_key(&check.id) {
                self.with_scheduler(|s| s.remove(&check.id));
                self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&check.id);
            }
        }
        for (_, check) in stored {
            if let Some(Err(e)) = self.with_scheduler(|s| s.upsert(check.clone())) {
                tracing::error!(check = %check.id, error = %e, "stored check is no longer valid; not running it");
            }
        }
        Ok(())
    }

    /// Rebuilds every check's state from the stored runs: what a node that
    /// does not run them shows. Blocking (store reads).
    pub fn reload_live(&self) -> anyhow::Result<()> {
        let live = replay(&self.storage, &self.list())?;
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = live;
        Ok(())
    }

    /// Stores each run and follows transitions, until the scheduler stops.
    async fn consume(self: Arc<Self>, mut results: mpsc::Receiver<CheckResult>) {
        while let Some(result) = results.recv().await {
            if !self.is_scheduled(&result.check_id) {
                continue; // a run of a check removed meanwhile
            }
            match self.storage.record_check_result(&result) {
                Ok(answer) => {
                    if let Ok(Err(e)) = answer.await {
                        tracing::error!(check = %result.check_id, error = %e, "could not store a check run");
                    }
                }
                Err(e) => tracing::warn!(check = %result.check_id, error = %e, "check run not stored"),
            }
            self.observe(result);
        }
    }

    fn observe(&self, result: CheckResult) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let entry = live.entry(result.check_id.clone()).or_default();
        match entry.tracker.observe(&result) {
            Some(Transition::Down { error, .. }) => {
                tracing::warn!(check = %result.check_id, %error, "check is down");
            }
            Some(Transition::Up { down_since, .. }) => {
                let seconds = (result.at - down_since) / 1_000_000_000;
                tracing::info!(check = %result.check_id, down_for_seconds = seconds, "check is up again");
            }
            None => {}
        }
        entry.last = Some(result);
    }

    fn is_scheduled(&self, id: &str) -> bool {
        self.with_scheduler(|s| s.get(id).is_some()).unwrap_or(false)
    }

    fn with_scheduler<T>(&self, f: impl FnOnce(&Scheduler) -> T) -> Option<T> {
        self.scheduler.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(f)
    }

    pub fn list(&self) -> Vec<Check> {
        let mut checks = self.with_scheduler(Scheduler::checks).unwrap_or_default();
        checks.sort_by(|a, b| a.id.cmp(&b.id));
        checks
    }

    pub fn get(&self, id: &str) -> Option<Check> {
        self.with_scheduler(|s| s.get(id)).flatten()
    }

    /// Creates or replaces a check through the API: stored, then scheduled.
    pub async fn put(&self, check: Check) -> Result<(), CheckError> {
        check.validate()?;
        if self.config_ids.contains(&check.id) {
            return Err(CheckError::FromConfig(check.id));
        }
        let json = serde_json::to_string(&check).map_err(|e| CheckError::Storage(e.to_string()))?;
        let answer = self
            .storage
            .put_check_definition(&check.id, &json)
            .map_err(|e| CheckError::Storage(e.to_string()))?;
        answer
            .await
            .map_err(|e| CheckError::Storage(e.to_string()))?
            .map_err(|e| CheckError::Storage(e.to_string()))?;
        self.with_scheduler(|s| s.upsert(check)).transpose()?;
        Ok(())
    }

    /// Deletes a check created through the API, with its history.
    pub async fn delete(&self, id: &str) -> Result<(), CheckError> {
        if self.config_ids.contains(id) {
            return Err(CheckError::FromConfig(id.to_string()));
        }
        if !self.with_scheduler(|s| s.remove(id)).unwrap_or(false) {
            return Err(CheckError::NotFound(id.to_string()));
        }
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        let answer = self.storage.delete_check(id).map_err(|e| CheckError::Storage(e.to_string()))?;
        answer
            .await
            .map_err(|e| CheckError::Storage(e.to_string()))?
            .map_err(|e| CheckError::Storage(e.to_string()))
    }

    /// What the API and the pages show of a check: its live state, uptime
    /// and incidents over the last 30 days, read from the stored runs.
    /// Reads the store: call it off the async threads.
    pub fn status(&self, check: &Check) -> Result<CheckStatus, faultline_store::Error> {
        let now = faultline_model::now_nanos();
        let results = self.storage.check_results(&check.id, now - 30 * DAY_NANOS, now + 1)?;
        let uptime = uptime_summary(&results, now);
        let (state, consecutive_failures, last) = {
            let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            match live.get(&check.id) {
                Some(l) => (l.tracker.state(), l.tracker.consecutive_failures(), l.last.clone()),
                None => (CheckState::Unknown, 0, None),
            }
        };
        let source = if self.config_ids.contains(&check.id) { Source::Config } else { Source::Api };
        let incidents = incidents(&results);
        Ok(CheckStatus {
            check: check.clone(),
            source,
            state,
            consecutive_failures,
            uptime,
            last,
            incidents,
            results,
        })
    }

    /// Gauges for every check's latest run.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        use prometheus_client::metrics::family::Family;
        use prometheus_client::metrics::gauge::Gauge;
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let lines: [(&str, &str, ResultValue); 3] = [
            ("faultline_check_up", "1 when the check's latest run succeeded.", |r| {
                Some(if r.ok { 1.0 } else { 0.0 })
            }),
            ("faultline_check_latency_ms", "Duration of the check's latest run.", |r| Some(r.latency_ms)),
            ("faultline_check_tls_days_left", "Days until the certificate expires.", |r| r.tls_days_left),
        ];
        for (name, help, value) in lines {
            let family =
                Family::<Vec<(&'static str, String)>, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
            for (id, l) in live.iter() {
                if let Some(v) = l.last.as_ref().and_then(value) {
                    family.get_or_create(&vec![("check", id.clone())]).set(v);
                }
            }
            registry.register(name, help, family);
        }
    }

    /// Every check's latest state, for alert rules.
    pub fn statuses(&self) -> Vec<LiveStatus> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.iter()
            .filter_map(|(id, l)| {
                let last = l.last.as_ref()?;
                Some(LiveStatus {
                    check_id: id.clone(),
                    consecutive_failures: l.tracker.consecutive_failures(),
                    last_error: last.error.clone(),
                    tls_days_left: last.tls_days_left,
                    at: last.at,
                })
            })
            .collect()
    }

    /// Stops every check; called before storage closes.
    pub async fn shutdown(&self) {
        let scheduler = self.scheduler.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = scheduler {
            s.shutdown().await;
        }
    }
}

/// Each check's state from its stored runs of the replay window.
fn replay(storage: &Storage, checks: &[Check]) -> Result<HashMap<String, Live>, faultline_store::Error> {
    let now = faultline_model::now_nanos();
    let mut live = HashMap::new();
    for check in checks {
        let results = storage.check_results(&check.id, now - REPLAY_WINDOW_NANOS, now + 1)?;
        live.insert(
            check.id.clone(),
            Live { tracker: StateTracker::replay(&results), last: results.last().cloned() },
        );
    }
    Ok(live)
}
