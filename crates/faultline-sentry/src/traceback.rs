//! Sentry's structured exception values rendered as the stack-trace text
//! their runtime prints, which is what an OTel SDK of that runtime sends as
//! `exception.stacktrace` and what grouping parses (see the crate docs for
//! why text). One module per runtime:
//!
//! - [`python`]: `traceback.format_exception` (`platform: python`);
//! - [`javascript`]: V8's `error.stack` (`node`, `javascript`);
//! - [`java`]: `Throwable.printStackTrace` with `Caused by:` (`java`);
//! - [`dotnet`]: `Exception.ToString()` with ` ---> ` inner exceptions
//!   (`csharp`);
//! - [`go`]: a panic's goroutine trace (`go`);
//! - [`ruby`]: `Exception#full_message` (`ruby`);
//! - [`php`]: `Throwable::__toString()` (`php`).
//!
//! Other platforms (`native`, `cocoa`, `other`...) are rendered by the
//! format their frames' file names suggest, else as Python, whose text
//! grouping reads without a language hint.
//!
//! Sentry lists chained exceptions root cause FIRST and the outermost
//! LAST, each with its frames oldest call first (the raise site last);
//! each module writes them in its runtime's print order.
//!
//! # Sentry's `in_app`
//!
//! An SDK's `in_app` flag is the application's own word (its
//! `in_app_include`/`in_app_exclude` options, its project root), so it
//! overrides grouping's detection by path and package: the frame the
//! failure is located at, the culprit, and the fingerprint follow it.
//! Grouping reads text, so the flags travel beside it, in
//! [`Rendered::in_app`], in the order grouping's parsers produce frames
//! (chain outermost first, each exception's frames nearest the raise site
//! first); grouping applies them only when the parsed trace has exactly
//! that shape (`faultline_grouping::stacktrace::apply_in_app`). Where the
//! SDK's defaults and grouping's detection agree (dependencies under
//! `site-packages`/`node_modules`, the standard library), a Sentry event
//! and the OTel event of the same bug still get one fingerprint. PHP's
//! frames are not flagged: PHP prints each frame at its caller's file, and
//! grouping judges PHP frames by that shift (`locate`), which a per-frame
//! flag would contradict.

mod dotnet;
mod go;
mod java;
mod javascript;
mod php;
mod python;
mod ruby;

use serde_json::{Map, Value};

use crate::fields::{object, text, values};

/// An exception chain as its runtime prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The stack-trace text.
    pub text: String,
    /// The SDK's `in_app` flags, chain outermost first, frames nearest the
    /// raise site first (`None` where a frame has none); empty when no
    /// frame has one.
    pub in_app: Vec<Vec<Option<bool>>>,
}

/// The runtimes whose stack text is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Python,
    JavaScript,
    Java,
    DotNet,
    Go,
    Ruby,
    Php,
}

impl Runtime {
    /// The runtime of a Sentry `platform` value.
    pub fn from_platform(platform: &str) -> Option<Runtime> {
        Some(match platform.trim().to_ascii_lowercase().as_str() {
            "python" => Runtime::Python,
            "node" | "javascript" => Runtime::JavaScript,
            "java" => Runtime::Java,
            "csharp" => Runtime::DotNet,
            "go" => Runtime::Go,
            "ruby" => Runtime::Ruby,
            "php" => Runtime::Php,
            _ => return None,
        })
    }

    /// The runtime whose source files the frames name, for events whose
    /// platform says nothing (`other`, or none at all).
    fn sniff(exception_values: &[&Map<String, Value>]) -> Option<Runtime> {
        let paths = exception_values.iter().flat_map(|v| frames(v)).filter_map(path);
        paths.filter_map(|p| Runtime::from_extension(p.rsplit('.').next()?)).next()
    }

    fn from_extension(extension: &str) -> Option<Runtime> {
        Some(match extension {
            "py" => Runtime::Python,
            "js" | "mjs" | "cjs" | "ts" | "mts" | "cts" | "jsx" | "tsx" => Runtime::JavaScript,
            "java" | "kt" | "kts" | "scala" | "groovy" | "clj" => Runtime::Java,
            "cs" | "fs" | "vb" => Runtime::DotNet,
            "go" => Runtime::Go,
            "rb" => Runtime::Ruby,
            "php" => Runtime::Php,
            _ => return None,
        })
    }
}

/// The stack text of an event's `exception.values` for its `platform`;
/// `None` when no value has a type or frames.
pub fn render(exception_values: &[Value], platform: Option<&str>) -> Option<Rendered> {
    let chain: Vec<&Map<String, Value>> = exception_values
        .iter()
        .filter_map(Value::as_object)
        .filter(|v| text(v, "type").is_some() || !frames(v).is_empty())
        .collect();
    if chain.is_empty() {
        return None;
    }
    let runtime = platform
        .and_then(Runtime::from_platform)
        .or_else(|| Runtime::sniff(&chain))
        .unwrap_or(Runtime::Python);
    let (text, in_app) = match runtime {
        Runtime::Python => python::render(&chain),
        Runtime::JavaScript => javascript::render(&chain),
        Runtime::Java => java::render(&chain),
        Runtime::DotNet => dotnet::render(&chain),
        Runtime::Go => go::render(&chain),
        Runtime::Ruby => ruby::render(&chain),
        Runtime::Php => (php::render(&chain), Vec::new()),
    };
    let flagged = in_app.iter().flatten().any(Option::is_some);
    Some(Rendered { text, in_app: if flagged { in_app } else { Vec::new() } })
}

/// An exception value's frames as Sentry lists them: oldest call first,
/// the raise site last.
pub(crate) fn frames(value: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    let stacktrace = object(value, "stacktrace").map(|s| values(s, "frames")).unwrap_or_default();
    stacktrace.iter().filter_map(Value::as_object).collect()
}

/// The frame's file: `abs_path`, else `filename`.
fn path(frame: &Map<String, Value>) -> Option<&str> {
    text(frame, "abs_path").or_else(|| text(frame, "filename"))
}

/// The frame's line number, 0 when unknown (runtimes print that too).
fn line(frame: &Map<String, Value>) -> u64 {
    frame.get("lineno").and_then(Value::as_u64).unwrap_or(0)
}

/// The SDK's `in_app` flag of one frame.
fn in_app(frame: &Map<String, Value>) -> Option<bool> {
    frame.get("in_app").and_then(Value::as_bool)
}

/// The exception's message (`value`), `None` when empty.
fn message(value: &Map<String, Value>) -> Option<&str> {
    value.get("value").and_then(Value::as_str).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
