//! Counting without reading documents: histograms over time, tag
//! breakdowns (terms) and per-group activity, all tantivy aggregations over
//! fast columns, so their cost grows with matching events, not stored text.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_model::UnixNanos;
use serde_json::{json, Value};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::AggregationCollector;
use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::SearchIndex;
use crate::{Error, Result};

/// Values of a tag each index segment hands to the merge (tantivy keeps
/// ten times the size asked for by default). A segment cuts its list among
/// equally frequent values in no set order, and the merge breaks ties by
/// the smallest value only among those it got: with more tied values than
/// this, two indexes holding the same events in other segments (two nodes
/// on one PostgreSQL database) could name different top values.
const TERMS_PER_SEGMENT: u64 = 1000;

/// A terms aggregation of `column`'s `size` most frequent values; among
/// equally frequent ones the smallest first (see [`TERMS_PER_SEGMENT`]).
fn top_terms(column: &str, size: usize) -> Value {
    let size = size.max(1) as u64;
    json!({"terms": {"field": column, "size": size, "segment_size": TERMS_PER_SEGMENT.max(size * 10)}})
}

/// The top values of one tag among matching events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facet {
    pub field: String,
    /// Matching events.
    pub total: u64,
    /// Most frequent first.
    pub values: Vec<(String, u64)>,
    /// Matching events without the tag.
    pub missing: u64,
    /// Matching events whose value is beyond the ones listed.
    pub other: u64,
}

/// One group's matching events in a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupActivity {
    pub count: u64,
    /// Distinct users (`enduser.id` / `user.id`), estimated above a few thousand.
    pub users: u64,
    /// Events per step, as [`SearchIndex::histogram`] steps them.
    pub histogram: Vec<u64>,
    /// Per tag asked for: its most frequent value among these events, and
    /// how many events have it (tags no event has are left out).
    pub top_values: BTreeMap<String, (String, u64)>,
}

/// Tag names a breakdown takes, with their index column.
const FACET_FIELDS: &[(&str, &str)] = &[
    ("release", "release"),
    ("environment", "environment"),
    ("host", "host"),
    ("route", "route"),
    ("method", "method"),
    ("status", "status"),
    ("sdk", "sdk"),
    ("user", "user"),
    ("level", "level"),
    ("source", "source"),
    ("service", "service"),
];

/// The fast column of a tag name: a standard tag, or `attr.NAME` / any
/// other name as an attribute.
pub fn facet_column(name: &str) -> Result<String> {
    let name = name.trim();
    if let Some((_, column)) = FACET_FIELDS.iter().find(|(n, _)| *n == name) {
        return Ok((*column).to_string());
    }
    let attr = name.strip_prefix("attr.").unwrap_or(name);
    let valid = !attr.is_empty() && attr.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(Error::UnknownField(name.to_string()));
    }
    Ok(format!("attr.{attr}"))
}

/// The step buckets of `[from, to)`: their start times, each a multiple of `step`.
pub fn steps(from: UnixNanos, to: UnixNanos, step: Duration) -> Vec<UnixNanos> {
    let step = step_nanos(step);
    let start = from.div_euclid(step) * step;
    let mut out = Vec::new();
    let mut t = start;
    while t < to && out.len() < 10_000 {
        out.push(t);
        t += step;
    }
    out
}

fn step_nanos(step: Duration) -> i64 {
    i64::try_from(step.as_nanos()).unwrap_or(i64::MAX).max(1_000_000_000)
}

impl SearchIndex {
    fn run_aggs(&self, query: &dyn Query, request: Value) -> Result<(u64, Value)> {
        let aggs: Aggregations = serde_json::from_value(request).map_err(Error::index)?;
        let collector = AggregationCollector::from_aggs(aggs, Default::default());
        let (count, result) =
            self.reader.searcher().search(query, &(Count, collector)).map_err(Error::index)?;
        Ok((count as u64, serde_json::to_value(result).map_err(Error::index)?))
    }

    fn matching(&self, text: &str, from: UnixNanos, to: UnixNanos) -> Result<BooleanQuery> {
        Ok(BooleanQuery::new(vec![
            (Occur::Must, self.parse(text)?),
            (Occur::Must, self.time_range(Some(from), Some(to))),
        ]))
    }

    /// Events matching `text` in `[from, to)` per step.
    pub fn histogram(
        &self,
        text: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
    ) -> Result<Vec<(UnixNanos, u64)>> {
        let query = self.matching(text, from, to)?;
        let (_, result) = self.run_aggs(&query, json!({"h": date_histogram(step)}))?;
        let starts = steps(from, to, step);
        let mut counts = vec![0u64; starts.len()];
        spread(&result["h"], starts.first().copied().unwrap_or(from), step, &mut counts);
        Ok(starts.into_iter().zip(counts).collect())
    }

