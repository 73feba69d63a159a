//! The embedded engine's events, groups, search and admin.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use faultline_model::{ErrorEvent, Group, StatusChange, UnixNanos};
use tokio::sync::oneshot;

use super::Embedded;
use crate::api::{Ack, EventNeighbors, EventStore, GroupStore, SearchStore, StoreAdmin};
use crate::committer::{last_id, Committed, EventBatch, Request};
use crate::groups::{self, GroupCursor, GroupFilter};
use crate::health::HealthBatch;
use crate::index::{SearchPage, SearchRequest};
use crate::{group_summary, keys, records, Error, Result, StorageStats};
use crate::{Facet, GroupActivity};

impl Embedded {
    /// The group a fingerprint maps to now.
    fn fingerprint_group(&self, fingerprint: &str) -> Result<Option<u64>> {
        if fingerprint.is_empty() {
            return Ok(None);
        }
        let record = self.backend.get(&keys::fingerprint(fingerprint))?;
        Ok(record.map(|b| records::decode_fingerprint(&b)).transpose()?.map(|r| r.group_id))
    }

    /// Sends a request whose answer is a reply of type `T`.
    fn ask<T>(&self, request: impl FnOnce(oneshot::Sender<Result<T>>) -> Request) -> Result<Ack<T>> {
        let (reply, answer) = oneshot::channel();
        self.send(request(reply))?;
        Ok(answer)
    }
}

impl EventStore for Embedded {
    /// Encodes the events here, on the caller's thread, so the one
    /// committer thread only numbers and writes them.
    fn submit(&self, events: EventBatch, health: HealthBatch) -> Result<Ack<Vec<Committed>>> {
        let events = self.codec.prepare_batch(events)?;
        self.ask(|reply| Request::Events { events, health, reply })
    }

    fn queue_full(&self) -> bool {
        self.queue().is_full()
    }

    fn oldest_queued_wait(&self) -> std::time::Duration {
        self.queue().oldest_wait()
    }

    fn event(&self, seq: u64) -> Result<Option<ErrorEvent>> {
        let Some(bytes) = self.backend.get(&keys::event(seq))? else { return Ok(None) };
        let (mut event, fingerprint) = self.codec.decode(&bytes)?;
        if let Some(group_id) = self.fingerprint_group(&fingerprint)? {
            event.group_id = group_id;
        }
        Ok(Some(event))
    }

    fn group_events(
        &self,
        id: u64,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ErrorEvent>, Option<u64>)> {
        let from = keys::group_event(id, 0);
        let to = match before_seq {
            Some(seq) => keys::group_event(id, seq),
            None => keys::group_event_end(id),
        };
        let mut events = Vec::new();
        for entry in self.backend.scan(&from, &to, true).take(limit + 1) {
            let seq =
                keys::u64_at(&entry?.0, 9).ok_or_else(|| Error::Corrupt("short group-event key".into()))?;
            if let Some(event) = self.event(seq)? {
                events.push(event);
            }
        }
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok((events, next))
    }

    fn group_event_neighbors(&self, id: u64, seq: u64) -> Result<EventNeighbors> {
        let first = |from: Vec<u8>, to: Vec<u8>, reverse: bool| -> Result<Option<u64>> {
            match self.backend.scan(&from, &to, reverse).next() {
                Some(entry) => Ok(Some(
                    keys::u64_at(&entry?.0, 9)
                        .ok_or_else(|| Error::Corrupt("short group-event key".into()))?,
                )),
                None => Ok(None),
            }
        };
        let start = keys::group_event(id, 0);
        let end = keys::group_event_end(id);
        let other = |found: Option<u64>| found.filter(|s| *s != seq);
        Ok(EventNeighbors {
            newest: other(first(start.clone(), end.clone(), true)?),
            newer: first(keys::group_event(id, seq.saturating_add(1)), end.clone(), false)?,
            older: first(start.clone(), keys::group_event(id, seq), true)?,
            oldest: other(first(start, end, false)?),
        })
    }
}

impl GroupStore for Embedded {
    fn group(&self, id: u64) -> Result<Option<Group>> {
        self.backend.get(&keys::group(id))?.map(|b| records::decode_group(&b)).transpose()
    }

    /// Filters and sorts the small listing summaries, and decodes full
    /// groups only for the page returned.
    fn groups(&self, filter: &GroupFilter) -> Result<(Vec<Group>, Option<GroupCursor>)> {
        let summaries = match &filter.ids {
            // The groups of a search: read just those.
            Some(ids) => {
                let mut found = Vec::with_capacity(ids.len());
                for &id in ids {
                    found.extend(group_summary::get(&*self.backend, id)?);
                }
                found
            }
            None => group_summary::all(&*self.backend)?,
        };
        let matching = summaries.into_iter().filter(|s| filter.matches_summary(s)).collect();
        let (page, next) = groups::page(matching, filter);
        let mut shown = Vec::with_capacity(page.len());
        for summary in page {
            shown.extend(self.group(summary.id)?);
        }
        Ok((shown, next))
    }

