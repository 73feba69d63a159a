//! Alerting and checks when several nodes share the store: they run on
//! one node at a time, the holder of the store's `alerting` lease.
//!
//! A thread per node renews or tries to take the lease every quarter of
//! its length ([`AlertsConfig::leader_lease`](super::AlertsConfig), 10 s
//! by default). The node that holds it:
//! - on taking it, loads the engine state the previous leader saved,
//!   rebuilds the checks' states from their stored runs, starts running
//!   the checks, and sends the notifications its predecessor claimed but
//!   never started to send;
//! - reads the facts every node's ingest queued in the store (in the
//!   commit of their events) and feeds them to the engine; every few
//!   seconds evaluates health, checks and anomalies;
//! - writes each evaluation's outcome in one transaction, fenced by the
//!   lease: the facts consumed, the engine state, and the notifications
//!   claimed by a key per alert transition and channel
//!   (`<notification id>/<channel>`, the id being a hash of the
//!   transitions). A transition derived twice (by two leaders around a
//!   failover) has one key and is claimed once, so it is sent once.
//!
//! A claimed notification is marked `sending` (durably) before its first
//! attempt and `done` after the last. A new leader sends the `pending`
//! ones; one found `sending` may or may not have reached its channel (the
//! leader died during the request): it is not sent again — never twice —
//! and is logged and marked `unknown`. Receivers that want to close that
//! gap themselves get the notification's id (stable) in every message.
//!
//! A node stops acting as leader a quarter of the lease before its lease
//! could expire without renewal, so two nodes never evaluate at once
//! unless a node stalls for longer than that; even then the fence and the
//! claims keep notifications single.
//!
//! Silences and snoozes made on any node are applied to one saved list
//! (`MUTES_KEY`, read-modify-written by `update_states`, so changes on two
//! nodes at once are all kept) and taken by the leader at its next tick.
//!
//! The other nodes keep the engine's saved state, the rules, channels and
//! checks created through any node's API and the checks' stored runs
//! loaded (refreshed at each renewal), so their API shows the leader's
//! alerts and check states; the leader picks up rules, channels and checks
//! changed elsewhere at each tick.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_alert::engine::{Engine, EngineState, Fact, Input, Silence, Snooze};
use faultline_alert::Notification;
use faultline_model::now_nanos;
use faultline_store::{
    AlertFact, AlertFactKind, AlertRound, NotificationState, OutgoingNotification, Storage,
};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use super::{titled_issue_event, Alerting, STATE_KEY, TICK};

