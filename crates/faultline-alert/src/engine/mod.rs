//! The alert engine: rules evaluated into alerts with a lifecycle, and the
//! notifications to send about them.
//!
//! Pure and deterministic: no I/O, no clock, no randomness. The server
//! feeds it [`Fact`]s and [`Observation`]s with the current time and gets
//! back [`Notification`]s to deliver; all state is one serializable
//! [`EngineState`] the server persists so alerts survive restarts.
//!
//! - [`Engine::observe`] / [`Engine::observe_all`]: apply inputs; alerts
//!   they start or end are announced at once (new issues, regressions,
//!   thresholds with no `for`).
//! - [`Engine::tick`] (every 10 s or so): `for` durations, reminders,
//!   silences ending, frequency windows sliding, quiet periods and stale
//!   alerts.
//!
//! # Lifecycle
//!
//! As in Prometheus, one alert per rule and subject (issue, endpoint,
//! check): *pending* while its condition holds for less than the rule's
//! `for`, then *firing*, then *resolved*; a pending alert whose condition
//! stops holding is dropped without a word. A firing alert sends one firing
//! notice; another only when its severity rises (warning → critical); a
//! reminder after each `repeat_interval` (default 4h); a resolved notice if
//! a firing notice went out. Threshold rules resolve only below `resolve`
//! (hysteresis). New-issue and regression alerts fire at once and resolve
//! when the issue is resolved or after `resolve_after` (default 1h)
//! without an event. Alerts nobody confirms any more (no traffic, a check
//! deleted) resolve as stale. Alerts of one rule that change the same way
//! in one call go out as one notification, with an id derived from rule,
//! kind, alert keys and starts, so a repeat after a crash can be dropped by
//! the receiver.
//!
//! # Muting
//!
//! A [`Silence`] (label globs, a time range) or a [`Snooze`] (one issue,
//! until a time) mutes notifications, not alerts: when it ends and the
//! alert still fires, the alert notifies then. A resolved notice is never
//! muted for an alert whose firing notice went out, so incident tools close
//! what they opened.
//!
//! # Anomalies
//!
//! The last hour's error rate or p95 is compared with the same hour on the
//! previous 7 days and with the last 6 hours, each by median and MAD
//! (robust z score, floored); it is anomalous when unusual for both. The
//! full method is documented on the `anomaly` module (`anomaly.rs`).

mod anomaly;
mod checks;
mod duration;
mod endpoints;
mod facts;
mod glob;
mod hash;
mod issues;
mod lifecycle;
mod notifications;
mod rules;
mod silence;
mod state;
mod subject;
mod text;
mod threshold;
mod validate;
mod windows;
mod wire;

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_model::UnixNanos;

pub use anomaly::{Reference, Verdict};
pub use facts::{
    user_of, CheckStatus, Endpoint, EndpointWindow, Fact, HourlyFigures, Input, Issue, IssueEvent,
    Observation, USER_ATTRIBUTES,
};
pub use glob::GlobError;
pub use lifecycle::{HISTORY_LIMIT, MAX_ALERTS_PER_RULE};
pub use rules::{
    AlertsConfig, AnomalyMetric, AnomalyRule, CertExpiryRule, CheckDownRule, Common, ConfigError,
    EndpointSelector, ErrorRateRule, FrequencyRule, IssueFilter, IssueRule, LatencyRule, Percentile, Rule,
    RuleKind, Thresholds,
};
pub use silence::{MutedBy, Silence, SilenceError, Snooze, MAX_SILENCES};
pub use state::{EngineState, STATE_VERSION};
pub use validate::{validate_rules, RuleError};

use self::duration::nanos;
use self::glob::Globs;
use self::lifecycle::Outbox;
use crate::alert::{Alert, Notification};

/// How long an alert may go unconfirmed before it resolves as stale: an
/// endpoint that stopped getting traffic, a check that was deleted. `None`
/// for kinds that resolve otherwise (frequency windows, quiet periods).
fn stale_after(rule: &Rule) -> Option<UnixNanos> {
    const MINUTE: UnixNanos = 60_000_000_000;
    match rule.kind() {
        // Two windows, and at least ten minutes so a short window does not
        // resolve on a server tick that came late.
        RuleKind::ErrorRate | RuleKind::Latency => Some((2 * nanos(rule.window())).max(10 * MINUTE)),
        RuleKind::Anomaly => Some(2 * anomaly::HOUR),
        // Checks may run as rarely as daily.
        RuleKind::CheckDown | RuleKind::CertExpiry => Some(anomaly::DAY),
        RuleKind::NewGroup | RuleKind::Regression | RuleKind::GroupFrequency => None,
    }
}

