//! Scheduled digests: `[[alerts.digests]]` sends a report through a
//! channel daily, weekly (Mondays) or every given interval.
//!
//! The schedule is a series of slots (09:00 UTC every day, …). The last
//! slot sent is saved in the store, so a restart neither repeats nor skips
//! one: when the server was down at a slot it sends once, for the latest
//! slot missed, as soon as it is back. A digest seen for the first time
//! sends nothing at start; its first report goes out at its next slot.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use faultline_alert::notify::report::{check_report_target, deliver_report, ReportMessage};
use faultline_alert::notify::{Channel, DeliveryPolicy};
use faultline_model::UnixNanos;
use serde::{Deserialize, Serialize};

use super::Alerting;
use crate::report::count;
use faultline_model::now_nanos;

const SECOND: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * SECOND;
/// 1970-01-01 was a Thursday: the first Monday is 4 days later.
const FIRST_MONDAY: i64 = 4 * DAY;
/// The shortest `every:` interval, so a typo cannot flood a channel.
const MIN_EVERY: Duration = Duration::from_secs(5);
/// How often due-ness is checked: far below any period, and cheap.
const TICK: Duration = Duration::from_secs(1);
const STATE_VERSION: u32 = 1;

/// One `[[alerts.digests]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// Id of a webhook, Slack or email channel in `[[alerts.channels]]`.
    pub channel: String,
    /// `daily`, `weekly` (on Mondays) or `every:<duration>` (`every:10s`,
    /// `every:6h`: for short intervals and tests; slots count from the
    /// Unix epoch).
    pub schedule: String,
    /// UTC time of day of daily and weekly digests, `HH:MM`; 09:00 if unset.
    #[serde(default)]
    pub at: Option<String>,
    /// Length of the reported period; the schedule's period if unset.
    #[serde(default)]
    pub since: Option<String>,
}

/// A digest's schedule, parsed: slots at `offset + k * period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub name: &'static str,
    pub period: i64,
    pub offset: i64,
    /// What each report covers, ending at its slot.
    pub since: Duration,
}

/// What a digest should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing sent ever: remember the latest slot, send from the next one.
    Baseline(UnixNanos),
    /// Send the report ending at this slot.
    Send(UnixNanos),
    Wait,
}

impl DigestConfig {
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let at = self.at.as_deref();
        let (name, period, offset) = match self.schedule.trim() {
            "daily" => ("daily", DAY, time_of_day(at.unwrap_or("09:00"))?),
            "weekly" => ("weekly", 7 * DAY, FIRST_MONDAY + time_of_day(at.unwrap_or("09:00"))?),
            other => {
                let Some(every) = other.strip_prefix("every:") else {
                    bail!("schedule {other:?}: use daily, weekly or every:<duration> like every:1h");
                };
                if at.is_some() {
                    bail!("`at` applies to daily and weekly schedules, not {other:?}");
                }
                let every = humantime::parse_duration(every.trim())
                    .with_context(|| format!("schedule {other:?}: not a duration"))?;
                if every < MIN_EVERY {
                    bail!("schedule {other:?}: the interval must be at least {MIN_EVERY:?}");
                }
                ("scheduled", nanos(every), 0)
            }
        };
        let since = match &self.since {
            Some(text) => {
                let since = humantime::parse_duration(text.trim())
                    .with_context(|| format!("since {text:?}: not a duration like 24h"))?;
                if since.is_zero() || since > crate::report::MAX_SINCE {
                    bail!("since {text:?}: must be between 1s and 366d");
                }
                since
            }
            None => Duration::from_nanos(u64::try_from(period).unwrap_or(0)),
        };
        Ok(Plan { name, period, offset, since })
    }

    /// Where the last slot sent is saved: changing the channel, schedule or
    /// time makes a new digest.
    fn state_key(&self) -> String {
        format!(
            "report-digest:{}:{}:{}",
            self.channel,
            self.schedule.trim(),
            self.at.as_deref().unwrap_or("")
        )
    }
}

impl Plan {
    /// The latest slot at or before `now`.
    pub fn latest_slot(&self, now: UnixNanos) -> UnixNanos {
        self.offset + (now - self.offset).div_euclid(self.period) * self.period
    }

    pub fn due(&self, last_sent: Option<UnixNanos>, now: UnixNanos) -> Due {
        let slot = self.latest_slot(now);
        match last_sent {
            None => Due::Baseline(slot),
            Some(last) if slot > last => Due::Send(slot),
            Some(_) => Due::Wait,
        }
    }
}

/// `09:00` as nanoseconds after midnight.
fn time_of_day(text: &str) -> anyhow::Result<i64> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m) && text.len() == 5).then_some((h, m))
    });
    match parsed {
        Some((h, m)) => Ok((h * 3600 + m * 60) * SECOND),
        None => bail!("at {text:?}: use a UTC time of day like 09:00"),
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Checks every digest against the configured channels: the channel exists
/// and takes reports, the schedule parses, no digest is listed twice.
pub fn validate(digests: &[DigestConfig], channels: &[Channel]) -> anyhow::Result<()> {
    let mut keys = std::collections::HashSet::new();
    for digest in digests {
        let context = || format!("digest for channel {:?}", digest.channel);
        digest.plan().with_context(context)?;
        let Some(channel) = channels.iter().find(|c| c.id == digest.channel) else {
            bail!("{}: no such channel in [[alerts.channels]]", context());
        };
        check_report_target(channel).with_context(context)?;
        if !keys.insert(digest.state_key()) {
            bail!("{}: listed twice with the same schedule", context());
        }
    }
    Ok(())
}

/// What is saved per digest.
#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    version: u32,
    #[serde(with = "faultline_model::rfc3339")]
    last_slot: UnixNanos,
}