/// The lease's name in the store.
pub const ROLE: &str = "alerting";
/// How long a lease lasts without renewal when the config says nothing.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// How often the leader looks for new facts.
const POLL: Duration = Duration::from_millis(200);
/// Facts evaluated and committed together.
const FACTS_PER_ROUND: usize = 1000;
/// How long finished notification claims are kept, and how often the
/// leader forgets older ones.
const CLAIMS_KEPT: Duration = Duration::from_secs(24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Where any node saves its silences and snoozes after a change to them.
pub const MUTES_KEY: &str = "alert-mutes-shared";

/// Silences and snoozes as the nodes changed them.
#[derive(Debug, Serialize, Deserialize)]
pub struct SharedMutes {
    pub silences: Vec<Silence>,
    pub snoozes: Vec<Snooze>,
}

/// One change to the shared silences and snoozes.
pub enum MuteChange {
    AddSilence(Silence),
    RemoveSilence(String),
    Snooze(Snooze),
}

/// Applies `change` to the saved silences and snoozes (`mine`, this
/// node's, when none are saved yet), rerun on the newer list when another
/// node saved in between. Blocking.
pub fn share_mute_change(storage: &Storage, mine: SharedMutes, change: MuteChange) -> anyhow::Result<()> {
    let mut failure = None;
    storage.update_states(&[MUTES_KEY], &mut |stored| {
        let mut mutes = match stored.first().cloned().flatten() {
            Some(bytes) => match serde_json::from_slice::<SharedMutes>(&bytes) {
                Ok(mutes) => mutes,
                Err(e) => {
                    failure = Some(anyhow::anyhow!("stored silences unreadable: {e}"));
                    return None;
                }
            },
            None => SharedMutes { silences: mine.silences.clone(), snoozes: mine.snoozes.clone() },
        };
        // Ended ones go, as the engine drops them.
        let now = now_nanos();
        mutes.silences.retain(|s| s.ends_at > now);
        mutes.snoozes.retain(|s| s.until > now);
        match &change {
            MuteChange::AddSilence(silence) => {
                mutes.silences.retain(|s| s.id != silence.id);
                mutes.silences.push(silence.clone());
            }
            MuteChange::RemoveSilence(id) => mutes.silences.retain(|s| &s.id != id),
            MuteChange::Snooze(snooze) => {
                mutes.snoozes.retain(|s| s.group_id != snooze.group_id);
                mutes.snoozes.push(*snooze);
            }
        }
        match serde_json::to_vec(&mutes) {
            Ok(bytes) => Some(vec![bytes]),
            Err(e) => {
                failure = Some(e.into());
                None
            }
        }
    })?;
    failure.map_or(Ok(()), Err)
}

/// Makes the engine's silences and snoozes those saved by the nodes.
fn apply_shared_mutes(alerting: &Alerting) -> anyhow::Result<()> {
    let Some(bytes) = alerting.storage.state(MUTES_KEY)? else { return Ok(()) };
    let shared: SharedMutes = serde_json::from_slice(&bytes)?;
    let mut engine = alerting.engine();
    let mut have = engine.silences();
    have.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = shared.silences;
    want.sort_by(|a, b| a.id.cmp(&b.id));
    if have != want {
        for silence in &have {
            if !want.iter().any(|w| w.id == silence.id) {
                engine.remove_silence(&silence.id);
            }
        }
        for silence in want {
            if let Err(e) = engine.add_silence(silence) {
                tracing::warn!(error = %e, "a shared silence was not taken");
            }
        }
    }
    let mut have = engine.snoozes();
    have.sort_by_key(|s| s.group_id);
    let mut want = shared.snoozes;
    want.sort_by_key(|s| s.group_id);
    if have != want {
        for snooze in &have {
            engine.unsnooze(snooze.group_id);
        }
        for snooze in want {
            engine.snooze(snooze);
        }
    }
    Ok(())
}

/// This node's part in leadership.
pub struct Cluster {
    /// Unique per process: host, pid and start time.
    pub node: String,
    lease: Duration,
    leading: AtomicBool,
    stop: AtomicBool,
    /// Answers once the leadership thread has stepped down and resigned.
    stopped: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    /// Claimed notifications this node is sending now.
    inflight: Mutex<HashSet<String>>,
}

impl Cluster {
    pub fn new(lease: Option<Duration>) -> Cluster {
        Cluster {
            node: node_name(),
            lease: lease.unwrap_or(DEFAULT_LEASE).max(Duration::from_millis(400)),
            leading: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            stopped: Mutex::new(None),
            inflight: Mutex::new(HashSet::new()),
        }
    }

    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    fn renew_every(&self) -> Duration {
        self.lease / 4
    }
}

fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{}-{:x}", std::process::id(), now_nanos())
}

/// A claimed notification as stored: the message and the channel it is for.
#[derive(Serialize, Deserialize)]
struct Claimed {
    channel: String,
    notification: Notification,
}

/// Starts the leadership thread (store calls block; deliveries run on `runtime`).
pub fn start(alerting: &Arc<Alerting>) -> anyhow::Result<()> {
    let Some(cluster) = &alerting.cluster else { return Ok(()) };
    let (done, stopped) = std::sync::mpsc::channel();
    *cluster.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(stopped);
    let (me, runtime) = (alerting.clone(), Handle::current());
    tracing::info!(node = %cluster.node, lease_ms = cluster.lease.as_millis() as u64, "alerting and checks run on the node holding the lease");
    std::thread::Builder::new().name("alert-leader".into()).spawn(move || {
        run(&me, &runtime);
        let _ = done.send(());
    })?;
    Ok(())
}

