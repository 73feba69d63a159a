//! .NET: `Exception.ToString()` as .NET Core prints it, what the OTel .NET
//! SDK records as `exception.stacktrace`:
//!
//! ```text
//! System.InvalidOperationException: Order 42 could not be loaded
//!  ---> System.IO.FileNotFoundException: Could not find file '/data/42.json'.
//!    at Acme.Orders.OrderStore.Read() in /src/OrderStore.cs:line 31
//!    --- End of inner exception stack trace ---
//!    at Acme.Orders.OrderService.Load() in /src/OrderService.cs:line 44
//! ```
//!
//! The headers name the chain outermost first; the frame blocks follow
//! innermost exception first (Sentry's order), each raise site first.

use serde_json::{Map, Value};

use super::{frames, in_app, line, message, path};
use crate::fields::text;

const END_OF_INNER: &str = "   --- End of inner exception stack trace ---";

pub(super) fn render(chain: &[&Map<String, Value>]) -> (String, Vec<Vec<Option<bool>>>) {
    let mut out = String::new();
    // A thread's stack has no exception: frames alone.
    let headed = chain.len() > 1 || chain.iter().any(|v| text(v, "type").is_some());
    for (index, value) in chain.iter().rev().enumerate().filter(|_| headed) {
        if index > 0 {
            out.push_str(" ---> ");
        }
        out.push_str(&header(value));
        out.push('\n');
    }
    for (index, value) in chain.iter().enumerate() {
        if index > 0 {
            out.push_str(END_OF_INNER);
            out.push('\n');
        }
        for frame in frames(value).iter().rev() {
            out.push_str(&frame_line(frame));
            out.push('\n');
        }
    }
    let flags = chain.iter().rev().map(|v| frames(v).iter().rev().map(|f| in_app(f)).collect()).collect();
    (out, flags)
}

/// `Namespace.Type: message`; sentry-dotnet sends the full type name, or
/// the namespace apart as `module`.
fn header(value: &Map<String, Value>) -> String {
    let name = text(value, "type").unwrap_or("System.Exception");
    let qualified = match text(value, "module") {
        Some(namespace) if !name.contains('.') && !namespace.contains(',') => format!("{namespace}.{name}"),
        _ => name.to_string(),
    };
    match message(value) {
        Some(message) => format!("{qualified}: {message}"),
        None => qualified,
    }
}

/// `   at Ns.Type.Method() in /src/File.cs:line 31`: the module is the
/// declaring type. The function may be a signature (sentry-dotnet's
/// enhanced frames, `async Task<Order> OrderService.LoadAsync(int id)`):
/// only the method's name is kept.
fn frame_line(frame: &Map<String, Value>) -> String {
    let function = text(frame, "function").map_or("<unknown>", method_name);
    let symbol = match text(frame, "module") {
        Some(declaring) => format!("{declaring}.{function}"),
        None => function.to_string(),
    };
    match path(frame) {
        Some(file) => format!("   at {symbol}() in {file}:line {}", line(frame)),
        None => format!("   at {symbol}()"),
    }
}

/// `async Task<Order> OrderService.LoadAsync(int id)` → `LoadAsync`;
/// `Read` stays.
fn method_name(function: &str) -> &str {
    let without_arguments = function.split('(').next().unwrap_or(function).trim();
    let name = without_arguments.rsplit(' ').next().unwrap_or(without_arguments);
    if function.contains('(') || function.contains(' ') {
        name.rsplit('.').next().unwrap_or(name)
    } else {
        name
    }
}
