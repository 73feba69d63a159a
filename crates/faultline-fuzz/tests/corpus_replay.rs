//! Replays every fuzz corpus and fixed crash input through the function its
//! fuzz target runs, on stable: a finding once fixed stays fixed, and the
//! corpora the fuzzer built keep covering the parsers in every test run.
//!
//! Inputs live in `fuzz/corpus/<target>/` (kept minimized with
//! `cargo fuzz cmin`) and `fuzz/regressions/<target>/` (the inputs that
//! crashed, hung or blew up before a fix).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of one input directory, sorted so failures list stably; none
/// when the directory does not exist (a target without regressions).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Runs every input and names each that panicked, rather than stopping at
/// the first, so one run lists all the regressions.
fn replay(target: &str, run: fn(&[u8])) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        for path in inputs(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            count += 1;
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    (count, failed)
}

#[test]
fn fuzz_corpora_replay_without_panics() {
    for (target, run) in faultline_fuzz::TARGETS {
        let (count, failed) = replay(target, run);
        assert!(count > 0, "fuzz/corpus/{target}/ is empty or missing");
        assert!(failed.is_empty(), "{target}: {} of {count} inputs panicked: {failed:#?}", failed.len());
    }
}
