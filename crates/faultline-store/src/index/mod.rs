//! The tantivy search index over error events: derived data, rebuilt from
//! the event log whenever it is missing, damaged or of an older schema.

mod aggregate;
mod answers;
mod indexer;
mod node;
pub mod query;
pub(crate) mod schema;

use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;

use faultline_model::UnixNanos;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::AggregationCollector;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, RangeQuery};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Term};

pub use aggregate::{Facet, GroupActivity};
pub use answers::GroupLookup;
pub(crate) use indexer::Indexer;
pub use node::{open_node_index, IndexFeed, NodeIndex};
pub use schema::Fields;

use crate::{Error, Result};

/// A search: a query in the query language, an optional time range and a
/// page position.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub from: Option<UnixNanos>,
    pub to: Option<UnixNanos>,
    pub limit: usize,
    /// Only events older (lower sequence) than this: the cursor of the
    /// previous page.
    pub before_seq: Option<u64>,
}

/// One page of hits, newest first.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Events matching the query and time range, over all pages.
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// Pass as `before_seq` for the next page; `None` on the last page.
    pub next_cursor: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub seq: u64,
}

/// Writer memory: tantivy splits it between indexing threads; one thread
/// is enough for error volumes and leaves the other core to ingest.
const WRITER_MEMORY: usize = 50_000_000;

