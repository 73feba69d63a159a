//! Go: a panic's goroutine trace (`debug.Stack()`), the stack text a Go
//! service sends:
//!
//! ```text
//! panic: order 42: unknown sku
//!
//! goroutine 1 [running]:
//! github.com/acme/shop/orders.(*Service).Reserve(...)
//!     /src/shop/orders/service.go:42 +0x1d
//! ```
//!
//! (location lines tab-indented), innermost call first. Go's errors carry
//! no chain of stacks: sentry-go attaches the stack to the outermost error
//! of an `errors.Unwrap` chain, so that stack is written (the last value
//! with frames); the chain's messages stay on the event.

use serde_json::{Map, Value};

use super::{frames, in_app, line, message, path};
use crate::fields::text;

pub(super) fn render(chain: &[&Map<String, Value>]) -> (String, Vec<Vec<Option<bool>>>) {
    let Some(value) = chain.iter().rev().find(|v| !frames(v).is_empty()).or(chain.last()) else {
        return (String::new(), Vec::new());
    };
    let panic = message(value).or_else(|| text(value, "type")).unwrap_or("error");
    let mut out = format!("panic: {panic}\n\ngoroutine 1 [running]:\n");
    let frames = frames(value);
    for frame in frames.iter().rev() {
        out.push_str(&format!("{}(...)\n", symbol(frame)));
        out.push_str(&format!("\t{}:{}\n", path(frame).unwrap_or("?"), line(frame)));
    }
    (out, vec![frames.iter().rev().map(|f| in_app(f)).collect()])
}

/// `package.function` as Go prints it: sentry-go sends the package path as
/// `module` and `(*Type).Method` or `function` as `function`.
fn symbol(frame: &Map<String, Value>) -> String {
    let function = text(frame, "function").unwrap_or("unknown");
    match text(frame, "module") {
        Some(package) => format!("{package}.{function}"),
        None => function.to_string(),
    }
}