    fn change_group_status(&self, id: u64, change: StatusChange, now: UnixNanos) -> Result<Ack<Group>> {
        self.ask(|reply| Request::SetStatus { id, change, now, reply })
    }

    fn merge(&self, target: u64, sources: Vec<u64>) -> Result<Ack<Group>> {
        self.ask(|reply| Request::Merge { target, sources, reply })
    }

    fn unmerge(&self, id: u64, fingerprints: Vec<String>) -> Result<Ack<(Group, Group)>> {
        self.ask(|reply| Request::Unmerge { id, fingerprints, reply })
    }
}

impl crate::index::GroupLookup for Embedded {
    fn group(&self, id: u64) -> Result<Option<Group>> {
        GroupStore::group(self, id)
    }

    fn fingerprint_groups(&self, fingerprints: &[String]) -> Result<HashMap<String, u64>> {
        let mut groups = HashMap::with_capacity(fingerprints.len());
        for fingerprint in fingerprints {
            if let Some(group_id) = self.fingerprint_group(fingerprint)? {
                groups.insert(fingerprint.clone(), group_id);
            }
        }
        Ok(groups)
    }
}

impl SearchStore for Embedded {
    fn search(&self, request: &SearchRequest) -> Result<(SearchPage, Vec<ErrorEvent>)> {
        let page = self.index.answer_search(self, request)?;
        let mut events = Vec::with_capacity(page.hits.len());
        for hit in &page.hits {
            if let Some(event) = self.event(hit.seq)? {
                events.push(event);
            }
        }
        Ok((page, events))
    }

    fn validate_query(&self, query: &str) -> Result<()> {
        self.index.answer_validate(self, query)
    }

    fn groups_matching(&self, query: &str, max: usize) -> Result<HashSet<u64>> {
        self.index.answer_groups_matching(self, query, max)
    }

    /// Read from the index: events committed in the last index interval
    /// may not be counted yet.
    fn group_event_counts(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        max_fingerprints: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)> {
        self.index.answer_group_event_counts(self, from, to, max_fingerprints)
    }

    fn event_histogram(
        &self,
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>> {
        self.index.answer_histogram(self, query, from, to, step)
    }

    fn facet(&self, query: &str, from: UnixNanos, to: UnixNanos, field: &str, limit: usize) -> Result<Facet> {
        self.index.answer_facet(self, query, (from, to), field, limit)
    }

    fn group_activity(
        &self,
        group_ids: &[u64],
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        tags: &[&str],
    ) -> Result<BTreeMap<u64, GroupActivity>> {
        self.index.answer_group_activity(self, group_ids, query, (from, to), step, tags)
    }

    fn wait_indexed(&self, timeout: Duration) -> bool {
        let target = self.committed.get();
        let deadline = std::time::Instant::now() + timeout;
        while self.indexed.load(Ordering::SeqCst) < target {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Embedded {
    /// When the oldest event still kept arrived: the first event key,
    /// decoded (one scan step and one read).
    fn oldest_event_received_at(&self) -> Result<Option<UnixNanos>> {
        let Some(first) = self.backend.scan(&[keys::EVENT], &[keys::EVENT + 1], false).next() else {
            return Ok(None);
        };
        let (_, bytes) = first?;
        Ok(Some(self.codec.decode(&bytes)?.0.received_at))
    }
}

impl StoreAdmin for Embedded {
    fn stats(&self) -> Result<StorageStats> {
        Ok(StorageStats {
            last_seq: self.committed.get(),
            indexed_seq: self.indexed.load(Ordering::SeqCst),
            groups: last_id(&*self.backend, keys::GROUP)?.unwrap_or(0),
            endpoints_overflowed: self.overflowed.load(Ordering::Relaxed),
            deleted_below: self.deleted_below.get(),
            events_deleted_by_age: self.deleted_counts.by_age.load(Ordering::Relaxed),
            events_deleted_by_quota: self.deleted_counts.by_quota.load(Ordering::Relaxed),
            disk_bytes: self.data_dir.as_deref().map(super::retention_task::disk_usage),
            max_disk_bytes: self.max_disk_bytes,
            oldest_event_received_at: self.oldest_event_received_at()?,
        })
    }

    fn write_failure(&self) -> Option<String> {
        self.write_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn retain(&self, now: UnixNanos, over_quota: bool) -> Result<Ack<crate::RetentionPass>> {
        self.ask(|reply| Request::Retain { now, over_quota, reply })
    }

    fn backup(&self, to: &std::path::Path) -> Result<crate::BackupReport> {
        crate::backup::prepare_target(to, self.data_dir.as_deref())?;
        let report = crate::backup::write_backup(to, self.data_dir.as_deref(), |partial| {
            self.backend.copy_to(partial)
        });
        if report.is_err() {
            // Leaves `to` as it was found (empty or missing) for a retry.
            let _ = std::fs::remove_dir_all(to.join("store.partial"));
        }
        report
    }

    fn shutdown(&self) -> Result<()> {
        self.stop()
    }
}