pub(crate) struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl SearchIndex {
    /// Opens the index in `dir`, rebuilding it (empty, to be refilled from
    /// the event log) when it cannot be used. Returns the writer and the
    /// last event sequence number the index holds.
    pub(crate) fn open(dir: &Path) -> Result<(SearchIndex, IndexWriter, u64)> {
        SearchIndex::open_with_payload(dir).map(last_seq)
    }

    /// [`SearchIndex::open`], with the last commit's payload as it is.
    pub(crate) fn open_with_payload(dir: &Path) -> Result<(SearchIndex, IndexWriter, Option<String>)> {
        let (schema, fields) = schema::build();
        let index = match open_existing(dir, &schema) {
            Ok(Some(index)) => index,
            Ok(None) => create(dir, schema)?,
            Err(e) => {
                tracing::warn!(error = %e, "search index unusable; rebuilding it from the event log");
                std::fs::remove_dir_all(dir)?;
                create(dir, schema)?
            }
        };
        SearchIndex::ready(index, fields)
    }

    /// An empty index held in memory, for the in-memory engine: same
    /// schema, tokenizers and queries as on disk, nothing survives a drop.
    pub(crate) fn open_in_ram() -> Result<(SearchIndex, IndexWriter, u64)> {
        SearchIndex::open_in_ram_with_payload().map(last_seq)
    }

    pub(crate) fn open_in_ram_with_payload() -> Result<(SearchIndex, IndexWriter, Option<String>)> {
        let (schema, fields) = schema::build();
        SearchIndex::ready(Index::create_in_ram(schema), fields)
    }

    fn ready(index: Index, fields: Fields) -> Result<(SearchIndex, IndexWriter, Option<String>)> {
        schema::register_tokenizers(&index);
        let metas = index.load_metas().map_err(Error::index)?;
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY).map_err(Error::index)?;
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(Error::index)?;
        Ok((SearchIndex { index, reader, fields }, writer, metas.payload))
    }

    pub(crate) fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(Error::index)?;
        Ok(())
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Parses a query-language string into a tantivy query.
    pub fn parse(&self, text: &str) -> Result<Box<dyn Query>> {
        if text.trim().is_empty() {
            return Ok(Box::new(AllQuery));
        }
        // tantivy ends a JSON field's path at a NUL byte and asserts (panics)
        // when an attribute name holds one (found by fuzzing): refused here.
        if text.contains('\0') {
            return Err(Error::InvalidQuery("a query cannot contain a NUL character".to_string()));
        }
        let mut parser =
            QueryParser::for_index(&self.index, vec![self.fields.message, self.fields.stacktrace]);
        // Every word must match, as in Sentry and Kibana search boxes.
        parser.set_conjunction_by_default();
        let rewritten = query::rewrite(text);
        match parser.parse_query(&rewritten) {
            // `-type:KeyError` alone means "everything except", as in Kibana.
            Err(tantivy::query::QueryParserError::AllButQueryForbidden) => {
                parser.parse_query(&format!("* {rewritten}"))
            }
            other => other,
        }
        .map_err(|e| Error::InvalidQuery(describe(&e)))
    }

    pub fn search(&self, req: &SearchRequest) -> Result<SearchPage> {
        let searcher = self.reader.searcher();
        let mut clauses = vec![(Occur::Must, self.parse(&req.query)?)];
        if req.from.is_some() || req.to.is_some() {
            clauses.push((Occur::Must, self.time_range(req.from, req.to)));
        }
        let matching = BooleanQuery::new(clauses.iter().map(|(o, q)| (*o, q.box_clone())).collect());
        let total = searcher.search(&matching, &Count).map_err(Error::index)?;
        if let Some(before) = req.before_seq {
            let below = RangeQuery::new(
                Bound::Unbounded,
                Bound::Excluded(Term::from_field_u64(self.fields.seq, before)),
            );
            clauses.push((Occur::Must, Box::new(below)));
        }
        let page = BooleanQuery::new(clauses);
        let limit = req.limit.max(1);
        let top = TopDocs::with_limit(limit + 1).order_by_fast_field::<u64>("seq", Order::Desc);
        let docs = searcher.search(&page, &top).map_err(Error::index)?;
        let mut hits: Vec<SearchHit> =
            docs.into_iter().filter_map(|(seq, _)| seq).map(|seq| SearchHit { seq }).collect();
        let next_cursor = if hits.len() > limit {
            hits.truncate(limit);
            hits.last().map(|h| h.seq)
        } else {
            None
        };
        Ok(SearchPage { total, hits, next_cursor })
    }

    /// The distinct fingerprints of the events matching a query (at most `max`).
    pub fn fingerprints(&self, text: &str, max: usize) -> Result<HashSet<String>> {
        let query = self.parse(text)?;
        let request = serde_json::json!({"fps": {"terms": {"field": "fingerprint", "size": max}}});
        let aggs: Aggregations =
            serde_json::from_value(request).map_err(|e| Error::InvalidQuery(e.to_string()))?;
        let collector = AggregationCollector::from_aggs(aggs, Default::default());
        let result = self.reader.searcher().search(&query, &collector).map_err(Error::index)?;
        let json = serde_json::to_value(result).map_err(Error::index)?;
        let buckets = json["fps"]["buckets"].as_array().cloned().unwrap_or_default();
        Ok(buckets.iter().filter_map(|b| b["key"].as_str().map(str::to_string)).collect())
    }

    /// Events with a timestamp in `[from, to)`: how many in all, and how
    /// many per fingerprint (the `max` most frequent). A terms aggregation
    /// on the fingerprint fast field, so no document is loaded; the counts
    /// are exact while the range holds at most `max` fingerprints.
    pub fn fingerprint_counts(
        &self,
        from: UnixNanos,
        to: UnixNanos,
        max: usize,
    ) -> Result<(u64, Vec<(String, u64)>)> {
        let range = self.time_range(Some(from), Some(to));
        let request = serde_json::json!({"fps": {"terms": {"field": "fingerprint", "size": max}}});
        let aggs: Aggregations =
            serde_json::from_value(request).map_err(|e| Error::InvalidQuery(e.to_string()))?;
        let collector = AggregationCollector::from_aggs(aggs, Default::default());
        let (total, result) =
            self.reader.searcher().search(&range, &(Count, collector)).map_err(Error::index)?;
        let json = serde_json::to_value(result).map_err(Error::index)?;
        let buckets = json["fps"]["buckets"].as_array().cloned().unwrap_or_default();
        let counts = buckets
            .iter()
            .filter_map(|b| Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?)))
            .collect();
        Ok((total as u64, counts))
    }

    fn time_range(&self, from: Option<UnixNanos>, to: Option<UnixNanos>) -> Box<dyn Query> {
        let bound = |t: Option<UnixNanos>, inclusive: bool| match t {
            None => Bound::Unbounded,
            Some(n) => {
                let term = Term::from_field_date(self.fields.timestamp, DateTime::from_timestamp_nanos(n));
                if inclusive {
                    Bound::Included(term)
                } else {
                    Bound::Excluded(term)
                }
            }
        };
        Box::new(RangeQuery::new(bound(from, true), bound(to, false)))
    }
}

