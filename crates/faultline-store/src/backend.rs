//! The narrow interface storage needs from an engine: a sorted key space
//! with point reads, range scans, atomic batches and a durable flush.
//! sled implements it here; any ordered KV store with atomic batches could.

use crate::Result;

/// One write in an atomic batch.
#[derive(Debug, Clone)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Key-value pairs from a scan.
pub type Entries<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

pub trait Backend: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Keys in `[from, to)`, ascending or descending.
    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_>;
    /// Applies all ops or none.
    fn write(&self, ops: Vec<Op>) -> Result<()>;
    /// Returns once everything written before is on stable storage.
    fn flush(&self) -> Result<()>;
}

/// sled 0.34 as the backend.
pub struct SledBackend {
    db: sled::Db,
}

impl SledBackend {
    pub fn open(dir: &std::path::Path) -> Result<SledBackend> {
        // No background flusher: durability comes from the committer's
        // explicit flush after every batch, which is what acks wait for.
        let db =
            sled::Config::new().path(dir).flush_every_ms(None).mode(sled::Mode::HighThroughput).open()?;
        Ok(SledBackend { db })
    }
}

impl Backend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        let range = self.db.range(from.to_vec()..to.to_vec());
        let convert = |r: sled::Result<(sled::IVec, sled::IVec)>| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(crate::Error::from)
        };
        if reverse {
            Box::new(range.rev().map(convert))
        } else {
            Box::new(range.map(convert))
        }
    }

    fn write(&self, ops: Vec<Op>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}
