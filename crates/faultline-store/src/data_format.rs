//! The data directory's format marker: a `FORMAT` file naming the storage
//! format the directory holds, so a build meets data written by another
//! one with a migration or a clear refusal, never a half-read directory.
//!
//! A file beside `store/` and `index/` rather than a sled key: it is read
//! before sled opens anything, so a directory from a newer build (whose
//! sled files this build might not even read) is refused untouched, and an
//! operator can see a directory's format with `cat`.
//!
//! Storage formats:
//! - 1: event records of record format 1 (every field inline); written
//!   without a marker, by builds before commit ecf2de3.
//! - 2: event records of record format 2 (compressed body, stack traces
//!   and dictionaries apart); written without a marker until markers were
//!   added, with one since. Format-1 event records are read as they are,
//!   so migrating from 1 rewrites nothing.
//!
//! A new format that must rewrite records adds its step to [`migrate`].

use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;

use crate::backend::Backend;
use crate::records::proto;
use crate::{keys, Error, Result};

/// The storage format this build writes.
pub const STORAGE_FORMAT: u32 = 2;

/// The oldest storage format this build opens (migrating it).
pub const OLDEST_STORAGE_FORMAT: u32 = 1;

/// The marker's file name in the data directory.
pub const MARKER_FILE: &str = "FORMAT";

/// What the marker said before the store opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// No marker: a new directory, or one written before markers existed.
    Missing,
    Found(u32),
}

/// Reads the marker of `dir` and refuses a directory written by a newer
/// format (before anything in it is opened) or one older than this build
/// reads.
pub(crate) fn check(dir: &Path) -> Result<Marker> {
    let path = dir.join(MARKER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Marker::Missing),
        Err(e) => return Err(crate::embedded::data_dir_error(dir, e)),
    };
    // Formats start at 1 and this build reads every one up to its own.
    let found = parse(&text).filter(|&found| found >= OLDEST_STORAGE_FORMAT).ok_or_else(|| {
        Error::Corrupt(format!(
            "the data directory's format marker {} holds {:?}, not a storage format number",
            path.display(),
            text.trim()
        ))
    })?;
    if found > STORAGE_FORMAT {
        return Err(Error::NewerDataDir { dir: dir.to_path_buf(), found });
    }
    Ok(Marker::Found(found))
}

/// The format number on the marker's first line.
fn parse(text: &str) -> Option<u32> {
    text.lines().next()?.trim().parse().ok()
}

/// Brings an opened directory to [`STORAGE_FORMAT`] and marks it:
/// `store_existed` says whether the store was there before this open
/// (without a marker, that means data from before markers).
pub(crate) fn settle(dir: &Path, marker: Marker, store_existed: bool, backend: &dyn Backend) -> Result<()> {
    let from = match marker {
        Marker::Found(found) if found == STORAGE_FORMAT => return Ok(()),
        Marker::Found(found) => found,
        Marker::Missing if !store_existed => return write_marker(dir),
        Marker::Missing => unmarked_format(backend)?,
    };
    if from == STORAGE_FORMAT {
        // Written by this format before it had markers: nothing to change.
        write_marker(dir)?;
        tracing::info!(dir = %dir.display(), "marked data directory as format {STORAGE_FORMAT}");
        return Ok(());
    }
    migrate(from, backend)?;
    write_marker(dir)?;
    tracing::info!(
        dir = %dir.display(),
        marker = if marker == Marker::Missing { "none" } else { "found" },
        "migrated data directory from format {from} to {STORAGE_FORMAT}"
    );
    Ok(())
}

/// The format of a directory written before markers, from its newest event
/// record (one read): format-1 builds wrote only record format 1. With no
/// event left, nothing tells them apart, and nothing needs to.
fn unmarked_format(backend: &dyn Backend) -> Result<u32> {
    let newest = backend.scan(&[keys::EVENT], &[keys::EVENT + 1], true).next().transpose()?;
    let Some((_, bytes)) = newest else { return Ok(STORAGE_FORMAT) };
    let record = proto::EventRecord::decode(bytes.as_slice())?;
    Ok(if record.format_version <= crate::records::EVENT_FORMAT_V1 { 1 } else { 2 })
}

/// Rewrites what format `from` stored differently. Nothing yet: format-1
/// event records are decoded as they are (`records::read_event`), and
/// everything added since (arrival marks, trace-use keys, token records)
/// starts empty; an old event's arrival counts from the first retention
/// pass after the upgrade.
fn migrate(from: u32, _backend: &dyn Backend) -> Result<()> {
    debug_assert!(from < STORAGE_FORMAT);
    Ok(())
}

/// Writes the marker durably: a temporary file, synced, renamed over the
/// marker, then the directory synced, so a crash leaves the old marker or
/// the new one, never a torn one.
fn write_marker(dir: &Path) -> Result<()> {
    let path = dir.join(MARKER_FILE);
    let temp: PathBuf = dir.join(format!("{MARKER_FILE}.tmp"));
    let io = |e| crate::embedded::data_dir_error(dir, e);
    let mut file = std::fs::File::create(&temp).map_err(io)?;
    file.write_all(format!("{STORAGE_FORMAT}\n").as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temp, &path).map_err(io)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::backend::Op;
    use crate::memory_backend::MemoryBackend;

    #[test]
    fn a_new_directory_gets_the_current_marker() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(dir.path()).unwrap(), Marker::Missing);
        settle(dir.path(), Marker::Missing, false, &MemoryBackend::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(MARKER_FILE)).unwrap(),
            format!("{STORAGE_FORMAT}\n")
        );
        assert_eq!(check(dir.path()).unwrap(), Marker::Found(STORAGE_FORMAT));
    }

    #[test]
    fn a_newer_marker_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MARKER_FILE), format!("{}\n", STORAGE_FORMAT + 2)).unwrap();
        let message = check(dir.path()).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "the data directory {} was written by storage format {}; this faultline reads formats \
                 {OLDEST_STORAGE_FORMAT} to {STORAGE_FORMAT}: upgrade faultline",
                dir.path().display(),
                STORAGE_FORMAT + 2
            )
        );
    }

    #[test]
    fn a_marker_that_is_no_number_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MARKER_FILE), "two\n").unwrap();
        assert!(matches!(check(dir.path()), Err(Error::Corrupt(m)) if m.contains("\"two\"")));
    }

    #[test]
    fn unmarked_data_is_dated_by_its_newest_event_record() {
        let backend = MemoryBackend::default();
        assert_eq!(unmarked_format(&backend).unwrap(), STORAGE_FORMAT, "no event: nothing to tell");
        let event = faultline_model::ErrorEvent::blank(
            "api",
            faultline_model::EventSource::SpanException,
            1_700_000_000_000_000_000,
        );
        backend.write(vec![Op::Put(keys::event(1), crate::records::encode_event(&event, "fp"))]).unwrap();
        assert_eq!(unmarked_format(&backend).unwrap(), 1);

        let dir = tempfile::tempdir().unwrap();
        settle(dir.path(), Marker::Missing, true, &backend).unwrap();
        assert_eq!(check(dir.path()).unwrap(), Marker::Found(STORAGE_FORMAT));
    }
}
