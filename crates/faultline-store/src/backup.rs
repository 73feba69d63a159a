//! Backups of the embedded engine: a copy of the event store into a new
//! data directory that `faultline serve --data-dir` opens as it is. Made
//! from a running engine (`StoreAdmin::backup`: writes wait while the
//! store is copied, so the copy holds whole commits) or from a stopped
//! data directory ([`backup_offline`]). The search index is not copied: it
//! is derived, and the first start on the copy rebuilds it from the event
//! log (the index's own files change under a running indexer).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::sled_copy::Copied;
use crate::{Error, Result};

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The new data directory.
    pub dir: PathBuf,
    /// Keys copied (events, groups, health buckets, tokens, …).
    pub keys: u64,
    /// Bytes of those keys and values.
    pub bytes: u64,
    /// Bytes the copy takes on disk.
    pub disk_bytes: u64,
    /// How long the copy took (for a running server: how long writes waited).
    pub seconds: f64,
}

/// The directory a copy is written to before it is renamed into place,
/// so a backup cut short never looks like a whole one.
const PARTIAL: &str = "store.partial";

/// Checks `to` (absolute; missing or an empty directory, outside the data
/// directory being copied) and creates it.
pub(crate) fn prepare_target(to: &Path, data_dir: Option<&Path>) -> Result<()> {
    if !to.is_absolute() {
        return Err(Error::Invalid(format!(
            "the backup directory must be an absolute path, got {}",
            to.display()
        )));
    }
    match std::fs::read_dir(to) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Invalid(format!(
                    "{} exists and is not empty; a backup goes into a new or empty directory",
                    to.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::Invalid(format!("cannot use {} for a backup: {e}", to.display()))),
    }
    std::fs::create_dir_all(to)
        .map_err(|e| Error::Invalid(format!("cannot create the backup directory {}: {e}", to.display())))?;
    if let Some(data_dir) = data_dir {
        let (target, source) = (to.canonicalize()?, data_dir.canonicalize()?);
        if target.starts_with(&source) {
            let _ = std::fs::remove_dir(to);
            return Err(Error::Invalid(format!(
                "{} is inside the data directory {}; back up to a directory outside it",
                to.display(),
                data_dir.display()
            )));
        }
    }
    Ok(())
}

/// Runs `copy` into `to/store.partial`, then renames it to `to/store`,
/// gives it the source's format marker (`source`: the data directory
/// copied) and makes it all durable.
pub(crate) fn write_backup(
    to: &Path,
    source: Option<&Path>,
    copy: impl FnOnce(&Path) -> Result<Copied>,
) -> Result<BackupReport> {
    let started = Instant::now();
    let partial = to.join(PARTIAL);
    let copied = copy(&partial)?;
    let seconds = started.elapsed().as_secs_f64();
    let store = to.join("store");
    std::fs::rename(&partial, &store)?;
    // The copy is in its source's format; an unmarked source (an older
    // release) leaves the copy unmarked too, dated on its first open alike.
    if let Some(marker) = source.map(|dir| dir.join(crate::MARKER_FILE)).filter(|m| m.exists()) {
        std::fs::copy(marker, to.join(crate::MARKER_FILE))?;
    }
    crate::sled_copy::sync_tree(to)?;
    if let Some(parent) = to.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(BackupReport {
        dir: to.to_path_buf(),
        keys: copied.keys,
        bytes: copied.bytes,
        disk_bytes: crate::embedded::retention_task::disk_usage(to),
        seconds,
    })
}

/// Backs up a data directory no server is running on (sled's lock says
/// if one is) into `to`.
pub fn backup_offline(data_dir: &Path, to: &Path) -> Result<BackupReport> {
    let db = crate::compaction::open_stopped(data_dir)?;
    prepare_target(to, Some(data_dir))?;
    write_backup(to, Some(data_dir), |partial| crate::sled_copy::copy_db(&db, partial))
}
