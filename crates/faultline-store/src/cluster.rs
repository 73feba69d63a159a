//! What several nodes sharing one store need to run alerting on exactly
//! one of them: a lease naming the leader, the alert facts every node's
//! ingest leaves for the leader, and notifications claimed once across
//! nodes.
//!
//! The defaults fit an engine only one process can open (the embedded one
//! holds its data directory's lock): that process always leads, and its
//! facts go to the alert engine in memory, so the queue here stays empty.
//! An engine several nodes share ([`ClusterStore::shared`]) overrides all
//! of it.

use std::time::Duration;

use faultline_model::{ErrorEvent, UnixNanos};

use crate::api::Ack;
use crate::{Error, Result};

/// What a fact says happened to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertFactKind {
    /// An event of an existing group.
    Event,
    /// The event made its group.
    NewGroup,
    /// The event reopened its resolved group.
    Regression,
    /// A person resolved, ignored or merged away the group.
    GroupResolved,
}

/// One fact for the alert engine, as queued by the node that committed it.
#[derive(Debug, Clone)]
pub struct AlertFact {
    /// Position in the queue (consumed by [`AlertRound::consumed`]).
    pub id: u64,
    pub kind: AlertFactKind,
    pub group_id: u64,
    /// The group is its service's overflow group.
    pub collapsed: bool,
    /// When it happened (commit or status change time of the node).
    pub at: UnixNanos,
    /// The event, for event kinds (`None` when retention removed it before
    /// the leader read the fact, or for `GroupResolved`).
    pub event: Option<ErrorEvent>,
    /// Title and culprit of the event's grouping.
    pub title: String,
    pub culprit: String,
}

/// A notification for one channel, claimed under `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingNotification {
    /// Deterministic per alert transition and channel: the same
    /// transition derived again (by another leader after a failover)
    /// gets the same key and is not sent again.
    pub key: String,
    /// The message as the alerting layer serialized it.
    pub body: Vec<u8>,
}

/// The outcome of one evaluation by the leader, written in one transaction
/// so a leader dying at any point leaves either all of it or none: the
/// facts it consumed, the engine state after them, and the notifications
/// that evaluation produced (to be sent).
#[derive(Debug, Clone, Default)]
pub struct AlertRound {
    pub consumed: Vec<u64>,
    /// (name, bytes) as [`crate::AlertStore::put_state`] takes them.
    pub state: Option<(String, Vec<u8>)>,
    pub notifications: Vec<OutgoingNotification>,
}

/// Where a claimed notification is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationState {
    /// Claimed; no attempt started. A new leader sends it.
    Pending,
    /// An attempt started. A leader that died now leaves its outcome
    /// unknown: it is not sent again (never twice), only reported.
    Sending,
    /// Delivered or given up after retries.
    Done,
    /// Found `Sending` by a new leader.
    Unknown,
}

impl NotificationState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Pending => "pending",
            NotificationState::Sending => "sending",
            NotificationState::Done => "done",
            NotificationState::Unknown => "unknown",
        }
    }
}

/// Leadership and the alert work shared by nodes.
pub trait ClusterStore: Send + Sync {
    /// Whether other processes may use the same store at once.
    fn shared(&self) -> bool {
        false
    }

    /// Acquires or renews lease `role` for `node` for `ttl` (by the
    /// store's clock); true while `node` holds it.
    fn try_lead(&self, _role: &str, _node: &str, _ttl: Duration) -> Result<bool> {
        Ok(true)
    }

    /// Gives the lease up at once (an orderly stop), so another node
    /// takes over without waiting for it to expire.
    fn resign(&self, _role: &str, _node: &str) -> Result<()> {
        Ok(())
    }

    /// Queues "group resolved" for the leader. A shared engine's status
    /// changes and merges queue it themselves, in their own transaction.
    fn queue_group_resolved(&self, _group_id: u64, _at: UnixNanos) -> Result<Ack<()>> {
        Err(Error::Unsupported("a fact queue (this store is not shared)".into()))
    }

    /// The oldest queued facts, at most `limit`, in queue order.
    fn alert_facts(&self, _limit: usize) -> Result<Vec<AlertFact>> {
        Ok(Vec::new())
    }

    /// Writes one evaluation's outcome if `node` still holds lease `role`
    /// (answers `None`, writing nothing, if it does not); answers the keys
    /// of the notifications it claimed, those no node claimed before.
    fn commit_alert_round(
        &self,
        _role: &str,
        _node: &str,
        _round: AlertRound,
    ) -> Result<Ack<Option<Vec<String>>>> {
        Err(Error::Unsupported("alert rounds (this store is not shared)".into()))
    }

    /// Moves a claimed notification on.
    fn set_notification_state(&self, _key: &str, _state: NotificationState) -> Result<Ack<()>> {
        Err(Error::Unsupported("notification claims (this store is not shared)".into()))
    }

    /// Claimed notifications in `state`, oldest first: (key, body).
    fn notifications_in(&self, _state: NotificationState) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(Vec::new())
    }

    /// Forgets finished claims (done or unknown) older than `age`: a
    /// transition is derived again only around a failover, seconds after
    /// the first time. Answers how many went.
    fn prune_notifications(&self, _age: Duration) -> Result<u64> {
        Ok(0)
    }
}
