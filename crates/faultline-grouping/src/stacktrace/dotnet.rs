//! .NET `Exception.ToString()` output:
//!
//! ```text
//! System.InvalidOperationException: Order 42 could not be loaded
//!  ---> System.IO.FileNotFoundException: Could not find file '/data/42.json'.
//!    at Acme.Orders.OrderStore.Read(Int32 id) in /src/Acme.Orders/OrderStore.cs:line 31
//!    --- End of inner exception stack trace ---
//!    at Acme.Orders.OrderService.<LoadAsync>d__5.MoveNext() in /src/Acme.Orders/OrderService.cs:line 44
//! --- End of stack trace from previous location ---
//!    at System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()
//! ```
//!
//! The header lists the chain outermost first, joined by ` ---> ` (on one
//! line in .NET Framework, one per line in .NET Core). Frames follow
//! innermost exception first, each exception's block closed by
//! `--- End of inner exception stack trace ---`. `AggregateException`
//! repeats its inner exceptions after `---> (Inner Exception #0)`; those
//! repetitions are not read.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, split_dotnet_symbol, RawFrame};
use crate::stacktrace::{Exception, Frame, Language};

/// `at Ns.Type.Method(args)[ in File.cs:line N]`.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*at (?P<symbol>[^\s(]+)(?:\((?P<args>[^)]*)\))?(?: in (?P<file>.+?):line (?P<line>\d+))?\s*$",
    )
    .expect("valid pattern")
});
/// `Ns.SomeException: message` (the type must be qualified or end in
/// `Exception`, so prose is not mistaken for a header).
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<type>[A-Za-z_][\w`]*(?:\.[\w`]+)+|[A-Za-z_]\w*Exception)(?::\s?(?P<msg>.*))?$")
        .expect("valid pattern")
});

const INNER_ARROW: &str = " ---> ";
const END_OF_INNER: &str = "--- End of inner exception stack trace ---";

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut chain: Vec<Exception> = Vec::new();
    // Frame blocks, innermost exception's first.
    let mut blocks: Vec<Vec<Frame>> = vec![Vec::new()];
    for line in lines {
        let trimmed = line.trim();
        if trimmed.starts_with("---> (Inner Exception #") {
            break;
        }
        if trimmed == END_OF_INNER {
            blocks.push(Vec::new());
        } else if let Some(frame) = parse_frame(line) {
            if let Some(block) = blocks.last_mut() {
                block.push(frame);
            }
        } else if blocks.iter().all(Vec::is_empty) {
            read_header_line(&mut chain, line);
        }
    }
    assign_blocks(chain, blocks)
}

/// A header line may hold several exceptions (`A: x ---> B: y`) or start
/// with `---> ` (the next inner exception). Lines that are not headers
/// continue the previous message.
fn read_header_line(chain: &mut Vec<Exception>, line: &str) {
    let line = line.trim_end();
    let (continues, line) = match line.trim_start().strip_prefix("--->") {
        Some(rest) => (false, rest.trim_start()),
        None => (!chain.is_empty(), line),
    };
    for (part_index, part) in line.split(INNER_ARROW).enumerate() {
        let caps = HEADER.captures(part.trim());
        match caps {
            Some(caps) if !(continues && part_index == 0) || chain.is_empty() => chain.push(Exception {
                exception_type: caps.name("type").map(|m| m.as_str().to_string()),
                message: caps.name("msg").map(|m| m.as_str().to_string()),
                frames: Vec::new(),
                raised_at: None,
            }),
            _ => append_message(chain, part),
        }
    }
}

fn append_message(chain: &mut [Exception], text: &str) {
    if text.trim().is_empty() {
        return;
    }
    if let Some(last) = chain.last_mut() {
        let message = last.message.get_or_insert_with(String::new);
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(text.trim());
    }
}

/// Gives frame block k to the k-th exception counted from the innermost.
/// Frames without any header make a chain of one untyped exception.
fn assign_blocks(mut chain: Vec<Exception>, blocks: Vec<Vec<Frame>>) -> Vec<Exception> {
    if chain.is_empty() {
        chain.push(Exception::default());
    }
    let len = chain.len();
    for (k, frames) in blocks.into_iter().enumerate() {
        let target = len.saturating_sub(k + 1);
        if let Some(exception) = chain.get_mut(target) {
            exception.frames.extend(frames);
        }
    }
    chain
}

