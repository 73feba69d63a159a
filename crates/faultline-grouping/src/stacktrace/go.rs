//! Go panics and `runtime/debug.Stack()` output:
//!
//! File lines are tab-indented (shown here with spaces):
//!
//! ```text
//! panic: runtime error: invalid memory address or nil pointer dereference
//! [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f5c2]
//!
//! goroutine 1 [running]:
//! main.(*Server).handle(0xc000010000, {0x4d1a40, 0xc0000a6000})
//!     /home/dev/shop/server.go:42 +0x22
//! created by net/http.(*Server).Serve in goroutine 1
//!     /usr/local/go/src/net/http/server.go:3285 +0x4b4
//! ```
//!
//! A fatal error (`fatal error: stack overflow`) prints the runtime's own
//! stack first, under `runtime stack:`, then the goroutines with frame
//! pointers after each location (`+0x5d fp=0xc… sp=0xc… pc=0x4…`).
//!
//! Only the first goroutine is read: with `GOTRACEBACK=all` the others are
//! bystanders. Frames are printed innermost first; a `created by` line is
//! the outermost frame (where the goroutine was started). Go has no
//! exception types: the panic value becomes the message.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, RawFrame};
use crate::stacktrace::{Exception, Frame, Language};

/// `\tfile:line[ +0xpc]`; fatal errors (`fatal error: stack overflow`,
/// `GOTRACEBACK=system`) append ` fp=0x… sp=0x… pc=0x…`.
static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\t(?P<file>\S.*?):(?P<line>\d+)(?: \+0x[0-9a-f]+)?(?: fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?\s*$")
        .expect("valid pattern")
});

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut exception = Exception { message: panic_message(lines), ..Exception::default() };
    let start = lines.iter().position(|l| l.starts_with("goroutine ")).unwrap_or(0);
    let mut index = start;
    while let Some(line) = lines.get(index) {
        if index > start
            && (line.starts_with("goroutine ") || line.is_empty())
            && !exception.frames.is_empty()
        {
            break;
        }
        let location = lines.get(index + 1).and_then(|next| LOCATION.captures(next));
        match (location, function_line(line)) {
            (Some(caps), Some(symbol)) => {
                let file = caps.name("file").map(|m| m.as_str());
                let line_number = caps.name("line").and_then(|m| m.as_str().parse().ok());
                exception.frames.push(frame(symbol, file, line_number));
                index += 2;
            }
            _ => index += 1,
        }
    }
    vec![exception]
}

/// `panic: <value>` or `fatal error: <message>`; `[recovered]` markers go.
fn panic_message(lines: &[&str]) -> Option<String> {
    lines.iter().find_map(|line| {
        let value = line.strip_prefix("panic: ").or_else(|| line.strip_prefix("fatal error: "))?;
        Some(value.trim_end_matches(" [recovered]").trim().to_string())
    })
}

/// The function of a frame: the line without its argument list and,
/// for `created by` lines, without `in goroutine N`.
fn function_line(line: &str) -> Option<&str> {
    if line.starts_with(char::is_whitespace) || line.is_empty() {
        return None;
    }
    let line = line.strip_prefix("created by ").unwrap_or(line);
    let line = line.split(" in goroutine ").next().unwrap_or(line).trim_end();
    Some(strip_arguments(line))
}

/// `main.(*T).m(0xc0000, {0x1, 0x2})` → `main.(*T).m`: drops the trailing
/// balanced parenthesis group only, keeping the receiver's `(*T)`.
fn strip_arguments(line: &str) -> &str {
    if !line.ends_with(')') {
        return line;
    }
    let mut depth = 0usize;
    for (at, c) in line.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return line.get(..at).unwrap_or(line);
                }
            }
            _ => {}
        }
    }
    line
}

