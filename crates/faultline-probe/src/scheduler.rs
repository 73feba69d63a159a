//! Runs every check at its interval and hands each result to the caller.
//!
//! Each check has its own task and timer, so a slow target delays only its
//! own next run (runs of one check never overlap). A semaphore bounds how
//! many runs are in flight at once; because every run is bounded by its
//! timeout, a permit is always given back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::config::{Check, MIN_INTERVAL};
use crate::error::ConfigError;
use crate::result::CheckResult;
use crate::run::run;

#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Most checks running at the same moment.
    pub max_concurrent: usize,
    /// Shortest interval accepted; [`MIN_INTERVAL`] unless lowered (tests).
    pub min_interval: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self { max_concurrent: 32, min_interval: MIN_INTERVAL }
    }
}

/// What [`Scheduler::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// A new check, run now and then at its interval.
    Added,
    /// A changed check: the old one was stopped (a run in flight is
    /// abandoned without a result) and the new one runs now.
    Replaced,
    /// Identical to the scheduled one, which keeps its rhythm.
    Unchanged,
}

/// Runs checks until it is shut down or dropped.
///
/// Results go to the `mpsc::Sender` given to [`Scheduler::new`]; if the
/// receiver is slow the checks wait for it (results are never dropped), and
/// if it is closed they stop.
pub struct Scheduler {
    runtime: Handle,
    results: mpsc::Sender<CheckResult>,
    permits: Arc<Semaphore>,
    min_interval: Duration,
    running: Mutex<HashMap<String, Running>>,
    /// While it reads false, due runs are skipped (another node runs the checks).
    gate: Option<watch::Receiver<bool>>,
}

struct Running {
    check: Check,
    task: JoinHandle<()>,
}

impl Scheduler {
    /// An empty scheduler whose checks will run on the current Tokio
    /// runtime.
    ///
    /// # Panics
    /// Outside a Tokio runtime, like `tokio::spawn`.
    pub fn new(results: mpsc::Sender<CheckResult>, options: SchedulerOptions) -> Self {
        Self::with_runtime(Handle::current(), results, options)
    }

    /// The same, on a runtime given by handle: usable from any thread.
    pub fn with_runtime(
        runtime: Handle,
        results: mpsc::Sender<CheckResult>,
        options: SchedulerOptions,
    ) -> Self {
        Self {
            runtime,
            results,
            permits: Arc::new(Semaphore::new(options.max_concurrent.max(1))),
            min_interval: options.min_interval,
            running: Mutex::new(HashMap::new()),
            gate: None,
        }
    }

    /// Runs checks only while `gate` reads true: a node that is not the
    /// leader of several keeps its checks scheduled (for the API) but
    /// skips their runs. Call it before scheduling checks.
    pub fn with_gate(mut self, gate: watch::Receiver<bool>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Schedules `check`, replacing a check with the same id. Its first run
    /// starts at once. Refused, and nothing changes, when `check` is invalid.
    pub fn upsert(&self, check: Check) -> Result<Upsert, ConfigError> {
        check.validate_with_min_interval(self.min_interval)?;
        let mut running = self.running();
        let outcome = match running.get(&check.id) {
            Some(current) if current.check == check => return Ok(Upsert::Unchanged),
            Some(current) => {
                current.task.abort();
                Upsert::Replaced
            }
            None => Upsert::Added,
        };
        let task = self.runtime.spawn(check_loop(
            check.clone(),
            self.permits.clone(),
            self.results.clone(),
            self.gate.clone(),
        ));
        running.insert(check.id.clone(), Running { check, task });
        Ok(outcome)
    }

    /// Stops the check with this id; a run in flight is abandoned. A result
    /// already sent may still be waiting in the channel. False when no such
    /// check was scheduled.
    pub fn remove(&self, id: &str) -> bool {
        match self.running().remove(id) {
            Some(removed) => {
                removed.task.abort();
                true
            }
            None => false,
        }
    }

    /// Makes the scheduled checks exactly `checks`: adds, replaces and
    /// removes as needed, leaving unchanged ones on their rhythm. Validates
    /// everything first, so an invalid list changes nothing.
    pub fn replace_all(&self, checks: Vec<Check>) -> Result<(), ConfigError> {
        crate::config::validate_all_with_min_interval(&checks, self.min_interval)?;
        let keep: std::collections::HashSet<String> = checks.iter().map(|c| c.id.clone()).collect();
        for id in self.ids() {
            if !keep.contains(&id) {
                self.remove(&id);
            }
        }
        for check in checks {
            self.upsert(check)?;
        }
        Ok(())
    }

    /// The scheduled checks, by id.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks: Vec<Check> = self.running().values().map(|r| r.check.clone()).collect();
        checks.sort_by(|a, b| a.id.cmp(&b.id));
        checks
    }

    pub fn get(&self, id: &str) -> Option<Check> {
        self.running().get(id).map(|r| r.check.clone())
    }

    fn ids(&self) -> Vec<String> {
        self.running().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.running().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops every check and waits until their tasks are gone, so that no
    /// result is sent after this returns.
    pub async fn shutdown(self) {
        let tasks: Vec<JoinHandle<()>> = self.running().drain().map(|(_, r)| r.task).collect();
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // A cancelled task answers Err(cancelled): that is the point.
            let _ = task.await;
        }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        // The map stays consistent even if a holder panicked: every change
        // is a single insert or remove.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        for (_, running) in self.running().drain() {
            running.task.abort();
        }
    }
}

async fn check_loop(
    check: Check,
    permits: Arc<Semaphore>,
    results: mpsc::Sender<CheckResult>,
    gate: Option<watch::Receiver<bool>>,
) {
    let mut ticks = tokio::time::interval(check.interval);
    // A run longer than the interval pushes the next one back instead of
    // being followed by a burst of catch-up runs.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if gate.as_ref().is_some_and(|g| !*g.borrow()) {
            continue;
        }
        let result = {
            let Ok(_permit) = permits.acquire().await else { return };
            run(&check).await
        };
        // The permit is released before sending, so a slow receiver holds
        // up only this check's next run, not other checks.
        if results.send(result).await.is_err() {
            tracing::debug!(check = %check.id, "result receiver closed; stopping");
            return;
        }
    }
}