fn parse_frame(line: &str) -> Option<Frame> {
    let caps = FRAME.captures(line)?;
    let (class, method) = split_dotnet_symbol(caps.name("symbol")?.as_str());
    let raw = RawFrame {
        module: class.as_deref(),
        function: method.as_deref(),
        file: caps.name("file").map(|m| m.as_str()),
        line: caps.name("line").and_then(|m| m.as_str().parse().ok()),
    };
    Some(normalize_frame(Language::DotNet, &raw))
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

    #[test]
    fn async_trace_with_compiler_generated_names() {
        let text = "System.InvalidOperationException: Order 42 not found
   at Acme.Orders.OrderService.Load(Int32 id) in /src/Acme.Orders/OrderService.cs:line 87
   at Acme.Orders.OrderService.<LoadAsync>d__5.MoveNext() in /src/Acme.Orders/OrderService.cs:line 30
--- End of stack trace from previous location ---
   at System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()
   at System.Runtime.CompilerServices.TaskAwaiter.HandleNonSuccessAndDebuggerNotification(Task task)
   at Acme.Web.OrderController.<>c.<Get>b__3_0(Int32 x) in C:\\build\\Acme.Web\\OrderController.cs:line 19
   at lambda_method12(Closure, Object, Object[])
   at Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor.Execute(IActionResultTypeMapper mapper)";
        let chain = parse_text(text);
        assert_eq!(chain.len(), 1);
        let e = &chain[0];
        assert_eq!(e.exception_type.as_deref(), Some("System.InvalidOperationException"));
        assert_eq!(e.message.as_deref(), Some("Order 42 not found"));
        assert_eq!(
            keys(e),
            [
                "Acme.Orders.OrderService|Load",
                "Acme.Orders.OrderService|LoadAsync",
                "System.Runtime.ExceptionServices.ExceptionDispatchInfo|Throw",
                "System.Runtime.CompilerServices.TaskAwaiter|HandleNonSuccessAndDebuggerNotification",
                "Acme.Web.OrderController|lambda$Get",
                "|lambda_method",
                "Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor|Execute",
            ]
        );
        assert_eq!(e.frames[0].line, Some(87));
        assert_eq!(e.frames[4].file.as_deref(), Some("Acme.Web/OrderController.cs"));
        assert!(e.frames[0].in_app);
        assert!(!e.frames[2].in_app);
    }

    #[test]
    fn inner_exceptions_core_style() {
        let text = "System.InvalidOperationException: Order 42 could not be loaded
 ---> System.IO.FileNotFoundException: Could not find file '/data/42.json'.
File name: '/data/42.json'
   at Microsoft.Win32.SafeHandles.SafeFileHandle.Open(String fullPath)
   at Acme.Orders.OrderStore.Read(Int32 id) in /src/Acme.Orders/OrderStore.cs:line 31
   --- End of inner exception stack trace ---
   at Acme.Orders.OrderService.Load(Int32 id) in /src/Acme.Orders/OrderService.cs:line 44";
        let chain = parse_text(text);
        let types: Vec<_> = chain.iter().map(|e| e.exception_type.as_deref().unwrap_or("")).collect();
        assert_eq!(types, ["System.InvalidOperationException", "System.IO.FileNotFoundException"]);
        assert_eq!(keys(&chain[0]), ["Acme.Orders.OrderService|Load"]);
        assert_eq!(
            keys(&chain[1]),
            ["Microsoft.Win32.SafeHandles.SafeFileHandle|Open", "Acme.Orders.OrderStore|Read"]
        );
        assert!(chain[1].message.as_deref().is_some_and(|m| m.contains("File name:")));
    }

    #[test]
    fn inner_exceptions_framework_style_and_aggregate_repeats() {
        let text = "System.AggregateException: One or more errors occurred. ---> System.TimeoutException: The operation has timed out.
   at Acme.Jobs.Sync.Pull() in c:\\src\\Acme.Jobs\\Sync.cs:line 12
   --- End of inner exception stack trace ---
   at System.Threading.Tasks.Task.Wait()
   at Acme.Jobs.Program.Main(String[] args) in c:\\src\\Acme.Jobs\\Program.cs:line 8
---> (Inner Exception #0) System.TimeoutException: The operation has timed out.
   at Acme.Jobs.Sync.Pull() in c:\\src\\Acme.Jobs\\Sync.cs:line 12<---";
        let chain = parse_text(text);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[1].exception_type.as_deref(), Some("System.TimeoutException"));
        assert_eq!(keys(&chain[1]), ["Acme.Jobs.Sync|Pull"]);
        assert_eq!(keys(&chain[0]), ["System.Threading.Tasks.Task|Wait", "Acme.Jobs.Program|Main"]);
    }
}
