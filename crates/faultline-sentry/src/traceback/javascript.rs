//! JavaScript: V8's `error.stack` (Node), what the OTel JS SDK records as
//! `exception.stacktrace`:
//!
//! ```text
//! Error: order 3001 failed
//!     at reserveStock (/srv/app/orders.js:17:11)
//!     at /srv/app/index.js:5:3
//! ```
//!
//! Only the outermost exception is written: `error.stack` never holds the
//! `cause`, so an OTel SDK sends the outer error's stack alone and
//! grouping locates a JS failure in it. Writing the causes too (as Node's
//! `util.inspect` does, `[cause]: ...`) would make the same bug group
//! differently by SDK. The causes stay on the event, structured, in
//! `sentry.exception`.

use serde_json::{Map, Value};

use super::{frames, in_app, line, message, path};
use crate::fields::text;

/// The outermost exception's stack, raise site first, and its flags.
pub(super) fn render(chain: &[&Map<String, Value>]) -> (String, Vec<Vec<Option<bool>>>) {
    let Some(outermost) = chain.last() else {
        return (String::new(), Vec::new());
    };
    let mut out = header(outermost);
    let mut flags = Vec::new();
    for frame in frames(outermost).iter().rev() {
        if let Some(frame_line) = frame_line(frame) {
            out.push_str(&frame_line);
            out.push('\n');
            flags.push(in_app(frame));
        }
    }
    (out, vec![flags])
}

/// `TypeError: message`, or what there is of it: a message event's
/// stack (`attachStacktrace`) has a message and no type, a thread's
/// neither.
fn header(value: &Map<String, Value>) -> String {
    match (text(value, "type"), message(value)) {
        (Some(name), Some(message)) => format!("{name}: {message}\n"),
        (Some(name), None) => format!("{name}\n"),
        (None, Some(message)) => format!("{message}\n"),
        (None, None) => String::new(),
    }
}

/// `    at fn (file:line:col)`, `    at file:line:col` for an anonymous
/// function, `    at fn (<anonymous>)` without a file; `None` for a frame
/// with neither (V8 prints none such).
fn frame_line(frame: &Map<String, Value>) -> Option<String> {
    let location = path(frame).map(|file| {
        let line = line(frame);
        match frame.get("colno").and_then(Value::as_u64) {
            Some(column) => format!("{file}:{line}:{column}"),
            None => format!("{file}:{line}"),
        }
    });
    match (text(frame, "function"), location) {
        (Some(function), Some(location)) => Some(format!("    at {function} ({location})")),
        (None, Some(location)) => Some(format!("    at {location}")),
        (Some(function), None) => Some(format!("    at {function} (<anonymous>)")),
        (None, None) => None,
    }
}
