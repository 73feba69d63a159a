//! Rust panic messages and backtraces (`RUST_BACKTRACE=1` or `full`, and
//! `std::backtrace::Backtrace`'s display, which anyhow and eyre embed):
//!
//! ```text
//! thread 'main' panicked at src/orders.rs:12:5:
//! called `Option::unwrap()` on a `None` value
//! stack backtrace:
//!    0: rust_begin_unwind
//!              at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/panicking.rs:665:5
//!    1: core::option::unwrap_failed
//!    2: myapp::orders::parse_quantity
//!              at ./src/orders.rs:12:5
//! ```
//!
//! Frames come raise site first, but the first few are the panic
//! machinery itself (not in-app, so grouping skips them). Full backtraces
//! add `0x55d4b8c1a2b3 - ` addresses and `::h1a2b…` symbol hashes, which
//! normalization drops. Rust has no exception types: the panic message is
//! the message.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, split_rust_symbol, RawFrame};
use crate::stacktrace::{Exception, Frame, Language};

static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\d+:\s+(?:0x[0-9a-fA-F]+ - )?(?P<symbol>\S.*?)\s*$").expect("valid pattern")
});
static LOCATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s+at (?P<file>.+?):(?P<line>\d+)(?::\d+)?\s*$").expect("valid pattern"));
/// Rust ≥ 1.73: `thread 'x' panicked at file:line:col:` then the message on
/// the next line (recent toolchains add the thread id: `thread 'x' (1234)`);
/// older: `thread 'x' panicked at 'message', file:line:col`.
static PANIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^thread '.*'(?: \(\d+\))? panicked at (?:'(?P<old>.*)', \S+|\S+:)$").expect("valid pattern")
});

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut exception = Exception { message: panic_message(lines), ..Exception::default() };
    // anyhow's "Caused by:" list is numbered like frames; read only after
    // a backtrace header when there is one.
    let start =
        lines.iter().position(|l| l.trim().eq_ignore_ascii_case("stack backtrace:")).map_or(0, |at| at + 1);
    let mut index = start;
    while let Some(line) = lines.get(index) {
        index += 1;
        let Some(caps) = FRAME.captures(line) else { continue };
        let Some(symbol) = caps.name("symbol") else { continue };
        let location = lines.get(index).and_then(|next| LOCATION.captures(next));
        if location.is_some() {
            index += 1;
        }
        let file = location.as_ref().and_then(|c| c.name("file")).map(|m| m.as_str());
        let line_number =
            location.as_ref().and_then(|c| c.name("line")).and_then(|m| m.as_str().parse().ok());
        exception.frames.push(frame(symbol.as_str(), file, line_number));
    }
    vec![exception]
}

fn panic_message(lines: &[&str]) -> Option<String> {
    let at = lines.iter().position(|l| PANIC.is_match(l))?;
    let caps = lines.get(at).and_then(|l| PANIC.captures(l))?;
    match caps.name("old") {
        Some(old) => Some(old.as_str().to_string()),
        None => lines.get(at + 1).map(|l| l.trim().to_string()),
    }
}

