//! JVM stack traces (Java, Kotlin, Scala), as `Throwable.printStackTrace`
//! and logging frameworks print them:
//!
//! Frame lines are tab-indented (shown here with spaces):
//!
//! ```text
//! java.lang.IllegalStateException: Order 42 not found
//!     at com.acme.orders.OrderService.load(OrderService.java:87)
//!     at java.base/java.util.Optional.orElseThrow(Optional.java:403)
//! Caused by: java.sql.SQLException: Connection refused
//!     at org.postgresql.Driver.connect(Driver.java:285)
//!     ... 23 more
//! ```
//!
//! The chain is printed outermost first; `Caused by:` blocks end with
//! `... N more`, meaning "my last N frames are my enclosing exception's last
//! N frames". Those are put back, so a root cause whose own frames are all
//! in a JDBC driver still reaches the application frames that called it.
//! `Suppressed:` blocks are not part of the causal chain and are skipped.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::limits::MAX_FRAMES;
use crate::normalize::{normalize_frame, RawFrame};
use crate::stacktrace::lines::indent;
use crate::stacktrace::{is_retained, Exception, Frame, Language};

/// `at [classloader/][module@version/]pkg.Class.method(File.java:12)`, with
/// anything after (logback's `~[app.jar:1.0]`) ignored.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at\s+(?:[\w.-]*(?:@[\w.+-]*)?/)*(?P<symbol>[^\s(/]+(?:/0x[0-9a-f]+)?[^\s(]*)\((?P<location>[^)]*)\)")
        .expect("valid pattern")
});
/// `pkg.Type: message`, optionally after `Caused by: ` or `Exception in thread "main" `.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?P<cause>Caused by: )?(?:Exception in thread "[^"]*" )?(?P<type>[A-Za-z_$][\w$]*(?:\.[\w$]+)+)(?::\s?(?P<msg>.*))?$"#)
        .expect("valid pattern")
});
static ELIDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\.\.\. (?P<n>\d+) (?:more|common frames omitted)").expect("valid pattern")
});

/// One exception as printed, before `... N more` is expanded.
///
/// Only the first [`MAX_FRAMES`] frames are parsed as they are read: the
/// rest would be cut from this exception anyway, and only a cause's
/// `... N more` can reach them, so they are kept as lines and parsed when
/// that happens. A `StackOverflowError` prints 1024 frames; grouping uses
/// at most `MAX_FRAMES`.
#[derive(Default)]
struct Block<'a> {
    /// Type, message and the first `MAX_FRAMES` frames, parsed.
    exception: Exception,
    /// Every frame line of the block, the parsed ones included.
    frame_lines: Vec<&'a str>,
    elided: usize,
}

impl Block<'_> {
    /// Frame `index` of the block: the parsed one, or its line parsed now.
    fn frame(&self, index: usize) -> Option<Frame> {
        match self.exception.frames.get(index) {
            Some(frame) => Some(frame.clone()),
            None => self.frame_lines.get(index).and_then(|line| parse_frame(line)),
        }
    }
}

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let blocks = read_blocks(lines);
    let total = blocks.len();
    (0..total)
        .filter(|&index| is_retained(index, total))
        .filter_map(|index| {
            let block = blocks.get(index)?;
            Some(Exception {
                exception_type: block.exception.exception_type.clone(),
                message: block.exception.message.clone(),
                frames: expanded_frames(&blocks, index),
                raised_at: None,
            })
        })
        .collect()
}

fn read_blocks<'a>(lines: &[&'a str]) -> Vec<Block<'a>> {
    let mut blocks: Vec<Block<'a>> = Vec::new();
    let mut suppressed_indent: Option<usize> = None;
    let mut known = KnownFrames::default();
    for line in lines {
        if let Some(depth) = suppressed_indent {
            if indent(line) >= depth && !line.trim().is_empty() {
                continue;
            }
            suppressed_indent = None;
        }
        if line.trim_start().starts_with("Suppressed: ") {
            suppressed_indent = Some(indent(line).max(1));
        } else if known.is_frame(line) {
            let block = current(&mut blocks);
            if block.exception.frames.len() < MAX_FRAMES {
                block.exception.frames.extend(known.parse(line));
            }
            block.frame_lines.push(line);
        } else if let Some(n) = ELIDED.captures(line).and_then(|c| c["n"].parse().ok()) {
            current(&mut blocks).elided = n;
        } else {
            read_header(&mut blocks, line);
        }
    }
    blocks
}