/// Splits `github.com/acme/shop/orders.(*Service).Load` into package
/// `github.com/acme/shop/orders` and function `(*Service).Load`: the
/// package ends at the first dot after the last slash.
fn frame(symbol: &str, file: Option<&str>, line: Option<u32>) -> Frame {
    let last_slash = symbol.rfind('/').map_or(0, |at| at + 1);
    let split = symbol.get(last_slash..).and_then(|tail| tail.find('.')).map(|dot| last_slash + dot);
    let (package, function) = match split {
        Some(dot) => (symbol.get(..dot), symbol.get(dot + 1..)),
        None => (None, Some(symbol)),
    };
    let raw = RawFrame { module: package, function, file, line };
    normalize_frame(Language::Go, &raw)
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
    fn panic_with_goroutines() {
        let text = "panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6a3f2c]

goroutine 34 [running]:
github.com/acme/shop/internal/orders.(*Service).Load(0x0, {0x8d4e20, 0xc0001a2000}, 0x2a)
\t/home/dev/shop/internal/orders/service.go:42 +0x2c
github.com/acme/shop/internal/api.(*Server).handleOrder.func1({0x8d1b40, 0xc00019e000})
\t/home/dev/shop/internal/api/server.go:88 +0x11d
net/http.HandlerFunc.ServeHTTP(0xc000180000?, {0x8d1b40?, 0xc00019e000?}, 0xc000188000?)
\t/usr/local/go/src/net/http/server.go:2166 +0x29
github.com/lib/pq.(*conn).query(0xc0000, {0x1, 0x2})
\t/root/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go:901 +0x5e
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3285 +0x4b4

goroutine 1 [IO wait]:
internal/poll.runtime_pollWait(0x7f, 0x72)
\t/usr/local/go/src/runtime/netpoll.go:345 +0x85
exit status 2";
        let e = parse_text(text);
        assert_eq!(e.exception_type, None);
        assert_eq!(
            e.message.as_deref(),
            Some("runtime error: invalid memory address or nil pointer dereference")
        );
        assert_eq!(
            keys(&e),
            [
                "github.com/acme/shop/internal/orders|(*Service).Load",
                "github.com/acme/shop/internal/api|(*Server).handleOrder.func",
                "net/http|HandlerFunc.ServeHTTP",
                "github.com/lib/pq|(*conn).query",
                "net/http|(*Server).Serve",
            ]
        );
        let in_app: Vec<bool> = e.frames.iter().map(|f| f.in_app).collect();
        assert_eq!(in_app, [true, true, false, false, false]);
        assert_eq!(e.frames[0].line, Some(42));
        assert_eq!(e.frames[3].file.as_deref(), Some("github.com/lib/pq/conn.go"));
    }

    #[test]
    fn debug_stack_and_main_package() {
        let text = "goroutine 1 [running]:
runtime/debug.Stack()
\t/usr/local/go/src/runtime/debug/stack.go:24 +0x5e
main.process.func1()
\t/app/main.go:15 +0x25
main.Map[...](...)
\t/app/main.go:30
main.main()
\t/app/main.go:9 +0x1d
";
        let e = parse_text(text);
        assert_eq!(e.message, None);
        assert_eq!(keys(&e), ["runtime/debug|Stack", "main|process.func", "main|Map", "main|main"]);
        assert!(!e.frames[0].in_app);
        assert!(e.frames[1].in_app);
    }

    #[test]
    fn fatal_errors_with_frame_pointers() {
        let text = "runtime: goroutine stack exceeds 1000000000-byte limit
runtime: sp=0xc0200e1390 stack=[0xc0200e0000, 0xc0400e0000]
fatal error: stack overflow

runtime stack:
runtime.throw({0x557784?, 0x640ba0?})
\t/usr/local/go/src/runtime/panic.go:1047 +0x5d fp=0x7ffca59eaee0 sp=0x7ffca59eaeb0 pc=0x435d3d
runtime.morestack()
\t/usr/local/go/src/runtime/asm_amd64.s:570 +0x8b fp=0x7ffca59eb0a0 sp=0x7ffca59eb098 pc=0x46322b

goroutine 1 [running]:
example.com/shop/internal/shop.(*Shop).CategoryPath(0xc0000c0060, {0x5559ca, 0x6})
\t/app/internal/shop/catalog.go:12 +0x5d fp=0xc0010f0420 sp=0xc0010f03c8 pc=0x51bb3d
main.main()
\t/app/main.go:9 +0x1d fp=0xc0010f0f80 sp=0xc0010f0f60 pc=0x51bb9d

goroutine 2 [force gc (idle)]:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
\t/usr/local/go/src/runtime/proc.go:363 +0xd6 fp=0xc00003cfb0 sp=0xc00003cf90 pc=0x438956
";
        let e = parse_text(text);
        assert_eq!(e.message.as_deref(), Some("stack overflow"));
        assert_eq!(keys(&e), ["example.com/shop/internal/shop|(*Shop).CategoryPath", "main|main"]);
        assert_eq!(e.frames[0].line, Some(12));
    }

    #[test]
    fn text_without_frames() {
        let e = parse_text("panic: boom [recovered]");
        assert!(e.frames.is_empty());
        assert_eq!(e.message.as_deref(), Some("boom"));
    }
}