    /// The `limit` most frequent values of tag `name` among matching events.
    pub fn facet(
        &self,
        text: &str,
        from: UnixNanos,
        to: UnixNanos,
        name: &str,
        limit: usize,
    ) -> Result<Facet> {
        let column = facet_column(name)?;
        let query = self.matching(text, from, to)?;
        let request = json!({ "t": top_terms(&column, limit) });
        let (total, result) = self.run_aggs(&query, request)?;
        let values: Vec<(String, u64)> = result["t"]["buckets"]
            .as_array()
            .map(|b| {
                b.iter().filter_map(|b| Some((key_text(&b["key"])?, b["doc_count"].as_u64()?))).collect()
            })
            .unwrap_or_default();
        let other = result["t"]["sum_other_doc_count"].as_u64().unwrap_or(0);
        let listed: u64 = values.iter().map(|v| v.1).sum();
        Ok(Facet {
            field: name.trim().to_string(),
            total,
            values,
            missing: total.saturating_sub(listed + other),
            other,
        })
    }

    /// Per fingerprint of `fingerprints`: matching events in `[from, to)`,
    /// distinct users, the events per step and each of `tags`' most
    /// frequent value.
    pub fn fingerprint_activity(
        &self,
        fingerprints: &[String],
        text: &str,
        from: UnixNanos,
        to: UnixNanos,
        step: Duration,
        tags: &[&str],
    ) -> Result<BTreeMap<String, GroupActivity>> {
        if fingerprints.is_empty() {
            return Ok(BTreeMap::new());
        }
        let any_of: Vec<(Occur, Box<dyn Query>)> = fingerprints
            .iter()
            .map(|fp| {
                let term = Term::from_field_text(self.fields.fingerprint, fp);
                (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>)
            })
            .collect();
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(self.matching(text, from, to)?) as Box<dyn Query>),
            (Occur::Must, Box::new(BooleanQuery::new(any_of))),
        ]);
        let mut per_fingerprint = json!({"h": date_histogram(step), "u": {"cardinality": {"field": "user"}}});
        for (i, tag) in tags.iter().enumerate() {
            per_fingerprint[format!("t{i}")] = top_terms(&facet_column(tag)?, 1);
        }
        let request = json!({"fp": {
            "terms": {"field": "fingerprint", "size": fingerprints.len()},
            "aggs": per_fingerprint
        }});
        let (_, result) = self.run_aggs(&query, request)?;
        let starts = steps(from, to, step);
        let first = starts.first().copied().unwrap_or(from);
        let mut out = BTreeMap::new();
        for bucket in result["fp"]["buckets"].as_array().into_iter().flatten() {
            let Some(fp) = bucket["key"].as_str() else { continue };
            let mut histogram = vec![0u64; starts.len()];
            spread(&bucket["h"], first, step, &mut histogram);
            let activity = GroupActivity {
                count: bucket["doc_count"].as_u64().unwrap_or(0),
                users: bucket["u"]["value"].as_f64().map_or(0, |v| v.round() as u64),
                histogram,
                top_values: tags
                    .iter()
                    .enumerate()
                    .filter_map(|(i, tag)| {
                        let top = bucket[format!("t{i}")]["buckets"].get(0)?;
                        Some((tag.to_string(), (key_text(&top["key"])?, top["doc_count"].as_u64()?)))
                    })
                    .collect(),
            };
            out.insert(fp.to_string(), activity);
        }
        Ok(out)
    }
}

fn date_histogram(step: Duration) -> Value {
    let secs = step_nanos(step) / 1_000_000_000;
    json!({"date_histogram": {"field": "timestamp", "fixed_interval": format!("{secs}s")}})
}

/// Adds a date histogram's buckets (keys in milliseconds) into `counts`,
/// whose first bucket starts at `first`.
fn spread(histogram: &Value, first: UnixNanos, step: Duration, counts: &mut [u64]) {
    let step = step_nanos(step);
    for bucket in histogram["buckets"].as_array().into_iter().flatten() {
        let (Some(key_ms), Some(n)) = (bucket["key"].as_f64(), bucket["doc_count"].as_u64()) else {
            continue;
        };
        let at = (key_ms * 1e6) as i64;
        let index = (at - first).div_euclid(step);
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| counts.get_mut(i)) {
            *slot += n;
        }
    }
}

fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_start_on_multiples_of_the_step() {
        let minute = Duration::from_secs(60);
        let s = steps(90_000_000_000, 300_000_000_000, minute);
        assert_eq!(s, vec![60_000_000_000, 120_000_000_000, 180_000_000_000, 240_000_000_000]);
    }

    #[test]
    fn facet_names_map_to_columns() {
        assert_eq!(facet_column("release").ok().as_deref(), Some("release"));
        assert_eq!(facet_column("attr.tenant").ok().as_deref(), Some("attr.tenant"));
        assert_eq!(facet_column("http.user_agent").ok().as_deref(), Some("attr.http.user_agent"));
        assert!(facet_column("a b").is_err());
        assert!(facet_column("").is_err());
    }
}