/// The frame lines of one trace parsed so far, by their text. A recursion
/// (a `StackOverflowError`) prints the same few lines hundreds of times; each
/// is parsed once and copied after that. Parsing depends on the line alone,
/// so a copy is what parsing it again would give.
#[derive(Default)]
struct KnownFrames<'a> {
    parsed: HashMap<&'a str, Frame>,
}

impl<'a> KnownFrames<'a> {
    fn is_frame(&self, line: &str) -> bool {
        self.parsed.contains_key(line) || FRAME.is_match(line)
    }

    fn parse(&mut self, line: &'a str) -> Option<Frame> {
        if let Some(frame) = self.parsed.get(line) {
            return Some(frame.clone());
        }
        let frame = parse_frame(line)?;
        self.parsed.insert(line, frame.clone());
        Some(frame)
    }
}

fn current<'b, 'a>(blocks: &'b mut Vec<Block<'a>>) -> &'b mut Block<'a> {
    if blocks.is_empty() {
        blocks.push(Block::default());
    }
    let last = blocks.len() - 1;
    &mut blocks[last]
}

/// A `Type: message` line starts an exception: the first one, or a new one
/// after `Caused by:`. Other lines before the first frame continue the message.
fn read_header(blocks: &mut Vec<Block>, line: &str) {
    if line.trim().is_empty() {
        return;
    }
    let caps = HEADER.captures(line);
    let is_cause = caps.as_ref().is_some_and(|c| c.name("cause").is_some());
    let fresh =
        blocks.last().is_none_or(|b| b.exception.exception_type.is_none() && b.exception.frames.is_empty());
    match caps {
        Some(caps) if is_cause || fresh => {
            if !fresh {
                blocks.push(Block::default());
            }
            let exception = &mut current(blocks).exception;
            exception.exception_type = caps.name("type").map(|m| m.as_str().to_string());
            exception.message = caps.name("msg").map(|m| m.as_str().to_string());
        }
        _ => append_message(blocks, line),
    }
}

