//! The single writer. Every change to events and groups goes through one
//! thread that batches whatever requests are waiting into one atomic write
//! followed by one flush (group commit), then answers them all. One writer
//! also means group read-modify-writes never race.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use faultline_model::{ErrorEvent, Group, GroupStatus, Grouping, UnixNanos};
use tokio::sync::oneshot;

use crate::backend::{Backend, Op};
use crate::watermark::Watermark;
use crate::{keys, records, Error, Result};

/// Events of one export, each with the grouping decided for it.
pub type EventBatch = Vec<(ErrorEvent, Grouping)>;

/// What committing one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub group_id: u64,
    /// The event created its group.
    pub new_group: bool,
    /// The event reopened a resolved group.
    pub regression: bool,
}

pub(crate) enum Request {
    Events { events: EventBatch, reply: oneshot::Sender<Result<Vec<Committed>>> },
    SetStatus { id: u64, status: GroupStatus, now: UnixNanos, reply: oneshot::Sender<Result<Group>> },
}

/// The most requests folded into one write; bounds the batch's memory.
const MAX_REQUESTS_PER_COMMIT: usize = 256;

pub(crate) struct Committer {
    backend: Arc<dyn Backend>,
    next_seq: u64,
    next_group_id: u64,
    committed: Arc<Watermark>,
}

impl Committer {
    pub fn new(backend: Arc<dyn Backend>, committed: Arc<Watermark>) -> Result<Committer> {
        let mut c = Committer { backend, next_seq: 1, next_group_id: 1, committed };
        c.reload_counters()?;
        Ok(c)
    }

    /// Reads the next sequence number and group id from what is stored, so
    /// numbering survives restarts and failed writes.
    fn reload_counters(&mut self) -> Result<()> {
        self.next_seq = last_id(&*self.backend, keys::EVENT)?.map_or(1, |s| s + 1);
        self.next_group_id = last_id(&*self.backend, keys::GROUP)?.map_or(1, |g| g + 1);
        self.committed.set(self.next_seq - 1);
        Ok(())
    }

    /// Serves requests until every sender is gone.
    pub fn run(mut self, requests: Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_REQUESTS_PER_COMMIT {
                match requests.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
        tracing::debug!("committer stopped");
    }

    fn commit(&mut self, batch: Vec<Request>) {
        let backend = self.backend.clone();
        let mut txn = Txn::new(&*backend);
        let mut answers = Vec::with_capacity(batch.len());
        for request in batch {
            answers.push(match request {
                Request::Events { events, reply } => {
                    let result = events
                        .into_iter()
                        .map(|(event, grouping)| self.add_event(&mut txn, event, &grouping))
                        .collect::<Result<Vec<_>>>();
                    Answer::Events(reply, result)
                }
                Request::SetStatus { id, status, now, reply } => {
                    Answer::Status(reply, Box::new(set_status(&mut txn, id, status, now)))
                }
            });
        }
        let written = txn.finish().and_then(|ops| {
            self.backend.write(ops)?;
            self.backend.flush()
        });
        match written {
            Ok(()) => {
                self.committed.set(self.next_seq - 1);
                answers.into_iter().for_each(Answer::send);
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; nothing in this batch was acknowledged");
                if let Err(e) = self.reload_counters() {
                    tracing::error!(error = %e, "could not re-read counters after a failed commit");
                }
                let message = e.to_string();
                answers.into_iter().for_each(|a| a.fail(&message));
            }
        }
    }

    fn add_event(&mut self, txn: &mut Txn, mut event: ErrorEvent, grouping: &Grouping) -> Result<Committed> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let (group_id, new_group) = match txn.group_id_for(&grouping.fingerprint)? {
            Some(id) => (id, false),
            None => {
                let id = self.next_group_id;
                self.next_group_id += 1;
                txn.insert_group(new_group(id, &event, grouping));
                (id, true)
            }
        };
        event.seq = seq;
        event.group_id = group_id;
        let group = txn.group_mut(group_id)?;
        let regression = record_occurrence(group, &event);
        txn.ops.push(Op::Put(keys::event(seq), records::encode_event(&event)));
        txn.ops.push(Op::Put(keys::group_event(group_id, seq), Vec::new()));
        Ok(Committed { seq, group_id, new_group, regression })
    }
}

fn new_group(id: u64, event: &ErrorEvent, grouping: &Grouping) -> Group {
    Group {
        id,
        fingerprint: grouping.fingerprint.clone(),
        grouping_version: grouping.version,
        service: event.service.clone(),
        title: grouping.title.clone(),
        culprit: grouping.culprit.clone(),
        exception_type: event.exception_type.clone(),
        first_seen: event.timestamp,
        last_seen: event.timestamp,
        count: 0,
        status: GroupStatus::Unresolved,
        regressed: false,
        regressed_at: None,
        resolved_at: None,
        environments: Vec::new(),
        first_release: event.service_version.clone(),
        last_release: None,
        last_event_seq: 0,
    }
}

