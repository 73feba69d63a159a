//! Bytes on disk of the server's data directory: the event store (sled,
//! `store/`) apart from the search index (`index/`).

use std::path::Path;

/// Allocated bytes under `dir` (like `du`: blocks, not lengths, so sparse
/// or preallocated files count for what they take).
pub fn du(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        total += if meta.is_dir() { du(&entry.path()) } else { meta.blocks() * 512 };
    }
    total
}

/// (store, index) bytes of a data directory.
pub fn usage(data_dir: &Path) -> (u64, u64) {
    (du(&data_dir.join("store")), du(&data_dir.join("index")))
}
