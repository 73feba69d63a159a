//! What rules look at and placeholders insert, read from one event and its
//! parsed stack trace. Every accessor is capped so that the work a rule
//! does per event is bounded whatever the event carries.

use std::borrow::Cow;

use faultline_model::ErrorEvent;
use serde_json::Value;

use crate::limits::{truncate, MAX_MESSAGE_BYTES};
use crate::normalize::parameterize_message;
use crate::stacktrace::{Frame, Trace};
use crate::variant::{present, route_or_span};

/// Frames a `function` or `module` matcher looks at per event: all of a
/// real trace, and a bound on hostile ones (a chain may hold 32 × 256).
const MAX_RULE_FRAMES: usize = 512;

/// Bytes of a message or attribute value a matcher looks at, the same cap
/// the message variant uses.
const MAX_VALUE_BYTES: usize = MAX_MESSAGE_BYTES;

/// One event as rules see it.
#[derive(Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) event: &'a ErrorEvent,
    pub(crate) trace: &'a Trace,
}

impl<'a> Facts<'a> {
    /// The event's exception type, then every type of its exception chain,
    /// so a rule can match a wrapped root cause (Java's `Caused by:`).
    pub(crate) fn types(self) -> impl Iterator<Item = &'a str> {
        let chain = self.trace.chain.iter().filter_map(|e| present(e.exception_type.as_deref()));
        present(self.event.exception_type.as_deref()).into_iter().chain(chain)
    }

    /// The event's raw message, then every message of its exception chain.
    pub(crate) fn messages(self) -> impl Iterator<Item = &'a str> {
        let chain = self.trace.chain.iter().filter_map(|e| e.message.as_deref());
        self.event.message.as_deref().into_iter().chain(chain).map(|m| truncate(m, MAX_VALUE_BYTES))
    }

    /// Frames of the whole chain, root cause first (what grouping uses).
    pub(crate) fn frames(self) -> impl Iterator<Item = &'a Frame> {
        self.trace.chain.iter().rev().flat_map(|e| e.frames.iter()).take(MAX_RULE_FRAMES)
    }

    /// An attribute's value as text: the event's own attribute, else the
    /// resource's. Strings, numbers and booleans have a text; arrays,
    /// objects and null do not, so they never match.
    pub(crate) fn attribute(self, name: &str) -> Option<Cow<'a, str>> {
        match self.event.attribute(name)? {
            Value::String(text) => Some(Cow::Borrowed(truncate(text, MAX_VALUE_BYTES))),
            Value::Number(number) => Some(Cow::Owned(number.to_string())),
            Value::Bool(flag) => Some(Cow::Owned(flag.to_string())),
            _ => None,
        }
    }

    /// `{{ type }}`: the type the issue title shows (the event's, else the
    /// outermost exception's).
    pub(crate) fn title_type(self) -> &'a str {
        present(self.event.exception_type.as_deref())
            .or_else(|| present(self.trace.outermost().and_then(|e| e.exception_type.as_deref())))
            .unwrap_or_default()
    }

    /// `{{ message }}`: the title's message, parameterized so that ids and
    /// numbers in it do not split the issue.
    pub(crate) fn parameterized_message(self) -> String {
        let text = present(self.event.message.as_deref())
            .or_else(|| present(self.trace.outermost().and_then(|e| e.message.as_deref())))
            .unwrap_or_default();
        parameterize_message(text)
    }

    /// `{{ route }}`: `http.route`, else the span name.
    pub(crate) fn route(self) -> &'a str {
        route_or_span(self.event).unwrap_or_default()
    }

    /// `{{ function }}`: the top in-app frame's function.
    pub(crate) fn top_function(self) -> &'a str {
        self.top_frame().and_then(|f| f.function.as_deref()).unwrap_or_default()
    }

    /// `{{ module }}`: the top in-app frame's module, or its file when the
    /// runtime prints no module (as in the frame's grouping key).
    pub(crate) fn top_module(self) -> &'a str {
        self.top_frame().and_then(|f| f.module.as_deref().or(f.file.as_deref())).unwrap_or_default()
    }

    /// The root cause's frame nearest the raise site that is in-app, else
    /// its nearest frame at all: the frame the culprit names.
    fn top_frame(self) -> Option<&'a Frame> {
        let frames = &self.trace.root_cause()?.frames;
        let named = |f: &&Frame| f.function.is_some() || f.module.is_some() || f.file.is_some();
        frames.iter().filter(named).find(|f| f.in_app).or_else(|| frames.iter().find(named))
    }
}