/// Merges every segment of the index in `dir` into one when any holds
/// deleted documents, which drops the
/// documents retention deleted (tantivy only marks them until a merge),
/// and removes the files no longer used. The commit payload (the last
/// indexed sequence number) is kept, so the server does not re-index. An
/// index that is missing or of another schema is left alone: the server
/// rebuilds it at start anyway.
pub(crate) fn compact(dir: &Path) -> Result<()> {
    let (schema, _) = schema::build();
    let index = match open_existing(dir, &schema) {
        Ok(Some(index)) => index,
        Ok(None) | Err(_) => return Ok(()),
    };
    // Segment metas held here would count as in use for the file
    // collection below (tantivy tracks them), so only the ids are kept.
    let (ids, deleted) = {
        let segments = index.searchable_segment_metas().map_err(Error::index)?;
        (
            segments.iter().map(|s| s.id()).collect::<Vec<_>>(),
            segments.iter().any(|s| s.num_deleted_docs() > 0),
        )
    };
    if !deleted {
        return Ok(());
    }
    let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY).map_err(Error::index)?;
    writer.merge(&ids).wait().map_err(Error::index)?;
    writer.wait_merging_threads().map_err(Error::index)?;
    // The merged segments' files go once no writer's merge refers to them.
    let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY).map_err(Error::index)?;
    writer.garbage_collect_files().wait().map_err(Error::index)?;
    writer.wait_merging_threads().map_err(Error::index)
}

/// The embedded engine's payload: the last indexed sequence number.
fn last_seq(
    (index, writer, payload): (SearchIndex, IndexWriter, Option<String>),
) -> (SearchIndex, IndexWriter, u64) {
    let indexed = payload.and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    (index, writer, indexed)
}

fn open_existing(dir: &Path, schema: &tantivy::schema::Schema) -> Result<Option<Index>> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let index = Index::open_in_dir(dir).map_err(Error::index)?;
    if index.schema() != *schema {
        return Err(Error::Corrupt("the index was built with another schema".into()));
    }
    Ok(Some(index))
}

fn create(dir: &Path, schema: tantivy::schema::Schema) -> Result<Index> {
    std::fs::create_dir_all(dir)?;
    Index::create_in_dir(dir, schema).map_err(Error::index)
}

