//! The code each fuzz target runs, one function per target of `fuzz/`.
//!
//! The cargo-fuzz targets (nightly, libFuzzer) are one-line calls of these
//! functions, and `tests/corpus_replay.rs` calls them on every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` on stable, so
//! the test command replays what the fuzzer found with the same code.
//!
//! Each function takes arbitrary bytes, drives a public entry point that
//! reads hostile input in production, and ignores the result: a fuzz
//! finding is a panic, an overflow, a timeout or an allocation blow-up,
//! never an `Err`.

mod otlp;
mod search;
mod stacktrace;

pub use otlp::{otlp_json, otlp_protobuf};
pub use search::search_query;
pub use stacktrace::stacktrace;

/// What a fuzz target runs on one input.
pub type Target = fn(&[u8]);

/// The fuzz targets, named as `fuzz/fuzz_targets/<name>.rs` and the corpus
/// directories, with the function each runs.
pub const TARGETS: [(&str, Target); 5] = [
    ("otlp_protobuf", otlp_protobuf),
    ("otlp_json", otlp_json),
    ("stacktrace", stacktrace),
    ("search_query", search_query),
    ("config", config),
];

/// A config file's text to a validated configuration, grouping rules
/// compiled as the server does at start-up. Listen host names are not
/// resolved (see `Config::from_toml_offline`).
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        // The file is read with `read_to_string`: non-UTF-8 never reaches the parser.
        return;
    };
    if let Ok(config) = faultline_server::config::Config::from_toml_offline(text) {
        let _ = faultline_grouping::Grouper::with_config(config.grouping);
    }
}
