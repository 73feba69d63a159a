//! Entry points for `benches/hot_path.rs` only, not an API: the stored
//! event record's encoding and adding events to the search index, the
//! committer's and the indexer's hot functions, reachable without the
//! threads around them. Hidden from the docs; may change at any time.

use faultline_model::ErrorEvent;
use tantivy::IndexWriter;

use crate::index::{schema, SearchIndex};
use crate::{Error, Result};

pub use crate::records::{decode_event, encode_event};

/// An empty in-memory index with the writer the engine uses (same schema,
/// tokenizers, one indexing thread, same memory budget).
pub struct BenchIndex {
    index: SearchIndex,
    writer: IndexWriter,
}

impl BenchIndex {
    pub fn new() -> Result<BenchIndex> {
        let (index, writer, _) = SearchIndex::open_in_ram()?;
        Ok(BenchIndex { index, writer })
    }

    /// What the indexer does per event: build its document and add it.
    pub fn add(&mut self, event: &ErrorEvent, fingerprint: &str) -> Result<()> {
        let doc = schema::document(self.index.fields(), event, fingerprint);
        self.writer.add_document(doc).map_err(Error::index)?;
        Ok(())
    }

    /// Commits what was added (the indexing thread finishes its work
    /// here) and reloads the reader, as the indexer does once per interval.
    pub fn commit(&mut self) -> Result<()> {
        self.writer.commit().map_err(Error::index)?;
        self.index.reload()
    }
}
