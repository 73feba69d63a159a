//! A copy of a sled database into a fresh one: what compaction and backup
//! both are. sled 0.34 never gives the space of deleted records back to
//! the file system (it reuses it), so a database rewritten key by key holds
//! only live data: the copy is as large as what is stored, not as what
//! was ever stored.
//!
//! The copy is written into a directory of its own (a sibling of its final
//! place), flushed, closed and then every file and directory in it is
//! `fsync`ed, so that once the caller renames it into place it is whole
//! on disk; until then the original is untouched.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// Bytes of keys and values put in one sled batch while copying: bounds
/// the copy's memory whatever the size of the database.
const BATCH_BYTES: usize = 4 << 20;

/// What a copy wrote.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Copied {
    pub keys: u64,
    /// Bytes of keys and values (not of sled's files).
    pub bytes: u64,
}

/// Copies every tree of `from` into a new database created in `to` (which
/// must not exist yet), then makes it durable. On failure `to` is removed.
pub(crate) fn copy_db(from: &sled::Db, to: &Path) -> Result<Copied> {
    if to.exists() {
        return Err(Error::Invalid(format!("{} already exists", to.display())));
    }
    let copied = write_copy(from, to).and_then(|copied| sync_tree(to).map(|()| copied).map_err(Error::Io));
    if copied.is_err() {
        let _ = std::fs::remove_dir_all(to);
    }
    copied
}

fn write_copy(from: &sled::Db, to: &Path) -> Result<Copied> {
    let target = crate::sled_backend::open_db(to, 64 << 20).map_err(Error::backend)?;
    let mut copied = Copied::default();
    for name in from.tree_names() {
        let source = from.open_tree(&name).map_err(Error::backend)?;
        let dest = target.open_tree(&name).map_err(Error::backend)?;
        copy_tree(&source, &dest, &mut copied)?;
    }
    target.flush().map_err(Error::backend)?;
    // Closed before its files are synced: nothing of it is written after.
    drop(target);
    Ok(copied)
}

fn copy_tree(source: &sled::Tree, dest: &sled::Tree, copied: &mut Copied) -> Result<()> {
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    for entry in source.iter() {
        let (key, value) = entry.map_err(Error::backend)?;
        pending += key.len() + value.len();
        copied.keys += 1;
        copied.bytes += (key.len() + value.len()) as u64;
        batch.insert(key, value);
        if pending >= BATCH_BYTES {
            dest.apply_batch(std::mem::take(&mut batch)).map_err(Error::backend)?;
            pending = 0;
        }
    }
    dest.apply_batch(batch).map_err(Error::backend)
}

/// `fsync`s every file and directory under `dir`, and `dir` itself.
pub(crate) fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            File::open(entry.path())?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

/// Swaps two directory entries in one step (Linux `renameat2` with
/// `RENAME_EXCHANGE`): at every moment each name holds a whole database,
/// so a crash during compaction leaves either the old store or the new one
/// in place, never none.
pub(crate) fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}