/// The rule engine. See the module docs.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Vec<Rule>,
    index: BTreeMap<String, usize>,
    state: EngineState,
    /// The patterns of `rules` and the silences, compiled; rebuilt whenever
    /// either changes.
    globs: Globs,
}

impl Engine {
    /// An engine with no history. Refuses invalid rules.
    pub fn new(rules: Vec<Rule>) -> Result<Engine, RuleError> {
        Engine::restore(rules, EngineState::default())
    }

    /// An engine that carries on from `state` (from [`Engine::state`]) with
    /// `rules`, which may differ from the rules `state` was made with:
    /// alerts of rules that are gone (or changed kind) resolve on the next
    /// tick, with a notice where a firing notice went out; frequency
    /// windows of rules that are gone or changed window start over.
    /// This is also how to change rules at run time.
    pub fn restore(rules: Vec<Rule>, mut state: EngineState) -> Result<Engine, RuleError> {
        validate_rules(&rules)?;
        state.windows.retain(|id, windows| {
            rules.iter().any(|r| {
                r.id() == *id && r.kind() == RuleKind::GroupFrequency && nanos(r.window()) == windows.window
            })
        });
        state.version = STATE_VERSION;
        let index = rules.iter().enumerate().map(|(i, r)| (r.id().to_string(), i)).collect();
        let globs = Globs::of(&rules, state.mutes.silences.values());
        Ok(Engine { rules, index, state, globs })
    }

    /// A copy of everything the engine knows, for persisting.
    pub fn state(&self) -> EngineState {
        self.state.clone()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.index.get(id).and_then(|i| self.rules.get(*i))
    }

    /// Where a rule's notifications go. ([`Notification`] names its rule,
    /// not its channels.)
    pub fn channels(&self, rule_id: &str) -> &[String] {
        self.rule(rule_id).map(|r| r.channels()).unwrap_or_default()
    }

    /// The windows the server should compute [`EndpointWindow`]s over:
    /// each error_rate and latency rule's `window`, and one hour when
    /// there are anomaly rules. Sorted, without duplicates.
    pub fn endpoint_windows(&self) -> Vec<Duration> {
        let mut windows: Vec<Duration> =
            self.rules.iter().filter(|r| r.kind().is_endpoint_kind()).map(Rule::window).collect();
        windows.sort();
        windows.dedup();
        windows
    }

    /// Whether any rule wants [`HourlyFigures`] (anomaly rules do).
    pub fn wants_hourly(&self) -> bool {
        self.rules.iter().any(|r| r.kind() == RuleKind::Anomaly)
    }

    /// Applies one input at `now` and returns what to announce.
    pub fn observe(&mut self, input: impl Into<Input>, now: UnixNanos) -> Vec<Notification> {
        self.observe_all([input.into()], now)
    }

    /// Applies several inputs as one evaluation: alerts of one rule that
    /// change together are announced in one notification. Feed each tick's
    /// observations (and each commit's facts) this way.
    pub fn observe_all(
        &mut self,
        inputs: impl IntoIterator<Item = Input>,
        now: UnixNanos,
    ) -> Vec<Notification> {
        let mut out = Outbox::default();
        for input in inputs {
            self.apply(&input, now, &mut out);
        }
        let touched = std::mem::take(&mut out.touched);
        self.advance(Some(&touched), now, &mut out);
        self.finish(out, now)
    }

    /// Time passing: pending alerts whose `for` has elapsed fire,
    /// reminders fall due, silences and snoozes end (muted alerts that
    /// still fire notify now), frequency windows slide, new-issue alerts
    /// past their quiet period and stale alerts resolve, alerts of removed
    /// rules resolve, history of endpoints gone for 8 days is dropped.
    /// Call it at least every 10 seconds.
    pub fn tick(&mut self, now: UnixNanos) -> Vec<Notification> {
        let mut out = Outbox::default();
        if self.state.mutes.expire(now) {
            self.recompile();
        }
        self.state.baselines.prune(now);
        self.clear_orphans(now, &mut out);
        issues::on_tick(&self.rules, &mut self.state, now, &mut out);
        self.clear_stale(now, &mut out);
        self.advance(None, now, &mut out);
        self.finish(out, now)
    }

    /// Adds a silence, or replaces the one with the same id. Alerts it
    /// stops muting (when it ends or is removed) notify on the next tick.
    pub fn add_silence(&mut self, silence: Silence) -> Result<(), SilenceError> {
        silence.validate()?;
        let silences = &mut self.state.mutes.silences;
        if !silences.contains_key(&silence.id) && silences.len() >= MAX_SILENCES {
            return Err(SilenceError::TooMany);
        }
        silences.insert(silence.id.clone(), silence);
        self.recompile();
        Ok(())
    }

    pub fn remove_silence(&mut self, id: &str) -> Option<Silence> {
        let removed = self.state.mutes.silences.remove(id);
        self.recompile();
        removed
    }

