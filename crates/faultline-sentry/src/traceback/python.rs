//! Python: the traceback text `traceback.format_exception` prints, what
//! an OTel Python SDK sends as `exception.stacktrace`.
//!
//! Sentry lists chained exceptions root cause FIRST and the outermost LAST,
//! each with its frames oldest call first; Python prints the same order
//! (root cause block first), so the blocks are written as listed, joined by
//! Python's chain markers.

use serde_json::{Map, Value};

use super::{frames, in_app, line, message, path};
use crate::fields::{object, text};

const HEADER: &str = "Traceback (most recent call last):";
const CAUSE: &str = "The above exception was the direct cause of the following exception:";
const CONTEXT: &str = "During handling of the above exception, another exception occurred:";

/// The traceback of a chain (root cause first), and its frames' `in_app`
/// flags in grouping's order.
pub(super) fn render(chain: &[&Map<String, Value>]) -> (String, Vec<Vec<Option<bool>>>) {
    let mut out = String::new();
    let mut previous_implicit = false;
    for (index, value) in chain.iter().enumerate() {
        if index > 0 {
            // The marker says how the NEXT (outer) exception relates to the
            // one above; sentry-python marks `__context__` chains on the
            // inner exception's mechanism.
            out.push('\n');
            out.push_str(if previous_implicit { CONTEXT } else { CAUSE });
            out.push_str("\n\n");
        }
        out.push_str(&render_one(value));
        previous_implicit = is_implicit_context(value);
    }
    let flags = chain.iter().rev().map(|v| frames(v).iter().rev().map(|f| in_app(f)).collect()).collect();
    (out, flags)
}

/// One exception: its frames (if any) and its `module.Type: value` line.
fn render_one(value: &Map<String, Value>) -> String {
    let frames = frames(value);
    let mut out = String::new();
    if !frames.is_empty() {
        out.push_str(HEADER);
        out.push('\n');
        for frame in frames {
            write_frame(&mut out, frame);
        }
    }
    // A stack without an exception (a thread's, a message event's) ends
    // at its frames.
    if let Some(type_line) = type_line(value) {
        out.push_str(&type_line);
        out.push('\n');
    }
    out
}

/// `  File "/srv/app/orders.py", line 42, in parse_quantity` and the
/// source line below it, as Python prints them.
fn write_frame(out: &mut String, frame: &Map<String, Value>) {
    let file = path(frame).unwrap_or("<unknown>");
    let line = line(frame);
    let function = text(frame, "function").unwrap_or("<module>");
    out.push_str(&format!("  File \"{file}\", line {line}, in {function}\n"));
    if let Some(source) = text(frame, "context_line") {
        out.push_str("    ");
        out.push_str(source);
        out.push('\n');
    }
}

/// `shop.orders.OrderError: order 3001...`: Python qualifies a type by its
/// module except for built-ins and `__main__`; `KeyError` alone when there
/// is no value.
fn type_line(value: &Map<String, Value>) -> Option<String> {
    let name = text(value, "type")?;
    let qualified = match text(value, "module") {
        Some(module) if module != "builtins" && module != "__main__" && !name.contains('.') => {
            format!("{module}.{name}")
        }
        _ => name.to_string(),
    };
    // The message may span lines; Python prints it as it is.
    Some(match message(value) {
        Some(message) => format!("{qualified}: {message}"),
        None => qualified,
    })
}

/// Whether the outer exception was raised while handling this one
/// (`__context__`) rather than from it (`raise ... from`).
fn is_implicit_context(value: &Map<String, Value>) -> bool {
    object(value, "mechanism").and_then(|m| text(m, "source")) == Some("__context__")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_a_chain_as_python_prints_it() {
        let values = json!([
            {"type": "KeyError", "value": "'SKU-404'", "module": null, "stacktrace": {"frames": [
                {"filename": "shop/orders.py", "abs_path": "/app/shop/orders.py", "function": "reserve_stock",
                 "lineno": 17, "context_line": "        available = STOCK[sku]"}]}},
            {"type": "OrderError", "value": "order 3001: unknown sku 'SKU-404'", "module": "shop.orders",
             "stacktrace": {"frames": [
                {"abs_path": "/app/main.py", "function": "main", "lineno": 52},
                {"abs_path": "/app/shop/orders.py", "function": "reserve_stock", "lineno": 19,
                 "context_line": "        raise OrderError(f\"order {order_id}\") from e"}]}}
        ]);
        let text = crate::traceback::render(values.as_array().unwrap(), Some("python")).unwrap().text;
        assert_eq!(
            text,
            "Traceback (most recent call last):
  File \"/app/shop/orders.py\", line 17, in reserve_stock
    available = STOCK[sku]
KeyError: 'SKU-404'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File \"/app/main.py\", line 52, in main
  File \"/app/shop/orders.py\", line 19, in reserve_stock
    raise OrderError(f\"order {order_id}\") from e
shop.orders.OrderError: order 3001: unknown sku 'SKU-404'
"
        );
    }

    #[test]
    fn implicit_context_and_bare_types() {
        let values = json!([
            {"type": "ZeroDivisionError", "value": "division by zero", "mechanism": {"source": "__context__"}},
            {"type": "RuntimeError", "module": "__main__"}
        ]);
        let text = crate::traceback::render(values.as_array().unwrap(), Some("python")).unwrap().text;
        assert!(text.contains(CONTEXT), "{text}");
        assert!(text.ends_with("\nRuntimeError\n"), "{text}");
        assert_eq!(crate::traceback::render(&[json!({"value": "no type"}), json!(3)], Some("python")), None);
    }
}
