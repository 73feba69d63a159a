//! Ruby: `Exception#full_message`, what the OTel Ruby SDK records as
//! `exception.stacktrace`:
//!
//! ```text
//! /app/models/order.rb:12:in 'Order#total': undefined method 'price' (NoMethodError)
//!     from /app/controllers/orders_controller.rb:8:in 'OrdersController#show'
//! ```
//!
//! (`from` lines tab-indented), raise site first; each cause follows
//! its wrapper, outermost first, starting with its own raise site line.
//! An exception without frames has no line of its own in Ruby's format
//! and is left out.

use serde_json::{Map, Value};

use super::{frames, in_app, line, message, path};
use crate::fields::text;

pub(super) fn render(chain: &[&Map<String, Value>]) -> (String, Vec<Vec<Option<bool>>>) {
    let mut out = String::new();
    let mut flags = Vec::new();
    for value in chain.iter().rev() {
        let frames = frames(value);
        for (index, frame) in frames.iter().rev().enumerate() {
            let location = format!(
                "{}:{}:in '{}'",
                path(frame).unwrap_or("<unknown>"),
                line(frame),
                text(frame, "function").unwrap_or("<main>")
            );
            if index == 0 {
                out.push_str(&format!("{location}: {}\n", first_line(value)));
            } else {
                out.push_str(&format!("\tfrom {location}\n"));
            }
        }
        if !frames.is_empty() {
            flags.push(frames.iter().rev().map(|f| in_app(f)).collect());
        }
    }
    (out, flags)
}

/// `message (Type)`; Ruby prints further lines of a message below, which
/// grouping does not need.
fn first_line(value: &Map<String, Value>) -> String {
    let message = message(value).and_then(|m| m.lines().next());
    match (text(value, "type"), message) {
        (Some(name), Some(message)) => format!("{message} ({name})"),
        (Some(name), None) => format!("{name} ({name})"),
        (None, message) => message.unwrap_or("unhandled exception").to_string(),
    }
}
