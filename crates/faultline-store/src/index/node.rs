//! The index for an engine that keeps its events elsewhere (PostgreSQL): a
//! node's own copy of the embedded engine's index — the same schema,
//! tokenizers, query language and aggregations, so both engines answer
//! alike — which that engine fills with [`IndexFeed`] and reads through
//! [`NodeIndex`]. The commit payload is the feeder's own text (where it
//! stopped reading), kept with the documents it describes.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use faultline_model::{ErrorEvent, UnixNanos};
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, RangeQuery};
use tantivy::{IndexWriter, Order, Term};

use super::answers::GroupLookup;
use super::{schema, SearchIndex, SearchPage, SearchRequest};
use crate::{Error, Facet, GroupActivity, Result};

/// Opens a node's index: in `dir` (rebuilt empty when it is damaged or of
/// another schema; created when missing), or in memory. Returns the
/// reading side, the writing side and the payload of its last commit
/// (`None` for a new or rebuilt index: feed it from the start).
pub fn open_node_index(dir: Option<&Path>) -> Result<(NodeIndex, IndexFeed, Option<String>)> {
    let (index, writer, payload) = match dir {
        Some(dir) => SearchIndex::open_with_payload(dir)?,
        None => SearchIndex::open_in_ram_with_payload()?,
    };
    let index = Arc::new(index);
    Ok((NodeIndex { index: index.clone() }, IndexFeed { index, writer, added: 0 }, payload))
}

/// The writing side: documents added, deleted, and committed with a payload.
pub struct IndexFeed {
    index: Arc<SearchIndex>,
    writer: IndexWriter,
    /// Documents added since the last commit.
    added: usize,
}

impl IndexFeed {
    /// Adds one event (`event.seq` is its id) under its fingerprint.
    pub fn add(&mut self, event: &ErrorEvent, fingerprint: &str) -> Result<()> {
        let document = schema::document(self.index.fields(), event, fingerprint);
        self.writer.add_document(document).map_err(Error::index)?;
        self.added += 1;
        Ok(())
    }

    /// Deletes every document with a sequence number below `seq` (those
    /// added before this call; later ones stay).
    pub fn delete_below(&mut self, seq: u64) -> Result<()> {
        let field = self.index.fields().seq;
        let below = RangeQuery::new(Bound::Unbounded, Bound::Excluded(Term::from_field_u64(field, seq)));
        self.writer.delete_query(Box::new(below)).map_err(Error::index)?;
        Ok(())
    }

    /// Deletes the document of one event.
    pub fn delete(&mut self, seq: u64) -> Result<()> {
        self.writer.delete_term(Term::from_field_u64(self.index.fields().seq, seq));
        Ok(())
    }

    /// The sequence numbers of committed documents in `[from, to)`, in
    /// order (to check them against the event store a window at a time).
    pub fn committed_seqs(&self, from: u64, to: u64) -> Result<Vec<u64>> {
        let field = self.index.fields().seq;
        let range = RangeQuery::new(
            Bound::Included(Term::from_field_u64(field, from)),
            Bound::Excluded(Term::from_field_u64(field, to)),
        );
        // Sequence numbers are unique: the window holds at most `to - from`.
        let limit = usize::try_from(to.saturating_sub(from)).unwrap_or(usize::MAX).max(1);
        let top = TopDocs::with_limit(limit).order_by_fast_field::<u64>("seq", Order::Asc);
        let docs = self.index.reader.searcher().search(&range, &top).map_err(Error::index)?;
        Ok(docs.into_iter().filter_map(|(seq, _)| seq).collect())
    }

    /// Deletes every document added before this call.
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_query(Box::new(AllQuery)).map_err(Error::index)?;
        Ok(())
    }

    /// Documents added since the last commit.
    pub fn pending(&self) -> usize {
        self.added
    }

    /// Makes everything added and deleted durable with `payload`, and
    /// visible to searches.
    pub fn commit(&mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit().map_err(Error::index)?;
        prepared.set_payload(payload);
        prepared.commit().map_err(Error::index)?;
        self.added = 0;
        self.index.reload()
    }

    /// Forgets everything since the last commit (after a failure that may
    /// have left the writer unusable).
    pub fn rollback(&mut self) -> Result<()> {
        self.added = 0;
        self.writer.rollback().map(|_| ()).map_err(Error::index)
    }
}

/// The reading side: the search answers, through the engine's groups.
#[derive(Clone)]
pub struct NodeIndex {
    index: Arc<SearchIndex>,
}

impl NodeIndex {
    pub fn search(&self, groups: &dyn GroupLookup, request: &SearchRequest) -> Result<SearchPage> {
        self.index.answer_search(groups, request)
    }

    pub fn validate_query(&self, groups: &dyn GroupLookup, query: &str) -> Result<()> {
        self.index.answer_validate(groups, query)
    }

    pub fn groups_matching(&self, groups: &dyn GroupLookup, query: &str, max: usize) -> Result<HashSet<u64>> {
        self.index.answer_groups_matching(groups, query, max)
    }

    pub fn group_event_counts(
        &self,
        groups: &dyn GroupLookup,
        from: UnixNanos,
        to: UnixNanos,
        max_fingerprints: usize,
    ) -> Result<(u64, BTreeMap<u64, u64>)> {
        self.index.answer_group_event_counts(groups, from, to, max_fingerprints)
    }

    pub fn event_histogram(
        &self,
        groups: &dyn GroupLookup,
        query: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>> {
        self.index.answer_histogram(groups, query, from, to, step)
    }

    pub fn facet(
        &self,
        groups: &dyn GroupLookup,
        query: &str,
        range: (UnixNanos, UnixNanos),
        field: &str,
        limit: usize,
    ) -> Result<Facet> {
        self.index.answer_facet(groups, query, range, field, limit)
    }

    pub fn group_activity(
        &self,
        groups: &dyn GroupLookup,
        group_ids: &[u64],
        query: &str,
        range: (UnixNanos, UnixNanos),
        step: Duration,
        tags: &[&str],
    ) -> Result<BTreeMap<u64, GroupActivity>> {
        self.index.answer_group_activity(groups, group_ids, query, range, step, tags)
    }
}
