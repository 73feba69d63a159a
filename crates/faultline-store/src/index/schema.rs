//! The search index schema, built once. The index only finds events: it
//! stores no document (the sequence number of a hit is read from its fast
//! column), and hits are read from the event log, the single source of truth.
//!
//! No field keeps fieldnorms: they only serve BM25 scoring, and nothing is
//! scored (hits are ordered by sequence number, the rest are counts and
//! aggregations). Only `message` and `stacktrace` keep term positions, for
//! phrase queries; every other field is matched on whole terms.

use faultline_model::ErrorEvent;
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, JsonObjectOptions, NumericOptions, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer};
use tantivy::{DateTime, Index, TantivyDocument};

/// Tokenizer of the keyword fields whose values come from a small, closed
/// vocabulary (level, source, HTTP method, environment): the whole value as
/// one term, lower-cased. The query parser runs a field's tokenizer over
/// query terms too, so `level:ERROR`, `method:get` and `env:Prod` match
/// whatever case the SDK sent. Naming it in the schema also makes an index
/// built before it "of another schema", which rebuilds it from the log.
const KEYWORD_LOWERCASE: &str = "keyword_lowercase";

/// Registers the tokenizers the schema names; needed on every opened
/// index, because tantivy keeps only their names on disk.
pub fn register_tokenizers(index: &Index) {
    let analyzer = TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).build();
    index.tokenizers().register(KEYWORD_LOWERCASE, analyzer);
}

/// A keyword field matched without regard to case (see [`KEYWORD_LOWERCASE`]).
/// Its fast column keeps the value as sent, for tag breakdowns.
fn case_insensitive_keyword() -> TextOptions {
    TextOptions::default().set_indexing_options(terms_only(KEYWORD_LOWERCASE)).set_fast("raw")
}

/// Whole terms: no frequencies, positions or fieldnorms.
fn terms_only(tokenizer: &str) -> TextFieldIndexing {
    TextFieldIndexing::default()
        .set_tokenizer(tokenizer)
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false)
}

/// A keyword matched exactly, as sent (`STRING` without fieldnorms).
fn keyword() -> TextOptions {
    TextOptions::default().set_indexing_options(terms_only("raw"))
}

/// A keyword matched exactly, with a fast column for breakdowns.
fn fast_keyword() -> TextOptions {
    keyword().set_fast("raw")
}

/// Free text: tokenized, with positions for phrase queries (`TEXT`
/// without fieldnorms).
fn free_text() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions)
            .set_fieldnorms(false),
    )
}

/// Handles to every field, resolved once.
#[derive(Clone)]
pub struct Fields {
    pub seq: Field,
    pub fingerprint: Field,
    pub timestamp: Field,
    pub message: Field,
    pub stacktrace: Field,
    pub service: Field,
    pub environment: Field,
    pub release: Field,
    pub exception_type: Field,
    pub route: Field,
    pub method: Field,
    pub status: Field,
    pub trace_id: Field,
    pub span_id: Field,
    pub span_name: Field,
    pub level: Field,
    pub source: Field,
    pub host: Field,
    pub sdk: Field,
    pub user: Field,
    pub attributes: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Attribute values are matched exactly (ids, enum-like values); dots in
    // OTel names are path separators so `attr.user.id` finds `user.id`.
    let attributes = JsonObjectOptions::default()
        .set_indexing_options(terms_only("raw"))
        .set_expand_dots_enabled()
        .set_fast("raw");
    let fields = Fields {
        seq: b.add_u64_field("seq", NumericOptions::default().set_fast().set_indexed()),
        // The fingerprint, not the group id: merge and unmerge change which
        // group a fingerprint belongs to without touching indexed events.
        fingerprint: b.add_text_field("fingerprint", fast_keyword()),
        timestamp: b.add_date_field("timestamp", DateOptions::default().set_fast().set_indexed()),
        message: b.add_text_field("message", free_text()),
        stacktrace: b.add_text_field("stacktrace", free_text()),
        // FAST columns feed the tag breakdowns and histograms: aggregations
        // read them without loading a document.
        service: b.add_text_field("service", fast_keyword()),
        environment: b.add_text_field("environment", case_insensitive_keyword()),
        release: b.add_text_field("release", fast_keyword()),
        exception_type: b.add_text_field("type", keyword()),
        route: b.add_text_field("route", fast_keyword()),
        method: b.add_text_field("method", case_insensitive_keyword()),
        status: b.add_u64_field("status", NumericOptions::default().set_indexed().set_fast()),
        trace_id: b.add_text_field("trace_id", keyword()),
        span_id: b.add_text_field("span_id", keyword()),
        span_name: b.add_text_field("span_name", keyword()),
        level: b.add_text_field("level", case_insensitive_keyword()),
        source: b.add_text_field("source", case_insensitive_keyword()),
        host: b.add_text_field("host", fast_keyword()),
        sdk: b.add_text_field("sdk", fast_keyword()),
        // The user an event affected: `enduser.id`, else `user.id`.
        user: b.add_text_field("user", fast_keyword()),
        attributes: b.add_json_field("attr", attributes),
    };
    (b.build(), fields)
}

