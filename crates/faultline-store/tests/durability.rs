//! The group-commit path really calls `fdatasync` on sled's log before an
//! export is acknowledged, seen from outside with `strace`. The test runs
//! its own binary's `strace_child` test under `strace -f -y`, which commits
//! `COMMITS` exports one after another, once with `SyncMode::Fsync` and once
//! with `SyncMode::Flush`. Without `strace` (or without permission to trace)
//! it prints why and passes: the unit tests in `sled_backend_tests.rs`
//! count the syncs without it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use faultline_store::{HealthBatch, Storage, StorageOptions, SyncMode};

#[path = "conformance/support.rs"]
#[allow(dead_code)]
mod support;

use support::{event, grouping};

const COMMITS: usize = 10;
const CHILD_DIR: &str = "FAULTLINE_STRACE_CHILD_DIR";
const CHILD_SYNC: &str = "FAULTLINE_STRACE_CHILD_SYNC";

/// `fdatasync` calls on `store/db` while the child ran with `sync`, or why none could be counted.
fn traced_log_syncs(sync: &str) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.txt");
    let data = dir.path().join("data");
    let output = Command::new("strace")
        .args(["-f", "-y", "-qq", "-e", "trace=fdatasync,fsync", "-o"])
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "strace_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, &data)
        .env(CHILD_SYNC, sync)
        .output()
        .map_err(|e| format!("strace cannot be run: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("ptrace") && stderr.contains("Operation not permitted") {
        return Err(format!("tracing is not permitted here: {}", stderr.trim()));
    }
    assert!(output.status.success(), "child failed: {stderr}\n{}", String::from_utf8_lossy(&output.stdout));
    assert!(data.join("done").exists(), "the child did not run: {}", String::from_utf8_lossy(&output.stdout));
    let text = std::fs::read_to_string(&trace).unwrap();
    let log = data.join("store").join("db");
    let on_log = format!("<{}>", log.display());
    Ok(text.lines().filter(|l| l.contains("fdatasync(") && l.contains(&on_log) && l.ends_with("= 0")).count())
}

#[test]
fn acknowledged_commits_are_fdatasynced() {
    if Command::new("strace").arg("-V").output().is_err() {
        println!("skipped: strace is not installed (apt-get install strace to run this test)");
        return;
    }
    let synced = match traced_log_syncs("fsync") {
        Ok(n) => n,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    // One per acknowledged commit, one at open; maintenance may add some.
    assert!(synced > COMMITS, "{synced} fdatasync calls on the log for {COMMITS} acknowledged commits");
    let flushed = traced_log_syncs("flush").unwrap();
    println!("fdatasync on store/db for {COMMITS} commits: {synced} with sync = fsync, {flushed} with sync = flush");
    assert_eq!(flushed, 1, "with sync = flush only the one at open");
}

/// Run by `acknowledged_commits_are_fdatasynced` under strace.
#[test]
#[ignore = "run under strace by acknowledged_commits_are_fdatasynced"]
fn strace_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let sync = match std::env::var(CHILD_SYNC).as_deref() {
        Ok("flush") => SyncMode::Flush,
        _ => SyncMode::Fsync,
    };
    let dir = Path::new(&dir);
    {
        let storage = Storage::open(dir, StorageOptions { sync, ..Default::default() }).unwrap();
        let now = 1_700_000_000_000_000_000;
        for i in 0..COMMITS {
            let batch =
                vec![(event("api", "KeyError", &format!("missing {i}"), now + i as i64), grouping("fa"))];
            storage.submit(batch, HealthBatch::new()).unwrap().blocking_recv().unwrap().unwrap();
        }
    }
    std::fs::write(dir.join("done"), b"").unwrap();
}
