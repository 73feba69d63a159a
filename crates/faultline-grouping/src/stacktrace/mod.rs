//! Stack-trace parsing: raw text, as a runtime printed it, into frames.
//!
//! [`parse_trace`] picks a parser by the `telemetry.sdk.language` hint and
//! falls back to sniffing the text; [`parse`] is the short form that returns
//! the frames grouping uses (those of the root cause).
//!
//! Conventions shared by every parser, whatever order the runtime printed:
//! - an exception's frames are ordered **nearest the raise site first**
//!   (Python and Rust print the other way round and are reversed);
//! - a [`Trace`]'s chain is ordered **outermost first, root cause last**
//!   (Java's `Caused by:` order; Python, PHP and .NET are reordered).
//!
//! Frames come out normalized (see [`crate::normalize`]): no line numbers in
//! names, no addresses, no generated/anonymous suffixes, no absolute path
//! prefixes or version numbers. The line number is kept on the frame for
//! display only and never reaches a fingerprint.

mod dotnet;
mod go;
mod java;
mod javascript;
mod language;
mod lines;
mod php;
mod python;
mod ruby;
mod rust;
mod sdk_in_app;

pub use language::Language;
pub use sdk_in_app::{apply_in_app, event_trace, IN_APP_ATTRIBUTE};

use crate::limits::{MAX_CHAIN, MAX_FRAMES};

/// One frame of a stack, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// Function or method name, e.g. `parse_quantity`, `load`, `(*Server).handle`.
    pub function: Option<String>,
    /// What the function belongs to: Python/Ruby module path, Java/.NET class,
    /// Go package, Rust module path, PHP class, JavaScript file.
    pub module: Option<String>,
    /// Source file, normalized (no absolute prefix, version or bundle hash).
    pub file: Option<String>,
    /// Line as printed; for display only, never part of a fingerprint.
    pub line: Option<u32>,
    /// Whether the frame is the application's own code rather than the
    /// standard library, a dependency or the runtime.
    pub in_app: bool,
}

impl Frame {
    /// The part of the frame that identifies it for grouping:
    /// module (or file when there is none) and function, never the line.
    pub fn grouping_key(&self) -> String {
        let module = self.module.as_deref().or(self.file.as_deref()).unwrap_or("");
        let function = self.function.as_deref().unwrap_or("");
        format!("{module}|{function}")
    }
}

/// One exception of a chain: its type, message and frames.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exception {
    /// Type as printed, e.g. `ValueError`, `java.lang.IllegalStateException`.
    pub exception_type: Option<String>,
    /// First part of the message as printed (may span lines).
    pub message: Option<String>,
    /// Frames, nearest the raise site first.
    pub frames: Vec<Frame>,
    /// The raise site as a frame without a function (file, line, in-app),
    /// when the runtime prints it apart from the frames: PHP's
    /// `Type: message in File.php:12`.
    pub raised_at: Option<Frame>,
}

/// Everything read from one stack-trace text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// The format the text was read as; `None` when nothing matched.
    pub language: Option<Language>,
    /// Chained exceptions, outermost first, root cause last.
    pub chain: Vec<Exception>,
}

impl Trace {
    /// The innermost exception that has frames: the root cause for grouping.
    ///
    /// A root cause printed without frames of its own (rare once Java's
    /// `... N more` is expanded) yields to the nearest exception that has
    /// some, so a chained trace never groups by nothing.
    pub fn root_cause(&self) -> Option<&Exception> {
        self.chain.iter().rev().find(|e| !e.frames.is_empty())
    }

    /// The outermost exception: what the runtime reported first.
    pub fn outermost(&self) -> Option<&Exception> {
        self.chain.first()
    }

    /// Whether any exception of the chain has frames.
    pub fn has_frames(&self) -> bool {
        self.chain.iter().any(|e| !e.frames.is_empty())
    }
}

/// The frames of the root cause of `text`, nearest the raise site first;
/// empty when the text cannot be read as a stack trace.
pub fn parse(text: &str, language_hint: Option<&str>) -> Vec<Frame> {
    let mut trace = parse_trace(text, language_hint);
    let root = trace.chain.iter().rposition(|e| !e.frames.is_empty());
    match root {
        Some(index) => trace.chain.swap_remove(index).frames,
        None => Vec::new(),
    }
}

/// Reads `text` as a stack trace: the hinted format first (a
/// `telemetry.sdk.language` value), then whatever format the text looks like.
/// Never fails: unreadable text gives a trace without frames.
pub fn parse_trace(text: &str, language_hint: Option<&str>) -> Trace {
    let lines = lines::split(text);
    let hinted = language_hint.and_then(Language::from_hint);
    let mut fallback = Trace::default();
    if let Some(language) = hinted {
        let trace = parse_as(language, &lines);
        if trace.has_frames() {
            return trace;
        }
        fallback = trace;
    }
    match language::sniff(&lines) {
        Some(language) if Some(language) != hinted => {
            let trace = parse_as(language, &lines);
            if trace.has_frames() || fallback.chain.is_empty() {
                return trace;
            }
            fallback
        }
        _ => fallback,
    }
}

/// Runs one language's parser and applies the shared caps.
fn parse_as(language: Language, lines: &[&str]) -> Trace {
    let mut chain = match language {
        Language::Python => python::parse(lines),
        Language::Java => java::parse(lines),
        Language::JavaScript => javascript::parse(lines),
        Language::Go => go::parse(lines),
        Language::DotNet => dotnet::parse(lines),
        Language::Ruby => ruby::parse(lines),
        Language::Php => php::parse(lines),
        Language::Rust => rust::parse(lines),
    };
    chain.retain(|e| !e.frames.is_empty() || e.exception_type.is_some() || e.message.is_some());
    cap_chain(&mut chain);
    for exception in &mut chain {
        exception.frames.truncate(MAX_FRAMES);
    }
    Trace { language: Some(language), chain }
}

/// Keeps at most `MAX_CHAIN` exceptions of a chain: the outermost (what the
/// title names) and those nearest the root cause (what grouping uses); a
/// hostile 10,000-level chain loses its middle.
fn cap_chain(chain: &mut Vec<Exception>) {
    if let Some(excess) = chain.len().checked_sub(MAX_CHAIN) {
        chain.drain(1..=excess);
    }
}

/// Whether chain position `index` of `len` survives [`cap_chain`]; lets a
/// parser skip expensive work on exceptions that will be dropped.
pub(crate) fn is_retained(index: usize, len: usize) -> bool {
    index == 0 || index + MAX_CHAIN > len
}

#[cfg(test)]
mod tests;