/// Starts one task per digest. Plans were validated with the config.
pub fn start(alerting: &Arc<Alerting>, digests: Vec<DigestConfig>) {
    for digest in digests {
        match digest.plan() {
            Ok(plan) => {
                tokio::spawn(run(alerting.clone(), digest, plan));
            }
            Err(e) => tracing::error!(channel = %digest.channel, error = %e, "digest not started"),
        }
    }
}

async fn run(alerting: Arc<Alerting>, digest: DigestConfig, plan: Plan) {
    let key = digest.state_key();
    let mut last = load(&alerting, &key).await;
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_leading = alerting.is_leading();
    loop {
        interval.tick().await;
        // With several nodes, only the alert leader sends digests; one
        // that just took over reads what its predecessor last sent.
        let leading = alerting.is_leading();
        if !leading {
            was_leading = false;
            continue;
        }
        if !was_leading {
            last = load(&alerting, &key).await;
            was_leading = true;
        }
        match plan.due(last, now_nanos()) {
            Due::Wait => continue,
            Due::Baseline(slot) => {
                last = Some(slot);
                save(&alerting, &key, slot).await;
            }
            Due::Send(slot) => {
                // Marked sent before it is sent, as the leader's
                // notifications are claimed: a stop between sending and
                // saving would otherwise send the slot again after the
                // restart. A stop in between loses this one digest instead.
                // Marked sent even when delivery fails: every attempt is in
                // the delivery history, and retrying a digest until the next
                // one is due would repeat it there.
                last = Some(slot);
                save(&alerting, &key, slot).await;
                send(&alerting, &digest, &plan, slot).await;
            }
        }
    }
}

async fn load(alerting: &Arc<Alerting>, key: &str) -> Option<UnixNanos> {
    let (me, key) = (alerting.clone(), key.to_string());
    let stored = tokio::task::spawn_blocking(move || me.storage().state(&key)).await;
    match stored {
        Ok(Ok(Some(bytes))) => match serde_json::from_slice::<SavedState>(&bytes) {
            Ok(state) => Some(state.last_slot),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable digest state; starting the schedule afresh");
                None
            }
        },
        Ok(Ok(None)) => None,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot read digest state; starting the schedule afresh");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "digest state task failed");
            None
        }
    }
}

async fn save(alerting: &Arc<Alerting>, key: &str, slot: UnixNanos) {
    let state = SavedState { version: STATE_VERSION, last_slot: slot };
    let Ok(bytes) = serde_json::to_vec(&state) else { return };
    // Awaited: once saved, a restart will not send this slot again.
    let saved = match alerting.storage().put_state(key, bytes) {
        Ok(answer) => answer.await.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = saved {
        tracing::warn!(digest = %key, error = %e, "digest state not saved; a restart may send it again");
    }
}

async fn send(alerting: &Arc<Alerting>, digest: &DigestConfig, plan: &Plan, slot: UnixNanos) {
    let Some(channel) = alerting.channel(&digest.channel) else {
        tracing::warn!(channel = %digest.channel, "digest channel no longer exists; report not sent");
        return;
    };
    let me = alerting.clone();
    let since = plan.since;
    let built = tokio::task::spawn_blocking(move || {
        crate::report::build(me.storage(), me.checks(), slot, since).map(|mut report| {
            report.link_to(me.public_url());
            report
        })
    })
    .await;
    let report = match built {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return tracing::error!(channel = %digest.channel, error = %e, "digest report failed"),
        Err(e) => return tracing::error!(channel = %digest.channel, error = %e, "digest report task failed"),
    };
    let message = ReportMessage {
        id: format!("digest-{}-{}", digest.channel, slot.div_euclid(SECOND)),
        subject: subject(plan.name, &report),
        text: crate::report::render_text(&report),
        json: serde_json::to_value(&report).unwrap_or_default(),
        created_at: slot,
    };
    let policy = DeliveryPolicy::default();
    if let Err(e) = deliver_report(&channel, &message, &policy, |a| alerting.record(a)).await {
        tracing::warn!(channel = %digest.channel, digest = %message.id, error = %e, "digest delivery failed");
    }
}

/// `Faultline daily report: 3 new issues, 1,234 error events`.
fn subject(name: &str, report: &crate::report::Report) -> String {
    let issues = match report.summary.new_groups {
        1 => "1 new issue".to_string(),
        n => format!("{} new issues", count(n as u64)),
    };
    format!("Faultline {name} report: {issues}, {} error events", count(report.summary.events))
}

#[cfg(test)]
mod tests;
