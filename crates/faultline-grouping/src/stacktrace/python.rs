//! Python tracebacks, as printed by `traceback.format_exception`:
//!
//! ```text
//! Traceback (most recent call last):
//!   File "/srv/app/orders.py", line 42, in parse_quantity
//!     return int(raw)
//! ValueError: invalid literal for int() with base 10: 'abc'
//! ```
//!
//! Chained exceptions are printed root cause first, each block followed by
//! "During handling of the above exception, another exception occurred:"
//! (implicit `__context__`) or "The above exception was the direct cause of
//! the following exception:" (`raise ... from`); the last block is the
//! outermost. Exception groups (3.11+) prefix lines with `| `, which is
//! stripped so their frames are read too.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, RawFrame};
use crate::stacktrace::{Exception, Frame, Language};

static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in (?P<func>.+))?$"#)
        .expect("valid pattern")
});
static EXCEPTION_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$").expect("valid pattern"));

const HEADER: &str = "Traceback (most recent call last):";
const CHAIN_MARKERS: [&str; 2] = [
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
];

/// One printed block: frames in printed order (oldest call first).
#[derive(Default)]
struct Block {
    frames: Vec<Frame>,
    exception_type: Option<String>,
    message: Option<String>,
    started: bool,
}

impl Block {
    fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.exception_type.is_none()
    }

    /// Frames nearest the raise site first, chain-ready.
    fn finish(mut self) -> Exception {
        self.frames.reverse();
        Exception {
            exception_type: self.exception_type,
            message: self.message,
            frames: self.frames,
            raised_at: None,
        }
    }
}

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut printed: Vec<Exception> = Vec::new();
    let mut block = Block::default();
    for raw_line in lines {
        let line = strip_group_prefix(raw_line);
        if line.trim().ends_with(HEADER) || CHAIN_MARKERS.contains(&line.trim()) {
            if !block.is_empty() {
                printed.push(std::mem::take(&mut block).finish());
            }
            block.started = true;
        } else if let Some(frame) = parse_frame(line) {
            if block.exception_type.is_some() {
                printed.push(std::mem::take(&mut block).finish());
            }
            block.started = true;
            block.frames.push(frame);
        } else {
            read_exception_line(&mut block, line);
        }
    }
    if !block.is_empty() {
        printed.push(block.finish());
    }
    printed.reverse();
    printed
}

/// The `Type: message` line closing a block, or a continuation of its message.
fn read_exception_line(block: &mut Block, line: &str) {
    if !block.started || line.starts_with(char::is_whitespace) || line.trim().is_empty() {
        return;
    }
    if block.exception_type.is_some() {
        if let Some(message) = block.message.as_mut() {
            message.push('\n');
            message.push_str(line);
        }
        return;
    }
    if let Some(caps) = EXCEPTION_LINE.captures(line) {
        block.exception_type = caps.name("type").map(|m| m.as_str().to_string());
        block.message = caps.name("msg").map(|m| m.as_str().to_string());
    }
}

fn parse_frame(line: &str) -> Option<Frame> {
    let caps = FRAME.captures(line)?;
    let raw = RawFrame {
        module: None,
        function: caps.name("func").map(|m| m.as_str()),
        file: caps.name("file").map(|m| m.as_str()),
        line: caps.name("line").and_then(|m| m.as_str().parse().ok()),
    };
    Some(normalize_frame(Language::Python, &raw))
}

