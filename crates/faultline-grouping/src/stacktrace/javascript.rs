//! JavaScript `error.stack` text from V8 (Node, Chrome, Edge, Deno, Bun) and
//! from SpiderMonkey / JavaScriptCore (Firefox, Safari):
//!
//! ```text
//! TypeError: Cannot read properties of undefined (reading 'id')
//!     at getUser (/srv/app/src/users.js:12:19)
//!     at async Promise.all (index 0)
//!     at /srv/app/src/handler.js:44:7
//! ```
//! ```text
//! getUser@https://shop.example.com/static/js/main.3f2a1b.js:1:2345
//! @https://shop.example.com/static/js/main.3f2a1b.js:1:999
//! ```
//!
//! Both print the raise site first. `error.cause` is not part of `stack`,
//! so the chain always has one exception.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, RawFrame};
use crate::stacktrace::{Exception, Frame, Language};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid pattern")
}

/// V8: `at [async ][new ]fn (location)`.
static V8_NAMED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*at (?:async )?(?:new )?(?P<func>.+?) \((?P<location>.*)\)\s*$"));
/// V8: `at [async ]location` for anonymous functions.
static V8_ANONYMOUS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*at (?:async )?(?P<location>\S.*?:\d+(?::\d+)?)\s*$"));
/// Firefox/Safari: `fn@location`, `@location`, `fn@[native code]`.
static AT_SIGN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^(?P<func>[^@\s][^@]*|)@(?P<location>\S.*:\d+(?::\d+)?|\[native code\])\s*$"));
/// `file:line[:column]`.
static LOCATION: LazyLock<Regex> = LazyLock::new(|| regex(r"^(?P<file>.*?):(?P<line>\d+)(?::\d+)?$"));
/// An error header: `TypeError: message`, `Uncaught Error: x`, `AbortError`.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^(?:Uncaught (?:\(in promise\) )?)?(?P<type>[A-Za-z_$][\w$.]*)(?::\s?(?P<msg>.*))?$")
});

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut exception = Exception::default();
    let mut preamble: Vec<&str> = Vec::new();
    for line in lines {
        match parse_frame(line) {
            Some(frame) => exception.frames.push(frame),
            None if exception.frames.is_empty() => preamble.push(line),
            None => {}
        }
    }
    read_header(&mut exception, &preamble);
    vec![exception]
}

/// Finds the error line among the lines before the first frame. Node
/// prints the throwing source line and a caret above it for uncaught
/// errors, so the first line that looks like `Type: message` wins over
/// the first line.
fn read_header(exception: &mut Exception, preamble: &[&str]) {
    let candidates = || preamble.iter().map(|l| l.trim()).filter(|l| !l.is_empty());
    let typed = candidates().find_map(|line| {
        let caps = HEADER.captures(line)?;
        let name = caps.name("type")?.as_str();
        let looks_like_type =
            name.ends_with("Error") || name.ends_with("Exception") || caps.name("msg").is_some();
        looks_like_type.then(|| (name.to_string(), caps.name("msg").map(|m| m.as_str().to_string())))
    });
    match typed {
        Some((name, message)) => {
            exception.exception_type = Some(name);
            exception.message = message;
        }
        None => exception.message = candidates().next().map(str::to_string),
    }
}

fn parse_frame(line: &str) -> Option<Frame> {
    let (function, location) = if let Some(caps) = V8_NAMED.captures(line) {
        (caps.name("func").map(|m| m.as_str()), caps.name("location")?.as_str())
    } else if let Some(caps) = V8_ANONYMOUS.captures(line) {
        (None, caps.name("location")?.as_str())
    } else {
        let caps = AT_SIGN.captures(line)?;
        let function = caps.name("func").map(|m| m.as_str());
        if function.is_some_and(|f| f.contains(": ")) {
            return None; // `Error: mail bob@example.com:25` is a header, not a frame
        }
        (function, caps.name("location")?.as_str())
    };
    let (file, line_number) = split_location(location);
    let raw = RawFrame { module: None, function, file, line: line_number };
    Some(normalize_frame(Language::JavaScript, &raw))
}