/// Steps down and gives the lease up (an orderly stop: another node takes
/// over at its next renewal instead of after the lease expires).
pub async fn shutdown(alerting: &Alerting) {
    let Some(cluster) = &alerting.cluster else { return };
    cluster.stop.store(true, Ordering::SeqCst);
    let stopped = cluster.stopped.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(stopped) = stopped {
        let _ = tokio::task::spawn_blocking(move || stopped.recv_timeout(Duration::from_secs(5))).await;
    }
}

fn run(alerting: &Arc<Alerting>, runtime: &Handle) {
    let Some(cluster) = &alerting.cluster else { return };
    let renew_every = cluster.renew_every();
    let mut renewed_at: Option<Instant> = None;
    let mut next_renew = Instant::now();
    let mut next_tick = Instant::now();
    let mut next_prune = Instant::now();
    while !cluster.stop.load(Ordering::SeqCst) {
        if Instant::now() >= next_renew {
            let asked = Instant::now();
            match alerting.storage.try_lead(ROLE, &cluster.node, cluster.lease) {
                Ok(true) => renewed_at = Some(asked),
                Ok(false) => renewed_at = None,
                Err(e) => tracing::warn!(error = %e, "cannot renew the alert leader's lease"),
            }
            next_renew = asked + renew_every;
            if !cluster.leading() {
                refresh_standby(alerting);
            }
        }
        // Acting stops a margin before the lease could lapse in the store.
        let holds = renewed_at.is_some_and(|at| at.elapsed() + renew_every < cluster.lease);
        if holds && !cluster.leading() {
            match gain(alerting, runtime) {
                Ok(()) => {
                    cluster.leading.store(true, Ordering::SeqCst);
                    next_tick = Instant::now();
                    tracing::info!(node = %cluster.node, "this node now leads alerting and checks");
                }
                Err(e) => tracing::error!(error = %e, "cannot take over alerting"),
            }
        } else if !holds && cluster.leading() {
            step_down(alerting);
        }
        if cluster.leading() {
            let mut rounds = 0;
            loop {
                rounds += 1;
                match facts_round(alerting, runtime) {
                    Ok(more) if more && rounds < 10 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        lost_round(alerting, &e);
                        next_renew = Instant::now();
                        break;
                    }
                }
            }
            if cluster.leading() && Instant::now() >= next_prune {
                next_prune = Instant::now() + PRUNE_EVERY;
                match alerting.storage.prune_notifications(CLAIMS_KEPT) {
                    Ok(pruned) => tracing::debug!(pruned, "old notification claims forgotten"),
                    Err(e) => tracing::warn!(error = %e, "old notification claims not pruned"),
                }
            }
            if cluster.leading() && Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                if let Err(e) = tick_round(alerting, runtime) {
                    lost_round(alerting, &e);
                    next_renew = Instant::now();
                }
            }
        }
        std::thread::sleep(POLL);
    }
    if cluster.leading() {
        step_down(alerting);
    }
    if let Err(e) = alerting.storage.resign(ROLE, &cluster.node) {
        tracing::warn!(error = %e, "alert leader's lease not given up; it expires by itself");
    }
}

/// Leadership taken: the predecessor's state, checks, and its claimed
/// notifications never started.
fn gain(alerting: &Arc<Alerting>, runtime: &Handle) -> anyhow::Result<()> {
    alerting.sync_admin()?;
    restore_engine(alerting)?;
    apply_shared_mutes(alerting)?;
    *alerting.hourly_fed.lock().unwrap_or_else(|p| p.into_inner()) = None;
    alerting.checks.set_active(true)?;
    for (key, _) in alerting.storage.notifications_in(NotificationState::Sending)? {
        tracing::warn!(notification = %key, "the previous leader stopped while sending this notification; not sent again");
        wait(alerting.storage.set_notification_state(&key, NotificationState::Unknown)?)?;
    }
    send_pending(alerting, runtime)
}