fn frame(symbol: &str, file: Option<&str>, line: Option<u32>) -> Frame {
    let (module, function) = split_rust_symbol(symbol);
    let raw = RawFrame { module: module.as_deref(), function: function.as_deref(), file, line };
    normalize_frame(Language::Rust, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::lines::split;

    fn parse_text(text: &str) -> Exception {
        parse(&split(text)).remove(0)
    }

    fn keys(exception: &Exception) -> Vec<String> {
        exception.frames.iter().map(Frame::grouping_key).collect()
    }

    fn in_app_keys(exception: &Exception) -> Vec<String> {
        exception.frames.iter().filter(|f| f.in_app).map(Frame::grouping_key).collect()
    }

    #[test]
    fn short_backtrace() {
        let text = "thread 'main' panicked at src/orders.rs:12:5:
called `Option::unwrap()` on a `None` value
stack backtrace:
   0: rust_begin_unwind
             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/panicking.rs:665:5
   1: core::panicking::panic_fmt
             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/panicking.rs:74:14
   2: core::option::unwrap_failed
   3: myapp::orders::parse_quantity
             at ./src/orders.rs:12:5
   4: myapp::main::{{closure}}
             at ./src/main.rs:5:20
   5: core::ops::function::FnOnce::call_once
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.";
        let e = parse_text(text);
        assert_eq!(e.message.as_deref(), Some("called `Option::unwrap()` on a `None` value"));
        assert_eq!(e.frames.len(), 6);
        assert_eq!(in_app_keys(&e), ["myapp::orders|parse_quantity", "myapp|main"]);
        assert_eq!(e.frames[3].file.as_deref(), Some("src/orders.rs"));
        assert_eq!(e.frames[3].line, Some(12));
        assert_eq!(e.frames[0].file.as_deref(), Some("std/src/panicking.rs"));
    }

    #[test]
    fn full_backtrace_with_addresses_and_hashes() {
        let text = "thread 'tokio-runtime-worker' panicked at 'index out of bounds: the len is 3 but the index is 7', src/cart.rs:40:9
stack backtrace:
   0:     0x55d4b8c1a2b3 - std::backtrace_rs::backtrace::libunwind::trace::h6e4a6e3c2b8f1a2b
                               at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/../../backtrace/src/backtrace/libunwind.rs:116:5
   1:     0x55d4b8c1b004 - shop::cart::Cart::total::h1a2b3c4d5e6f7a8b
                               at /home/dev/shop/src/cart.rs:40:9
   2:     0x55d4b8c1c111 - <shop::api::Handler as tower_service::Service<http::request::Request<B>>>::call::{{closure}}::hdeadbeefdeadbeef
                               at /home/dev/shop/src/api.rs:77:13
   3:     0x55d4b8c1d222 - tokio::runtime::task::core::Core<T,S>::poll::h0123456789abcdef
   4:     0x7f3a1c2d3e4f - start_thread
   5:     0x7f3a1c2d3e50 - __clone";
        let e = parse_text(text);
        assert_eq!(e.message.as_deref(), Some("index out of bounds: the len is 3 but the index is 7"));
        assert_eq!(
            keys(&e),
            [
                "std::backtrace_rs::backtrace::libunwind|trace",
                "shop::cart::Cart|total",
                "shop::api::Handler|call",
                "tokio::runtime::task::core::Core|poll",
                "|start_thread",
                "|__clone",
            ]
        );
        assert_eq!(in_app_keys(&e), ["shop::cart::Cart|total", "shop::api::Handler|call"]);
    }

    #[test]
    fn recent_toolchains_prefix_runtime_symbols() {
        let text = "thread 'orders::tests::parse' (21018) panicked at src/orders.rs:224:9:
assertion failed: qty > 0
stack backtrace:
   0: __rustc::rust_begin_unwind
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs:689:5
   1: core::panicking::panic_fmt
             at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:80:14
   2: shop::orders::tests::parse
             at ./src/orders.rs:224:9";
        let e = parse_text(text);
        assert_eq!(e.message.as_deref(), Some("assertion failed: qty > 0"));
        assert_eq!(in_app_keys(&e), ["shop::orders::tests|parse"]);
    }

    #[test]
    fn anyhow_causes_are_not_frames() {
        let text = "Error: failed to load config

Caused by:
    0: reading /etc/shop.toml
    1: No such file or directory (os error 2)

Stack backtrace:
   0: anyhow::error::<impl anyhow::Error>::msg
   1: shop::config::load
             at ./src/config.rs:20:9";
        let e = parse_text(text);
        assert_eq!(in_app_keys(&e), ["shop::config|load"]);
        assert_eq!(e.frames.len(), 2);
    }
}
