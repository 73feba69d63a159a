//! A store on a full file system: a small tmpfs mounted by the test (it
//! needs root; otherwise it is skipped with the reason printed), filled
//! until commits fail, then freed. Commits must fail whole and
//! retryably, reads must keep working, and writing must resume without
//! reopening the store.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use faultline_model::{ErrorEvent, EventSource, Grouping};
use faultline_store::{Error, HealthBatch, SearchRequest, Storage, StorageOptions, SyncMode};

/// A tmpfs mounted for the test, unmounted on drop (panics included).
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        if !is_root() {
            return Err("not running as root, so no file system can be mounted".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs { path: dir.path().to_path_buf(), _dir: dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Whether the effective user is root, from `/proc/self/status`.
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"));
    uid.and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}

fn event(n: u64) -> (ErrorEvent, Grouping) {
    let mut e = ErrorEvent::blank("api", EventSource::SpanException, faultline_model::now_nanos());
    e.exception_type = Some("DiskError".into());
    // Incompressible, so each event takes its size on disk.
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let noise: String = (0..40_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    e.message = Some(format!("event {n} {noise}"));
    let grouping = Grouping {
        fingerprint: "disk".into(),
        title: "disk".into(),
        culprit: String::new(),
        method: "message".into(),
        version: 1,
        previous_fingerprints: Vec::new(),
    };
    (e, grouping)
}

fn submit(storage: &Storage, n: u64) -> Result<u64, Error> {
    let answer = storage.submit(vec![event(n)], HealthBatch::new())?;
    answer.blocking_recv().unwrap().map(|c| c[0].seq)
}

/// Fills the file system with one file until `free` bytes are left.
fn fill(path: &Path, leave: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![7u8; 1 << 20];
    loop {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(leave)).unwrap();
}

#[test]
fn a_full_disk_refuses_commits_whole_keeps_reads_and_recovers_when_freed() {
    let fs = match Tmpfs::mount("48m") {
        Ok(fs) => fs,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let data = fs.path.join("data");
    let options = StorageOptions {
        sync: SyncMode::Fsync,
        cache_bytes: 16 << 20,
        index_commit_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let storage = Storage::open(&data, options).unwrap();
    let first = submit(&storage, 0).unwrap();
    let filler = fs.path.join("filler");
    fill(&filler, 6 << 20);

    let mut refused = None;
    let mut acked = vec![first];
    for n in 1..500 {
        match submit(&storage, n) {
            Ok(seq) => acked.push(seq),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("the disk never filled");
    assert!(matches!(refused, Error::CommitFailed(_)), "a retryable commit failure, got {refused:?}");
    let why = storage.write_failure().expect("the store says it cannot write");
    println!("refused after {} events: {why}", acked.len());
    // Still refused while full, and nothing half-applied: every acked event reads.
    assert!(matches!(submit(&storage, 1000), Err(Error::CommitFailed(_))));
    for seq in &acked {
        assert!(storage.event(*seq).unwrap().is_some(), "acked event {seq} reads while the disk is full");
    }
    let query = SearchRequest { query: "type:DiskError".into(), limit: 5, ..Default::default() };
    assert!(storage.search(&query).is_ok(), "search answers while the disk is full");

    std::fs::remove_file(&filler).unwrap();
    let resumed = submit(&storage, 2000).expect("writes resume once there is room");
    assert!(resumed > *acked.last().unwrap());
    assert_eq!(storage.write_failure(), None);
    for seq in &acked {
        assert!(storage.event(*seq).unwrap().is_some(), "acked event {seq} survived the reopen");
    }
    storage.wait_indexed(Duration::from_secs(10));
    let (page, _) = storage.search(&query).unwrap();
    assert_eq!(page.total, acked.len() + 1, "every acked event and the new one are found");
}