fn step_down(alerting: &Arc<Alerting>) {
    let Some(cluster) = &alerting.cluster else { return };
    cluster.leading.store(false, Ordering::SeqCst);
    if let Err(e) = alerting.checks.set_active(false) {
        tracing::error!(error = %e, "checks not stopped cleanly");
    }
    tracing::warn!(node = %cluster.node, "this node no longer leads alerting and checks");
}

/// A round was not written (store error, or the lease was lost): the
/// engine in memory ran ahead of the store, so it goes back to the saved
/// state; its facts are still queued.
fn lost_round(alerting: &Arc<Alerting>, error: &anyhow::Error) {
    tracing::warn!(error = %error, "alert evaluation not written; reloading the saved state");
    if let Err(e) = restore_engine(alerting) {
        tracing::error!(error = %e, "cannot reload the alert engine's state");
    }
}

/// What a node that does not lead shows: the leader's saved alerts and
/// the checks' stored runs.
fn refresh_standby(alerting: &Arc<Alerting>) {
    let refreshed = alerting
        .sync_admin()
        .and_then(|()| restore_engine(alerting))
        .and_then(|()| apply_shared_mutes(alerting))
        .and_then(|()| alerting.checks.sync_definitions())
        .and_then(|()| alerting.checks.reload_live());
    if let Err(e) = refreshed {
        tracing::warn!(error = %e, "cannot refresh alerts and checks from the store");
    }
}

fn restore_engine(alerting: &Alerting) -> anyhow::Result<()> {
    let rules = alerting.engine().rules().to_vec();
    let saved =
        alerting.storage.state(STATE_KEY)?.and_then(|b| serde_json::from_slice::<EngineState>(&b).ok());
    let engine = match saved {
        Some(state) => Engine::restore(rules, state)?,
        None => Engine::new(rules)?,
    };
    *alerting.engine() = engine;
    Ok(())
}

/// Evaluates queued facts; true when more may be waiting.
fn facts_round(alerting: &Arc<Alerting>, runtime: &Handle) -> anyhow::Result<bool> {
    let facts = alerting.storage.alert_facts(FACTS_PER_ROUND)?;
    if facts.is_empty() {
        return Ok(false);
    }
    let more = facts.len() == FACTS_PER_ROUND;
    let consumed: Vec<u64> = facts.iter().map(|f| f.id).collect();
    let inputs: Vec<Input> = facts.into_iter().filter_map(input_of).collect();
    let now = now_nanos();
    let (notifications, state) = {
        let mut engine = alerting.engine();
        let notifications = engine.observe_all(inputs, now);
        (notifications, serde_json::to_vec(&engine.state())?)
    };
    commit(alerting, runtime, consumed, state, notifications)?;
    Ok(more)
}

/// Health, checks and anomalies, and the claimed notifications a failed
/// start left pending.
fn tick_round(alerting: &Arc<Alerting>, runtime: &Handle) -> anyhow::Result<()> {
    // Rules, channels and checks changed through another node's API.
    alerting.sync_admin()?;
    apply_shared_mutes(alerting)?;
    alerting.checks.sync_definitions()?;
    let (notifications, state) = alerting.evaluate_unsaved(now_nanos())?;
    commit(alerting, runtime, Vec::new(), state, notifications)?;
    send_pending(alerting, runtime)
}

fn input_of(fact: AlertFact) -> Option<Input> {
    if fact.kind == AlertFactKind::GroupResolved {
        return Some(Input::from(Fact::GroupResolved { group_id: fact.group_id, at: fact.at }));
    }
    let Some(event) = &fact.event else {
        tracing::debug!(fact = fact.id, "alert fact's event is gone (retention); skipped");
        return None;
    };
    let mut issue_event = titled_issue_event(event, &fact.title, &fact.culprit);
    issue_event.issue.group_id = fact.group_id;
    if fact.collapsed {
        issue_event.issue.title = faultline_store::OVERFLOW_TITLE.to_string();
        issue_event.issue.culprit = String::new();
    }
    Some(Input::from(match fact.kind {
        AlertFactKind::NewGroup => Fact::NewGroup(issue_event),
        AlertFactKind::Regression => Fact::Regression(issue_event),
        _ => Fact::GroupEvent(issue_event),
    }))
}