/// Strips exception-group framing (`  | `, `  +-+---`, `    +---- 1 ----`)
/// so the lines inside read like a plain traceback.
fn strip_group_prefix(line: &str) -> &str {
    let mut rest = line;
    for _ in 0..16 {
        let trimmed = rest.trim_start_matches(' ');
        match trimmed.strip_prefix("| ").or_else(|| trimmed.strip_prefix("+ ")) {
            Some(inner) => rest = inner,
            None if trimmed == "|" => return "",
            None => break,
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::lines::split;

    fn parse_text(text: &str) -> Vec<Exception> {
        parse(&split(text))
    }

    #[test]
    fn simple_traceback() {
        let text = r#"Traceback (most recent call last):
  File "/srv/app/handlers.py", line 18, in create_order
    qty = parse_quantity(payload["qty"])
          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/orders.py", line 42, in parse_quantity
    return int(raw)
           ^^^^^^^^
ValueError: invalid literal for int() with base 10: 'abc'
"#;
        let chain = parse_text(text);
        assert_eq!(chain.len(), 1);
        let e = &chain[0];
        assert_eq!(e.exception_type.as_deref(), Some("ValueError"));
        assert_eq!(e.message.as_deref(), Some("invalid literal for int() with base 10: 'abc'"));
        let keys: Vec<String> = e.frames.iter().map(Frame::grouping_key).collect();
        assert_eq!(keys, ["app.orders|parse_quantity", "app.handlers|create_order"]);
        assert_eq!(e.frames[0].line, Some(42));
    }

    #[test]
    fn library_frames_are_not_in_app() {
        let text = r#"Traceback (most recent call last):
  File "/srv/app/client.py", line 9, in fetch
    return requests.get(url, timeout=2)
  File "/usr/local/lib/python3.12/site-packages/requests/api.py", line 73, in get
    return request("get", url, params=params, **kwargs)
  File "/usr/local/lib/python3.12/site-packages/requests/adapters.py", line 519, in send
    raise ConnectionError(e, request=request)
requests.exceptions.ConnectionError: HTTPConnectionPool(host='inventory', port=80): Max retries exceeded
"#;
        let e = &parse_text(text)[0];
        assert_eq!(e.exception_type.as_deref(), Some("requests.exceptions.ConnectionError"));
        assert!(!e.frames[0].in_app);
        assert_eq!(e.frames[0].module.as_deref(), Some("requests.adapters"));
        assert!(e.frames[2].in_app);
    }

    #[test]
    fn chained_exceptions_are_outermost_first() {
        let text = r#"Traceback (most recent call last):
  File "/srv/app/cache.py", line 12, in lookup
    return self._data[key]
KeyError: 'user:42'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/views.py", line 30, in profile
    user = cache.lookup(f"user:{uid}")
  File "/srv/app/cache.py", line 14, in lookup
    raise CacheMiss(key) from None
app.errors.CacheMiss: user:42

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/views.py", line 33, in profile
    raise HTTPError(500) from exc
app.errors.HTTPError: 500
"#;
        let chain = parse_text(text);
        let types: Vec<_> = chain.iter().map(|e| e.exception_type.as_deref()).collect();
        assert_eq!(types, [Some("app.errors.HTTPError"), Some("app.errors.CacheMiss"), Some("KeyError")]);
        assert_eq!(chain[2].frames[0].grouping_key(), "app.cache|lookup");
    }

    #[test]
    fn multiline_messages_and_bare_types() {
        let text = "Traceback (most recent call last):\n  File \"/app/db.py\", line 5, in save\n    cur.execute(sql)\npsycopg2.errors.UniqueViolation: duplicate key value violates unique constraint \"users_email_key\"\nDETAIL:  Key (email)=(a@b.c) already exists.\n";
        let e = &parse_text(text)[0];
        assert_eq!(e.exception_type.as_deref(), Some("psycopg2.errors.UniqueViolation"));
        assert!(e.message.as_deref().is_some_and(|m| m.contains("\nDETAIL:")));
        let bare = parse_text("Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in <module>\nKeyboardInterrupt\n");
        assert_eq!(bare[0].exception_type.as_deref(), Some("KeyboardInterrupt"));
        assert_eq!(bare[0].message, None);
        assert_eq!(bare[0].frames[0].function.as_deref(), Some("<module>"));
    }

    #[test]
    fn exception_groups_are_read() {
        let text = r#"  + Exception Group Traceback (most recent call last):
  |   File "/app/main.py", line 10, in run
  |     raise ExceptionGroup("many", [ValueError(1)])
  | ExceptionGroup: many (1 sub-exception)
  +-+---------------- 1 ----------------
    | ValueError: 1
    +------------------------------------
"#;
        let chain = parse_text(text);
        assert_eq!(chain[0].frames[0].grouping_key(), "app.main|run");
    }

    #[test]
    fn garbage_yields_nothing() {
        assert!(parse_text("hello\nworld").is_empty());
        assert!(parse_text("").is_empty());
    }
}