/// `file:line:col` → (file, line). `eval at f (file.js:1:2), <anonymous>:1:1`
/// is located at its outer file. Built-ins (`native`, `<anonymous>`,
/// `index 0`, `[native code]`) have no file.
fn split_location(location: &str) -> (Option<&str>, Option<u32>) {
    let location = match location.strip_prefix("eval at ") {
        Some(rest) => {
            rest.split_once('(').and_then(|(_, inner)| inner.split_once(')')).map_or(rest, |(inner, _)| inner)
        }
        None => location,
    };
    match LOCATION.captures(location) {
        Some(caps) => (
            caps.name("file").map(|m| m.as_str()).filter(|f| !f.is_empty()),
            caps.name("line").and_then(|m| m.as_str().parse().ok()),
        ),
        None => (None, None),
    }
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

    #[test]
    fn node_stack() {
        let text = "TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/srv/app/src/users.js:12:19)
    at async Promise.all (index 0)
    at Object.<anonymous> (/srv/app/src/index.js:3:1)
    at /srv/app/src/handler.js:44:7
    at new OrderService (file:///srv/app/src/orders.mjs:8:11)
    at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)
    at Array.map (<anonymous>)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)";
        let e = parse_text(text);
        assert_eq!(e.exception_type.as_deref(), Some("TypeError"));
        assert_eq!(e.message.as_deref(), Some("Cannot read properties of undefined (reading 'id')"));
        assert_eq!(
            keys(&e),
            [
                "src/users.js|getUser",
                "|Promise.all",
                "src/index.js|Object",
                "src/handler.js|",
                "src/orders.mjs|OrderService",
                "express/lib/router/layer.js|Layer.handle",
                "|Array.map",
                "node:internal/process/task_queues|process.processTicksAndRejections",
            ]
        );
        let in_app: Vec<bool> = e.frames.iter().map(|f| f.in_app).collect();
        assert_eq!(in_app, [true, false, true, true, true, false, false, false]);
    }

    #[test]
    fn uncaught_node_error_with_source_excerpt() {
        let text = "/srv/app/src/cart.js:20
    throw new CartError(`cart ${id} is empty`);
    ^

CartError: cart 42 is empty
    at checkout (/srv/app/src/cart.js:20:11)";
        let e = parse_text(text);
        assert_eq!(e.exception_type.as_deref(), Some("CartError"));
        assert_eq!(e.message.as_deref(), Some("cart 42 is empty"));
        assert_eq!(keys(&e), ["src/cart.js|checkout"]);
    }

    #[test]
    fn firefox_and_safari_stacks() {
        let text = "getUser@https://shop.example.com/static/js/main.3f2a1b.js:1:2345
render/<@https://shop.example.com/static/js/main.3f2a1b.js:1:999
@https://shop.example.com/static/js/main.3f2a1b.js:1:100
forEach@[native code]
global code@https://shop.example.com/app.js:3:7";
        let e = parse_text(text);
        assert_eq!(
            keys(&e),
            [
                "static/js/main.js|getUser",
                "static/js/main.js|render",
                "static/js/main.js|",
                "|forEach",
                "app.js|global code",
            ]
        );
        assert!(!e.frames[3].in_app);
    }

    #[test]
    fn bundle_hashes_do_not_split_groups() {
        let a = parse_text("Error: x\n    at pay (https://cdn.example.com/assets/index-3f2a1b9c.js:1:500)");
        let b = parse_text("Error: x\n    at pay (https://cdn.example.com/assets/index-77aa0e12.js:1:512)");
        assert_eq!(keys(&a), keys(&b));
    }

    #[test]
    fn eval_frames_use_the_outer_file() {
        let e = parse_text(
            "Error: boom\n    at eval (eval at compile (/srv/app/src/tpl.js:5:3), <anonymous>:1:1)",
        );
        assert_eq!(keys(&e), ["src/tpl.js|eval"]);
    }

    #[test]
    fn header_with_an_address_is_not_a_frame() {
        let e =
            parse_text("Error: cannot reach bob@mail.example.com:25\n    at send (/srv/app/src/mail.js:3:9)");
        assert_eq!(keys(&e), ["src/mail.js|send"]);
        assert_eq!(e.message.as_deref(), Some("cannot reach bob@mail.example.com:25"));
    }

    #[test]
    fn plain_text_has_no_frames() {
        let e = parse_text("something went wrong");
        assert!(e.frames.is_empty());
        assert_eq!(e.message.as_deref(), Some("something went wrong"));
    }
}
