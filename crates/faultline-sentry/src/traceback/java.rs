//! The JVM: `Throwable.printStackTrace`, what the OTel Java agent records
//! as `exception.stacktrace`:
//!
//! ```text
//! com.acme.OrderException: order 42 failed
//!     at com.acme.OrderService.load(OrderService.java:87)
//! Caused by: java.sql.SQLException: Connection refused
//!     at org.postgresql.Driver.connect(Driver.java:285)
//! ```
//!
//! (frame lines are tab-indented). The JVM prints the outermost exception
//! first and each cause below it, each raise site first. A cause's frames
//! shared with its enclosing exception are printed in full rather than as
//! `... N more`: grouping expands that marker to the same frames.

use serde_json::{Map, Value};

use super::{frames, in_app, line, message, path};
use crate::fields::text;

/// The chain outermost first, `Caused by:` before each cause.
pub(super) fn render(chain: &[&Map<String, Value>]) -> (String, Vec<Vec<Option<bool>>>) {
    let mut out = String::new();
    let mut flags = Vec::new();
    for (index, value) in chain.iter().rev().enumerate() {
        // A thread's stack has no exception: frames alone.
        if index > 0 || text(value, "type").is_some() {
            if index > 0 {
                out.push_str("Caused by: ");
            }
            out.push_str(&header(value));
            out.push('\n');
        }
        let frames = frames(value);
        for frame in frames.iter().rev() {
            out.push_str(&frame_line(frame));
            out.push('\n');
        }
        flags.push(frames.iter().rev().map(|f| in_app(f)).collect());
    }
    (out, flags)
}

/// `package.Type: message`: sentry-java sends the simple name as `type`
/// and the package as `module`. A type without either is put in
/// `java.lang` (where the JVM's unqualified-looking types live): the JVM
/// always qualifies, and an unqualified line would not start a new cause.
fn header(value: &Map<String, Value>) -> String {
    let name = text(value, "type").unwrap_or("Throwable");
    let qualified = match text(value, "module") {
        Some(module) if !name.contains('.') => format!("{module}.{name}"),
        _ if !name.contains('.') => format!("java.lang.{name}"),
        _ => name.to_string(),
    };
    match message(value) {
        Some(message) => format!("{qualified}: {message}"),
        None => qualified,
    }
}

/// `\tat com.acme.OrderService.load(OrderService.java:87)`; the module is
/// the class, the file the bare file name as the JVM prints it.
fn frame_line(frame: &Map<String, Value>) -> String {
    let function = text(frame, "function").unwrap_or("<unknown>");
    let symbol = match text(frame, "module") {
        Some(class) => format!("{class}.{function}"),
        None => function.to_string(),
    };
    let native = frame.get("native").and_then(Value::as_bool) == Some(true);
    let file = text(frame, "filename").or_else(|| path(frame)).map(|f| f.rsplit('/').next().unwrap_or(f));
    let location = match file {
        _ if native => "Native Method".to_string(),
        Some(file) if line(frame) > 0 => format!("{file}:{}", line(frame)),
        Some(file) => file.to_string(),
        None => "Unknown Source".to_string(),
    };
    format!("\tat {symbol}({location})")
}
