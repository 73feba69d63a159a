//! PHP: `Throwable::__toString()`, the text a PHP service logs:
//!
//! ```text
//! App\OrderNotFound: Order 42 not found in /var/www/src/OrderService.php:87
//! Stack trace:
//! #0 /var/www/src/OrderController.php(31): App\OrderService->load(42)
//! #1 {main}
//! ```
//!
//! PHP pairs each function with the place it was called FROM (its
//! caller's file and line); sentry-php undoes that shift, giving each
//! frame the function whose code is at its file and line, the outermost
//! frame (the script's top level) without a function. Writing PHP's
//! format shifts it back: line `#i` names frame i's function (counted
//! from the raise site) at frame i+1's location, and the raise site goes
//! to the header. A previous exception is printed first, each wrapper
//! after it as `Next ...`, which is Sentry's order.

use serde_json::{Map, Value};

use super::{frames, line, message, path};
use crate::fields::text;

/// What sentry-php names a frame without a file (an internal function's).
const INTERNAL: &str = "[internal]";

pub(super) fn render(chain: &[&Map<String, Value>]) -> String {
    let blocks: Vec<String> =
        chain.iter().enumerate().map(|(index, value)| block(value, index > 0)).collect();
    blocks.join("\n\n")
}

fn block(value: &Map<String, Value>, next: bool) -> String {
    let frames: Vec<&Map<String, Value>> = frames(value).into_iter().rev().collect();
    let name = text(value, "type").unwrap_or("Exception");
    let mut out = format!("{}{name}: {}", if next { "Next " } else { "" }, message(value).unwrap_or(""));
    if let Some(raise_site) = frames.first() {
        out.push_str(&format!(" in {}:{}", path(raise_site).unwrap_or(INTERNAL), line(raise_site)));
    }
    out.push_str("\nStack trace:\n");
    let mut number = 0;
    for (index, frame) in frames.iter().enumerate() {
        let Some(function) = text(frame, "function") else {
            continue; // the top level: `{main}` below
        };
        let called_from = match frames.get(index + 1).and_then(|caller| Some((path(caller)?, line(caller)))) {
            Some((file, line)) if file != INTERNAL => format!("{file}({line})"),
            _ => "[internal function]".to_string(),
        };
        out.push_str(&format!("#{number} {called_from}: {function}()\n"));
        number += 1;
    }
    out.push_str(&format!("#{number} {{main}}"));
    out
}