/// Writes one evaluation (fenced by the lease) and sends what it claimed.
fn commit(
    alerting: &Arc<Alerting>,
    runtime: &Handle,
    consumed: Vec<u64>,
    state: Vec<u8>,
    notifications: Vec<Notification>,
) -> anyhow::Result<()> {
    let Some(cluster) = &alerting.cluster else { return Ok(()) };
    let mut outgoing = Vec::new();
    for mut notification in notifications {
        alerting.add_links(&mut notification);
        let channels = alerting.engine().channels(&notification.rule_id).to_vec();
        for channel in channels {
            let key = format!("{}/{channel}", notification.id);
            let body = serde_json::to_vec(&Claimed { channel, notification: notification.clone() })?;
            outgoing.push(OutgoingNotification { key, body });
        }
    }
    let bodies: HashMap<String, Vec<u8>> = outgoing.iter().map(|n| (n.key.clone(), n.body.clone())).collect();
    let round = AlertRound { consumed, state: Some((STATE_KEY.to_string(), state)), notifications: outgoing };
    let claimed = wait(alerting.storage.commit_alert_round(ROLE, &cluster.node, round)?)?
        .ok_or_else(|| anyhow::anyhow!("this node no longer holds the alert leader's lease"))?;
    let skipped = bodies.len() - claimed.len();
    if skipped > 0 {
        tracing::info!(skipped, "notifications already claimed by an earlier leader; not sent again");
    }
    for key in claimed {
        if let Some(body) = bodies.get(&key) {
            send_claimed(alerting, runtime, key, body);
        }
    }
    Ok(())
}

fn send_pending(alerting: &Arc<Alerting>, runtime: &Handle) -> anyhow::Result<()> {
    for (key, body) in alerting.storage.notifications_in(NotificationState::Pending)? {
        send_claimed(alerting, runtime, key, &body);
    }
    Ok(())
}

/// Sends a claimed notification unless this node is sending it already:
/// marked `sending` before the first attempt, `done` after the last.
fn send_claimed(alerting: &Arc<Alerting>, runtime: &Handle, key: String, body: &[u8]) {
    let Some(cluster) = &alerting.cluster else { return };
    if !cluster.inflight.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
        return;
    }
    let me = alerting.clone();
    let claimed = serde_json::from_slice::<Claimed>(body);
    runtime.spawn(async move {
        deliver_claimed(&me, &key, claimed).await;
        if let Some(cluster) = &me.cluster {
            cluster.inflight.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        }
    });
}

async fn deliver_claimed(alerting: &Alerting, key: &str, claimed: serde_json::Result<Claimed>) {
    let claimed = match claimed {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::error!(notification = %key, error = %e, "unreadable claimed notification; dropped");
            let _ = mark(alerting, key, NotificationState::Done).await;
            return;
        }
    };
    let Some(channel) = alerting.channel(&claimed.channel) else {
        tracing::warn!(notification = %key, channel = %claimed.channel, "channel no longer exists; notification dropped");
        let _ = mark(alerting, key, NotificationState::Done).await;
        return;
    };
    if let Err(e) = mark(alerting, key, NotificationState::Sending).await {
        // Not sent now: still pending, so the next evaluation tries again.
        tracing::warn!(notification = %key, error = %e, "cannot mark a notification as sending; retried later");
        return;
    }
    alerting.send(&channel, &claimed.notification).await;
    if let Err(e) = mark(alerting, key, NotificationState::Done).await {
        tracing::warn!(notification = %key, error = %e, "sent notification not marked done");
    }
}

async fn mark(alerting: &Alerting, key: &str, state: NotificationState) -> anyhow::Result<()> {
    alerting.storage.set_notification_state(key, state)?.await??;
    Ok(())
}

/// Waits for a store write's answer on this (non-async) thread.
fn wait<T>(answer: faultline_store::api::Ack<T>) -> anyhow::Result<T> {
    Ok(answer.blocking_recv()??)
}
