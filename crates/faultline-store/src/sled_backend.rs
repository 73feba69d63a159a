//! sled 0.34 as the embedded engine's key-value store. sled's errors stop
//! here: they become [`Error::Backend`] (or the data-directory variants a
//! user can act on) so nothing outside this file names a sled type.

use std::path::Path;

use crate::backend::{Backend, Entries, Op};
use crate::{Error, Result};

pub(crate) struct SledBackend {
    db: sled::Db,
}

impl SledBackend {
    /// Opens the database in `dir`; `data_dir` is the directory the user
    /// chose, named in the errors they can fix (lock held, no access).
    pub fn open(dir: &Path, data_dir: &Path) -> Result<SledBackend> {
        // No background flusher: durability comes from the committer's
        // explicit flush after every batch, which is what acks wait for.
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(None)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| match e {
            sled::Error::Io(io) => crate::embedded::data_dir_error(data_dir, io),
            other => Error::backend(other),
        })?;
        Ok(SledBackend { db })
    }
}

impl Backend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key).map_err(Error::backend)?.map(|v| v.to_vec()))
    }

    fn scan(&self, from: &[u8], to: &[u8], reverse: bool) -> Entries<'_> {
        let range = self.db.range(from.to_vec()..to.to_vec());
        let convert = |r: sled::Result<(sled::IVec, sled::IVec)>| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Error::backend)
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
        self.db.apply_batch(batch).map_err(Error::backend)
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(Error::backend)?;
        Ok(())
    }
}