/// Counts an event into its group; returns whether it reopened the group.
///
/// Only an event that happened after the resolution reopens it, so a late
/// batch of old events does not turn a fix into a false regression.
fn record_occurrence(group: &mut Group, event: &ErrorEvent) -> bool {
    group.count += 1;
    group.first_seen = group.first_seen.min(event.timestamp);
    group.last_seen = group.last_seen.max(event.timestamp);
    group.last_event_seq = event.seq;
    if let Some(env) = &event.environment {
        if let Err(at) = group.environments.binary_search(env) {
            group.environments.insert(at, env.clone());
        }
    }
    if event.service_version.is_some() {
        group.last_release = event.service_version.clone();
        if group.first_release.is_none() {
            group.first_release = event.service_version.clone();
        }
    }
    let reopens =
        group.status == GroupStatus::Resolved && group.resolved_at.is_none_or(|at| event.timestamp > at);
    if reopens {
        group.status = GroupStatus::Unresolved;
        group.regressed = true;
        group.regressed_at = Some(event.timestamp);
        group.resolved_at = None;
    }
    reopens
}

fn set_status(txn: &mut Txn, id: u64, status: GroupStatus, now: UnixNanos) -> Result<Group> {
    let group = txn.group_mut(id)?;
    if group.status != status {
        group.status = status;
        match status {
            GroupStatus::Resolved => {
                group.resolved_at = Some(now);
                group.regressed = false;
            }
            GroupStatus::Unresolved | GroupStatus::Ignored => group.resolved_at = None,
        }
    }
    Ok(group.clone())
}

enum Answer {
    Events(oneshot::Sender<Result<Vec<Committed>>>, Result<Vec<Committed>>),
    Status(oneshot::Sender<Result<Group>>, Box<Result<Group>>),
}

impl Answer {
    fn send(self) {
        // A requester that stopped waiting (client gone) is not an error.
        match self {
            Answer::Events(reply, r) => drop(reply.send(r)),
            Answer::Status(reply, r) => drop(reply.send(*r)),
        }
    }

    fn fail(self, message: &str) {
        let err = || Error::Corrupt(format!("commit failed: {message}"));
        match self {
            Answer::Events(reply, _) => drop(reply.send(Err(err()))),
            Answer::Status(reply, _) => drop(reply.send(Err(err()))),
        }
    }
}

/// The changes of one group commit, with the groups it touched cached so
/// many events of one group cost one read and one write.
struct Txn<'a> {
    backend: &'a dyn Backend,
    groups: HashMap<u64, Group>,
    fingerprints: HashMap<String, u64>,
    new_fingerprints: Vec<String>,
    ops: Vec<Op>,
}

impl<'a> Txn<'a> {
    fn new(backend: &'a dyn Backend) -> Txn<'a> {
        Txn {
            backend,
            groups: HashMap::new(),
            fingerprints: HashMap::new(),
            new_fingerprints: Vec::new(),
            ops: Vec::new(),
        }
    }

    fn group_id_for(&mut self, fingerprint: &str) -> Result<Option<u64>> {
        if let Some(id) = self.fingerprints.get(fingerprint) {
            return Ok(Some(*id));
        }
        let stored = self.backend.get(&keys::fingerprint(fingerprint))?;
        let id = stored.and_then(|v| keys::u64_at(&v, 0));
        if let Some(id) = id {
            self.fingerprints.insert(fingerprint.to_string(), id);
        }
        Ok(id)
    }

    fn insert_group(&mut self, group: Group) {
        self.fingerprints.insert(group.fingerprint.clone(), group.id);
        self.new_fingerprints.push(group.fingerprint.clone());
        self.groups.insert(group.id, group);
    }

    fn group_mut(&mut self, id: u64) -> Result<&mut Group> {
        if !self.groups.contains_key(&id) {
            let bytes = self.backend.get(&keys::group(id))?.ok_or(Error::GroupNotFound(id))?;
            self.groups.insert(id, records::decode_group(&bytes)?);
        }
        self.groups.get_mut(&id).ok_or(Error::GroupNotFound(id))
    }

    fn finish(mut self) -> Result<Vec<Op>> {
        for fp in &self.new_fingerprints {
            if let Some(id) = self.fingerprints.get(fp) {
                self.ops.push(Op::Put(keys::fingerprint(fp), id.to_be_bytes().to_vec()));
            }
        }
        for group in self.groups.values() {
            self.ops.push(Op::Put(keys::group(group.id), records::encode_group(group)));
        }
        Ok(self.ops)
    }
}

/// The highest id stored under a one-byte kind prefix.
pub(crate) fn last_id(backend: &dyn Backend, kind: u8) -> Result<Option<u64>> {
    let start = [kind];
    let end = [kind + 1];
    match backend.scan(&start, &end, true).next() {
        Some(entry) => Ok(keys::u64_at(&entry?.0, 1)),
        None => Ok(None),
    }
}