/// Says what is wrong with a query in words a user can act on.
fn describe(e: &tantivy::query::QueryParserError) -> String {
    use tantivy::query::QueryParserError as E;
    match e {
        E::SyntaxError(detail) => format!("syntax error: {detail}"),
        E::FieldDoesNotExist(field) => format!("unknown field `{field}`"),
        E::ExpectedInt(_) | E::ExpectedFloat(_) | E::ExpectedBool(_) => {
            format!("wrong value type: {e}")
        }
        E::DateFormatError(_) => format!("dates must be RFC 3339, like 2024-05-01T12:00:00Z: {e}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tantivy::schema::{FieldEntry, Schema, STRING};

    use super::*;

    /// The schema before level, source, method and environment were
    /// lower-cased: the same fields, those four matched case-sensitively.
    fn case_sensitive_schema() -> Schema {
        let (current, _) = schema::build();
        let mut builder = Schema::builder();
        for (_, entry) in current.fields() {
            let entry = match entry.name() {
                "level" | "source" | "method" | "environment" => {
                    FieldEntry::new_text(entry.name().to_string(), STRING)
                }
                _ => entry.clone(),
            };
            builder.add_field(entry);
        }
        builder.build()
    }

    /// An index committed (at event 42) under `old` is rebuilt from the
    /// start of the event log under today's schema when opened.
    fn assert_rebuilt_from(old: Schema) {
        let dir = tempfile::tempdir().unwrap();
        let old = Index::create_in_dir(dir.path(), old).unwrap();
        let mut writer: IndexWriter = old.writer_with_num_threads(1, WRITER_MEMORY).unwrap();
        let mut commit = writer.prepare_commit().unwrap();
        commit.set_payload("42");
        commit.commit().unwrap();
        drop((writer, old));

        let (index, _writer, indexed) = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(indexed, 0, "rebuilt from the start of the event log");
        assert!(index.index.schema() == schema::build().0);
    }

    #[test]
    fn an_index_with_case_sensitive_keywords_is_rebuilt() {
        assert_rebuilt_from(case_sensitive_schema());
    }

    /// The schema before fieldnorms were dropped: the same fields, each with
    /// fieldnorms, and `seq` stored.
    fn schema_with_fieldnorms() -> Schema {
        use tantivy::schema::{FieldType, FAST, INDEXED, STORED};
        let (current, _) = schema::build();
        let mut builder = Schema::builder();
        for (_, entry) in current.fields() {
            let name = entry.name().to_string();
            let entry = match entry.field_type() {
                FieldType::Str(o) => {
                    let indexing = o.get_indexing_options().unwrap().clone().set_fieldnorms(true);
                    FieldEntry::new_text(name, o.clone().set_indexing_options(indexing))
                }
                FieldType::JsonObject(o) => {
                    let indexing = o.get_text_indexing_options().unwrap().clone().set_fieldnorms(true);
                    FieldEntry::new_json(name, o.clone().set_indexing_options(indexing))
                }
                FieldType::U64(_) if name == "seq" => {
                    FieldEntry::new_u64(name, (FAST | STORED | INDEXED).into())
                }
                FieldType::U64(_) => FieldEntry::new_u64(name, (INDEXED | FAST).into()),
                FieldType::Date(_) => FieldEntry::new_date(name, (FAST | INDEXED).into()),
                other => panic!("unexpected field type {other:?}"),
            };
            builder.add_field(entry);
        }
        builder.build()
    }

    #[test]
    fn an_index_with_fieldnorms_is_rebuilt() {
        assert_rebuilt_from(schema_with_fieldnorms());
    }

    #[test]
    fn a_nul_character_is_an_invalid_query_not_a_panic() {
        let (index, _writer, _) = SearchIndex::open_in_ram().unwrap();
        // The fuzzer's input, then the smallest that panicked tantivy.
        for query in ["attr.$\u{1}\0\0\0b.system:p\u{fffd}ostgresql", "attr.a\0b:1", "user.id\0:1"] {
            assert!(matches!(index.parse(query), Err(Error::InvalidQuery(_))), "{query:?}");
        }
        assert!(index.parse("attr.db.system:postgresql").is_ok());
    }

    /// Nothing is scored, so no field pays for fieldnorms, and only the
    /// free-text fields pay for positions (phrase queries).
    #[test]
    fn only_free_text_keeps_positions_and_no_field_keeps_fieldnorms() {
        use tantivy::schema::FieldType;
        let (schema, _) = schema::build();
        for (_, entry) in schema.fields() {
            let (fieldnorms, positions) = match entry.field_type() {
                FieldType::Str(o) => o
                    .get_indexing_options()
                    .map_or((false, false), |i| (i.fieldnorms(), i.index_option().has_positions())),
                FieldType::JsonObject(o) => o
                    .get_text_indexing_options()
                    .map_or((false, false), |i| (i.fieldnorms(), i.index_option().has_positions())),
                FieldType::U64(o) => (o.fieldnorms(), false),
                FieldType::Date(o) => (o.fieldnorms(), false),
                other => panic!("unexpected field type {other:?}"),
            };
            assert!(!fieldnorms, "{} keeps fieldnorms", entry.name());
            assert!(!entry.is_stored(), "{} is stored", entry.name());
            let free_text = matches!(entry.name(), "message" | "stacktrace");
            assert_eq!(positions, free_text, "{} positions", entry.name());
        }
    }
}