    /// Silences not yet over (including future ones), by id.
    pub fn silences(&self) -> Vec<Silence> {
        self.state.mutes.silences.values().cloned().collect()
    }

    /// Mutes an issue's alerts until `snooze.until` (replacing an earlier snooze).
    pub fn snooze(&mut self, snooze: Snooze) {
        self.state.mutes.snoozes.insert(snooze.group_id, snooze);
    }

    pub fn unsnooze(&mut self, group_id: u64) -> Option<Snooze> {
        self.state.mutes.snoozes.remove(&group_id)
    }

    pub fn snoozes(&self) -> Vec<Snooze> {
        self.state.mutes.snoozes.values().copied().collect()
    }

    /// What mutes `alert` at `now`, if anything.
    pub fn muted_by(&self, alert: &Alert, now: UnixNanos) -> Option<MutedBy> {
        self.state.mutes.muted_by(&self.globs, alert, now)
    }

    /// Current alerts, pending and firing, in rule order then by key.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut alerts: Vec<&lifecycle::Tracked> = self.state.alerts.current().collect();
        alerts.sort_by_key(|t| (self.rule_index(&t.alert.rule_id), t.alert.key.as_str()));
        alerts.into_iter().map(|t| t.alert.clone()).collect()
    }

    /// Resolved alerts, oldest first, the last [`HISTORY_LIMIT`].
    pub fn history(&self) -> &[Alert] {
        &self.state.alerts.history
    }

    fn rule_index(&self, rule_id: &str) -> usize {
        self.index.get(rule_id).copied().unwrap_or(usize::MAX)
    }

    /// Compiles the patterns again after the silences changed (rules only
    /// change through [`Engine::restore`], which compiles them).
    fn recompile(&mut self) {
        self.globs = Globs::of(&self.rules, self.state.mutes.silences.values());
    }

    fn apply(&mut self, input: &Input, now: UnixNanos, out: &mut Outbox) {
        let (rules, globs, state) = (&self.rules, &self.globs, &mut self.state);
        match input {
            Input::Fact(fact) => issues::on_fact(rules, globs, state, fact, now, out),
            Input::Observation(Observation::Endpoint(window)) => {
                endpoints::on_window(rules, globs, state, window, now, out)
            }
            Input::Observation(Observation::Hourly(figures)) => {
                endpoints::on_hourly(rules, globs, state, figures, now)
            }
            Input::Observation(Observation::Check(status)) => {
                checks::on_status(rules, globs, state, status, now, out)
            }
        }
    }

    fn advance(
        &mut self,
        only: Option<&std::collections::BTreeSet<(String, String)>>,
        now: UnixNanos,
        out: &mut Outbox,
    ) {
        let (rules, index) = (&self.rules, &self.index);
        let rule_of = |id: &str| index.get(id).and_then(|i| rules.get(*i));
        self.state.alerts.advance(rule_of, only, (&self.state.mutes, &self.globs), now, out);
    }

    /// Resolves alerts whose rule is gone or changed kind.
    fn clear_orphans(&mut self, now: UnixNanos, out: &mut Outbox) {
        let orphans: Vec<(String, String)> = self
            .state
            .alerts
            .current()
            .filter(|t| self.rule(&t.alert.rule_id).is_none_or(|r| r.kind() != t.kind))
            .map(|t| (t.alert.rule_id.clone(), t.alert.key.clone()))
            .collect();
        for (rule_id, key) in orphans {
            self.state.alerts.annotate(&rule_id, &key, "The rule was removed or changed.");
            self.state.alerts.clear(&rule_id, &key, None, now, out);
        }
    }

    fn clear_stale(&mut self, now: UnixNanos, out: &mut Outbox) {
        let mut stale = Vec::new();
        for rule in &self.rules {
            let Some(limit) = stale_after(rule) else {
                continue;
            };
            let Some(alerts) = self.state.alerts.by_rule.get(rule.id()) else {
                continue;
            };
            for (key, tracked) in alerts {
                if now.saturating_sub(tracked.last_seen) >= limit {
                    stale.push((rule.id().to_string(), key.clone(), limit));
                }
            }
        }
        for (rule_id, key, limit) in stale {
            let quiet = text::duration(Duration::from_nanos(u64::try_from(limit).unwrap_or(0)));
            let note = format!("No data for {quiet}: not enough traffic or reports to judge.");
            self.state.alerts.annotate(&rule_id, &key, &note);
            self.state.alerts.clear(&rule_id, &key, None, now, out);
        }
    }

    fn finish(&self, out: Outbox, now: UnixNanos) -> Vec<Notification> {
        notifications::group(out.changes, |id| self.rule_index(id), now)
    }
}