fn append_message(blocks: &mut [Block<'_>], line: &str) {
    if let Some(block) = blocks.last_mut() {
        if block.exception.frames.is_empty() {
            if let Some(message) = block.exception.message.as_mut() {
                message.push('\n');
                message.push_str(line);
            }
        }
    }
}

/// A block's own frames plus the `... N more` frames shared with its
/// enclosing exceptions, the first [`MAX_FRAMES`] of them (all the chain
/// keeps). Walks up the chain instead of materializing every level, so a
/// 10,000-level chain costs one walk per retained exception.
fn expanded_frames(blocks: &[Block<'_>], index: usize) -> Vec<Frame> {
    let Some(block) = blocks.get(index) else {
        return Vec::new();
    };
    let mut frames = block.exception.frames.clone();
    let mut needed = block.elided;
    let mut parent = index;
    while needed > 0 && parent > 0 && frames.len() < MAX_FRAMES {
        parent -= 1;
        let Some(enclosing) = blocks.get(parent) else { break };
        // The enclosing block's full list is its own frames followed by
        // `elided` inherited ones; take what falls in its own part.
        if needed > enclosing.elided {
            let own = enclosing.frame_lines.len();
            let from_own = (needed - enclosing.elided).min(own);
            let wanted = from_own.min(MAX_FRAMES - frames.len());
            frames.extend((own - from_own..own).take(wanted).filter_map(|i| enclosing.frame(i)));
            needed = enclosing.elided;
        }
    }
    frames
}

fn parse_frame(line: &str) -> Option<Frame> {
    let caps = FRAME.captures(line)?;
    let symbol = caps.name("symbol")?.as_str();
    let (class, method) = match symbol.rsplit_once('.') {
        Some((class, method)) => (Some(class), method),
        None => (None, symbol),
    };
    let (file, line_number) = split_location(caps.name("location").map_or("", |m| m.as_str()));
    let raw = RawFrame { module: class, function: Some(method), file, line: line_number };
    Some(normalize_frame(Language::Java, &raw))
}

/// `OrderService.java:87` → (file, line); `Native Method`, `Unknown Source`
/// and `<generated>` name no file.
fn split_location(location: &str) -> (Option<&str>, Option<u32>) {
    match location.rsplit_once(':') {
        Some((file, line)) => (Some(file), line.parse().ok()),
        None if location.contains('.') && !location.contains(' ') => (Some(location), None),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::lines::split;

    fn parse_text(text: &str) -> Vec<Exception> {
        parse(&split(text))
    }

    fn keys(exception: &Exception) -> Vec<String> {
        exception.frames.iter().map(Frame::grouping_key).collect()
    }

    const TRACE: &str = "java.lang.IllegalStateException: Order 42 not found
\tat com.acme.orders.OrderService.load(OrderService.java:87)
\tat com.acme.orders.OrderService.lambda$process$0(OrderService.java:51)
\tat java.base/java.util.Optional.orElseThrow(Optional.java:403)
\tat com.acme.orders.OrderController$$SpringCGLIB$$0.process(<generated>)
\tat com.acme.Main$1.run(Main.java:12)
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)
\tat app//com.acme.Boot.main(Boot.java:9)
";

    #[test]
    fn frames_and_generated_names() {
        let chain = parse_text(TRACE);
        assert_eq!(chain.len(), 1);
        let e = &chain[0];
        assert_eq!(e.exception_type.as_deref(), Some("java.lang.IllegalStateException"));
        assert_eq!(e.message.as_deref(), Some("Order 42 not found"));
        assert_eq!(
            keys(e),
            [
                "com.acme.orders.OrderService|load",
                "com.acme.orders.OrderService|lambda$process",
                "java.util.Optional|orElseThrow",
                "com.acme.orders.OrderController$$SpringCGLIB|process",
                "com.acme.Main|run",
                "jdk.internal.reflect.DirectMethodHandleAccessor|invoke",
                "com.acme.Boot|main",
            ]
        );
        assert!(e.frames[0].in_app);
        assert!(!e.frames[2].in_app);
        assert_eq!(e.frames[0].line, Some(87));
        assert_eq!(e.frames[0].file.as_deref(), Some("OrderService.java"));
    }

    #[test]
    fn caused_by_chain_with_elided_frames() {
        let text = "Exception in thread \"main\" java.lang.RuntimeException: checkout failed
\tat com.acme.shop.Checkout.run(Checkout.java:40)
\tat com.acme.shop.Main.main(Main.java:10)
Caused by: com.acme.shop.PaymentException: card declined
\tat com.acme.shop.Payments.charge(Payments.java:77)
\tat com.acme.shop.Checkout.run(Checkout.java:38)
\t... 1 more
Caused by: java.net.ConnectException: Connection refused
\tat java.base/sun.nio.ch.Net.connect0(Native Method)
\tat java.base/sun.nio.ch.Net.connect(Net.java:579)
\t... 3 more
";
        let chain = parse_text(text);
        let types: Vec<_> = chain.iter().map(|e| e.exception_type.as_deref().unwrap_or("")).collect();
        assert_eq!(
            types,
            ["java.lang.RuntimeException", "com.acme.shop.PaymentException", "java.net.ConnectException"]
        );
        assert_eq!(
            keys(&chain[2]),
            [
                "sun.nio.ch.Net|connect0",
                "sun.nio.ch.Net|connect",
                "com.acme.shop.Payments|charge",
                "com.acme.shop.Checkout|run",
                "com.acme.shop.Main|main",
            ]
        );
        assert_eq!(chain[2].frames[0].file, None, "Native Method names no file");
    }

    #[test]
    fn suppressed_blocks_are_skipped() {
        let text = "java.io.IOException: write failed
\tat com.acme.Out.write(Out.java:5)
\tSuppressed: java.io.IOException: close failed
\t\tat com.acme.Out.close(Out.java:9)
\t\t... 1 more
\tCaused by: java.lang.Error: inner
\t\tat com.acme.Out.flush(Out.java:12)
Caused by: java.lang.IllegalArgumentException: bad
\tat com.acme.Codec.encode(Codec.java:3)
\t... 1 more
";
        let chain = parse_text(text);
        assert_eq!(chain.len(), 2);
        assert_eq!(keys(&chain[0]), ["com.acme.Out|write"]);
        assert_eq!(keys(&chain[1]), ["com.acme.Codec|encode", "com.acme.Out|write"]);
    }

    #[test]
    fn kotlin_lambdas_and_hidden_classes() {
        let text = "kotlin.KotlinNullPointerException
\tat com.acme.Api$handler$1.invokeSuspend(Api.kt:22)
\tat com.acme.Svc$$Lambda/0x000001f8a1044c30.apply(Unknown Source)
\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33)
";
        let e = &parse_text(text)[0];
        assert_eq!(e.exception_type.as_deref(), Some("kotlin.KotlinNullPointerException"));
        assert_eq!(e.message, None);
        assert_eq!(
            keys(e),
            [
                "com.acme.Api$handler|invokeSuspend",
                "com.acme.Svc$$Lambda|apply",
                "kotlin.coroutines.jvm.internal.BaseContinuationImpl|resumeWith",
            ]
        );
    }

    #[test]
    fn logback_suffixes_and_multiline_messages() {
        let text = "org.springframework.dao.DataIntegrityViolationException: could not execute statement
  Detail: Key (email)=(x) already exists.
\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convert(HibernateJpaDialect.java:290) ~[spring-orm-6.1.4.jar:6.1.4]
\tat com.acme.UserRepo.save(UserRepo.java:20) ~[classes/:na]
\t... 3 common frames omitted
";
        let e = &parse_text(text)[0];
        assert!(e.message.as_deref().is_some_and(|m| m.contains("Detail:")));
        assert_eq!(keys(e)[1], "com.acme.UserRepo|save");
        assert!(e.frames[1].in_app);
    }

    #[test]
    fn deep_chains_stay_bounded() {
        let mut text = String::from("java.lang.Error: top\n\tat a.B.c(B.java:1)\n");
        for i in 0..10_000 {
            text.push_str(&format!(
                "Caused by: java.lang.Error: level {i}\n\tat a.B.c{i}(B.java:1)\n\t... 1 more\n"
            ));
        }
        let chain = parse_text(&text);
        assert_eq!(chain.len(), crate::limits::MAX_CHAIN);
        assert_eq!(chain[0].message.as_deref(), Some("top"));
        let root = chain.last().map(keys);
        assert_eq!(root, Some(vec!["a.B|c6665".to_string(), "a.B|c".to_string()]));
    }

    #[test]
    fn frames_past_the_cap_are_still_inherited_by_a_cause() {
        let mut text = String::from("java.lang.RuntimeException: outer\n");
        for i in 0..1000 {
            text.push_str(&format!("\tat a.Outer.f{i}(Outer.java:{i})\n"));
        }
        text.push_str(
            "Caused by: java.lang.StackOverflowError\n\tat a.Inner.g(Inner.java:1)\n\t... 300 more\n",
        );
        let chain = parse_text(&text);
        assert_eq!(chain[0].frames.len(), MAX_FRAMES);
        assert_eq!(keys(&chain[0])[255], "a.Outer|f255");
        let root = keys(&chain[1]);
        // The cause's own frame, then the last 300 of the outer's, cut to the cap.
        assert_eq!(root.len(), MAX_FRAMES);
        assert_eq!(root[0], "a.Inner|g");
        assert_eq!(root[1], "a.Outer|f700");
        assert_eq!(root[255], "a.Outer|f954");
        assert_eq!(chain[1].frames[255].line, Some(954));
    }
}