/// The index document of one event.
pub fn document(f: &Fields, e: &ErrorEvent, fingerprint: &str) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_u64(f.seq, e.seq);
    doc.add_text(f.fingerprint, fingerprint);
    doc.add_date(f.timestamp, DateTime::from_timestamp_nanos(e.timestamp));
    let user = user_of(e);
    let texts = [
        (f.message, e.message.as_deref()),
        (f.stacktrace, e.stacktrace.as_deref()),
        (f.service, Some(e.service.as_str())),
        (f.environment, e.environment.as_deref()),
        (f.release, e.service_version.as_deref()),
        (f.exception_type, e.exception_type.as_deref()),
        (f.route, e.http_route.as_deref()),
        (f.method, e.http_method.as_deref()),
        (f.trace_id, Some(e.trace_id.as_str()).filter(|t| !t.is_empty())),
        (f.span_id, Some(e.span_id.as_str()).filter(|s| !s.is_empty())),
        (f.span_name, e.span_name.as_deref()),
        (f.level, Some(e.level.as_str())),
        (f.source, Some(e.source.as_str())),
        (f.host, e.host.as_deref()),
        (f.sdk, e.sdk_language.as_deref()),
        (f.user, user.as_deref()),
    ];
    for (field, value) in texts {
        if let Some(v) = value {
            doc.add_text(field, v);
        }
    }
    // `type:OrderError` finds `shop.orders.OrderError` and `java.io.IOException`
    // finds `IOException` too.
    if let Some(short) = e.exception_type.as_deref().and_then(short_type) {
        doc.add_text(f.exception_type, short);
    }
    // A log line kept beside an exception's message is free text too.
    if let Some(body) = e.attributes.get("log.body").and_then(|v| v.as_str()) {
        doc.add_text(f.message, body);
    }
    if let Some(status) = e.http_status {
        doc.add_u64(f.status, u64::from(status));
    }
    // Resource attributes first so the item's own win on a name clash.
    let mut attrs = serde_json::Map::new();
    for (k, v) in e.resource.iter().chain(e.attributes.iter()) {
        attrs.insert(k.clone(), v.clone());
    }
    doc.add_object(f.attributes, json_to_owned(attrs));
    doc
}

/// The user id an event names, as text.
pub fn user_of(e: &ErrorEvent) -> Option<String> {
    let value = e.attributes.get("enduser.id").or_else(|| e.attributes.get("user.id"))?;
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The last segment of a qualified type name, when it has one.
fn short_type(full: &str) -> Option<&str> {
    let short = full.rsplit(['.', ':', '\\', '/']).next()?;
    (!short.is_empty() && short != full).then_some(short)
}

fn json_to_owned(
    map: serde_json::Map<String, serde_json::Value>,
) -> std::collections::BTreeMap<String, tantivy::schema::OwnedValue> {
    map.into_iter().map(|(k, v)| (k, tantivy::schema::OwnedValue::from(v))).collect()
}
